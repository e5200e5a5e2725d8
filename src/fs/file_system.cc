#include "fs/file_system.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <nlohmann/json.hpp>
#include <set>

#include "util/log.h"

namespace getmfs::fs {

using Clock = std::chrono::steady_clock;

namespace {

constexpr std::uint64_t kStatusIno = UINT64_MAX - 1;
constexpr std::uint64_t kSequentialSlack = 1 << 20;
constexpr std::uint64_t kInitialWindow = 1 << 20;

std::vector<std::string> SplitPath(const std::string& path) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= path.size()) {
    auto slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    parts.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

}  // namespace

FileSystem::FileSystem(MountOptions options) : options_(std::move(options)) {
  mount_time_ = static_cast<std::int64_t>(std::time(nullptr));
}

FileSystem::~FileSystem() { Stop(); }

Result<std::unique_ptr<FileSystem>> FileSystem::Create(const Manifest& manifest, MountOptions options) {
  if (options.cache_size == 0) options.cache_size = DefaultCacheSize();
  options.block_size = PageRound(options.block_size);
  if (options.cache_size < options.block_size * 16) {
    return Error{ErrorKind::kBadInput, "--cache-size must hold at least 16 blocks (" +
                                           std::to_string(options.block_size * 16) + " bytes)"};
  }
  std::unique_ptr<FileSystem> fs(new FileSystem(std::move(options)));
  Status built = fs->BuildTree(manifest, &fs->nodes_, &fs->by_path_);
  if (!built) return built.error();
  return fs;
}

Status FileSystem::BuildTree(const Manifest& manifest, std::map<std::uint64_t, Node>* nodes,
                             std::map<std::string, std::uint64_t>* by_path) {
  // Inode numbers of paths that exist already are kept (a reload must not renumber).
  std::map<std::string, std::uint64_t> old_paths;
  {
    std::scoped_lock lock(mu_);
    old_paths = by_path_;
  }
  std::uint64_t next = next_ino_;
  auto ino_for = [&](const std::string& path) {
    auto it = old_paths.find(path);
    return it != old_paths.end() ? it->second : next++;
  };
  nodes->clear();
  by_path->clear();
  Node root;
  root.ino = kRootIno;
  root.parent = kRootIno;
  root.dir = true;
  (*nodes)[kRootIno] = root;
  (*by_path)[""] = kRootIno;
  for (const auto& entry : manifest.entries) {
    if (entry.path.empty()) {
      return Error{ErrorKind::kBadInput, EntryLocation(entry) + ": the URL has no file name; give a PATH"};
    }
    auto parts = SplitPath(entry.path);
    if (parts.front().rfind(".getmfs", 0) == 0) {
      return Error{ErrorKind::kBadInput, EntryLocation(entry) + ": names starting with .getmfs are reserved"};
    }
    std::uint64_t parent = kRootIno;
    std::string prefix;
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
      prefix += (prefix.empty() ? "" : "/") + parts[i];
      auto found = by_path->find(prefix);
      if (found == by_path->end()) {
        Node dir;
        dir.ino = ino_for(prefix);
        dir.parent = parent;
        dir.name = parts[i];
        dir.dir = true;
        (*nodes)[dir.ino] = dir;
        (*by_path)[prefix] = dir.ino;
        (*nodes)[parent].children[parts[i]] = dir.ino;
        parent = dir.ino;
      } else {
        parent = found->second;
      }
    }
    Node file;
    file.ino = ino_for(entry.path);
    file.parent = parent;
    file.name = parts.back();
    file.line = entry.line;
    file.object = std::make_shared<RemoteObject>(entry.path, http::SignedUrl(entry.url), entry.size, entry.checksum);
    file.object->ino = file.ino;
    (*nodes)[parent].children[file.name] = file.ino;
    (*by_path)[entry.path] = file.ino;
    (*nodes)[file.ino] = std::move(file);
  }
  std::scoped_lock lock(mu_);
  next_ino_ = std::max(next_ino_, next);
  return Ok{};
}

Status FileSystem::Start() {
  EngineOptions engine;
  engine.block_size = options_.block_size;
  engine.cache_size = options_.cache_size;
  engine.concurrency = options_.concurrency;
  engine.workers = options_.workers;
  engine.tune_concurrency = true;   // read-ahead windows: see Prefetch
  engine.worker_path = options_.worker_path;
  auto started = Engine::Start(engine);
  if (!started) return started.error();
  engine_ = *started;
  probe_options_ = engine_->probe_options();
  std::vector<std::shared_ptr<RemoteObject>> unknown;
  {
    std::scoped_lock lock(mu_);
    for (auto& [ino, node] : nodes_) {
      if (node.object && !node.object->KnownSize()) unknown.push_back(node.object);
    }
  }
  {
    std::scoped_lock lock(probe_mu_);
    probe_queue_ = std::move(unknown);
    std::reverse(probe_queue_.begin(), probe_queue_.end());   // manifest order
  }
  int threads = std::max(1, options_.probe_threads);
  for (int i = 0; i < threads; ++i) probe_threads_.emplace_back([this] { ProbeLoop(); });
  return Ok{};
}

void FileSystem::Stop() {
  {
    std::scoped_lock lock(probe_mu_);
    stopping_ = true;
  }
  probe_cv_.notify_all();
  for (auto& t : probe_threads_) t.join();
  probe_threads_.clear();
  engine_.reset();
}

void FileSystem::ProbeLoop() {
  for (;;) {
    std::shared_ptr<RemoteObject> object;
    {
      std::unique_lock lock(probe_mu_);
      probe_cv_.wait(lock, [&] { return stopping_ || !probe_queue_.empty(); });
      if (stopping_) return;
      object = probe_queue_.back();
      probe_queue_.pop_back();
    }
    Status probed = object->EnsureProbed(probe_options_, Clock::now() + std::chrono::seconds(120));
    if (!probed) LOG(Warning) << object->path() << ": " << probed.error().message;
  }
}

void FileSystem::SetInvalidator(std::function<void(const Invalidation&)> invalidator) {
  std::scoped_lock lock(invalidator_mu_);
  invalidator_ = std::move(invalidator);
}

void FileSystem::Invalidate(const Invalidation& invalidation) {
  std::scoped_lock lock(invalidator_mu_);
  if (invalidator_) invalidator_(invalidation);
}

std::shared_ptr<RemoteObject> FileSystem::ObjectOf(std::uint64_t ino) const {
  std::scoped_lock lock(mu_);
  auto it = nodes_.find(ino);
  return it == nodes_.end() ? nullptr : it->second.object;
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
  return a;
}

Result<Attr> FileSystem::GetAttr(std::uint64_t ino) {
  if (ino == kStatusIno) {
    Attr a;
    a.ino = kStatusIno;
    a.mode = S_IFREG | 0444;
    a.size = 0;   // generated when opened (direct I/O)
    a.uid = options_.uid;
    a.gid = options_.gid;
    a.mtime = static_cast<std::int64_t>(std::time(nullptr));
    return a;
  }
  Node node;
  {
    std::scoped_lock lock(mu_);
    auto it = nodes_.find(ino);
    if (it == nodes_.end()) return ErrnoError(ENOENT, "no such inode");
    node.ino = it->second.ino;
    node.dir = it->second.dir;
    node.object = it->second.object;
  }
  if (node.dir) return AttrOf(node, 0);
  auto size = node.object->Size(Clock::now() + std::chrono::milliseconds(static_cast<long>(options_.timeout_seconds * 1000)));
  if (!size) {
    // Not probed yet (or the probe failed): probe it now, in this thread.
    Status probed = node.object->EnsureProbed(probe_options_, Clock::now() + std::chrono::seconds(static_cast<long>(options_.timeout_seconds)));
    if (!probed) return ReadFailure(*node.object, probed.error());
    size = node.object->Size(Clock::now());
    if (!size) return size.error();
  }
  return AttrOf(node, *size);
}

Result<Attr> FileSystem::Lookup(std::uint64_t parent, const std::string& name) {
  std::uint64_t ino;
  {
    std::scoped_lock lock(mu_);
    if (parent == kRootIno && name == kStatusName) {
      ino = kStatusIno;
    } else {
      auto it = nodes_.find(parent);
      if (it == nodes_.end() || !it->second.dir) return ErrnoError(ENOENT, "no such directory");
      auto child = it->second.children.find(name);
      if (child == it->second.children.end()) return ErrnoError(ENOENT, "no such file");
      ino = child->second;
    }
  }
  return GetAttr(ino);
}

Result<std::vector<DirEntry>> FileSystem::ReadDir(std::uint64_t ino) {
  std::vector<DirEntry> out;
  std::scoped_lock lock(mu_);
  auto it = nodes_.find(ino);
  if (it == nodes_.end()) return ErrnoError(ENOENT, "no such directory");
  if (!it->second.dir) return ErrnoError(ENOTDIR, "not a directory");
  out.push_back({".", AttrOf(it->second, 0)});
  out.push_back({"..", AttrOf(nodes_.at(it->second.parent), 0)});
  for (const auto& [name, child_ino] : it->second.children) {
    const Node& child = nodes_.at(child_ino);
    // Sizes still being probed show as 0 here; lookup/getattr wait for them.
    std::uint64_t size = child.object ? child.object->KnownSize().value_or(0) : 0;
    out.push_back({name, AttrOf(child, size)});
  }
  return out;
}

Result<std::uint64_t> FileSystem::Open(std::uint64_t ino, int flags) {
  if ((flags & O_ACCMODE) != O_RDONLY || (flags & (O_TRUNC | O_CREAT)) != 0) {
    return ErrnoError(EROFS, "read-only file system");
  }
  auto handle = std::make_shared<Handle>();
  handle->ino = ino;
  if (ino == kStatusIno) {
    handle->snapshot = std::make_shared<const std::string>(StatusJson());
  } else {
    handle->object = ObjectOf(ino);
    if (!handle->object) {
      std::scoped_lock lock(mu_);
      return ErrnoError(nodes_.count(ino) ? EISDIR : ENOENT, "not a file");
    }
    if (auto failure = handle->object->failure()) return *failure;
  }
  std::scoped_lock lock(mu_);
  std::uint64_t id = next_handle_++;
  handles_[id] = std::move(handle);
  return id;
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
  if (h->window != 0) --sequential_readers_;
  if (h->stream_job != 0) engine_->pool().Cancel(h->stream_job);
}

Status FileSystem::Ready(RemoteObject& object, Deadline deadline) {
  Status probed = object.EnsureProbed(probe_options_, deadline);
  if (!probed) return probed;
  if (object.cache_id() == 0) object.Attach(engine_->NewObjectId(), engine_->cache().block_size());
  return Ok{};
}

Error FileSystem::ReadFailure(const RemoteObject& object, const Error& error) {
  if (error.kind == ErrorKind::kExpired) {
    LOG(Warning) << object.path() << ": the signed URL has expired (EKEYEXPIRED): refresh its URL in the "
                 << "manifest and run `getmfs reload MOUNTPOINT` (or send SIGHUP)";
  } else if (error.kind != ErrorKind::kBadInput) {
    LOG(Warning) << object.path() << ": " << error.message;
  }
  return error;
}

void FileSystem::SubmitRange(const std::shared_ptr<RemoteObject>& object, std::uint64_t first,
                             const std::vector<int>& slots) {
  auto& cache = engine_->cache();
  worker::JobSpec spec;
  spec.url = object->url().full();
  spec.offset = first * object->block_size();
  for (std::size_t i = 0; i < slots.size(); ++i) {
    std::uint64_t len = object->BlockLength(first + i);
    spec.targets.push_back({cache.SlotOffset(slots[i]), len});
    spec.length += len;
  }
  spec.object_size = object->size();
  spec.if_match = object->etag();
  spec.first_index = first;
  spec.budget_ms = static_cast<std::int64_t>(options_.timeout_seconds * 1000);
  FetchJob job;
  job.object = object;
  job.first_block = first;
  job.slots = slots;
  job.arrived.assign(slots.size(), false);
  job.scratch.assign(slots.size(), false);
  // Held across Submit: the job's first report may come before Submit returns.
  std::scoped_lock lock(jobs_mu_);
  jobs_[engine_->pool().Submit(std::move(spec), this)] = std::move(job);
}

void FileSystem::Fetch(const std::shared_ptr<RemoteObject>& object, std::uint64_t first, std::uint64_t last,
                       std::uint64_t max_blocks) {
  auto& cache = engine_->cache();
  std::vector<int> run;
  std::uint64_t run_first = first;
  auto flush = [&] {
    if (run.empty()) return;
    SubmitRange(object, run_first, run);
    run.clear();
  };
  for (std::uint64_t index = first; index <= last; ++index) {
    auto acquired = cache.AcquirePinned({object->cache_id(), index});
    if (acquired.slot < 0) break;   // the cache is full: read-ahead shrinks to what fits
    if (!acquired.created) {
      cache.Unpin(acquired.slot);   // cached or being fetched already
      flush();
      continue;
    }
    if (run.empty()) run_first = index;
    run.push_back(acquired.slot);
    if (run.size() >= max_blocks) flush();
  }
  flush();
}

void FileSystem::OnBlock(std::uint64_t job, std::uint64_t index, std::uint32_t crc32c) {
  std::shared_ptr<RemoteObject> object;
  int slot;
  bool scratch;
  {
    std::scoped_lock lock(jobs_mu_);
    auto it = jobs_.find(job);
    if (it == jobs_.end()) return;
    std::size_t i = static_cast<std::size_t>(index - it->second.first_block);
    if (i >= it->second.slots.size() || it->second.arrived[i]) return;
    it->second.arrived[i] = true;
    object = it->second.object;
    slot = it->second.slots[i];
    scratch = it->second.scratch[i];
  }
  auto& cache = engine_->cache();
  if (scratch) {   // a block the stream passed over that was cached already
    cache.Abandon(slot);
    cache.Unpin(slot);
    return;
  }
  cache.Fill(slot, static_cast<std::size_t>(object->BlockLength(index)), crc32c);
  auto verdict = object->OnBlockArrived(cache, index, slot, crc32c);
  cache.Unpin(slot);
  if (verdict == Verdict::kFailed) Invalidate({Invalidation::kInode, object->ino, 0, ""});
}

void FileSystem::OnDone(std::uint64_t job, const worker::JobResult& result) {
  FetchJob done;
  {
    std::scoped_lock lock(jobs_mu_);
    auto it = jobs_.find(job);
    if (it == jobs_.end()) return;
    done = std::move(it->second);
    jobs_.erase(it);
  }
  std::uint64_t bytes = 0;
  for (std::size_t i = 0; i < done.slots.size(); ++i) {
    if (done.arrived[i]) bytes += done.object->BlockLength(done.first_block + i);
  }
  // Record the error before waking the readers of the abandoned blocks. A stream that
  // broke for a passing reason (say, its connection idled out while the reader paused) is
  // not a read error: its readers fetch the blocks again one by one.
  std::optional<Error> error = result.error;
  if (done.stream && error && (error->kind == ErrorKind::kNetwork || error->kind == ErrorKind::kTimeout)) {
    LOG(Info) << done.object->path() << ": the streaming GET ended (" << error->message << ")";
    error.reset();
  }
  done.object->OnFetchDone(bytes, result.retries, error);
  if (error) ReadFailure(*done.object, *error);
  auto& cache = engine_->cache();
  for (std::size_t i = 0; i < done.slots.size(); ++i) {
    if (done.arrived[i]) continue;
    cache.Abandon(done.slots[i]);
    cache.Unpin(done.slots[i]);
  }
  if (result.error && (result.error->kind == ErrorKind::kChanged || result.error->kind == ErrorKind::kNotFound)) {
    cache.DropObject(done.object->cache_id());
    Invalidate({Invalidation::kInode, done.object->ino, 0, ""});
  }
}

Result<int> FileSystem::WaitBlock(const std::shared_ptr<RemoteObject>& object, std::uint64_t index, Deadline deadline) {
  auto& cache = engine_->cache();
  for (int attempt = 0;; ++attempt) {
    // A failed object (checksum mismatch, changed) fetches nothing more: its blocks were
    // dropped, and a read already in progress must not bring them back.
    if (auto failure = object->failure()) return *failure;
    auto acquired = cache.AcquirePinned({object->cache_id(), index});
    if (acquired.slot < 0) {
      if (Clock::now() >= deadline) {
        return Error{ErrorKind::kTimeout, object->path() + ": the block cache is full of blocks in use; raise --cache-size"};
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      continue;
    }
    int slot = acquired.slot;
    if (acquired.created) {
      // Ours to fetch: the job keeps the pin AcquirePinned took; the reader takes its own.
      cache.Pin(slot);
      SubmitRange(object, index, {slot});
    }
    auto state = WaitFilled(slot, deadline);
    if (state == cache::BlockCache::State::kReady) {
      if (cache.Verify(slot)) return slot;
      cache.Unpin(slot);   // dropped by Verify: fetch it again
      if (attempt < 2) continue;
      return Error{ErrorKind::kIntegrity, object->path() + ": block " + std::to_string(index) +
                                              " keeps failing its CRC32C check in the cache"};
    }
    cache.Unpin(slot);
    if (state == cache::BlockCache::State::kFilling) {
      return Error{ErrorKind::kTimeout, object->path() + ": no data for block " + std::to_string(index) +
                                            " within " + std::to_string(static_cast<int>(options_.timeout_seconds)) + " s"};
    }
    // Abandoned: the fetch failed.
    if (auto failure = object->failure()) return *failure;
    if (auto error = object->last_fetch_error(); error && attempt >= 0) return *error;
    if (attempt >= 2) return Error{ErrorKind::kNetwork, object->path() + ": block " + std::to_string(index) + " could not be fetched"};
  }
}

cache::BlockCache::State FileSystem::WaitFilled(int slot, Deadline deadline) {
  auto& cache = engine_->cache();
  for (;;) {
    // In steps: between them, ask the pool to move a stalled request to another connection.
    auto step = std::min(deadline, Clock::now() + worker::Pool::kStallAfter);
    auto state = cache.WaitNotFilling(slot, step);
    if (state != cache::BlockCache::State::kFilling || Clock::now() >= deadline) return state;
    std::uint64_t job = 0;
    {
      std::scoped_lock lock(jobs_mu_);
      for (const auto& [id, fetch] : jobs_) {
        if (fetch.stream) continue;
        auto it = std::find(fetch.slots.begin(), fetch.slots.end(), slot);
        if (it != fetch.slots.end() && !fetch.arrived[static_cast<std::size_t>(it - fetch.slots.begin())]) {
          job = id;
          break;
        }
      }
    }
    if (job != 0) engine_->pool().RestartIfStalled(job);
  }
}

Status FileSystem::EnsureVerified(const std::shared_ptr<RemoteObject>& object, Deadline deadline) {
  auto& cache = engine_->cache();
  for (;;) {
    Verdict verdict = object->verdict();
    if (verdict == Verdict::kVerified || verdict == Verdict::kUnverified) return Ok{};
    if (verdict == Verdict::kFailed) return *object->failure();
    auto need = object->NextVerificationNeed();
    if (!need) {
      object->WaitVerdict(deadline);
      if (Clock::now() >= deadline) return Error{ErrorKind::kTimeout, object->path() + ": verification did not finish in time"};
      continue;
    }
    auto slot = WaitBlock(object, need->index, deadline);
    if (!slot) return slot.error();
    auto settled = object->FeedVerification(cache, need->index, *slot, cache.crc32c(*slot));
    cache.Unpin(*slot);
    if (settled == Verdict::kFailed) Invalidate({Invalidation::kInode, object->ino, 0, ""});
  }
}

bool FileSystem::Prefetch(Handle& handle, std::uint64_t offset, std::size_t size) {
  const auto& object = handle.object;
  std::uint64_t bs = object->block_size();
  std::uint64_t object_size = object->size();
  std::uint64_t end = offset + size;
  std::uint64_t max_blocks = std::max<std::uint64_t>(1, options_.max_request / bs);
  std::scoped_lock lock(handle.mu);
  bool sequential = handle.next_offset > 0 && offset + kSequentialSlack >= handle.next_offset &&
                    offset <= handle.next_offset + kSequentialSlack;
  if (offset == 0 && handle.next_offset == 0) sequential = true;   // a reader starting at 0
  if (sequential) {
    if (handle.window == 0) ++sequential_readers_;
    // Read-ahead draws from the cache budget: the sequential readers share half of it (a
    // quarter of a small cache, where the kernel's reads in progress take a larger part),
    // so a window never pushes out blocks before its reader gets to them.
    std::uint64_t cache_bytes = engine_->cache().slot_count() * bs;
    std::uint64_t share = cache_bytes >= (64u << 20) ? cache_bytes / 2 : cache_bytes / 4;
    std::uint64_t budget = share / static_cast<std::uint64_t>(std::max(1, sequential_readers_.load()));
    std::uint64_t cap = std::max<std::uint64_t>(bs, std::min<std::uint64_t>(options_.max_readahead, budget));
    handle.window = handle.window == 0 ? std::min(kInitialWindow, cap) : std::min(cap, handle.window * 2);
    handle.next_offset = std::max(handle.next_offset, end);
  } else {
    if (handle.window != 0) --sequential_readers_;
    handle.window = 0;
    handle.prefetched_until = 0;
    handle.next_offset = end;
  }
  if (engine_->streaming() && sequential) {
    Stream(handle, offset, end);
    return true;
  }
  // What this read needs now: small requests when the access is random.
  Fetch(object, offset / bs, (end - 1) / bs,
        sequential ? std::clamp<std::uint64_t>(handle.window / bs, 1, max_blocks) : 1);
  if (handle.window == 0) return false;
  std::uint64_t start = std::max(handle.prefetched_until, end);
  std::uint64_t target = std::min(object_size, end + handle.window);
  int concurrency = std::max(1, engine_->pool().in_flight_limit());
  // Keep the pool's requests in flight (up to --concurrency, fewer when fewer move as
  // much: see ConcurrencyTuner) for one fast reader, but none smaller than 4 MiB (or the
  // window): each request costs a round trip and scheduling of its own.
  std::uint64_t floor = std::max<std::uint64_t>(bs, std::min<std::uint64_t>(handle.window, 4 << 20));
  std::uint64_t request = std::clamp<std::uint64_t>(handle.window / static_cast<std::uint64_t>(concurrency), floor,
                                                    std::max(floor, max_blocks * bs));
  request = request / bs * bs;
  if (start >= target || (target - start < request && target < object_size)) return true;
  Fetch(object, start / bs, (target - 1) / bs, request / bs);
  handle.prefetched_until = target;
  return true;
}

void FileSystem::Stream(Handle& handle, std::uint64_t offset, std::uint64_t end) {
  const auto& object = handle.object;
  auto& cache = engine_->cache();
  std::uint64_t bs = object->block_size();
  std::uint64_t first = offset / bs;
  std::uint64_t blocks = object->BlockCount();
  std::uint64_t ahead = std::max<std::uint64_t>(4, handle.window / bs);
  std::uint64_t until = std::min(blocks, (end + bs - 1) / bs + ahead);
  bool active;
  {
    std::scoped_lock lock(jobs_mu_);
    active = handle.stream_job != 0 && jobs_.count(handle.stream_job) != 0;
  }
  // A reader that jumped past what its stream was given gets a new stream.
  if (active && first > handle.stream_next) {
    engine_->pool().Cancel(handle.stream_job);
    active = false;
  }
  std::uint64_t from = active ? handle.stream_next : first;
  if (!active) {
    // A new stream starts at the first block not cached yet.
    for (; from < until; ++from) {
      int cached = cache.FindPinned({object->cache_id(), from});
      if (cached < 0) break;
      cache.Unpin(cached);
    }
  }
  std::vector<worker::BlockTarget> targets;
  std::vector<int> slots;
  std::vector<bool> scratch;
  for (std::uint64_t index = from; index < until; ++index) {
    auto acquired = cache.AcquirePinned({object->cache_id(), index});
    bool is_scratch = false;
    if (acquired.slot >= 0 && !acquired.created) {
      // Cached already: the stream's bytes for it go to a throw-away slot.
      cache.Unpin(acquired.slot);
      acquired = cache.AcquirePinned({UINT64_MAX, ++next_scratch_});
      is_scratch = true;
    }
    if (acquired.slot < 0) break;   // the cache is full: credit more on a later read
    targets.push_back({cache.SlotOffset(acquired.slot), object->BlockLength(index)});
    slots.push_back(acquired.slot);
    scratch.push_back(is_scratch);
  }
  if (targets.empty()) return;
  const std::uint64_t credited = slots.size();
  std::scoped_lock lock(jobs_mu_);
  if (active && jobs_.count(handle.stream_job) != 0) {
    FetchJob& job = jobs_.at(handle.stream_job);
    job.slots.insert(job.slots.end(), slots.begin(), slots.end());
    job.scratch.insert(job.scratch.end(), scratch.begin(), scratch.end());
    job.arrived.resize(job.slots.size(), false);
    engine_->pool().Credit(handle.stream_job, std::move(targets));
  } else {
    worker::JobSpec spec;
    spec.url = object->url().full();
    spec.offset = from * bs;
    spec.length = object->size() - spec.offset;
    spec.object_size = object->size();
    spec.if_match = object->etag();
    spec.first_index = from;
    spec.targets = std::move(targets);
    spec.budget_ms = 0;   // lives as long as its reader; connect/low-speed timeouts guard it
    FetchJob job;
    job.object = object;
    job.first_block = from;
    job.slots = std::move(slots);
    job.scratch = std::move(scratch);
    job.arrived.assign(job.slots.size(), false);
    job.stream = true;
    handle.stream_job = engine_->pool().Submit(std::move(spec), this);
    jobs_[handle.stream_job] = std::move(job);
  }
  handle.stream_next = from + credited;
}

Result<ReadData> FileSystem::Read(std::uint64_t ino, std::uint64_t handle_id, std::uint64_t offset, std::size_t size) {
  std::shared_ptr<Handle> handle;
  {
    std::scoped_lock lock(mu_);
    auto it = handles_.find(handle_id);
    if (it == handles_.end()) return ErrnoError(EBADF, "unknown handle");
    handle = it->second;
  }
  ReadData data;
  if (ino == kStatusIno) {
    // The status file: the snapshot taken at open, served from memory.
    data.owned = handle->snapshot;
    if (offset < data.owned->size()) {
      std::size_t n = std::min<std::size_t>(size, data.owned->size() - offset);
      data.pieces.push_back({-1, reinterpret_cast<const std::uint8_t*>(data.owned->data()) + offset, n, false});
      data.total = n;
    }
    return data;
  }
  const auto& object = handle->object;
  Deadline deadline = Clock::now() + std::chrono::milliseconds(static_cast<long>(options_.timeout_seconds * 1000));
  Status ready = Ready(*object, deadline);
  if (!ready) return ReadFailure(*object, ready.error());
  if (auto failure = object->failure()) return *failure;
  std::uint64_t object_size = object->size();
  if (offset >= object_size || size == 0) return data;
  std::uint64_t end = std::min<std::uint64_t>(object_size, offset + size);
  data.sequential = Prefetch(*handle, offset, static_cast<std::size_t>(end - offset));
  std::uint64_t bs = object->block_size();
  auto& cache = engine_->cache();
  // The reply needs every block, so wait for the last one first: blocks arrive roughly in
  // order, and this thread then sleeps once per read instead of once per block.
  const std::uint64_t first = offset / bs, last = (end - 1) / bs;
  data.pieces.resize(static_cast<std::size_t>(last - first + 1), {-1, nullptr, 0, false});
  for (std::uint64_t index = last + 1; index-- > first;) {
    auto slot = WaitBlock(object, index, deadline);
    if (!slot) {
      ReleaseRead(data, /*delivered=*/false);
      return ReadFailure(*object, slot.error());
    }
    std::uint64_t block_start = index * bs;
    std::uint64_t from = std::max(offset, block_start) - block_start;
    std::uint64_t to = std::min(end, block_start + object->BlockLength(index)) - block_start;
    data.pieces[static_cast<std::size_t>(index - first)] = {*slot, cache.SlotData(*slot) + from,
                                                            static_cast<std::size_t>(to - from),
                                                            to == object->BlockLength(index)};
    data.total += static_cast<std::size_t>(to - from);
  }
  if (end == object_size) {
    // The last bytes go out only with a verdict: a corrupted object ends in EIO, never EOF.
    Status verified = EnsureVerified(object, deadline);
    if (!verified) {
      ReleaseRead(data, /*delivered=*/false);
      return verified.error();
    }
  }
  return data;
}

void FileSystem::ReleaseRead(const ReadData& data, bool delivered) {
  for (const auto& piece : data.pieces) {
    // A block the read stopped inside will be read again, by the next read.
    if (piece.slot >= 0) engine_->cache().Unpin(piece.slot, delivered && data.sequential && piece.to_block_end);
  }
}

Result<std::string> FileSystem::GetXattr(std::uint64_t ino, const std::string& name) {
  if (ino == kRootIno) {
    if (name == "user.getmfs.pid") return std::to_string(getpid());
    if (name == "user.getmfs.generation") return std::to_string(generation_.load());
    if (name == "user.getmfs.reload_error") {
      std::scoped_lock lock(mu_);
      return reload_error_;
    }
    if (name == "user.getmfs.reloads") {
      std::scoped_lock lock(mu_);
      return std::to_string(reload_attempts_);
    }
  }
  auto object = ObjectOf(ino);
  if (!object) return ErrnoError(ENODATA, "no such attribute");
  if (name == "user.getmfs.checksum") return object->ChecksumDescription();
  if (name == "user.getmfs.verified") return std::string(VerdictName(object->verdict()));
  if (name == "user.getmfs.url") return object->url().redacted();
  return ErrnoError(ENODATA, "no such attribute");
}

void FileSystem::set_reload_error(const std::string& error) {
  std::scoped_lock lock(mu_);
  reload_error_ = error;
  ++reload_attempts_;
}

Result<std::vector<std::string>> FileSystem::ListXattr(std::uint64_t ino) {
  if (ino == kRootIno) {
    return std::vector<std::string>{"user.getmfs.pid", "user.getmfs.generation", "user.getmfs.reloads",
                                    "user.getmfs.reload_error"};
  }
  if (!ObjectOf(ino)) return std::vector<std::string>{};
  return std::vector<std::string>{"user.getmfs.checksum", "user.getmfs.verified", "user.getmfs.url"};
}

std::uint64_t FileSystem::FileCount() const {
  std::scoped_lock lock(mu_);
  std::uint64_t n = 0;
  for (const auto& [ino, node] : nodes_) n += !node.dir;
  return n;
}

std::uint64_t FileSystem::TotalBytes() const {
  std::scoped_lock lock(mu_);
  std::uint64_t n = 0;
  for (const auto& [ino, node] : nodes_) {
    if (node.object) n += node.object->KnownSize().value_or(0);
  }
  return n;
}

std::string FileSystem::StatusJson() {
  nlohmann::json files = nlohmann::json::array();
  std::uint64_t fetched = 0, retries = 0, errors = 0;
  std::map<std::string, int> verdicts;
  {
    std::scoped_lock lock(mu_);
    for (const auto& [path, ino] : by_path_) {
      const Node& node = nodes_.at(ino);
      if (!node.object) continue;
      const auto& o = *node.object;
      auto counters = o.counters();
      auto size = o.KnownSize();
      std::string verdict = VerdictName(o.verdict());
      if (o.failure() && o.failure()->kind != ErrorKind::kIntegrity) verdict = "failed";
      ++verdicts[verdict];
      fetched += counters.bytes_fetched;
      retries += counters.retries;
      errors += counters.errors;
      files.push_back({{"path", path},
                       {"size", size ? nlohmann::json(*size) : nlohmann::json(nullptr)},
                       {"checksum", o.ChecksumDescription()},
                       {"state", verdict},
                       {"bytes_fetched", counters.bytes_fetched},
                       {"requests", counters.requests},
                       {"retries", counters.retries},
                       {"errors", counters.errors},
                       {"last_error", counters.last_error}});
    }
  }
  nlohmann::json status = {{"pid", getpid()},
                           {"generation", generation_.load()},
                           {"files", files},
                           {"totals", {{"files", files.size()}, {"bytes_fetched", fetched}, {"retries", retries},
                                       {"errors", errors}, {"states", verdicts}}}};
  if (engine_) {
    auto c = engine_->cache().Stats();
    auto p = engine_->pool().Stats();
    status["cache"] = {{"block_size", engine_->cache().block_size()},
                       {"capacity", c.slots * engine_->cache().block_size()},
                       {"used", c.slots_used * engine_->cache().block_size()},
                       {"pinned_blocks", c.slots_pinned},
                       {"hits", c.hits},
                       {"misses", c.misses},
                       {"evictions", c.evictions},
                       {"crc_failures", c.crc_failures}};
    status["workers"] = {{"alive", p.workers_alive}, {"restarts", p.worker_restarts},
                         {"in_flight", p.in_flight}, {"in_flight_limit", p.in_flight_limit}, {"stalls_restarted", p.stalls_restarted}, {"requests", p.jobs_started}, {"failed", p.jobs_failed}};
  }
  return status.dump(2) + "\n";
}

Status FileSystem::Reload(const Manifest& manifest, std::vector<Invalidation>* invalidations) {
  std::map<std::uint64_t, Node> nodes;
  std::map<std::string, std::uint64_t> by_path;
  Status built = BuildTree(manifest, &nodes, &by_path);
  if (!built) return built;
  // Paths whose URL changed: is it still the same object (size and ETag)? Probe outside the lock.
  std::map<std::string, std::shared_ptr<RemoteObject>> keep;
  std::set<std::string> changed;
  for (auto& [path, ino] : by_path) {
    Node& node = nodes.at(ino);
    if (!node.object) continue;
    std::shared_ptr<RemoteObject> old;
    {
      std::scoped_lock lock(mu_);
      auto it = by_path_.find(path);
      if (it != by_path_.end()) old = nodes_.at(it->second).object;
    }
    if (!old) continue;
    if (old->url().full() == node.object->url().full()) {
      keep[path] = old;
      continue;
    }
    if (old->cache_id() == 0) {
      // Never read: nothing cached. Open handles keep working with the new URL unless the
      // manifest now describes another object.
      if (old->SameManifestData(*node.object)) {
        old->Rebind(node.object->url());
        keep[path] = old;
      } else {
        changed.insert(path);
      }
      continue;
    }
    auto meta = http::Probe(node.object->url(), probe_options_);
    if (meta && meta->size == old->size() && (meta->etag == old->etag() || old->etag().empty())) {
      old->set_url(node.object->url());
      keep[path] = old;
      LOG(Info) << path << ": new URL, same object: cache and open files kept";
    } else {
      changed.insert(path);
      if (!meta) LOG(Warning) << path << ": " << meta.error().message;
    }
  }
  std::scoped_lock lock(mu_);
  for (auto& [path, object] : keep) {
    Node& node = nodes.at(by_path.at(path));
    node.object = object;
  }
  for (const auto& [path, ino] : by_path_) {
    const Node& old = nodes_.at(ino);
    auto now = by_path.find(path);
    bool gone = now == by_path.end() || nodes.at(now->second).dir != old.dir;
    if (gone) {
      if (old.object) old.object->Fail(Error{ErrorKind::kChanged, path + " was removed from the manifest"});
      invalidations->push_back({Invalidation::kEntry, 0, old.parent, old.name});
    } else if (changed.count(path)) {
      if (old.object) old.object->Fail(Error{ErrorKind::kChanged, path + " now names another object"});
      invalidations->push_back({Invalidation::kInode, ino, 0, ""});
    } else if (old.dir && nodes.at(now->second).children != old.children) {
      invalidations->push_back({Invalidation::kInode, ino, 0, ""});
    }
  }
  nodes_ = std::move(nodes);
  by_path_ = std::move(by_path);
  ++generation_;
  // New objects with unknown sizes get probed in the background.
  std::scoped_lock probe_lock(probe_mu_);
  for (auto& [ino, node] : nodes_) {
    if (node.object && !node.object->KnownSize() && node.object->NeedsProbe()) probe_queue_.push_back(node.object);
  }
  probe_cv_.notify_all();
  return Ok{};
}

}  // namespace getmfs::fs
