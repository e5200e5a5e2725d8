// Reloading a mount's manifest (getmfs reload, SIGHUP) while files are open and read.
#include <gtest/gtest.h>
#include <unistd.h>

#include "support/mount_fixture.h"

namespace getmfs::testing {
namespace {

// ---------------------------------------------------------------------------------------------
// Reload

// The manifest of the reload tests: keep.bin, gone.bin and other.bin, presigned.
std::string FirstReloadManifest(Origin& origin) {
  return origin.Presign("/keep.bin", 600) + " keep.bin\n" + origin.Presign("/gone.bin", 600) + " gone.bin\n" +
         origin.Presign("/other.bin", 600) + " sub/other.bin\n";
}

// Fresh URLs: keep.bin now points at a copy of the same bytes elsewhere (so its redacted URL
// changes), gone.bin is removed, new.bin appears.
std::string SecondReloadManifest(Origin& origin) {
  return origin.Presign("/reload/keep-copy.bin", 700) + " keep.bin\n" + origin.Presign("/other.bin", 700) +
         " sub/other.bin\n" + origin.Presign("/new.bin", 700) + " sub/new.bin\n";
}

// A python reader that opens the file, reads the first MiB, says "READY", waits for a line
// on stdin, reads the rest and prints the MD5 (or the errno).
std::unique_ptr<ChildProcess> StartSlowReader(const std::string& path) {
  static const char* kScript = R"PY(
import sys, hashlib
try:
    f = open(sys.argv[1], 'rb')
    h = hashlib.md5()
    h.update(f.read(1 << 20))
    print("READY", flush=True)
    sys.stdin.readline()
    while True:
        b = f.read(1 << 16)
        if not b:
            break
        h.update(b)
    print("MD5", h.hexdigest(), flush=True)
except OSError as e:
    print("ERR", e.errno, flush=True)
)PY";
  return ChildProcess::Start({"python3", "-u", "-c", kScript, path});
}

class ReloadTest : public MountTest {
 protected:
  void CheckReloaded(ChildProcess& reader) {
    // The open reader finishes with the right bytes.
    ASSERT_TRUE(reader.WriteStdin("go\n"));
    auto line = reader.ReadLine(60);
    ASSERT_TRUE(line.has_value()) << reader.Stderr();
    EXPECT_EQ(*line, "MD5 " + FileMd5Hex(Src("keep.bin"))) << reader.Stderr();
    // The new path is there, the removed one gone.
    RunResult ls = Bash("cd '" + mp_ + "' && ls -R");
    EXPECT_TRUE(WaitFor([&] { return access(Mp("sub/new.bin").c_str(), F_OK) == 0; }, 5));
    EXPECT_NE(access(Mp("gone.bin").c_str(), F_OK), 0) << "gone.bin is still there";
    EXPECT_EQ(errno, ENOENT);
    EXPECT_FALSE(Contains(ls.out, "gone.bin")) << ls.out;
    EXPECT_TRUE(Contains(ls.out, "new.bin")) << ls.out;
    PyRead n = PythonRead(Mp("sub/new.bin"));
    EXPECT_EQ(n.md5, FileMd5Hex(Src("new.bin"))) << n.raw;
    PyRead o = PythonRead(Mp("sub/other.bin"));
    EXPECT_EQ(o.md5, FileMd5Hex(Src("other.bin"))) << o.raw;
    EXPECT_EQ(Xattr(Mp("keep.bin"), "user.getmfs.url").value_or("?"), origin_->Url("/reload/keep-copy.bin"));
    // A new open of keep.bin reads the right bytes too.
    PyRead k = PythonRead(Mp("keep.bin"));
    EXPECT_EQ(k.md5, FileMd5Hex(Src("keep.bin"))) << k.raw;
    EXPECT_EQ(Xattr(mp_, "user.getmfs.generation").value_or("?"), "2");
    EXPECT_FALSE(Contains(Log(), "X-Amz-Signature"));
  }
};

TEST_F(ReloadTest, ReloadCommandSwapsUrlsWhileAReaderKeepsReading) {
  ASSERT_NO_FATAL_FAILURE(Mount(FirstReloadManifest(*origin_), {"--block-size", "64K", "--max-readahead", "1M"}));
  EXPECT_EQ(Xattr(Mp("keep.bin"), "user.getmfs.url").value_or("?"), origin_->Url("/keep.bin"));
  auto reader = StartSlowReader(Mp("keep.bin"));
  auto ready = reader->ReadLine(60);
  ASSERT_EQ(ready.value_or("(none)"), "READY") << reader->Stderr();
  ASSERT_EQ(access(Mp("gone.bin").c_str(), F_OK), 0);
  // A bad manifest first: the reload fails and the mount stays as it was.
  WriteFile(manifest_, origin_->Presign("/new.bin", 600) + " new.bin bogus=1\n");
  RunResult bad = RunProgram({kBinary, "reload", mp_}, {}, 30);
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_TRUE(Contains(bad.err, "bogus")) << bad.err;
  EXPECT_TRUE(Contains(bad.err, ":1")) << bad.err;
  EXPECT_EQ(access(Mp("gone.bin").c_str(), F_OK), 0);
  EXPECT_NE(access(Mp("new.bin").c_str(), F_OK), 0);
  EXPECT_EQ(Xattr(mp_, "user.getmfs.generation").value_or("?"), "1");
  PyRead gone = PythonRead(Mp("gone.bin"));
  EXPECT_EQ(gone.md5, FileMd5Hex(Src("gone.bin"))) << gone.raw;
  // Now the good one.
  WriteFile(manifest_, SecondReloadManifest(*origin_));
  RunResult r = RunProgram({kBinary, "reload", mp_}, {}, 30);
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_EQ(Xattr(mp_, "user.getmfs.reload_error").value_or("?"), "");
  CheckReloaded(*reader);
  EXPECT_GE(origin_->PathStats("/reload/keep-copy.bin")["requests"].get<int>(), 1);
}

TEST_F(ReloadTest, SighupReloadsToo) {
  ASSERT_NO_FATAL_FAILURE(Mount(FirstReloadManifest(*origin_), {"--block-size", "64K", "--max-readahead", "1M"}));
  auto reader = StartSlowReader(Mp("keep.bin"));
  ASSERT_EQ(reader->ReadLine(60).value_or("(none)"), "READY") << reader->Stderr();
  pid_t pid = DaemonPid();
  ASSERT_GT(pid, 1);
  WriteFile(manifest_, SecondReloadManifest(*origin_));
  RunResult hup = RunProgram({"kill", "-HUP", std::to_string(pid)});
  ASSERT_EQ(hup.exit_code, 0) << hup.err;
  EXPECT_TRUE(WaitFor([&] { return Xattr(mp_, "user.getmfs.reloads").value_or("") == "1"; }, 10));
  EXPECT_TRUE(IsMounted(mp_)) << "SIGHUP must not end the session";
  CheckReloaded(*reader);
}

TEST_F(ReloadTest, AFileOpenedButNotYetReadSurvivesAReloadToTheSameObject) {
  ASSERT_NO_FATAL_FAILURE(Mount(FirstReloadManifest(*origin_)));
  // Keep keep.bin open without reading it.
  auto holder = ChildProcess::Start(
      {"python3", "-u", "-c",
       "import sys,hashlib\nf=open(sys.argv[1],'rb')\nprint('OPEN',flush=True)\nsys.stdin.readline()\n"
       "try:\n  print('MD5',hashlib.md5(f.read()).hexdigest(),flush=True)\nexcept OSError as e:\n  print('ERR',e.errno,flush=True)\n",
       Mp("keep.bin")});
  ASSERT_EQ(holder->ReadLine(30).value_or("(none)"), "OPEN") << holder->Stderr();
  WriteFile(manifest_, SecondReloadManifest(*origin_));
  RunResult r = RunProgram({kBinary, "reload", mp_}, {}, 30);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(holder->WriteStdin("go\n"));
  auto line = holder->ReadLine(60);
  EXPECT_EQ(line.value_or("(none)"), "MD5 " + FileMd5Hex(Src("keep.bin")))
      << "an open handle of an unchanged object must keep working across a reload";
}

TEST_F(ReloadTest, APathPointedAtAnotherObjectShowsTheNewBytes) {
  ASSERT_NO_FATAL_FAILURE(Mount(origin_->Presign("/tree/a.bin", 600) + " x.bin\n"));
  PyRead before = PythonRead(Mp("x.bin"));   // fills the kernel's page cache too
  ASSERT_EQ(before.md5, FileMd5Hex(Src("tree/a.bin"))) << before.raw;
  WriteFile(manifest_, origin_->Presign("/tree/d.bin", 600) + " x.bin\n");
  RunResult r = RunProgram({kBinary, "reload", mp_}, {}, 30);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  RunResult stat = RunProgram({"stat", "-c", "%s", Mp("x.bin")});
  EXPECT_EQ(stat.out, std::to_string(2 * kMiB) + "\n");
  PyRead after = PythonRead(Mp("x.bin"));
  EXPECT_EQ(after.md5, FileMd5Hex(Src("tree/d.bin"))) << after.raw;
  RunResult md5 = RunProgram({"md5sum", Mp("x.bin")});
  EXPECT_EQ(Fields(md5.out).at(0), FileMd5Hex(Src("tree/d.bin")));
}


}  // namespace
}  // namespace getmfs::testing
