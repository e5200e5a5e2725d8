// Where getm puts a download whose JSON manifest entry has a "filepath" (getm's
// resolve_target, which pipelines such as Cromwell's DRS localizer rely on).
#ifndef GETMFS_CLI_GETM_TARGET_H_
#define GETMFS_CLI_GETM_TARGET_H_

#include <filesystem>
#include <string>

#include "util/error.h"

namespace getmfs::cli {

// `~` and `~user` expanded; relative paths taken from base (the -O directory, or "" for the
// working directory); an existing directory, or a path ending in '/', gets name appended
// (name: the Content-Disposition filename or the URL's last segment); any missing directory
// is created. The absolute path of the file to write; kBadInput when a name is needed and
// there is none (or it is unsafe), or `~user` names nobody; kIo when a directory cannot be
// created.
Result<std::string> ResolveGetmTarget(const std::string& target, const std::string& base, const std::string& name);

// Creates dir and its missing parents, for a download's destination; kIo naming the
// directory when one cannot be made.
Status CreateDirectories(const std::filesystem::path& dir);

}  // namespace getmfs::cli

#endif  // GETMFS_CLI_GETM_TARGET_H_
