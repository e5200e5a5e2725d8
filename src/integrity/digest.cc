// MD5 and SHA-256 through OpenSSL EVP.
#include "integrity/digest.h"

#include <new>

#include "integrity/encoding.h"
#include "util/error.h"

namespace getmfs::integrity {

Digest::Digest(Kind kind)
    : md_(kind == Kind::kMd5 ? EVP_md5() : EVP_sha256()), ctx_(EVP_MD_CTX_new()) {
  if (!ctx_) throw std::bad_alloc();
  Init();
}

void Digest::Init() {
  // Fails only when the algorithm is unavailable (a FIPS provider without MD5).
  if (EVP_DigestInit_ex(ctx_.get(), md_, nullptr) != 1) {
    Throw(Error{ErrorKind::kInternal,
                std::string("OpenSSL cannot compute ") + EVP_MD_get0_name(md_)});
  }
}

void Digest::Update(const void* data, std::size_t n) {
  if (n == 0) return;
  EVP_DigestUpdate(ctx_.get(), data, n);
}

std::string Digest::FinishBinary() {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_.get(), out, &len);
  Init();
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string Digest::FinishHex() {
  std::string binary = FinishBinary();
  return HexEncode(binary.data(), binary.size());
}

std::string Md5Hex(const void* data, std::size_t n) {
  Digest digest(Digest::Kind::kMd5);
  digest.Update(data, n);
  return digest.FinishHex();
}

std::string Sha256Hex(const void* data, std::size_t n) {
  Digest digest(Digest::Kind::kSha256);
  digest.Update(data, n);
  return digest.FinishHex();
}

}  // namespace getmfs::integrity
