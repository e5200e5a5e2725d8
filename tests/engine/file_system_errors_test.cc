// The facade's (fs::FileSystem's) failure paths, by the errno each gives: a corrupted object
// fails the read that completes it and every later read with EIO (also when readers of
// several opens were given its bytes), opening for writing fails with EROFS, an object that
// vanished after the probe gives ESTALE and an expired signed URL EKEYEXPIRED.
#include "fs/file_system.h"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <string>

#include "engine/file_system_fixture.h"

namespace getmfs::testing {
namespace {

// ---------------------------------------------------------------------------------------------
// Corrupted objects

// Reads [from, to) in kReadSize pieces until one fails: its errno, or 0.
int ReadUntilError(FileSystem& filesystem, std::uint64_t ino, std::uint64_t handle, std::uint64_t from, std::uint64_t to) {
  for (std::uint64_t offset = from; offset < to; offset += kReadSize) {
    auto part = ReadAt(filesystem, ino, handle, offset, std::min<std::uint64_t>(kReadSize, to - offset));
    if (!part) return ErrnoOfResult(part);
  }
  return 0;
}

TEST_F(FileSystemTest, CorruptedObjectFailsTheReadThatCompletesItAndEveryLaterReadWithEio) {
  constexpr std::uint64_t kCorruptOffset = kMiB + 5;
  origin_->Configure({{"path", "/corrupt.bin"}, {"faults", {{{"type", "corrupt"}, {"offset", kCorruptOffset}}}}});
  ASSERT_NO_FATAL_FAILURE(Mount(origin_->Url("/corrupt.bin") + " corrupt.bin md5=" + Md5Of("corrupt.bin") + "\n"));
  auto attr = filesystem_->Lookup(FileSystem::kRootIno, "corrupt.bin");
  ASSERT_TRUE(attr) << Why(attr);
  EXPECT_EQ(attr->size, kCorruptSize);
  auto opened = filesystem_->Open(attr->ino, O_RDONLY);
  ASSERT_TRUE(opened) << Why(opened);
  // The tail alone: its bytes (the verdict is not in yet).
  auto tail = ReadAt(*filesystem_, attr->ino, opened->handle, kCorruptSize - 1000, kReadSize);
  ASSERT_TRUE(tail) << Why(tail);
  EXPECT_EQ(Verdict(attr->ino), "partial");
  // The rest: the read that gives the handle the last missing bytes fails.
  int error = ReadUntilError(*filesystem_, attr->ino, opened->handle, 0, kCorruptSize - 1000);
  EXPECT_EQ(error, EIO) << "a corrupted object read whole must never end cleanly";
  EXPECT_EQ(Verdict(attr->ino), "failed");
  for (std::uint64_t offset : {std::uint64_t{0}, kCorruptOffset, kCorruptSize - 1000, kCorruptSize / 2}) {
    auto again = ReadAt(*filesystem_, attr->ino, opened->handle, offset, kReadSize);
    EXPECT_EQ(ErrnoOfResult(again), EIO) << "offset " << offset << ": " << Why(again);
  }
  filesystem_->Release(opened->handle);
  // A new open (or its read) fails the same way.
  auto reopened = filesystem_->Open(attr->ino, O_RDONLY);
  if (reopened) {
    auto read = ReadAt(*filesystem_, attr->ino, reopened->handle, 0, kReadSize);
    EXPECT_EQ(ErrnoOfResult(read), EIO) << Why(read);
    filesystem_->Release(reopened->handle);
  } else {
    EXPECT_EQ(ErrnoOfResult(reopened), EIO) << Why(reopened);
  }
}

// The kernel serves from its page cache what an earlier open read: `dd` of the tail, then
// `cat` through another open reaches us for everything but the tail. The read that gives
// readers the last missing bytes still owes the verdict (CI once saw cat end cleanly).
TEST_F(FileSystemTest, TheVerdictIsOwedWhenReadersOfSeveralOpensHaveBeenGivenEveryByte) {
  constexpr std::uint64_t kCorruptOffset = kMiB + 5;
  origin_->Configure({{"path", "/corrupt.bin"}, {"faults", {{{"type", "corrupt"}, {"offset", kCorruptOffset}}}}});
  ASSERT_NO_FATAL_FAILURE(Mount(origin_->Url("/corrupt.bin") + " corrupt.bin md5=" + Md5Of("corrupt.bin") + "\n"));
  auto attr = filesystem_->Lookup(FileSystem::kRootIno, "corrupt.bin");
  ASSERT_TRUE(attr) << Why(attr);
  auto first = filesystem_->Open(attr->ino, O_RDONLY);
  ASSERT_TRUE(first) << Why(first);
  auto tail = ReadAt(*filesystem_, attr->ino, first->handle, kCorruptSize - 1000, kReadSize);
  ASSERT_TRUE(tail) << Why(tail);
  filesystem_->Release(first->handle);
  auto second = filesystem_->Open(attr->ino, O_RDONLY);
  ASSERT_TRUE(second) << Why(second);
  int error = ReadUntilError(*filesystem_, attr->ino, second->handle, 0, kCorruptSize - 1000);
  EXPECT_EQ(error, EIO) << "every byte was given to a reader: the last read must carry the verdict";
  EXPECT_EQ(Verdict(attr->ino), "failed");
  filesystem_->Release(second->handle);
}

// ---------------------------------------------------------------------------------------------
// Failures

TEST_F(FileSystemTest, OpenForWritingFailsWithErofs) {
  ASSERT_NO_FATAL_FAILURE(Mount(origin_->Url("/tree/a.bin") + " a.bin size=1000\n"));
  auto attr = filesystem_->Lookup(FileSystem::kRootIno, "a.bin");
  ASSERT_TRUE(attr) << Why(attr);
  for (int flags : {O_WRONLY, O_RDWR, O_RDONLY | O_TRUNC, O_WRONLY | O_CREAT, O_WRONLY | O_APPEND}) {
    auto opened = filesystem_->Open(attr->ino, flags);
    EXPECT_EQ(ErrnoOfResult(opened), EROFS) << "flags " << flags;
  }
  auto status_file = filesystem_->Lookup(FileSystem::kRootIno, FileSystem::kStatusName);
  ASSERT_TRUE(status_file) << Why(status_file);
  EXPECT_EQ(ErrnoOfResult(filesystem_->Open(status_file->ino, O_WRONLY)), EROFS);
  EXPECT_EQ(ErrnoOfResult(filesystem_->Open(FileSystem::kRootIno, O_RDONLY)), EISDIR);
  EXPECT_EQ(origin_->PathStats("/tree/a.bin")["requests"].get<int>(), 0);
}

TEST_F(FileSystemTest, ObjectVanishedAfterTheProbeGivesEstale) {
  origin_->Configure({{"path", "/fault.bin"}, {"faults", {{{"type", "vanish"}, {"after", 1}}}}});
  ASSERT_NO_FATAL_FAILURE(Mount(origin_->Url("/fault.bin") + " fault.bin\n"));
  auto attr = filesystem_->Lookup(FileSystem::kRootIno, "fault.bin");   // the probe saw it
  ASSERT_TRUE(attr) << Why(attr);
  EXPECT_EQ(attr->size, kFaultSize);
  auto opened = filesystem_->Open(attr->ino, O_RDONLY);
  ASSERT_TRUE(opened) << Why(opened);
  auto start = Clock::now();
  auto bytes = ReadToEnd(*filesystem_, attr->ino, opened->handle);
  EXPECT_EQ(ErrnoOfResult(bytes), ESTALE) << Why(bytes);
  EXPECT_LT(SecondsSince(start), 5);
  // It stays failed: a read of another offset fails the same way at once.
  auto later = ReadAt(*filesystem_, attr->ino, opened->handle, kFaultSize / 2, kReadSize);
  EXPECT_EQ(ErrnoOfResult(later), ESTALE) << Why(later);
  filesystem_->Release(opened->handle);
}

TEST_F(FileSystemTest, ExpiredSignedUrlGivesEkeyexpired) {
  std::string expired = origin_->Presign("/fault.bin", 60, "s3", "20200101T000000Z");
  const std::string size = std::to_string(kFaultSize);
  // sized.bin: lookup needs no request, the read's probe meets the 403; checked.bin: no probe
  // at all, the range request meets it; probed.bin: the lookup's probe meets it.
  ASSERT_NO_FATAL_FAILURE(Mount(expired + " sized.bin size=" + size + "\n" + expired + " checked.bin size=" + size +
                                " md5=" + Md5Of("fault.bin") + "\n" + expired + " probed.bin\n"));
  for (const std::string name : {"sized.bin", "checked.bin"}) {
    SCOPED_TRACE(name);
    auto attr = filesystem_->Lookup(FileSystem::kRootIno, name);
    ASSERT_TRUE(attr) << Why(attr);
    EXPECT_EQ(attr->size, kFaultSize);
    auto opened = filesystem_->Open(attr->ino, O_RDONLY);
    ASSERT_TRUE(opened) << Why(opened);
    auto bytes = ReadAt(*filesystem_, attr->ino, opened->handle, 0, kReadSize);
    EXPECT_EQ(ErrnoOfResult(bytes), EKEYEXPIRED) << Why(bytes);
    filesystem_->Release(opened->handle);
  }
  auto probed = filesystem_->Lookup(FileSystem::kRootIno, "probed.bin");
  EXPECT_EQ(ErrnoOfResult(probed), EKEYEXPIRED) << Why(probed);
  auto stats = origin_->PathStats("/fault.bin");
  EXPECT_GE(stats["statuses"].value("403", 0), 1) << stats.dump();
  EXPECT_EQ(stats["body_bytes"].get<int>(), 0) << stats.dump();
}

}  // namespace
}  // namespace getmfs::testing
