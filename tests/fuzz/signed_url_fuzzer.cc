// Hostile URLs: redaction, expiry parsing, basename and URL checks. Beyond "no crash, no UB"
// it asserts what redaction is for: nothing after the first '?' or '#' (the query string,
// where signatures live, and the fragment) is ever part of a redacted URL.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "http/signed_url.h"

namespace {

using getmfs::http::PercentDecode;

[[noreturn]] void Fail(const char* what, const std::string& url, const std::string& redacted) {
  std::fprintf(stderr, "redaction invariant broken: %s\n  url:      \"%s\"\n  redacted: \"%s\"\n", what,
               url.c_str(), redacted.c_str());
  std::abort();
}

// The redacted form is the URL before its query, with at most one piece (the userinfo,
// ending in '@') cut out of it: so no byte of the query or fragment can be in it.
bool IsHeadWithUserinfoCut(const std::string& head, const std::string& redacted) {
  if (redacted.size() > head.size()) return false;
  const std::size_t n = redacted.size(), cut = head.size() - n;
  std::size_t prefix = 0, suffix = 0;   // common prefix; common suffix (at most n)
  while (prefix < n && redacted[prefix] == head[prefix]) ++prefix;
  while (suffix < n && redacted[n - 1 - suffix] == head[head.size() - 1 - suffix]) ++suffix;
  if (cut == 0) return prefix == n;
  // The cut [start, start + cut) may start anywhere both sides of it match.
  for (std::size_t start = n - suffix; start <= prefix; ++start) {
    if (head[start + cut - 1] == '@') return true;
  }
  return false;
}

// Each query value, as written and percent-decoded, must not appear in the redacted URL
// (unless the part before the query already holds it: then it is not the query's to hide).
void CheckQueryValues(const std::string& url, const std::string& head, const std::string& redacted) {
  std::size_t q = url.find('?');
  if (q == std::string::npos || q != head.size()) return;
  std::string query = url.substr(q + 1, url.find('#', q) - q - 1);
  std::size_t pos = 0;
  while (pos <= query.size()) {
    std::size_t amp = std::min(query.find('&', pos), query.size());
    std::string item = query.substr(pos, amp - pos);
    std::size_t eq = item.find('=');
    if (eq != std::string::npos) {
      for (const std::string& value : {item.substr(eq + 1), PercentDecode(item.substr(eq + 1))}) {
        if (value.empty() || redacted.find(value) == std::string::npos) continue;
        if (head.find(value) == std::string::npos && redacted == head) Fail("a query value leaked", url, redacted);
      }
    }
    pos = amp + 1;
  }
}

void CheckRedaction(const std::string& url) {
  const std::string redacted = getmfs::http::RedactUrl(url);
  const std::string head = url.substr(0, url.find_first_of("?#"));
  if (redacted.find_first_of("?#") != std::string::npos) Fail("'?' or '#' kept", url, redacted);
  if (!IsHeadWithUserinfoCut(head, redacted)) Fail("not the URL before its query", url, redacted);
  CheckQueryValues(url, head, redacted);
  // In free text a URL ends at a space or a quote; one without them is redacted whole.
  if (url.find_first_of(" \t\n\v\f\r\"'<>`") == std::string::npos && getmfs::http::IsHttpUrl(url)) {
    std::string text = getmfs::http::RedactUrls("GET " + url + " failed");
    if (text != "GET " + redacted + " failed") Fail("RedactUrls differs from RedactUrl", url, text);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string url(reinterpret_cast<const char*>(data), size);
  CheckRedaction(url);
  (void)getmfs::http::SignatureExpiry(url);
  (void)getmfs::http::UrlBasename(url);
  (void)getmfs::http::RedactUrls(url);
  getmfs::http::SignedUrl signed_url(url);
  if (signed_url.redacted() != getmfs::http::RedactUrl(url)) Fail("SignedUrl", url, signed_url.redacted());
  return 0;
}
