// Verification: an object's verdict and the waits for it (verification.h).
#include "fetch/verification.h"

namespace getmfs::fetch {

const char* VerdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::kPending: return "pending";
    case Verdict::kVerified: return "verified";
    case Verdict::kFailed: return "failed";
    case Verdict::kUnverified: return "unverified";
  }
  return "?";
}

Verification::Verification(integrity::Expected expected, std::uint64_t object_size, std::uint64_t blocks)
    : verifier_(std::move(expected), object_size),
      needs_bytes_(verifier_.NeedsBytes()),
      crcs_(blocks, 0),
      have_(blocks, false) {
  if (!verifier_.expected().known()) verdict_ = Verdict::kUnverified;
}

Verdict Verification::verdict() const {
  std::scoped_lock lock(mu_);
  return verdict_;
}

Verdict Verification::WaitProgress(Deadline deadline) {
  std::unique_lock lock(mu_);
  std::uint64_t fed_before = next_;
  cv_.wait_until(lock, deadline, [&] { return verdict_ != Verdict::kPending || stuck_ || next_ != fed_before; });
  return verdict_;
}

std::uint64_t Verification::fed() const {
  std::scoped_lock lock(mu_);
  return next_;
}

bool Verification::complete() const {
  std::scoped_lock lock(mu_);
  return have_blocks_ == have_.size();
}

std::uint64_t Verification::bytes_present() const {
  std::scoped_lock lock(mu_);
  return have_bytes_;
}

}  // namespace getmfs::fetch
