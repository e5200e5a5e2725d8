// The command line: CLI11 subcommands and options into config structs, then the command.
#include "cli/commands.h"

#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cli/control_commands.h"
#include "cli/get_command.h"
#include "cli/mount_command.h"
#include "cli/option_values.h"
#include "cli/size.h"
#include "util/error.h"
#include "util/log.h"

namespace getmfs::cli {
namespace {

void SetVerbosity(int verbosity) {
  switch (verbosity) {
    case 0: SetLogLevel(LogLevel::kError); break;
    case 1: SetLogLevel(LogLevel::kWarning); break;
    case 2: SetLogLevel(LogLevel::kInfo); break;
    default: SetLogLevel(LogLevel::kDebug); break;
  }
}

// One of get's value options: its flag, the check of its value and where a good value goes.
struct GetValue {
  const char* flag;
  const char* type;
  const char* help;
  Check check;
  void (*set)(const std::string& value, GetConfig* c);
};

const std::vector<GetValue>& GetValues() {
  using C = GetConfig;
  static const std::vector<GetValue> values = {
      {"-O,--output", "PATH", "Destination file or directory (default: current directory)",
       NotEmptyCheck("a file or directory"), [](const std::string& v, C* c) { c->output = v; }},
      {"--manifest", "FILE", "Download every URL of a manifest (urls.txt or getm JSON)",
       NotEmptyCheck("a manifest file"), [](const std::string& v, C* c) { c->manifest = v; }},
      {"--concurrency", "N|none",
       "Range requests in flight (default 16); 1 streams one GET; none uses no worker processes",
       CountCheck(1, kMaxConcurrency, true), [](const std::string& v, C* c) { c->concurrency = ParseConcurrency(v); }},
      {"--workers", "N", "Worker processes (default: number of CPUs)", CountCheck(1, kMaxWorkers),
       [](const std::string& v, C* c) { c->workers = static_cast<int>(Number(v)); }},
      {"--chunk-size", "SIZE", "Bytes per range request, 4K to 1G (default 4M)", SizeCheck(4 * kKiB, kGiB),
       [](const std::string& v, C* c) { c->chunk_size = Bytes(v); }},
      {"--cache-size", "SIZE", "Hard limit of the shared-memory cache (default: what the window needs)",
       SizeCheck(1, PhysicalMemory()), [](const std::string& v, C* c) { c->cache_size = Bytes(v); }},
      {"--checksum", "VALUE", "Expected checksum of the object", NotEmptyCheck("a checksum (md5: 32 hex digits)"),
       [](const std::string& v, C* c) { c->checksum = v; }},
      {"--checksum-algorithm", "ALGORITHM", "md5 | sha256 | crc32c | gs_crc32c | s3_etag | null (default md5)",
       OneOfCheck({"md5", "sha256", "crc32c", "gs_crc32c", "s3_etag", "null"}),
       [](const std::string& v, C* c) { c->checksum_algorithm = v; }},
      {"--s3-part-size", "SIZE", "Part size of a multipart S3 upload, for s3_etag", SizeCheck(1, 5 * kGiB),
       [](const std::string& v, C* c) { c->s3_part_size = Bytes(v); }},
      {"--ca-bundle", "PEM", "CA certificates to trust instead of the system's (private origins)",
       ReadableFileCheck("a readable PEM file of CA certificates"), [](const std::string& v, C* c) { c->ca_bundle = v; }},
      {"--drs-server", "URL", "Resolve drs:// URIs at URL/ga4gh/drs/v1/... instead of https://HOST",
       HttpUrlCheck("the DRS server's base URL"), [](const std::string& v, C* c) { c->drs_server = v; }},
      {"--drs-token-file", "FILE", "Bearer token for DRS lookups (default: $GETMFS_DRS_TOKEN)",
       ReadableFileCheck("a readable token file"), [](const std::string& v, C* c) { c->drs_token_file = v; }},
      {"--refresh-command", "CMD", "With --manifest: shell command printing a fresh manifest, run when a URL expires",
       NotEmptyCheck("a command"), [](const std::string& v, C* c) { c->refresh_command = v; }},
      {"--refresh-timeout", "SECONDS", "Seconds the refresh command may take (default 60)", SecondsCheck(kMaxSeconds),
       [](const std::string& v, C* c) { c->refresh_timeout_seconds = Seconds(v); }},
      {"--timeout", "SECONDS", "Seconds a transfer may take, retries included (default 300)",
       SecondsCheck(kMaxSeconds), [](const std::string& v, C* c) { c->timeout_seconds = Seconds(v); }},
  };
  return values;
}

// getm's --concurrency is files at once; --multipart-threshold picks getm's own download
// method, which getmfs does not have (every object is split as --chunk-size says).
void AddGetmOnlyOptions(CLI::App* app, GetConfig* config) {
  Checked(app->add_option_function<std::string>(
              "--concurrency", [config](const std::string& v) { config->files_at_once = static_cast<int>(Number(v)); },
              "Files downloaded at once, as getm counts (default: up to 8; each with up to 16 range requests)"),
          CountCheck(1, kMaxConcurrency), "N");
  Checked(app->add_option_function<std::string>(
              "--multipart-threshold", [](const std::string&) {},
              "Accepted for getm's command lines and without effect: getmfs splits every object into "
              "parts of at most --chunk-size"),
          SizeCheck(1, std::uint64_t{1} << 50), "SIZE");
}

void AddGetOptions(CLI::App* app, GetConfig* config, int* verbose, bool* quiet, bool getm = false) {
  if (getm) AddGetmOnlyOptions(app, config);
  for (const GetValue& v : GetValues()) {
    // getm's --concurrency counts files: getmfs's (range requests) is --requests there.
    std::string flag = getm && std::string(v.flag) == "--concurrency" ? "--requests" : v.flag;
    auto set = v.set;
    Checked(app->add_option_function<std::string>(
                flag, [set, config](const std::string& value) { set(value, config); }, v.help),
            v.check, v.type);
  }
  app->add_flag("--continue-after-error", config->continue_after_error, "Go on with the other URLs after a failure");
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

int FinishGet(GetConfig& config, int verbose, bool quiet) {
  config.verbosity = quiet ? 0 : 1 + verbose;
  SetVerbosity(config.verbosity);
  if (config.url.empty() == config.manifest.empty()) {
    std::fprintf(stderr, config.url.empty() ? "getmfs get: give one URL or --manifest FILE (a URL may be a drs:// URI; see getmfs get --help)\n"
                                            : "getmfs get: give either a URL or --manifest FILE, not both\n");
    return kExitUsage;
  }
  if (!config.refresh_command.empty() && config.manifest.empty()) {
    std::fprintf(stderr, "getmfs get: --refresh-command needs --manifest (its manifest's paths name the files)\n");
    return kExitUsage;
  }
  return RunGet(config);
}

// getm's spellings (Python's argparse): two-letter short options, -m/-i and --filepath.
std::vector<std::string> GetmSpellings(int argc, char** argv) {
  static const std::map<std::string, std::string> kSpellings = {
      {"-cs", "--checksum"}, {"-ca", "--checksum-algorithm"}, {"-m", "--manifest"}, {"-i", "--manifest"},
      {"-c", "--continue-after-error"}, {"--filepath", "--output"}};
  std::vector<std::string> args(argv, argv + argc);
  for (std::size_t i = 1; i < args.size() && args[i] != "--"; ++i) {
    if (auto it = kSpellings.find(args[i]); it != kSpellings.end()) {
      args[i] = it->second;
    } else if (args[i].rfind("--filepath=", 0) == 0) {
      args[i] = "--output=" + args[i].substr(11);
    }
  }
  return args;
}

int RunGetm(int argc, char** argv) {
  std::vector<std::string> spelled = GetmSpellings(argc, argv);
  std::vector<char*> args;
  for (auto& a : spelled) args.push_back(a.data());
  CLI::App app{"getm: fast, verified downloads of data URLs (the getmfs engine). getm's own options work too:\n"
               "  getm URL [-O|--filepath PATH] [-cs|--checksum VALUE -ca|--checksum-algorithm ALG]\n"
               "  getm -m|-i|--manifest getm-manifest.json [-c|--continue-after-error] [--concurrency FILES] [-v|-vv]\n"
               "(--concurrency counts files at once, as in getm; range requests in flight are --requests)",
               "getm"};
  GetConfig config;
  int verbose = 0;
  bool quiet = false;
  std::string file;
  Checked(app.add_option("url", config.url, "URL (or drs:// URI) to download"), NotEmptyCheck("a URL"), "URL");
  Checked(app.add_option("file", file, "Destination file or directory"),
          NotEmptyCheck("a file or directory"), "FILE");
  AddGetOptions(&app, &config, &verbose, &quiet, /*getm=*/true);
  if (auto rc = Parse(app, static_cast<int>(args.size()), args.data())) return *rc;
  if (!file.empty()) config.output = file;
  config.getm_compat = true;
  return FinishGet(config, verbose, quiet);
}

// The arguments of `getmfs get`, filled in by the parse.
struct GetArgs {
  GetConfig config;
  int verbose = 0;
  bool quiet = false;
  std::string file;   // the destination given as a second argument
};

CLI::App* AddGetCommand(CLI::App* app, GetArgs* g) {
  CLI::App* cmd = app->add_subcommand("get", "Download URLs with verification (same as getm)");
  Checked(cmd->add_option("url", g->config.url, "URL (or drs:// URI) to download"), NotEmptyCheck("a URL"), "URL");
  Checked(cmd->add_option("file", g->file, "Destination file or directory (same as -O)"),
          NotEmptyCheck("a file or directory"), "FILE");
  AddGetOptions(cmd, &g->config, &g->verbose, &g->quiet);
  cmd->footer("Examples:\n"
              "  getmfs get 'https://bucket.s3.amazonaws.com/sample.bam?X-Amz-...' sample.bam\n"
              "  getmfs get drs://drs.example.org/abc123 data/ --drs-token-file token.txt\n"
              "  getmfs get --manifest urls.txt -O downloads/ --continue-after-error\n"
              "  getmfs get URL - | tar -x        (set -o pipefail: the bytes come before the verdict)");
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
  return FinishGet(g.config, g.verbose, g.quiet);
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
  cmds.unmount->footer("Example:\n  getmfs unmount /mnt/data");
  cmds.status = app->add_subcommand("status", "Per-file state of a mount: size, checksum, verified, bytes, errors");
  AddMountpoint(cmds.status, a);
  cmds.status->add_flag("--json", a->json, "Print the raw JSON");
  cmds.status->footer("Examples:\n  getmfs status /mnt/data\n  getmfs status /mnt/data --json | jq .totals");
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
  mount_cmd->footer("Examples:\n"
                    "  getmfs mount urls.txt /mnt/data\n"
                    "  getmfs mount urls.txt /mnt/data --cache-size 2G -o allow_other --metrics-addr 9100\n"
                    "  getmfs mount urls.txt /mnt/data --refresh-command './sign-urls.sh'\n"
                    "  mount -t fuse.getmfs urls.txt /mnt/data -o ro,allow_other,cache_size=2G   (and in /etc/fstab)\n"
                    "  getmfs mount urls.txt /dev/fd/3    (a /dev/fuse descriptor a privileged helper mounted)");
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
