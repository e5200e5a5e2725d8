// nginx (/usr/sbin/nginx) serving a directory, for tests against a real server.
#ifndef GETMFS_TESTS_SUPPORT_NGINX_H_
#define GETMFS_TESTS_SUPPORT_NGINX_H_

#include <memory>
#include <string>

#include "support/process.h"
#include "support/temp_dir.h"

namespace getmfs::testing {

// One nginx process (master_process off, in the foreground) listening on
// 127.0.0.1 and a free port, serving root_dir with sendfile and keep-alive.
// Its configuration, pid file, temp dirs and error log live in a private
// temporary directory. The destructor stops it.
class Nginx {
 public:
  // limit_rate, e.g. "16m", caps each connection's bandwidth (nginx syntax);
  // empty for no cap. Throws std::runtime_error with nginx's error log when
  // it cannot start.
  static std::unique_ptr<Nginx> Start(const std::string& root_dir,
                                      const std::string& limit_rate = "");
  ~Nginx();
  Nginx(const Nginx&) = delete;
  Nginx& operator=(const Nginx&) = delete;

  int port() const { return port_; }
  std::string BaseUrl() const;
  // BaseUrl() + path; a missing leading '/' is added.
  std::string Url(const std::string& path) const;
  // The contents of nginx's error log.
  std::string ErrorLog() const;

 private:
  Nginx() = default;

  TempDir dir_{"getmfs-nginx-"};
  std::unique_ptr<ChildProcess> process_;
  int port_ = 0;
};

}  // namespace getmfs::testing

#endif  // GETMFS_TESTS_SUPPORT_NGINX_H_
