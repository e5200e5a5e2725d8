// Temporary directories and test data files.
#ifndef GETMFS_TESTS_SUPPORT_TEMP_DIR_H_
#define GETMFS_TESTS_SUPPORT_TEMP_DIR_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace getmfs::testing {

// A fresh directory under $TMPDIR (or /tmp), removed recursively when the
// object goes away. The removal never crosses into another file system, so a
// FUSE mount left inside it is not descended into.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "getmfs-test-");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + relative.
  std::string Path(const std::string& relative) const;

 private:
  std::string path_;
};

// Deterministic pseudo-random bytes (xorshift64*, seeded through splitmix64):
// the same (size, seed) always gives the same bytes, and a shorter size gives
// a prefix of a longer one. WriteRandomFile streams them to `path` (creating
// parent directories); RandomBytes returns them.
void WriteRandomFile(const std::string& path, std::uint64_t size, std::uint64_t seed);
std::string RandomBytes(std::size_t size, std::uint64_t seed);

// Whole-file helpers; they throw std::runtime_error naming the path on failure.
void WriteFile(const std::string& path, std::string_view data);
std::string ReadFile(const std::string& path);

// Lower-case hex MD5 of a file's contents / of a string (OpenSSL EVP).
std::string FileMd5Hex(const std::string& path);
std::string Md5Hex(std::string_view data);

}  // namespace getmfs::testing

#endif  // GETMFS_TESTS_SUPPORT_TEMP_DIR_H_
