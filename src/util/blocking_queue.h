// A queue that worker threads wait on: Push from anywhere, Pop blocks until an item comes or
// the queue is closed. The probe queue and the FUSE layer's invalidations use one.
#ifndef GETMFS_UTIL_BLOCKING_QUEUE_H_
#define GETMFS_UTIL_BLOCKING_QUEUE_H_

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <utility>

namespace getmfs {

template <class T>
class BlockingQueue {
 public:
  void Push(T item) {
    {
      std::scoped_lock lock(mu_);
      if (closed_) return;
      items_.push_back(std::move(item));
    }
    cv_.notify_one();
  }
  // The next item; nullopt once the queue is closed (items still queued are dropped).
  std::optional<T> Pop() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return closed_ || !items_.empty(); });
    if (closed_) return std::nullopt;
    T item = std::move(items_.front());
    items_.pop_front();
    return item;
  }
  void Close() {
    {
      std::scoped_lock lock(mu_);
      closed_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<T> items_;
  bool closed_ = false;
};

}  // namespace getmfs

#endif  // GETMFS_UTIL_BLOCKING_QUEUE_H_
