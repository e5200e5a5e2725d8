// A one-line progress bar on stderr (bytes, rate, ETA), for terminals only.
#ifndef GETMFS_CLI_PROGRESS_H_
#define GETMFS_CLI_PROGRESS_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

namespace getmfs::cli {

class Progress {
 public:
  Progress(std::uint64_t total_bytes, std::size_t total_files);
  ~Progress();
  void Add(std::uint64_t bytes) { bytes_ += bytes; }
  void FileDone() { ++files_; }
  void Clear();    // erase the line (before printing a message)
  void Finish();   // final line and newline

 private:
  void Draw(bool final);
  std::uint64_t total_;
  std::size_t total_files_;
  std::atomic<std::uint64_t> bytes_{0};
  std::atomic<std::size_t> files_{0};
  std::chrono::steady_clock::time_point start_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

}  // namespace getmfs::cli

#endif  // GETMFS_CLI_PROGRESS_H_
