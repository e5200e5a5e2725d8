// The memory this process may use (memory_limit.h).
#include "util/memory_limit.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace getmfs {
namespace {

// A limit file's value: nullopt for "max", a missing file, or v1's "no limit" (2^63 rounded
// down to a page).
std::optional<std::uint64_t> ReadLimit(const std::string& file) {
  std::ifstream in(file);
  std::string text;
  if (!(in >> text) || text == "max") return std::nullopt;
  std::uint64_t value = 0;
  std::istringstream parse(text);
  if (!(parse >> value) || value >= (std::uint64_t{1} << 62)) return std::nullopt;
  return value;
}

// The smallest limit named file on path and its ancestors under root.
std::optional<std::uint64_t> SmallestOnPath(const std::string& root, std::string path, const std::string& file) {
  std::optional<std::uint64_t> smallest;
  for (;;) {
    while (path.size() > 1 && path.back() == '/') path.pop_back();
    std::string dir = root + (path == "/" ? "" : path);
    if (auto limit = ReadLimit(dir + "/" + file)) smallest = std::min(smallest.value_or(*limit), *limit);
    if (path.empty() || path == "/") return smallest;
    path = path.substr(0, path.rfind('/'));
    if (path.empty()) path = "/";
  }
}

bool NamesMemoryController(const std::string& controllers) {
  std::istringstream list(controllers);
  for (std::string c; std::getline(list, c, ',');) {
    if (c == "memory") return true;
  }
  return false;
}

}  // namespace

std::optional<std::uint64_t> CgroupMemoryLimit(const std::string& proc_self_cgroup, const std::string& cgroup_root) {
  std::optional<std::uint64_t> smallest;
  auto take = [&smallest](std::optional<std::uint64_t> limit) {
    if (limit) smallest = std::min(smallest.value_or(*limit), *limit);
  };
  std::istringstream lines(proc_self_cgroup);
  for (std::string line; std::getline(lines, line);) {
    std::size_t first = line.find(':'), second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    std::string controllers = line.substr(first + 1, second - first - 1);
    std::string path = line.substr(second + 1);
    if (path.empty() || path[0] != '/') continue;
    if (line.compare(0, first, "0") == 0 && controllers.empty()) {
      take(SmallestOnPath(cgroup_root, path, "memory.max"));                   // v2
      take(SmallestOnPath(cgroup_root + "/unified", path, "memory.max"));      // v2 beside v1 (hybrid)
    } else if (NamesMemoryController(controllers)) {
      take(SmallestOnPath(cgroup_root + "/memory", path, "memory.limit_in_bytes"));   // v1
    }
  }
  return smallest;
}

std::uint64_t UsableMemory() {
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  std::uint64_t physical = pages > 0 && page > 0 ? static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page)
                                                 : std::uint64_t{1} << 40;
  std::ifstream in("/proc/self/cgroup");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto limit = CgroupMemoryLimit(text, "/sys/fs/cgroup");
  return limit ? std::min(physical, *limit) : physical;
}

}  // namespace getmfs
