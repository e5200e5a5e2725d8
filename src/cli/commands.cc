// The command line: CLI11 subcommands and options into config structs, then the command.
#include "cli/commands.h"

#include <CLI/CLI.hpp>

#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

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

// Bounds of option values. A year of seconds keeps every deadline far from overflowing.
constexpr double kMaxSeconds = 365.0 * 24 * 3600;
constexpr std::int64_t kMaxConcurrency = 1024, kMaxWorkers = 256;
constexpr std::uint64_t kKiB = 1024, kMiB = kKiB << 10, kGiB = kMiB << 10;

// Gives an option its check, as a CLI11 transform (CLI11 then puts the option's name before
// the message and we exit 2), and the type its help shows.
CLI::Option* Checked(CLI::Option* option, Check check, const char* type) {
  return option->transform(CLI::Validator(std::move(check), ""))->type_name(type);
}

// No cache may be larger than the machine's memory.
std::uint64_t PhysicalMemory() {
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page <= 0) return std::uint64_t{1} << 40;
  return static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page);
}

// Values that passed their check: a count or id, a size (in decimal bytes by then), a
// concurrency (a count or none).
std::int64_t Number(const std::string& text) { return ParseCount(text, 0, INT64_MAX).value_or(0); }
std::size_t Bytes(const std::string& text) { return static_cast<std::size_t>(ParseSize(text).value_or(0)); }
std::optional<int> ParseConcurrency(const std::string& text) {
  if (text == "none") return std::nullopt;
  return static_cast<int>(Number(text));
}

void AddGetOptions(CLI::App* app, GetConfig* config, std::string* concurrency, int* verbose,
                   bool* quiet) {
  Checked(app->add_option("-O,--output", config->output,
                          "Destination file or directory (default: current directory)"),
          NotEmptyCheck("a file or directory"), "PATH");
  Checked(app->add_option("--manifest", config->manifest,
                          "Download every URL of a manifest (urls.txt or getm JSON)"),
          NotEmptyCheck("a manifest file"), "FILE");
  Checked(app->add_option("--concurrency", *concurrency,
                          "Range requests in flight (default 16); 1 streams one GET; none uses no "
                          "worker processes"),
          CountCheck(1, kMaxConcurrency, true), "N|none");
  Checked(app->add_option("--workers", config->workers, "Worker processes (default: number of CPUs)"),
          CountCheck(1, kMaxWorkers), "N");
  Checked(app->add_option("--chunk-size", config->chunk_size, "Bytes per range request, 4K to 1G (default 8M)"),
          SizeCheck(4 * kKiB, kGiB), "SIZE");
  Checked(app->add_option("--cache-size", config->cache_size,
                          "Hard limit of the shared-memory cache (default: what the window needs)"),
          SizeCheck(1, PhysicalMemory()), "SIZE");
  Checked(app->add_option("--checksum", config->checksum, "Expected checksum of the object"),
          NotEmptyCheck("a checksum (md5: 32 hex digits)"), "VALUE");
  Checked(app->add_option("--checksum-algorithm", config->checksum_algorithm,
                          "md5 | sha256 | crc32c | gs_crc32c | s3_etag | null (default md5)"),
          OneOfCheck({"md5", "sha256", "crc32c", "gs_crc32c", "s3_etag", "null"}), "ALGORITHM");
  Checked(app->add_option("--s3-part-size", config->s3_part_size,
                          "Part size of a multipart S3 upload, for s3_etag"),
          SizeCheck(1, 5 * kGiB), "SIZE");
  app->add_flag("--continue-after-error", config->continue_after_error, "Go on with the other URLs after a failure");
  Checked(app->add_option("--timeout", config->timeout_seconds,
                          "Seconds a transfer may take, retries included (default 300)"),
          SecondsCheck(kMaxSeconds), "SECONDS");
  app->add_flag("--progress,!--no-progress", config->progress, "Show a progress bar (default: on a terminal)");
  app->add_flag("-v,--verbose", *verbose, "More output (-vv: debug)");
  app->add_flag("-q,--quiet", *quiet, "Errors only");
}

// CLI11's message; for a flag given a value it cannot take (the only conversion left to fail:
// every other value passed its check), also what a flag takes.
std::string FailureMessage(const CLI::App* app, const CLI::Error& e) {
  std::string message = CLI::FailureMessage::simple(app, e);
  if (dynamic_cast<const CLI::ConversionError*>(&e) != nullptr && message.find('\n') != std::string::npos) {
    message.insert(message.find('\n'), " (a flag takes no value, or one of true/false, yes/no, on/off, 1/0)");
  }
  return message;
}

// Parses, printing the message of a bad command line: nullopt to go on, else the exit status.
std::optional<int> Parse(CLI::App& app, int argc, char** argv) {
  app.failure_message(FailureMessage);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : kExitUsage;
  }
  return std::nullopt;
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
  Checked(app.add_option("url", config.url, "URL to download"), NotEmptyCheck("a URL"), "URL");
  Checked(app.add_option("file", file, "Destination file or directory"),
          NotEmptyCheck("a file or directory"), "FILE");
  AddGetOptions(&app, &config, &concurrency, &verbose, &quiet);
  if (auto rc = Parse(app, argc, argv)) return *rc;
  if (!file.empty()) config.output = file;
  return FinishGet(config, concurrency, verbose, quiet);
}

struct MountArgs {
  mount::MountConfig config;
  std::vector<std::string> options;
  int verbose = 0;
};

// One of mount's own value options: its flag, its -o key (for fstab; nullptr: none), the
// check of its value (the same for both) and where a good value goes.
struct MountValue {
  const char* flag;
  const char* key;
  const char* type;
  const char* help;
  Check check;
  void (*set)(const std::string& value, mount::MountConfig* c);
};

const std::vector<MountValue>& MountValues() {
  using C = mount::MountConfig;
  static const std::vector<MountValue> values = {
      {"--concurrency", "concurrency", "N|none",
       "Range requests in flight at most, 1 to 1024 (default 16; fewer while fewer move as much); "
       "none: no worker processes (debugging)",
       CountCheck(1, kMaxConcurrency, true),
       [](const std::string& v, C* c) { c->fs.concurrency = ParseConcurrency(v); }},
      {"--workers", "workers", "N", "Worker processes, 1 to 256 (default: number of CPUs)",
       CountCheck(1, kMaxWorkers),
       [](const std::string& v, C* c) { c->fs.workers = static_cast<int>(Number(v)); }},
      {"--cache-size", "cache_size", "SIZE",
       "Shared-memory block cache, at least 16 blocks (default 1G, less on small machines)",
       SizeCheck(1, PhysicalMemory()),
       [](const std::string& v, C* c) { c->fs.cache_size = Bytes(v); }},
      {"--block-size", "block_size", "SIZE",
       "Cache block, the smallest fetch: whole 4K pages, 4K to 64M (default 64K)",
       PageMultipleCheck(4 * kKiB, 64 * kMiB),
       [](const std::string& v, C* c) { c->fs.block_size = Bytes(v); }},
      {"--max-readahead", "max_readahead", "SIZE",
       "Largest read-ahead window per open file, 4K to 1G (default 64M)", SizeCheck(4 * kKiB, kGiB),
       [](const std::string& v, C* c) { c->fs.max_readahead = Bytes(v); }},
      {"--verify-random", "verify_random", "off|background",
       "off (default): a file read at random stays 'partial' until all of it was read; "
       "background: fetch the rest at low priority so its checksum is verified",
       OneOfCheck({"off", "background"}),
       [](const std::string& v, C* c) { c->fs.verify_random_background = v == "background"; }},
      {"--timeout", "timeout", "SECONDS", "Seconds a read may wait before ETIMEDOUT (default 60)",
       SecondsCheck(kMaxSeconds),
       [](const std::string& v, C* c) { c->fs.timeout_seconds = ParseSeconds(v, kMaxSeconds).value_or(60); }},
      {"--log-file", "log_file", "PATH", "Log here instead of syslog when detached",
       NotEmptyCheck("a file to log to"), [](const std::string& v, C* c) { c->log_file = v; }},
      {"--uid", nullptr, "UID", "Owner of the files, a number (default: you)", IdCheck(),
       [](const std::string& v, C* c) { c->fs.uid = static_cast<std::uint32_t>(Number(v)); }},
      {"--gid", nullptr, "GID", "Group of the files, a number (default: yours)", IdCheck(),
       [](const std::string& v, C* c) { c->fs.gid = static_cast<std::uint32_t>(Number(v)); }},
      {"--file-mode", nullptr, "MODE", "Permissions of files, octal (default 0444; no write bits)",
       ModeCheck(), [](const std::string& v, C* c) { c->fs.file_mode = ParseMode(v).value_or(0444) & 0555; }},
      {"--dir-mode", nullptr, "MODE", "Permissions of directories, octal (default 0555; no write bits)",
       ModeCheck(), [](const std::string& v, C* c) { c->fs.dir_mode = ParseMode(v).value_or(0555) & 0555; }},
  };
  return values;
}

void AddMountOptions(CLI::App* cmd, MountArgs* m) {
  auto& c = m->config;
  c.fs.uid = getuid();
  c.fs.gid = getgid();
  Checked(cmd->add_option("manifest", c.manifest,
                          "urls.txt (URL [PATH] [size=N] [md5=...]) or getm's JSON list")->required(),
          NotEmptyCheck("a manifest file"), "MANIFEST");
  Checked(cmd->add_option("mountpoint", c.mountpoint, "An existing directory")->required(),
          NotEmptyCheck("a directory"), "MOUNTPOINT");
  cmd->add_flag("-f,--foreground", c.foreground, "Stay in the foreground, logging to stderr");
  for (const MountValue& v : MountValues()) {
    auto set = v.set;
    Checked(cmd->add_option_function<std::string>(
                v.flag, [set, &c](const std::string& value) { set(value, &c); }, v.help),
            v.check, v.type);
  }
  cmd->add_option("-o", m->options,
                  "FUSE mount options, e.g. -o allow_other (passed through); getmfs's own as "
                  "cache_size=, block_size=, max_readahead=, concurrency=, workers=, timeout=, "
                  "log_file=, verify_random=")
      ->allow_extra_args(false);
  cmd->add_flag("-v,--verbose", m->verbose, "More logging (-vv: debug, -vvv: FUSE debug)");
}

// Applies one -o option: getmfs's own set the config after the check their flag has, the
// rest go to libfuse. "" or what is wrong.
std::string ApplyMountOption(const std::string& opt, mount::MountConfig* c) {
  auto eq = opt.find('=');
  std::string key = opt.substr(0, eq), value = eq == std::string::npos ? "" : opt.substr(eq + 1);
  for (const MountValue& v : MountValues()) {
    if (v.key == nullptr || key != v.key) continue;
    if (eq == std::string::npos) return "-o " + key + " needs a value: -o " + key + "=VALUE (as " + v.flag + ")";
    std::string error = v.check(value);
    if (!error.empty()) return "-o " + opt + ": " + error;
    v.set(value, c);
    return "";
  }
  c->fuse_options.push_back(opt);
  return "";
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
      std::string error = ApplyMountOption(opt, c);
      if (!error.empty()) {
        std::fprintf(stderr, "getmfs mount: %s\n", error.c_str());
        return false;
      }
    }
  }
  return true;
}

// The cache must hold 16 blocks: said here, with exit status 2, before anything is mounted.
bool CacheHoldsBlocks(const mount::MountConfig& c) {
  std::size_t cache = c.fs.cache_size != 0 ? c.fs.cache_size : fetch::DefaultCacheSize();
  if (cache / 16 >= c.fs.block_size) return true;
  std::fprintf(stderr,
               "getmfs mount: --cache-size (-o cache_size) %s must hold at least 16 blocks of "
               "--block-size (-o block_size) %s: give at least %s, or a smaller --block-size\n",
               FormatSize(cache).c_str(), FormatSize(c.fs.block_size).c_str(),
               FormatSize(16 * std::uint64_t{c.fs.block_size}).c_str());
  return false;
}

int FinishMount(MountArgs& m) {
  auto& c = m.config;
  if (!ApplyMountOptions(m.options, &c) || !CacheHoldsBlocks(c)) return kExitUsage;
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
  Checked(cmd->add_option("url", g->config.url, "URL to download"), NotEmptyCheck("a URL"), "URL");
  Checked(cmd->add_option("file", g->file, "Destination file or directory (same as -O)"),
          NotEmptyCheck("a file or directory"), "FILE");
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

// The mountpoint of unmount, status and reload. It need not exist: a dead FUSE mount
// (ENOTCONN) must still be unmountable.
void AddMountpoint(CLI::App* cmd, ControlArgs* a) {
  Checked(cmd->add_option("mountpoint", a->mountpoint)->required(), NotEmptyCheck("a mountpoint"),
          "MOUNTPOINT");
}

ControlCommands AddControlCommands(CLI::App* app, ControlArgs* a) {
  ControlCommands cmds;
  cmds.unmount = app->add_subcommand("unmount", "Unmount a getmfs mount");
  AddMountpoint(cmds.unmount, a);
  cmds.unmount->add_flag("--lazy", a->lazy, "Detach now even if files are open");
  cmds.status = app->add_subcommand("status", "Per-file state of a mount: size, checksum, verified, bytes, errors");
  AddMountpoint(cmds.status, a);
  cmds.status->add_flag("--json", a->json, "Print the raw JSON");
  cmds.reload = app->add_subcommand("reload", "Re-read the manifest of a mount (fresh signed URLs); SIGHUP does the same");
  AddMountpoint(cmds.reload, a);
  Checked(cmds.reload->add_option("--timeout", a->reload_timeout,
                                  "Seconds to wait for the daemon (default 60)"),
          SecondsCheck(kMaxSeconds), "SECONDS");
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

int RunGetmfs(int argc, char** argv) {
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
  if (auto rc = Parse(app, static_cast<int>(args.size()), args.data())) return *rc;
  if (mount_cmd->parsed()) return FinishMount(mount_args);
  if (control.unmount->parsed()) return RunUnmount(control_args.mountpoint, control_args.lazy);
  if (control.status->parsed()) return RunStatus(control_args.mountpoint, control_args.json);
  if (control.reload->parsed()) return RunReload(control_args.mountpoint, control_args.reload_timeout);
  if (get_cmd->parsed()) return FinishGetCommand(get_args);
  return kExitUsage;
}

}  // namespace

int Main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  std::string self = std::filesystem::path(argv[0]).filename().string();
  SetLogTag(self == "getm" ? "getm" : "getmfs");
  // Every value is checked before use; an exception that still escapes is reported, not an abort.
  try {
    return self == "getm" ? RunGetm(argc, argv) : RunGetmfs(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: internal error: %s\n", self.c_str(), e.what());
    return 1;
  }
}

}  // namespace getmfs::cli
