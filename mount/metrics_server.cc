// The /metrics endpoint (metrics_server.h).
#include "metrics_server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstring>

namespace getmfs::mount {
namespace {

constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

MHD_Result Reply(MHD_Connection* connection, unsigned int status, const std::string& body, const char* type) {
  MHD_Response* response =
      MHD_create_response_from_buffer(body.size(), const_cast<char*>(body.data()), MHD_RESPMEM_MUST_COPY);
  if (response == nullptr) return MHD_NO;
  MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, type);
  MHD_Result queued = MHD_queue_response(connection, status, response);
  MHD_destroy_response(response);
  return queued;
}

// GET (or HEAD) /metrics; 404 elsewhere, 405 for other methods.
MHD_Result Answer(void* cls, MHD_Connection* connection, const char* url, const char* method, const char*,
                  const char*, size_t*, void**) {
  auto* server = static_cast<MetricsServer*>(cls);
  if (std::strcmp(method, MHD_HTTP_METHOD_GET) != 0 && std::strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
    return Reply(connection, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET /metrics\n", "text/plain");
  }
  if (std::strcmp(url, "/metrics") != 0) return Reply(connection, MHD_HTTP_NOT_FOUND, "see /metrics\n", "text/plain");
  return Reply(connection, MHD_HTTP_OK, server->render()(), kContentType);
}

}  // namespace

Result<std::unique_ptr<MetricsServer>> MetricsServer::Start(const fs::MetricsAddress& address, Render render) {
  std::unique_ptr<MetricsServer> server(new MetricsServer(std::move(render)));
  sockaddr_in bind_to{};
  bind_to.sin_family = AF_INET;
  bind_to.sin_port = htons(address.port);
  if (inet_pton(AF_INET, address.host.c_str(), &bind_to.sin_addr) != 1) {
    return Error{ErrorKind::kBadInput, "--metrics-addr " + address.text() + ": not an IPv4 address"};
  }
  errno = 0;
  server->daemon_ = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, address.port, nullptr, nullptr,
                                     &Answer, server.get(), MHD_OPTION_SOCK_ADDR, &bind_to,
                                     MHD_OPTION_CONNECTION_LIMIT, 16u, MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
  if (server->daemon_ == nullptr) {
    int error = errno;
    return Error{ErrorKind::kIo, "cannot serve metrics on " + address.text() + ": " +
                                     (error != 0 ? std::strerror(error) : "libmicrohttpd refused it") +
                                     " (choose another --metrics-addr)"};
  }
  return server;
}

MetricsServer::~MetricsServer() {
  if (daemon_ != nullptr) MHD_stop_daemon(daemon_);
}

}  // namespace getmfs::mount
