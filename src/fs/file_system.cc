// The facade's namespace side: building, starting and stopping, lookups and attributes,
// directory handles, open and release, xattrs, status and reload. The read path is in
// file_system_read.cc.
#include "fs/file_system.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <thread>

#include "fs/status.h"
#include "util/log.h"

namespace getmfs::fs {
namespace {

constexpr std::uint64_t kStatusIno = UINT64_MAX - 1;
constexpr double kAttrTimeout = 3600;   // objects are immutable; reload invalidates

}  // namespace

FileSystem::FileSystem(MountOptions options) : options_(std::move(options)) {
  mount_time_ = static_cast<std::int64_t>(std::time(nullptr));
  prefetch_limits_.block_size = options_.block_size;
  prefetch_limits_.max_readahead =
      options_.max_readahead != 0
          ? options_.max_readahead
          : std::max<std::uint64_t>(64 << 20, std::uint64_t{4 << 20} * static_cast<std::uint64_t>(options_.concurrency.value_or(1)));
  prefetch_limits_.max_request = options_.max_request;
  prefetch_limits_.streaming = options_.concurrency.value_or(1) <= 1;
}

namespace {

// Probed in the background (ProbeQueue): objects whose size the manifest does not give, and
// drs:// entries left unresolved. The rest is probed on first use, if at all.
bool NeedsBackgroundProbe(const fetch::RemoteObject& object) {
  return object.NeedsProbe() && (!object.KnownSize() || object.NeedsLocating());
}

}  // namespace

FileSystem::~FileSystem() { Stop(); }

Result<std::unique_ptr<FileSystem>> FileSystem::Create(const manifest::Manifest& manifest, MountOptions options) {
  if (options.cache_size == 0) options.cache_size = fetch::DefaultCacheSize();
  options.block_size = fetch::PageRound(options.block_size);
  if (options.cache_size < options.block_size * 16) {
    return Error{ErrorKind::kBadInput, "--cache-size must hold at least 16 blocks (" +
                                           std::to_string(options.block_size * 16) + " bytes)"};
  }
  auto table = InodeTable::Build(manifest, nullptr, &options.drs);
  if (!table) return table.error();
  std::unique_ptr<FileSystem> fs(new FileSystem(std::move(options)));
  fs->table_ = std::move(*table);
  return fs;
}

Status FileSystem::Start() {
  fetch::EngineOptions engine;
  engine.block_size = options_.block_size;
  engine.cache_size = options_.cache_size;
  engine.concurrency = options_.concurrency;
  engine.workers = options_.workers;
  engine.tune_concurrency = true;   // read-ahead windows: see Prefetcher
  engine.worker_path = options_.worker_path;
  engine.request_budget_seconds = options_.timeout_seconds;
  engine.fetch.transfer.ca_bundle = options_.ca_bundle;
  // Digests may hold a quarter of the cache while they catch up (readers wait for them
  // past half of that: KeepNearDigest).
  engine.digest_hold_blocks = std::max<std::size_t>(16, options_.cache_size / options_.block_size / 4);
  auto started = fetch::Engine::Start(engine);
  if (!started) return started.error();
  engine_ = *started;
  engine_->fetcher().SetHooks(FetcherHooks());
  probe_options_ = engine_->probe_options();
  std::vector<fetch::ObjectPtr> unknown;
  {
    std::scoped_lock lock(mu_);
    for (const auto& [path, ino] : table_.paths()) {
      auto object = table_.ObjectOf(ino);
      if (object && NeedsBackgroundProbe(*object)) unknown.push_back(object);
    }
  }
  probes_ = std::make_unique<ProbeQueue>(probe_options_, options_.probe_threads);
  if (options_.verify_random_background) {
    background_ = std::make_unique<BackgroundVerifier>(engine_, options_.max_request);
  }
  StartRefresher();
  probes_->Push(unknown);
  return Ok{};
}

void FileSystem::Stop() {
  refresher_.reset();
  probes_.reset();
  if (!engine_) return;
  engine_->fetcher().Shutdown();
  background_.reset();
  {
    std::scoped_lock lock(mu_);
    for (auto& [id, handle] : handles_) {
      std::scoped_lock handle_lock(handle->mu);
      engine_->fetcher().EndStream(handle->stream);
    }
  }
  // Reads in progress fail now; their blocks stay pinned until they are released.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (reads_active_.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (reads_active_.load() > 0) LOG(Error) << reads_active_.load() << " read(s) still in progress at unmount";
  engine_.reset();   // the fetcher ends its jobs before the pool stops
}

fetch::BlockFetcher::Hooks FileSystem::FetcherHooks() {
  fetch::BlockFetcher::Hooks hooks;
  hooks.fetch_failed = [this](const fetch::RemoteObject& object, const Error& error) { ReadFailure(object, error); };
  hooks.object_failed = [this](const fetch::ObjectPtr& object) { Invalidate({Invalidation::kInode, object->ino, 0, ""}); };
  hooks.url_expired = [this](const fetch::RemoteObject& object, std::uint64_t generation, Deadline deadline) {
    return FreshUrl(object, generation, deadline);
  };
  return hooks;
}

void FileSystem::StartRefresher() {
  auto apply = [this](const manifest::Manifest& manifest) {
    std::vector<Invalidation> invalidations;
    Status reloaded = Reload(manifest, &invalidations);
    for (const auto& inv : invalidations) Invalidate(inv);
    return reloaded;
  };
  refresher_ = std::make_unique<UrlRefresher>(options_.refresh, apply, [this] { return Earliest(); });
}

bool FileSystem::FreshUrl(const fetch::RemoteObject& object, std::uint64_t generation, Deadline deadline) {
  if (object.url_generation() != generation) return true;   // renewed since that request
  if (!refresher_ || !refresher_->enabled()) return false;
  refresher_->RefreshAfter(std::chrono::steady_clock::now(), deadline);
  return object.url_generation() != generation;
}

std::optional<EarliestExpiry> FileSystem::Earliest() const {
  std::scoped_lock lock(mu_);
  std::optional<EarliestExpiry> earliest;
  for (const auto& [path, ino] : table_.paths()) {
    auto object = table_.ObjectOf(ino);
    auto expiry = object ? object->expiry() : std::nullopt;
    if (!expiry || (earliest && earliest->at <= *expiry)) continue;
    earliest = EarliestExpiry{*expiry, object->url_lifetime(), path};
  }
  return earliest;
}

void FileSystem::SetInvalidator(std::function<void(const Invalidation&)> invalidator) {
  std::scoped_lock lock(invalidator_mu_);
  invalidator_ = std::move(invalidator);
}

void FileSystem::Invalidate(const Invalidation& invalidation) {
  std::scoped_lock lock(invalidator_mu_);
  if (invalidator_) invalidator_(invalidation);
}

Deadline FileSystem::ReadDeadline() const {
  return std::chrono::steady_clock::now() +
         std::chrono::milliseconds(static_cast<long>(options_.timeout_seconds * 1000));
}

Attr FileSystem::AttrOf(const Node& node, std::uint64_t size) const {
  Attr a;
  a.ino = node.ino;
  a.dir = node.dir;
  a.size = node.dir ? 0 : size;
  a.mode = node.dir ? (S_IFDIR | options_.dir_mode) : (S_IFREG | options_.file_mode);
  a.nlink = node.dir ? 2 : 1;
  a.uid = options_.uid;
  a.gid = options_.gid;
  a.mtime = mount_time_;
  a.timeout = kAttrTimeout;
  return a;
}

Attr FileSystem::StatusFileAttr() const {
  Attr a;
  a.ino = kStatusIno;
  a.mode = S_IFREG | 0444;
  a.size = 0;   // made when opened (direct I/O)
  a.uid = options_.uid;
  a.gid = options_.gid;
  a.mtime = static_cast<std::int64_t>(std::time(nullptr));
  a.timeout = 0;   // it changes all the time
  return a;
}

Result<Attr> FileSystem::GetAttr(std::uint64_t ino) {
  if (ino == kStatusIno) return StatusFileAttr();
  Node node;
  {
    std::scoped_lock lock(mu_);
    const Node* found = table_.Find(ino);
    if (found == nullptr) return ErrnoError(ENOENT, "no such inode");
    node.ino = found->ino;
    node.dir = found->dir;
    node.object = found->object;
  }
  if (node.dir) return AttrOf(node, 0);
  Deadline deadline = ReadDeadline();
  auto size = node.object->Size(deadline);
  if (!size) {
    // Not probed yet (or the probe failed): probe it now, in this thread.
    const std::uint64_t generation = node.object->url_generation();
    Status probed = node.object->EnsureProbed(probe_options_, deadline);
    if (!probed && probed.error().kind == ErrorKind::kExpired && FreshUrl(*node.object, generation, deadline)) {
      probed = node.object->EnsureProbed(probe_options_, deadline);
    }
    if (!probed) return ReadFailure(*node.object, probed.error());
    size = node.object->Size(std::chrono::steady_clock::now());
    if (!size) return size.error();
  }
  return AttrOf(node, *size);
}

Result<Attr> FileSystem::Lookup(std::uint64_t parent, const std::string& name) {
  if (parent == kRootIno && name == kStatusName) return StatusFileAttr();
  std::uint64_t ino;
  {
    std::scoped_lock lock(mu_);
    const Node* child = table_.Child(parent, name);
    if (child == nullptr) return ErrnoError(ENOENT, table_.Find(parent) ? "no such file" : "no such directory");
    ino = child->ino;
  }
  return GetAttr(ino);
}

Result<std::uint64_t> FileSystem::OpenDir(std::uint64_t ino) {
  auto entries = std::make_shared<std::vector<DirEntry>>();
  std::scoped_lock lock(mu_);
  const Node* dir = table_.Find(ino);
  if (dir == nullptr) return ErrnoError(ENOENT, "no such directory");
  if (!dir->dir) return ErrnoError(ENOTDIR, "not a directory");
  entries->push_back({".", AttrOf(*dir, 0)});
  entries->push_back({"..", AttrOf(*table_.Find(dir->parent), 0)});
  for (const auto& [name, child_ino] : dir->children) {
    const Node& child = *table_.Find(child_ino);
    // Sizes still being probed show as 0 here; lookup/getattr wait for them.
    std::uint64_t size = child.object ? child.object->KnownSize().value_or(0) : 0;
    entries->push_back({name, AttrOf(child, size)});
  }
  std::uint64_t id = next_handle_++;
  dir_handles_[id] = std::move(entries);
  return id;
}

Result<std::shared_ptr<const std::vector<DirEntry>>> FileSystem::ReadDir(std::uint64_t dir_handle) {
  std::scoped_lock lock(mu_);
  auto it = dir_handles_.find(dir_handle);
  if (it == dir_handles_.end()) return ErrnoError(EBADF, "unknown directory handle");
  return it->second;
}

void FileSystem::ReleaseDir(std::uint64_t dir_handle) {
  std::scoped_lock lock(mu_);
  dir_handles_.erase(dir_handle);
}

Result<OpenReply> FileSystem::Open(std::uint64_t ino, int flags) {
  if ((flags & O_ACCMODE) != O_RDONLY || (flags & (O_TRUNC | O_CREAT)) != 0) {
    return ErrnoError(EROFS, "read-only file system");
  }
  auto handle = std::make_shared<Handle>(prefetch_limits_);
  OpenReply reply;
  if (ino == kStatusIno) {
    handle->snapshot = std::make_shared<const std::string>(StatusJson());
    reply.direct_io = true;
  } else {
    {
      std::scoped_lock lock(mu_);
      const Node* node = table_.Find(ino);
      if (node == nullptr || node->dir) return ErrnoError(node ? EISDIR : ENOENT, "not a file");
      handle->object = node->object;
    }
    if (auto failure = handle->object->failure()) return *failure;
    reply.keep_cache = !options_.direct_io;
    reply.direct_io = options_.direct_io;
  }
  std::scoped_lock lock(mu_);
  reply.handle = next_handle_++;
  handles_[reply.handle] = std::move(handle);
  return reply;
}

std::shared_ptr<FileSystem::Handle> FileSystem::FindHandle(std::uint64_t id) {
  std::scoped_lock lock(mu_);
  auto it = handles_.find(id);
  return it == handles_.end() ? nullptr : it->second;
}

void FileSystem::Release(std::uint64_t handle) {
  std::shared_ptr<Handle> h;
  {
    std::scoped_lock lock(mu_);
    auto it = handles_.find(handle);
    if (it == handles_.end()) return;
    h = it->second;
    handles_.erase(it);
  }
  std::scoped_lock lock(h->mu);
  sequential_streams_ -= h->prefetcher.sequential_streams();
  if (engine_) engine_->fetcher().EndStream(h->stream);
}

Result<std::string> FileSystem::GetXattr(std::uint64_t ino, const std::string& name) {
  if (ino == kRootIno) {
    if (name == "user.getmfs.pid") return std::to_string(getpid());
    if (name == "user.getmfs.generation") return std::to_string(generation_.load());
    std::scoped_lock lock(mu_);
    if (name == "user.getmfs.reload_error") return reload_error_;
    if (name == "user.getmfs.reloads") return std::to_string(reload_attempts_);
  }
  fetch::ObjectPtr object;
  {
    std::scoped_lock lock(mu_);
    object = table_.ObjectOf(ino);
  }
  if (object) {
    if (auto value = FileXattr(*object, name)) return *value;
  }
  return ErrnoError(ENODATA, "no such attribute");
}

Result<std::vector<std::string>> FileSystem::ListXattr(std::uint64_t ino) {
  if (ino == kRootIno) {
    return std::vector<std::string>{"user.getmfs.pid", "user.getmfs.generation", "user.getmfs.reloads",
                                    "user.getmfs.reload_error"};
  }
  std::scoped_lock lock(mu_);
  if (!table_.ObjectOf(ino)) return std::vector<std::string>{};
  return FileXattrNames();
}

void FileSystem::set_reload_error(const std::string& error) {
  std::scoped_lock lock(mu_);
  reload_error_ = error;
  ++reload_attempts_;
}

std::uint64_t FileSystem::FileCount() const {
  std::scoped_lock lock(mu_);
  return table_.FileCount();
}

std::uint64_t FileSystem::TotalBytes() const {
  std::scoped_lock lock(mu_);
  return table_.TotalKnownBytes();
}

nlohmann::json FileSystem::StatusReport(StatusDetail detail) {
  std::scoped_lock lock(mu_);
  std::optional<RefreshCounts> refresh;
  if (refresher_ && refresher_->enabled()) refresh = refresher_->counts();
  return StatusObject(table_, generation_.load(), engine_.get(), refresh, detail);
}

std::string FileSystem::StatusJson() { return StatusReport(StatusDetail::kFiles).dump(2) + "\n"; }

std::set<std::string> FileSystem::ConfirmReload(ReloadPlan& plan, const InodeTable& fresh) {
  std::set<std::string> changed = plan.changed;
  for (auto& [path, old] : plan.confirm) {
    http::SignedUrl url = fresh.AtPath(path)->object->url();
    auto meta = http::Probe(url, probe_options_);
    if (meta && meta->size == old->size() && (meta->etag == old->etag() || old->etag().empty())) {
      old->set_url(url);
      plan.keep[path] = old;
      LOG(Info) << path << ": new URL, same object: cache and open files kept";
    } else {
      changed.insert(path);
      if (!meta) LOG(Warning) << path << ": " << meta.error().message;
    }
  }
  return changed;
}

Status FileSystem::Reload(const manifest::Manifest& manifest, std::vector<Invalidation>* invalidations) {
  Result<InodeTable> fresh = [&] {
    std::scoped_lock lock(mu_);
    return InodeTable::Build(manifest, &table_, &options_.drs);
  }();
  if (!fresh) return fresh.error();
  ReloadPlan plan = [&] {
    std::scoped_lock lock(mu_);
    return PlanReload(table_, *fresh);
  }();
  for (auto& [path, old] : plan.rebind) {
    old->Rebind(fresh->AtPath(path)->object->url());
    plan.keep[path] = old;
  }
  std::set<std::string> changed = ConfirmReload(plan, *fresh);   // probes, outside the lock
  for (auto& [path, object] : plan.keep) fresh->SetObject(path, object);
  std::vector<fetch::ObjectPtr> unknown;
  {
    std::scoped_lock lock(mu_);
    ReloadDiff diff = DiffReload(table_, *fresh, changed);
    for (const auto& failed : diff.failed) {
      Error error{ErrorKind::kChanged, failed.why};
      if (engine_) {
        engine_->fetcher().FailObject(failed.object, error);
      } else {
        failed.object->Fail(error);
      }
    }
    *invalidations = std::move(diff.invalidations);
    table_ = std::move(*fresh);
    ++generation_;
    // New objects with unknown sizes (or URIs) get probed in the background.
    for (const auto& [path, ino] : table_.paths()) {
      auto object = table_.ObjectOf(ino);
      if (object && NeedsBackgroundProbe(*object)) unknown.push_back(object);
    }
  }
  if (probes_) probes_->Push(unknown);
  return Ok{};
}

}  // namespace getmfs::fs
