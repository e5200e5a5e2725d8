// The fetch loop: a curl multi handle writing responses into cache slots (fetch_loop.h).
#include "worker/fetch_loop.h"

#include <sys/mman.h>

#include <chrono>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "integrity/checksum.h"
#include "util/log.h"
#include "util/stream_copy.h"
#include "worker/protocol.h"
#include "worker/reports.h"
#include "worker/response_check.h"

namespace getmfs::worker {

using Clock = std::chrono::steady_clock;

struct FetchLoop::Transfer {
  JobSpec spec;
  http::SignedUrl url;
  std::size_t block = 0;          // index into spec.targets being written
  std::uint64_t block_pos = 0;    // bytes written into that block in this attempt
  std::uint64_t block_pos_reported = 0;   // what Reporter::Partial was last told of it
  std::uint32_t crc = 0;
  std::uint64_t done_bytes = 0;   // bytes of completed blocks
  std::uint64_t credited_bytes = 0;
  // Bytes that arrived past the credited slots, waiting for the next credit (a streaming job).
  std::vector<std::uint8_t> uncredited;
  bool draining = false;          // the response is complete but for `uncredited`
  std::uint64_t skip = 0;         // body bytes still to drop before the asked range
  bool wider = false;             // the body goes on past the asked range: cut it there
  bool complete = false;          // every asked byte came; the transfer was cut off

  http::CurlEasy easy;
  http::CurlSlist request_headers;
  http::HeaderCollector headers;
  bool checked = false;
  bool paused = false;
  bool in_multi = false;
  std::uint64_t attempt_start = 0;
  std::uint64_t attempt_end = 0;     // inclusive
  std::optional<Error> failure;      // set by the body check
  bool failure_retryable = false;
  bool ranges_ignored = false;
  std::string error_body;
  char errbuf[CURL_ERROR_SIZE] = {0};

  int retries = 0;
  Clock::time_point deadline = Clock::time_point::max();
  Clock::time_point next_attempt{};
  FetchLoop::Impl* loop = nullptr;
};

class FetchLoop::Impl {
 public:
  Impl(int control_fd, std::uint8_t* region, std::size_t region_size, FetchLoopOptions options)
      : control_fd_(control_fd), reporter_(control_fd), region_(region), region_size_(region_size), options_(options),
        rng_(std::random_device{}()), populated_((region_size + 4095) / 4096, false) {
    http::EnsureCurlInitialized();
    multi_.reset(curl_multi_init());
    curl_multi_setopt(multi_.get(), CURLMOPT_MAXCONNECTS, 64L);
  }

  ~Impl() {
    for (auto& [id, t] : transfers_) {
      if (t->in_multi) curl_multi_remove_handle(multi_.get(), t->easy.get());
    }
  }

  int Run() {
    for (;;) {
      if (!ReadControl()) return 0;
      int running = 0;
      curl_multi_perform(multi_.get(), &running);
      reporter_.FlushIfDue(Clock::now());
      HandleCompletions();
      StartDueAttempts();
      if (!reporter_.Flush()) return 0;   // the pool is gone
      curl_waitfd control{control_fd_,
                          static_cast<short>(CURL_WAIT_POLLIN | (reporter_.wants_write() ? CURL_WAIT_POLLOUT : 0)), 0};
      int timeout_ms = NextTimeoutMs();
      curl_multi_poll(multi_.get(), &control, 1, timeout_ms, nullptr);
    }
  }

  static std::size_t OnHeader(char* data, std::size_t size, std::size_t n, void* user) {
    static_cast<Transfer*>(user)->headers.Feed(data, size * n);
    return size * n;
  }

  static std::size_t OnBody(char* data, std::size_t size, std::size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    return t->loop->Write(t, reinterpret_cast<const std::uint8_t*>(data), size * n);
  }

 private:
  // Checks the response once its headers are complete (response_check.h).
  void CheckResponse(Transfer* t) {
    RangeRequest request{t->attempt_start, t->attempt_end, t->spec.object_size, t->spec.if_match};
    ResponseCheck check = CheckRangeResponse(t->headers.status(), t->headers, request, t->url);
    t->ranges_ignored = t->ranges_ignored || check.ranges_ignored;
    t->skip = check.skip;
    t->wider = check.wider;
    if (check.error) Fail(t, *check.error, check.retryable);
  }

  void Fail(Transfer* t, Error error, bool retryable) {
    if (!t->failure) {
      t->failure = std::move(error);
      t->failure_retryable = retryable;
    }
  }

  std::size_t Write(Transfer* t, const std::uint8_t* data, std::size_t n) {
    if (!t->checked) {
      t->checked = true;
      CheckResponse(t);
    }
    if (t->failure) return 0;   // aborts the transfer: CURLE_WRITE_ERROR
    int status = t->headers.status();
    if (status != 200 && status != 206) {
      if (t->error_body.size() < 4096) t->error_body.append(reinterpret_cast<const char*>(data), std::min<std::size_t>(n, 4096));
      return n;
    }
    // Bytes wait for a credit already: libcurl keeps this buffer until we resume.
    if (!t->uncredited.empty()) {
      t->paused = true;
      return CURL_WRITEFUNC_PAUSE;
    }
    // Only the asked bytes of a labelled body are used: drop what comes before them...
    std::size_t dropped = static_cast<std::size_t>(std::min<std::uint64_t>(n, t->skip));
    t->skip -= dropped;
    const std::uint8_t* body = data + dropped;
    std::size_t length = n - dropped;
    std::uint64_t received = t->done_bytes + t->block_pos;
    std::uint64_t wanted = t->attempt_end + 1 - (t->spec.offset + received);
    if (length > wanted) {
      // ...and stop after them.
      if (!t->wider) {
        Fail(t, {ErrorKind::kNetwork, t->url.redacted() + ": the server sent more bytes than asked for"}, true);
        return 0;
      }
      length = static_cast<std::size_t>(wanted);
      t->complete = true;
    }
    std::uint64_t room = t->credited_bytes - received;
    if (room == 0 && dropped == 0 && length > 0) {
      t->paused = true;
      return CURL_WRITEFUNC_PAUSE;
    }
    // What the credited slots take goes in now; the rest of the buffer waits here for the
    // next credit. (Refusing the whole buffer instead could wait forever: the reader may need
    // the very block this buffer completes before it credits more.)
    std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(length, room));
    Store(t, body, take);
    if (take < length) t->uncredited.assign(body + take, body + length);
    return t->complete ? 0 : n;   // 0 ends a wider body here (see Finish)
  }

  // Writes response bytes into the job's targets, in order, reporting each completed block.
  void Store(Transfer* t, const std::uint8_t* data, std::size_t n) {
    std::size_t used = 0;
    while (used < n) {
      const BlockTarget& target = t->spec.targets[t->block];
      std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(n - used, target.length - t->block_pos));
      StreamCopy(region_ + target.region_offset + t->block_pos, data + used, take);
      t->crc = integrity::Crc32c(t->crc, data + used, take);
      t->block_pos += take;
      used += take;
      if (t->block_pos == target.length) {
        reporter_.Block(t->spec.id, t->spec.first_index + t->block, t->crc, target.length);   // in batches
        t->done_bytes += target.length;
        ++t->block;
        t->block_pos = 0;
        t->block_pos_reported = 0;
        t->crc = 0;
      }
    }
    // Inside a large block: say how far it has come, so a response that stalls inside it
    // can be told from one that moves (Pool::RestartIfStalled).
    if (t->block_pos >= t->block_pos_reported + kPartialReportBytes) {
      reporter_.Partial(t->spec.id, t->block_pos);
      t->block_pos_reported = t->block_pos;
    }
  }
  static constexpr std::uint64_t kPartialReportBytes = 64 << 10;

  // After a credit: bytes waiting for it go in first; once none wait, the transfer resumes
  // (or, if its response had ended, finishes).
  void DrainUncredited(Transfer* t) {
    if (!t->uncredited.empty()) {
      std::uint64_t room = t->credited_bytes - (t->done_bytes + t->block_pos);
      std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(t->uncredited.size(), room));
      Store(t, t->uncredited.data(), take);
      t->uncredited.erase(t->uncredited.begin(), t->uncredited.begin() + static_cast<long>(take));
      if (!t->uncredited.empty()) return;
    }
    if (t->draining) {
      Finish(t, CURLE_OK);
    } else if (t->paused && t->in_multi) {
      t->paused = false;
      curl_easy_pause(t->easy.get(), CURLPAUSE_CONT);
    }
  }

  bool ReadControl() {
    for (;;) {
      bool closed = false;
      auto message = ReceiveMessage(control_fd_, &closed);
      if (closed) return false;
      if (!message) return true;
      try {
        const std::string type = MessageType(*message);
        if (type == "job") {
          AddJob(JobFromJson(*message));
        } else if (type == "credit") {
          Credit(MessageId(*message), CreditTargets(*message));
        } else if (type == "cancel") {
          Cancel(MessageId(*message));
        }
      } catch (const MalformedMessage& e) {
        LOG(Error) << "worker: malformed message from the supervisor: " << e.what();
        return false;
      }
    }
  }

  // Maps the targets' pages for writing in one call each, instead of a page fault per 4 KiB
  // page on first touch (a fresh cache region is all first touches). Pages stay mapped in
  // this process, so each is populated once: the call costs more than reused pages save.
  void Populate(const std::vector<BlockTarget>& targets) {
    for (const auto& t : targets) {
      std::uint64_t first = t.region_offset / 4096, last = (t.region_offset + t.length - 1) / 4096;
      if (populated_[first] && populated_[last]) continue;
      std::uint64_t start = first * 4096;
      madvise(region_ + start, (last + 1) * 4096 - start, MADV_POPULATE_WRITE);
      for (std::uint64_t page = first; page <= last; ++page) populated_[page] = true;
    }
  }

  bool TargetsValid(const std::vector<BlockTarget>& targets) const {
    for (const auto& t : targets) {
      if (t.length == 0 || t.region_offset > region_size_ || t.length > region_size_ - t.region_offset) return false;
    }
    return true;
  }

  void AddJob(JobSpec spec) {
    if (!TargetsValid(spec.targets) || spec.length == 0) {
      reporter_.Done(spec.id, Error{ErrorKind::kInternal, "worker: job outside the cache region"}, 0, false);
      return;
    }
    Populate(spec.targets);
    auto t = std::make_unique<Transfer>();
    t->url = http::SignedUrl(spec.url, spec.headers);
    t->loop = this;
    for (const auto& target : spec.targets) t->credited_bytes += target.length;
    if (spec.budget_ms > 0) t->deadline = Clock::now() + std::chrono::milliseconds(spec.budget_ms);
    t->spec = std::move(spec);
    t->next_attempt = Clock::now();
    std::uint64_t id = t->spec.id;
    transfers_[id] = std::move(t);
    StartAttempt(transfers_[id].get());
  }

  void Credit(std::uint64_t id, std::vector<BlockTarget> targets) {
    auto it = transfers_.find(id);
    if (it == transfers_.end() || !TargetsValid(targets)) return;
    Transfer* t = it->second.get();
    Populate(targets);
    for (const auto& target : targets) {
      t->spec.targets.push_back(target);
      t->credited_bytes += target.length;
    }
    DrainUncredited(t);
  }

  void Cancel(std::uint64_t id) {
    auto it = transfers_.find(id);
    if (it == transfers_.end()) return;
    Transfer* t = it->second.get();
    if (t->in_multi) curl_multi_remove_handle(multi_.get(), t->easy.get());
    reporter_.Cancelled(id, t->retries);
    transfers_.erase(it);
  }

  void StartAttempt(Transfer* t) {
    if (!t->easy) t->easy.reset(curl_easy_init());
    CURL* easy = t->easy.get();
    curl_easy_reset(easy);
    http::ApplyCommonOptions(easy, options_.transfer);
    curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
    t->attempt_start = t->spec.offset + t->done_bytes;
    t->attempt_end = t->spec.offset + t->spec.length - 1;
    t->block_pos = 0;
    t->block_pos_reported = 0;
    t->crc = 0;
    t->headers.Reset();
    t->checked = false;
    t->paused = false;
    t->uncredited.clear();
    t->draining = false;
    t->skip = 0;
    t->wider = false;
    t->complete = false;
    t->failure.reset();
    t->failure_retryable = false;
    t->error_body.clear();
    t->errbuf[0] = '\0';
    std::string range = std::to_string(t->attempt_start) + "-" + std::to_string(t->attempt_end);
    curl_easy_setopt(easy, CURLOPT_URL, t->spec.url.c_str());
    curl_easy_setopt(easy, CURLOPT_RANGE, range.c_str());
    std::vector<std::string> if_match;
    if (!t->spec.if_match.empty()) if_match.push_back("If-Match: " + t->spec.if_match);
    t->request_headers = http::HeaderList(t->spec.headers, if_match);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, t->request_headers.get());
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &Impl::OnHeader);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &Impl::OnBody);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, t);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, t->errbuf);
    // A job whose slots are all given can take large buffers; a streaming job is credited a
    // block at a time, and a buffer must fit in one credit (see Write).
    std::uint64_t credited_all = t->credited_bytes >= t->spec.length;
    long buffer = credited_all ? 256 * 1024
                               : static_cast<long>(std::clamp<std::uint64_t>(
                                     t->spec.targets.empty() ? 16384 : t->spec.targets[0].length, 16384, 256 * 1024));
    curl_easy_setopt(easy, CURLOPT_BUFFERSIZE, buffer);
    if (t->deadline != Clock::time_point::max()) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(t->deadline - Clock::now()).count();
      curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(std::max<long>(1, left)));
    }
    curl_multi_add_handle(multi_.get(), easy);
    t->in_multi = true;
  }

  void HandleCompletions() {
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_.get(), &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      Transfer* t = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &t);
      CURLcode rc = msg->data.result;
      curl_multi_remove_handle(multi_.get(), msg->easy_handle);
      t->in_multi = false;
      Finish(t, rc);
    }
  }

  void Finish(Transfer* t, CURLcode rc) {
    if (rc == CURLE_WRITE_ERROR && t->complete && !t->failure) rc = CURLE_OK;   // cut off on purpose
    if (rc == CURLE_OK && !t->failure && !t->uncredited.empty()) {
      t->draining = true;   // its last bytes go in with the next credit (DrainUncredited)
      return;
    }
    t->draining = false;
    std::optional<Error> error;
    bool retryable = false;
    std::optional<double> retry_after;
    int status = t->headers.status();
    if (t->failure) {
      error = t->failure;
      retryable = t->failure_retryable;
    } else if (rc == CURLE_OK && status != 200 && status != 206) {
      error = http::HttpError(status, t->error_body, t->url);
      retryable = http::RetryableStatus(status);
      retry_after = http::ParseRetryAfter(t->headers.Get("retry-after"));
    } else if (rc != CURLE_OK) {
      error = http::CurlError(rc, t->errbuf, t->url);
      retryable = http::RetryableCurlCode(rc);
      if (rc == CURLE_PARTIAL_FILE) {
        error->message = t->url.redacted() + ": the connection closed before the whole range arrived";
      }
    } else if (t->done_bytes != t->spec.length) {
      error = Error{ErrorKind::kNetwork, t->url.redacted() + ": short body: got " +
                                             std::to_string(t->done_bytes + t->block_pos) + " of " +
                                             std::to_string(t->spec.length) + " bytes"};
      retryable = true;
    }
    if (!error) {
      reporter_.Done(t->spec.id, std::nullopt, t->retries, t->ranges_ignored);
      transfers_.erase(t->spec.id);
      return;
    }
    if (retryable && t->retries + 1 < options_.retry.max_attempts) {
      double wait = options_.retry.Backoff(t->retries + 1, retry_after, rng_);
      auto next = Clock::now() + std::chrono::milliseconds(static_cast<long>(wait * 1000));
      if (next < t->deadline) {
        ++t->retries;
        t->next_attempt = next;
        LOG(Info) << error->message << "; retry " << t->retries << " in " << wait << " s";
        return;   // StartDueAttempts picks it up
      }
      error->message += " (no time left for another retry)";
      if (error->kind == ErrorKind::kNetwork && Clock::now() + std::chrono::seconds(1) >= t->deadline) {
        error->kind = ErrorKind::kTimeout;
      }
    } else if (retryable) {
      error->message += " (after " + std::to_string(t->retries + 1) + " attempts)";
    }
    reporter_.Done(t->spec.id, error, t->retries, t->ranges_ignored);
    transfers_.erase(t->spec.id);
  }

  void StartDueAttempts() {
    auto now = Clock::now();
    for (auto& [id, t] : transfers_) {
      if (!t->in_multi && !t->draining && t->next_attempt <= now) StartAttempt(t.get());
    }
  }

  int NextTimeoutMs() const {
    auto now = Clock::now();
    auto soonest = std::min(now + std::chrono::milliseconds(1000), reporter_.due());
    for (const auto& [id, t] : transfers_) {
      if (!t->in_multi && !t->draining && t->next_attempt < soonest) soonest = t->next_attempt;
    }
    // Rounded up: a timeout that ends a little early would spin until the moment comes.
    return static_cast<int>(std::max<long>(0, std::chrono::ceil<std::chrono::milliseconds>(soonest - now).count()));
  }

  int control_fd_;
  Reporter reporter_;
  std::uint8_t* region_;
  std::size_t region_size_;
  FetchLoopOptions options_;
  std::mt19937_64 rng_;
  http::CurlMulti multi_;
  std::map<std::uint64_t, std::unique_ptr<Transfer>> transfers_;
  std::vector<bool> populated_;   // pages of the region mapped here already (by 4 KiB page)
};

FetchLoop::FetchLoop(int control_fd, std::uint8_t* region, std::size_t region_size, FetchLoopOptions options)
    : impl_(std::make_unique<Impl>(control_fd, region, region_size, options)) {}
FetchLoop::~FetchLoop() = default;
int FetchLoop::Run() { return impl_->Run(); }

}  // namespace getmfs::worker
