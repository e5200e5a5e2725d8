// Signed URLs: parsing, the redacted form that is safe to print, and redaction of free text.
#include "http/signed_url.h"

#include <cctype>
#include <cstring>
#include <ctime>
#include <map>

namespace getmfs::http {
namespace {

bool StartsWithNoCase(const std::string& s, std::size_t pos, const char* prefix) {
  std::size_t n = std::strlen(prefix);
  if (s.size() - pos < n) return false;
  for (std::size_t i = 0; i < n; ++i) {
    if (std::tolower(static_cast<unsigned char>(s[pos + i])) != prefix[i]) return false;
  }
  return true;
}

// Characters that end a URL inside free text.
bool EndsUrl(char c) {
  return std::isspace(static_cast<unsigned char>(c)) || c == '"' || c == '\'' || c == '<' ||
         c == '>' || c == '`';
}

std::map<std::string, std::string> QueryParams(const std::string& url) {
  std::map<std::string, std::string> params;
  auto q = url.find_first_of("?#");
  if (q == std::string::npos || url[q] == '#') return params;   // a '?' after '#' is no query
  auto end = url.find('#', q);
  std::string query = url.substr(q + 1, end == std::string::npos ? std::string::npos : end - q - 1);
  std::size_t pos = 0;
  while (pos <= query.size()) {
    auto amp = query.find('&', pos);
    std::string item = query.substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
    auto eq = item.find('=');
    std::string key = PercentDecode(item.substr(0, eq));
    for (auto& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    params[key] = eq == std::string::npos ? "" : PercentDecode(item.substr(eq + 1));
    if (amp == std::string::npos) break;
    pos = amp + 1;
  }
  return params;
}

// "20261125T131200Z" -> Unix time.
std::optional<std::int64_t> ParseAmzDate(const std::string& s) {
  std::tm tm{};
  if (s.size() != 16 || strptime(s.c_str(), "%Y%m%dT%H%M%SZ", &tm) == nullptr) return std::nullopt;
  return static_cast<std::int64_t>(timegm(&tm));
}

// ISO 8601 as Azure SAS writes it (se=): 2026-12-01T23:00:00Z, with or without seconds or
// fractions, or a bare date (midnight UTC).
std::optional<std::int64_t> ParseIso8601(const std::string& s) {
  std::tm tm{};
  for (const char* format : {"%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d"}) {
    tm = std::tm{};
    const char* end = strptime(s.c_str(), format, &tm);
    if (end == nullptr) continue;
    if (*end == '.') {   // fractions of a second
      ++end;
      while (*end >= '0' && *end <= '9') ++end;
    }
    if (*end == 'Z') ++end;
    if (*end == '\0') return static_cast<std::int64_t>(timegm(&tm));
  }
  return std::nullopt;
}

}  // namespace

std::string RedactUrl(const std::string& url) {
  // A "://" after the first '/', '?' or '#' is not the scheme's (it may sit in the query).
  auto scheme_end = url.find("://");
  if (scheme_end != std::string::npos && url.find_first_of("/?#") < scheme_end) {
    scheme_end = std::string::npos;
  }
  std::size_t authority = scheme_end == std::string::npos ? 0 : scheme_end + 3;
  std::size_t cut = url.find_first_of("?#", authority);
  std::string head = url.substr(0, cut);
  // Drop userinfo (user:password@) from the authority.
  std::size_t path_start = head.find('/', authority);
  std::size_t at = head.rfind('@', path_start == std::string::npos ? std::string::npos : path_start);
  if (scheme_end != std::string::npos && at != std::string::npos && at >= authority) {
    head.erase(authority, at + 1 - authority);
  }
  return head;
}

std::string RedactUrls(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    if (StartsWithNoCase(text, i, "http://") || StartsWithNoCase(text, i, "https://")) {
      std::size_t end = i;
      while (end < text.size() && !EndsUrl(text[end])) ++end;
      out += RedactUrl(text.substr(i, end - i));
      i = end;
    } else {
      out += text[i++];
    }
  }
  return out;
}

std::string PercentDecode(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() &&
        std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string UrlBasename(const std::string& url) {
  std::string path = RedactUrl(url);
  auto scheme_end = path.find("://");
  std::size_t authority = scheme_end == std::string::npos ? 0 : scheme_end + 3;
  auto slash = path.find('/', authority);
  if (slash == std::string::npos) return "";
  auto last = path.rfind('/');
  return PercentDecode(path.substr(last + 1));
}

bool IsHttpUrl(const std::string& url) {
  std::size_t host;
  if (StartsWithNoCase(url, 0, "http://")) {
    host = 7;
  } else if (StartsWithNoCase(url, 0, "https://")) {
    host = 8;
  } else {
    return false;
  }
  if (host >= url.size() || url[host] == '/' || url[host] == '?' || url[host] == '#') return false;
  for (char c : url) {
    if (std::isspace(static_cast<unsigned char>(c)) || std::iscntrl(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

std::optional<std::int64_t> SignatureExpiry(const std::string& url) {
  auto params = QueryParams(url);
  for (const char* vendor : {"amz", "goog"}) {
    std::string date_key = std::string("x-") + vendor + "-date";
    std::string expires_key = std::string("x-") + vendor + "-expires";
    auto date = params.find(date_key);
    auto expires = params.find(expires_key);
    if (date == params.end() || expires == params.end()) continue;
    auto start = ParseAmzDate(date->second);
    if (!start) continue;
    char* end = nullptr;
    long long seconds = std::strtoll(expires->second.c_str(), &end, 10);
    if (end == expires->second.c_str() || *end != '\0' || seconds < 0) continue;
    std::int64_t expiry;   // past 2^63 seconds: no usable expiry (and no signed overflow)
    if (__builtin_add_overflow(*start, static_cast<std::int64_t>(seconds), &expiry)) continue;
    return expiry;
  }
  // Legacy S3 (AWSAccessKeyId + Expires=unix time) and GCS V2 (Expires=unix time) URLs.
  auto legacy = params.find("expires");
  if (legacy != params.end() && (params.count("signature") || params.count("awsaccesskeyid"))) {
    char* end = nullptr;
    long long t = std::strtoll(legacy->second.c_str(), &end, 10);
    if (end != legacy->second.c_str() && *end == '\0') return t;
  }
  // Azure Blob SAS: se= (signed expiry) with sig=.
  auto azure = params.find("se");
  if (azure != params.end() && params.count("sig")) return ParseIso8601(azure->second);
  return std::nullopt;
}

}  // namespace getmfs::http
