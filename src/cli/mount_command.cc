// `getmfs mount`'s options: one table of value options (flag, -o key, check, setter), -o
// lists for fstab, and the checks made before anything is mounted.
#include "cli/mount_command.h"

#include <unistd.h>

#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "cli/option_values.h"
#include "drs/drs_client.h"
#include "fetch/engine.h"
#include "fs/metrics.h"
#include "util/log.h"

namespace getmfs::cli {
namespace {

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

Check MetricsAddressCheck() {
  return [](std::string& text) -> std::string {
    auto address = fs::ParseMetricsAddress(text);
    return address ? "" : address.error().message;
  };
}

// How much is fetched, cached and waited for.
const std::vector<MountValue>& FetchValues() {
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
       "Largest read-ahead window per open file, 4K to 1G (default: 4M per connection, at least 64M)",
       SizeCheck(4 * kKiB, kGiB),
       [](const std::string& v, C* c) { c->fs.max_readahead = Bytes(v); }},
      {"--verify-random", "verify_random", "off|background",
       "off (default): a file read at random stays 'partial' until all of it was read; "
       "background: fetch the rest at low priority so its checksum is verified",
       OneOfCheck({"off", "background"}),
       [](const std::string& v, C* c) { c->fs.verify_random_background = v == "background"; }},
      {"--direct-io", "direct_io", "off|on",
       "off (default): the kernel's page cache holds what was read; on: each read() goes straight "
       "into the reader's buffer (less CPU per GiB for streaming readers; re-reads come from the "
       "block cache; MAP_SHARED mmap fails with ENODEV, MAP_PRIVATE works)",
       OneOfCheck({"off", "on"}), [](const std::string& v, C* c) { c->fs.direct_io = v == "on"; }},
      {"--timeout", "timeout", "SECONDS", "Seconds a read may wait before ETIMEDOUT (default 60)",
       SecondsCheck(kMaxSeconds),
       [](const std::string& v, C* c) { c->fs.timeout_seconds = Seconds(v); }},
  };
  return values;
}

// Where URLs come from and how they are kept fresh, the log, and who owns the files.
const std::vector<MountValue>& SourceAndOwnerValues() {
  using C = mount::MountConfig;
  static const std::vector<MountValue> values = {
      {"--refresh-command", "refresh_command", "CMD",
       "Shell command that prints a fresh manifest (same paths, newly signed URLs); run ahead of "
       "the earliest expiry and when the origin refuses a URL as expired",
       NotEmptyCheck("a command"), [](const std::string& v, C* c) { c->fs.refresh.command = v; }},
      {"--refresh-timeout", "refresh_timeout", "SECONDS", "Seconds the refresh command may take (default 60)",
       SecondsCheck(kMaxSeconds), [](const std::string& v, C* c) { c->fs.refresh.timeout_seconds = Seconds(v); }},
      {"--refresh-before", "refresh_before", "SECONDS",
       "Refresh this long before the earliest expiry (default: 5 minutes, or half the URL's lifetime if shorter)",
       SecondsCheck(kMaxSeconds), [](const std::string& v, C* c) { c->fs.refresh.before_seconds = Seconds(v); }},
      {"--ca-bundle", "ca_bundle", "PEM", "CA certificates to trust instead of the system's (private origins)",
       ReadableFileCheck("a readable PEM file of CA certificates"),
       [](const std::string& v, C* c) { c->fs.ca_bundle = v; }},
      {"--drs-server", "drs_server", "URL",
       "Resolve drs:// URIs at URL/ga4gh/drs/v1/... instead of https://HOST (compact ids, resolvers)",
       HttpUrlCheck("the DRS server's base URL"), [](const std::string& v, C* c) { c->drs.server = v; }},
      {"--drs-token-file", "drs_token_file", "FILE",
       "Bearer token for DRS lookups (default: $GETMFS_DRS_TOKEN)", ReadableFileCheck("a readable token file"),
       [](const std::string& v, C* c) { c->drs_token_file = v; }},
      {"--metrics-addr", "metrics_addr", "[HOST:]PORT",
       "Serve Prometheus metrics at http://HOST:PORT/metrics (off by default; HOST defaults to 127.0.0.1, "
       "0.0.0.0 is every interface)",
       MetricsAddressCheck(), [](const std::string& v, C* c) { c->metrics = *fs::ParseMetricsAddress(v); }},
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

const std::vector<MountValue>& MountValues() {
  static const std::vector<MountValue> values = [] {
    std::vector<MountValue> all = FetchValues();
    const auto& more = SourceAndOwnerValues();
    all.insert(all.end(), more.begin(), more.end());
    return all;
  }();
  return values;
}

// Applies one -o option: getmfs's own set the config after the check their flag has, the
// rest go to libfuse. "" or what is wrong.
std::string ApplyMountOption(const std::string& opt, mount::MountConfig* c) {
  auto eq = opt.find('=');
  std::string key = opt.substr(0, eq), value = eq == std::string::npos ? "" : opt.substr(eq + 1);
  // Set by getmfs and bound to what its FUSE init asks for: another value would fail the
  // mount after it was reported up.
  static const std::set<std::string> kReserved = {"max_read", "fsname", "subtype"};
  if (kReserved.count(key) != 0) return "-o " + key + " is set by getmfs and cannot be changed";
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
      // x-* and comment= are for mount(8) and systemd (x-systemd.automount, ...), not for us.
      if (opt.empty() || kGeneric.count(opt) || opt.rfind("x-", 0) == 0 || opt.rfind("comment=", 0) == 0) continue;
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

}  // namespace

void AddMountOptions(CLI::App* cmd, MountArgs* m) {
  auto& c = m->config;
  c.fs.uid = getuid();
  c.fs.gid = getgid();
  Checked(cmd->add_option("manifest", c.manifest,
                          "urls.txt (URL [PATH] [size=N] [md5=...]) or getm's JSON list")->required(),
          NotEmptyCheck("a manifest file"), "MANIFEST");
  Checked(cmd->add_option("mountpoint", c.mountpoint, "An existing directory, or /dev/fd/N: a /dev/fuse descriptor mounted by the caller")->required(),
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
                  "log_file=, verify_random=, direct_io=, refresh_command=, refresh_timeout=, refresh_before=, ca_bundle=, drs_server=, drs_token_file=")
      ->allow_extra_args(false);
  cmd->add_flag("-v,--verbose", m->verbose, "More logging (-vv: debug, -vvv: FUSE debug)");
}

int FinishMount(MountArgs& m) {
  auto& c = m.config;
  if (!ApplyMountOptions(m.options, &c) || !CacheHoldsBlocks(c)) return kExitUsage;
  auto token = drs::LoadToken(c.drs_token_file);
  if (!token) {
    std::fprintf(stderr, "getmfs mount: %s\n", token.error().message.c_str());
    return kExitUsage;
  }
  c.drs.token = *token;
  c.drs.transfer.ca_bundle = c.fs.ca_bundle;
  c.verbosity = 1 + m.verbose;
  SetLogLevel(m.verbose >= 2 ? LogLevel::kDebug : m.verbose == 1 ? LogLevel::kInfo : LogLevel::kWarning);
  return mount::RunMount(c);
}


}  // namespace getmfs::cli
