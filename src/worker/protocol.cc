// The messages between the pool and its fetch loops (protocol.h).
#include "worker/protocol.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstdint>

namespace getmfs::worker {

namespace {

using nlohmann::json;

[[noreturn]] void Malformed(const std::string& what, const json& value) {
  throw MalformedMessage(what + " (got " + std::string(value.type_name()) + ")");
}

const json& Object(const json& j) {
  if (!j.is_object()) Malformed("a message must be an object", j);
  return j;
}

// Member `key` of an object, which must be there.
const json& Member(const json& j, const char* key) {
  auto it = Object(j).find(key);
  if (it == j.end()) throw MalformedMessage(std::string("member \"") + key + "\" missing");
  return *it;
}

// Element `i` of an array, which must be there.
const json& Element(const json& j, std::size_t i) {
  if (!j.is_array() || j.size() <= i) Malformed("a list of at least " + std::to_string(i + 1) + " expected", j);
  return j[i];
}

std::uint64_t U64(const json& j) {
  if (!j.is_number_unsigned()) Malformed("an unsigned integer expected", j);
  return j.get<std::uint64_t>();
}

// An integer in [min, max], where min <= 0 <= max.
std::int64_t I64(const json& j, std::int64_t min, std::int64_t max) {
  if (!j.is_number_integer()) Malformed("an integer expected", j);
  bool in_range = j.is_number_unsigned() ? j.get<std::uint64_t>() <= static_cast<std::uint64_t>(max)
                                         : j.get<std::int64_t>() >= min && j.get<std::int64_t>() <= max;
  if (!in_range) Malformed("an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "] expected", j);
  return j.get<std::int64_t>();
}

int Int(const json& j) { return static_cast<int>(I64(j, INT32_MIN, INT32_MAX)); }

std::string String(const json& j) {
  if (!j.is_string()) Malformed("a string expected", j);
  return j.get<std::string>();
}

std::vector<std::string> Strings(const json& j) {
  if (!j.is_array()) Malformed("a list of strings expected", j);
  std::vector<std::string> out;
  for (const auto& item : j) out.push_back(String(item));
  return out;
}

bool Bool(const json& j) {
  if (!j.is_boolean()) Malformed("true or false expected", j);
  return j.get<bool>();
}

// An optional member: `fallback` when absent, else `get` of it.
template <class T, class Get>
T Optional(const json& j, const char* key, T fallback, Get get) {
  auto it = Object(j).find(key);
  return it == j.end() ? fallback : get(*it);
}

}  // namespace

nlohmann::json TargetsToJson(const std::vector<BlockTarget>& targets) {
  auto out = nlohmann::json::array();
  for (const auto& t : targets) out.push_back({t.region_offset, t.length});
  return out;
}

std::vector<BlockTarget> TargetsFromJson(const nlohmann::json& j) {
  if (!j.is_array()) Malformed("targets must be a list", j);
  std::vector<BlockTarget> out;
  for (const auto& t : j) out.push_back({U64(Element(t, 0)), U64(Element(t, 1))});
  return out;
}

nlohmann::json ToJson(const JobSpec& s) {
  nlohmann::json j = {{"t", "job"},         {"id", s.id},
                      {"url", s.url},       {"offset", s.offset},
                      {"length", s.length}, {"size", s.object_size},
                      {"if_match", s.if_match}, {"first", s.first_index},
                      {"targets", TargetsToJson(s.targets)}, {"budget_ms", s.budget_ms}};
  if (!s.headers.empty()) j["headers"] = s.headers;
  return j;
}

JobSpec JobFromJson(const nlohmann::json& j) {
  JobSpec s;
  s.id = U64(Member(j, "id"));
  s.url = String(Member(j, "url"));
  if (j.is_object() && j.contains("headers")) s.headers = Strings(j.at("headers"));
  s.offset = U64(Member(j, "offset"));
  s.length = U64(Member(j, "length"));
  s.object_size = U64(Member(j, "size"));
  s.if_match = String(Member(j, "if_match"));
  s.first_index = U64(Member(j, "first"));
  s.targets = TargetsFromJson(Member(j, "targets"));
  s.budget_ms = I64(Member(j, "budget_ms"), INT64_MIN, INT64_MAX);
  return s;
}

std::string MessageType(const nlohmann::json& message) {
  return Optional(message, "t", std::string(), String);
}

std::uint64_t MessageId(const nlohmann::json& message) { return U64(Member(message, "id")); }

std::vector<BlockTarget> CreditTargets(const nlohmann::json& message) {
  return TargetsFromJson(Member(message, "targets"));
}

std::vector<BlockReport> BlocksFromJson(const nlohmann::json& message) {
  const json& list = Member(message, "b");
  if (!list.is_array()) Malformed("\"b\" must be a list", list);
  std::vector<BlockReport> out;
  out.reserve(list.size());
  for (const auto& b : list) {
    out.push_back({U64(Element(b, 0)), U64(Element(b, 1)), static_cast<std::uint32_t>(I64(Element(b, 2), 0, UINT32_MAX))});
  }
  return out;
}

std::vector<PartialReport> PartialsFromJson(const nlohmann::json& message) {
  std::vector<PartialReport> out;
  if (!message.contains("p")) return out;
  const json& list = message["p"];
  if (!list.is_array()) Malformed("\"p\" must be a list", list);
  out.reserve(list.size());
  for (const auto& p : list) out.push_back({U64(Element(p, 0)), U64(Element(p, 1))});
  return out;
}

DoneReport DoneFromJson(const nlohmann::json& message) {
  DoneReport d;
  d.id = MessageId(message);
  d.ok = Optional(message, "ok", false, Bool);
  d.cancelled = Optional(message, "cancelled", false, Bool);
  d.kind = Optional(message, "kind", d.kind, String);
  d.msg = Optional(message, "msg", d.msg, String);
  d.http = Optional(message, "http", 0, Int);
  d.retries = Optional(message, "retries", 0, Int);
  d.ranges_ignored = Optional(message, "ranges_ignored", false, Bool);
  return d;
}

bool MessageOutbox::Send(int fd, const nlohmann::json& message) {
  queue_.push_back(message.dump());
  return Flush(fd);
}

bool MessageOutbox::Flush(int fd) {
  while (!queue_.empty()) {
    const std::string& data = queue_.front();
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n == static_cast<ssize_t>(data.size())) {
      queue_.pop_front();
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;   // later, on POLLOUT
    return false;
  }
  return true;
}

std::optional<nlohmann::json> ReceiveMessage(int fd, bool* closed) {
  static thread_local std::string buffer(1 << 20, '\0');
  for (;;) {
    ssize_t n = ::recv(fd, buffer.data(), buffer.size(), MSG_DONTWAIT);
    if (n > 0) {
      auto parsed = nlohmann::json::parse(buffer.begin(), buffer.begin() + n, nullptr, false);
      if (parsed.is_discarded()) {
        *closed = true;   // a peer that sends garbage is treated as gone
        return std::nullopt;
      }
      return parsed;
    }
    if (n == 0) {
      *closed = true;
      return std::nullopt;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) *closed = true;
    return std::nullopt;
  }
}

}  // namespace getmfs::worker
