// The shared-memory segment (a memfd) the cache lives in, and mappings of it.
#include "cache/segment.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <utility>

namespace getmfs::cache {

MappedRegion::MappedRegion(MappedRegion&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

MappedRegion& MappedRegion::operator=(MappedRegion&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) munmap(data_, size_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

MappedRegion::~MappedRegion() {
  if (data_ != nullptr) munmap(data_, size_);
}

Result<MappedRegion> MappedRegion::Map(int fd, std::size_t size) {
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) {
    return Error{ErrorKind::kInternal,
                 "cannot map the shared block cache (" + std::to_string(size) +
                     " bytes): " + std::strerror(errno)};
  }
  return MappedRegion(p, size);
}

Result<Segment> Segment::Create(std::size_t size) {
  Segment segment;
  segment.fd_.reset(memfd_create("getmfs-cache", MFD_CLOEXEC));
  if (!segment.fd_.valid()) {
    return Error{ErrorKind::kInternal, std::string("memfd_create failed: ") + std::strerror(errno)};
  }
  if (ftruncate(segment.fd_.get(), static_cast<off_t>(size)) != 0) {
    return Error{ErrorKind::kInternal, "cannot size the shared block cache to " +
                                           std::to_string(size) + " bytes: " + std::strerror(errno)};
  }
  auto region = MappedRegion::Map(segment.fd_.get(), size);
  if (!region) return region.error();
  segment.region_ = std::move(*region);
  return segment;
}

}  // namespace getmfs::cache
