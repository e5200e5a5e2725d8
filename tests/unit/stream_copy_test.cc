// StreamCopy: the same bytes as memcpy for every size and alignment, touching nothing past
// the destination's end.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "util/stream_copy.h"

namespace getmfs {
namespace {

TEST(StreamCopy, CopiesEverySizeAndAlignmentExactly) {
  std::vector<std::uint8_t> src(300000);
  for (std::size_t i = 0; i < src.size(); ++i) src[i] = static_cast<std::uint8_t>(i * 131 + 7);
  for (std::size_t n : {0u, 1u, 63u, 64u, 4095u, 4096u, 4097u, 65536u, 65600u, 262143u}) {
    for (std::size_t dst_skew : {0u, 1u, 15u, 16u, 33u, 63u}) {
      for (std::size_t src_skew : {0u, 3u, 64u}) {
        std::vector<std::uint8_t> dst(n + 256, 0xEE);
        StreamCopy(dst.data() + dst_skew, src.data() + src_skew, n);
        for (std::size_t i = 0; i < dst_skew; ++i) ASSERT_EQ(dst[i], 0xEE) << "before, n " << n;
        for (std::size_t i = 0; i < n; ++i) {
          ASSERT_EQ(dst[dst_skew + i], src[src_skew + i]) << "n " << n << " skew " << dst_skew << "/" << src_skew << " at " << i;
        }
        for (std::size_t i = dst_skew + n; i < dst.size(); ++i) ASSERT_EQ(dst[i], 0xEE) << "after, n " << n;
      }
    }
  }
}

}  // namespace
}  // namespace getmfs
