// The start-up word between a mount daemon and `getmfs mount`: verdicts, steps, lines split
// across reads, a daemon that dies, and one that never answers (stopped, with its stuck
// fork, and described).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "readiness.h"

namespace getmfs::mount {
namespace {

using std::chrono::milliseconds;

struct Pipe {
  Pipe() { EXPECT_EQ(pipe(fds), 0); }
  ~Pipe() {
    for (int fd : fds) if (fd >= 0) close(fd);
  }
  int release_write() { return std::exchange(fds[1], -1); }
  int fds[2] = {-1, -1};
};

void WriteRaw(int fd, const std::string& text) { ASSERT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size())); }

TEST(Readiness, ServingAfterStepsKeepsTheLastStep) {
  Pipe p;
  Readiness daemon(p.release_write());
  daemon.Step("creating the FUSE session");
  daemon.Step("mounting /mnt (fusermount3)");
  daemon.Ready();
  DaemonWord word = ReadDaemonWord(p.fds[0], milliseconds(2000));
  EXPECT_EQ(word.kind, DaemonWord::Kind::kServing);
  EXPECT_EQ(word.last_step, "mounting /mnt (fusermount3)");
}

TEST(Readiness, AFailureCarriesItsReason) {
  Pipe p;
  Readiness daemon(p.release_write());
  daemon.Step("starting the workers");
  daemon.Failed("cannot start worker /nowhere: No such file or directory");
  daemon.Ready();   // after a verdict the descriptor is closed: ignored
  DaemonWord word = ReadDaemonWord(p.fds[0], milliseconds(2000));
  EXPECT_EQ(word.kind, DaemonWord::Kind::kFailed);
  EXPECT_EQ(word.why, "cannot start worker /nowhere: No such file or directory");
}

TEST(Readiness, EndOfFileWithoutAVerdictIsAnExitDuringStartUp) {
  Pipe p;
  {
    Readiness daemon(p.release_write());
    daemon.Step("waiting for the kernel's INIT");
  }   // the daemon is gone without a verdict
  DaemonWord word = ReadDaemonWord(p.fds[0], milliseconds(2000));
  EXPECT_EQ(word.kind, DaemonWord::Kind::kExited);
  EXPECT_EQ(word.last_step, "waiting for the kernel's INIT");
}

TEST(Readiness, LinesSplitAcrossWritesAreJoined) {
  Pipe p;
  std::thread writer([&p] {
    for (const char* piece : {"STE", "P half a step\nO", "K\n"}) {
      WriteRaw(p.fds[1], piece);
      std::this_thread::sleep_for(milliseconds(30));
    }
  });
  DaemonWord word = ReadDaemonWord(p.fds[0], milliseconds(5000));
  writer.join();
  EXPECT_EQ(word.kind, DaemonWord::Kind::kServing);
  EXPECT_EQ(word.last_step, "half a step");
}

TEST(Readiness, UnknownLinesAreIgnored) {
  Pipe p;
  WriteRaw(p.fds[1], "hello\nOKAY\nERR\nOK\n");
  EXPECT_EQ(ReadDaemonWord(p.fds[0], milliseconds(2000)).kind, DaemonWord::Kind::kServing);
}

TEST(Readiness, SilenceUntilTheDeadlineIsATimeout) {
  Pipe p;
  WriteRaw(p.fds[1], "STEP mounting /mnt (fusermount3)\n");
  auto start = std::chrono::steady_clock::now();
  DaemonWord word = ReadDaemonWord(p.fds[0], milliseconds(300));
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(word.kind, DaemonWord::Kind::kTimedOut);
  EXPECT_EQ(word.last_step, "mounting /mnt (fusermount3)");
  EXPECT_GE(took, milliseconds(300));
}

TEST(Readiness, WithoutADescriptorTheDaemonOnlyLogs) {
  Readiness foreground(-1);
  foreground.Step("creating the FUSE session");
  foreground.Ready();
  foreground.Failed("ignored");
}

bool Gone(pid_t pid) {
  for (int i = 0; i < 100; ++i) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text;
    std::getline(stat, text);
    std::size_t close = text.rfind(')');
    if (text.empty() || (close != std::string::npos && text[close + 2] == 'Z')) return true;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return false;
}

// A daemon stuck where the CI saw one: it reported a step, then its fork never reached exec.
TEST(Readiness, ADaemonThatNeverAnswersIsStoppedWithItsForkAndDescribed) {
  Pipe readiness, grandchild;
  pid_t daemon = fork();
  ASSERT_GE(daemon, 0);
  if (daemon == 0) {
    WriteRaw(readiness.fds[1], "STEP mounting /mnt/x (fusermount3)\n");
    pid_t stuck = fork();
    if (stuck == 0) {
      for (;;) pause();
    }
    [[maybe_unused]] ssize_t n = write(grandchild.fds[1], &stuck, sizeof stuck);
    for (;;) pause();
  }
  close(readiness.release_write());
  pid_t stuck = -1;
  ASSERT_EQ(read(grandchild.fds[0], &stuck, sizeof stuck), static_cast<ssize_t>(sizeof stuck));
  ::testing::internal::CaptureStderr();
  int rc = WaitForDaemon(readiness.fds[0], daemon, "/mnt/x", milliseconds(500));
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(rc, 1);
  EXPECT_NE(err.find("the daemon for /mnt/x was not serving after 0 s"), std::string::npos) << err;
  EXPECT_NE(err.find("(last step: mounting /mnt/x (fusermount3))"), std::string::npos) << err;
  EXPECT_NE(err.find("pid " + std::to_string(daemon) + " ("), std::string::npos) << err;
  EXPECT_NE(err.find("its child pid " + std::to_string(stuck)), std::string::npos) << err;
  EXPECT_EQ(waitpid(daemon, nullptr, WNOHANG), -1) << "the daemon was not reaped";
  EXPECT_TRUE(Gone(stuck)) << "the daemon's stuck fork is still alive";
}

// A daemon says why it failed before it undoes its mount: the parent returns only once it
// has ended, so that nothing of it is left (the CI once saw the mount still there).
TEST(Readiness, AFailedDaemonIsAwaitedUntilItHasCleanedUp) {
  Pipe readiness;
  pid_t daemon = fork();
  ASSERT_GE(daemon, 0);
  if (daemon == 0) {
    WriteRaw(readiness.fds[1], "ERR cannot start a worker process\n");
    std::this_thread::sleep_for(milliseconds(400));   // unmounting, stopping workers
    _exit(3);
  }
  close(readiness.release_write());
  ::testing::internal::CaptureStderr();
  int rc = WaitForDaemon(readiness.fds[0], daemon, "/mnt/x", milliseconds(5000));
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(err, "getmfs mount: cannot start a worker process\n");
  EXPECT_EQ(waitpid(daemon, nullptr, WNOHANG), -1) << "the daemon was still running when the parent returned";
}

}  // namespace
}  // namespace getmfs::mount
