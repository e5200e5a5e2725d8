// DRS lookups with libcurl and nlohmann-json (drs_client.h).
#include "drs/drs_client.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "drs/drs_uri.h"
#include "http/signed_url.h"

namespace getmfs::drs {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kMaxBody = 4 << 20;   // a DRS record is small; more is not one
constexpr int kAttempts = 4;

struct Reply {
  long status = 0;
  std::string body;
  std::string transport_error;   // curl's message when no HTTP answer came
};

std::size_t Collect(char* data, std::size_t size, std::size_t count, void* user) {
  auto* body = static_cast<std::string*>(user);
  if (body->size() + size * count > kMaxBody) return 0;
  body->append(data, size * count);
  return size * count;
}

Reply HttpGet(const std::string& url, const DrsOptions& options, Clock::time_point deadline) {
  http::EnsureCurlInitialized();
  Reply reply;
  // One handle per thread, kept: its connection stays alive for the next lookup (a manifest
  // of thousands of URIs on one server costs one TCP and TLS handshake per thread).
  thread_local http::CurlEasy easy(curl_easy_init());
  if (!easy) {
    reply.transport_error = "curl_easy_init failed";
    return reply;
  }
  curl_easy_reset(easy.get());   // drops last call's pointers (its buffers are gone), keeps the connection
  char errbuf[CURL_ERROR_SIZE] = {0};
  http::ApplyCommonOptions(easy.get(), options.transfer);
  curl_easy_setopt(easy.get(), CURLOPT_URL, url.c_str());
  std::vector<std::string> headers = {"Accept: application/json"};
  if (!options.token.empty()) headers.push_back("Authorization: Bearer " + options.token);
  http::CurlSlist list = http::HeaderList(headers);
  curl_easy_setopt(easy.get(), CURLOPT_HTTPHEADER, list.get());
  curl_easy_setopt(easy.get(), CURLOPT_WRITEFUNCTION, &Collect);
  curl_easy_setopt(easy.get(), CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(easy.get(), CURLOPT_ERRORBUFFER, errbuf);
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  curl_easy_setopt(easy.get(), CURLOPT_TIMEOUT_MS, static_cast<long>(std::max<long>(1, left)));
  CURLcode rc = curl_easy_perform(easy.get());
  if (rc != CURLE_OK) {
    reply.transport_error = http::RedactUrls(errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc));
    return reply;
  }
  curl_easy_getinfo(easy.get(), CURLINFO_RESPONSE_CODE, &reply.status);
  return reply;
}

// The DRS error's "msg" (or the start of a body that is not DRS JSON), redacted, short.
std::string ServerMessage(const std::string& body) {
  std::string msg;
  auto json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_object() && json.contains("msg") && json["msg"].is_string()) {
    msg = json["msg"].get<std::string>();
  } else {
    msg = body;
  }
  std::replace_if(msg.begin(), msg.end(), [](unsigned char c) { return c < 0x20; }, ' ');
  if (msg.size() > 200) msg = msg.substr(0, 200) + "...";
  return http::RedactUrls(msg);
}

Error HttpError(const std::string& what, const Reply& reply, bool has_token) {
  std::string said = ServerMessage(reply.body);
  std::string head = what + ": the DRS server answered " + std::to_string(reply.status) +
                     (said.empty() ? "" : " (\"" + said + "\")");
  switch (reply.status) {
    case 401:
      return Error{ErrorKind::kForbidden, head + (has_token ? ": the token was not accepted; give a fresh one"
                                                            : ": it needs a token; give one with --drs-token-file "
                                                              "FILE or GETMFS_DRS_TOKEN"), 401};
    case 403:
      return Error{ErrorKind::kForbidden, head + ": this token may not read the object", 403};
    case 404:
    case 410:
      return Error{ErrorKind::kNotFound, head + ": no such DRS object", static_cast<int>(reply.status)};
    default:
      return Error{ErrorKind::kNetwork, head, static_cast<int>(reply.status)};
  }
}

// GET url as JSON, with retries for connection failures, 429 and 5xx.
Result<nlohmann::json> GetJson(const std::string& what, const std::string& url, const DrsOptions& options) {
  auto deadline = Clock::now() + std::chrono::milliseconds(static_cast<long>(options.timeout_seconds * 1000));
  Error last{ErrorKind::kNetwork, what + ": no attempt made"};
  for (int attempt = 0; attempt < kAttempts && Clock::now() < deadline; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::min<Clock::duration>(std::chrono::milliseconds(250 << attempt), deadline - Clock::now()));
    Reply reply = HttpGet(url, options, deadline);
    if (!reply.transport_error.empty()) {
      last = Error{ErrorKind::kNetwork, what + ": the DRS server " + http::RedactUrl(url) + " could not be reached: " +
                                            reply.transport_error};
      continue;
    }
    if (reply.status == 200) {
      auto json = nlohmann::json::parse(reply.body, nullptr, false);
      if (json.is_object()) return json;
      return Error{ErrorKind::kNetwork, what + ": the DRS server's answer is not a JSON object"};
    }
    last = HttpError(what, reply, !options.token.empty());
    if (reply.status != 429 && reply.status < 500) return last;
  }
  return last;
}

// "sha-256", "SHA256", "sha_256" -> "sha256".
std::string TypeKey(std::string type) {
  std::string out;
  for (unsigned char c : type) {
    if (c != '-' && c != '_') out += static_cast<char>(std::tolower(c));
  }
  return out;
}

// The checksum to verify with: md5, then sha-256, crc32c, an S3 ETag. kBadInput when the chosen
// one is malformed (the object would otherwise go unverified without anyone knowing).
Result<integrity::Expected> PickChecksum(const nlohmann::json& object, const std::string& uri) {
  static const std::pair<const char*, const char*> kPreference[] = {
      {"md5", "md5"}, {"sha256", "sha256"}, {"crc32c", "crc32c"}, {"etag", "s3_etag"}};
  if (!object.contains("checksums") || !object["checksums"].is_array()) return integrity::Expected{};
  for (const auto& [key, algorithm] : kPreference) {
    for (const auto& entry : object["checksums"]) {
      if (!entry.is_object() || !entry.contains("type") || !entry["type"].is_string()) continue;
      if (TypeKey(entry["type"].get<std::string>()) != key) continue;
      if (!entry.contains("checksum") || !entry["checksum"].is_string()) {
        return Error{ErrorKind::kBadInput, uri + ": the DRS object's " + key + " checksum is not a string"};
      }
      auto parsed = integrity::ParseUserChecksum(algorithm, entry["checksum"].get<std::string>(), "DRS object");
      if (!parsed) return Error{ErrorKind::kBadInput, uri + ": the DRS object's checksum: " + parsed.error().message};
      return *parsed;
    }
  }
  return integrity::Expected{};
}

// "Name: value" strings; anything else is dropped.
std::vector<std::string> HeaderStrings(const nlohmann::json& headers) {
  std::vector<std::string> out;
  if (!headers.is_array()) return out;
  for (const auto& h : headers) {
    if (!h.is_string()) continue;
    std::string text = h.get<std::string>();
    auto colon = text.find(':');
    bool clean = std::none_of(text.begin(), text.end(), [](unsigned char c) { return c == '\r' || c == '\n'; });
    if (colon != std::string::npos && colon > 0 && clean) out.push_back(text);
  }
  return out;
}

bool HttpAccessType(const nlohmann::json& method) {
  if (!method.is_object() || !method.contains("type") || !method["type"].is_string()) return false;
  std::string type = TypeKey(method["type"].get<std::string>());
  return type == "https" || type == "http";
}

// The URL and headers of the first https access method: its access_url, or what
// .../access/ACCESS_ID answers.
Status ResolveAccess(const nlohmann::json& object, const std::string& object_url, const std::string& uri,
                     const DrsOptions& options, ResolvedObject* out) {
  const auto& methods = object.contains("access_methods") ? object["access_methods"] : nlohmann::json();
  for (const auto& method : methods.is_array() ? methods : nlohmann::json::array()) {
    if (!HttpAccessType(method)) continue;
    if (method.contains("access_url") && method["access_url"].is_object()) {
      const auto& access = method["access_url"];
      if (!access.contains("url") || !access["url"].is_string() || !http::IsHttpUrl(access["url"].get<std::string>())) continue;
      out->url = access["url"].get<std::string>();
      out->headers = HeaderStrings(access.value("headers", nlohmann::json()));
      return Ok{};
    }
    if (method.contains("access_id") && method["access_id"].is_string()) {
      std::string endpoint = object_url + "/access/" + PercentEncode(method["access_id"].get<std::string>());
      auto access = GetJson(uri + " (access " + method["access_id"].get<std::string>() + ")", endpoint, options);
      if (!access) return access.error();
      if (!access->contains("url") || !(*access)["url"].is_string() || !http::IsHttpUrl((*access)["url"].get<std::string>())) {
        return Error{ErrorKind::kBadInput, uri + ": the DRS access answer has no http(s) \"url\""};
      }
      out->url = (*access)["url"].get<std::string>();
      out->headers = HeaderStrings(access->value("headers", nlohmann::json()));
      return Ok{};
    }
  }
  return Error{ErrorKind::kBadInput, uri + ": the DRS object has no https access method (getmfs reads over https; "
                                            "s3:// and gs:// access methods need cloud credentials)"};
}

}  // namespace

Result<ResolvedObject> Resolve(const std::string& text, const DrsOptions& options) {
  auto uri = ParseDrsUri(text);
  if (!uri) return uri.error();
  auto object_url = ObjectUrl(*uri, options.server);
  if (!object_url) return object_url.error();
  auto object = GetJson(text, *object_url, options);
  if (!object) return object.error();
  ResolvedObject resolved;
  if (object->contains("size") && (*object)["size"].is_number_unsigned()) {
    resolved.size = (*object)["size"].get<std::uint64_t>();
  }
  resolved.name = object->contains("name") && (*object)["name"].is_string() ? (*object)["name"].get<std::string>() : "";
  if (resolved.name.empty()) resolved.name = uri->id;
  auto checksum = PickChecksum(*object, text);
  if (!checksum) return checksum.error();
  resolved.checksum = *checksum;
  if (resolved.checksum.known()) resolved.checksum.source = "DRS object";
  Status access = ResolveAccess(*object, *object_url, text, options, &resolved);
  if (!access) return access.error();
  return resolved;
}

Result<std::string> LoadToken(const std::string& token_file) {
  std::string token;
  if (!token_file.empty()) {
    std::ifstream in(token_file);
    if (!in) return Error{ErrorKind::kBadInput, "--drs-token-file " + token_file + ": cannot be read"};
    std::getline(in, token);
  } else if (const char* env = std::getenv("GETMFS_DRS_TOKEN")) {
    token = env;
  }
  auto not_space = [](unsigned char c) { return !std::isspace(c); };
  token.erase(token.begin(), std::find_if(token.begin(), token.end(), not_space));
  token.erase(std::find_if(token.rbegin(), token.rend(), not_space).base(), token.end());
  if (std::any_of(token.begin(), token.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; })) {
    return Error{ErrorKind::kBadInput, std::string(token_file.empty() ? "GETMFS_DRS_TOKEN" : "--drs-token-file " + token_file) +
                                           ": the token holds a control character"};
  }
  if (!token_file.empty() && token.empty()) {
    return Error{ErrorKind::kBadInput, "--drs-token-file " + token_file + ": the file is empty"};
  }
  return token;
}

}  // namespace getmfs::drs
