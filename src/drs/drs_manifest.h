// The drs:// entries of a manifest, resolved into access URLs (with their headers), sizes,
// checksums and paths, a bounded number of lookups at a time.
#ifndef GETMFS_DRS_DRS_MANIFEST_H_
#define GETMFS_DRS_DRS_MANIFEST_H_

#include <cstddef>
#include <map>

#include "drs/drs_client.h"
#include "manifest/manifest.h"

namespace getmfs::drs {

bool HasDrsEntries(const manifest::Manifest& manifest);

// Resolves every entry whose drs_uri is set: url and headers always; size, checksum and
// path only where the manifest gave none (path: the object's name, else its id). Returns
// the entries that failed (index -> error naming the entry); those keep an empty url.
// Then checks the paths again (a duplicate after resolution is an error of its entry).
std::map<std::size_t, Error> ResolveDrsEntries(manifest::Manifest* manifest, const DrsOptions& options);

// For a mount, where every file must resolve: kBadInput/kForbidden... naming the first few
// failures, and how many there were.
Status ResolveAllDrsEntries(manifest::Manifest* manifest, const DrsOptions& options);

// ParseManifestFile, then ResolveAllDrsEntries when it has drs:// entries: what a mount
// serves and what `reload` and DRS refreshes read.
Result<manifest::Manifest> LoadManifestFile(const std::string& file, const DrsOptions& options);

}  // namespace getmfs::drs

#endif  // GETMFS_DRS_DRS_MANIFEST_H_
