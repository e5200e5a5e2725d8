// Keeps a log readable when one thing fails over and over (a reader retrying a broken file
// thousands of times): the first line of each (key, message) goes out, repeats within the
// interval are counted, and the next line after it says how many there were.
#ifndef GETMFS_UTIL_REPEAT_LIMITER_H_
#define GETMFS_UTIL_REPEAT_LIMITER_H_

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace getmfs {

class RepeatLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  explicit RepeatLimiter(Clock::duration interval = std::chrono::seconds(60)) : interval_(interval) {}

  // nullopt: say nothing now. Else the number of repeats not said since the last line.
  std::optional<std::uint64_t> Admit(const std::string& key, const std::string& message,
                                     Clock::time_point now = Clock::now()) {
    std::scoped_lock lock(mu_);
    if (seen_.size() > kMaxKeys) seen_.clear();   // bounded: forget, at worst say it again
    Seen& s = seen_[key];
    if (s.message == message && now - s.said < interval_) {
      ++s.repeats;
      return std::nullopt;
    }
    std::uint64_t repeats = s.message == message ? s.repeats : 0;
    s = Seen{message, now, 0};
    return repeats;
  }

 private:
  static constexpr std::size_t kMaxKeys = 10000;
  struct Seen {
    std::string message;
    Clock::time_point said{};
    std::uint64_t repeats = 0;
  };
  const Clock::duration interval_;
  std::mutex mu_;
  std::unordered_map<std::string, Seen> seen_;
};

}  // namespace getmfs

#endif  // GETMFS_UTIL_REPEAT_LIMITER_H_
