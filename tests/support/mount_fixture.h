// What the mount tests share: running programs and reading through them, /proc/mounts, and
// the MountTest fixture (the test origin with the test data; a mountpoint per test, always
// unmounted in TearDown, with the daemon's log printed when a test failed).
#ifndef GETMFS_TESTS_SUPPORT_MOUNT_FIXTURE_H_
#define GETMFS_TESTS_SUPPORT_MOUNT_FIXTURE_H_

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/origin.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace getmfs::testing {

using Clock = std::chrono::steady_clock;
constexpr std::uint64_t kMiB = 1 << 20;

inline const std::string kBinary = GETMFS_BINARY;
inline const std::vector<std::string> kEnv = {"GETMFS_WORKER=" GETMFS_BINARY};

inline double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

inline bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

inline std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

inline std::vector<std::string> Fields(const std::string& line) {
  std::vector<std::string> out;
  std::istringstream in(line);
  for (std::string f; in >> f;) out.push_back(f);
  return out;
}

// The mount points listed in /proc/mounts (with their file system type).
inline std::map<std::string, std::string> ProcMounts() {
  std::map<std::string, std::string> mounts;
  std::ifstream in("/proc/mounts");
  for (std::string line; std::getline(in, line);) {
    auto f = Fields(line);
    if (f.size() >= 3) mounts[f[1]] = f[2];
  }
  return mounts;
}

inline bool IsMounted(const std::string& mountpoint) { return ProcMounts().count(mountpoint) != 0; }

// Polls `condition` every 50 ms until it holds or `seconds` pass.
template <class Fn>
bool WaitFor(Fn&& condition, double seconds) {
  auto deadline = Clock::now() + std::chrono::milliseconds(static_cast<long>(seconds * 1000));
  for (;;) {
    if (condition()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

inline RunResult Bash(const std::string& script, double timeout = 60) {
  return RunProgram({"bash", "-c", script}, {}, timeout);
}

// What python3 sees reading a whole file with open().read(): its MD5, or the errno.
struct PyRead {
  bool ok = false;
  std::string md5;
  int error_number = 0;
  std::string message;   // strerror text, e.g. "Key has expired"
  double seconds = 0;
  std::string raw;       // the script's stdout/stderr, for failure messages
};

inline PyRead PythonRead(const std::string& path, double timeout = 120) {
  static const char* kScript = R"PY(
import sys, hashlib
try:
    h = hashlib.md5()
    with open(sys.argv[1], 'rb') as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
    print("OK", h.hexdigest())
except OSError as e:
    print("ERR", e.errno, e.strerror)
)PY";
  auto start = Clock::now();
  RunResult r = RunProgram({"python3", "-c", kScript, path}, {}, timeout);
  PyRead out;
  out.seconds = SecondsSince(start);
  out.raw = "exit " + std::to_string(r.exit_code) + (r.timed_out ? " (timed out)" : "") + " out: " + r.out +
            " err: " + r.err;
  auto f = Fields(r.out);
  if (f.size() >= 2 && f[0] == "OK") {
    out.ok = true;
    out.md5 = f[1];
  } else if (f.size() >= 2 && f[0] == "ERR") {
    out.error_number = std::atoi(f[1].c_str());
    auto pos = r.out.find(f[1]);
    out.message = r.out.substr(pos + f[1].size());
    while (!out.message.empty() && (out.message.front() == ' ')) out.message.erase(0, 1);
    while (!out.message.empty() && out.message.back() == '\n') out.message.pop_back();
  }
  return out;
}

// os.getxattr through python (getfattr's output format varies with flags).
inline std::optional<std::string> Xattr(const std::string& path, const std::string& name) {
  RunResult r = RunProgram(
      {"python3", "-c",
       "import os,sys\ntry:\n  sys.stdout.write('V' + os.getxattr(sys.argv[1], sys.argv[2]).decode())\n"
       "except OSError as e:\n  sys.stdout.write('E%d' % e.errno)\n",
       path, name},
      {}, 30);
  if (r.out.empty() || r.out[0] != 'V') return std::nullopt;
  return r.out.substr(1);
}

inline std::string Slice(const std::string& data, std::uint64_t offset, std::uint64_t length) {
  if (offset >= data.size()) return "";
  return data.substr(offset, length);
}

// Alive and not a zombie (an exited daemon waits for its parent, or for us, to reap it).
inline bool ProcessRunning(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] != 'Z';
}

class MountTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // Detached daemons become our children when `getmfs mount` exits, so that every test
    // can check how its daemon ended (a crash at unmount is a failed test).
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    data_ = new TempDir("getmfs-mount-data-");
    WriteRandomFile(data_->Path("big.bin"), 6 * kMiB + 4321, 11);
    WriteRandomFile(data_->Path("tree/a.bin"), kMiB + 1, 12);
    WriteRandomFile(data_->Path("tree/sub/b.bin"), 300000, 13);
    WriteRandomFile(data_->Path("tree/sub/deep/c.txt"), 10, 14);
    WriteRandomFile(data_->Path("tree/d.bin"), 2 * kMiB, 15);
    WriteRandomFile(data_->Path("s3.bin"), 3 * kMiB + 7, 16);
    WriteRandomFile(data_->Path("gcs.bin"), 2 * kMiB + 3, 17);
    WriteRandomFile(data_->Path("huge.bin"), 32 * kMiB, 18);
    WriteRandomFile(data_->Path("fault.bin"), 2 * kMiB + 5, 19);
    WriteRandomFile(data_->Path("keep.bin"), 4 * kMiB + 9, 20);
    WriteRandomFile(data_->Path("reload/keep-copy.bin"), 4 * kMiB + 9, 20);   // the same bytes
    WriteRandomFile(data_->Path("gone.bin"), 100000, 21);
    WriteRandomFile(data_->Path("new.bin"), 200000, 22);
    WriteRandomFile(data_->Path("other.bin"), 500000, 23);
    WriteRandomFile(data_->Path("stall.bin"), 16 * kMiB, 24);
    WriteFile(data_->Path("empty.bin"), "");
    WriteRandomFile(data_->Path("names/hello world.bin"), 4321, 24);
    origin_ = Origin::Start(data_->path()).release();
  }
  static void TearDownTestSuite() {
    delete origin_;
    origin_ = nullptr;
    delete data_;
    data_ = nullptr;
  }

  void SetUp() override {
    origin_->Reset();
    mp_ = tmp_.Path("mnt");
    ASSERT_EQ(mkdir(mp_.c_str(), 0755), 0);
    manifest_ = tmp_.Path("urls.txt");
    log_ = tmp_.Path("getmfs.log");
  }

  void TearDown() override {
    if (IsMounted(mp_)) {
      RunResult r = RunProgram({kBinary, "unmount", mp_}, {}, 20);
      if (IsMounted(mp_)) RunProgram({"umount", "-l", mp_}, {}, 20);
      if (IsMounted(mp_)) RunProgram({"fusermount3", "-uz", mp_}, {}, 20);
      if (r.exit_code != 0) {
        // A test that expects a clean end unmounts itself; reaching here with a busy mount
        // is only worth a note.
        std::fprintf(stderr, "[teardown] getmfs unmount: exit %d: %s", r.exit_code, r.err.c_str());
      }
    }
    EXPECT_FALSE(IsMounted(mp_)) << "the mount could not be removed: " << mp_;
    ExpectDaemonsEnded();
    if (HasFailure()) {
      std::ifstream in(log_);
      std::stringstream text;
      text << in.rdbuf();
      std::string log = text.str();
      if (log.size() > 20000) log = "...\n" + log.substr(log.size() - 20000);
      std::fprintf(stderr, "----- %s -----\n%s----- end of log -----\n", log_.c_str(), log.c_str());
    }
  }

  std::string Src(const std::string& path) const { return data_->Path(path); }
  std::string Mp(const std::string& path) const { return mp_ + "/" + path; }

  RunResult MountCommand(const std::vector<std::string>& extra, double timeout_seconds) {
    std::vector<std::string> argv = {kBinary, "mount", manifest_, mp_, "--log-file", log_, "--timeout",
                                     std::to_string(timeout_seconds)};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return RunProgram(argv, kEnv, 60);
  }

  // Writes the manifest and mounts it; fatal failure when the mount does not come up.
  void Mount(const std::string& manifest, const std::vector<std::string>& extra = {},
             double timeout_seconds = 10) {
    WriteFile(manifest_, manifest);
    RunResult r = MountCommand(extra, timeout_seconds);
    ASSERT_EQ(r.exit_code, 0) << "getmfs mount failed: " << r.err << r.out;
    ASSERT_TRUE(IsMounted(mp_)) << "getmfs mount returned 0 but " << mp_ << " is not in /proc/mounts";
    EXPECT_EQ(ProcMounts()[mp_], "fuse.getmfs");
    if (pid_t pid = DaemonPid(); pid > 0) daemons_.push_back(pid);
  }

  // A daemon this test kills on purpose: it is not expected to exit 0.
  void Killed(pid_t pid) { killed_.insert(pid); }

  // Every daemon the test started has exited with status 0 (or was killed by the test).
  void ExpectDaemonsEnded() {
    for (pid_t pid : daemons_) {
      int status = 0;
      pid_t got = 0;
      for (int i = 0; i < 300 && (got = waitpid(pid, &status, WNOHANG)) == 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      if (got == -1) continue;   // not ours to wait for (reaped already)
      if (got == 0) {
        ADD_FAILURE() << "daemon " << pid << " is still running 15 s after its unmount";
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        continue;
      }
      if (killed_.count(pid) != 0) continue;
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
          << "daemon " << pid << " ended with "
          << (WIFSIGNALED(status) ? "signal " + std::string(strsignal(WTERMSIG(status)))
                                  : "exit status " + std::to_string(WEXITSTATUS(status)));
    }
    daemons_.clear();
  }

  std::string Log() const {
    std::ifstream in(log_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  // Waits up to 5 s for every `getmfs mount` of this mountpoint to exit: the pids of those
  // left ("" when none).
  std::string MountDaemonsLeft() {
    std::string left;
    for (int i = 0; i < 100; ++i) {
      left = RunProgram({"pgrep", "-f", "getmfs mount .*" + mp_}).out;
      if (left.empty()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return left;
  }

  pid_t DaemonPid() {
    auto pid = Xattr(mp_, "user.getmfs.pid");
    return pid ? static_cast<pid_t>(std::atol(pid->c_str())) : -1;
  }

  // Mounts stall.bin (16 MiB, read-ahead 4M) with `fault` on its requests, reads it whole
  // with python and checks its bytes; returns the read and `getmfs status --json`.
  std::pair<PyRead, nlohmann::json> ReadStallBin(const nlohmann::json& fault) {
    origin_->Configure({{"path", "/stall.bin"}, {"faults", {fault}}});
    std::string manifest = origin_->Url("/stall.bin") + " stall.bin size=" + std::to_string(16 * kMiB) + "\n";
    Mount(manifest, {"--max-readahead", "4M"}, 60);
    PyRead r = PythonRead(Mp("stall.bin"), 120);
    EXPECT_TRUE(r.ok) << r.raw;
    EXPECT_EQ(r.md5, FileMd5Hex(Src("stall.bin")));
    RunResult status = RunProgram({kBinary, "status", mp_, "--json"});
    EXPECT_EQ(status.exit_code, 0) << status.err;
    return {r, nlohmann::json::parse(status.out, nullptr, /*allow_exceptions=*/false)};
  }

  static TempDir* data_;
  static Origin* origin_;
  TempDir tmp_{"getmfs-mount-test-"};
  std::string mp_, manifest_, log_;
  std::vector<pid_t> daemons_;   // started by Mount: checked in TearDown
  std::set<pid_t> killed_;
};

inline TempDir* MountTest::data_ = nullptr;
inline Origin* MountTest::origin_ = nullptr;


}  // namespace getmfs::testing

#endif  // GETMFS_TESTS_SUPPORT_MOUNT_FIXTURE_H_
