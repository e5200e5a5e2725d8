// One shared-memory region (memfd) mapped in the supervisor and in every worker. A memfd is
// inherited across exec, so no /dev/shm size limit applies (Docker gives 64 MiB there).
#ifndef GETMFS_CACHE_SEGMENT_H_
#define GETMFS_CACHE_SEGMENT_H_

#include <cstddef>
#include <cstdint>

#include "util/error.h"
#include "util/unique_fd.h"

namespace getmfs::cache {

class MappedRegion {
 public:
  MappedRegion() = default;
  MappedRegion(void* data, std::size_t size) : data_(static_cast<std::uint8_t*>(data)), size_(size) {}
  MappedRegion(MappedRegion&& other) noexcept;
  MappedRegion& operator=(MappedRegion&& other) noexcept;
  MappedRegion(const MappedRegion&) = delete;
  MappedRegion& operator=(const MappedRegion&) = delete;
  ~MappedRegion();

  std::uint8_t* data() const { return data_; }
  std::size_t size() const { return size_; }

  // Maps size bytes of fd shared, read-write.
  static Result<MappedRegion> Map(int fd, std::size_t size);

 private:
  std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

class Segment {
 public:
  // Creates a memfd of `size` bytes and maps it. Pages are allocated on first touch.
  static Result<Segment> Create(std::size_t size);
  int fd() const { return fd_.get(); }
  std::uint8_t* data() const { return region_.data(); }
  std::size_t size() const { return region_.size(); }

 private:
  UniqueFd fd_;
  MappedRegion region_;
};

}  // namespace getmfs::cache

#endif  // GETMFS_CACHE_SEGMENT_H_
