// Resolving a GA4GH DRS URI (DRS 1.x) into what a download needs: GET
// SERVER/ga4gh/drs/v1/objects/ID for the object (size, name, checksums, access methods), then,
// for an access method that gives an access_id instead of a URL, GET .../access/ACCESS_ID for
// {url, headers}. Every DRS call carries "Authorization: Bearer TOKEN" when a token is given;
// the token, the access URL's query and its headers are credentials and are never printed.
#ifndef GETMFS_DRS_DRS_CLIENT_H_
#define GETMFS_DRS_DRS_CLIENT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "http/curl_handle.h"
#include "http/signed_url.h"
#include "integrity/checksum.h"
#include "util/error.h"

namespace getmfs::drs {

struct DrsOptions {
  std::string server;          // --drs-server BASE: every lookup goes there ("": https://HOST)
  std::string token;           // --drs-token-file / GETMFS_DRS_TOKEN ("": none); a credential
  http::TransferOptions transfer;
  double timeout_seconds = 60; // per lookup, retries included
  int concurrency = 16;        // lookups at once when a manifest is resolved
};

struct ResolvedObject {
  std::string url;                    // the access URL (signed: a credential)
  std::vector<std::string> headers;   // "Name: value" to send with every request for it
  std::optional<std::uint64_t> size;
  std::string name;                   // the object's name, else its id
  integrity::Expected checksum;       // from the object's checksums[] (kNone when none usable)
  // What every request for the object uses: the access URL with its headers.
  http::SignedUrl access() const { return http::SignedUrl(url, headers); }
};

// Resolves drs://HOST/ID (or a compact id, with options.server). Errors name the URI and say
// what the DRS server answered (its "msg"): 401/403 kForbidden (with what to do about the
// token), 404 kNotFound, a record without an https access method or with a malformed checksum
// kBadInput, 5xx/429 and connection failures kNetwork after retries.
Result<ResolvedObject> Resolve(const std::string& uri, const DrsOptions& options);

// The bearer token: the first line of token_file (trimmed) when given, else $GETMFS_DRS_TOKEN,
// else "". kBadInput when the file cannot be read or is empty.
Result<std::string> LoadToken(const std::string& token_file);

}  // namespace getmfs::drs

#endif  // GETMFS_DRS_DRS_CLIENT_H_
