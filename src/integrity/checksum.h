// Whole-object checksums: what is expected (from headers, the manifest or the user), and a
// Verifier fed the object's bytes in order.
#ifndef GETMFS_INTEGRITY_CHECKSUM_H_
#define GETMFS_INTEGRITY_CHECKSUM_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "util/error.h"

namespace getmfs::integrity {

enum class Algorithm {
  kNone,       // nothing known: the transfer is unverified
  kMd5,        // hex digest
  kSha256,     // hex digest
  kCrc32c,     // 8 hex digits, big-endian (as `crc32c` tools print)
  kGsCrc32c,   // base64 of the big-endian 4 bytes, as GCS's x-goog-hash crc32c=
  kS3Etag,     // md5 hex, or "<md5 of the part md5s>-N" for multipart uploads
};

// "md5", "sha256", "crc32c", "gs_crc32c", "s3_etag", "null".
const char* AlgorithmName(Algorithm algorithm);

struct Expected {
  Algorithm algorithm = Algorithm::kNone;
  // Normalised: lowercase hex for md5/sha256/crc32c/s3_etag ("hex" or "hex-N"); for gs_crc32c
  // also lowercase hex (8 digits), converted from base64 on input.
  std::string value;
  std::string source;               // "x-goog-hash", "Content-MD5", "ETag (S3)", "manifest", ...
  std::size_t s3_part_size = 0;     // multipart layout given by the user; 0 = guess
  bool known() const { return algorithm != Algorithm::kNone; }
  std::string Display() const;      // as the user would write it, e.g. base64 for gs_crc32c
};

// Parses a checksum the user gave (--checksum/--checksum-algorithm, getm's JSON manifest, or
// urls.txt keys). algorithm "null" returns kNone (verification disabled on purpose).
// Accepts hex or base64 for md5 and gs_crc32c. Errors are kBadInput and say what is wrong.
Result<Expected> ParseUserChecksum(const std::string& algorithm_name, const std::string& value,
                                   const std::string& source);

// Response headers, names lowercased, values trimmed; repeated headers joined by ", ".
using HeaderMap = std::map<std::string, std::string>;

// The best checksum the server's headers offer, in this order: x-goog-hash crc32c,
// x-goog-hash md5, Content-MD5, then an S3 ETag -- only when the response comes from S3
// (`Server: AmazonS3` or any `x-amz-` header) and not SSE-KMS/SSE-C encrypted, whose ETags are
// not MD5s. Returns kNone when there is none.
Expected ChooseFromHeaders(const HeaderMap& headers);

// CRC32C (Castagnoli), as GCS and `crc32c` tools compute it: Crc32c(0, "123456789", 9) ==
// 0xE3069283. Chainable: Crc32c(Crc32c(0, a), b) == crc of a||b.
std::uint32_t Crc32c(std::uint32_t crc, const void* data, std::size_t n);
// The CRC32C of a||b from crc(a), crc(b) and len(b).
std::uint32_t Crc32cCombine(std::uint32_t crc_a, std::uint32_t crc_b, std::uint64_t len_b);

// Feeds an object's bytes in order and compares with the expected value at the end.
class Verifier {
 public:
  Verifier(Expected expected, std::uint64_t object_size);
  ~Verifier();
  Verifier(const Verifier&) = delete;
  Verifier& operator=(const Verifier&) = delete;

  // The next n bytes of the object. crc32c_of_data, when the caller already has it (a block
  // checked out of the cache), spares the crc32c algorithms a pass over the bytes.
  void Update(const void* data, std::size_t n);
  void Update(const void* data, std::size_t n, std::uint32_t crc32c_of_data);
  // Whether Update() needs the bytes at all (false for crc32c/gs_crc32c/none).
  bool NeedsBytes() const;
  // kIntegrity error naming the algorithm, the expected and the actual value, and the source;
  // also an error when the bytes fed differ from object_size.
  Status Finish();
  const Expected& expected() const;

 private:
  struct State;
  static Status S3EtagVerdict(State& s);
  std::unique_ptr<State> state_;
};

}  // namespace getmfs::integrity

#endif  // GETMFS_INTEGRITY_CHECKSUM_H_
