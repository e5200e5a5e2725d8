// S3 ETags of multipart uploads: the MD5 of the parts' binary MD5s, then "-<parts>".
#ifndef GETMFS_INTEGRITY_S3_ETAG_H_
#define GETMFS_INTEGRITY_S3_ETAG_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "integrity/digest.h"

namespace getmfs::integrity {

struct S3Etag {
  std::string md5_hex;      // lowercase
  std::uint64_t parts = 0;  // 0: a single PUT (plain MD5); otherwise the part count
};

// Parses "hex" or "hex-N" (any case; no quotes). nullopt when malformed.
std::optional<S3Etag> ParseS3Etag(std::string_view text);

// How many parts an object of `size` bytes has when uploaded in parts of `part_size`
// (an empty object is one empty part).
std::uint64_t S3PartCount(std::uint64_t size, std::uint64_t part_size);

// The part sizes that could have produced `parts` parts for `size` bytes, most likely
// first: common tool defaults (aws cli 8 MiB, 5, 16, 15, 64, 100, 128, 256, 512 MiB, 1 GiB),
// ceil(size / parts) rounded up to a whole MiB, and ceil(size / parts). Only sizes with
// S3PartCount(size, part_size) == parts are kept, and no two that give the same layout.
std::vector<std::uint64_t> S3PartSizeCandidates(std::uint64_t size, std::uint64_t parts);

// The multipart ETag of a byte stream cut into parts of part_size, fed in order.
class S3MultipartEtag {
 public:
  explicit S3MultipartEtag(std::uint64_t part_size);

  void Update(const void* data, std::size_t n);
  // "hex-N". Call once.
  std::string Finish();
  std::uint64_t part_size() const { return part_size_; }

 private:
  void EndPart();

  std::uint64_t part_size_;
  std::uint64_t in_part_ = 0;
  std::uint64_t parts_ = 0;
  Digest part_md5_{Digest::Kind::kMd5};
  Digest etag_md5_{Digest::Kind::kMd5};
};

}  // namespace getmfs::integrity

#endif  // GETMFS_INTEGRITY_S3_ETAG_H_
