// `getmfs get` (and `getm URL FILE`): verified downloads of one URL, DRS URI or a manifest.
// A file is written to a temporary file beside it and renamed only after the checksum matched
// (on any failure nothing is left behind); "-", devices and FIFOs are written in place (see
// cli/destination.h). The exit status says what went wrong.
#ifndef GETMFS_CLI_GET_COMMAND_H_
#define GETMFS_CLI_GET_COMMAND_H_

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace getmfs::cli {

struct GetConfig {
  std::string url;                      // one URL, or
  std::string manifest;                 // a manifest (urls.txt or getm's JSON list)
  std::string output;                   // file, directory or "-" ("" = current directory)
  std::optional<int> concurrency = 16;  // nullopt: no worker processes
  int workers = 0;
  std::size_t chunk_size = 4 << 20;   // bytes per range request (see --chunk-size)
  std::size_t cache_size = 0;           // hard limit of the shared memory; 0: sized for the window
  std::string checksum;
  std::string checksum_algorithm;
  std::size_t s3_part_size = 0;
  bool continue_after_error = false;
  double timeout_seconds = 300;
  std::string ca_bundle;                // --ca-bundle ("": the system's CAs)
  std::string drs_server;               // --drs-server ("": https://HOST of each drs:// URI)
  std::string drs_token_file;           // --drs-token-file ("": $GETMFS_DRS_TOKEN)
  std::string refresh_command;          // --refresh-command (with --manifest): fresh URLs
  double refresh_timeout_seconds = 60;  // --refresh-timeout
  int verbosity = 1;                    // 0 -q, 1 default, 2 -v, 3 -vv
  std::optional<bool> progress;         // default: when stderr is a terminal
  // Invoked as getm: its failure lines too (getm_messages.h), nothing on stderr on success
  // unless -v, and files_at_once from getm's --concurrency.
  bool getm_compat = false;
  std::optional<int> files_at_once;     // files downloading at once (default: up to 8)
};

// Returns the process exit status (0, or ExitCodeFor the first failure's kind).
int RunGet(const GetConfig& config);

}  // namespace getmfs::cli

#endif  // GETMFS_CLI_GET_COMMAND_H_
