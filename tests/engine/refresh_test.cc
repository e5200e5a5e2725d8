// Signed URLs that expire while a mount reads them (fs::FileSystem without FUSE): with a
// refresh command the reader sees nothing; without one its read fails with EKEYEXPIRED.
// The expiry is shown in the status and the xattrs.
#include <fcntl.h>
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "fs/file_system.h"
#include "manifest/manifest.h"
#include "support/origin.h"
#include "support/temp_dir.h"

namespace getmfs::testing {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::uint64_t kMiB = 1 << 20;
constexpr std::uint64_t kSize = 6 * kMiB + 9;

class RefreshTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    data_ = new TempDir("getmfs-refresh-");
    WriteRandomFile(data_->Path("slow.bin"), kSize, 91);
    origin_ = Origin::Start(data_->path()).release();
  }
  static void TearDownTestSuite() {
    delete origin_;
    delete data_;
  }
  void SetUp() override {
    origin_->Reset();
    // Signatures required, and 1 MiB/s: a read of the file outlives its URL's 3 s.
    origin_->Configure({{"path", "/slow.bin"}, {"emulate", "s3"}, {"require_signature", true},
                        {"faults", {{{"type", "bandwidth"}, {"bytes_per_second", 1 << 20}}}}});
  }

  // A manifest line with a URL that lives `seconds`.
  static std::string Line(int seconds) {
    return origin_->Presign("/slow.bin", seconds) + " slow.bin size=" + std::to_string(kSize) + " md5=" +
           FileMd5Hex(data_->Path("slow.bin")) + "\n";
  }
  // A command that prints such a manifest, as a user's script would (curl to the signer).
  static std::string RefreshCommand(int seconds) {
    return "curl -sf '" + origin_->BaseUrl() + "/__control__/sign?path=/slow.bin&expires=" + std::to_string(seconds) +
           "&emulate=s3' | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"url\"], \"slow.bin size=" +
           std::to_string(kSize) + " md5=" + FileMd5Hex(data_->Path("slow.bin")) + "\")'";
  }

  std::unique_ptr<fs::FileSystem> Mount(const std::string& text, fs::MountOptions options) {
    auto manifest = manifest::ParseManifestText(text, "urls.txt");
    EXPECT_TRUE(manifest) << manifest.error().message;
    options.block_size = 64 << 10;
    options.cache_size = 32 * kMiB;
    options.max_readahead = 1 * kMiB;
    options.concurrency = 2;
    auto filesystem = fs::FileSystem::Create(*manifest, options);
    EXPECT_TRUE(filesystem) << filesystem.error().message;
    EXPECT_TRUE((*filesystem)->Start());
    return std::move(*filesystem);
  }

  // Reads the whole file in 128 KiB reads: the bytes, or the errno of the first failure.
  static Result<std::string> ReadAll(fs::FileSystem& filesystem) {
    auto attr = filesystem.Lookup(fs::FileSystem::kRootIno, "slow.bin");
    if (!attr) return attr.error();
    auto opened = filesystem.Open(attr->ino, O_RDONLY);
    if (!opened) return opened.error();
    std::string out;
    for (;;) {
      auto data = filesystem.Read(attr->ino, opened->handle, out.size(), 128 << 10);
      if (!data) {
        filesystem.Release(opened->handle);
        return data.error();
      }
      for (const auto& piece : data->pieces) out.append(reinterpret_cast<const char*>(piece.data), piece.size);
      std::size_t n = data->total;
      filesystem.ReleaseRead(*data);
      if (n == 0) break;
    }
    filesystem.Release(opened->handle);
    return out;
  }

  static TempDir* data_;
  static Origin* origin_;
};

TempDir* RefreshTest::data_ = nullptr;
Origin* RefreshTest::origin_ = nullptr;

TEST_F(RefreshTest, WithARefreshCommandAReadOutlivesItsUrls) {
  fs::MountOptions options;
  options.timeout_seconds = 20;
  options.refresh.command = RefreshCommand(3);
  options.refresh.source = fs::ManifestSource(options.refresh, "urls.txt", {}, false);
  auto filesystem = Mount(Line(3), options);
  auto start = Clock::now();
  auto got = ReadAll(*filesystem);
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_GT(Clock::now() - start, std::chrono::seconds(4)) << "the read did not outlive its URL: proves nothing";
  EXPECT_TRUE(*got == ReadFile(data_->Path("slow.bin"))) << "other bytes than the source";
  auto attr = filesystem->Lookup(fs::FileSystem::kRootIno, "slow.bin");
  EXPECT_EQ(filesystem->GetXattr(attr->ino, "user.getmfs.verified").ValueOrThrow(), "verified");
  // What /metrics is made of: the totals of `getmfs status`, without an entry per file.
  nlohmann::json totals = filesystem->StatusReport(fs::StatusDetail::kTotals);
  nlohmann::json full = filesystem->StatusReport(fs::StatusDetail::kFiles);
  EXPECT_FALSE(totals.contains("files"));
  EXPECT_EQ(full["files"].size(), 1u);
  EXPECT_EQ(totals["totals"], full["totals"]);
  EXPECT_GE(totals["totals"]["bytes_fetched"].get<std::uint64_t>(), kSize);
  EXPECT_EQ(totals["totals"]["states"]["verified"], 1);
  EXPECT_GE(totals["refresh"]["applied"].get<int>(), 1) << totals.dump();
  filesystem->Stop();
}

TEST_F(RefreshTest, WithoutOneTheReadFailsWithEkeyexpired) {
  fs::MountOptions options;
  options.timeout_seconds = 20;
  auto filesystem = Mount(Line(2), options);
  auto got = ReadAll(*filesystem);
  ASSERT_FALSE(got) << "a read past its URL's life succeeded without a refresh";
  EXPECT_EQ(ErrnoOf(got.error()), EKEYEXPIRED) << got.error().message;
  filesystem->Stop();
}

TEST_F(RefreshTest, ACommandThatFailsEndsInEkeyexpired) {
  fs::MountOptions options;
  options.timeout_seconds = 20;
  options.refresh.command = "echo 'cannot reach the signer' >&2; exit 3";
  options.refresh.source = fs::ManifestSource(options.refresh, "urls.txt", {}, false);
  auto filesystem = Mount(Line(2), options);
  auto got = ReadAll(*filesystem);
  ASSERT_FALSE(got);
  EXPECT_EQ(ErrnoOf(got.error()), EKEYEXPIRED) << got.error().message;
  filesystem->Stop();
}

TEST_F(RefreshTest, TheExpiryIsShown) {
  fs::MountOptions options;
  auto filesystem = Mount(Line(600) + origin_->Url("/slow.bin") + " plain.bin size=" + std::to_string(kSize) + "\n",
                          options);
  auto status = nlohmann::json::parse(filesystem->StatusJson());
  std::map<std::string, std::string> expires;
  for (const auto& f : status["files"]) expires[f["path"]] = f["expires"];
  EXPECT_EQ(expires["plain.bin"], "");
  ASSERT_EQ(expires["slow.bin"].size(), 20u) << expires["slow.bin"];   // 2026-12-01T23:00:00Z
  EXPECT_EQ(expires["slow.bin"].back(), 'Z');
  auto attr = filesystem->Lookup(fs::FileSystem::kRootIno, "slow.bin");
  EXPECT_EQ(filesystem->GetXattr(attr->ino, "user.getmfs.expires").ValueOrThrow(), expires["slow.bin"]);
  filesystem->Stop();
}

}  // namespace
}  // namespace getmfs::testing
