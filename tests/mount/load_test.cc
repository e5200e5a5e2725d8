// Load: 64 readers at once, half sequential and half random, over files larger than the
// cache, for a bounded time (GETMFS_LOAD_SECONDS, default 20; `ctest -L soak` runs 300).
// Every byte read is checked; the daemon's memory stays within its bound, and it leaks no
// descriptors, threads or processes.
#include <gtest/gtest.h>

#include <cstdlib>
#include <dirent.h>

#include "support/mount_fixture.h"
#include "support/nginx.h"

namespace getmfs::testing {
namespace {

constexpr int kReaders = 64;
constexpr std::uint64_t kFileSize = 48 * kMiB;   // each larger than the 32 MiB cache
constexpr int kFiles = 4;

double LoadSeconds() {
  const char* env = std::getenv("GETMFS_LOAD_SECONDS");
  return env != nullptr ? std::atof(env) : 20;
}

// Entries in /proc/PID/<dir> (fd, task).
int CountEntries(pid_t pid, const char* dir) {
  std::string path = "/proc/" + std::to_string(pid) + "/" + dir;
  DIR* d = opendir(path.c_str());
  if (d == nullptr) return -1;
  int n = 0;
  while (dirent* e = readdir(d)) n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

int CountChildren(pid_t pid) {
  return static_cast<int>(Lines(RunProgram({"pgrep", "-P", std::to_string(pid)}).out).size());
}

// Proportional set size of the process and its children, in bytes.
std::uint64_t Pss(pid_t pid) {
  std::vector<std::string> pids = {std::to_string(pid)};
  for (const auto& child : Lines(RunProgram({"pgrep", "-P", std::to_string(pid)}).out)) pids.push_back(child);
  std::uint64_t total = 0;
  for (const auto& p : pids) {
    std::ifstream in("/proc/" + p + "/smaps_rollup");
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("Pss:", 0) == 0) total += std::stoull(Fields(line).at(1)) * 1024;
    }
  }
  return total;
}

// A reader until the deadline: sequential (whole files, md5) or random (preads checked
// against the local copy). Prints "OK n" or "ERR what".
const char* kReaderScript = R"PY(
import hashlib, os, random, sys, time
mode, mnt, src, deadline, seed = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5])
names = sys.argv[6:]
rng = random.Random(seed)
n = 0
try:
    while time.time() < deadline:
        name = rng.choice(names)
        if mode == 'seq':
            h = hashlib.md5()
            with open(os.path.join(mnt, name), 'rb') as f:
                while True:
                    b = f.read(1 << 20)
                    if not b or time.time() > deadline + 60:
                        break
                    h.update(b)
            with open(os.path.join(src, name), 'rb') as f:
                want = hashlib.md5(f.read()).hexdigest()
            if h.hexdigest() != want:
                print('ERR md5 of', name); sys.exit(1)
        else:
            fd = os.open(os.path.join(mnt, name), os.O_RDONLY)
            sd = os.open(os.path.join(src, name), os.O_RDONLY)
            size = os.fstat(sd).st_size
            for _ in range(20):
                length = rng.choice([4096, 65536, 262144])
                offset = rng.randrange(0, size - length)
                if os.pread(fd, length, offset) != os.pread(sd, length, offset):
                    print('ERR bytes of', name, offset, length); sys.exit(1)
            os.close(fd); os.close(sd)
        n += 1
    print('OK', n)
except OSError as e:
    print('ERR', e); sys.exit(1)
)PY";

class LoadTest : public MountTest {};

TEST_F(LoadTest, SixtyFourReadersSequentialAndRandomOverFilesLargerThanTheCache) {
  TempDir data("getmfs-load-");
  std::vector<std::string> names;
  std::string manifest;
  auto nginx = Nginx::Start(data.path());
  for (int i = 0; i < kFiles; ++i) {
    names.push_back("f" + std::to_string(i) + ".bin");
    WriteRandomFile(data.Path(names.back()), kFileSize, 60 + i);
    manifest += nginx->Url("/" + names.back()) + " " + names.back() + " size=" + std::to_string(kFileSize) +
                " md5=" + FileMd5Hex(data.Path(names.back())) + "\n";
  }
  ASSERT_NO_FATAL_FAILURE(Mount(manifest, {"--cache-size", "32M", "--max-readahead", "8M"}, 60));
  pid_t daemon = DaemonPid();
  // Warm up (threads and connections come into being), then take the baseline.
  ASSERT_TRUE(PythonRead(Mp(names[0])).ok);
  int fds = CountEntries(daemon, "fd"), threads = CountEntries(daemon, "task"), children = CountChildren(daemon);
  double deadline = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count() +
                    LoadSeconds();
  std::vector<std::unique_ptr<ChildProcess>> readers;
  for (int i = 0; i < kReaders; ++i) {
    std::vector<std::string> argv = {"python3", "-c", kReaderScript, i % 2 == 0 ? "seq" : "random", mp_,
                                     data.path(), std::to_string(deadline), std::to_string(i)};
    argv.insert(argv.end(), names.begin(), names.end());
    readers.push_back(ChildProcess::Start(argv));
  }
  std::uint64_t max_pss = 0;
  while (std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count() < deadline) {
    max_pss = std::max(max_pss, Pss(daemon));
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  int done = 0;
  for (auto& reader : readers) {
    auto line = reader->ReadLine(180);
    EXPECT_TRUE(line && line->rfind("OK", 0) == 0) << line.value_or("(no answer)") << " " << reader->Stderr();
    done += line && line->rfind("OK", 0) == 0;
    reader->Wait(30);
  }
  EXPECT_EQ(done, kReaders);
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)   // (their shadow memory)
  EXPECT_LT(max_pss, 32 * kMiB + 160 * kMiB) << "daemon and workers: PSS " << max_pss / kMiB << " MiB";
#endif
  std::this_thread::sleep_for(std::chrono::seconds(1));   // released handles, idle threads
  // Each FUSE thread has a descriptor of its own (clone_fd): count the others.
  EXPECT_LE(CountEntries(daemon, "fd") - CountEntries(daemon, "task"), fds - threads + 2) << "descriptors leaked";
  EXPECT_LE(CountEntries(daemon, "task"), std::max(threads, 12) + 32) << "threads leaked";
  EXPECT_EQ(CountChildren(daemon), children) << "worker processes leaked or lost";
  RunResult status = RunProgram({kBinary, "status", mp_, "--json"});
  auto json = nlohmann::json::parse(status.out, nullptr, false);
  EXPECT_EQ(json["totals"]["errors"].get<int>(), 0) << status.out;
}

}  // namespace
}  // namespace getmfs::testing
