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
std::map<std::size_t, Error> ResolveDrsEntries(manifest::Manifest* manifest, const DrsOptions& options,
                                               bool only_unnamed = false);

// For a mount, where every file must resolve: kBadInput/kForbidden... naming the first few
// failures, and how many there were.
Status ResolveAllDrsEntries(manifest::Manifest* manifest, const DrsOptions& options, bool only_unnamed = false);

// ParseManifestFile, then ResolveAllDrsEntries when it has drs:// entries: what `reload` and
// DRS refreshes read. With only_unnamed, entries whose PATH the manifest gives are left for
// the mount to resolve in the background (a mount of thousands of URIs is ready at once).
Result<manifest::Manifest> LoadManifestFile(const std::string& file, const DrsOptions& options,
                                            bool only_unnamed = false);

}  // namespace getmfs::drs

#endif  // GETMFS_DRS_DRS_MANIFEST_H_
