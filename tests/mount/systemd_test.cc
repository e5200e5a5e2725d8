// systemd: `getmfs mount --foreground` under Type=notify says READY=1 (with MAINPID) once the
// mount serves, RELOADING=1 and READY=1 around a reload, STOPPING=1 at the end, read here
// from a $NOTIFY_SOCKET of our own as systemd would; and the unit files pass
// `systemd-analyze verify`.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <filesystem>
#include <regex>

#include "support/mount_fixture.h"

namespace getmfs::testing {
namespace {

namespace stdfs = std::filesystem;

// A datagram socket bound at path, as systemd's notify socket.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path.copy(addr.sun_path, sizeof addr.sun_path - 1);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0) << std::strerror(errno);
  }
  ~NotifySocket() { close(fd_); }
  // The next message, or "" after timeout_ms.
  std::string Next(int timeout_ms) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) != 1) return "";
    char buf[4096];
    ssize_t n = recv(fd_, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "";
  }

 private:
  std::string path_;
  int fd_ = -1;
};

class SystemdTest : public MountTest {};

TEST_F(SystemdTest, TypeNotifyHearsReadyReloadingAndStopping) {
  std::string socket_path = tmp_.Path("notify");
  NotifySocket notify(socket_path);
  WriteFile(manifest_, origin_->Url("/tree/a.bin") + "\n");
  std::vector<std::string> env = kEnv;
  env.push_back("NOTIFY_SOCKET=" + socket_path);
  auto daemon = ChildProcess::Start({kBinary, "mount", "--foreground", manifest_, mp_, "--log-file", log_}, env);
  std::string ready = notify.Next(30000);
  EXPECT_NE(ready.find("READY=1"), std::string::npos) << ready;
  EXPECT_NE(ready.find("MAINPID=" + std::to_string(daemon->pid())), std::string::npos) << ready;
  EXPECT_TRUE(IsMounted(mp_)) << "READY=1 came before the mount was there";
  EXPECT_EQ(FileMd5Hex(Mp("a.bin")), FileMd5Hex(Src("tree/a.bin")));
  RunResult reload = RunProgram({kBinary, "reload", mp_}, {}, 60);
  EXPECT_EQ(reload.exit_code, 0) << reload.err;
  EXPECT_EQ(notify.Next(10000), "RELOADING=1");
  EXPECT_EQ(notify.Next(10000), "READY=1");
  daemon->Signal(SIGTERM);
  EXPECT_EQ(notify.Next(10000), "STOPPING=1");
  EXPECT_EQ(daemon->Wait(30), 0) << daemon->Stderr();
  EXPECT_FALSE(IsMounted(mp_));
}

TEST_F(SystemdTest, TheUnitFilesPassSystemdAnalyzeVerify) {
  if (RunProgram({"systemd-analyze", "--version"}).exit_code != 0) GTEST_SKIP() << "no systemd-analyze here";
  // The template as built, its commands pointed at this build's getmfs (verify checks that
  // they are executable).
  std::string unit = ReadFile(std::string(GETMFS_BUILD_DIR) + "/getmfs@.service");
  unit = std::regex_replace(unit, std::regex(R"(=\S*/getmfs )"), "=" + kBinary + " ");
  ASSERT_NE(unit.find("ExecStart=" + kBinary + " mount --foreground"), std::string::npos) << unit;
  std::string dir = tmp_.Path("units");
  stdfs::create_directories(dir);
  WriteFile(dir + "/getmfs@.service", unit);
  for (const char* name : {"mnt-data.mount", "mnt-data.automount"}) {
    stdfs::copy_file(std::string(GETMFS_SOURCE_DIR) + "/packaging/systemd/" + name, dir + "/" + name);
  }
  RunResult r = RunProgram({"systemd-analyze", "verify", "--man=no", dir + "/getmfs@data.service", dir + "/mnt-data.mount",
                            dir + "/mnt-data.automount"}, {}, 60);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "") << "systemd-analyze warns";
  // It does find faults: a template whose command is not there fails.
  WriteFile(dir + "/getmfs@.service", std::regex_replace(unit, std::regex("=" + kBinary + " mount"), "=/nonexistent/getmfs mount"));
  r = RunProgram({"systemd-analyze", "verify", "--man=no", dir + "/getmfs@data.service"}, {}, 60);
  EXPECT_NE(r.exit_code, 0) << r.err;
}

}  // namespace
}  // namespace getmfs::testing
