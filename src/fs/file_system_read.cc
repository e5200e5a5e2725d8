// The facade's read path: a read asks its handle's Prefetcher what to fetch, requests that
// through the BlockFetcher, waits for its own blocks (the last first) and, when it reaches
// the end of the file, for the object's verdict: a corrupted object ends in EIO, never EOF.
#include <algorithm>

#include "fs/file_system.h"
#include "util/log.h"

namespace getmfs::fs {

using Clock = std::chrono::steady_clock;

Status FileSystem::Ready(fetch::RemoteObject& object, Deadline deadline) {
  Status probed = object.EnsureProbed(probe_options_, deadline);
  if (!probed) return probed;
  if (object.cache_id() == 0) object.Attach(engine_->NewObjectId(), engine_->cache().block_size());
  return Ok{};
}

Error FileSystem::ReadFailure(const fetch::RemoteObject& object, const Error& error) {
  if (error.kind == ErrorKind::kBadInput) return error;
  auto repeats = log_limiter_.Admit(object.path(), error.message);
  if (!repeats) return error;   // said lately: counted
  std::string again = *repeats > 0 ? " (" + std::to_string(*repeats) + " more times since it was last logged)" : "";
  if (error.kind == ErrorKind::kExpired && refresher_ && refresher_->enabled()) {
    std::string why = refresher_->last_failure();
    LOG(Warning) << object.path() << ": the signed URL has expired (EKEYEXPIRED) and refreshing did not "
                 << "renew it" << (why.empty() ? "" : ": " + why) << again;
  } else if (error.kind == ErrorKind::kExpired) {
    LOG(Warning) << object.path() << ": the signed URL has expired (EKEYEXPIRED): refresh its URL in the "
                 << "manifest and run `getmfs reload MOUNTPOINT` (or send SIGHUP), or mount with --refresh-command"
                 << again;
  } else {
    LOG(Warning) << object.path() << ": " << error.message << again;
  }
  return error;
}

Result<ReadData> FileSystem::Read(std::uint64_t, std::uint64_t handle_id, std::uint64_t offset, std::size_t size) {
  auto handle = FindHandle(handle_id);
  if (!handle) return ErrnoError(EBADF, "unknown handle");
  if (!handle->snapshot) {
    ++reads_active_;
    auto data = ReadObject(*handle, offset, size);
    if (!data) --reads_active_;
    return data;
  }
  ++reads_active_;
  // The status file: the snapshot taken at open, served from memory.
  ReadData data;
  data.owned = handle->snapshot;
  if (offset < data.owned->size()) {
    std::size_t n = std::min<std::size_t>(size, data.owned->size() - offset);
    data.pieces.push_back({-1, reinterpret_cast<const std::uint8_t*>(data.owned->data()) + offset, n, false});
    data.total = n;
  }
  return data;
}

Result<ReadData> FileSystem::ReadObject(Handle& handle, std::uint64_t offset, std::size_t size) {
  const auto& object = handle.object;
  Deadline deadline = ReadDeadline();
  const std::uint64_t generation = object->url_generation();
  Status ready = Ready(*object, deadline);
  if (!ready && ready.error().kind == ErrorKind::kExpired && FreshUrl(*object, generation, deadline)) {
    ready = Ready(*object, deadline);   // the probe again, with the fresh URL
  }
  if (!ready) return ReadFailure(*object, ready.error());
  if (auto failure = object->failure()) return *failure;
  ReadData data;
  std::uint64_t object_size = object->size();
  if (offset >= object_size || size == 0) return data;
  std::uint64_t end = std::min<std::uint64_t>(object_size, offset + size);
  data.sequential = Prefetch(handle, offset, end);
  if (data.sequential) KeepNearDigest(object, (end - 1) / object->block_size(), deadline);
  Status collected = CollectBlocks(object, offset, end, deadline, &data);
  if (!collected) return ReadFailure(*object, collected.error());
  if (NeedsVerdict(handle, offset, end)) {
    // A reader given the whole file (cat, cp, sha256sum) never sees a clean end of a
    // corrupted object: its read gets EIO instead.
    Status verified = engine_->fetcher().EnsureVerified(object, deadline);
    if (!verified) {
      UnpinRead(data, /*delivered=*/false);
      return verified.error();
    }
  } else if (background_ && !data.sequential && object->verdict() == fetch::Verdict::kPending) {
    background_->Add(object);
  }
  return data;
}

bool FileSystem::NeedsVerdict(Handle& handle, std::uint64_t offset, std::uint64_t end) {
  const auto& object = handle.object;
  if (object->MarkDelivered(offset, end)) return true;
  // A reader that seeks is never made to fetch what it did not ask for: the verdict waits
  // until every byte was fetched, by whichever reader.
  return object->verification().complete();
}

bool FileSystem::Prefetch(Handle& handle, std::uint64_t offset, std::uint64_t end) {
  const auto& object = handle.object;
  auto& fetcher = engine_->fetcher();
  // Read-ahead draws from the cache budget: the sequential streams share half of it (a
  // quarter of a small cache, where the kernel's reads in progress take a larger part), so a
  // window never pushes out blocks before its reader gets to them.
  std::uint64_t cache_bytes = engine_->cache().slot_count() * object->block_size();
  PrefetchBudget budget;
  budget.share = cache_bytes >= (64u << 20) ? cache_bytes / 2 : cache_bytes / 4;
  budget.in_flight_limit = engine_->pool().in_flight_limit();
  std::scoped_lock lock(handle.mu);
  budget.active_streams = sequential_streams_.load();
  PrefetchPlan plan = handle.prefetcher.OnRead(offset, end, object->size(), budget);
  sequential_streams_ += plan.streams_delta;
  if (plan.stream && object->ranges()) {
    fetcher.StreamTo(handle.stream, object, plan.stream->from, plan.stream->until);
    return plan.sequential;
  }
  if (plan.stream) {   // the server ignores ranges: the object's one stream, shared
    fetcher.FetchBlocks(object, plan.stream->from, plan.stream->until - 1, 1);
    return plan.sequential;
  }
  fetcher.FetchBlocks(object, plan.demand.first, plan.demand.last, plan.demand.max_blocks);
  if (plan.ahead) fetcher.FetchBlocks(object, plan.ahead->first, plan.ahead->last, plan.ahead->max_blocks);
  return plan.sequential;
}

void FileSystem::KeepNearDigest(const fetch::ObjectPtr& object, std::uint64_t block, Deadline deadline) {
  fetch::Verification& verification = object->verification();
  if (!verification.needs_bytes()) return;
  // The feeder may hold a quarter of the cache for digests (see Start); each stream keeps
  // within half of its share of that, so the blocks it reads are still cached when the digest
  // gets to them.
  std::uint64_t hold = std::max<std::uint64_t>(16, engine_->cache().slot_count() / 4);
  std::uint64_t lag = std::max<std::uint64_t>(8, hold / 2 / static_cast<std::uint64_t>(std::max(1, sequential_streams_.load())));
  while (verification.verdict() == fetch::Verdict::kPending && verification.fed() + lag < block &&
         Clock::now() < deadline) {
    if (engine_->fetcher().DigestStuck(object)) return;
    verification.WaitProgress(std::min(deadline, Clock::now() + std::chrono::milliseconds(50)));
  }
}

Status FileSystem::CollectBlocks(const fetch::ObjectPtr& object, std::uint64_t offset, std::uint64_t end,
                                 Deadline deadline, ReadData* data) {
  std::uint64_t bs = object->block_size();
  auto& cache = engine_->cache();
  // The reply needs every block, so wait for the last one first: blocks arrive roughly in
  // order, and this thread then sleeps once per read instead of once per block.
  const std::uint64_t first = offset / bs, last = (end - 1) / bs;
  data->pieces.resize(static_cast<std::size_t>(last - first + 1), {-1, nullptr, 0, false});
  for (std::uint64_t index = last + 1; index-- > first;) {
    auto slot = engine_->fetcher().WaitBlock(object, index, deadline);
    if (!slot) {
      UnpinRead(*data, /*delivered=*/false);
      return slot.error();
    }
    std::uint64_t block_start = index * bs;
    std::uint64_t length = object->BlockLength(index);
    std::uint64_t from = std::max(offset, block_start) - block_start;
    std::uint64_t to = std::min(end, block_start + length) - block_start;
    data->pieces[static_cast<std::size_t>(index - first)] = {*slot, cache.SlotData(*slot) + from,
                                                             static_cast<std::size_t>(to - from), to == length};
    data->total += static_cast<std::size_t>(to - from);
  }
  return Ok{};
}

void FileSystem::ReleaseRead(const ReadData& data, bool delivered) {
  UnpinRead(data, delivered);
  --reads_active_;
}

void FileSystem::UnpinRead(const ReadData& data, bool delivered) {
  for (const auto& piece : data.pieces) {
    // A block the read stopped inside will be read again, by the next read. With
    // --direct-io no page cache holds what was read: the block cache is the only copy.
    bool cold = delivered && data.sequential && piece.to_block_end && !options_.direct_io;
    if (piece.slot >= 0) engine_->cache().Unpin(piece.slot, cold);
  }
}

}  // namespace getmfs::fs
