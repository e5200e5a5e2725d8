// `--direct-io on`: objects open with FOPEN_DIRECT_IO, so every read() reaches the daemon and
// is answered into the reader's buffer. What must still hold: the right bytes for any read
// size and offset, re-reads served by the block cache (not refetched), MAP_PRIVATE mmap, a
// clear ENODEV for MAP_SHARED (libfuse 3.14 cannot ask for FUSE_DIRECT_IO_ALLOW_MMAP), and
// EIO, never a clean end of file, for a corrupted object.
#include <gtest/gtest.h>

#include "support/mount_fixture.h"

namespace getmfs::testing {
namespace {

nlohmann::json StatusJson(const std::string& mp) {
  RunResult status = RunProgram({kBinary, "status", mp, "--json"});
  EXPECT_EQ(status.exit_code, 0) << status.err;
  return nlohmann::json::parse(status.out, nullptr, /*allow_exceptions=*/false);
}

std::uint64_t CacheHits(const std::string& mp) {
  nlohmann::json status = StatusJson(mp);
  const nlohmann::json* hits = nullptr;
  if (status.contains("engine") && status["engine"].contains("cache")) hits = &status["engine"]["cache"]["hits"];
  if (status.contains("cache")) hits = &status["cache"]["hits"];
  EXPECT_NE(hits, nullptr) << status.dump();
  return hits ? hits->get<std::uint64_t>() : 0;
}

TEST_F(MountTest, DirectIoReadsTheRightBytesAtEveryReadSize) {
  ASSERT_NO_FATAL_FAILURE(Mount(origin_->Url("/big.bin") + "\n", {"--direct-io", "on", "--block-size", "16K"}));
  const std::string want = FileMd5Hex(Src("big.bin"));
  for (const std::string bs : {"1M", "128k", "4k", "1000"}) {
    RunResult dd = Bash("dd if='" + Mp("big.bin") + "' bs=" + bs + " status=none | md5sum");
    ASSERT_EQ(dd.exit_code, 0) << bs << ": " << dd.err;
    EXPECT_EQ(Fields(dd.out).at(0), want) << "dd bs=" << bs;
  }
  static const char* kScript = R"PY(
import random, sys
mounted, source = sys.argv[1], sys.argv[2]
src = open(source, 'rb').read()
rng = random.Random(11)
bad = 0
with open(mounted, 'rb', buffering=0) as f:
    for i in range(300):
        off = rng.randrange(0, len(src) + 1000)
        n = rng.choice([1, 7, 4096, 65536, 100000, 3 << 20])
        f.seek(off)
        got = f.read(n)
        if got != src[off:off + n]:
            bad += 1
            print("mismatch at", off, n, len(got))
print("BAD", bad)
)PY";
  RunResult r = RunProgram({"python3", "-c", kScript, Mp("big.bin"), Src("big.bin")}, {}, 120);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Contains(r.out, "BAD 0\n")) << r.out << r.err;
  EXPECT_EQ(Xattr(Mp("big.bin"), "user.getmfs.verified").value_or("?"), "unverified");
}

// Without the page cache a re-read reaches the daemon, which serves it from the block cache:
// the origin sees no second fetch, and the cache counts the hits. (With the default mode the
// kernel keeps the pages and the daemon sees nothing of the second read.)
TEST_F(MountTest, DirectIoRereadsComeFromTheBlockCacheNotTheOrigin) {
  for (const std::string mode : {"on", "off"}) {
    SCOPED_TRACE("--direct-io " + mode);
    origin_->Reset();
    ASSERT_NO_FATAL_FAILURE(Mount(origin_->Url("/big.bin") + "\n", {"--direct-io", mode, "--cache-size", "64M"}));
    RunResult first = Bash("cat '" + Mp("big.bin") + "' | md5sum");
    ASSERT_EQ(first.exit_code, 0) << first.err;
    EXPECT_EQ(Fields(first.out).at(0), FileMd5Hex(Src("big.bin")));
    std::uint64_t fetched = origin_->PathStats("/big.bin")["body_bytes"].get<std::uint64_t>();
    std::uint64_t hits = CacheHits(mp_);
    RunResult second = Bash("cat '" + Mp("big.bin") + "' | md5sum");
    ASSERT_EQ(second.exit_code, 0) << second.err;
    EXPECT_EQ(Fields(second.out).at(0), FileMd5Hex(Src("big.bin")));
    EXPECT_EQ(origin_->PathStats("/big.bin")["body_bytes"].get<std::uint64_t>(), fetched);
    std::uint64_t blocks = (6 * kMiB + 4321 + 65535) / 65536;
    if (mode == "on") {
      EXPECT_GE(CacheHits(mp_), hits + blocks) << "each block of the second read was served by the cache";
    } else {
      EXPECT_LT(CacheHits(mp_), hits + blocks / 2) << "the page cache served the second read";
    }
    RunResult unmount = RunProgram({kBinary, "unmount", mp_}, {}, 30);
    ASSERT_EQ(unmount.exit_code, 0) << unmount.err;
  }
}

TEST_F(MountTest, DirectIoMapPrivateWorksAndMapSharedSaysEnodev) {
  ASSERT_NO_FATAL_FAILURE(Mount(origin_->Url("/big.bin") + "\n", {"--direct-io", "on"}));
  static const char* kScript = R"PY(
import errno, mmap, sys
mounted, source = sys.argv[1], sys.argv[2]
src = open(source, 'rb').read()
with open(mounted, 'rb') as f:
    m = mmap.mmap(f.fileno(), 0, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ)
    print("PRIVATE", "ok" if m[:] == src else "mismatch")
    m.close()
    try:
        mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        print("SHARED mapped")
    except OSError as e:
        print("SHARED", errno.errorcode.get(e.errno, e.errno))
)PY";
  RunResult r = RunProgram({"python3", "-c", kScript, Mp("big.bin"), Src("big.bin")}, {}, 60);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Contains(r.out, "PRIVATE ok\n")) << r.out << r.err;
  EXPECT_TRUE(Contains(r.out, "SHARED ENODEV\n")) << r.out << r.err;
}

TEST_F(MountTest, DirectIoCorruptObjectEndsInEioNeverCleanEof) {
  origin_->Configure({{"path", "/gcs.bin"}, {"emulate", "gcs"}, {"faults", {{{"type", "corrupt"}, {"offset", 2 * kMiB + 2}}}}});
  ASSERT_NO_FATAL_FAILURE(Mount(origin_->Url("/gcs.bin") + "\n", {"--direct-io", "on"}, 5));
  RunResult cat = Bash("cat '" + Mp("gcs.bin") + "' > /dev/null");
  EXPECT_NE(cat.exit_code, 0);
  EXPECT_TRUE(Contains(cat.err, "Input/output error")) << cat.err;
  EXPECT_EQ(Xattr(Mp("gcs.bin"), "user.getmfs.verified").value_or("?"), "failed");
  PyRead again = PythonRead(Mp("gcs.bin"));
  EXPECT_FALSE(again.ok) << again.raw;
  EXPECT_EQ(again.error_number, EIO) << again.raw;
}

}  // namespace
}  // namespace getmfs::testing
