// What the read-ahead policy's tests share: sizes, and the limits most of them plan with.
#ifndef GETMFS_TESTS_UNIT_PREFETCHER_TEST_HELPERS_H_
#define GETMFS_TESTS_UNIT_PREFETCHER_TEST_HELPERS_H_

#include <cstdint>

#include "fs/prefetcher.h"

namespace getmfs::fs {

inline constexpr std::uint64_t KiB = 1024;
inline constexpr std::uint64_t MiB = 1024 * KiB;
inline constexpr std::uint64_t GiB = 1024 * MiB;
inline constexpr std::uint64_t kBlock = 64 * KiB;

// 64 KiB blocks, windows from 1 MiB up to 8 MiB, requests up to 8 MiB (128 blocks).
inline PrefetchLimits Limits(bool streaming = false) {
  return {.block_size = kBlock, .max_readahead = 8 * MiB, .max_request = 8 * MiB, .streaming = streaming,
          .initial_window = 1 * MiB, .initial_window_after_seek = 1 * MiB};
}

}  // namespace getmfs::fs

#endif  // GETMFS_TESTS_UNIT_PREFETCHER_TEST_HELPERS_H_
