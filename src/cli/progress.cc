// The progress bar of `getmfs get` on a terminal.
#include "cli/progress.h"

#include <cstdio>
#include <string>

#include "cli/size.h"

namespace getmfs::cli {

Progress::Progress(std::uint64_t total_bytes, std::size_t total_files)
    : total_(total_bytes), total_files_(total_files), start_(std::chrono::steady_clock::now()) {
  thread_ = std::thread([this] {
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, std::chrono::milliseconds(250), [this] { return done_; })) Draw(false);
  });
}

Progress::~Progress() { Finish(); }

void Progress::Clear() {
  std::scoped_lock lock(mu_);
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
}

void Progress::Finish() {
  {
    std::scoped_lock lock(mu_);
    if (done_) return;
    done_ = true;
    Draw(true);
    std::fprintf(stderr, "\n");
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Progress::Draw(bool final) {
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  double bytes = static_cast<double>(bytes_.load());
  double rate = elapsed > 0 ? bytes / elapsed : 0;
  int width = 24;
  double fraction = total_ > 0 ? bytes / static_cast<double>(total_) : 1.0;
  int filled = static_cast<int>(fraction * width);
  std::string bar(static_cast<std::size_t>(filled), '#');
  bar.resize(static_cast<std::size_t>(width), '.');
  std::string eta = "--:--";
  if (rate > 0 && !final) {
    long left = static_cast<long>((static_cast<double>(total_) - bytes) / rate);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%ld:%02ld", left / 60, left % 60);
    eta = buf;
  } else if (final) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1fs", elapsed);
    eta = buf;
  }
  std::string files = total_files_ > 1 ? " [" + std::to_string(files_.load()) + "/" + std::to_string(total_files_) + "]" : "";
  std::fprintf(stderr, "\r\033[K[%s] %3.0f%% %s / %s  %s/s  %s%s", bar.c_str(), fraction * 100,
               FormatBytes(bytes).c_str(), FormatBytes(static_cast<double>(total_)).c_str(),
               FormatBytes(rate).c_str(), final ? "in " : "ETA ", (eta + files).c_str());
  std::fflush(stderr);
}

}  // namespace getmfs::cli
