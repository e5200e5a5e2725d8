#include "support/nginx.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <stdexcept>
#include <system_error>

namespace getmfs::testing {
namespace {

constexpr const char* kNginx = "/usr/sbin/nginx";
constexpr int kAttempts = 5;
constexpr double kStartTimeoutSeconds = 15;

sockaddr_in Loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

// A port the kernel considers free right now (it may be taken before nginx
// binds it; Start retries in that case).
int PickFreePort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
  sockaddr_in addr = Loopback(0);
  socklen_t len = sizeof(addr);
  int port = -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  int err = errno;
  close(fd);
  if (port <= 0) throw std::system_error(err, std::generic_category(), "bind 127.0.0.1:0");
  return port;
}

bool PortAnswers(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr = Loopback(port);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

std::string Quote(const std::string& path) {
  std::string out = "\"";
  for (char c : path) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string Config(const std::string& prefix, const std::string& root_dir, int port,
                   const std::string& limit_rate) {
  std::string conf;
  conf += "user root;\n";
  conf += "master_process off;\n";
  conf += "worker_processes 1;\n";
  conf += "pid " + Quote(prefix + "/nginx.pid") + ";\n";
  conf += "error_log " + Quote(prefix + "/error.log") + " warn;\n";
  conf += "events { worker_connections 1024; }\n";
  conf += "http {\n";
  conf += "  access_log off;\n";
  conf += "  sendfile on;\n";
  conf += "  tcp_nopush on;\n";
  conf += "  keepalive_timeout 120s;\n";
  conf += "  keepalive_requests 100000;\n";
  conf += "  default_type application/octet-stream;\n";
  conf += "  types {}\n";
  conf += "  client_body_temp_path " + Quote(prefix + "/client_body") + ";\n";
  conf += "  server {\n";
  conf += "    listen 127.0.0.1:" + std::to_string(port) + ";\n";
  conf += "    root " + Quote(root_dir) + ";\n";
  conf += "    location / {\n";
  if (!limit_rate.empty()) conf += "      limit_rate " + limit_rate + ";\n";
  conf += "    }\n";
  conf += "  }\n";
  conf += "}\n";
  return conf;
}

}  // namespace

std::unique_ptr<Nginx> Nginx::Start(const std::string& root_dir, const std::string& limit_rate) {
  std::unique_ptr<Nginx> nginx(new Nginx());
  const std::string prefix = nginx->dir_.path();
  const std::string conf_path = prefix + "/nginx.conf";
  std::string last_error;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    int port = PickFreePort();
    WriteFile(conf_path, Config(prefix, root_dir, port, limit_rate));
    WriteFile(prefix + "/error.log", "");
    nginx->process_ = ChildProcess::Start({kNginx, "-p", prefix + "/", "-e", prefix + "/error.log",
                                           "-c", conf_path, "-g", "daemon off;"});
    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                        std::chrono::duration<double>(kStartTimeoutSeconds));
    bool exited = false;
    while (std::chrono::steady_clock::now() < deadline) {
      // Someone else may own the port: nginx then exits at once, so make sure
      // it is still running a moment after the port answers.
      if (PortAnswers(port) && !nginx->process_->Wait(0.05)) {
        nginx->port_ = port;
        return nginx;
      }
      if (nginx->process_->Wait(0.02)) {
        exited = true;
        break;
      }
    }
    last_error = nginx->ErrorLog() + nginx->process_->Stderr();
    nginx->process_->Stop(1);
    nginx->process_.reset();
    bool port_taken = last_error.find("Address already in use") != std::string::npos;
    if (!exited || !port_taken) break;
  }
  throw std::runtime_error("nginx did not start:\n" + last_error);
}

Nginx::~Nginx() {
  if (process_) process_->Stop(5);
}

std::string Nginx::BaseUrl() const { return "http://127.0.0.1:" + std::to_string(port_); }

std::string Nginx::Url(const std::string& path) const {
  return BaseUrl() + (path.empty() || path[0] != '/' ? "/" : "") + path;
}

std::string Nginx::ErrorLog() const {
  try {
    return ReadFile(dir_.path() + "/error.log");
  } catch (const std::exception&) {
    return "";
  }
}

}  // namespace getmfs::testing
