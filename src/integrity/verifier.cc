// Verifier: hashes an object's bytes as they arrive and compares at the end.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "integrity/checksum.h"
#include "integrity/digest.h"
#include "integrity/encoding.h"
#include "integrity/s3_etag.h"

namespace getmfs::integrity {

struct Verifier::State {
  Expected expected;
  std::uint64_t object_size = 0;
  std::uint64_t bytes_fed = 0;
  std::uint32_t crc = 0;                         // crc32c, gs_crc32c
  std::optional<Digest> digest;                  // md5, sha256, single-part s3_etag
  std::vector<S3MultipartEtag> etag_candidates;  // multipart s3_etag: one per part size
  std::string setup_error;                       // the check cannot be done at all
  std::optional<Status> result;                  // Finish() is idempotent
};

namespace {

bool IsCrc(Algorithm algorithm) {
  return algorithm == Algorithm::kCrc32c || algorithm == Algorithm::kGsCrc32c;
}

std::string SourceSuffix(const Expected& expected) {
  return expected.source.empty() ? std::string() : "; source " + expected.source;
}

Error Mismatch(const Expected& expected, const std::string& expected_text,
               const std::string& actual_text, const std::string& detail = "") {
  return Error{ErrorKind::kIntegrity, std::string("checksum mismatch: ") +
                                          AlgorithmName(expected.algorithm) + " expected " +
                                          expected_text + ", got " + actual_text + detail +
                                          SourceSuffix(expected)};
}

}  // namespace

Verifier::Verifier(Expected expected, std::uint64_t object_size)
    : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.expected = std::move(expected);
  s.object_size = object_size;
  switch (s.expected.algorithm) {
    case Algorithm::kNone:
    case Algorithm::kCrc32c:
    case Algorithm::kGsCrc32c: break;
    case Algorithm::kMd5: s.digest.emplace(Digest::Kind::kMd5); break;
    case Algorithm::kSha256: s.digest.emplace(Digest::Kind::kSha256); break;
    case Algorithm::kS3Etag: {
      auto etag = ParseS3Etag(s.expected.value);
      if (!etag) {
        s.setup_error = "cannot verify S3 ETag \"" + s.expected.value + "\": not an MD5 ETag";
      } else if (etag->parts == 0) {
        s.digest.emplace(Digest::Kind::kMd5);
      } else if (s.expected.s3_part_size != 0) {
        s.etag_candidates.emplace_back(s.expected.s3_part_size);
      } else {
        for (std::uint64_t part_size : S3PartSizeCandidates(object_size, etag->parts)) {
          s.etag_candidates.emplace_back(part_size);
        }
        if (s.etag_candidates.empty()) {
          s.setup_error = "cannot verify S3 multipart ETag " + s.expected.value +
                          ": no part size consistent with size " + std::to_string(object_size) +
                          "; pass --s3-part-size";
        }
      }
      break;
    }
  }
}

Verifier::~Verifier() = default;

const Expected& Verifier::expected() const { return state_->expected; }

bool Verifier::NeedsBytes() const {
  Algorithm algorithm = state_->expected.algorithm;
  return algorithm != Algorithm::kNone && !IsCrc(algorithm);
}

void Verifier::Update(const void* data, std::size_t n) {
  State& s = *state_;
  s.bytes_fed += n;
  if (n == 0) return;
  if (IsCrc(s.expected.algorithm)) {
    s.crc = Crc32c(s.crc, data, n);
    return;
  }
  if (s.digest) s.digest->Update(data, n);
  for (S3MultipartEtag& candidate : s.etag_candidates) candidate.Update(data, n);
}

void Verifier::Update(const void* data, std::size_t n, std::uint32_t crc32c_of_data) {
  State& s = *state_;
  if (IsCrc(s.expected.algorithm)) {
    s.bytes_fed += n;
    s.crc = Crc32cCombine(s.crc, crc32c_of_data, n);
    return;
  }
  Update(data, n);
}

// An S3 ETag: a plain MD5, or the multipart form under each candidate part size.
Status Verifier::S3EtagVerdict(State& s) {
  const Expected& expected = s.expected;
  if (s.digest) {
    std::string actual = s.digest->FinishHex();
    if (actual == expected.value) return Ok{};
    return Mismatch(expected, expected.value, actual);
  }
  std::vector<std::string> actuals;
  for (S3MultipartEtag& candidate : s.etag_candidates) {
    actuals.push_back(candidate.Finish());
    if (actuals.back() == expected.value) return Ok{};
  }
  std::string detail = " (part size " + std::to_string(s.etag_candidates[0].part_size());
  if (expected.s3_part_size == 0) {
    detail += ", guessed";
    for (std::size_t i = 1; i < actuals.size(); ++i) {
      detail += i == 1 ? "; also tried part size " : ", ";
      detail += std::to_string(s.etag_candidates[i].part_size()) + " -> " + actuals[i];
    }
  }
  detail += ")";
  return Mismatch(expected, expected.value, actuals[0], detail);
}

Status Verifier::Finish() {
  State& s = *state_;
  if (s.result) return *s.result;
  const Expected& expected = s.expected;
  auto finish = [&]() -> Status {
    if (expected.algorithm == Algorithm::kNone) return Ok{};
    if (s.bytes_fed != s.object_size) {
      return Error{ErrorKind::kIntegrity, "size mismatch: expected " +
                                              std::to_string(s.object_size) + " bytes, got " +
                                              std::to_string(s.bytes_fed) + SourceSuffix(expected)};
    }
    if (!s.setup_error.empty()) {
      return Error{ErrorKind::kIntegrity, s.setup_error + SourceSuffix(expected)};
    }
    switch (expected.algorithm) {
      case Algorithm::kNone: return Ok{};
      case Algorithm::kCrc32c: {
        std::string actual = Crc32cHex(s.crc);
        if (actual == expected.value) return Ok{};
        return Mismatch(expected, expected.value, actual);
      }
      case Algorithm::kGsCrc32c: {
        std::string actual = Crc32cHex(s.crc);
        if (actual == expected.value) return Ok{};
        return Mismatch(expected, "\"" + expected.Display() + "\" (" + expected.value + ")",
                        "\"" + Crc32cBase64(s.crc) + "\" (" + actual + ")");
      }
      case Algorithm::kMd5:
      case Algorithm::kSha256: {
        std::string actual = s.digest->FinishHex();
        if (actual == expected.value) return Ok{};
        return Mismatch(expected, expected.value, actual);
      }
      case Algorithm::kS3Etag: return S3EtagVerdict(s);
    }
    return Error{ErrorKind::kInternal, "unhandled checksum algorithm"};
  };
  s.result = finish();
  return *s.result;
}

}  // namespace getmfs::integrity
