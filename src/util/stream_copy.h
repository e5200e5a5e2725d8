// Copies bytes into memory that is written once and read later by another process (a worker
// filling the shared block cache), without reading the destination's cache lines first.
#ifndef GETMFS_UTIL_STREAM_COPY_H_
#define GETMFS_UTIL_STREAM_COPY_H_

#include <cstddef>
#include <cstdint>

namespace getmfs {

// memcpy(dst, src, n), with non-temporal stores where the CPU has them (x86-64: SSE2, always
// there): a plain store first reads each destination line into the cache, a second stream of
// memory traffic for bytes this process never reads again. Ordered with an sfence before it
// returns, so a report sent afterwards never overtakes the bytes.
void StreamCopy(std::uint8_t* dst, const std::uint8_t* src, std::size_t n);

}  // namespace getmfs

#endif  // GETMFS_UTIL_STREAM_COPY_H_
