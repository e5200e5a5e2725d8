// MD5 and SHA-256 over OpenSSL EVP, fed in pieces.
#ifndef GETMFS_INTEGRITY_DIGEST_H_
#define GETMFS_INTEGRITY_DIGEST_H_

#include <openssl/evp.h>

#include <cstddef>
#include <memory>
#include <string>

#include "util/unique_fd.h"

namespace getmfs::integrity {

using EvpMdCtx = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX_free>>;

class Digest {
 public:
  enum class Kind { kMd5, kSha256 };

  // Throws std::bad_alloc if OpenSSL cannot allocate a context, getm::Error (kInternal) if
  // the algorithm is unavailable.
  explicit Digest(Kind kind);

  void Update(const void* data, std::size_t n);
  // The raw digest (16 or 32 bytes); the context is then reset for the next message.
  std::string FinishBinary();
  // The lowercase hex digest; the context is then reset for the next message.
  std::string FinishHex();

 private:
  void Init();

  const EVP_MD* md_;
  EvpMdCtx ctx_;
};

std::string Md5Hex(const void* data, std::size_t n);
std::string Sha256Hex(const void* data, std::size_t n);

}  // namespace getmfs::integrity

#endif  // GETMFS_INTEGRITY_DIGEST_H_
