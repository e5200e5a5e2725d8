#include "support/temp_dir.h"

#include <fcntl.h>
#include <ftw.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <system_error>
#include <vector>

namespace getmfs::testing {
namespace {

constexpr std::size_t kIoChunk = 1 << 20;  // a multiple of 8: see RandomStream

[[noreturn]] void ThrowErrno(const std::string& what, const std::string& path) {
  throw std::system_error(errno, std::generic_category(), what + " " + path);
}

// Produces the byte stream shared by WriteRandomFile and RandomBytes. Fill()
// must be called with multiples of 8 except for the final call.
class RandomStream {
 public:
  explicit RandomStream(std::uint64_t seed) {
    std::uint64_t z = seed + 0x9E3779B97F4A7C15ULL;  // splitmix64
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    state_ = (z ^ (z >> 31)) | 1;  // xorshift state must be non-zero
  }

  void Fill(unsigned char* out, std::size_t n) {
    while (n > 0) {
      state_ ^= state_ >> 12;
      state_ ^= state_ << 25;
      state_ ^= state_ >> 27;
      std::uint64_t word = state_ * 0x2545F4914F6CDD1DULL;
      std::size_t take = n < 8 ? n : 8;
      for (std::size_t i = 0; i < take; ++i) out[i] = static_cast<unsigned char>(word >> (8 * i));
      out += take;
      n -= take;
    }
  }

 private:
  std::uint64_t state_;
};

void CreateParentDirs(const std::string& path) {
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (parent.empty()) return;
  std::error_code ec;
  std::filesystem::create_directories(parent, ec);
  if (ec) throw std::system_error(ec, "create_directories " + parent.string());
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // Closes now, reporting the result (a write error may surface only here).
  int Close() {
    int rc = close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

void WriteAll(int fd, const unsigned char* data, std::size_t n, const std::string& path) {
  while (n > 0) {
    ssize_t w = write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      ThrowErrno("write", path);
    }
    data += w;
    n -= static_cast<std::size_t>(w);
  }
}

template <auto Fn>
struct Deleter {
  template <class T>
  void operator()(T* p) const {
    Fn(p);
  }
};
using EvpMdCtx = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX_free>>;

class Md5 {
 public:
  Md5() : ctx_(EVP_MD_CTX_new()) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_md5(), nullptr) != 1) {
      throw std::runtime_error("EVP md5 init failed");
    }
  }
  void Update(const void* data, std::size_t n) {
    if (EVP_DigestUpdate(ctx_.get(), data, n) != 1) throw std::runtime_error("EVP md5 update");
  }
  std::string FinalHex() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(ctx_.get(), digest, &len) != 1) {
      throw std::runtime_error("EVP md5 final");
    }
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < len; ++i) {
      out += kHex[digest[i] >> 4];
      out += kHex[digest[i] & 15];
    }
    return out;
  }

 private:
  EvpMdCtx ctx_;
};

int RemoveEntry(const char* path, const struct stat* /*st*/, int type, struct FTW* /*ftw*/) {
  if (type == FTW_DP) {
    rmdir(path);
  } else {
    unlink(path);
  }
  return 0;  // keep going: remove as much as possible
}

}  // namespace

TempDir::TempDir(const std::string& prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string templ = std::string(base && *base ? base : "/tmp") + "/" + prefix + "XXXXXX";
  std::vector<char> buffer(templ.begin(), templ.end());
  buffer.push_back('\0');
  if (mkdtemp(buffer.data()) == nullptr) ThrowErrno("mkdtemp", templ);
  path_ = buffer.data();
}

TempDir::~TempDir() {
  // Depth first, physical (no symlink following), same file system only.
  nftw(path_.c_str(), RemoveEntry, 64, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

std::string TempDir::Path(const std::string& relative) const { return path_ + "/" + relative; }

void WriteRandomFile(const std::string& path, std::uint64_t size, std::uint64_t seed) {
  CreateParentDirs(path);
  Fd fd(open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (fd.get() < 0) ThrowErrno("open", path);
  RandomStream stream(seed);
  std::vector<unsigned char> buffer(kIoChunk);
  while (size > 0) {
    std::size_t n = size < kIoChunk ? static_cast<std::size_t>(size) : kIoChunk;
    stream.Fill(buffer.data(), n);
    WriteAll(fd.get(), buffer.data(), n, path);
    size -= n;
  }
  if (fd.Close() != 0) ThrowErrno("close", path);
}

std::string RandomBytes(std::size_t size, std::uint64_t seed) {
  std::string out(size, '\0');
  RandomStream(seed).Fill(reinterpret_cast<unsigned char*>(out.data()), size);
  return out;
}

void WriteFile(const std::string& path, std::string_view data) {
  CreateParentDirs(path);
  Fd fd(open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (fd.get() < 0) ThrowErrno("open", path);
  WriteAll(fd.get(), reinterpret_cast<const unsigned char*>(data.data()), data.size(), path);
  if (fd.Close() != 0) ThrowErrno("close", path);
}

std::string ReadFile(const std::string& path) {
  Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) ThrowErrno("open", path);
  std::string out;
  std::vector<char> buffer(kIoChunk);
  for (;;) {
    ssize_t n = read(fd.get(), buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      ThrowErrno("read", path);
    }
    if (n == 0) break;
    out.append(buffer.data(), static_cast<std::size_t>(n));
  }
  return out;
}

std::string FileMd5Hex(const std::string& path) {
  Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) ThrowErrno("open", path);
  Md5 md5;
  std::vector<char> buffer(kIoChunk);
  for (;;) {
    ssize_t n = read(fd.get(), buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      ThrowErrno("read", path);
    }
    if (n == 0) break;
    md5.Update(buffer.data(), static_cast<std::size_t>(n));
  }
  return md5.FinalHex();
}

std::string Md5Hex(std::string_view data) {
  Md5 md5;
  md5.Update(data.data(), data.size());
  return md5.FinalHex();
}

}  // namespace getmfs::testing
