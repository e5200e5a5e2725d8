// The facade (fs::FileSystem) stopped and reloaded while reads are under way: Stop() with
// read-ahead in flight on a slow origin (and with a read in progress), and a reload under an
// active reader (its bytes intact, paths added and removed, the kernel told what to forget).
#include "fs/file_system.h"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "engine/file_system_fixture.h"

namespace getmfs::testing {
namespace {

// ---------------------------------------------------------------------------------------------
// Stop and reload

// The start of the first Range header the origin saw for `path` at or after `from`, or -1.
std::int64_t FirstRangeFrom(Origin& origin, const std::string& path, std::uint64_t from) {
  const nlohmann::json stats = origin.PathStats(path);
  for (const auto& range : stats["ranges"]) {
    std::string text = range.get<std::string>();   // "bytes=A-B"
    if (text.rfind("bytes=", 0) != 0) continue;
    std::uint64_t start = std::stoull(text.substr(6));
    if (start >= from) return static_cast<std::int64_t>(start);
  }
  return -1;
}

TEST_F(FileSystemTest, StopWithReadAheadInFlightOnASlowOriginReturnsPromptly) {
  const std::string want = Source("slow.bin").substr(0, kReadSize);
  for (int iteration = 0; iteration < 5; ++iteration) {
    SCOPED_TRACE("iteration " + std::to_string(iteration));
    origin_->Reset();
    // Even iterations: every request past the first read's blocks stalls (headers, then
    // silence). Odd ones: a slow link (the read-ahead takes seconds to arrive).
    nlohmann::json fault = iteration % 2 == 0
                               ? nlohmann::json{{"type", "stall"}, {"from_offset", kReadSize}, {"seconds", 20}}
                               : nlohmann::json{{"type", "bandwidth"}, {"bytes_per_second", 512 * kKiB}};
    origin_->Configure({{"path", "/slow.bin"}, {"faults", {fault}}});
    ASSERT_NO_FATAL_FAILURE(Mount(origin_->Url("/slow.bin") + " slow.bin size=" + std::to_string(kSlowSize) + "\n"));
    auto attr = filesystem_->Lookup(FileSystem::kRootIno, "slow.bin");
    ASSERT_TRUE(attr) << Why(attr);
    auto opened = filesystem_->Open(attr->ino, O_RDONLY);
    ASSERT_TRUE(opened) << Why(opened);
    auto first = ReadAt(*filesystem_, attr->ino, opened->handle, 0, kReadSize);
    ASSERT_TRUE(first) << Why(first);
    EXPECT_TRUE(*first == want) << "bytes differ from the source";
    // The read-ahead has reached the origin (and is stuck there).
    auto asked = Clock::now();
    while (FirstRangeFrom(*origin_, "/slow.bin", kReadSize) < 0 && SecondsSince(asked) < 5) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_GE(FirstRangeFrom(*origin_, "/slow.bin", kReadSize), 0)
        << "no read-ahead request was made: " << origin_->PathStats("/slow.bin").dump();
    // What unmount does: Stop(), then the file system goes (the handle was never released).
    auto stopping = Clock::now();
    filesystem_->Stop();
    double stop_seconds = SecondsSince(stopping);
    filesystem_.reset();
    double total_seconds = SecondsSince(stopping);
    EXPECT_LT(stop_seconds, 3) << "Stop() waited for the read-ahead";
    EXPECT_LT(total_seconds, 3) << "destroying the stopped file system waited for the read-ahead";
  }
}

// Stop() ends a read in progress, as its header says: the read's stalled request is
// cancelled, the read fails at once (not at its deadline) and Stop() does not wait for it.
TEST_F(FileSystemTest, StopEndsAReadInProgressWithAnError) {
  // Every request past the first block stalls: a random read there waits for its blocks.
  origin_->Configure(
      {{"path", "/slow.bin"}, {"faults", {{{"type", "stall"}, {"from_offset", kBlockSize}, {"seconds", 20}}}}});
  ASSERT_NO_FATAL_FAILURE(Mount(origin_->Url("/slow.bin") + " slow.bin size=" + std::to_string(kSlowSize) + "\n"));
  auto attr = filesystem_->Lookup(FileSystem::kRootIno, "slow.bin");
  ASSERT_TRUE(attr) << Why(attr);
  auto opened = filesystem_->Open(attr->ino, O_RDONLY);
  ASSERT_TRUE(opened) << Why(opened);
  std::atomic<bool> returned{false};
  Result<std::string> got = std::string();
  std::thread reader([&] {
    // A random read (not at 0): its own block only, which stalls.
    got = ReadAt(*filesystem_, attr->ino, opened->handle, 4 * kMiB, kReadSize);
    returned = true;
  });
  auto asked = Clock::now();
  while (FirstRangeFrom(*origin_, "/slow.bin", 4 * kMiB) < 0 && SecondsSince(asked) < 5) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_GE(FirstRangeFrom(*origin_, "/slow.bin", 4 * kMiB), 0) << origin_->PathStats("/slow.bin").dump();
  EXPECT_FALSE(returned.load());
  auto stopping = Clock::now();
  filesystem_->Stop();
  double stop_seconds = SecondsSince(stopping);
  reader.join();
  EXPECT_LT(stop_seconds, 3) << "Stop() waited for the read in progress";
  EXPECT_LT(SecondsSince(stopping), 3) << "the read in progress did not end with Stop()";
  EXPECT_FALSE(got) << "a read whose block never came returned data";
  filesystem_.reset();
}

TEST_F(FileSystemTest, ReloadUnderAnActiveReaderKeepsItsBytesAndSwapsThePaths) {
  // keep.bin on a slow link, so that its reader is still reading when the reload comes.
  origin_->Configure({{"path", "/keep.bin"}, {"faults", {{{"type", "bandwidth"}, {"bytes_per_second", 1 * kMiB}}}}});
  fs::MountOptions options = Options();
  options.concurrency = 2;
  options.max_readahead = 512 * kKiB;
  ASSERT_NO_FATAL_FAILURE(Mount(origin_->Url("/keep.bin") + " keep.bin\n" + origin_->Url("/gone.bin") + " gone.bin\n" +
                                    origin_->Url("/tree/a.bin") + " sub/a.bin\n",
                                options));
  auto keep = filesystem_->Lookup(FileSystem::kRootIno, "keep.bin");
  ASSERT_TRUE(keep) << Why(keep);
  auto gone = filesystem_->Lookup(FileSystem::kRootIno, "gone.bin");
  ASSERT_TRUE(gone) << Why(gone);
  auto sub = filesystem_->Lookup(FileSystem::kRootIno, "sub");
  ASSERT_TRUE(sub) << Why(sub);
  auto gone_handle = filesystem_->Open(gone->ino, O_RDONLY);
  ASSERT_TRUE(gone_handle) << Why(gone_handle);
  EXPECT_EQ(Xattr(keep->ino, "user.getmfs.url"), origin_->Url("/keep.bin"));

  std::promise<void> first_mib;
  std::atomic<bool> reloaded{false};
  bool reloaded_before_the_end = false;
  Result<std::string> got = std::string();
  std::thread reader([&] {
    auto opened = filesystem_->Open(keep->ino, O_RDONLY);
    if (!opened) {
      got = opened.error();
      first_mib.set_value();
      return;
    }
    std::string bytes;
    bool told = false;
    for (;;) {
      auto piece = ReadAt(*filesystem_, keep->ino, opened->handle, bytes.size(), kReadSize);
      if (!piece) {
        got = piece.error();
        break;
      }
      if (piece->empty()) {
        got = bytes;
        break;
      }
      bytes += *piece;
      if (!told && bytes.size() >= kMiB) {
        told = true;
        first_mib.set_value();
      }
      if (bytes.size() < kKeepSize) reloaded_before_the_end = reloaded.load();
    }
    if (!told) first_mib.set_value();
    filesystem_->Release(opened->handle);
  });
  first_mib.get_future().wait();

  // keep.bin: the same bytes at another URL; gone.bin removed; sub/new.bin added.
  std::vector<fs::Invalidation> invalidations;
  Status status = filesystem_->Reload(Parse(origin_->Url("/reload/keep-copy.bin") + " keep.bin\n" +
                                            origin_->Url("/tree/a.bin") + " sub/a.bin\n" +
                                            origin_->Url("/new.bin") + " sub/new.bin\n"),
                                      &invalidations);
  reloaded = true;
  reader.join();
  ASSERT_TRUE(status) << Why(status);
  ASSERT_TRUE(got) << Why(got);
  EXPECT_EQ(got->size(), kKeepSize);
  EXPECT_TRUE(*got == Source("keep.bin")) << "the reader's bytes differ from the source";
  EXPECT_TRUE(reloaded_before_the_end) << "the reader finished before the reload: the test proved nothing";

  EXPECT_EQ(filesystem_->generation(), 2u);
  EXPECT_EQ(Xattr(keep->ino, "user.getmfs.url"),
            origin_->Url("/reload/keep-copy.bin"));
  auto keep_again = filesystem_->Lookup(FileSystem::kRootIno, "keep.bin");
  ASSERT_TRUE(keep_again) << Why(keep_again);
  EXPECT_EQ(keep_again->ino, keep->ino) << "an unchanged path keeps its inode";
  auto added = LookupPath("sub/new.bin");
  ASSERT_TRUE(added) << Why(added);
  EXPECT_EQ(added->size, 200000u);
  auto added_bytes = ReadFileAt("sub/new.bin");
  ASSERT_TRUE(added_bytes) << Why(added_bytes);
  EXPECT_TRUE(*added_bytes == Source("new.bin")) << "new.bin's bytes differ from the source";
  auto removed = filesystem_->Lookup(FileSystem::kRootIno, "gone.bin");
  EXPECT_EQ(ErrnoOfResult(removed), ENOENT) << Why(removed);
  // The handle opened on the removed path before the reload no longer reads.
  auto stale = ReadAt(*filesystem_, gone->ino, gone_handle->handle, 0, kReadSize);
  EXPECT_EQ(ErrnoOfResult(stale), ESTALE) << Why(stale);
  filesystem_->Release(gone_handle->handle);
  // The kernel is told to forget the removed name.
  fs::Invalidation forget{fs::Invalidation::kEntry, 0, FileSystem::kRootIno, "gone.bin"};
  EXPECT_NE(std::find(invalidations.begin(), invalidations.end(), forget), invalidations.end());
  for (const auto& invalidation : invalidations) {
    EXPECT_FALSE(invalidation.kind == fs::Invalidation::kInode && invalidation.ino == keep->ino)
        << "keep.bin's cached data was dropped, though its object did not change";
  }
  // A new open of keep.bin reads the right bytes from the new URL.
  auto again = ReadFileAt("keep.bin");
  ASSERT_TRUE(again) << Why(again);
  EXPECT_TRUE(*again == Source("keep.bin")) << "bytes differ from the source";
  EXPECT_GE(origin_->PathStats("/reload/keep-copy.bin")["requests"].get<int>(), 1);
}

}  // namespace
}  // namespace getmfs::testing
