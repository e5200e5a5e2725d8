// CRC32C via isa-l, and combining two CRCs by multiplying by x^(8n) mod P (zlib's method),
// which takes O(log n) steps for any length.
#include <isa-l/crc.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstdint>

#include "integrity/checksum.h"

namespace getmfs::integrity {
namespace {

// The Castagnoli polynomial, bit-reflected.
constexpr std::uint32_t kPolynomial = 0x82f63b78;
// crc32_iscsi takes an int length.
constexpr std::size_t kMaxIsalLength = std::size_t{1} << 30;

// a * b mod P, both as reflected polynomials (bit 31 is x^0).
constexpr std::uint32_t MultiplyModP(std::uint32_t a, std::uint32_t b) {
  std::uint32_t m = std::uint32_t{1} << 31;
  std::uint32_t p = 0;
  while (m != 0) {
    if (a & m) p ^= b;
    m >>= 1;
    b = (b & 1) ? (b >> 1) ^ kPolynomial : b >> 1;
  }
  return p;
}

// kPowers[k] = x^(2^k) mod P, for k up to 3 + 63 (x^(8n) with any 64-bit n).
constexpr std::size_t kNumPowers = 67;
constexpr std::array<std::uint32_t, kNumPowers> MakePowers() {
  std::array<std::uint32_t, kNumPowers> powers{};
  std::uint32_t p = std::uint32_t{1} << 30;  // x^1
  for (auto& power : powers) {
    power = p;
    p = MultiplyModP(p, p);
  }
  return powers;
}

constexpr std::array<std::uint32_t, kNumPowers> kPowers = MakePowers();

// x^(8 * n) mod P.
std::uint32_t XPow8n(std::uint64_t n) {
  std::uint32_t p = std::uint32_t{1} << 31;  // x^0
  for (unsigned k = 3; n != 0; n >>= 1, ++k) {
    if (n & 1) p = MultiplyModP(kPowers[k], p);
  }
  return p;
}

}  // namespace

std::uint32_t Crc32c(std::uint32_t crc, const void* data, std::size_t n) {
  // isa-l's crc32_iscsi neither inverts the initial value nor the result; the CRC32C that
  // GCS and `crc32c` tools give does both.
  auto* bytes = const_cast<unsigned char*>(static_cast<const unsigned char*>(data));
  std::uint32_t state = ~crc;
  while (n > 0) {
    std::size_t take = std::min(n, kMaxIsalLength);
    state = crc32_iscsi(bytes, static_cast<int>(take), state);
    bytes += take;
    n -= take;
  }
  return ~state;
}

std::uint32_t Crc32cCombine(std::uint32_t crc_a, std::uint32_t crc_b, std::uint64_t len_b) {
  return MultiplyModP(XPow8n(len_b), crc_a) ^ crc_b;
}

}  // namespace getmfs::integrity
