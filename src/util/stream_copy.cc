// StreamCopy (stream_copy.h).
#include "util/stream_copy.h"

#include <cstring>

#if defined(__x86_64__)
#include <emmintrin.h>
#endif

namespace getmfs {

void StreamCopy(std::uint8_t* dst, const std::uint8_t* src, std::size_t n) {
#if defined(__x86_64__)
  // Small copies gain nothing from bypassing the cache.
  if (n < 4096) {
    std::memcpy(dst, src, n);
    return;
  }
  // Up to the first 64-byte boundary of the destination, then whole lines, then the tail.
  std::size_t head = (64 - (reinterpret_cast<std::uintptr_t>(dst) & 63)) & 63;
  std::memcpy(dst, src, head);
  dst += head;
  src += head;
  n -= head;
  std::size_t lines = n / 64;
  for (std::size_t i = 0; i < lines; ++i, dst += 64, src += 64) {
    __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src));
    __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 16));
    __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 32));
    __m128i d = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 48));
    _mm_stream_si128(reinterpret_cast<__m128i*>(dst), a);
    _mm_stream_si128(reinterpret_cast<__m128i*>(dst + 16), b);
    _mm_stream_si128(reinterpret_cast<__m128i*>(dst + 32), c);
    _mm_stream_si128(reinterpret_cast<__m128i*>(dst + 48), d);
  }
  std::memcpy(dst, src, n % 64);
  _mm_sfence();
#else
  std::memcpy(dst, src, n);
#endif
}

}  // namespace getmfs
