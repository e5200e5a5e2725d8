// The mount's inode table, built from a manifest (inode_table.h).
#include "fs/inode_table.h"

#include <algorithm>
#include <vector>

namespace getmfs::fs {
namespace {

std::vector<std::string> SplitPath(const std::string& path) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= path.size()) {
    auto slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    parts.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

}  // namespace

InodeTable::InodeTable() {
  Node root;
  root.ino = kRootIno;
  root.parent = kRootIno;
  root.dir = true;
  nodes_[kRootIno] = root;
  by_path_[""] = kRootIno;
}

std::uint64_t InodeTable::InoFor(const std::string& path, bool dir, const InodeTable* previous) {
  // A path keeps its number while it stays a file (or a directory): a file that became a
  // directory is another inode to the kernel.
  const Node* before = previous != nullptr ? previous->AtPath(path) : nullptr;
  if (before != nullptr && before->dir == dir) return before->ino;
  return next_ino_++;
}

std::uint64_t InodeTable::DirectoryFor(const std::vector<std::string>& parts, const InodeTable* previous) {
  std::uint64_t parent = kRootIno;
  std::string prefix;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    prefix += (prefix.empty() ? "" : "/") + parts[i];
    auto found = by_path_.find(prefix);
    if (found != by_path_.end()) {
      parent = found->second;
      continue;
    }
    Node dir;
    dir.ino = InoFor(prefix, /*dir=*/true, previous);
    dir.parent = parent;
    dir.name = parts[i];
    dir.dir = true;
    nodes_[parent].children[parts[i]] = dir.ino;
    by_path_[prefix] = dir.ino;
    parent = dir.ino;
    nodes_[dir.ino] = std::move(dir);
  }
  return parent;
}

namespace {

// The object's probe resolves its DRS URI (in the background: see ProbeQueue).
fetch::Locator DrsLocator(const std::string& uri, const drs::DrsOptions* options) {
  if (options == nullptr) {
    return [uri]() -> Result<fetch::Located> {
      return Error{ErrorKind::kInternal, uri + " was not resolved (no DRS settings)"};
    };
  }
  return [uri, drs = *options]() -> Result<fetch::Located> {
    auto resolved = drs::Resolve(uri, drs);
    if (!resolved) return resolved.error();
    return fetch::Located{resolved->access(), resolved->size, resolved->checksum};
  };
}

}  // namespace

Result<InodeTable> InodeTable::Build(const manifest::Manifest& manifest, const InodeTable* previous,
                                     const drs::DrsOptions* drs) {
  InodeTable table;
  if (previous != nullptr) table.next_ino_ = previous->next_ino_;
  for (const auto& entry : manifest.entries) {
    if (entry.path.empty()) {
      return Error{ErrorKind::kBadInput, manifest::EntryLocation(entry) + ": the URL has no file name; give a PATH"};
    }
    auto parts = SplitPath(entry.path);
    if (parts.front().rfind(".getmfs", 0) == 0) {
      return Error{ErrorKind::kBadInput, manifest::EntryLocation(entry) + ": names starting with .getmfs are reserved"};
    }
    std::uint64_t parent = table.DirectoryFor(parts, previous);
    Node file;
    file.ino = table.InoFor(entry.path, /*dir=*/false, previous);
    file.parent = parent;
    file.name = parts.back();
    file.line = entry.line;
    file.object = std::make_shared<fetch::RemoteObject>(entry.path, http::SignedUrl(entry.url, entry.headers), entry.size, entry.checksum);
    file.object->ino = file.ino;
    if (entry.url.empty() && !entry.drs_uri.empty()) file.object->SetLocator(DrsLocator(entry.drs_uri, drs));
    table.nodes_[parent].children[file.name] = file.ino;
    table.by_path_[entry.path] = file.ino;
    table.nodes_[file.ino] = std::move(file);
    ++table.files_;
  }
  return table;
}

const Node* InodeTable::Find(std::uint64_t ino) const {
  auto it = nodes_.find(ino);
  return it == nodes_.end() ? nullptr : &it->second;
}

const Node* InodeTable::Child(std::uint64_t parent, const std::string& name) const {
  const Node* dir = Find(parent);
  if (dir == nullptr || !dir->dir) return nullptr;
  auto it = dir->children.find(name);
  return it == dir->children.end() ? nullptr : Find(it->second);
}

const Node* InodeTable::AtPath(const std::string& path) const {
  auto it = by_path_.find(path);
  return it == by_path_.end() ? nullptr : Find(it->second);
}

fetch::ObjectPtr InodeTable::ObjectOf(std::uint64_t ino) const {
  const Node* node = Find(ino);
  return node == nullptr ? nullptr : node->object;
}

void InodeTable::SetObject(const std::string& path, fetch::ObjectPtr object) {
  auto it = by_path_.find(path);
  if (it != by_path_.end()) nodes_.at(it->second).object = std::move(object);
}

std::uint64_t InodeTable::TotalKnownBytes() const {
  std::uint64_t n = 0;
  for (const auto& [ino, node] : nodes_) {
    if (node.object) n += node.object->KnownSize().value_or(0);
  }
  return n;
}

}  // namespace getmfs::fs
