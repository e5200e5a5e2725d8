// getm's resolve_target (getm_target.h).
#include "cli/getm_target.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <vector>

#include "manifest/manifest.h"

namespace getmfs::cli {
namespace {

namespace stdfs = std::filesystem;

// The home directory of user ("" for the caller: $HOME, else the password database).
std::optional<std::string> HomeOf(const std::string& user) {
  if (user.empty()) {
    if (const char* home = std::getenv("HOME"); home != nullptr && home[0] != '\0') return std::string(home);
  }
  passwd entry{};
  passwd* found = nullptr;
  std::vector<char> buf(16384);
  int rc = user.empty() ? getpwuid_r(getuid(), &entry, buf.data(), buf.size(), &found)
                        : getpwnam_r(user.c_str(), &entry, buf.data(), buf.size(), &found);
  if (rc != 0 || found == nullptr) return std::nullopt;
  return std::string(entry.pw_dir);
}

// Python's os.path.expanduser: "~" or "~user" up to the first '/'.
Result<std::string> ExpandUser(const std::string& path) {
  if (path.empty() || path[0] != '~') return path;
  std::size_t slash = path.find('/');
  std::string user = path.substr(1, slash == std::string::npos ? std::string::npos : slash - 1);
  auto home = HomeOf(user);
  if (!home) return Error{ErrorKind::kBadInput, "filepath \"" + path + "\": no user named \"" + user + "\""};
  return *home + (slash == std::string::npos ? "" : path.substr(slash));
}

}  // namespace

Status CreateDirectories(const stdfs::path& dir) {
  std::error_code ec;
  stdfs::create_directories(dir, ec);
  if (ec) return Error{ErrorKind::kIo, "cannot create directory " + dir.string() + ": " + ec.message()};
  return Ok{};
}

Result<std::string> ResolveGetmTarget(const std::string& target, const std::string& base, const std::string& name) {
  auto expanded = ExpandUser(target);
  if (!expanded) return expanded.error();
  stdfs::path path(*expanded);
  if (path.is_relative() && !base.empty()) path = stdfs::path(base) / path;
  path = stdfs::absolute(path).lexically_normal();
  std::error_code ec;
  if (expanded->back() == '/' || stdfs::is_directory(path, ec)) {
    if (name.empty() || !manifest::ValidateRelativePath(name) || name.find('/') != std::string::npos) {
      return Error{ErrorKind::kBadInput, "filepath \"" + target + "\" is a directory and the URL gives no usable file "
                                         "name; give the file's path"};
    }
    if (Status made = CreateDirectories(path); !made) return made.error();
    return (path / name).string();
  }
  if (Status made = CreateDirectories(path.parent_path()); !made) return made.error();
  return path.string();
}

}  // namespace getmfs::cli
