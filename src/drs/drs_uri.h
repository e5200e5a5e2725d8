// GA4GH DRS URIs: drs://HOST/ID (hostname-based, DRS 1.x) and drs://PREFIX:ACCESSION
// (compact identifiers, which need a resolver: --drs-server).
#ifndef GETMFS_DRS_DRS_URI_H_
#define GETMFS_DRS_DRS_URI_H_

#include <string>

#include "util/error.h"

namespace getmfs::drs {

struct DrsUri {
  std::string host;   // "" for a compact identifier
  std::string id;     // the object id (for a compact identifier: PREFIX:ACCESSION)
  std::string text;   // the URI as given, for messages (not a credential)
};

// True when the text starts with "drs://" (any case).
bool IsDrsUri(const std::string& text);

// kBadInput naming what is wrong: no id, a space or control character in it.
Result<DrsUri> ParseDrsUri(const std::string& text);

// Where the object's DRS record is: SERVER/ga4gh/drs/v1/objects/ID (server: --drs-server,
// e.g. "http://127.0.0.1:8080" or "https://drs.example.org/prefix"), else
// https://HOST/ga4gh/drs/v1/objects/ID. kBadInput for a compact identifier without a server.
Result<std::string> ObjectUrl(const DrsUri& uri, const std::string& server);

// RFC 3986 percent-encoding of everything but the unreserved characters.
std::string PercentEncode(const std::string& text);

}  // namespace getmfs::drs

#endif  // GETMFS_DRS_DRS_URI_H_
