// The mount's namespace built from a manifest: directories made from the paths, lookups by
// inode, by parent and name and by path, the files and their objects, the names refused, and
// inode numbers across a rebuild.
#include "fs/inode_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "manifest/manifest.h"

namespace getmfs::fs {
namespace {

// A signed URL; its query string must never appear in a message.
std::string Url(const std::string& name) { return "https://bucket.example/" + name + "?X-Amz-Signature=secret"; }

// One urls.txt line per path: `URL PATH`, plus `extra` (keys) when given.
std::string Lines(const std::vector<std::string>& paths, const std::string& extra = "") {
  std::string text;
  for (const auto& path : paths) text += Url("o/" + path) + " " + path + (extra.empty() ? "" : " " + extra) + "\n";
  return text;
}

manifest::Manifest MustParse(const std::string& text, const std::string& name = "urls.txt") {
  auto manifest = manifest::ParseManifestText(text, name);
  EXPECT_TRUE(manifest.ok()) << (manifest.ok() ? "" : manifest.error().message);
  if (!manifest.ok()) return {};
  return *manifest;
}

InodeTable MustBuild(const std::string& text, const InodeTable* previous = nullptr) {
  auto table = InodeTable::Build(MustParse(text), previous);
  EXPECT_TRUE(table.ok()) << (table.ok() ? "" : table.error().message);
  if (!table.ok()) return InodeTable();
  return std::move(*table);
}

// The error building `text` fails with (its kind checked, and that no signature leaked).
std::string BuildError(const std::string& text, const std::string& name = "urls.txt") {
  auto table = InodeTable::Build(MustParse(text, name), nullptr);
  EXPECT_FALSE(table.ok()) << text;
  if (table.ok()) return "";
  EXPECT_EQ(table.error().kind, ErrorKind::kBadInput);
  EXPECT_EQ(table.error().message.find("secret"), std::string::npos) << table.error().message;
  return table.error().message;
}

std::uint64_t Ino(const InodeTable& table, const std::string& path) {
  const Node* node = table.AtPath(path);
  EXPECT_NE(node, nullptr) << path;
  return node == nullptr ? 0 : node->ino;
}

std::uint64_t MaxIno(const InodeTable& table) {
  std::uint64_t max = 0;
  for (const auto& [path, ino] : table.paths()) max = std::max(max, ino);
  return max;
}

std::vector<std::string> Paths(const InodeTable& table) {
  std::vector<std::string> paths;
  for (const auto& [path, ino] : table.paths()) paths.push_back(path);
  return paths;
}

// ---- building ----

TEST(InodeTable, DefaultTableIsJustTheRoot) {
  InodeTable table;
  const Node* root = table.Find(InodeTable::kRootIno);
  ASSERT_NE(root, nullptr);
  EXPECT_TRUE(root->dir);
  EXPECT_EQ(root->parent, InodeTable::kRootIno);
  EXPECT_TRUE(root->children.empty());
  EXPECT_EQ(table.AtPath(""), root);
  EXPECT_EQ(Paths(table), std::vector<std::string>{""});
  EXPECT_EQ(table.Find(InodeTable::kRootIno + 1), nullptr);
  EXPECT_EQ(table.FileCount(), 0u);
}

TEST(InodeTable, DirectoriesAreMadeFromThePaths) {
  InodeTable table = MustBuild(Lines({"a/b/c.txt", "a/d.txt", "e.txt"}));
  EXPECT_EQ(Paths(table), (std::vector<std::string>{"", "a", "a/b", "a/b/c.txt", "a/d.txt", "e.txt"}));
  EXPECT_EQ(table.FileCount(), 3u);

  const Node* root = table.AtPath("");
  const Node* a = table.AtPath("a");
  const Node* b = table.AtPath("a/b");
  ASSERT_NE(root, nullptr);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(root->ino, InodeTable::kRootIno);
  EXPECT_EQ(root->children, (std::map<std::string, std::uint64_t>{{"a", a->ino}, {"e.txt", Ino(table, "e.txt")}}));
  EXPECT_TRUE(a->dir);
  EXPECT_EQ(a->name, "a");
  EXPECT_EQ(a->parent, InodeTable::kRootIno);
  EXPECT_FALSE(a->object);
  EXPECT_EQ(a->children, (std::map<std::string, std::uint64_t>{{"b", b->ino}, {"d.txt", Ino(table, "a/d.txt")}}));
  EXPECT_TRUE(b->dir);
  EXPECT_EQ(b->name, "b");
  EXPECT_EQ(b->parent, a->ino);
  EXPECT_EQ(b->children, (std::map<std::string, std::uint64_t>{{"c.txt", Ino(table, "a/b/c.txt")}}));

  // Every path has a number of its own, and Find agrees with paths().
  std::set<std::uint64_t> inos;
  for (const auto& [path, ino] : table.paths()) {
    EXPECT_TRUE(inos.insert(ino).second) << path << " shares inode " << ino;
    ASSERT_NE(table.Find(ino), nullptr) << path;
    EXPECT_EQ(table.Find(ino)->ino, ino);
  }
}

TEST(InodeTable, FilesCarryTheirManifestEntryAndANewObject) {
  InodeTable table = MustBuild(Lines({"a/b/c.txt"}) + Url("o/e") + " e.txt size=5\n");
  const Node* c = table.AtPath("a/b/c.txt");
  const Node* e = table.AtPath("e.txt");
  ASSERT_NE(c, nullptr);
  ASSERT_NE(e, nullptr);
  EXPECT_FALSE(c->dir);
  EXPECT_EQ(c->name, "c.txt");
  EXPECT_EQ(c->parent, Ino(table, "a/b"));
  EXPECT_TRUE(c->children.empty());
  EXPECT_EQ(c->line, 1);
  EXPECT_EQ(e->line, 2);
  ASSERT_TRUE(c->object);
  ASSERT_TRUE(e->object);
  EXPECT_NE(c->object, e->object);
  EXPECT_EQ(c->object->path(), "a/b/c.txt");
  EXPECT_EQ(c->object->url().full(), Url("o/a/b/c.txt"));
  EXPECT_EQ(c->object->ino.load(), c->ino);
  EXPECT_EQ(e->object->ino.load(), e->ino);
  EXPECT_EQ(e->object->KnownSize(), 5u);
  EXPECT_EQ(table.ObjectOf(c->ino), c->object);
  EXPECT_EQ(table.ObjectOf(Ino(table, "a")), nullptr);   // a directory
  EXPECT_EQ(table.ObjectOf(MaxIno(table) + 1), nullptr);   // no such inode
}

TEST(InodeTable, TotalKnownBytesAddsTheKnownSizes) {
  InodeTable table = MustBuild(Url("o/a") + " a size=5\n" + Url("o/b") + " d/b size=7\n" + Url("o/c") + " c\n");
  EXPECT_EQ(table.FileCount(), 3u);
  EXPECT_EQ(table.TotalKnownBytes(), 12u);   // c's size is not known yet
}

// ---- lookups ----

struct ChildCase {
  std::string parent;     // a path
  std::string name;
  std::string expected;   // a path; "-" for none
};

TEST(InodeTable, ChildLooksUpANameInADirectory) {
  InodeTable table = MustBuild(Lines({"a/b/c.txt", "a/d.txt", "e.txt"}));
  const std::vector<ChildCase> cases = {
      {"", "a", "a"},
      {"", "e.txt", "e.txt"},
      {"a", "b", "a/b"},
      {"a", "d.txt", "a/d.txt"},
      {"a/b", "c.txt", "a/b/c.txt"},
      {"", "c.txt", "-"},        // not in the root
      {"", "a/b", "-"},          // a name, not a path
      {"a", "missing", "-"},
      {"a", "", "-"},
      {"e.txt", "x", "-"},       // a file has no children
  };
  for (const auto& c : cases) {
    SCOPED_TRACE("'" + c.parent + "' / '" + c.name + "'");
    const Node* child = table.Child(Ino(table, c.parent), c.name);
    if (c.expected == "-") {
      EXPECT_EQ(child, nullptr);
    } else {
      ASSERT_NE(child, nullptr);
      EXPECT_EQ(child, table.AtPath(c.expected));
      EXPECT_EQ(child->name, c.name);
      EXPECT_EQ(child->parent, Ino(table, c.parent));
    }
  }
  EXPECT_EQ(table.Child(MaxIno(table) + 1, "a"), nullptr);   // no such directory
}

TEST(InodeTable, AtPathFindsOnlyWholePaths) {
  InodeTable table = MustBuild(Lines({"a/b/c.txt"}));
  for (const std::string path : {"a/b/c", "b/c.txt", "c.txt", "a/b/c.txt/x", "x"}) {
    EXPECT_EQ(table.AtPath(path), nullptr) << path;
  }
  ASSERT_NE(table.AtPath("a/b/c.txt"), nullptr);
  EXPECT_EQ(table.Find(Ino(table, "a/b/c.txt")), table.AtPath("a/b/c.txt"));
}

TEST(InodeTable, SetObjectServesAnotherObjectAtAPath) {
  InodeTable old_table = MustBuild(Lines({"a.txt"}));
  InodeTable table = MustBuild(Lines({"a.txt", "b.txt"}));
  fetch::ObjectPtr old_object = old_table.AtPath("a.txt")->object;
  fetch::ObjectPtr b_object = table.AtPath("b.txt")->object;
  table.SetObject("a.txt", old_object);
  EXPECT_EQ(table.AtPath("a.txt")->object, old_object);
  EXPECT_EQ(table.ObjectOf(Ino(table, "a.txt")), old_object);
  EXPECT_EQ(table.AtPath("b.txt")->object, b_object);
  table.SetObject("missing.txt", old_object);   // not a path of the table: nothing changes
  EXPECT_EQ(table.AtPath("missing.txt"), nullptr);
  EXPECT_EQ(table.FileCount(), 2u);
}

// ---- names refused ----

struct RefusedCase {
  std::string text;
  std::string file;
  std::string message;
};

TEST(InodeTable, ReservedNamesAndEmptyPathsAreRefusedWithTheEntryLocation) {
  const std::string good = Lines({"ok.txt"});
  const std::vector<RefusedCase> cases = {
      {good + Url("o/s") + " .getmfs-status\n", "urls.txt", "urls.txt:2: names starting with .getmfs are reserved"},
      {good + Url("o/s") + " .getmfs\n", "urls.txt", "urls.txt:2: names starting with .getmfs are reserved"},
      {good + Url("o/s") + " .getmfsx/inner.txt\n", "urls.txt", "urls.txt:2: names starting with .getmfs are reserved"},
      // The URL's last segment is the name when no PATH is given.
      {good + "\n" + Url(".getmfs-status") + "\n", "list.txt", "list.txt:3: names starting with .getmfs are reserved"},
      // A URL path that ends in '/' gives no name.
      {good + Url("dir/") + "\n", "urls.txt", "urls.txt:2: the URL has no file name; give a PATH"},
      {"[{\"url\": \"" + Url("o/a") + "\", \"filepath\": \"a\"}, {\"url\": \"" + Url("dir/") + "\"}]", "m.json",
       "m.json: entry 2: the URL has no file name; give a PATH"},
      {"[{\"url\": \"" + Url("o/a") + "\", \"filepath\": \".getmfs-status\"}]", "m.json",
       "m.json: entry 1: names starting with .getmfs are reserved"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    EXPECT_EQ(BuildError(c.text, c.file), c.message);
  }
}

TEST(InodeTable, GetmfsNamesBelowTheRootAndNamesMerelyContainingItAreAccepted) {
  // The mount's own files (.getmfs-status) live in its root only.
  for (const std::string path : {"dir/.getmfs-status", "dir/.getmfs", "x.getmfs", "getmfs", "a.getmfs-status"}) {
    SCOPED_TRACE(path);
    auto table = InodeTable::Build(MustParse(Lines({path})), nullptr);
    ASSERT_TRUE(table.ok()) << table.error().message;
    EXPECT_NE(table->AtPath(path), nullptr);
  }
}

// ---- inode numbers across a rebuild ----

TEST(InodeTable, KeptPathsKeepTheirNumbersAndNewPathsComeAfterEveryPreviousOne) {
  InodeTable before = MustBuild(Lines({"a/x", "a/y", "b"}));
  // Another order, a/y gone, c/z new.
  InodeTable after = MustBuild(Lines({"c/z", "b", "a/x"}), &before);
  for (const std::string path : {"", "a", "a/x", "b"}) {
    EXPECT_EQ(Ino(after, path), Ino(before, path)) << path;
  }
  EXPECT_GT(Ino(after, "c"), MaxIno(before));
  EXPECT_GT(Ino(after, "c/z"), MaxIno(before));
  EXPECT_NE(Ino(after, "c"), Ino(after, "c/z"));
  EXPECT_EQ(after.AtPath("a/y"), nullptr);
  EXPECT_EQ(after.Find(Ino(before, "a/y")), nullptr);
  EXPECT_EQ(after.FileCount(), 3u);
  // A new object for every file, numbered as its path.
  EXPECT_NE(after.AtPath("a/x")->object, before.AtPath("a/x")->object);
  EXPECT_EQ(after.AtPath("a/x")->object->ino.load(), Ino(before, "a/x"));
  EXPECT_EQ(after.AtPath("a")->children, (std::map<std::string, std::uint64_t>{{"x", Ino(before, "a/x")}}));
}

TEST(InodeTable, AFileThatBecomesADirectoryGetsANewNumber) {
  InodeTable first = MustBuild(Lines({"a", "d/e"}));
  InodeTable second = MustBuild(Lines({"a/x", "d"}), &first);   // a: file -> dir; d: dir -> file
  EXPECT_TRUE(second.AtPath("a")->dir);
  EXPECT_FALSE(second.AtPath("d")->dir);
  EXPECT_GT(Ino(second, "a"), MaxIno(first));
  EXPECT_GT(Ino(second, "d"), MaxIno(first));
  EXPECT_NE(Ino(second, "a"), Ino(second, "d"));
}

TEST(InodeTable, NumbersOfRemovedPathsAreNeverReused) {
  InodeTable first = MustBuild(Lines({"a", "b", "d/e"}));
  InodeTable second = MustBuild(Lines({"a"}), &first);   // b, d and d/e removed
  EXPECT_EQ(Ino(second, "a"), Ino(first, "a"));
  // b comes back and c, d, d/e are new: all get numbers above every number `first` used,
  // though `second` no longer has b, d or d/e.
  InodeTable third = MustBuild(Lines({"a", "b", "c", "d/e"}), &second);
  EXPECT_EQ(Ino(third, "a"), Ino(first, "a"));
  for (const std::string path : {"b", "c", "d", "d/e"}) {
    EXPECT_GT(Ino(third, path), MaxIno(first)) << path;
  }
  std::set<std::uint64_t> inos;
  for (const auto& [path, ino] : third.paths()) EXPECT_TRUE(inos.insert(ino).second) << path;
  // And once more, after a table that kept everything.
  InodeTable fourth = MustBuild(Lines({"a", "b", "c", "d/e", "f"}), &third);
  EXPECT_EQ(Ino(fourth, "b"), Ino(third, "b"));
  EXPECT_GT(Ino(fourth, "f"), MaxIno(third));
}

}  // namespace
}  // namespace getmfs::fs
