// The messages between the pool and its fetch loops (protocol.h).
#include "worker/protocol.h"

#include <sys/socket.h>

#include <cerrno>

namespace getmfs::worker {

nlohmann::json TargetsToJson(const std::vector<BlockTarget>& targets) {
  auto out = nlohmann::json::array();
  for (const auto& t : targets) out.push_back({t.region_offset, t.length});
  return out;
}

std::vector<BlockTarget> TargetsFromJson(const nlohmann::json& j) {
  std::vector<BlockTarget> out;
  for (const auto& t : j) out.push_back({t.at(0).get<std::uint64_t>(), t.at(1).get<std::uint64_t>()});
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
  s.id = j.at("id").get<std::uint64_t>();
  s.url = j.at("url").get<std::string>();
  if (j.contains("headers")) s.headers = j.at("headers").get<std::vector<std::string>>();
  s.offset = j.at("offset").get<std::uint64_t>();
  s.length = j.at("length").get<std::uint64_t>();
  s.object_size = j.at("size").get<std::uint64_t>();
  s.if_match = j.at("if_match").get<std::string>();
  s.first_index = j.at("first").get<std::uint64_t>();
  s.targets = TargetsFromJson(j.at("targets"));
  s.budget_ms = j.at("budget_ms").get<std::int64_t>();
  return s;
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
