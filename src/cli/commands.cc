#include "cli/commands.h"

#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <string>

#include "cli/get_command.h"
#include "cli/size.h"
#include "util/error.h"
#include "util/log.h"

namespace getmfs::cli {
namespace {

// Exit statuses (documented in the README).
constexpr int kExitUsage = 2;

void SetVerbosity(int verbosity) {
  switch (verbosity) {
    case 0: SetLogLevel(LogLevel::kError); break;
    case 1: SetLogLevel(LogLevel::kInfo); break;
    case 2: SetLogLevel(LogLevel::kInfo); break;
    default: SetLogLevel(LogLevel::kDebug); break;
  }
}

// A CLI11 validator for sizes such as 8M or 1G.
struct SizeValidator : public CLI::Validator {
  SizeValidator() {
    name_ = "SIZE";
    func_ = [](std::string& value) {
      auto bytes = ParseSize(value);
      if (!bytes) return "\"" + value + "\" is not a size (examples: 1048576, 64K, 8M, 1G)";
      value = std::to_string(*bytes);
      return std::string();
    };
  }
};

std::optional<int> ParseConcurrency(const std::string& text) {
  if (text == "none") return std::nullopt;
  return std::stoi(text);
}

void AddGetOptions(CLI::App* app, GetConfig* config, std::string* concurrency, int* verbose, bool* quiet) {
  app->add_option("-O,--output", config->output, "Destination file or directory (default: current directory)");
  app->add_option("--manifest", config->manifest, "Download every URL of a manifest (urls.txt or getm JSON)");
  app->add_option("--concurrency", *concurrency,
                  "Range requests in flight (default 16); 1 streams one GET; none uses no worker processes")
      ->check([](const std::string& v) -> std::string {
        if (v == "none") return "";
        try {
          if (std::stoi(v) >= 1 && std::stoi(v) <= 1024) return "";
        } catch (...) {
        }
        return "--concurrency takes a number from 1 to 1024, or none";
      });
  app->add_option("--workers", config->workers, "Worker processes (default: number of CPUs)")->check(CLI::Range(1, 256));
  app->add_option("--chunk-size", config->chunk_size, "Bytes per range request (default 8M)")
      ->check(SizeValidator())
      ->check(CLI::Range(std::size_t{4096}, std::size_t{1} << 30));
  app->add_option("--checksum", config->checksum, "Expected checksum of the object");
  app->add_option("--checksum-algorithm", config->checksum_algorithm,
                  "md5 | sha256 | crc32c | gs_crc32c | s3_etag | null (default md5)");
  app->add_option("--s3-part-size", config->s3_part_size, "Part size of a multipart S3 upload, for s3_etag")
      ->check(SizeValidator());
  app->add_flag("--continue-after-error", config->continue_after_error, "Go on with the other URLs after a failure");
  app->add_option("--timeout", config->timeout_seconds, "Seconds a transfer may take, retries included (default 300)")
      ->check(CLI::PositiveNumber);
  app->add_flag("--progress,!--no-progress", config->progress, "Show a progress bar (default: on a terminal)");
  app->add_flag("-v,--verbose", *verbose, "More output (-vv: debug)");
  app->add_flag("-q,--quiet", *quiet, "Errors only");
}

int FinishGet(GetConfig& config, const std::string& concurrency, int verbose, bool quiet) {
  config.concurrency = ParseConcurrency(concurrency);
  config.verbosity = quiet ? 0 : 1 + verbose;
  SetVerbosity(config.verbosity);
  if (config.url.empty() == config.manifest.empty()) {
    std::fprintf(stderr, "getmfs get: give one URL or --manifest FILE (see getmfs get --help)\n");
    return kExitUsage;
  }
  return RunGet(config);
}

int RunGetm(int argc, char** argv) {
  CLI::App app{"getm: fast, verified downloads of data URLs (the getmfs engine)", "getm"};
  GetConfig config;
  std::string concurrency = "16";
  int verbose = 0;
  bool quiet = false;
  std::string file;
  app.add_option("url", config.url, "URL to download");
  app.add_option("file", file, "Destination file or directory");
  AddGetOptions(&app, &config, &concurrency, &verbose, &quiet);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : kExitUsage;
  }
  if (!file.empty()) config.output = file;
  return FinishGet(config, concurrency, verbose, quiet);
}

}  // namespace

int Main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  SetLogTag("getmfs");
  std::string self = std::filesystem::path(argv[0]).filename().string();
  if (self == "getm") {
    SetLogTag("getm");
    return RunGetm(argc, argv);
  }

  CLI::App app{"getmfs: signed URLs as verified, read-only files", "getmfs"};
  app.require_subcommand(1);
  app.set_version_flag("--version", GETMFS_VERSION);

  GetConfig get;
  std::string concurrency = "16";
  int verbose = 0;
  bool quiet = false;
  std::string get_file;
  CLI::App* get_cmd = app.add_subcommand("get", "Download URLs with verification (same as getm)");
  get_cmd->add_option("url", get.url, "URL to download");
  get_cmd->add_option("file", get_file, "Destination file or directory (same as -O)");
  AddGetOptions(get_cmd, &get, &concurrency, &verbose, &quiet);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : kExitUsage;
  }
  if (get_cmd->parsed()) {
    if (!get_file.empty()) {
      if (!get.output.empty()) {
        std::fprintf(stderr, "getmfs get: give the destination once (FILE or -O)\n");
        return kExitUsage;
      }
      get.output = get_file;
    }
    return FinishGet(get, concurrency, verbose, quiet);
  }
  return kExitUsage;
}

}  // namespace getmfs::cli
