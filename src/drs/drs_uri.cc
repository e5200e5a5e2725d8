// DRS URIs and the endpoints they resolve at (drs_uri.h).
#include "drs/drs_uri.h"

#include <strings.h>

#include <cctype>

namespace getmfs::drs {

bool IsDrsUri(const std::string& text) { return text.size() >= 6 && strncasecmp(text.c_str(), "drs://", 6) == 0; }

Result<DrsUri> ParseDrsUri(const std::string& text) {
  auto bad = [&](const std::string& why) {
    return Error{ErrorKind::kBadInput, "\"" + text + "\" is not a DRS URI (" + why +
                                           "): use drs://HOST/ID or drs://PREFIX:ACCESSION"};
  };
  if (!IsDrsUri(text)) return bad("it does not start with drs://");
  for (unsigned char c : text) {
    if (c <= 0x20 || c == 0x7f) return bad("it holds a space or a control character");
  }
  DrsUri uri;
  uri.text = text;
  std::string rest = text.substr(6);
  auto slash = rest.find('/');
  if (slash == std::string::npos) {
    uri.id = rest;                      // compact: PREFIX:ACCESSION
    if (rest.find(':') == std::string::npos) return bad("no object id after the host");
  } else {
    uri.host = rest.substr(0, slash);
    uri.id = rest.substr(slash + 1);
    if (uri.host.empty()) return bad("no host");
  }
  if (uri.id.empty()) return bad("no object id");
  return uri;
}

std::string PercentEncode(const std::string& text) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

Result<std::string> ObjectUrl(const DrsUri& uri, const std::string& server) {
  std::string base = server;
  if (base.empty()) {
    if (uri.host.empty()) {
      return Error{ErrorKind::kBadInput, uri.text + " is a compact DRS identifier: give the DRS server that "
                                                    "resolves it with --drs-server URL"};
    }
    base = "https://" + uri.host;
  }
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/ga4gh/drs/v1/objects/" + PercentEncode(uri.id);
}

}  // namespace getmfs::drs
