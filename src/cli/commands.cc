// The command line: CLI11 subcommands and options into config structs, then the command.
#include "cli/commands.h"

#include <CLI/CLI.hpp>

#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <set>
#include <stdexcept>
#include <string>

#include "cli/control_commands.h"
#include "cli/get_command.h"
#include "session.h"
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
    case 1: SetLogLevel(LogLevel::kWarning); break;
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
      ->transform(SizeValidator())
      ->check(CLI::Range(std::size_t{4096}, std::size_t{1} << 30));
  app->add_option("--cache-size", config->cache_size, "Hard limit of the shared-memory cache (default: what the window needs)")
      ->transform(SizeValidator());
  app->add_option("--checksum", config->checksum, "Expected checksum of the object");
  app->add_option("--checksum-algorithm", config->checksum_algorithm,
                  "md5 | sha256 | crc32c | gs_crc32c | s3_etag | null (default md5)");
  app->add_option("--s3-part-size", config->s3_part_size, "Part size of a multipart S3 upload, for s3_etag")
      ->transform(SizeValidator());
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

struct MountArgs {
  mount::MountConfig config;
  std::string concurrency = "16";
  std::string file_mode = "0444", dir_mode = "0555";
  std::vector<std::string> options;
  std::string verify_random = "off";
  int verbose = 0;
};

bool VerifyRandomBackground(const std::string& value);

void AddMountOptions(CLI::App* cmd, MountArgs* m) {
  auto& c = m->config;
  c.fs.uid = getuid();
  c.fs.gid = getgid();
  cmd->add_option("manifest", c.manifest, "urls.txt (URL [PATH] [size=N] [md5=...]) or getm's JSON list")->required();
  cmd->add_option("mountpoint", c.mountpoint, "An existing directory")->required();
  cmd->add_flag("-f,--foreground", c.foreground, "Stay in the foreground, logging to stderr");
  cmd->add_option("--concurrency", m->concurrency, "Range requests in flight at most (default 16; fewer while fewer move as much); none: no worker processes (debugging)");
  cmd->add_option("--workers", c.fs.workers, "Worker processes (default: number of CPUs)")->check(CLI::Range(1, 256));
  cmd->add_option("--cache-size", c.fs.cache_size, "Shared-memory block cache (default 1G, less on small machines)")->transform(SizeValidator());
  cmd->add_option("--block-size", c.fs.block_size, "Cache block, the smallest fetch (default 64K)")->transform(SizeValidator())
      ->check(CLI::Range(std::size_t{4096}, std::size_t{64} << 20));
  cmd->add_option("--max-readahead", c.fs.max_readahead, "Largest read-ahead window per open file (default 64M)")->transform(SizeValidator());
  cmd->add_option("--verify-random", m->verify_random,
                  "off (default): a file read at random stays 'partial' until all of it was read; "
                  "background: fetch the rest at low priority so its checksum is verified")
      ->check(CLI::IsMember({"off", "background"}));
  cmd->add_option("--timeout", c.fs.timeout_seconds, "Seconds a read may wait before ETIMEDOUT (default 60)")->check(CLI::PositiveNumber);
  cmd->add_option("--log-file", c.log_file, "Log here instead of syslog when detached");
  cmd->add_option("--uid", c.fs.uid, "Owner of the files (default: you)");
  cmd->add_option("--gid", c.fs.gid, "Group of the files (default: yours)");
  cmd->add_option("--file-mode", m->file_mode, "Permissions of files, octal (default 0444)");
  cmd->add_option("--dir-mode", m->dir_mode, "Permissions of directories, octal (default 0555)");
  cmd->add_option("-o", m->options, "FUSE mount options, e.g. -o allow_other (passed through)")->allow_extra_args(false);
  cmd->add_flag("-v,--verbose", m->verbose, "More logging (-vv: debug, -vvv: FUSE debug)");
}

// --verify-random / -o verify_random=: off or background.
bool VerifyRandomBackground(const std::string& value) {
  if (value != "off" && value != "background") throw std::invalid_argument("verify_random takes off or background");
  return value == "background";
}

// Applies one -o option: getmfs's own set the config, the rest go to libfuse. Throws on a
// bad value.
void ApplyMountOption(const std::string& opt, mount::MountConfig* c) {
  auto eq = opt.find('=');
  std::string key = opt.substr(0, eq), value = eq == std::string::npos ? "" : opt.substr(eq + 1);
  auto size = [&](std::size_t* out) {
    auto bytes = ParseSize(value);
    if (!bytes) throw std::invalid_argument("-o " + opt + ": not a size");
    *out = static_cast<std::size_t>(*bytes);
  };
  if (key == "cache_size") size(&c->fs.cache_size);
  else if (key == "block_size") size(&c->fs.block_size);
  else if (key == "max_readahead") size(&c->fs.max_readahead);
  else if (key == "concurrency") c->fs.concurrency = ParseConcurrency(value);
  else if (key == "workers") c->fs.workers = std::stoi(value);
  else if (key == "timeout") c->fs.timeout_seconds = std::stod(value);
  else if (key == "log_file") c->log_file = value;
  else if (key == "verify_random") c->fs.verify_random_background = VerifyRandomBackground(value);
  else c->fuse_options.push_back(opt);
}

// -o: mount(8)'s generic options are dropped, getmfs's own (for /etc/fstab lines such as
// `urls.txt /mnt/data fuse.getmfs ro,allow_other,cache_size=2G 0 0`) are applied, the
// rest goes to libfuse. False (after the message) on a bad value.
bool ApplyMountOptions(const std::vector<std::string>& lists, mount::MountConfig* c) {
  static const std::set<std::string> kGeneric = {"ro", "rw", "nofail", "_netdev", "defaults", "auto", "noauto",
                                                 "user", "users", "nouser", "dev", "nodev", "suid", "nosuid",
                                                 "exec", "noexec", "async", "atime", "noatime", "relatime"};
  for (const auto& list : lists) {
    std::size_t start = 0;
    while (start <= list.size()) {
      auto comma = list.find(',', start);
      std::string opt = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      start = comma == std::string::npos ? list.size() + 1 : comma + 1;
      if (opt.empty() || kGeneric.count(opt)) continue;
      try {
        ApplyMountOption(opt, c);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "getmfs mount: bad option -o %s\n", opt.c_str());
        return false;
      }
    }
  }
  return true;
}

int FinishMount(MountArgs& m) {
  auto& c = m.config;
  c.fs.concurrency = ParseConcurrency(m.concurrency);
  auto file_mode = ParseMode(m.file_mode), dir_mode = ParseMode(m.dir_mode);
  if (!file_mode || !dir_mode) {
    std::fprintf(stderr, "getmfs mount: --file-mode and --dir-mode take octal permissions such as 0444\n");
    return kExitUsage;
  }
  c.fs.file_mode = *file_mode & 0555;   // read-only, whatever was asked
  c.fs.dir_mode = *dir_mode & 0555;
  c.fs.verify_random_background = VerifyRandomBackground(m.verify_random);
  if (!ApplyMountOptions(m.options, &c)) return kExitUsage;
  c.verbosity = 1 + m.verbose;
  SetLogLevel(m.verbose >= 2 ? LogLevel::kDebug : m.verbose == 1 ? LogLevel::kInfo : LogLevel::kWarning);
  return mount::RunMount(c);
}

// The arguments of `getmfs get`, filled in by the parse.
struct GetArgs {
  GetConfig config;
  std::string concurrency = "16";
  int verbose = 0;
  bool quiet = false;
  std::string file;   // the destination given as a second argument
};

CLI::App* AddGetCommand(CLI::App* app, GetArgs* g) {
  CLI::App* cmd = app->add_subcommand("get", "Download URLs with verification (same as getm)");
  cmd->add_option("url", g->config.url, "URL to download");
  cmd->add_option("file", g->file, "Destination file or directory (same as -O)");
  AddGetOptions(cmd, &g->config, &g->concurrency, &g->verbose, &g->quiet);
  return cmd;
}

// `getmfs get`: the destination comes as FILE or -O, not both.
int FinishGetCommand(GetArgs& g) {
  if (!g.file.empty()) {
    if (!g.config.output.empty()) {
      std::fprintf(stderr, "getmfs get: give the destination once (FILE or -O)\n");
      return kExitUsage;
    }
    g.config.output = g.file;
  }
  return FinishGet(g.config, g.concurrency, g.verbose, g.quiet);
}

// The arguments of unmount, status and reload (each takes the mountpoint).
struct ControlArgs {
  std::string mountpoint;
  bool lazy = false, json = false;
  double reload_timeout = 60;
};

struct ControlCommands {
  CLI::App* unmount;
  CLI::App* status;
  CLI::App* reload;
};

ControlCommands AddControlCommands(CLI::App* app, ControlArgs* a) {
  ControlCommands cmds;
  cmds.unmount = app->add_subcommand("unmount", "Unmount a getmfs mount");
  cmds.unmount->add_option("mountpoint", a->mountpoint)->required();
  cmds.unmount->add_flag("--lazy", a->lazy, "Detach now even if files are open");
  cmds.status = app->add_subcommand("status", "Per-file state of a mount: size, checksum, verified, bytes, errors");
  cmds.status->add_option("mountpoint", a->mountpoint)->required();
  cmds.status->add_flag("--json", a->json, "Print the raw JSON");
  cmds.reload = app->add_subcommand("reload", "Re-read the manifest of a mount (fresh signed URLs); SIGHUP does the same");
  cmds.reload->add_option("mountpoint", a->mountpoint)->required();
  cmds.reload->add_option("--timeout", a->reload_timeout, "Seconds to wait for the daemon")->check(CLI::PositiveNumber);
  return cmds;
}

// mount(8) with type fuse.getmfs (via mount.fuse3) runs `getmfs SOURCE MOUNTPOINT -o OPTS`:
// argv with "mount" inserted before SOURCE then, else argv as it is.
std::vector<char*> WithImplicitMount(int argc, char** argv) {
  static const std::set<std::string> kCommands = {"get", "mount", "unmount", "status", "reload"};
  static char implicit_mount[] = "mount";
  std::vector<char*> args(argv, argv + argc);
  if (argc >= 3 && argv[1][0] != '-' && !kCommands.count(argv[1])) args.insert(args.begin() + 1, implicit_mount);
  return args;
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
  std::vector<char*> args = WithImplicitMount(argc, argv);

  CLI::App app{"getmfs: signed URLs as verified, read-only files", "getmfs"};
  app.require_subcommand(1);
  app.set_version_flag("--version", GETMFS_VERSION);
  GetArgs get_args;
  CLI::App* get_cmd = AddGetCommand(&app, &get_args);
  MountArgs mount_args;
  CLI::App* mount_cmd = app.add_subcommand("mount", "Mount the URLs of a manifest as read-only files");
  AddMountOptions(mount_cmd, &mount_args);
  ControlArgs control_args;
  ControlCommands control = AddControlCommands(&app, &control_args);

  try {
    app.parse(static_cast<int>(args.size()), args.data());
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : kExitUsage;
  }
  if (mount_cmd->parsed()) return FinishMount(mount_args);
  if (control.unmount->parsed()) return RunUnmount(control_args.mountpoint, control_args.lazy);
  if (control.status->parsed()) return RunStatus(control_args.mountpoint, control_args.json);
  if (control.reload->parsed()) return RunReload(control_args.mountpoint, control_args.reload_timeout);
  if (get_cmd->parsed()) return FinishGetCommand(get_args);
  return kExitUsage;
}

}  // namespace getmfs::cli
