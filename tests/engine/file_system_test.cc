// The mount's facade (fs::FileSystem) driven directly, without FUSE, against the test origin:
// reads made the way the kernel makes them (bytes checked against the source), verification
// at the end of a file, concurrent first reads, a tail read first, and lookups, directory
// listings and open replies (the status file's among them) as the kernel would see them.
#include "fs/file_system.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <latch>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "engine/file_system_fixture.h"

namespace getmfs::testing {
namespace {

// ---------------------------------------------------------------------------------------------
// Reading

TEST_F(FileSystemTest, SequentialReadReturnsTheExactBytesAndVerifiesManifestMd5) {
  ASSERT_NO_FATAL_FAILURE(Mount(origin_->Url("/big.bin") + " big.bin md5=" + Md5Of("big.bin") + "\n"));
  auto attr = filesystem_->Lookup(FileSystem::kRootIno, "big.bin");
  ASSERT_TRUE(attr) << Why(attr);
  EXPECT_EQ(attr->size, kBigSize);
  EXPECT_FALSE(attr->dir);
  EXPECT_EQ(Verdict(attr->ino), "pending");
  auto opened = filesystem_->Open(attr->ino, O_RDONLY);
  ASSERT_TRUE(opened) << Why(opened);
  auto bytes = ReadToEnd(*filesystem_, attr->ino, opened->handle);
  ASSERT_TRUE(bytes) << Why(bytes);
  EXPECT_EQ(bytes->size(), kBigSize);
  EXPECT_TRUE(*bytes == Source("big.bin")) << "bytes differ from the source";
  // The read that reached the end returned only with the verdict.
  EXPECT_EQ(Verdict(attr->ino), "verified");
  // Past the end: nothing, no error.
  auto past = ReadAt(*filesystem_, attr->ino, opened->handle, kBigSize + 10, kReadSize);
  ASSERT_TRUE(past) << Why(past);
  EXPECT_EQ(*past, "");
  filesystem_->Release(opened->handle);
  auto stats = origin_->PathStats("/big.bin");
  EXPECT_EQ(stats["status_200"].get<int>(), 0) << "the whole object was fetched: " << stats.dump();
}

TEST_F(FileSystemTest, SequentialReadVerifiesTheS3EtagWithoutAManifestChecksum) {
  origin_->Configure({{"path", "/s3.bin"}, {"emulate", "s3"}});
  ASSERT_NO_FATAL_FAILURE(Mount(origin_->Url("/s3.bin") + "\n" + origin_->Url("/big.bin") + " plain.bin\n"));
  auto attr = filesystem_->Lookup(FileSystem::kRootIno, "s3.bin");
  ASSERT_TRUE(attr) << Why(attr);
  EXPECT_EQ(attr->size, kS3Size);
  auto bytes = ReadFileAt("s3.bin");
  ASSERT_TRUE(bytes) << Why(bytes);
  EXPECT_TRUE(*bytes == Source("s3.bin")) << "bytes differ from the source";
  EXPECT_EQ(Verdict(attr->ino), "verified");
  auto checksum = filesystem_->GetXattr(attr->ino, "user.getmfs.checksum");
  ASSERT_TRUE(checksum) << Why(checksum);
  EXPECT_NE(checksum->find(Md5Of("s3.bin")), std::string::npos) << *checksum;
  // A plain server's ETag is no checksum: read whole, and unverified.
  auto plain = filesystem_->Lookup(FileSystem::kRootIno, "plain.bin");
  ASSERT_TRUE(plain) << Why(plain);
  auto plain_bytes = ReadFileAt("plain.bin");
  ASSERT_TRUE(plain_bytes) << Why(plain_bytes);
  EXPECT_TRUE(*plain_bytes == Source("big.bin")) << "bytes differ from the source";
  EXPECT_EQ(Verdict(plain->ino), "unverified");
}

TEST_F(FileSystemTest, TwoFirstReadsAtTheSameMomentBothGetTheRightBytes) {
  const std::string text = origin_->Url("/big.bin") + " big.bin md5=" + Md5Of("big.bin") + "\n";
  const std::string want = Source("big.bin");
  // Both from 0, then one from 0 and one from the middle (not on a block boundary); a fresh
  // file system for each pair, so that both reads are the object's first.
  for (std::uint64_t second_offset : {std::uint64_t{0}, kBigSize / 2 + 123}) {
    SCOPED_TRACE("second reader starts at " + std::to_string(second_offset));
    ASSERT_NO_FATAL_FAILURE(Mount(text));
    auto attr = filesystem_->Lookup(FileSystem::kRootIno, "big.bin");
    ASSERT_TRUE(attr) << Why(attr);
    const std::uint64_t offsets[2] = {0, second_offset};
    std::latch start(2);
    Result<std::string> got[2] = {std::string(), std::string()};
    std::vector<std::thread> readers;
    for (int i = 0; i < 2; ++i) {
      readers.emplace_back([&, i] {
        auto opened = filesystem_->Open(attr->ino, O_RDONLY);
        start.arrive_and_wait();
        if (!opened) {
          got[i] = opened.error();
          return;
        }
        got[i] = ReadToEnd(*filesystem_, attr->ino, opened->handle, offsets[i]);
        filesystem_->Release(opened->handle);
      });
    }
    for (auto& reader : readers) reader.join();
    for (int i = 0; i < 2; ++i) {
      ASSERT_TRUE(got[i]) << "reader " << i << ": " << Why(got[i]);
      EXPECT_EQ(got[i]->size(), kBigSize - offsets[i]) << "reader " << i;
      EXPECT_TRUE(*got[i] == want.substr(offsets[i])) << "reader " << i << ": bytes differ from the source";
    }
    EXPECT_EQ(Verdict(attr->ino), "verified");
  }
}

TEST_F(FileSystemTest, ReadingTheTailFirstReturnsItsBytesAndFetchesNothingElse) {
  ASSERT_NO_FATAL_FAILURE(Mount(origin_->Url("/tail.bin") + " tail.bin size=" + std::to_string(kTailSize) +
                                " md5=" + Md5Of("tail.bin") + "\n"));
  const std::string want = Source("tail.bin");
  auto attr = filesystem_->Lookup(FileSystem::kRootIno, "tail.bin");
  ASSERT_TRUE(attr) << Why(attr);
  auto opened = filesystem_->Open(attr->ino, O_RDONLY);
  ASSERT_TRUE(opened) << Why(opened);
  auto tail = ReadAt(*filesystem_, attr->ino, opened->handle, kTailSize - 1000, kReadSize);
  ASSERT_TRUE(tail) << Why(tail);
  EXPECT_EQ(tail->size(), 1000u);
  EXPECT_TRUE(*tail == want.substr(kTailSize - 1000)) << "tail bytes differ from the source";
  // A reader that seeks is not made to fetch the rest for the verdict: the file is partial.
  EXPECT_EQ(Verdict(attr->ino), "partial");
  EXPECT_LE(origin_->PathStats("/tail.bin").value("body_bytes", kTailSize), 2 * kBlockSize);
  // Reading the rest through the same handle gives it every byte: that read gets the verdict.
  for (std::uint64_t offset = 0; offset < kTailSize - 1000; offset += kReadSize) {
    auto part = ReadAt(*filesystem_, attr->ino, opened->handle, offset, std::min<std::uint64_t>(kReadSize, kTailSize - 1000 - offset));
    ASSERT_TRUE(part) << Why(part);
    ASSERT_TRUE(*part == want.substr(offset, part->size())) << "bytes at " << offset << " differ";
  }
  EXPECT_EQ(Verdict(attr->ino), "verified");
  filesystem_->Release(opened->handle);
}

// ---------------------------------------------------------------------------------------------
// Namespace, open replies and the status file

TEST_F(FileSystemTest, ReadDirListsChildrenInNameOrderAndHidesTheStatusFile) {
  ASSERT_NO_FATAL_FAILURE(Mount(origin_->Url("/tree/b.bin") + " b.bin size=300000\n" + origin_->Url("/tree/a.bin") +
                                " a.bin\n" + origin_->Url("/tree/dir/c.txt") + " dir/c.txt\n"));
  // a.bin's size comes from its probe: the lookup waits for it.
  auto a = filesystem_->Lookup(FileSystem::kRootIno, "a.bin");
  ASSERT_TRUE(a) << Why(a);
  EXPECT_EQ(a->size, 1000u);
  auto dir = filesystem_->Lookup(FileSystem::kRootIno, "dir");
  ASSERT_TRUE(dir) << Why(dir);
  EXPECT_TRUE(dir->dir);
  EXPECT_EQ(dir->mode & S_IFMT, static_cast<std::uint32_t>(S_IFDIR));

  auto handle = filesystem_->OpenDir(FileSystem::kRootIno);
  ASSERT_TRUE(handle) << Why(handle);
  auto entries = filesystem_->ReadDir(*handle);
  ASSERT_TRUE(entries) << Why(entries);
  std::vector<std::string> names;
  for (const auto& entry : **entries) names.push_back(entry.name);
  EXPECT_EQ(names, (std::vector<std::string>{".", "..", "a.bin", "b.bin", "dir"}));
  ASSERT_EQ((*entries)->size(), 5u);
  const auto& list = **entries;
  EXPECT_EQ(list[0].attr.ino, FileSystem::kRootIno);
  EXPECT_TRUE(list[0].attr.dir);
  EXPECT_EQ(list[2].attr.ino, a->ino);
  EXPECT_EQ(list[2].attr.size, 1000u);
  EXPECT_EQ(list[2].attr.mode & S_IFMT, static_cast<std::uint32_t>(S_IFREG));
  EXPECT_EQ(list[3].attr.size, 300000u);
  EXPECT_FALSE(list[3].attr.dir);
  EXPECT_EQ(list[4].attr.ino, dir->ino);
  EXPECT_TRUE(list[4].attr.dir);
  filesystem_->ReleaseDir(*handle);
  EXPECT_EQ(ErrnoOfResult(filesystem_->ReadDir(*handle)), EBADF);

  auto sub = filesystem_->OpenDir(dir->ino);
  ASSERT_TRUE(sub) << Why(sub);
  auto sub_entries = filesystem_->ReadDir(*sub);
  ASSERT_TRUE(sub_entries) << Why(sub_entries);
  ASSERT_EQ((*sub_entries)->size(), 3u);
  EXPECT_EQ((**sub_entries)[1].name, "..");
  EXPECT_EQ((**sub_entries)[1].attr.ino, FileSystem::kRootIno);
  EXPECT_EQ((**sub_entries)[2].name, "c.txt");
  filesystem_->ReleaseDir(*sub);
  EXPECT_EQ(ErrnoOfResult(filesystem_->OpenDir(a->ino)), ENOTDIR);
  EXPECT_EQ(ErrnoOfResult(filesystem_->Lookup(FileSystem::kRootIno, "missing.bin")), ENOENT);
  EXPECT_EQ(ErrnoOfResult(filesystem_->Lookup(dir->ino, FileSystem::kStatusName)), ENOENT)
      << "the status file lives in the root only";
}

TEST_F(FileSystemTest, FilesKeepTheKernelCacheAndTheStatusFileIsDirectIoJson) {
  ASSERT_NO_FATAL_FAILURE(Mount(origin_->Url("/tree/b.bin") + " b.bin size=300000\n" + origin_->Url("/tree/a.bin") +
                                " t/a.bin\n"));
  auto b = filesystem_->Lookup(FileSystem::kRootIno, "b.bin");
  ASSERT_TRUE(b) << Why(b);
  EXPECT_GT(b->timeout, 0);
  auto b_attr = filesystem_->GetAttr(b->ino);
  ASSERT_TRUE(b_attr) << Why(b_attr);
  EXPECT_GT(b_attr->timeout, 0);
  EXPECT_EQ(b_attr->size, 300000u);
  auto root = filesystem_->GetAttr(FileSystem::kRootIno);
  ASSERT_TRUE(root) << Why(root);
  EXPECT_TRUE(root->dir);
  EXPECT_GT(root->timeout, 0);

  auto opened = filesystem_->Open(b->ino, O_RDONLY);
  ASSERT_TRUE(opened) << Why(opened);
  EXPECT_TRUE(opened->keep_cache);
  EXPECT_FALSE(opened->direct_io);
  auto bytes = ReadToEnd(*filesystem_, b->ino, opened->handle);
  ASSERT_TRUE(bytes) << Why(bytes);
  EXPECT_TRUE(*bytes == Source("tree/b.bin")) << "bytes differ from the source";
  filesystem_->Release(opened->handle);

  auto status = filesystem_->Lookup(FileSystem::kRootIno, FileSystem::kStatusName);
  ASSERT_TRUE(status) << Why(status);
  EXPECT_EQ(status->timeout, 0.0);
  EXPECT_EQ(status->mode & S_IFMT, static_cast<std::uint32_t>(S_IFREG));
  auto status_attr = filesystem_->GetAttr(status->ino);
  ASSERT_TRUE(status_attr) << Why(status_attr);
  EXPECT_EQ(status_attr->timeout, 0.0);
  auto status_open = filesystem_->Open(status->ino, O_RDONLY);
  ASSERT_TRUE(status_open) << Why(status_open);
  EXPECT_TRUE(status_open->direct_io);
  EXPECT_FALSE(status_open->keep_cache);
  // Small reads, to page through it.
  auto text = ReadToEnd(*filesystem_, status->ino, status_open->handle, 0, 100);
  filesystem_->Release(status_open->handle);
  ASSERT_TRUE(text) << Why(text);
  auto json = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(json.is_discarded()) << *text;
  ASSERT_TRUE(json.contains("files")) << *text;
  std::set<std::string> paths;
  for (const auto& file : json["files"]) paths.insert(file.value("path", ""));
  EXPECT_EQ(paths, (std::set<std::string>{"b.bin", "t/a.bin"})) << *text;
  EXPECT_EQ(json["totals"]["files"], 2) << *text;
  EXPECT_EQ(text->find("X-Amz"), std::string::npos) << *text;
  // Each open takes a new snapshot: b.bin's counters catch up with what was read (a request's
  // bytes are counted when its worker reports, which may come after the read returned).
  nlohmann::json b_json = nlohmann::json::object();
  auto asked = Clock::now();
  do {
    auto snapshot = filesystem_->Open(status->ino, O_RDONLY);
    ASSERT_TRUE(snapshot) << Why(snapshot);
    auto again = ReadToEnd(*filesystem_, status->ino, snapshot->handle);
    filesystem_->Release(snapshot->handle);
    ASSERT_TRUE(again) << Why(again);
    const nlohmann::json parsed = nlohmann::json::parse(*again, nullptr, /*allow_exceptions=*/false);
    ASSERT_TRUE(parsed.contains("files")) << *again;
    for (const auto& file : parsed["files"]) {
      if (file.value("path", "") == "b.bin") b_json = file;
    }
    if (b_json.value("bytes_fetched", 0) >= 300000) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  } while (SecondsSince(asked) < 5);
  EXPECT_EQ(b_json["size"], 300000) << b_json.dump();
  EXPECT_EQ(b_json["bytes_fetched"], 300000) << b_json.dump();
  EXPECT_EQ(b_json["state"], "unverified") << b_json.dump();
}

}  // namespace
}  // namespace getmfs::testing
