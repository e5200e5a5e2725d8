// What the fs::FileSystem tests share: the sizes of the test data, reads made the way the
// kernel makes them (ReadAt, ReadToEnd), the errno and message of a failed result, and the
// FileSystemTest fixture (the test origin with the test data, and a file system per test,
// mounted over a manifest's text).
#ifndef GETMFS_TESTS_ENGINE_FILE_SYSTEM_FIXTURE_H_
#define GETMFS_TESTS_ENGINE_FILE_SYSTEM_FIXTURE_H_

#include <fcntl.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "fs/file_system.h"
#include "manifest/manifest.h"
#include "support/origin.h"
#include "support/temp_dir.h"
#include "util/error.h"

namespace getmfs::testing {

using Clock = std::chrono::steady_clock;
using fs::FileSystem;

inline constexpr std::uint64_t kKiB = 1 << 10;
inline constexpr std::uint64_t kMiB = 1 << 20;
inline constexpr std::size_t kReadSize = 128 * kKiB;   // what the kernel asks for at a time
inline constexpr std::uint64_t kBlockSize = 64 * kKiB;

inline constexpr std::uint64_t kBigSize = 5 * kMiB + 12345;
inline constexpr std::uint64_t kS3Size = 3 * kMiB + 7;
inline constexpr std::uint64_t kTailSize = 3 * kMiB + 777;
inline constexpr std::uint64_t kCorruptSize = 2 * kMiB + 5;
inline constexpr std::uint64_t kSlowSize = 32 * kMiB;
inline constexpr std::uint64_t kKeepSize = 4 * kMiB + 9;
inline constexpr std::uint64_t kFaultSize = 2 * kMiB + 5;

inline double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The errno of a failed result; 0 when it succeeded.
template <class T>
inline int ErrnoOfResult(const Result<T>& result) {
  return result ? 0 : ErrnoOf(result.error());
}

// What a failed result says, for assertion messages.
template <class T>
inline std::string Why(const Result<T>& result) {
  return result ? std::string("(no error)") : result.error().message;
}

// One read through the facade, as the FUSE layer makes it: the pieces are copied out of the
// shared memory (the FUSE layer writes them to the kernel) and then released.
inline Result<std::string> ReadAt(FileSystem& filesystem, std::uint64_t ino, std::uint64_t handle,
                                  std::uint64_t offset, std::size_t size) {
  auto data = filesystem.Read(ino, handle, offset, size);
  if (!data) return data.error();
  std::string out;
  out.reserve(data->total);
  for (const auto& piece : data->pieces) {
    EXPECT_NE(piece.data, nullptr);
    out.append(reinterpret_cast<const char*>(piece.data), piece.size);
  }
  filesystem.ReleaseRead(*data);
  EXPECT_EQ(out.size(), data->total) << "the pieces do not add up to the read's total";
  EXPECT_LE(out.size(), size);
  return out;
}

// Reads from `offset` to the end in kernel-sized reads, until a read returns nothing. Only
// the last read before the end may be short (a short read is EOF to the kernel).
inline Result<std::string> ReadToEnd(FileSystem& filesystem, std::uint64_t ino, std::uint64_t handle,
                                     std::uint64_t offset = 0, std::size_t chunk = kReadSize) {
  std::string out;
  bool short_read = false;
  for (;;) {
    auto piece = ReadAt(filesystem, ino, handle, offset + out.size(), chunk);
    if (!piece) return piece.error();
    if (piece->empty()) return out;
    EXPECT_FALSE(short_read) << "bytes after a short read at " << offset + out.size();
    short_read = piece->size() < chunk;
    out += *piece;
  }
}

class FileSystemTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    data_ = new TempDir("getmfs-fs-data-");
    WriteRandomFile(data_->Path("big.bin"), kBigSize, 31);
    WriteRandomFile(data_->Path("s3.bin"), kS3Size, 32);
    WriteRandomFile(data_->Path("tail.bin"), kTailSize, 33);
    WriteRandomFile(data_->Path("corrupt.bin"), kCorruptSize, 34);
    WriteRandomFile(data_->Path("slow.bin"), kSlowSize, 35);
    WriteRandomFile(data_->Path("keep.bin"), kKeepSize, 36);
    WriteRandomFile(data_->Path("reload/keep-copy.bin"), kKeepSize, 36);   // the same bytes
    WriteRandomFile(data_->Path("gone.bin"), 100000, 37);
    WriteRandomFile(data_->Path("new.bin"), 200000, 38);
    WriteRandomFile(data_->Path("fault.bin"), kFaultSize, 39);
    WriteRandomFile(data_->Path("tree/a.bin"), 1000, 40);
    WriteRandomFile(data_->Path("tree/b.bin"), 300000, 41);
    WriteRandomFile(data_->Path("tree/dir/c.txt"), 10, 42);
    origin_ = Origin::Start(data_->path()).release();
  }
  static void TearDownTestSuite() {
    delete origin_;
    origin_ = nullptr;
    delete data_;
    data_ = nullptr;
  }

  void SetUp() override { origin_->Reset(); }
  void TearDown() override { filesystem_.reset(); }

  static fs::MountOptions Options() {
    fs::MountOptions options;
    options.block_size = kBlockSize;
    options.cache_size = 16 * kMiB;
    options.max_readahead = 2 * kMiB;
    options.timeout_seconds = 10;
    return options;
  }

  static manifest::Manifest Parse(const std::string& text) {
    auto parsed = manifest::ParseManifestText(text, "urls.txt");
    EXPECT_TRUE(parsed) << Why(parsed);
    return parsed ? *parsed : manifest::Manifest{};
  }

  // Builds and starts filesystem_ over the manifest text (replacing any previous one).
  void Mount(const std::string& text, fs::MountOptions options = Options()) {
    filesystem_.reset();
    auto parsed = manifest::ParseManifestText(text, "urls.txt");
    ASSERT_TRUE(parsed) << Why(parsed);
    auto created = FileSystem::Create(*parsed, options);
    ASSERT_TRUE(created) << Why(created);
    filesystem_ = std::move(*created);
    Status started = filesystem_->Start();
    ASSERT_TRUE(started) << Why(started);
  }

  // The inode of a path ("a/b/c") by lookups from the root, as the kernel resolves it.
  Result<fs::Attr> LookupPath(const std::string& path) {
    std::uint64_t parent = FileSystem::kRootIno;
    std::size_t start = 0;
    for (;;) {
      std::size_t slash = path.find('/', start);
      auto attr = filesystem_->Lookup(parent, path.substr(start, slash - start));
      if (!attr || slash == std::string::npos) return attr;
      parent = attr->ino;
      start = slash + 1;
    }
  }

  // Looks the path up, opens it, reads it whole from `offset` and releases it.
  Result<std::string> ReadFileAt(const std::string& path, std::uint64_t offset = 0) {
    auto attr = LookupPath(path);
    if (!attr) return attr.error();
    auto opened = filesystem_->Open(attr->ino, O_RDONLY);
    if (!opened) return opened.error();
    auto bytes = ReadToEnd(*filesystem_, attr->ino, opened->handle, offset);
    filesystem_->Release(opened->handle);
    return bytes;
  }

  // An extended attribute's value, or "(why it failed)".
  std::string Xattr(std::uint64_t ino, const std::string& name) {
    auto value = filesystem_->GetXattr(ino, name);
    return value ? *value : "(" + Why(value) + ")";
  }
  std::string Verdict(std::uint64_t ino) { return Xattr(ino, "user.getmfs.verified"); }

  static std::string Src(const std::string& path) { return data_->Path(path); }
  static std::string Source(const std::string& path) { return ReadFile(Src(path)); }
  static std::string Md5Of(const std::string& path) { return FileMd5Hex(Src(path)); }

  inline static TempDir* data_ = nullptr;
  inline static Origin* origin_ = nullptr;
  std::unique_ptr<FileSystem> filesystem_;
};

}  // namespace getmfs::testing

#endif  // GETMFS_TESTS_ENGINE_FILE_SYSTEM_FIXTURE_H_
