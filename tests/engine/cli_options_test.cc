// Every option value of getmfs (get, mount, unmount, status, reload), of getm and of mount's
// -o options, also through the mount(8) helper, run as the real executable: a bad value exits
// 2 with a message naming the option, never aborts or dies of a signal, and mounts nothing;
// good values still get through to the command. Nothing outside this machine is reached: the
// only URL is http://127.0.0.1:9/x (nothing listens there), fetched only by the few good get
// command lines that run to the network failure.
#include <gtest/gtest.h>
#include <sys/mount.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "support/process.h"
#include "support/temp_dir.h"

namespace getmfs::testing {
namespace {

namespace stdfs = std::filesystem;

const char* const kGetmfs = GETMFS_BINARY;
const std::string kGetm = std::string(GETMFS_BUILD_DIR) + "/getm";
const char* const kUrl = "http://127.0.0.1:9/x";   // the discard port: nothing listens

// One bad command line: the arguments after the program, and what stderr must name.
struct Bad {
  std::vector<std::string> args;
  std::string names;
};

// Values no number-taking option accepts.
const std::vector<std::string> kNotNumbers = {"", "abc", "-1", "99999999999999999999", "1e400",
                                              "nan", "inf", "16abc", "0x10", " 8", "+8", "1.5"};
const std::vector<std::string> kNotSizes = {"", "12Q", "-5M", "99999999999999999999", "1e400",
                                            "nan", "inf", "1.5G", "0x1000", "8 M", "M"};
const std::vector<std::string> kNotSeconds = {"", "0", "-3", "-1", "abc", "nan", "inf", "1e400",
                                              "1e3", "99999999999999999999", "31536001", "0x10",
                                              "1..5", "-0.5"};
const std::vector<std::string> kNotModes = {"", "8888", "999", "0x12", "-1", "17777", "rw", "0o444"};
const std::vector<std::string> kNotIds = {"", "root", "-1", "4294967295", "99999999999999999999",
                                          "1.5", "0x10", "1e3"};

std::vector<std::string> Concat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

void AddValues(std::vector<Bad>* out, const std::vector<std::string>& before, const std::string& option,
               const std::vector<std::string>& values) {
  for (const auto& v : values) out->push_back({Concat(before, {option, v}), option});
}

// "--opt=value" forms of flags, which take no value.
void AddFlagValues(std::vector<Bad>* out, const std::vector<std::string>& before,
                   const std::vector<std::string>& flags) {
  for (const auto& f : flags) out->push_back({Concat(before, {f + "=maybe"}), f});
}

bool Mounted(const std::string& path) {
  std::ifstream mounts("/proc/mounts");
  std::string line;
  while (std::getline(mounts, line)) {
    std::istringstream fields(line);
    std::string source, target;
    fields >> source >> target;
    if (target == path) return true;
  }
  return false;
}

class CliOptions : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteFile(dir_.Path("urls.txt"), std::string(kUrl) + " size=10\n");
    stdfs::create_directory(mnt_);
  }

  void TearDown() override {
    if (Mounted(mnt_)) umount2(mnt_.c_str(), MNT_DETACH);
  }

  std::vector<std::string> Mount(const std::vector<std::string>& args) const {
    return Concat({"mount", dir_.Path("urls.txt"), mnt_}, args);
  }

  // Runs program with each bad command line and checks what a bad value must give.
  void ExpectAllRejected(const std::string& program, const std::vector<Bad>& table) {
    for (const Bad& bad : table) ExpectRejected(Concat({program}, bad.args), bad.names);
  }

  void ExpectRejected(const std::vector<std::string>& argv, const std::string& names) {
    std::string shown;
    for (const auto& a : argv) shown += " '" + a + "'";
    SCOPED_TRACE("command:" + shown);
    RunResult r = RunProgram(argv, {}, 30);
    EXPECT_FALSE(r.timed_out);
    EXPECT_GE(r.exit_code, 0) << "killed by signal " << -r.exit_code << "; stderr: " << r.err;
    EXPECT_EQ(r.exit_code, 2) << "stderr: " << r.err;
    EXPECT_FALSE(r.err.empty());
    EXPECT_NE(r.err.find(names), std::string::npos) << "stderr does not name " << names << ": " << r.err;
    EXPECT_EQ(r.err.find("terminate called"), std::string::npos) << r.err;
    if (Mounted(mnt_)) {
      ADD_FAILURE() << "a bad value was mounted";
      umount2(mnt_.c_str(), MNT_DETACH);
    }
    EXPECT_FALSE(stdfs::exists(dir_.Path("out"))) << "a bad value downloaded something";
    ++commands_;
  }

  // Good values: the command line passes, and the command stops at its next step, which
  // says so in a message of its own (exit_code and what it contains).
  void ExpectAccepted(const std::vector<std::string>& argv, int exit_code, const std::string& message) {
    std::string shown;
    for (const auto& a : argv) shown += " '" + a + "'";
    SCOPED_TRACE("command:" + shown);
    RunResult r = RunProgram(argv, {}, 30);
    EXPECT_EQ(r.exit_code, exit_code) << "stderr: " << r.err;
    EXPECT_NE(r.err.find(message), std::string::npos) << "stderr: " << r.err;
    for (const char* refusal : {"Run with --help", "is not a size", "is not a whole", "is not a number",
                                "is not octal", "is not a numeric", "is not one of", "value is empty",
                                "must hold", "is not a multiple", "-o "}) {
      EXPECT_EQ(r.err.find(refusal), std::string::npos) << "a good value was refused: " << r.err;
    }
    EXPECT_FALSE(Mounted(mnt_));
  }

  std::string Absent() const { return dir_.Path("absent"); }

  TempDir dir_;
  std::string mnt_ = dir_.Path("mnt");
  int commands_ = 0;
};

std::vector<Bad> MountTable() {
  std::vector<Bad> t;
  AddValues(&t, {}, "--concurrency", Concat(kNotNumbers, {"0", "1025", "None", "all"}));
  AddValues(&t, {}, "--workers", Concat(kNotNumbers, {"0", "257"}));
  AddValues(&t, {}, "--cache-size", Concat(kNotSizes, {"0", "1", "64K", "1020K", "99T"}));
  AddValues(&t, {}, "--block-size", Concat(kNotSizes, {"0", "1", "4095", "5000", "4097", "100000", "128M"}));
  AddValues(&t, {}, "--max-readahead", Concat(kNotSizes, {"0", "1", "2G"}));
  AddValues(&t, {}, "--verify-random", {"", "maybe", "on", "true", "background,off"});
  AddValues(&t, {}, "--timeout", kNotSeconds);
  AddValues(&t, {}, "--metrics-addr", {"", "x", "0", "65536", "1.2.3:80", "[::1]:80", "host.example:80", "127.0.0.1:"});
  AddValues(&t, {}, "--log-file", {""});
  AddValues(&t, {}, "--uid", kNotIds);
  AddValues(&t, {}, "--gid", kNotIds);
  AddValues(&t, {}, "--file-mode", kNotModes);
  AddValues(&t, {}, "--dir-mode", kNotModes);
  AddFlagValues(&t, {}, {"--foreground", "--verbose"});
  // The cache must hold 16 blocks, whichever way the sizes are given.
  t.push_back({{"--cache-size", "1M", "--block-size", "128K"}, "--cache-size"});
  t.push_back({{"--block-size", "64M", "--cache-size", "512M"}, "--block-size"});
  t.push_back({{"-o", "cache_size=1M,block_size=128K"}, "cache_size"});
  return t;
}

// mount's own -o keys, each as getmfs takes them: KEY=VALUE, in a comma-separated list.
std::vector<Bad> MountOptionTable() {
  std::vector<Bad> t;
  auto add = [&t](const std::string& key, const std::vector<std::string>& values) {
    for (const auto& v : values) t.push_back({{"-o", key + "=" + v}, key});
    t.push_back({{"-o", key}, key});   // no value at all
  };
  add("cache_size", Concat(kNotSizes, {"0", "1", "99T"}));
  add("block_size", Concat(kNotSizes, {"0", "5000", "128M"}));
  add("max_readahead", Concat(kNotSizes, {"0", "2G"}));
  add("concurrency", Concat(kNotNumbers, {"0", "1025"}));
  add("workers", Concat(kNotNumbers, {"0", "257"}));
  add("timeout", kNotSeconds);
  add("verify_random", {"", "maybe", "on"});
  add("direct_io", {"", "yes", "1"});
  add("log_file", {""});
  t.push_back({{"-o", "ro,allow_other,cache_size=abc,nodev"}, "cache_size"});
  t.push_back({{"-o", "ro", "-o", "concurrency=0"}, "concurrency"});
  // Options libfuse does not know, and the ones getmfs sets itself (another max_read once
  // reported a mount that the kernel then refused).
  t.push_back({{"-o", "ro,bogus_option"}, "bogus_option"});
  t.push_back({{"-o", "max_read=65536"}, "max_read"});
  t.push_back({{"-o", "fsname=other"}, "fsname"});
  add("drs_server", {"", "ftp://x", "not a url", "http://h/?q=1"});
  add("drs_token_file", {"", "/nonexistent/token"});
  add("metrics_addr", {"", "x", "0", "65536", "1.2.3:80", "[::1]:80", "host.example:80", "127.0.0.1:", "-1"});
  return t;
}

// prefix: {"get"} for getmfs, {} for getm.
std::vector<Bad> GetTable(const std::vector<std::string>& prefix, const std::string& out) {
  const std::vector<std::string> args = Concat(prefix, {kUrl, "-O", out});
  std::vector<Bad> t;
  AddValues(&t, args, "--concurrency", Concat(kNotNumbers, {"0", "1025"}));
  if (prefix.empty()) AddValues(&t, args, "--requests", Concat(kNotNumbers, {"0", "1025"}));   // getm's name for it
  AddValues(&t, args, "--workers", Concat(kNotNumbers, {"0", "257"}));
  AddValues(&t, args, "--chunk-size", Concat(kNotSizes, {"0", "1", "4095", "2G"}));
  AddValues(&t, args, "--cache-size", Concat(kNotSizes, {"0", "1", "99T"}));   // 1: below the window
  AddValues(&t, args, "--s3-part-size", Concat(kNotSizes, {"0", "6G"}));
  AddValues(&t, args, "--timeout", kNotSeconds);
  AddValues(&t, args, "--checksum", {"", "zz"});
  AddValues(&t, args, "--checksum-algorithm", {"", "sha1", "md5,sha256", "maybe"});
  AddFlagValues(&t, args, {"--progress", "--continue-after-error", "--verbose", "--quiet"});
  t.push_back({Concat(prefix, {kUrl, "-O", ""}), "--output"});
  t.push_back({Concat(prefix, {"--manifest", ""}), "--manifest"});
  t.push_back({Concat(prefix, {kUrl, "--workers"}), "--workers"});   // no value at all
  t.push_back({Concat(prefix, {""}), "url"});
  return t;
}

TEST_F(CliOptions, MountRejectsEveryBadValueBeforeMounting) {
  std::vector<Bad> table = MountTable();
  for (auto& bad : table) bad.args = Mount(bad.args);
  ExpectAllRejected(kGetmfs, table);
  ExpectRejected({kGetmfs, "mount", "", mnt_}, "manifest");
  ExpectRejected({kGetmfs, "mount", dir_.Path("urls.txt"), ""}, "mountpoint");
  ExpectRejected({kGetmfs, "mount", dir_.Path("urls.txt")}, "mountpoint");
  ExpectRejected({kGetmfs, "mount", dir_.Path("urls.txt"), mnt_, "--concurrency"}, "--concurrency");
  EXPECT_EQ(commands_, static_cast<int>(table.size() + 4));
}

TEST_F(CliOptions, MountDashORejectsEveryBadValueBeforeMounting) {
  std::vector<Bad> table = MountOptionTable();
  for (auto& bad : table) bad.args = Mount(bad.args);
  ExpectAllRejected(kGetmfs, table);
  // mount(8) through mount.fuse3 runs `getmfs SOURCE MOUNTPOINT -o OPTIONS`.
  ExpectRejected({kGetmfs, dir_.Path("urls.txt"), mnt_, "-o", "rw,workers=x"}, "workers");
  EXPECT_EQ(commands_, static_cast<int>(table.size() + 1));
}

// The helper as installed, with the build's getmfs; mount(8) runs it as
// `mount.fuse.getmfs SOURCE MOUNTPOINT [-s] [-f] [-n] [-v] [-o OPTIONS]`.
TEST_F(CliOptions, MountHelperPassesTheErrorAndStatus2On) {
  std::string script = ReadFile(std::string(GETMFS_SOURCE_DIR) + "/packaging/mount.fuse.getmfs.in");
  const std::string marker = "@CMAKE_INSTALL_FULL_BINDIR@";
  ASSERT_NE(script.find(marker), std::string::npos);
  script.replace(script.find(marker), marker.size(), stdfs::path(kGetmfs).parent_path().string());
  std::string helper = dir_.Path("mount.fuse.getmfs");
  WriteFile(helper, script);
  const std::vector<std::string> head = {"sh", helper, dir_.Path("urls.txt"), mnt_};
  for (const Bad& bad : MountOptionTable()) ExpectRejected(Concat(Concat(head, {"-n"}), bad.args), bad.names);
  ExpectRejected(Concat(head, {"-s", "-n", "-v", "-o", "ro,cache_size=12Q"}), "cache_size");
  ExpectRejected(Concat(head, {"-o"}), "-o");
  ExpectRejected({"sh", helper, dir_.Path("urls.txt")}, "MOUNTPOINT");
  // Good options get as far as the mountpoint; -f (fake) mounts nothing and succeeds.
  ExpectAccepted({"sh", helper, dir_.Path("urls.txt"), Absent(), "-n", "-o",
                  "ro,nodev,cache_size=8M,block_size=16K,concurrency=none,timeout=2.5"},
                 2, "is not a directory");
  RunResult fake = RunProgram(Concat(head, {"-f", "-o", "ro"}));
  EXPECT_EQ(fake.exit_code, 0) << fake.err;
  EXPECT_FALSE(Mounted(mnt_));
}

TEST_F(CliOptions, GetAndGetmRejectEveryBadValue) {
  std::vector<Bad> getmfs = GetTable({"get"}, dir_.Path("out")), getm = GetTable({}, dir_.Path("out"));
  ExpectAllRejected(kGetmfs, getmfs);
  ExpectAllRejected(kGetm, getm);
  ExpectRejected({kGetmfs, "get", kUrl, ""}, "file");
  ExpectRejected({kGetm, kUrl, ""}, "file");
  EXPECT_EQ(commands_, static_cast<int>(getmfs.size() + getm.size() + 2));
}

TEST_F(CliOptions, ControlCommandsRejectEveryBadValue) {
  std::vector<Bad> t;
  AddValues(&t, {"reload", mnt_}, "--timeout", kNotSeconds);
  AddFlagValues(&t, {"unmount", mnt_}, {"--lazy"});
  AddFlagValues(&t, {"status", mnt_}, {"--json"});
  for (std::string command : {"unmount", "status", "reload"}) {
    t.push_back({{command, ""}, "mountpoint"});
    t.push_back({{command}, "mountpoint"});
  }
  ExpectAllRejected(kGetmfs, t);
}

TEST_F(CliOptions, HelpAndVersionExit0) {
  for (const auto& argv : std::vector<std::vector<std::string>>{{kGetmfs, "get", "--help"},
                                                               {kGetmfs, "mount", "--help"},
                                                               {kGetmfs, "reload", "--help"},
                                                               {kGetmfs, "--help"},
                                                               {kGetmfs, "--version"},
                                                               {kGetm, "--help"}}) {
    RunResult r = RunProgram(argv);
    EXPECT_EQ(r.exit_code, 0) << argv.back() << ": " << r.err;
    EXPECT_FALSE(r.out.empty());
  }
}

// Good mount values pass: the command goes on to the mountpoint, which does not exist.
TEST_F(CliOptions, MountAcceptsGoodValues) {
  const std::vector<std::vector<std::string>> good = {
      {"--concurrency", "none"}, {"--concurrency", "1"}, {"--concurrency", "16"}, {"--concurrency", "1024"},
      {"--workers", "1"}, {"--workers", "256"},
      {"--block-size", "4K"}, {"--block-size", "64K"}, {"--block-size", "8M"}, {"--block-size", "65536"},
      {"--cache-size", "64K", "--block-size", "4K"}, {"--cache-size", "8M"}, {"--cache-size", "1G"},
      {"--cache-size", "1GiB"}, {"--cache-size", "1024mb"},
      {"--max-readahead", "64K"}, {"--max-readahead", "1G"},
      {"--timeout", "0.5"}, {"--timeout", "300"}, {"--timeout", "31536000"}, {"--timeout", ".25"},
      {"--verify-random", "background"}, {"--verify-random", "OFF"}, {"--direct-io", "on"}, {"--direct-io", "off"},
      {"--uid", "0"}, {"--uid", "4294967294"}, {"--gid", "65534"},
      {"--file-mode", "0444"}, {"--file-mode", "644"}, {"--file-mode", "0"}, {"--dir-mode", "07777"},
      {"--log-file", dir_.Path("log")},
      {"--metrics-addr", "9100"}, {"--metrics-addr", ":9100"}, {"--metrics-addr", "localhost:9100"},
      {"--metrics-addr", "0.0.0.0:65535"}, {"-o", "metrics_addr=127.0.0.1:1"},
      {"-o", "ro,_netdev,nofail,noauto,x-systemd.automount,x-systemd.idle-timeout=60,comment=systemd.x"},
      {"-o", "ro,allow_other,cache_size=1G,block_size=16K,max_readahead=8M,concurrency=none"},
      {"-o", "workers=2,timeout=2.5,verify_random=background,direct_io=on,log_file=" + dir_.Path("log")},
  };
  for (const auto& args : good) {
    ExpectAccepted(Concat({kGetmfs, "mount", dir_.Path("urls.txt"), Absent()}, args), 2, "is not a directory");
  }
}

// Good get values pass: without a URL the command stops right after the parse and says so;
// with the URL it runs, and fails for the network (exit 7) within --timeout.
TEST_F(CliOptions, GetAndGetmAcceptGoodValues) {
  const std::vector<std::vector<std::string>> good = {
      {"--concurrency", "none"}, {"--concurrency", "1"}, {"--concurrency", "1024"}, {"--workers", "256"},
      {"--chunk-size", "64K"}, {"--chunk-size", "8M"}, {"--chunk-size", "1G"}, {"--chunk-size", "4096"},
      {"--cache-size", "64K"}, {"--cache-size", "8M"}, {"--cache-size", "1G"}, {"--s3-part-size", "1536K"},
      {"--s3-part-size", "5G"}, {"--timeout", "0.5"}, {"--timeout", "31536000"},
      {"--checksum-algorithm", "SHA256"}, {"--progress=true"}, {"--no-progress"}, {"-vv"}, {"-q"},
  };
  // getm's --concurrency counts files at once; getmfs's (range requests) is --requests there.
  auto as_getm = [](std::vector<std::string> args) {
    if (args[0] == "--concurrency") args[0] = "--requests";
    return args;
  };
  for (const auto& args : good) {
    ExpectAccepted(Concat({kGetmfs, "get"}, args), 2, "give one URL or --manifest");
    ExpectAccepted(Concat({kGetm}, as_getm(args)), 2, "give one URL or --manifest");
  }
  for (const char* files : {"1", "1024"}) ExpectAccepted({kGetm, "--concurrency", files}, 2, "give one URL or --manifest");
  for (const std::string& program : {std::string(kGetmfs), kGetm}) {
    for (const char* concurrency : {"none", "1", "16"}) {
      std::vector<std::string> argv = {program};
      if (program == kGetmfs) argv.push_back("get");
      argv = Concat(argv, {kUrl, "-O", dir_.Path("out"), program == kGetm ? "--requests" : "--concurrency", concurrency, "--timeout", "1",
                           "--chunk-size", "64K", "--cache-size", "8M"});
      ExpectAccepted(argv, 7, "127.0.0.1");
    }
  }
}

}  // namespace
}  // namespace getmfs::testing
