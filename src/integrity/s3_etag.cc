// S3 ETags, single-part and multipart, and the part sizes a multipart ETag may have used.
#include "integrity/s3_etag.h"

#include <algorithm>
#include <charconv>

#include "integrity/encoding.h"

namespace getmfs::integrity {
namespace {

constexpr std::uint64_t kMiB = std::uint64_t{1} << 20;

// Part sizes of common upload tools, most common first.
// 8 MiB: aws cli and boto3; 5 MiB: the S3 minimum, used by many SDKs; 15 MiB: s3cmd.
constexpr std::uint64_t kToolPartSizes[] = {8 * kMiB,   5 * kMiB,   16 * kMiB,  15 * kMiB,
                                            64 * kMiB,  100 * kMiB, 128 * kMiB, 256 * kMiB,
                                            512 * kMiB, 1024 * kMiB};

// S3 allows 10,000 parts; leave room for other stores without risking overflow.
constexpr std::uint64_t kMaxParts = 1'000'000;

std::uint64_t CeilDiv(std::uint64_t a, std::uint64_t b) { return a / b + (a % b != 0 ? 1 : 0); }

}  // namespace

std::optional<S3Etag> ParseS3Etag(std::string_view text) {
  S3Etag etag;
  auto dash = text.find('-');
  std::string_view hex = text.substr(0, dash);
  if (!IsHex(hex, 32)) return std::nullopt;
  etag.md5_hex = ToLower(hex);
  if (dash == std::string_view::npos) return etag;
  std::string_view count = text.substr(dash + 1);
  if (count.empty() || count.size() > 7 || count[0] == '0') return std::nullopt;
  auto [end, ec] = std::from_chars(count.data(), count.data() + count.size(), etag.parts);
  if (ec != std::errc() || end != count.data() + count.size()) return std::nullopt;
  if (etag.parts == 0 || etag.parts > kMaxParts) return std::nullopt;
  return etag;
}

std::uint64_t S3PartCount(std::uint64_t size, std::uint64_t part_size) {
  if (size == 0) return 1;
  return CeilDiv(size, part_size);
}

std::vector<std::uint64_t> S3PartSizeCandidates(std::uint64_t size, std::uint64_t parts) {
  std::vector<std::uint64_t> candidates;
  if (parts == 0) return candidates;
  std::uint64_t even = std::max<std::uint64_t>(CeilDiv(size, parts), 1);
  std::vector<std::uint64_t> proposals(std::begin(kToolPartSizes), std::end(kToolPartSizes));
  proposals.push_back(CeilDiv(even, kMiB) * kMiB);
  proposals.push_back(even);
  for (std::uint64_t part_size : proposals) {
    // 0: rounding `even` up to a whole MiB wrapped (a size near 2^64, as a server may claim).
    if (part_size == 0 || S3PartCount(size, part_size) != parts) continue;
    // One part: every part size >= size gives the same (single-part) layout.
    if (parts == 1) part_size = std::max<std::uint64_t>(size, 1);
    if (std::find(candidates.begin(), candidates.end(), part_size) != candidates.end()) continue;
    candidates.push_back(part_size);
  }
  return candidates;
}

S3MultipartEtag::S3MultipartEtag(std::uint64_t part_size)
    : part_size_(std::max<std::uint64_t>(part_size, 1)) {}

void S3MultipartEtag::Update(const void* data, std::size_t n) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  while (n > 0) {
    std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(n, part_size_ - in_part_));
    part_md5_.Update(bytes, take);
    bytes += take;
    n -= take;
    in_part_ += take;
    if (in_part_ == part_size_) EndPart();
  }
}

void S3MultipartEtag::EndPart() {
  std::string part_digest = part_md5_.FinishBinary();
  etag_md5_.Update(part_digest.data(), part_digest.size());
  ++parts_;
  in_part_ = 0;
}

std::string S3MultipartEtag::Finish() {
  if (in_part_ > 0 || parts_ == 0) EndPart();
  return etag_md5_.FinishHex() + "-" + std::to_string(parts_);
}

}  // namespace getmfs::integrity
