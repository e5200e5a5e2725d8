// What a reload keeps, rebinds, confirms and drops (reload_plan.h).
#include "fs/reload_plan.h"

namespace getmfs::fs {

ReloadPlan PlanReload(const InodeTable& current, const InodeTable& fresh) {
  ReloadPlan plan;
  for (const auto& [path, ino] : fresh.paths()) {
    const Node* node = fresh.Find(ino);
    const Node* before = current.AtPath(path);
    if (!node->object || before == nullptr || !before->object) continue;
    const fetch::ObjectPtr& old = before->object;
    if (!old->SameManifestData(*node->object)) {
      plan.changed.insert(path);   // the manifest describes another object (size, checksum)
    } else if (old->url() == node->object->url()) {
      plan.keep[path] = old;
    } else if (old->cache_id() != 0 && !old->DescribedByManifest()) {
      plan.confirm[path] = old;   // a probe tells whether the new URL names the same object
    } else {
      // Never read (nothing cached), or the manifest gives size and checksum (a DRS object, a
      // refresh): open handles keep working with the new URL; verification still checks it.
      plan.rebind[path] = old;
    }
  }
  return plan;
}

ReloadDiff DiffReload(const InodeTable& current, const InodeTable& fresh, const std::set<std::string>& changed) {
  ReloadDiff diff;
  for (const auto& [path, ino] : current.paths()) {
    const Node* old = current.Find(ino);
    const Node* now = fresh.AtPath(path);
    if (now == nullptr || now->dir != old->dir) {
      if (old->object) diff.failed.push_back({old->object, path + " was removed from the manifest"});
      diff.invalidations.push_back({Invalidation::kEntry, 0, old->parent, old->name});
    } else if (changed.count(path) != 0) {
      if (old->object) diff.failed.push_back({old->object, path + " now names another object"});
      diff.invalidations.push_back({Invalidation::kInode, ino, 0, ""});
    } else if (old->dir && now->children != old->children) {
      diff.invalidations.push_back({Invalidation::kInode, ino, 0, ""});
    }
  }
  return diff;
}

}  // namespace getmfs::fs
