// A set of byte ranges, merged as they are added: which bytes of a file an open handle has
// been given (a sequential reader's set stays one range).
#ifndef GETMFS_UTIL_INTERVAL_SET_H_
#define GETMFS_UTIL_INTERVAL_SET_H_

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <map>

namespace getmfs {

class IntervalSet {
 public:
  // Adds [first, end).
  void Add(std::uint64_t first, std::uint64_t end) {
    if (first >= end) return;
    auto it = ranges_.upper_bound(first);
    if (it != ranges_.begin()) {
      auto before = std::prev(it);
      if (before->second >= first) {   // overlaps or touches the range before
        first = before->first;
        end = std::max(end, before->second);
        it = ranges_.erase(before);
      }
    }
    while (it != ranges_.end() && it->first <= end) {   // swallow the ranges it reaches
      end = std::max(end, it->second);
      it = ranges_.erase(it);
    }
    ranges_[first] = end;
  }
  // Whether every byte of [first, end) is in the set.
  bool Covers(std::uint64_t first, std::uint64_t end) const {
    if (first >= end) return true;
    auto it = ranges_.upper_bound(first);
    if (it == ranges_.begin()) return false;
    --it;
    return it->first <= first && it->second >= end;
  }
  std::size_t ranges() const { return ranges_.size(); }

 private:
  std::map<std::uint64_t, std::uint64_t> ranges_;   // first -> end, disjoint, not touching
};

}  // namespace getmfs

#endif  // GETMFS_UTIL_INTERVAL_SET_H_
