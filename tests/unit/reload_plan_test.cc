// A reload decided without I/O: which old objects PlanReload keeps, gives the new URL, asks a
// probe about or finds changed, and what DiffReload fails and tells the kernel to forget.
#include "fs/reload_plan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "fs/inode_table.h"
#include "manifest/manifest.h"

namespace getmfs::fs {
namespace {

constexpr const char* kMd5 = "5eb63bbbe01eeed093cb22bb8f5acdc3";       // md5("hello world")
constexpr const char* kOtherMd5 = "d41d8cd98f00b204e9800998ecf8427e";  // md5("")
constexpr const char* kSha256 = "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9";
constexpr std::size_t kBlock = 64 << 10;

// Size and checksum: the object counts as probed, so it can be attached (read) offline.
const std::string kFull = std::string("size=11 md5=") + kMd5;

// The URL of `name`, signed with `sig`: another signature is another URL.
std::string Url(const std::string& name, const std::string& sig) {
  return "https://bucket.example/o/" + name + "?X-Amz-Signature=" + sig;
}

std::string Line(const std::string& path, const std::string& sig, const std::string& keys = "") {
  return Url(path, sig) + " " + path + (keys.empty() ? "" : " " + keys) + "\n";
}

InodeTable MustBuild(const std::string& text, const InodeTable* previous = nullptr) {
  auto manifest = manifest::ParseManifestText(text, "urls.txt");
  EXPECT_TRUE(manifest.ok()) << (manifest.ok() ? "" : manifest.error().message);
  if (!manifest.ok()) return InodeTable();
  auto table = InodeTable::Build(*manifest, previous);
  EXPECT_TRUE(table.ok()) << (table.ok() ? "" : table.error().message);
  if (!table.ok()) return InodeTable();
  return std::move(*table);
}

// As if the mount had read the file: bound to the cache, cache_id() != 0.
void MarkRead(const InodeTable& table, const std::string& path, std::uint64_t cache_id) {
  fetch::ObjectPtr object = table.AtPath(path)->object;
  object->Attach(cache_id, kBlock);
  ASSERT_EQ(object->cache_id(), cache_id) << path;
}

std::uint64_t Ino(const InodeTable& table, const std::string& path) {
  const Node* node = table.AtPath(path);
  EXPECT_NE(node, nullptr) << path;
  return node == nullptr ? 0 : node->ino;
}

template <class Map>
std::set<std::string> Keys(const Map& map) {
  std::set<std::string> keys;
  for (const auto& [key, value] : map) keys.insert(key);
  return keys;
}

// ---- PlanReload ----

enum class Outcome { kKeep, kRebind, kConfirm, kChanged };

struct PlanCase {
  std::string name;
  std::string old_keys;   // of the file's line in the mount's manifest
  std::string new_sig;    // "1": the same URL
  std::string new_keys;   // in the new manifest
  bool read = false;      // the mount has read the file
  Outcome expected;
};

std::ostream& operator<<(std::ostream& os, const PlanCase& c) { return os << c.name; }

const std::vector<PlanCase> kPlans = {
    {"TheSameUrlKeepsTheObject", "", "1", "", false, Outcome::kKeep},
    {"TheSameUrlKeepsAnObjectAlreadyRead", kFull, "1", kFull, true, Outcome::kKeep},
    {"ANewUrlForAnObjectNeverReadWithoutManifestDataRebinds", "", "2", "", false, Outcome::kRebind},
    {"ANewUrlForAnObjectNeverReadWithTheSameSizeRebinds", "size=11", "2", "size=11", false, Outcome::kRebind},
    {"ANewUrlForAnObjectNeverReadWithTheSameSizeAndChecksumRebinds", kFull, "2", kFull, false, Outcome::kRebind},
    // Checksums are compared normalised (lowercase hex).
    {"AChecksumInUpperCaseIsTheSameData", kFull, "2", "size=11 md5=5EB63BBBE01EEED093CB22BB8F5ACDC3", false,
     Outcome::kRebind},
    {"ANewSizeIsAnotherObject", kFull, "2", std::string("size=12 md5=") + kMd5, false, Outcome::kChanged},
    {"ANewChecksumIsAnotherObject", kFull, "2", std::string("size=11 md5=") + kOtherMd5, false, Outcome::kChanged},
    {"AChecksumOfAnotherAlgorithmIsAnotherObject", kFull, "2", std::string("size=11 sha256=") + kSha256, false,
     Outcome::kChanged},
    {"AChecksumAddedIsAnotherObject", "size=11", "2", kFull, false, Outcome::kChanged},
    {"AChecksumDroppedIsAnotherObject", kFull, "2", "size=11", false, Outcome::kChanged},
    {"ASizeAddedIsAnotherObject", "", "2", "size=11", false, Outcome::kChanged},
    {"ASizeDroppedIsAnotherObject", kFull, "2", std::string("md5=") + kMd5, false, Outcome::kChanged},
    // Read already: a probe confirms that the new URL names the object of the cached blocks,
    // unless the manifest gives size and checksum (a DRS object, a refresh), which verification
    // checks anyway: no probe per file and refresh.
    {"ANewUrlForAnObjectAlreadyReadIsConfirmed", "size=11", "2", "size=11", true, Outcome::kConfirm},
    {"ANewUrlForAnObjectAlreadyReadWithSizeAndChecksumRebinds", kFull, "2", kFull, true, Outcome::kRebind},
    // Read already, but the manifest now describes another object: no probe can make it the
    // same (an object with size and checksum in the manifest has no ETag to compare).
    {"ANewChecksumForAnObjectAlreadyReadIsAnotherObject", kFull, "2", std::string("size=11 md5=") + kOtherMd5, true,
     Outcome::kChanged},
    {"TheSameUrlWithANewChecksumIsAnotherObject", kFull, "1", std::string("size=11 md5=") + kOtherMd5, true,
     Outcome::kChanged},
    {"TheSameUrlWithANewSizeIsAnotherObject", "size=11", "1", "size=12", false, Outcome::kChanged},
};

class ReloadPlanCase : public ::testing::TestWithParam<PlanCase> {};

TEST_P(ReloadPlanCase, PutsTheFileInOnePartOfThePlan) {
  const PlanCase& c = GetParam();
  InodeTable current = MustBuild(Line("f", "1", c.old_keys));
  if (c.read) MarkRead(current, "f", 7);
  InodeTable fresh = MustBuild(Line("f", c.new_sig, c.new_keys), &current);
  const fetch::ObjectPtr old = current.AtPath("f")->object;

  ReloadPlan plan = PlanReload(current, fresh);
  const std::set<std::string> f = {"f"};
  EXPECT_EQ(Keys(plan.keep), c.expected == Outcome::kKeep ? f : std::set<std::string>{});
  EXPECT_EQ(Keys(plan.rebind), c.expected == Outcome::kRebind ? f : std::set<std::string>{});
  EXPECT_EQ(Keys(plan.confirm), c.expected == Outcome::kConfirm ? f : std::set<std::string>{});
  EXPECT_EQ(plan.changed, c.expected == Outcome::kChanged ? f : std::set<std::string>{});
  // What is kept, rebound or confirmed is the mount's object, not the fresh one.
  for (const auto* map : {&plan.keep, &plan.rebind, &plan.confirm}) {
    if (map->count("f") != 0) {
      EXPECT_EQ(map->at("f"), old);
    }
  }
  // Only a plan: the old object still has its URL.
  EXPECT_EQ(old->url().full(), Url("f", "1"));
}

INSTANTIATE_TEST_SUITE_P(Reload, ReloadPlanCase, ::testing::ValuesIn(kPlans),
                         [](const ::testing::TestParamInfo<PlanCase>& param) { return param.param.name; });

TEST(ReloadPlan, OnlyFilesTheMountHadArePlanned) {
  InodeTable current = MustBuild(Line("keep", "1") + Line("gone", "1") + Line("d/rebind", "1") +
                                 Line("confirm", "1", "size=11") + Line("changed", "1", "size=1") +
                                 Line("file_to_dir", "1") + Line("dir_to_file/x", "1"));
  MarkRead(current, "confirm", 3);
  // Lines in another order (the manifest data does not include the line), gone removed,
  // new added, file_to_dir now a directory, dir_to_file now a file.
  InodeTable fresh = MustBuild(Line("new", "1") + Line("confirm", "2", "size=11") + Line("changed", "2", "size=2") +
                                   Line("d/rebind", "2") + Line("keep", "1") + Line("file_to_dir/y", "1") +
                                   Line("dir_to_file", "1"),
                               &current);
  ReloadPlan plan = PlanReload(current, fresh);
  EXPECT_EQ(Keys(plan.keep), (std::set<std::string>{"keep"}));
  EXPECT_EQ(Keys(plan.rebind), (std::set<std::string>{"d/rebind"}));
  EXPECT_EQ(Keys(plan.confirm), (std::set<std::string>{"confirm"}));
  EXPECT_EQ(plan.changed, (std::set<std::string>{"changed"}));
  EXPECT_EQ(plan.keep.at("keep"), current.AtPath("keep")->object);
  EXPECT_EQ(plan.rebind.at("d/rebind"), current.AtPath("d/rebind")->object);
  EXPECT_EQ(plan.confirm.at("confirm"), current.AtPath("confirm")->object);
}

// ---- DiffReload ----

// Invalidations compared in any order.
std::vector<Invalidation> Sorted(std::vector<Invalidation> invalidations) {
  std::sort(invalidations.begin(), invalidations.end(), [](const Invalidation& a, const Invalidation& b) {
    return std::tie(a.kind, a.ino, a.parent, a.name) < std::tie(b.kind, b.ino, b.parent, b.name);
  });
  return invalidations;
}

Invalidation InodeOf(std::uint64_t ino) { return {Invalidation::kInode, ino, 0, ""}; }
Invalidation EntryOf(std::uint64_t parent, const std::string& name) { return {Invalidation::kEntry, 0, parent, name}; }

std::string Describe(const Invalidation& inv) {
  if (inv.kind == Invalidation::kInode) return "inode " + std::to_string(inv.ino);
  return "entry " + std::to_string(inv.parent) + "/" + inv.name;
}

std::vector<std::string> Described(const std::vector<Invalidation>& invalidations) {
  std::vector<std::string> out;
  for (const auto& inv : Sorted(invalidations)) out.push_back(Describe(inv));
  return out;
}

// The failed objects as "path: why", each checked to be the mount's object for its path.
std::vector<std::string> FailedOf(const ReloadDiff& diff, const InodeTable& current) {
  std::vector<std::string> out;
  for (const auto& failed : diff.failed) {
    EXPECT_TRUE(failed.object);
    if (!failed.object) continue;
    const Node* node = current.AtPath(failed.object->path());
    EXPECT_TRUE(node != nullptr && node->object == failed.object) << failed.object->path() << " is not the mount's";
    out.push_back(failed.object->path() + ": " + failed.why);
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(ReloadDiff, TheSameManifestChangesNothing) {
  const std::string text = Line("a", "1") + Line("d/b", "1") + Line("d/e/c", "1");
  InodeTable current = MustBuild(text);
  InodeTable fresh = MustBuild(text, &current);
  ReloadDiff diff = DiffReload(current, fresh, {});
  EXPECT_TRUE(diff.failed.empty());
  EXPECT_TRUE(diff.invalidations.empty());
}

TEST(ReloadDiff, ARemovedFileFailsAndItsEntryIsForgotten) {
  InodeTable current = MustBuild(Line("a", "1") + Line("d/x", "1") + Line("d/y", "1"));
  InodeTable fresh = MustBuild(Line("a", "1") + Line("d/y", "1"), &current);
  ReloadDiff diff = DiffReload(current, fresh, {});
  EXPECT_EQ(FailedOf(diff, current), std::vector<std::string>{"d/x: d/x was removed from the manifest"});
  const std::uint64_t d = Ino(current, "d");
  // d's entry for x, and d itself: its children changed.
  EXPECT_EQ(Described(diff.invalidations), Described({EntryOf(d, "x"), InodeOf(d)}));
}

TEST(ReloadDiff, ARemovedDirectoryIsForgottenWithEverythingInIt) {
  InodeTable current = MustBuild(Line("a", "1") + Line("d/x", "1") + Line("d/e/y", "1"));
  InodeTable fresh = MustBuild(Line("a", "1"), &current);
  ReloadDiff diff = DiffReload(current, fresh, {});
  EXPECT_EQ(FailedOf(diff, current), (std::vector<std::string>{"d/e/y: d/e/y was removed from the manifest",
                                                               "d/x: d/x was removed from the manifest"}));
  const std::uint64_t d = Ino(current, "d");
  const std::uint64_t e = Ino(current, "d/e");
  EXPECT_EQ(Described(diff.invalidations),
            Described({EntryOf(InodeTable::kRootIno, "d"), EntryOf(d, "x"), EntryOf(d, "e"), EntryOf(e, "y"),
                       InodeOf(InodeTable::kRootIno)}));
}

TEST(ReloadDiff, AChangedFileFailsAndItsInodeIsInvalidated) {
  InodeTable current = MustBuild(Line("a", "1") + Line("d/x", "1"));
  InodeTable fresh = MustBuild(Line("a", "2") + Line("d/x", "2"), &current);
  ReloadDiff diff = DiffReload(current, fresh, {"d/x"});
  EXPECT_EQ(FailedOf(diff, current), std::vector<std::string>{"d/x: d/x now names another object"});
  // The path stays (with its number): only its cached data and attributes go.
  EXPECT_EQ(Described(diff.invalidations), Described({InodeOf(Ino(current, "d/x"))}));
  EXPECT_EQ(Ino(fresh, "d/x"), Ino(current, "d/x"));
}

TEST(ReloadDiff, ADirectoryWhoseChildrenChangedIsInvalidated) {
  InodeTable current = MustBuild(Line("a", "1") + Line("d/x", "1") + Line("d/e/y", "1"));
  // d/e gains z; the root gains n (a directory).
  InodeTable fresh = MustBuild(Line("a", "1") + Line("d/x", "1") + Line("d/e/y", "1") + Line("d/e/z", "1") +
                                   Line("n/w", "1"),
                               &current);
  ReloadDiff diff = DiffReload(current, fresh, {});
  EXPECT_TRUE(diff.failed.empty());
  // Not d: its children (x, e) are the same.
  EXPECT_EQ(Described(diff.invalidations), Described({InodeOf(Ino(current, "d/e")), InodeOf(InodeTable::kRootIno)}));
}

TEST(ReloadDiff, ADirectoryWithAsManyChildrenButOthersIsInvalidated) {
  InodeTable current = MustBuild(Line("d/x", "1"));
  InodeTable fresh = MustBuild(Line("d/y", "1"), &current);
  ReloadDiff diff = DiffReload(current, fresh, {});
  EXPECT_EQ(FailedOf(diff, current), std::vector<std::string>{"d/x: d/x was removed from the manifest"});
  const std::uint64_t d = Ino(current, "d");
  EXPECT_EQ(Described(diff.invalidations), Described({EntryOf(d, "x"), InodeOf(d)}));
}

TEST(ReloadDiff, AFileThatBecameADirectoryIsRemoved) {
  InodeTable current = MustBuild(Line("a", "1") + Line("f", "1"));
  InodeTable fresh = MustBuild(Line("a", "1") + Line("f/g", "1"), &current);
  ASSERT_TRUE(fresh.AtPath("f")->dir);
  ReloadDiff diff = DiffReload(current, fresh, {});
  EXPECT_EQ(FailedOf(diff, current), std::vector<std::string>{"f: f was removed from the manifest"});
  const auto described = Described(diff.invalidations);
  EXPECT_NE(std::find(described.begin(), described.end(), Describe(EntryOf(InodeTable::kRootIno, "f"))),
            described.end());
}

TEST(ReloadDiff, ADirectoryThatBecameAFileIsRemovedWithItsFiles) {
  InodeTable current = MustBuild(Line("a", "1") + Line("f/g", "1"));
  InodeTable fresh = MustBuild(Line("a", "1") + Line("f", "1"), &current);
  ASSERT_FALSE(fresh.AtPath("f")->dir);
  ReloadDiff diff = DiffReload(current, fresh, {});
  // The directory has no object to fail; its file does.
  EXPECT_EQ(FailedOf(diff, current), std::vector<std::string>{"f/g: f/g was removed from the manifest"});
  const auto described = Described(diff.invalidations);
  for (const auto& inv : {EntryOf(InodeTable::kRootIno, "f"), EntryOf(Ino(current, "f"), "g")}) {
    EXPECT_NE(std::find(described.begin(), described.end(), Describe(inv)), described.end()) << Describe(inv);
  }
}

TEST(ReloadDiff, PlanAndDiffTogether) {
  InodeTable current = MustBuild(Line("keep", "1") + Line("rebind", "1") + Line("changed", "1", "size=1") +
                                 Line("gone", "1"));
  InodeTable fresh = MustBuild(Line("keep", "1") + Line("rebind", "2") + Line("changed", "2", "size=2"), &current);
  ReloadPlan plan = PlanReload(current, fresh);
  ASSERT_EQ(plan.changed, (std::set<std::string>{"changed"}));
  ReloadDiff diff = DiffReload(current, fresh, plan.changed);
  EXPECT_EQ(FailedOf(diff, current), (std::vector<std::string>{"changed: changed now names another object",
                                                               "gone: gone was removed from the manifest"}));
  EXPECT_EQ(Described(diff.invalidations),
            Described({InodeOf(Ino(current, "changed")), EntryOf(InodeTable::kRootIno, "gone"),
                       InodeOf(InodeTable::kRootIno)}));
}

}  // namespace
}  // namespace getmfs::fs
