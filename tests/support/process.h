// Running other programs from (multithreaded) tests.
//
// Children are started with posix_spawn (no code of ours runs between fork and
// exec), in a new process group, with default signal dispositions and an empty
// signal mask. All descriptors we create are close-on-exec, so a child started
// by one thread never inherits another child's pipes.
#ifndef GETMFS_TESTS_SUPPORT_PROCESS_H_
#define GETMFS_TESTS_SUPPORT_PROCESS_H_

#include <sys/types.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace getmfs::testing {

struct RunResult {
  int exit_code = -1;  // the exit status, or -N when killed by signal N
  std::string out;     // everything the child wrote to stdout
  std::string err;     // everything the child wrote to stderr
  bool timed_out = false;
};

// Runs argv (argv[0] is looked up in PATH when it has no '/') to completion.
// extra_env entries ("NAME=value") are added to, or replace, our environment.
// stdin_data is fed to the child's stdin, which is then closed. On timeout
// the child's whole process group is killed with SIGKILL. After the child
// exits, output is collected until end of file or for at most half a second
// (a daemon it left behind may hold the pipes open). Throws
// std::system_error when the program cannot be started.
RunResult Run(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env = {},
              double timeout_seconds = 60, const std::string& stdin_data = "");

// The same as Run. Inside a TEST body, ::testing::Test::Run hides an
// unqualified Run; call RunProgram or getmfs::testing::Run there.
inline RunResult RunProgram(const std::vector<std::string>& argv,
                            const std::vector<std::string>& extra_env = {},
                            double timeout_seconds = 60, const std::string& stdin_data = "") {
  return Run(argv, extra_env, timeout_seconds, stdin_data);
}

// A long-running child. A background thread drains its stdout and stderr into
// buffers, so it never blocks on a full pipe. Its stdin is a socket we keep
// open until CloseStdin() or destruction (children may treat EOF on stdin as
// "the test process is gone"). The destructor stops it (see Stop).
class ChildProcess {
 public:
  static std::unique_ptr<ChildProcess> Start(const std::vector<std::string>& argv,
                                             const std::vector<std::string>& extra_env = {});
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }

  // The next line of stdout without its '\n' (a final unterminated line is
  // returned at end of file); nullopt on timeout or at end of file.
  std::optional<std::string> ReadLine(double timeout_seconds);
  // Everything read from stderr so far.
  std::string Stderr() const;
  // Stdout not yet consumed by ReadLine.
  std::string PendingStdout() const;

  // Writes to the child's stdin; false if it is closed.
  bool WriteStdin(const std::string& data);
  void CloseStdin();

  // True until the child has exited (and been reaped by us).
  bool Running();
  // Waits for the child to exit: its exit code (or -signal), nullopt on timeout.
  std::optional<int> Wait(double timeout_seconds);
  // Sends a signal to the child process alone.
  void Signal(int sig);
  // SIGTERM to the child's process group, SIGKILL after grace_seconds; waits
  // and returns the exit code (or -signal). Idempotent.
  int Stop(double grace_seconds = 5);

 private:
  ChildProcess() = default;
  void ReaderLoop();

  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  int stdin_fd_ = -1;
  int stdout_fd_ = -1;
  int stderr_fd_ = -1;
  int wake_read_fd_ = -1;  // the reader thread stops when this becomes readable
  int wake_write_fd_ = -1;
  std::thread reader_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string stdout_buffer_;  // guarded by mu_
  std::string stderr_buffer_;  // guarded by mu_
  bool stdout_eof_ = false;    // guarded by mu_
  std::mutex wait_mu_;         // serializes waitpid and exit_code_
};

}  // namespace getmfs::testing

#endif  // GETMFS_TESTS_SUPPORT_PROCESS_H_
