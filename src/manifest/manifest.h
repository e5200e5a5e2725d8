// The manifest: which URLs to serve or download, and where each goes.
//
// urls.txt: one entry per line, `URL [PATH] [key=value ...]`; `#` (at the start of a token)
// starts a comment; blank lines are skipped; CRLF is tolerated. Keys: size=, md5=, crc32c=,
// sha256=, s3etag= (with optional s3_part_size=). getm's JSON manifest (a list of
// {"url", "filepath", "checksum", "checksum-algorithm"} objects, plus "size") is accepted when
// the first non-space character is '['. Every error names the file and line (or JSON entry)
// and never prints a URL's query string.
#ifndef GETMFS_MANIFEST_MANIFEST_H_
#define GETMFS_MANIFEST_MANIFEST_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "integrity/checksum.h"
#include "util/error.h"

namespace getmfs::manifest {

struct ManifestEntry {
  std::string url;   // full signed URL: a credential, print http::RedactUrl(url)
  // Request headers that go with every request for url ("Name: value"; credentials too):
  // set when a DRS URI is resolved to an access URL that needs them.
  std::vector<std::string> headers;
  // The drs:// URI this entry was given as ("" for a plain URL); url is "" until resolved.
  std::string drs_uri;
  // Relative path in the mount / download dir; "" = not known yet (the URL path ends in '/':
  // derive it later from Content-Disposition).
  std::string path;
  // With ParseRules::getm_targets, a JSON "filepath" as given (path is then the same string):
  // getm's target, resolved at download time as getm resolves it (absolute or relative to
  // the directory, `~` expanded, a directory or a trailing '/' gets the URL's name).
  std::string getm_target;
  std::optional<std::uint64_t> size;
  integrity::Expected checksum;  // kNone when not given
  std::string file;              // manifest file name, for messages
  int line = 0;                  // 1-based line; JSON: 1-based index of the list element
  bool json = false;             // line is a JSON list index ("entry N")
};

struct Manifest {
  std::vector<ManifestEntry> entries;
};

// How a manifest is read. A mount needs relative paths; `get` takes a JSON manifest's
// "filepath" as getm does (getm_targets).
struct ParseRules {
  bool getm_targets = false;
};

// Reads and parses a manifest file. kIo when it cannot be read (kBadInput when it does not
// exist or is a directory), kBadInput for any error in its content.
Result<Manifest> ParseManifestFile(const std::string& file_path, ParseRules rules = {});

// Parses manifest text; name is the file name used in messages. JSON when the first non-space
// character is '['. An entry without a PATH gets the percent-decoded last segment of its URL
// path (http::UrlBasename), or "" when the URL path ends in '/'. Runs CheckPaths on the result.
Result<Manifest> ParseManifestText(const std::string& text, const std::string& name, ParseRules rules = {});

// A relative path: not empty, no leading '/', no empty, "." or ".." components, no NUL byte
// or other control character,
// each component at most 255 bytes, at most 4096 bytes in all. kBadInput naming the problem
// (without a file/line prefix).
Status ValidateRelativePath(const std::string& path);

// The checks of ValidateRelativePath that any path passes (not empty, no NUL or control
// character, at most 4096 bytes): a getm target may be absolute and name a directory.
Status ValidatePathCharacters(const std::string& path);

// Once paths are known (given or derived; entries whose path is still "" and getm targets,
// which only a download resolves, are skipped): a path
// given twice, or a path that is both a file and a directory of another ("a" and "a/b"), is a
// kBadInput error naming both entries.
Status CheckPaths(const std::vector<ManifestEntry>& entries);

// Where an entry comes from, for messages: "urls.txt:7" or "manifest.json: entry 3".
std::string EntryLocation(const ManifestEntry& entry);

}  // namespace getmfs::manifest

#endif  // GETMFS_MANIFEST_MANIFEST_H_
