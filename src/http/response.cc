// HTTP response parsing: headers, Content-Range, Retry-After, error bodies and what they mean.
#include "http/response.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <ctime>

namespace getmfs::http {
namespace {

std::string Trim(const std::string& s) {
  std::size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool ParseU64(const std::string& s, std::uint64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    std::uint64_t next = v * 10 + static_cast<std::uint64_t>(c - '0');
    if (next / 10 != v) return false;
    v = next;
  }
  *out = v;
  return true;
}

bool Contains(const std::string& haystack, const char* needle) {
  return Lower(haystack).find(needle) != std::string::npos;
}

}  // namespace

void HeaderCollector::Feed(const char* data, std::size_t size) {
  std::string line(data, size);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  if (line.rfind("HTTP/", 0) == 0) {
    headers_.clear();
    complete_ = false;
    auto sp = line.find(' ');
    status_ = sp == std::string::npos ? 0 : std::atoi(line.c_str() + sp + 1);
    return;
  }
  if (line.empty()) {
    complete_ = true;
    return;
  }
  auto colon = line.find(':');
  if (colon == std::string::npos) return;
  std::string name = Lower(Trim(line.substr(0, colon)));
  std::string value = Trim(line.substr(colon + 1));
  auto [it, inserted] = headers_.emplace(name, value);
  if (!inserted) it->second += ", " + value;
}

std::string HeaderCollector::Get(const std::string& lower_name) const {
  auto it = headers_.find(lower_name);
  return it == headers_.end() ? std::string() : it->second;
}

std::optional<ContentRange> ParseContentRange(const std::string& raw) {
  std::string value = Trim(raw);
  if (Lower(value.substr(0, 6)) != "bytes ") return std::nullopt;
  value = Trim(value.substr(6));
  auto slash = value.find('/');
  if (slash == std::string::npos) return std::nullopt;
  std::string range = value.substr(0, slash), total = value.substr(slash + 1);
  ContentRange cr;
  if (total != "*") {
    std::uint64_t t;
    if (!ParseU64(total, &t)) return std::nullopt;
    cr.total = t;
  }
  if (range != "*") {
    auto dash = range.find('-');
    std::uint64_t a, b;
    if (dash == std::string::npos || !ParseU64(range.substr(0, dash), &a) ||
        !ParseU64(range.substr(dash + 1), &b) || b < a) {
      return std::nullopt;
    }
    if (cr.total && b >= *cr.total) return std::nullopt;
    cr.first = a;
    cr.last = b;
  } else if (!cr.total) {
    return std::nullopt;
  }
  return cr;
}

std::optional<double> ParseRetryAfter(const std::string& raw) {
  std::string value = Trim(raw);
  if (value.empty()) return std::nullopt;
  std::uint64_t seconds;
  if (ParseU64(value, &seconds)) return static_cast<double>(seconds);
  std::tm tm{};
  const char* end = strptime(value.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr) return std::nullopt;
  double delta = std::difftime(timegm(&tm), std::time(nullptr));
  return std::max(0.0, delta);
}

std::string ContentDispositionFilename(const std::string& value) {
  std::string name;
  std::string lower = Lower(value);
  auto star = lower.find("filename*=");
  if (star != std::string::npos) {
    std::string v = value.substr(star + 10);
    auto semi = v.find(';');
    v = Trim(v.substr(0, semi));
    auto quote = v.find("''");
    if (quote != std::string::npos) name = PercentDecode(v.substr(quote + 2));
  }
  if (name.empty()) {
    auto pos = lower.find("filename=");
    if (pos != std::string::npos) {
      std::string v = Trim(value.substr(pos + 9));
      if (!v.empty() && v[0] == '"') {
        auto close = v.find('"', 1);
        name = v.substr(1, close == std::string::npos ? std::string::npos : close - 1);
      } else {
        name = Trim(v.substr(0, v.find(';')));
      }
    }
  }
  // Control characters go first: "..\x01" must not become ".." after the check.
  name.erase(std::remove_if(name.begin(), name.end(),
                            [](char c) { return std::iscntrl(static_cast<unsigned char>(c)); }),
             name.end());
  auto slash = name.find_last_of("/\\");
  if (slash != std::string::npos) name = name.substr(slash + 1);
  if (name == "." || name == "..") name.clear();
  return name;
}

bool FromS3(const HeaderMap& headers) {
  auto server = headers.find("server");
  if (server != headers.end() && Lower(server->second) == "amazons3") return true;
  return std::any_of(headers.begin(), headers.end(),
                     [](const auto& h) { return h.first.rfind("x-amz-", 0) == 0; });
}

bool RetryableStatus(int status) { return status == 408 || status == 429 || status >= 500; }

bool RetryableCurlCode(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_WEIRD_SERVER_REPLY:
      return true;
    default:
      return false;
  }
}

Error HttpError(int status, const std::string& body, const SignedUrl& url) {
  std::string where = url.redacted();
  bool says_expired = Contains(body, "expired");
  auto expiry = SignatureExpiry(url.full());
  bool past_expiry = expiry && *expiry <= static_cast<std::int64_t>(std::time(nullptr));
  if ((status == 400 || status == 401 || status == 403) && (says_expired || past_expiry)) {
    return {ErrorKind::kExpired,
            "the signed URL for " + where + " has expired (HTTP " + std::to_string(status) +
                "): a fresh URL is needed",
            status};
  }
  if (status == 401 || status == 403) {
    std::string detail = Contains(body, "signaturedoesnotmatch") ? " (signature does not match)" : "";
    return {ErrorKind::kForbidden,
            "access to " + where + " was refused (HTTP " + std::to_string(status) + ")" + detail +
                ": check that the URL is complete and signed for GET",
            status};
  }
  if (status == 404 || status == 410) {
    return {ErrorKind::kNotFound, where + " was not found (HTTP " + std::to_string(status) + ")",
            status};
  }
  if (status == 412) {
    return {ErrorKind::kChanged, where + " changed while it was being read (HTTP 412: ETag no longer matches)",
            status};
  }
  if (status == 416) {
    return {ErrorKind::kChanged,
            where + " is shorter than when it was first seen (HTTP 416): it changed", status};
  }
  if (status == 408) {
    return {ErrorKind::kTimeout, where + ": the server timed out the request (HTTP 408)", status};
  }
  return {status >= 500 || status == 429 ? ErrorKind::kNetwork : ErrorKind::kForbidden,
          where + ": HTTP " + std::to_string(status) + (status == 429 ? " (throttled)" : ""), status};
}

Error CurlError(CURLcode code, const char* errbuf, const SignedUrl& url) {
  std::string detail = errbuf != nullptr && errbuf[0] != '\0' ? errbuf : curl_easy_strerror(code);
  // libcurl's messages can contain the URL; redact to be sure.
  detail = RedactUrls(detail);
  ErrorKind kind = code == CURLE_OPERATION_TIMEDOUT ? ErrorKind::kTimeout : ErrorKind::kNetwork;
  if (code == CURLE_URL_MALFORMAT || code == CURLE_UNSUPPORTED_PROTOCOL) kind = ErrorKind::kBadInput;
  return {kind, url.redacted() + ": " + detail};
}

double RetryPolicy::Backoff(int attempt, std::optional<double> retry_after, std::mt19937_64& rng) const {
  double base = initial_backoff_seconds * std::pow(2.0, std::max(0, attempt - 1));
  base = std::min(base, max_backoff_seconds);
  std::uniform_real_distribution<double> jitter(0.5, 1.0);
  double wait = base * jitter(rng);
  if (retry_after) wait = std::max(wait, std::min(*retry_after, 120.0));
  return wait;
}

}  // namespace getmfs::http
