// What the two manifest formats (text_format.cc, json_format.cc) share: error messages that
// name the entry, quoting that never shows a URL's query string, byte counts, checksums and
// the PATH rules of an entry.
#ifndef GETMFS_MANIFEST_ENTRY_PARSING_H_
#define GETMFS_MANIFEST_ENTRY_PARSING_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "manifest/manifest.h"

namespace getmfs::manifest::detail {

Error BadInput(std::string message);
// An error in an entry: "urls.txt:7: <message>".
Error EntryError(const ManifestEntry& entry, const std::string& message);
// A string in double quotes for a message: control characters escaped, long strings
// shortened. Never used on URLs: QuoteUrl redacts them first.
std::string Quote(std::string_view s);
std::string QuoteUrl(const std::string& url);
// Decimal digits only, fitting in 64 bits.
std::optional<std::uint64_t> ParseBytes(std::string_view s);
// entry.url as parsed: an http(s) URL stays; a drs:// URI moves to entry.drs_uri (url "").
// Otherwise the entry's error.
Status TakeSource(ManifestEntry& entry);
// The entry with its path: `given`, or the URL's last segment when no path was given;
// validated.
Result<ManifestEntry> WithPath(ManifestEntry entry, const std::string* given);
// The entry's checksum, its source "manifest urls.txt:7".
Result<integrity::Expected> ParseChecksum(const std::string& algorithm, const std::string& value,
                                          const ManifestEntry& entry);

// The formats' parsers (text_format.cc, json_format.cc).
Result<Manifest> ParseText(const std::string& text, const std::string& name);
Result<Manifest> ParseJson(const std::string& text, const std::string& name, ParseRules rules);

}  // namespace getmfs::manifest::detail

#endif  // GETMFS_MANIFEST_ENTRY_PARSING_H_
