// The FUSE mount end to end, when things go wrong for a reader: every failure mode a reader
// can meet (corrupt bodies, expired or bad signatures, objects changed or gone, a server
// down, truncated, slow or stalled) is checked by the errno it sees, and every write by EROFS.
#include <gtest/gtest.h>

#include <cerrno>

#include "support/mount_fixture.h"

namespace getmfs::testing {
namespace {

// ---------------------------------------------------------------------------------------------
// Errors, by the errno the reader sees

TEST_F(MountTest, CorruptS3AndGcsBodiesFailWithEioNeverCleanEof) {
  origin_->Configure({{{"path", "/s3.bin"}, {"emulate", "s3"}, {"faults", {{{"type", "corrupt"}, {"offset", 1536 * 1024}}}}},
                      {{"path", "/gcs.bin"}, {"emulate", "gcs"}, {"faults", {{{"type", "corrupt"}, {"offset", 2 * kMiB + 2}}}}}});
  std::string manifest = origin_->Url("/s3.bin") + "\n" + origin_->Url("/gcs.bin") + "\n";
  ASSERT_NO_FATAL_FAILURE(Mount(manifest, {"--block-size", "64K"}, 5));
  for (const std::string name : {"s3.bin", "gcs.bin"}) {
    SCOPED_TRACE(name);
    RunResult cat = Bash("cat '" + Mp(name) + "' > /dev/null");
    EXPECT_NE(cat.exit_code, 0);
    EXPECT_TRUE(Contains(cat.err, "Input/output error")) << cat.err;
    EXPECT_EQ(Xattr(Mp(name), "user.getmfs.verified").value_or("?"), "failed");
    RunResult cp = RunProgram({"cp", Mp(name), tmp_.Path(name)});
    EXPECT_NE(cp.exit_code, 0);
    EXPECT_TRUE(Contains(cp.err, "Input/output error")) << cp.err;
    PyRead r = PythonRead(Mp(name));
    EXPECT_FALSE(r.ok) << r.raw;
    EXPECT_EQ(r.error_number, EIO) << r.raw;
  }
  RunResult status = RunProgram({kBinary, "status", mp_});
  EXPECT_TRUE(Contains(status.out, "failed")) << status.out;
}

TEST_F(MountTest, ExpiredSignatureGivesEkeyexpiredAndTellsToReload) {
  std::string expired = origin_->Presign("/big.bin", 60, "s3", "20200101T000000Z");
  std::string expired_gcs = origin_->Presign("/gcs.bin", 60, "gcs", "20200101T000000Z");
  std::string manifest = expired + " sized.bin size=" + std::to_string(6 * kMiB + 4321) + "\n" + expired +
                         " probed.bin\n" + expired_gcs + " gcs.bin size=" + std::to_string(2 * kMiB + 3) + "\n";
  ASSERT_NO_FATAL_FAILURE(Mount(manifest, {}, 5));
  for (const std::string name : {"sized.bin", "probed.bin", "gcs.bin"}) {
    PyRead r = PythonRead(Mp(name));
    EXPECT_EQ(r.error_number, EKEYEXPIRED) << name << ": " << r.raw;
    EXPECT_EQ(r.message, "Key has expired") << name;
  }
  RunResult cat = RunProgram({"cat", Mp("sized.bin")});
  EXPECT_NE(cat.exit_code, 0);
  EXPECT_TRUE(Contains(cat.err, "Key has expired")) << cat.err;
  std::string log = Log();
  EXPECT_TRUE(Contains(log, "expired")) << log;
  EXPECT_TRUE(Contains(log, "getmfs reload")) << log;
  EXPECT_TRUE(Contains(log, "refresh")) << log;
  EXPECT_FALSE(Contains(log, "X-Amz-Signature")) << log;
  EXPECT_FALSE(Contains(log, "X-Goog-Signature")) << log;
}

TEST_F(MountTest, BadSignatureGivesEacces) {
  std::string url = origin_->Presign("/big.bin", 600, "s3");
  ASSERT_FALSE(url.empty());
  url.back() = url.back() == '0' ? '1' : '0';   // the signature's last hex digit
  std::string manifest = url + " sized.bin size=" + std::to_string(6 * kMiB + 4321) + "\n" + url + " probed.bin\n";
  ASSERT_NO_FATAL_FAILURE(Mount(manifest, {}, 5));
  for (const std::string name : {"sized.bin", "probed.bin"}) {
    PyRead r = PythonRead(Mp(name));
    EXPECT_EQ(r.error_number, EACCES) << name << ": " << r.raw;
  }
  EXPECT_GE(origin_->PathStats("/big.bin")["statuses"].value("403", 0), 1);
}

TEST_F(MountTest, ObjectChangedAfterTheProbeGivesEstale) {
  origin_->Configure({{"path", "/fault.bin"}, {"emulate", "s3"}, {"faults", {{{"type", "change"}, {"after", 1}}}}});
  ASSERT_NO_FATAL_FAILURE(Mount(origin_->Url("/fault.bin") + "\n", {}, 5));
  // The probe (the first request) saw the old version.
  RunResult stat = RunProgram({"stat", "-c", "%s", Mp("fault.bin")});
  EXPECT_EQ(stat.out, std::to_string(2 * kMiB + 5) + "\n");
  PyRead r = PythonRead(Mp("fault.bin"));
  EXPECT_EQ(r.error_number, ESTALE) << r.raw;
  EXPECT_LT(r.seconds, 10);
  EXPECT_GE(origin_->PathStats("/fault.bin")["if_match"].get<int>(), 1);
}

TEST_F(MountTest, ObjectVanishedAfterTheProbeGivesEstale) {
  origin_->Configure({{"path", "/fault.bin"}, {"faults", {{{"type", "vanish"}, {"after", 1}}}}});
  ASSERT_NO_FATAL_FAILURE(Mount(origin_->Url("/fault.bin") + "\n", {}, 5));
  RunResult stat = RunProgram({"stat", "-c", "%s", Mp("fault.bin")});
  EXPECT_EQ(stat.out, std::to_string(2 * kMiB + 5) + "\n");
  PyRead r = PythonRead(Mp("fault.bin"));
  EXPECT_EQ(r.error_number, ESTALE) << r.raw;
  EXPECT_LT(r.seconds, 10);
}

TEST_F(MountTest, ServerDownGivesEioWithinTheTimeout) {
  auto origin = Origin::Start(data_->path());
  std::string manifest = origin->Url("/big.bin") + " big.bin size=" + std::to_string(6 * kMiB + 4321) + "\n";
  ASSERT_NO_FATAL_FAILURE(Mount(manifest, {}, 5));
  origin.reset();   // stops the server: connections are refused from now on
  PyRead r = PythonRead(Mp("big.bin"), 60);
  EXPECT_EQ(r.error_number, EIO) << r.raw;
  // The kernel re-issues a failed read-ahead as a plain read, and each FUSE read gets the
  // whole --timeout again: up to twice the timeout (reported; ideally within one).
  EXPECT_LE(r.seconds, 2 * 5 + 2) << "the read must fail within the timeout, not hang";
}

TEST_F(MountTest, TruncatedBodiesEndInEioOrEtimedoutWithinTwiceTheTimeout) {
  origin_->Configure({{"path", "/fault.bin"}, {"faults", {{{"type", "short"}, {"after_bytes", 1000}}}}});
  std::string manifest = origin_->Url("/fault.bin") + " fault.bin size=" + std::to_string(2 * kMiB + 5) + "\n";
  ASSERT_NO_FATAL_FAILURE(Mount(manifest, {}, 5));
  PyRead r = PythonRead(Mp("fault.bin"), 60);
  EXPECT_FALSE(r.ok) << r.raw;
  EXPECT_TRUE(r.error_number == EIO || r.error_number == ETIMEDOUT) << r.raw;
  EXPECT_LE(r.seconds, 2 * 5 + 2) << r.raw;
  EXPECT_GE(origin_->PathStats("/fault.bin")["requests"].get<int>(), 2) << "no retry was made";
}

TEST_F(MountTest, SlowServerPastTheTimeoutGivesEtimedout) {
  origin_->Configure({{"path", "/fault.bin"}, {"faults", {{{"type", "delay"}, {"seconds", 30}, {"after", 1}}}}});
  ASSERT_NO_FATAL_FAILURE(Mount(origin_->Url("/fault.bin") + "\n", {}, 4));
  RunResult stat = RunProgram({"stat", "-c", "%s", Mp("fault.bin")});   // the probe was quick
  EXPECT_EQ(stat.out, std::to_string(2 * kMiB + 5) + "\n");
  PyRead r = PythonRead(Mp("fault.bin"), 60);
  EXPECT_EQ(r.error_number, ETIMEDOUT) << r.raw;
  EXPECT_GE(r.seconds, 2) << r.raw;
  EXPECT_LE(r.seconds, 2 * 4 + 2) << r.raw;
}

TEST_F(MountTest, AStalledResponseMovesToAnotherConnectionInsteadOfHoldingTheReader) {
  // The fifth range request gets 64 KiB and then nothing for 25 s: a server stuck in the
  // middle of a response. The reader must not wait for it (nor for the 30 s low-speed
  // timeout): the rest of that request moves to another connection.
  auto [r, status] = ReadStallBin({{"type", "stall"}, {"after_bytes", 65536}, {"seconds", 25}, {"after", 4}, {"times", 1}});
  EXPECT_LT(r.seconds, 10) << "the reader waited for the stalled response";
  EXPECT_GE(status["workers"]["stalls_restarted"].get<int>(), 1) << status.dump();
  EXPECT_GE(origin_->PathStats("/stall.bin")["requests"].get<int>(), 6);
}

TEST_F(MountTest, ASlowFirstByteIsNotAStall) {
  // Far away, a response's first byte can take a while; that is not a stall, and moving the
  // request would only throw its connection away and start over.
  auto [r, status] = ReadStallBin({{"type", "delay"}, {"seconds", 0.4}, {"after", 4}, {"times", 3}});
  EXPECT_EQ(status["workers"]["stalls_restarted"].get<int>(), 0) << status.dump();
  // No request was sent twice: the origin saw the pool's requests and the probe (for the ETag).
  EXPECT_EQ(origin_->PathStats("/stall.bin")["requests"].get<int>(), status["workers"]["requests"].get<int>() + 1)
      << status.dump() << origin_->PathStats("/stall.bin").dump();
}

// ---------------------------------------------------------------------------------------------
// Read-only

TEST_F(MountTest, EveryWriteFailsWithErofsAndChangesNothing) {
  std::string manifest = origin_->Url("/tree/sub/b.bin") + " dir/b.bin\n" + origin_->Url("/tree/sub/deep/c.txt") + " c.txt\n";
  ASSERT_NO_FATAL_FAILURE(Mount(manifest));
  RunResult before = Bash("cd '" + mp_ + "' && ls -lR && md5sum dir/b.bin c.txt");
  ASSERT_EQ(before.exit_code, 0) << before.err;
  // The shell's view: each command fails and says why.
  std::vector<std::string> commands = {"touch new.txt", "touch c.txt", "echo x > c.txt", "echo x >> c.txt",
                                       "mkdir newdir", "rm -f c.txt", "rmdir dir", "mv c.txt d.txt",
                                       "setfattr -n user.x -v 1 c.txt", "ln -s c.txt link", "chmod 0777 c.txt",
                                       "truncate -s 0 c.txt"};
  for (const auto& command : commands) {
    RunResult r = Bash("cd '" + mp_ + "' && " + command);
    EXPECT_NE(r.exit_code, 0) << command;
    EXPECT_TRUE(Contains(r.err, "Read-only file system")) << command << ": " << r.err;
  }
  // The system calls' view: EROFS each time.
  static const char* kScript = R"PY(
import os, sys
os.chdir(sys.argv[1])
ops = {
  "open_w": lambda: os.open("c.txt", os.O_WRONLY),
  "open_rw": lambda: os.open("c.txt", os.O_RDWR),
  "open_trunc": lambda: os.open("c.txt", os.O_RDONLY | os.O_TRUNC),
  "create": lambda: os.open("n.txt", os.O_WRONLY | os.O_CREAT, 0o644),
  "mkdir": lambda: os.mkdir("d2"),
  "unlink": lambda: os.unlink("c.txt"),
  "rmdir": lambda: os.rmdir("dir"),
  "rename": lambda: os.rename("c.txt", "dir/c.txt"),
  "setxattr": lambda: os.setxattr("c.txt", "user.getmfs.verified", b"verified"),
  "removexattr": lambda: os.removexattr("c.txt", "user.getmfs.url"),
  "chmod": lambda: os.chmod("c.txt", 0o666),
  "utime": lambda: os.utime("c.txt", (0, 0)),
  "truncate": lambda: os.truncate("c.txt", 0),
  "symlink": lambda: os.symlink("c.txt", "l"),
  "link": lambda: os.link("c.txt", "h"),
  "mknod": lambda: os.mkfifo("fifo"),
}
for name, op in ops.items():
    try:
        op()
        print(name, "SUCCEEDED")
    except OSError as e:
        print(name, e.errno)
)PY";
  RunResult py = RunProgram({"python3", "-c", kScript, mp_});
  ASSERT_EQ(py.exit_code, 0) << py.err;
  auto lines = Lines(py.out);
  EXPECT_EQ(lines.size(), 16u) << py.out;
  for (const auto& line : lines) {
    auto f = Fields(line);
    ASSERT_EQ(f.size(), 2u) << line;
    EXPECT_EQ(f[1], std::to_string(EROFS)) << f[0];
  }
  RunResult after = Bash("cd '" + mp_ + "' && ls -lR && md5sum dir/b.bin c.txt");
  EXPECT_EQ(after.out, before.out);
  EXPECT_EQ(Xattr(Mp("c.txt"), "user.getmfs.url").value_or("?"), origin_->Url("/tree/sub/deep/c.txt"));
}

}  // namespace
}  // namespace getmfs::testing
