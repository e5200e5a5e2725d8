// Real readers and servers that bend HTTP, through a real mount: samtools region queries on
// an indexed BAM, tail, Python's zipfile, sqlite3, tar, sha256sum and cp, on objects with a
// known checksum. Readers that seek fetch about what they read (the verdict waits: the file
// is "partial"); readers of whole files get the verdict (EIO on a mismatch). Servers that
// label wider ranges than asked, or ignore Range, still give the right bytes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/mount_fixture.h"

namespace getmfs::testing {
namespace {

constexpr std::uint64_t kGiB = std::uint64_t{1} << 30;

// Test data made with the real programs, once for the suite.
class RealReadersTest : public MountTest {
 protected:
  static void SetUpTestSuite() {
    MountTest::SetUpTestSuite();
    MakeBam();
    RunResult zip = Bash(
        "cd '" + data_->path() + "' && python3 - <<'PY'\n"
        "import os, random, zipfile\n"
        "random.seed(5)\n"
        "with zipfile.ZipFile('archive.zip', 'w', zipfile.ZIP_STORED) as z:\n"
        "    for i in range(24):\n"
        "        z.writestr('member%02d.bin' % i, random.randbytes(1 << 20))\n"
        "PY",
        120);
    ASSERT_EQ(zip.exit_code, 0) << zip.err;
    RunResult db = Bash("cd '" + data_->path() + "' && python3 - <<'PY'\n"
                        "import random, sqlite3\n"
                        "random.seed(6)\n"
                        "c = sqlite3.connect('table.db')\n"
                        "c.execute('create table t (id integer primary key, payload blob)')\n"
                        "c.executemany('insert into t values (?, ?)', ((i, random.randbytes(200)) for i in range(60000)))\n"
                        "c.commit()\n"
                        "PY",
                        120);
    ASSERT_EQ(db.exit_code, 0) << db.err;
    RunResult tar = Bash("cd '" + data_->path() + "' && tar cf bundle.tar tree big.bin s3.bin", 60);
    ASSERT_EQ(tar.exit_code, 0) << tar.err;
    // A 1 GiB object of zeros (sparse here; the origin reads it as any file).
    RunResult large = Bash("truncate -s 1G '" + data_->Path("large.bin") + "'", 30);
    ASSERT_EQ(large.exit_code, 0) << large.err;
  }

  // An indexed, coordinate-sorted BAM of random reads on one 10 Mb reference (~25 MiB).
  static void MakeBam() {
    RunResult sam = Bash(
        "cd '" + data_->path() + "' && python3 - <<'PY' && samtools view -b -o reads.bam reads.sam && "
        "samtools index reads.bam && rm reads.sam\n"
        "import random\n"
        "random.seed(4)\n"
        "with open('reads.sam', 'w') as f:\n"
        "    f.write('@HD\\tVN:1.6\\tSO:coordinate\\n@SQ\\tSN:chr1\\tLN:10000000\\n')\n"
        "    pos = 1\n"
        "    for i in range(360000):\n"
        "        pos += random.randint(0, 50)\n"
        "        seq = ''.join(random.choices('ACGT', k=100))\n"
        "        qual = ''.join(random.choices('#+5?I', k=100))\n"
        "        f.write('r%d\\t0\\tchr1\\t%d\\t60\\t100M\\t*\\t0\\t0\\t%s\\t%s\\n' % (i, pos, seq, qual))\n"
        "PY",
        240);
    ASSERT_EQ(sam.exit_code, 0) << sam.err << sam.out;
  }

  // A manifest line with the file's size and md5, so that nothing is probed.
  std::string Line(const std::string& path, const std::string& name) {
    struct stat st {};
    EXPECT_EQ(stat(Src(path).c_str(), &st), 0) << path;
    return origin_->Url("/" + path) + " " + name + " size=" + std::to_string(st.st_size) +
           " md5=" + FileMd5Hex(Src(path)) + "\n";
  }

  nlohmann::json FileStatus(const std::string& name) {
    RunResult status = RunProgram({kBinary, "status", mp_, "--json"});
    EXPECT_EQ(status.exit_code, 0) << status.err;
    auto json = nlohmann::json::parse(status.out, nullptr, false);
    for (const auto& f : json["files"]) {
      if (f["path"] == name) return f;
    }
    ADD_FAILURE() << name << " is not in the status: " << status.out;
    return {};
  }

  std::uint64_t Fetched(const std::string& name) { return FileStatus(name).value("bytes_fetched", std::uint64_t{0}); }
  std::uint64_t SizeOf(const std::string& path) {
    struct stat st {};
    stat(Src(path).c_str(), &st);
    return static_cast<std::uint64_t>(st.st_size);
  }
};

TEST_F(RealReadersTest, SamtoolsRegionQueryCountsLikeTheLocalFileAndFetchesUnderATenth) {
  ASSERT_NO_FATAL_FAILURE(Mount(Line("reads.bam", "reads.bam") + Line("reads.bam.bai", "reads.bam.bai")));
  // A gene-sized region: a few BGZF blocks (the kernel reads ahead of them by itself).
  const std::string region = "chr1:4000000-4020000";
  RunResult local = RunProgram({"samtools", "view", "-c", Src("reads.bam"), region});
  ASSERT_EQ(local.exit_code, 0) << local.err;
  ASSERT_GT(std::stoi(local.out), 100) << "the region should hold reads";
  RunResult mounted = RunProgram({"samtools", "view", "-c", Mp("reads.bam"), region}, {}, 60);
  ASSERT_EQ(mounted.exit_code, 0) << mounted.err;
  EXPECT_EQ(mounted.out, local.out);
  std::uint64_t size = SizeOf("reads.bam");
  EXPECT_LE(Fetched("reads.bam"), size / 10) << "of " << size;
  EXPECT_EQ(FileStatus("reads.bam").value("state", ""), "partial");
  EXPECT_EQ(Xattr(Mp("reads.bam"), "user.getmfs.verified").value_or("?"), "partial");
}

TEST_F(RealReadersTest, TailOfALargeObjectBehindACapReturnsQuicklyAndFetchesLittle) {
  origin_->Configure({{"path", "/large.bin"}, {"faults", {{{"type", "bandwidth"}, {"bytes_per_second", 16 << 20}}}}});
  ASSERT_NO_FATAL_FAILURE(Mount(Line("large.bin", "large.bin")));
  auto start = Clock::now();
  RunResult tail = Bash("tail -c 1000 '" + Mp("large.bin") + "' | md5sum", 60);
  double seconds = SecondsSince(start);
  ASSERT_EQ(tail.exit_code, 0) << tail.err;
  RunResult local = Bash("tail -c 1000 '" + Src("large.bin") + "' | md5sum");
  EXPECT_EQ(tail.out, local.out);
  EXPECT_LT(seconds, 1.5) << "tail -c 1000 of 1 GiB took " << seconds << " s";
  EXPECT_LT(Fetched("large.bin"), 16 * kMiB);
  EXPECT_LT(origin_->PathStats("/large.bin").value("body_bytes", kGiB), 16 * kMiB);
}

TEST_F(RealReadersTest, PythonZipfileReadsOneMemberWithoutTheRest) {
  ASSERT_NO_FATAL_FAILURE(Mount(Line("archive.zip", "archive.zip")));
  const char* script =
      "import hashlib, sys, zipfile\n"
      "with zipfile.ZipFile(sys.argv[1]) as z:\n"
      "    print(len(z.namelist()), hashlib.md5(z.read('member17.bin')).hexdigest())\n";
  RunResult mounted = RunProgram({"python3", "-c", script, Mp("archive.zip")});
  RunResult local = RunProgram({"python3", "-c", script, Src("archive.zip")});
  ASSERT_EQ(mounted.exit_code, 0) << mounted.err;
  EXPECT_EQ(mounted.out, local.out);
  EXPECT_LT(Fetched("archive.zip"), SizeOf("archive.zip") / 4);
  EXPECT_EQ(FileStatus("archive.zip").value("state", ""), "partial");
}

TEST_F(RealReadersTest, Sqlite3QueriesAnImmutableDatabase) {
  ASSERT_NO_FATAL_FAILURE(Mount(Line("table.db", "table.db")));
  const std::string query = "select count(*), sum(length(payload)) from t where id between 31000 and 31200;";
  RunResult mounted = RunProgram({"sqlite3", "file:" + Mp("table.db") + "?immutable=1", query});
  RunResult local = RunProgram({"sqlite3", "file:" + Src("table.db") + "?immutable=1", query});
  ASSERT_EQ(mounted.exit_code, 0) << mounted.err;
  EXPECT_EQ(mounted.out, local.out);
  EXPECT_EQ(mounted.out, "201|40200\n");
  EXPECT_LT(Fetched("table.db"), SizeOf("table.db") / 2);
}

TEST_F(RealReadersTest, TarListsAnArchive) {
  ASSERT_NO_FATAL_FAILURE(Mount(Line("bundle.tar", "bundle.tar")));
  RunResult mounted = RunProgram({"tar", "tvf", Mp("bundle.tar")});
  RunResult local = RunProgram({"tar", "tvf", Src("bundle.tar")});
  ASSERT_EQ(mounted.exit_code, 0) << mounted.err;
  EXPECT_EQ(mounted.out, local.out);
}

TEST_F(RealReadersTest, WholeFileReadersAreVerified) {
  ASSERT_NO_FATAL_FAILURE(Mount(Line("s3.bin", "a.bin") + Line("big.bin", "b.bin")));
  RunResult sha = RunProgram({"sha256sum", Mp("a.bin")});
  ASSERT_EQ(sha.exit_code, 0) << sha.err;
  EXPECT_EQ(Fields(sha.out).at(0), Fields(RunProgram({"sha256sum", Src("s3.bin")}).out).at(0));
  EXPECT_EQ(Xattr(Mp("a.bin"), "user.getmfs.verified").value_or("?"), "verified");
  RunResult cp = RunProgram({"cp", Mp("b.bin"), tmp_.Path("copy.bin")});
  ASSERT_EQ(cp.exit_code, 0) << cp.err;
  EXPECT_EQ(ReadFile(tmp_.Path("copy.bin")), ReadFile(Src("big.bin")));
  EXPECT_EQ(Xattr(Mp("b.bin"), "user.getmfs.verified").value_or("?"), "verified");
}

TEST_F(RealReadersTest, EveryWholeFileReaderFailsOnACorruptedObject) {
  origin_->Configure({{"path", "/big.bin"}, {"faults", {{{"type", "corrupt"}, {"offset", 3 * kMiB + 5}}}}});
  for (const std::string command : {"cat", "cp", "sha256sum", "md5sum"}) {
    SCOPED_TRACE(command);
    ASSERT_NO_FATAL_FAILURE(Mount(Line("big.bin", "big.bin")));
    std::string out = command == "cp" ? " '" + tmp_.Path("copy.bin") + "'" : " > /dev/null";
    RunResult r = Bash(command + " '" + Mp("big.bin") + "'" + out, 60);
    EXPECT_NE(r.exit_code, 0) << command << " ended cleanly on a corrupted object";
    EXPECT_TRUE(Contains(r.err, "Input/output error")) << r.err;
    EXPECT_EQ(Xattr(Mp("big.bin"), "user.getmfs.verified").value_or("?"), "failed");
    ASSERT_EQ(RunProgram({kBinary, "unmount", mp_}, {}, 30).exit_code, 0);
  }
}

TEST_F(RealReadersTest, ARandomReadIsPartialUntilTheVerdictThenFailsWithEio) {
  origin_->Configure({{"path", "/big.bin"}, {"faults", {{{"type", "corrupt"}, {"offset", 3 * kMiB + 5}}}}});
  ASSERT_NO_FATAL_FAILURE(Mount(Line("big.bin", "big.bin")));
  auto dd = [&](std::uint64_t mib) {
    return Bash("dd if='" + Mp("big.bin") + "' bs=65536 skip=" + std::to_string(mib * 16) + " count=1 status=none | wc -c");
  };
  RunResult before = dd(1);   // far from the corrupted byte: its bytes, unverified
  EXPECT_EQ(before.exit_code, 0) << before.err;
  EXPECT_EQ(before.out, "65536\n");
  EXPECT_EQ(Xattr(Mp("big.bin"), "user.getmfs.verified").value_or("?"), "partial");
  RunResult cat = Bash("cat '" + Mp("big.bin") + "' > /dev/null", 60);   // all of it: the verdict
  EXPECT_NE(cat.exit_code, 0);
  EXPECT_EQ(Xattr(Mp("big.bin"), "user.getmfs.verified").value_or("?"), "failed");
  RunResult after = Bash("dd if='" + Mp("big.bin") + "' of=/dev/null bs=65536 skip=16 count=1 iflag=direct status=none");
  EXPECT_NE(after.exit_code, 0) << "a read after the verdict returned bytes";
  EXPECT_TRUE(Contains(after.err, "Input/output error")) << after.err;
}

TEST_F(RealReadersTest, VerifyRandomBackgroundBringsTheVerdict) {
  ASSERT_NO_FATAL_FAILURE(Mount(Line("huge.bin", "huge.bin"), {"--verify-random", "background"}));
  RunResult dd = Bash("dd if='" + Mp("huge.bin") + "' of=/dev/null bs=65536 skip=200 count=2 status=none");
  ASSERT_EQ(dd.exit_code, 0) << dd.err;
  EXPECT_TRUE(WaitFor([&] { return Xattr(Mp("huge.bin"), "user.getmfs.verified").value_or("?") == "verified"; }, 30))
      << Xattr(Mp("huge.bin"), "user.getmfs.verified").value_or("?");
}

TEST_F(RealReadersTest, ServersThatLabelWiderRangesOrIgnoreRangeGiveTheRightBytes) {
  for (const nlohmann::json& fault : {nlohmann::json{{"type", "wide_range"}, {"to", "object"}},
                                      nlohmann::json{{"type", "wide_range"}, {"to", "end"}},
                                      nlohmann::json{{"type", "ignore_range"}}}) {
    SCOPED_TRACE(fault.dump());
    origin_->Reset();
    origin_->Configure({{"path", "/huge.bin"}, {"emulate", "s3"}, {"faults", {fault}}});
    ASSERT_NO_FATAL_FAILURE(Mount(origin_->Url("/huge.bin") + " huge.bin\n"));
    PyRead r = PythonRead(Mp("huge.bin"));
    EXPECT_TRUE(r.ok) << r.raw;
    EXPECT_EQ(r.md5, FileMd5Hex(Src("huge.bin")));
    EXPECT_EQ(Xattr(Mp("huge.bin"), "user.getmfs.verified").value_or("?"), "verified");
    // Streamed once found out: not the whole object again for every range.
    EXPECT_LT(origin_->PathStats("/huge.bin").value("body_bytes", kGiB), 3 * 32 * kMiB)
        << origin_->PathStats("/huge.bin").dump();
    if (fault["type"] == "ignore_range") {
      EXPECT_FALSE(FileStatus("huge.bin").value("ranges", true));
    }
    ASSERT_EQ(RunProgram({kBinary, "unmount", mp_}, {}, 30).exit_code, 0);
  }
}

}  // namespace
}  // namespace getmfs::testing
