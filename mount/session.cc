// `getmfs mount`: checks, detaching with a readiness pipe, the FUSE session and its loop, SIGHUP reloads.
#include "session.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>
#include <cerrno>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

#include "drs/drs_manifest.h"
#include "fuse_adapter.h"
#include "fuse_access.h"
#include "guard.h"
#include "metrics_server.h"
#include "readiness.h"
#include "util/log.h"
#include "util/unique_fd.h"

namespace getmfs::mount {
namespace {

constexpr int kExitMountFailed = 1;
constexpr int kExitUsage = 2;
// A daemon not serving by then is stuck (mounting takes well under a second): the parent
// stops it and says where it was, before any caller's own timeout gives up on us.
constexpr std::chrono::seconds kStartupDeadline{30};

int g_reload_fd = -1;

void OnSighup(int) {
  std::uint64_t one = 1;
  [[maybe_unused]] ssize_t n = write(g_reload_fd, &one, sizeof one);
}

// The kernel caps a FUSE mount's read-ahead at its default (128 KiB) whatever INIT asks
// for; as root, raise it through the mount's backing device so sequential readers send
// 1 MiB reads. (Runs beside the loop: stat() of the mountpoint needs it serving.)
void RaiseKernelReadahead(const std::string& mountpoint, std::size_t bytes) {
  struct stat st;
  if (stat(mountpoint.c_str(), &st) != 0) return;
  std::string path = "/sys/class/bdi/" + std::to_string(major(st.st_dev)) + ":" +
                     std::to_string(minor(st.st_dev)) + "/read_ahead_kb";
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    LOG(Debug) << "cannot raise the kernel's read-ahead (" << path << "): " << std::strerror(errno);
    return;
  }
  std::string kb = std::to_string(bytes / 1024);
  if (write(fd, kb.data(), kb.size()) < 0) LOG(Debug) << "cannot write " << path << ": " << std::strerror(errno);
  close(fd);
}

std::string JoinOptions(const MountConfig& config) {
  std::string opts = "ro,default_permissions,fsname=getmfs,subtype=getmfs,auto_unmount,max_read=1048576";
  for (const auto& o : config.fuse_options) opts += "," + o;
  return opts;
}

// A FUSE session (not mounted yet) with getmfs's mount options (and -d at -vvv); nullptr
// when libfuse refuses them (it says which on stderr).
fuse_session* NewFuseSession(const MountConfig& config, FuseAdapter* adapter) {
  std::string options = JoinOptions(config);
  std::vector<std::string> args = {"getmfs", "-o", options};
  if (config.verbosity >= 4) args.push_back("-d");   // -vvv
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  fuse_args fargs = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
  fuse_session* session = fuse_session_new(&fargs, &FuseAdapter::Operations(), sizeof(fuse_lowlevel_ops), adapter);
  fuse_opt_free_args(&fargs);   // the parse made its own copy of them; the session keeps none
  return session;
}

// The session the daemon serves; nullptr, with the parent told why, if libfuse refuses it.
fuse_session* NewSession(const MountConfig& config, FuseAdapter* adapter, Readiness* readiness) {
  fuse_session* session = NewFuseSession(config, adapter);
  if (session == nullptr) readiness->Failed("libfuse refused the options \"" + JoinOptions(config) + "\"");
  return session;
}

// Unknown -o options are a usage error (exit 2), found before anything is resolved,
// forked or mounted: libfuse parses them into a session that is never mounted.
bool FuseOptionsAccepted(const MountConfig& config) {
  fuse_session* session = NewFuseSession(config, nullptr);
  if (session == nullptr) {
    std::fprintf(stderr, "getmfs mount: libfuse does not know an option of -o %s (see `getmfs mount --help` and "
                         "`man mount.fuse3`)\n", JoinOptions(config).c_str());
    return false;
  }
  fuse_session_destroy(session);
  return true;
}

// SIGHUP reloads the manifest (libfuse would end the session): the handler writes to an
// eventfd, and a thread beside the session loop reads it and reloads.
class Reloader {
 public:
  // Creates the eventfd and installs the SIGHUP handler.
  Reloader(const MountConfig& config, fs::FileSystem* filesystem, FuseAdapter* adapter)
      : config_(config), filesystem_(filesystem), adapter_(adapter), fd_(eventfd(0, EFD_CLOEXEC)) {
    g_reload_fd = fd_.get();
    struct sigaction sa {};
    sa.sa_handler = OnSighup;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGHUP, &sa, nullptr);
  }

  void Start() { thread_ = std::thread([this] { Run(); }); }

  // Wakes the thread through the eventfd and waits for it to end.
  void Stop() {
    done_ = true;
    std::uint64_t one = 1;
    [[maybe_unused]] ssize_t w = write(fd_.get(), &one, sizeof one);
    thread_.join();
  }

 private:
  void Run() {
    while (!done_) {
      std::uint64_t n;
      if (read(fd_.get(), &n, sizeof n) != sizeof n) continue;
      if (done_) break;
      Reload();
    }
  }

  // A reload, told to systemd (Type=notify) as it happens.
  void Reload() {
    sd_notify(0, "RELOADING=1");
    ApplyManifest();
    sd_notify(0, "READY=1");
  }

  // Serves the manifest as it is now, or keeps the mount unchanged and records why.
  void ApplyManifest() {
    auto manifest = drs::LoadManifestFile(config_.manifest, config_.drs);
    std::vector<fs::Invalidation> invalidations;
    Status reloaded = manifest ? filesystem_->Reload(*manifest, &invalidations) : Status(manifest.error());
    if (!reloaded) {
      filesystem_->set_reload_error(reloaded.error().message);
      LOG(Error) << "reload failed, the mount is unchanged: " << reloaded.error().message;
      return;
    }
    filesystem_->set_reload_error("");
    for (const auto& inv : invalidations) adapter_->Queue(inv);
    LOG(Info) << "reloaded " << config_.manifest << " (generation " << filesystem_->generation() << ")";
  }

  const MountConfig& config_;
  fs::FileSystem* filesystem_;
  FuseAdapter* adapter_;
  UniqueFd fd_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

// Runs the session's loop until it ends: up to 32 threads, each with its own /dev/fuse clone.
int RunLoop(fuse_session* session) {
  fuse_loop_config* loop = fuse_loop_cfg_create();
  fuse_loop_cfg_set_clone_fd(loop, 1);
  fuse_loop_cfg_set_max_threads(loop, 32);
  int rc = fuse_session_loop_mt(session, loop);
  fuse_loop_cfg_destroy(loop);
  // libfuse's signal handlers end the loop with the signal's number: SIGTERM and SIGINT are
  // asked-for unmounts, a clean end.
  if (rc == SIGTERM || rc == SIGINT) {
    LOG(Info) << "unmounting on " << strsignal(rc);
    return 0;
  }
  // The kernel ended the connection itself (seen after `umount -l` once the last open file
  // closed, and when someone writes /sys/fs/fuse/connections/N/abort): the mount is gone as
  // asked, not a failure of ours.
  if (rc == -ECONNABORTED) {
    LOG(Info) << "the kernel ended the FUSE connection (aborted); exiting";
    return 0;
  }
  return rc;
}

// No child of the daemon (workers, refresh commands, the guard) may inherit a descriptor it
// was not given on purpose.
void MarkDescriptorsCloseOnExec() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return;
  while (dirent* e = readdir(dir)) {
    int fd = std::atoi(e->d_name);
    if (fd > 2 && fd != dirfd(dir)) fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC);
  }
  closedir(dir);
}

// Undoes a mounted session that will not be served.
void AbandonSession(fuse_session* session) {
  fuse_session_unmount(session);
  fuse_remove_signal_handlers(session);
  fuse_session_destroy(session);
}

// The session, its signal handlers and the mount, made while the daemon still has one
// thread: libfuse 3.14 starts fusermount3 with fork() and calls setenv() in the child
// before exec, which hangs forever if another thread held the lock at the fork. nullptr
// (the parent told why) on failure.
fuse_session* MountSession(const MountConfig& config, FuseAdapter* adapter, Readiness* readiness, int* rc) {
  readiness->Step("creating the FUSE session");
  fuse_session* session = NewSession(config, adapter, readiness);
  if (session == nullptr) {
    *rc = kExitUsage;
    return nullptr;
  }
  *rc = kExitMountFailed;
  if (fuse_set_signal_handlers(session) != 0) {
    readiness->Failed("cannot install signal handlers");
    fuse_session_destroy(session);
    return nullptr;
  }
  readiness->Step(PassedFuseFd(config.mountpoint) ? "taking the FUSE descriptor " + config.mountpoint
                                                  : "mounting " + config.mountpoint + " (fusermount3)");
  if (fuse_session_mount(session, config.mountpoint.c_str()) != 0) {
    readiness->Failed("cannot mount on " + config.mountpoint +
                      " (is /dev/fuse available, and fusermount3 installed? see the log)");
    fuse_remove_signal_handlers(session);
    fuse_session_destroy(session);
    return nullptr;
  }
  MarkDescriptorsCloseOnExec();   // libfuse leaves its auto_unmount socket inheritable
  return session;
}

// --metrics-addr's server, or nullptr when not asked for; an error (the parent told) when
// its address cannot be served.
Result<std::unique_ptr<MetricsServer>> StartMetrics(const MountConfig& config, fs::FileSystem* filesystem,
                                                    Readiness* readiness) {
  if (!config.metrics) return std::unique_ptr<MetricsServer>();
  auto server = MetricsServer::Start(*config.metrics, [filesystem] {
    return fs::PrometheusText(filesystem->StatusReport(fs::StatusDetail::kTotals));
  });
  if (!server) {
    LOG(Error) << server.error().message;
    readiness->Failed(server.error().message);
    return server.error();
  }
  LOG(Info) << "metrics at http://" << config.metrics->text() << "/metrics";
  return server;
}

int Serve(const MountConfig& config, fs::FileSystem* filesystem, Readiness* readiness) {
  // A passed /dev/fd/N was mounted by someone else: no mountpoint of ours to tune or guard.
  const bool passed_fd = PassedFuseFd(config.mountpoint).has_value();
  FuseAdapter adapter(filesystem);
  adapter.set_on_ready([readiness, &config, passed_fd] {
    LOG(Info) << "serving " << config.mountpoint;
    readiness->Ready();
    // systemd's Type=notify (a no-op without $NOTIFY_SOCKET); MAINPID for a detached daemon.
    sd_notifyf(0, "READY=1\nSTATUS=serving %s\nMAINPID=%d", config.mountpoint.c_str(), static_cast<int>(getpid()));
    if (!passed_fd) std::thread(RaiseKernelReadahead, config.mountpoint, std::size_t{1} << 20).detach();
  });
  int rc = 0;
  fuse_session* session = MountSession(config, &adapter, readiness, &rc);
  if (session == nullptr) return rc;
  Reloader reloader(config, filesystem, &adapter);   // after libfuse's handlers: SIGHUP reloads
  UniqueFd guard = passed_fd ? UniqueFd() : StartGuard(config.mountpoint, TopMountDevice(config.mountpoint));
  readiness->Step("starting the workers");
  if (Status started = filesystem->Start(); !started) {
    LOG(Error) << started.error().message;
    readiness->Failed(started.error().message);
    AbandonSession(session);
    return kExitMountFailed;
  }
  auto metrics = StartMetrics(config, filesystem, readiness);
  if (!metrics) {
    AbandonSession(session);
    filesystem->Stop();
    return kExitMountFailed;
  }
  filesystem->SetInvalidator([&adapter](const fs::Invalidation& inv) { adapter.Queue(inv); });
  adapter.StartInvalidations(session);
  reloader.Start();
  readiness->Step("waiting for the kernel's INIT");
  rc = RunLoop(session);
  sd_notify(0, "STOPPING=1");
  reloader.Stop();
  readiness->Failed("the session ended before the kernel connected");
  // Nothing may write to the session's descriptor once it is closed.
  filesystem->SetInvalidator(nullptr);
  adapter.StopInvalidations();
  AbandonSession(session);
  metrics->reset();   // no scrape may reach the file system once it stops
  filesystem->Stop();
  LOG(Info) << "unmounted " << config.mountpoint;
  return rc == 0 ? 0 : kExitMountFailed;
}

// The config with absolute paths (the daemon runs in /), the mountpoint normalized and
// without a trailing slash.
MountConfig WithAbsolutePaths(const MountConfig& given) {
  MountConfig config = given;
  std::error_code ec;
  config.manifest = std::filesystem::absolute(config.manifest, ec).string();
  config.mountpoint = std::filesystem::absolute(config.mountpoint, ec).lexically_normal().string();
  if (config.mountpoint.size() > 1 && config.mountpoint.back() == '/') config.mountpoint.pop_back();
  return config;
}

// The FUSE type /proc/mounts lists for the mount point, "" when nothing is mounted there.
std::string MountedType(const std::string& mountpoint) {
  std::ifstream mounts("/proc/mounts");
  std::string device, point, type, rest;
  while (mounts >> device >> point >> type && std::getline(mounts, rest)) {
    if (point == mountpoint) return type;
  }
  return "";
}

// A dead getmfs mount (its daemon was killed): "Transport endpoint is not connected".
// Detached here so that mounting again works; anything else there is left alone.
bool CleanStaleMount(const std::string& mountpoint) {
  if (MountedType(mountpoint) != "fuse.getmfs") return false;
  if (umount2(mountpoint.c_str(), MNT_DETACH) != 0) {
    std::string command = "fusermount3 -uz '" + mountpoint + "' 2>/dev/null";
    if (std::system(command.c_str()) != 0) return false;
  }
  LOG(Info) << mountpoint << ": detached a dead getmfs mount (its daemon had died)";
  return true;
}

// The mount point is an existing directory (a dead getmfs mount there is cleaned first);
// false after saying what to do.
bool MountpointUsable(const std::string& mountpoint) {
  if (auto fd = PassedFuseFd(mountpoint)) {
    std::string wrong = CheckPassedFuseFd(*fd);
    if (!wrong.empty()) std::fprintf(stderr, "getmfs mount: %s\n", wrong.c_str());
    return wrong.empty();
  }
  struct stat st;
  int rc = stat(mountpoint.c_str(), &st);
  if (rc != 0 && errno == ENOTCONN && CleanStaleMount(mountpoint)) rc = stat(mountpoint.c_str(), &st);
  if (rc != 0 && errno == ENOTCONN) {
    std::fprintf(stderr, "getmfs mount: %s is a dead FUSE mount (Transport endpoint is not connected); "
                         "remove it with `fusermount3 -uz %s` (or `umount -l` as root), then mount again\n",
                 mountpoint.c_str(), mountpoint.c_str());
    return false;
  }
  if (rc != 0 || !S_ISDIR(st.st_mode)) {
    std::fprintf(stderr, "getmfs mount: %s is not a directory (create it first)\n", mountpoint.c_str());
    return false;
  }
  return true;
}

// Parses the manifest, checks that the mountpoint is a directory and creates the file
// system; nullptr, after printing why, if one of them fails.
std::unique_ptr<fs::FileSystem> CreateFileSystem(const MountConfig& config) {
  if (!PassedFuseFd(config.mountpoint)) {
    if (std::string wrong = CheckFuseAccess(config.fuse_options); !wrong.empty()) {
      std::fprintf(stderr, "getmfs mount: %s\n", wrong.c_str());
      return nullptr;
    }
  }
  if (!MountpointUsable(config.mountpoint)) return nullptr;
  // drs:// entries with a PATH resolve in the background, the others now (they need names).
  auto manifest = drs::LoadManifestFile(config.manifest, config.drs, /*only_unnamed=*/true);
  if (!manifest) {
    std::fprintf(stderr, "getmfs mount: %s\n", manifest.error().message.c_str());
    return nullptr;
  }
  fs::MountOptions options = config.fs;
  options.drs = config.drs;
  options.refresh.source = fs::ManifestSource(options.refresh, config.manifest, config.drs, drs::HasDrsEntries(*manifest));
  auto filesystem = fs::FileSystem::Create(*manifest, options);
  if (!filesystem) {
    std::fprintf(stderr, "getmfs mount: %s\n", filesystem.error().message.c_str());
    return nullptr;
  }
  return std::move(*filesystem);
}

// The daemon's side of the fork: a session of its own, / as its directory, stdin and stdout
// on /dev/null, stderr on /dev/null (logging to syslog) or on the log file.
void DetachDaemon(const MountConfig& config) {
  setsid();
  if (chdir("/") != 0) _exit(kExitMountFailed);
  int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  dup2(null_fd, STDIN_FILENO);
  dup2(null_fd, STDOUT_FILENO);
  if (config.log_file.empty()) {
    dup2(null_fd, STDERR_FILENO);
    SetLogSink(LogSink::kSyslog);
  } else {
    // Workers inherit stderr: their lines go to the log file too.
    int log_fd = open(config.log_file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (log_fd >= 0) dup2(log_fd, STDERR_FILENO);
    if (log_fd > STDERR_FILENO) close(log_fd);
  }
  if (null_fd > STDERR_FILENO) close(null_fd);
}

// Detaches before any thread starts; the pipe carries the daemon's verdict back. The parent
// returns the exit status that verdict gives; the child serves and exits.
int ServeInBackground(const MountConfig& config, std::unique_ptr<fs::FileSystem> filesystem) {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    std::perror("getmfs mount: pipe");
    return kExitMountFailed;
  }
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) {
    std::perror("getmfs mount: fork");
    return kExitMountFailed;
  }
  if (pid > 0) {
    close(pipe_fds[1]);
    int rc = WaitForDaemon(pipe_fds[0], pid, config.mountpoint, kStartupDeadline);
    close(pipe_fds[0]);
    return rc;
  }
  close(pipe_fds[0]);
  DetachDaemon(config);
  Readiness readiness(pipe_fds[1]);
  int rc = Serve(config, filesystem.get(), &readiness);
  filesystem.reset();
  _exit(rc);
}

}  // namespace

int RunMount(const MountConfig& given) {
  MountConfig config = WithAbsolutePaths(given);
  if (!FuseOptionsAccepted(config)) return kExitUsage;
  std::unique_ptr<fs::FileSystem> filesystem = CreateFileSystem(config);
  if (!filesystem) return kExitUsage;
  if (!config.log_file.empty() && !SetLogSink(LogSink::kFile, config.log_file)) {
    std::fprintf(stderr, "getmfs mount: cannot open the log file %s: %s\n", config.log_file.c_str(), std::strerror(errno));
    return kExitUsage;
  }
  if (config.foreground) {
    Readiness readiness(-1);
    return Serve(config, filesystem.get(), &readiness);
  }
  return ServeInBackground(config, std::move(filesystem));
}

}  // namespace getmfs::mount
