// `getmfs get` / `getm`: probing, destinations, sizing the engine, and the downloads themselves.
#include "cli/get_command.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "cli/destination.h"
#include "cli/getm_messages.h"
#include "cli/getm_target.h"
#include "cli/get_items.h"
#include "cli/progress.h"
#include "cli/size.h"
#include "cli/temp_file.h"
#include "fetch/engine.h"
#include "manifest/manifest.h"
#include "fetch/object_stream.h"
#include "http/probe.h"
#include "http/signed_url.h"
#include "integrity/checksum.h"
#include "util/log.h"

namespace getmfs::cli {
namespace {

namespace stdfs = std::filesystem;

// An in-place destination already holds what was written before a failure: says that those
// bytes are not verified.
Error NotVerified(Error error, const Destination& destination) {
  if (!destination.in_place() || destination.written() == 0) return error;
  error.message += "; the " + std::to_string(destination.written()) + " bytes already written to " + destination.name() +
                   (error.kind == ErrorKind::kIntegrity ? " are NOT verified: do not use them"
                                                        : " are incomplete and NOT verified");
  return error;
}

class Downloader {
 public:
  Downloader(const GetConfig& config, std::shared_ptr<fetch::Engine> engine, Progress* progress, int window,
             UrlRenewer* renewer)
      : config_(config), engine_(std::move(engine)), progress_(progress), window_(window), renewer_(renewer) {}

  Status Download(Item& item) {
    integrity::Expected expected = item.user_checksum ? *item.user_checksum : item.meta.checksum;
    if (expected.algorithm == integrity::Algorithm::kS3Etag && expected.s3_part_size == 0) {
      expected.s3_part_size = config_.s3_part_size;
    }
    if (!expected.known() && config_.verbosity >= 1) {
      bool disabled = item.user_checksum.has_value();
      LOG(Warning) << item.label << ": " << (disabled ? "verification disabled (checksum algorithm null)"
                                                       : "no checksum is known for this object: the download is unverified");
    }
    auto destination = Destination::Open(item.destination, item.meta.size);
    if (!destination) return destination.error();
    fetch::ObjectStream stream(engine_, item.signed_url, item.meta, expected, StreamOptionsFor(item));
    for (;;) {
      auto piece = stream.Next(SIZE_MAX);
      if (!piece) return NotVerified(piece.error(), *destination);
      if (piece->size == 0) break;
      Status status = destination->Write(piece->data, piece->size);
      // Written out, never wanted again: its slot is the next one reused, so a download
      // cycles through the slots in flight instead of touching every page of the cache.
      engine_->cache().Unpin(piece->slot, /*cold=*/true);
      if (!status) return NotVerified(status.error(), *destination);
      if (progress_ != nullptr) progress_->Add(piece->size);
    }
    Status committed = destination->Commit();
    if (!committed) return committed;
    // getm says nothing on success (Cromwell takes any stderr output as a failure).
    if (config_.verbosity >= (config_.getm_compat ? 2 : 1) && progress_ == nullptr) {
      ReportDone(item, *destination, stream, expected);
    }
    return Ok{};
  }

 private:
  // "saved FILE (size, verdict)", or "wrote standard output (...)" for what was written in place.
  static void ReportDone(const Item& item, const Destination& destination, const fetch::ObjectStream& stream,
                         const integrity::Expected& expected) {
    std::string verdict = stream.verified() ? "verified " + std::string(integrity::AlgorithmName(expected.algorithm)) +
                                                  " (" + expected.source + ")"
                                            : "unverified";
    std::fprintf(stderr, "%s %s (%s, %s)\n", destination.in_place() ? "wrote" : "saved", destination.name().c_str(),
                 FormatBytes(static_cast<double>(item.meta.size)).c_str(), verdict.c_str());
  }

  fetch::StreamOptions StreamOptionsFor(const Item& item) const {
    fetch::StreamOptions options;
    options.window = window_;
    // Like aria2c, split a file over the connections: blocks of size/concurrency (at least
    // 1 MiB, at most --chunk-size), so a 64 MiB file still uses all 16 requests.
    int concurrency = config_.concurrency.value_or(1);
    if (concurrency > 1) {
      std::uint64_t share = (item.meta.size + static_cast<std::uint64_t>(concurrency) - 1) / static_cast<std::uint64_t>(concurrency);
      share = (share + (64 << 10) - 1) / (64 << 10) * (64 << 10);
      options.block_size = static_cast<std::size_t>(std::min<std::uint64_t>(std::max<std::uint64_t>(share, 1 << 20), config_.chunk_size));
    }
    options.read_timeout_seconds = config_.timeout_seconds;
    if (renewer_->enabled(item)) options.fresh_url = [this, &item] { return renewer_->FreshUrl(item); };
    return options;
  }

  const GetConfig& config_;
  std::shared_ptr<fetch::Engine> engine_;
  Progress* progress_;
  int window_;
  UrlRenewer* renewer_;
};

// Where each item goes: -O FILE, a JSON manifest's filepath resolved as getm does, or the
// directory joined with the manifest path, the Content-Disposition filename or the URL's
// last segment.
Status ResolveDestination(const GetConfig& config, Item& item) {
  if (!item.destination.empty()) return Ok{};
  std::string served_name = item.meta.filename.empty() ? http::UrlBasename(item.url) : item.meta.filename;
  if (!item.getm_target.empty()) {
    auto target = ResolveGetmTarget(item.getm_target, config.output, served_name);
    if (!target) return Error{target.error().kind, item.label + ": " + target.error().message};
    item.destination = *target;
    return Ok{};
  }
  std::string name = item.relative.empty() ? served_name : item.relative;
  if (name.empty()) {
    return Error{ErrorKind::kBadInput, item.label + ": no file name in the URL or Content-Disposition; give one with -O FILE"};
  }
  if (!manifest::ValidateRelativePath(name)) {
    return Error{ErrorKind::kBadInput, item.label + ": unsafe file name \"" + name + "\" from the server; give one with -O FILE"};
  }
  stdfs::path dir = config.output.empty() ? stdfs::path(".") : stdfs::path(config.output);
  stdfs::path dest = dir / name;
  if (Status made = CreateDirectories(dest.parent_path()); !made) return made.error();
  item.destination = dest.string();
  return Ok{};
}

void Report(const Item& item) {
  const std::string& message = item.error->message;
  if (message.rfind(item.label, 0) == 0) {
    LOG(Error) << message;
  } else {
    LOG(Error) << item.label << ": " << message;
  }
}

// Reports each failed item as it comes and keeps the first one's kind for the exit status.
class Failures {
 public:
  explicit Failures(bool getm_lines) : getm_lines_(getm_lines) {}
  // As getm, only getm's lines (they carry the message): Cromwell's status regex must match
  // its joined stderr from the first character.
  void Add(const Item& item) {
    if (getm_lines_) {
      std::string url = item.url.empty() ? item.drs_uri : item.signed_url.redacted();
      std::fputs(GetmFailureLines(*item.error, url).c_str(), stderr);
    } else {
      Report(item);
    }
    if (!first_) first_ = item.error->kind;
  }
  const std::optional<ErrorKind>& first() const { return first_; }

 private:
  bool getm_lines_;
  std::optional<ErrorKind> first_;
};

// The engine's options, how many files download at once and each one's read-ahead window.
struct Sizing {
  fetch::EngineOptions engine_options;
  int parallel_files = 1;
  int window = 4;   // read-ahead blocks per file
};

// Sizes the cache for parallel_files windows, or shrinks the windows to fit --cache-size;
// an error if --cache-size cannot hold even two blocks per file.
Result<Sizing> SizeForConfig(const GetConfig& config, std::size_t item_count) {
  Sizing sizing;
  fetch::EngineOptions& engine_options = sizing.engine_options;
  engine_options.block_size = config.chunk_size;
  engine_options.concurrency = config.concurrency;
  engine_options.workers = config.workers;
  engine_options.request_budget_seconds = config.timeout_seconds;
  engine_options.fetch.transfer.ca_bundle = config.ca_bundle;
  // The workers only fill the cache; what the download waits for is the writer and the MD5
  // (or SHA-256) thread behind them. On a busy machine (nginx on the same two cores here) the
  // workers at the same priority take the CPU those need: 1 GiB md5-verified took 1.98-2.13 s
  // with them at 0, 1.82-1.84 s at 10 (md5sum alone: 1.74 s); crc32c the same either way.
  engine_options.fetch.nice = 10;
  int concurrency = config.concurrency.value_or(1);
  bool streaming = concurrency <= 1;
  auto most_files = static_cast<std::size_t>(config.files_at_once.value_or(8));
  int parallel_files = streaming ? 1 : static_cast<int>(std::min<std::size_t>({item_count, static_cast<std::size_t>(concurrency), most_files}));
  int window = streaming ? 4 : std::max(1, concurrency / parallel_files) + 1;
  engine_options.cache_size = fetch::PageRound(config.chunk_size) * static_cast<std::size_t>(parallel_files * (2 * window + 2) + 2);
  if (config.cache_size > 0) {
    // A hard limit: the read-ahead windows shrink to fit (at least two blocks per file).
    std::size_t floor = fetch::PageRound(config.chunk_size) * static_cast<std::size_t>(2 * parallel_files + 2);
    if (config.cache_size < floor) {
      return Error{ErrorKind::kBadInput, "--cache-size " + std::to_string(config.cache_size) + " is too small: at least " +
                                             std::to_string(floor) + " bytes are needed with --chunk-size " +
                                             std::to_string(config.chunk_size)};
    }
    engine_options.cache_size = std::min(engine_options.cache_size, config.cache_size);
    window = std::max(1, std::min<int>(window, static_cast<int>(config.cache_size / fetch::PageRound(config.chunk_size)) / parallel_files - 2));
  }
  sizing.parallel_files = parallel_files;
  sizing.window = window;
  return sizing;
}

// Checks each probed item's size against the manifest's and gives it a destination; reports
// the items that failed and returns the others, small files first.
std::vector<Item*> QueueDownloads(const GetConfig& config, std::vector<Item>& items, Failures* failures) {
  std::vector<Item*> queue;
  std::map<std::string, const Item*> destinations;   // two items must not write one file
  for (auto& item : items) {
    if (!item.error && item.manifest_size && *item.manifest_size != item.meta.size) {
      item.error = Error{ErrorKind::kChanged, "the manifest says " + std::to_string(*item.manifest_size) +
                                                  " bytes but the object has " + std::to_string(item.meta.size)};
    }
    if (!item.error) {
      Status resolved = ResolveDestination(config, item);
      if (!resolved) item.error = resolved.error();
    }
    if (!item.error && !IsStandardOutput(item.destination) && item.destination.rfind("/dev/", 0) != 0) {
      auto [first, added] = destinations.emplace(item.destination, &item);
      if (!added) item.error = Error{ErrorKind::kBadInput, "the destination " + item.destination + " is also " + first->second->label + "'s"};
    }
    if (item.error) {
      failures->Add(item);
    } else {
      queue.push_back(&item);
    }
  }
  std::stable_sort(queue.begin(), queue.end(), [](const Item* a, const Item* b) { return a->meta.size < b->meta.size; });
  return queue;
}

// The progress bar over the queue's bytes: with --progress, or by default on a terminal (not with -q).
std::unique_ptr<Progress> MakeProgress(const GetConfig& config, const std::vector<Item*>& queue) {
  std::uint64_t total = 0;
  for (const Item* item : queue) total += item->meta.size;
  bool show_progress = config.progress.value_or(isatty(STDERR_FILENO) == 1) && config.verbosity >= 1;
  std::unique_ptr<Progress> progress;
  if (show_progress) progress = std::make_unique<Progress>(total, queue.size());
  return progress;
}

// Downloads the queue on parallel_files threads (this one included); after a failure the
// threads take no new item unless --continue-after-error.
void DownloadAll(const GetConfig& config, const std::vector<Item*>& queue, Downloader& downloader, Progress* progress,
                 int parallel_files, Failures* failures) {
  std::mutex mu;
  std::size_t next = 0;
  std::atomic<bool> stop{false};
  auto work = [&] {
    for (;;) {
      Item* item;
      {
        std::scoped_lock lock(mu);
        if (next >= queue.size() || stop) return;
        item = queue[next++];
      }
      Status status = downloader.Download(*item);
      std::scoped_lock lock(mu);
      if (!status) {
        item->error = status.error();
        if (progress) progress->Clear();
        failures->Add(*item);
        if (!config.continue_after_error) stop = true;
      } else {
        item->done = true;
        if (progress) progress->FileDone();
      }
    }
  };
  std::vector<std::thread> threads;
  for (int i = 1; i < parallel_files; ++i) threads.emplace_back(work);
  work();
  for (auto& t : threads) t.join();
}

int LogAndExitCode(const Error& error) {
  LOG(Error) << error.message;
  return ExitCodeFor(error.kind);
}

Result<drs::DrsOptions> DrsOptionsFor(const GetConfig& config) {
  drs::DrsOptions drs;
  drs.server = config.drs_server;
  drs.transfer.ca_bundle = config.ca_bundle;
  drs.timeout_seconds = std::min(config.timeout_seconds, 120.0);
  auto token = drs::LoadToken(config.drs_token_file);
  if (!token) return token.error();
  drs.token = *token;
  return drs;
}

}  // namespace

int RunGet(const GetConfig& config) {
  RemoveTempFilesOnSignal();
  auto drs = DrsOptionsFor(config);
  if (!drs) return LogAndExitCode(drs.error());
  auto built = BuildItems(config, *drs);
  if (!built) return LogAndExitCode(built.error());
  std::vector<Item>& items = *built;
  auto sizing = SizeForConfig(config, items.size());
  if (!sizing) return LogAndExitCode(sizing.error());
  auto engine = fetch::Engine::Start(sizing->engine_options);
  if (!engine) return LogAndExitCode(engine.error());
  auto probe_options = (*engine)->probe_options();
  probe_options.deadline_seconds = config.timeout_seconds;
  UrlRenewer renewer(config, *drs);
  ProbeAll(items, probe_options, &renewer);

  Failures failures(config.getm_compat);
  std::vector<Item*> queue = QueueDownloads(config, items, &failures);
  if (failures.first() && !config.continue_after_error) return ExitCodeFor(*failures.first());
  std::unique_ptr<Progress> progress = MakeProgress(config, queue);
  Downloader downloader(config, *engine, progress.get(), sizing->window, &renewer);
  DownloadAll(config, queue, downloader, progress.get(), sizing->parallel_files, &failures);
  if (progress) progress->Finish();
  if (failures.first()) {
    std::size_t failed = 0;
    for (const auto& item : items) failed += item.error.has_value();
    if (items.size() > 1) LOG(Error) << failed << " of " << items.size() << " downloads failed";
    return ExitCodeFor(*failures.first());
  }
  return 0;
}

}  // namespace getmfs::cli
