// The FUSE mount end to end: the real `getmfs` binary mounts a manifest of URLs served by the
// test origin (or nginx), and real programs (cat, md5sum, cp, dd, tar, python3, getfattr)
// read it: the bytes they get, sizes and names as ls and stat show them, and the xattrs.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support/mount_fixture.h"
#include "support/nginx.h"

namespace getmfs::testing {
namespace {

// ---------------------------------------------------------------------------------------------
// Reading with real programs

TEST_F(MountTest, CatAndMd5sumOfLargeFileWithSmallBlocks) {
  ASSERT_NO_FATAL_FAILURE(Mount(origin_->Url("/big.bin") + "\n", {"--block-size", "16K", "--max-readahead", "256K"}));
  RunResult md5 = RunProgram({"md5sum", Mp("big.bin")});
  ASSERT_EQ(md5.exit_code, 0) << md5.err;
  EXPECT_EQ(Fields(md5.out).at(0), FileMd5Hex(Src("big.bin")));
  RunResult cat = Bash("cat '" + Mp("big.bin") + "' > '" + tmp_.Path("out.bin") + "'");
  ASSERT_EQ(cat.exit_code, 0) << cat.err;
  EXPECT_EQ(ReadFile(tmp_.Path("out.bin")), ReadFile(Src("big.bin")));
  // Small blocks and a small read-ahead window: many range requests, none for the whole object.
  auto stats = origin_->PathStats("/big.bin");
  EXPECT_GE(stats["range_requests"].get<int>(), 20) << stats.dump();
  EXPECT_EQ(stats["status_200"].get<int>(), 0) << stats.dump();
  EXPECT_EQ(Xattr(Mp("big.bin"), "user.getmfs.verified").value_or("?"), "unverified");
}

TEST_F(MountTest, EveryConcurrencyModeReadsTheSameBytes) {
  origin_->Configure({{"path", "/s3.bin"}, {"emulate", "s3"}});
  for (const std::string mode : {"none", "1", "4"}) {
    SCOPED_TRACE("--concurrency " + mode);
    ASSERT_NO_FATAL_FAILURE(Mount(origin_->Url("/s3.bin") + "\n" + origin_->Url("/big.bin") + "\n",
                                  {"--concurrency", mode, "--block-size", "16K", "--max-readahead", "512K"}));
    RunResult md5 = RunProgram({"md5sum", Mp("s3.bin"), Mp("big.bin")});
    ASSERT_EQ(md5.exit_code, 0) << md5.err;
    auto lines = Lines(md5.out);
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(Fields(lines[0])[0], FileMd5Hex(Src("s3.bin")));
    EXPECT_EQ(Fields(lines[1])[0], FileMd5Hex(Src("big.bin")));
    EXPECT_EQ(Xattr(Mp("s3.bin"), "user.getmfs.verified").value_or("?"), "verified");
    RunResult unmount = RunProgram({kBinary, "unmount", mp_}, {}, 30);
    ASSERT_EQ(unmount.exit_code, 0) << unmount.err;
  }
}

TEST_F(MountTest, CopiesADirectoryTreeFromManifestPaths) {
  std::string manifest = "# a tree whose PATHs differ from the URLs\n\n" +
                         origin_->Url("/tree/a.bin") + " dataset/a.bin\n" +
                         origin_->Url("/tree/d.bin") + " dataset/d.bin size=" + std::to_string(2 * kMiB) + "\n" +
                         origin_->Url("/tree/sub/b.bin") + " dataset/sub/b.bin\n" +
                         origin_->Url("/tree/sub/deep/c.txt") + " dataset/sub/deep/c.txt   # a comment\n";
  ASSERT_NO_FATAL_FAILURE(Mount(manifest, {"--block-size", "32K", "--max-readahead", "512K"}));
  RunResult cp = RunProgram({"cp", "-r", Mp("dataset"), tmp_.Path("copy")});
  ASSERT_EQ(cp.exit_code, 0) << cp.err;
  RunResult diff = RunProgram({"diff", "-r", Src("tree"), tmp_.Path("copy")});
  EXPECT_EQ(diff.exit_code, 0) << diff.out << diff.err;
  RunResult find = Bash("cd '" + tmp_.Path("copy") + "' && find . -type f | sort");
  EXPECT_EQ(find.out, "./a.bin\n./d.bin\n./sub/b.bin\n./sub/deep/c.txt\n");
}

TEST_F(MountTest, DdAtOffsetsReturnsTheSourceBytes) {
  ASSERT_NO_FATAL_FAILURE(Mount(origin_->Url("/big.bin") + " big.bin\n", {"--block-size", "16K", "--max-readahead", "1M"}));
  const std::string source = ReadFile(Src("big.bin"));
  struct Case {
    std::string bs;
    std::uint64_t unit, skip, count;
  };
  // Out of order on purpose: random access first, then sequential, then the tail and past it.
  std::vector<Case> cases = {{"4k", 4096, 1000, 3},   {"4k", 4096, 7, 1},      {"4k", 4096, 0, 5},
                             {"1M", kMiB, 2, 2},       {"1M", kMiB, 5, 3},      {"4k", 4096, 1535, 10},
                             {"4k", 4096, 1537, 1},    {"1M", kMiB, 0, 1},      {"4k", 4096, 3001, 17},
                             {"1M", kMiB, 9, 1}};
  for (const auto& c : cases) {
    std::string out = tmp_.Path("dd.out");
    RunResult dd = RunProgram({"dd", "if=" + Mp("big.bin"), "of=" + out, "bs=" + c.bs, "skip=" + std::to_string(c.skip),
                               "count=" + std::to_string(c.count), "status=none"});
    ASSERT_EQ(dd.exit_code, 0) << "bs=" << c.bs << " skip=" << c.skip << ": " << dd.err;
    std::string got = ReadFile(out);
    std::string want = Slice(source, c.skip * c.unit, c.count * c.unit);
    EXPECT_EQ(got.size(), want.size()) << "bs=" << c.bs << " skip=" << c.skip << " count=" << c.count;
    EXPECT_TRUE(got == want) << "bytes differ: bs=" << c.bs << " skip=" << c.skip << " count=" << c.count;
  }
}

TEST_F(MountTest, TarOfTheTreeExtractsToTheSameFiles) {
  std::string manifest = origin_->Url("/tree/a.bin") + " tree/a.bin\n" + origin_->Url("/tree/d.bin") + " tree/d.bin\n" +
                         origin_->Url("/tree/sub/b.bin") + " tree/sub/b.bin\n" + origin_->Url("/tree/sub/deep/c.txt") +
                         " tree/sub/deep/c.txt\n";
  ASSERT_NO_FATAL_FAILURE(Mount(manifest));
  RunResult tar = Bash("tar cf '" + tmp_.Path("t.tar") + "' -C '" + mp_ + "' tree");
  ASSERT_EQ(tar.exit_code, 0) << tar.err;
  RunResult list = Bash("tar tf '" + tmp_.Path("t.tar") + "' | sort");
  EXPECT_EQ(list.out,
            "tree/\ntree/a.bin\ntree/d.bin\ntree/sub/\ntree/sub/b.bin\ntree/sub/deep/\ntree/sub/deep/c.txt\n");
  ASSERT_EQ(mkdir(tmp_.Path("x").c_str(), 0755), 0);
  RunResult x = RunProgram({"tar", "xf", tmp_.Path("t.tar"), "-C", tmp_.Path("x")});
  ASSERT_EQ(x.exit_code, 0) << x.err;
  RunResult diff = RunProgram({"diff", "-r", Src("tree"), tmp_.Path("x/tree")});
  EXPECT_EQ(diff.exit_code, 0) << diff.out << diff.err;
}

TEST_F(MountTest, PythonMmapAndRandomSeeksMatchTheSource) {
  ASSERT_NO_FATAL_FAILURE(Mount(origin_->Url("/big.bin") + "\n", {"--block-size", "16K"}));
  static const char* kScript = R"PY(
import mmap, random, sys
mounted, source = sys.argv[1], sys.argv[2]
src = open(source, 'rb').read()
rng = random.Random(7)
bad = 0
with open(mounted, 'rb') as f:
    for i in range(300):
        off = rng.randrange(0, len(src) + 1000)
        n = rng.choice([1, 7, 4096, 65536, 100000, 1 << 20])
        f.seek(off)
        got = f.read(n)
        if got != src[off:off + n]:
            bad += 1
            print("seek/read mismatch at", off, n, len(got))
with open(mounted, 'rb') as f:
    m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    if len(m) != len(src):
        print("mmap length", len(m), "!=", len(src)); bad += 1
    for i in range(200):
        off = rng.randrange(0, len(src))
        n = rng.choice([1, 4096, 12345, 300000])
        if m[off:off + n] != src[off:off + n]:
            bad += 1
            print("mmap mismatch at", off, n)
    if m[:] != src:
        print("mmap whole mismatch"); bad += 1
    m.close()
print("BAD", bad)
)PY";
  RunResult r = RunProgram({"python3", "-c", kScript, Mp("big.bin"), Src("big.bin")}, {}, 120);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Contains(r.out, "BAD 0\n")) << r.out << r.err;
}

TEST_F(MountTest, EightConcurrentReadersOfTheSameAndDifferentFiles) {
  std::string manifest = origin_->Url("/big.bin") + "\n" + origin_->Url("/tree/a.bin") + " a.bin\n" +
                         origin_->Url("/tree/d.bin") + " d.bin\n" + origin_->Url("/keep.bin") + "\n" +
                         origin_->Url("/s3.bin") + "\n";
  origin_->Configure({{"path", "/s3.bin"}, {"emulate", "s3"}});
  ASSERT_NO_FATAL_FAILURE(Mount(manifest, {"--block-size", "32K", "--max-readahead", "2M", "--cache-size", "16M"}));
  std::vector<std::string> files = {"big.bin", "big.bin", "big.bin", "a.bin", "d.bin", "keep.bin", "s3.bin", "s3.bin"};
  std::map<std::string, std::string> sources = {{"big.bin", "big.bin"}, {"a.bin", "tree/a.bin"},
                                                {"d.bin", "tree/d.bin"}, {"keep.bin", "keep.bin"},
                                                {"s3.bin", "s3.bin"}};
  std::string script = "cd '" + mp_ + "' || exit 9\n";
  for (std::size_t i = 0; i < files.size(); ++i) script += "md5sum " + files[i] + " > '" + tmp_.Path("m" + std::to_string(i)) + "' &\n";
  script += "fail=0; for j in $(jobs -p); do wait $j || fail=1; done; exit $fail\n";
  RunResult r = Bash(script, 120);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (std::size_t i = 0; i < files.size(); ++i) {
    auto f = Fields(ReadFile(tmp_.Path("m" + std::to_string(i))));
    ASSERT_EQ(f.size(), 2u) << i;
    EXPECT_EQ(f[0], FileMd5Hex(Src(sources[files[i]]))) << files[i] << " (reader " << i << ")";
  }
  EXPECT_EQ(Xattr(Mp("s3.bin"), "user.getmfs.verified").value_or("?"), "verified");
}

TEST_F(MountTest, FileLargerThanTheCacheIsReadAndVerified) {
  origin_->Configure({{"path", "/huge.bin"}, {"emulate", "s3"}});
  ASSERT_NO_FATAL_FAILURE(Mount(origin_->Url("/huge.bin") + "\n", {"--cache-size", "4M", "--block-size", "64K"}));
  std::string want = FileMd5Hex(Src("huge.bin"));
  RunResult md5 = RunProgram({"md5sum", Mp("huge.bin")}, {}, 120);
  ASSERT_EQ(md5.exit_code, 0) << md5.err;
  EXPECT_EQ(Fields(md5.out).at(0), want);
  EXPECT_EQ(Xattr(Mp("huge.bin"), "user.getmfs.verified").value_or("?"), "verified");
  // A second reader (the page cache may or may not hold it; the block cache cannot).
  PyRead again = PythonRead(Mp("huge.bin"));
  EXPECT_TRUE(again.ok) << again.raw;
  EXPECT_EQ(again.md5, want);
  // Bounded memory: the cache never claims more than --cache-size.
  RunResult status = RunProgram({kBinary, "status", mp_, "--json"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  auto json = nlohmann::json::parse(status.out);
  EXPECT_LE(json["cache"]["capacity"].get<std::uint64_t>(), 4 * kMiB);
  EXPECT_LE(json["cache"]["used"].get<std::uint64_t>(), 4 * kMiB);
  EXPECT_GT(json["cache"]["evictions"].get<std::uint64_t>(), 0u);
}

TEST_F(MountTest, ReadAheadLargerThanTheCacheDoesNotThrash) {
  // A read-ahead window larger than the cache would push out prefetched blocks before the
  // reader gets to them, fetching the file several times over.
  ASSERT_NO_FATAL_FAILURE(Mount(origin_->Url("/huge.bin") + "\n",
                                {"--cache-size", "4M", "--block-size", "64K", "--max-readahead", "64M"}));
  RunResult md5 = RunProgram({"md5sum", Mp("huge.bin")}, {}, 120);
  ASSERT_EQ(md5.exit_code, 0) << md5.err;
  EXPECT_EQ(Fields(md5.out).at(0), FileMd5Hex(Src("huge.bin")));
  RunResult status = RunProgram({kBinary, "status", mp_, "--json"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  auto files = nlohmann::json::parse(status.out)["files"];
  ASSERT_EQ(files.size(), 1u);
  std::uint64_t size = files[0]["size"].get<std::uint64_t>();
  EXPECT_LE(files[0]["bytes_fetched"].get<std::uint64_t>(), size + size / 4) << status.out;
}

TEST_F(MountTest, LsShowsSizesFromTheManifestAndFromProbing) {
  std::string manifest = origin_->Url("/big.bin") + " given/big.bin size=" + std::to_string(6 * kMiB + 4321) + "\n" +
                         origin_->Url("/tree/sub/b.bin") + " probed/b.bin\n" + origin_->Url("/tree/sub/deep/c.txt") +
                         " probed/deeper/c.txt\n" + origin_->Url("/gcs.bin") + "\n";
  ASSERT_NO_FATAL_FAILURE(Mount(manifest));
  RunResult ls = RunProgram({"ls", "-lR", mp_});
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  std::map<std::string, std::string> sizes;   // name -> size column
  for (const auto& line : Lines(ls.out)) {
    auto f = Fields(line);
    if (f.size() >= 9 && f[0].size() == 10 && f[0][0] == '-') sizes[f.back()] = f[4];
  }
  EXPECT_EQ(sizes["big.bin"], std::to_string(6 * kMiB + 4321)) << ls.out;
  EXPECT_EQ(sizes["b.bin"], "300000") << ls.out;
  EXPECT_EQ(sizes["c.txt"], "10") << ls.out;
  EXPECT_EQ(sizes["gcs.bin"], std::to_string(2 * kMiB + 3)) << ls.out;
  EXPECT_EQ(sizes.size(), 4u) << ls.out;
  EXPECT_FALSE(Contains(ls.out, ".getmfs-status")) << "the status file must stay hidden:\n" << ls.out;
  RunResult stat = RunProgram({"stat", "-c", "%s %F %A", Mp("probed/deeper/c.txt"), Mp("probed")});
  EXPECT_EQ(stat.out, "10 regular file -r--r--r--\n0 directory dr-xr-xr-x\n") << stat.err;
}

TEST_F(MountTest, EmptyObjectsAndPercentEncodedNames) {
  origin_->Configure({{"path", "/empty.bin"}, {"emulate", "gcs"}});
  std::string manifest = origin_->Url("/empty.bin") + " probed-empty.bin\n" + origin_->Url("/empty.bin") +
                         " sized-empty.bin size=0\n" + origin_->Url("/names/hello%20world.bin") + "\n";
  ASSERT_NO_FATAL_FAILURE(Mount(manifest));
  RunResult stat = RunProgram({"stat", "-c", "%s %n", Mp("probed-empty.bin"), Mp("sized-empty.bin"),
                               Mp("hello world.bin")});
  EXPECT_EQ(stat.out, "0 " + Mp("probed-empty.bin") + "\n0 " + Mp("sized-empty.bin") + "\n4321 " +
                          Mp("hello world.bin") + "\n")
      << stat.err;
  for (const std::string name : {"probed-empty.bin", "sized-empty.bin"}) {
    PyRead r = PythonRead(Mp(name));
    EXPECT_TRUE(r.ok) << name << ": " << r.raw;
    EXPECT_EQ(r.md5, Md5Hex("")) << name;
  }
  PyRead named = PythonRead(Mp("hello world.bin"));
  EXPECT_EQ(named.md5, FileMd5Hex(Src("names/hello world.bin"))) << named.raw;
}

TEST_F(MountTest, XattrsShowChecksumVerdictAndRedactedUrl) {
  origin_->Configure({{{"path", "/s3.bin"}, {"emulate", "s3"}}, {{"path", "/gcs.bin"}, {"emulate", "gcs"}}});
  std::string presigned = origin_->Presign("/s3.bin", 600, "s3");
  ASSERT_TRUE(Contains(presigned, "X-Amz-Signature=")) << presigned;
  std::string manifest = presigned + " s3.bin\n" + origin_->Url("/gcs.bin") + "\n";
  ASSERT_NO_FATAL_FAILURE(Mount(manifest));
  std::string s3 = Mp("s3.bin"), gcs = Mp("gcs.bin");
  EXPECT_EQ(Xattr(s3, "user.getmfs.verified").value_or("?"), "pending");
  EXPECT_EQ(Xattr(s3, "user.getmfs.url").value_or("?"), origin_->Url("/s3.bin"));
  PyRead r = PythonRead(s3);
  ASSERT_TRUE(r.ok) << r.raw;
  EXPECT_EQ(r.md5, FileMd5Hex(Src("s3.bin")));
  EXPECT_EQ(Xattr(s3, "user.getmfs.verified").value_or("?"), "verified");
  std::string checksum = Xattr(s3, "user.getmfs.checksum").value_or("?");
  EXPECT_TRUE(Contains(checksum, FileMd5Hex(Src("s3.bin")))) << checksum;
  PyRead g = PythonRead(gcs);
  ASSERT_TRUE(g.ok) << g.raw;
  EXPECT_EQ(Xattr(gcs, "user.getmfs.verified").value_or("?"), "verified");
  EXPECT_TRUE(Contains(Xattr(gcs, "user.getmfs.checksum").value_or("?"), "crc32c"));
  // getfattr lists the same attributes, and no signature anywhere.
  RunResult dump = RunProgram({"getfattr", "-d", "-m", "^user\\.", s3});
  ASSERT_EQ(dump.exit_code, 0) << dump.err;
  EXPECT_TRUE(Contains(dump.out, "user.getmfs.checksum=")) << dump.out;
  EXPECT_TRUE(Contains(dump.out, "user.getmfs.verified=\"verified\"")) << dump.out;
  EXPECT_TRUE(Contains(dump.out, "user.getmfs.url=\"" + origin_->Url("/s3.bin") + "\"")) << dump.out;
  EXPECT_FALSE(Contains(dump.out, "X-Amz")) << dump.out;
  EXPECT_FALSE(Contains(Log(), "X-Amz-Signature")) << "a query string reached the log";
  // The root answers the daemon's pid.
  pid_t pid = DaemonPid();
  EXPECT_GT(pid, 1);
  EXPECT_EQ(kill(pid, 0), 0);
  EXPECT_EQ(Xattr(s3, "user.getmfs.nonexistent"), std::nullopt);
}

// ---------------------------------------------------------------------------------------------
// A real web server

TEST_F(MountTest, FileServedByNginx) {
  auto nginx = Nginx::Start(data_->path());
  std::string manifest = nginx->Url("/big.bin") + "\n" + nginx->Url("/tree/sub/b.bin") + " b.bin\n";
  ASSERT_NO_FATAL_FAILURE(Mount(manifest, {"--block-size", "32K", "--max-readahead", "1M"}));
  RunResult md5 = RunProgram({"md5sum", Mp("big.bin"), Mp("b.bin")});
  ASSERT_EQ(md5.exit_code, 0) << md5.err;
  auto lines = Lines(md5.out);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(Fields(lines[0])[0], FileMd5Hex(Src("big.bin")));
  EXPECT_EQ(Fields(lines[1])[0], FileMd5Hex(Src("tree/sub/b.bin")));
  RunResult stat = RunProgram({"stat", "-c", "%s", Mp("big.bin")});
  EXPECT_EQ(stat.out, std::to_string(6 * kMiB + 4321) + "\n");
}

}  // namespace
}  // namespace getmfs::testing
