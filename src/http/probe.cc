// The probe: GET bytes=0-0 for an object's size, ETag and checksums (probe.h).
#include "http/probe.h"

#include <sys/socket.h>

#include <chrono>
#include <random>
#include <thread>

#include "util/log.h"

namespace getmfs::http {
namespace {

struct ProbeState {
  HeaderCollector headers;
  std::string body;          // error bodies (first 4 KiB), for "expired" detection
  std::size_t partial_bytes = 0;   // of a 206 body
  bool cut_off = false;      // we stopped a 200, or a 206 wider than 0-0, after its headers
};

std::size_t OnHeader(char* data, std::size_t size, std::size_t n, void* user) {
  static_cast<ProbeState*>(user)->headers.Feed(data, size * n);
  return size * n;
}

std::size_t OnBody(char* data, std::size_t size, std::size_t n, void* user) {
  auto* state = static_cast<ProbeState*>(user);
  if (state->headers.status() == 200) {
    state->cut_off = true;   // the range was ignored: do not download the object
    return 0;
  }
  if (state->headers.status() == 206) {
    state->partial_bytes += size * n;
    if (state->partial_bytes > 1) {
      state->cut_off = true;   // a wider label than bytes=0-0: the headers say all we need
      return 0;
    }
    return size * n;
  }
  if (state->body.size() < 4096) state->body.append(data, std::min<std::size_t>(size * n, 4096));
  return size * n;
}

int SmallReceiveBuffer(void*, curl_socket_t fd, curlsocktype) {
  int size = 64 * 1024;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  return CURL_SOCKOPT_OK;
}

}  // namespace

Result<ObjectMeta> MetaFromProbeResponse(int status, const HeaderMap& headers, const SignedUrl& url,
                                         bool asked_range) {
  auto get = [&](const char* name) {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  };
  ObjectMeta meta;
  if (status == 206) {
    auto cr = ParseContentRange(get("content-range"));
    // Some servers label more than the byte asked for (up to the whole object): the label
    // still says which bytes the body holds, and the total is the size.
    if (!cr || !cr->total || !cr->first || *cr->first != 0 || *cr->last >= *cr->total) {
      return Error{ErrorKind::kNetwork, url.redacted() + ": the server answered the probe (bytes=0-0) with Content-Range \"" +
                                            get("content-range") + "\""};
    }
    meta.size = *cr->total;
  } else if (status == 200) {
    std::string length = get("content-length");
    char* end = nullptr;
    unsigned long long n = std::strtoull(length.c_str(), &end, 10);
    if (length.empty() || *end != '\0') {
      return Error{ErrorKind::kNetwork, url.redacted() +
                                            ": the server ignores byte ranges and sends no Content-Length; "
                                            "its size cannot be known"};
    }
    meta.size = n;
    meta.ranges = !asked_range;
  } else if (status == 416) {
    auto cr = ParseContentRange(get("content-range"));
    if (!cr || !cr->total || *cr->total != 0) {
      return Error{ErrorKind::kNetwork, url.redacted() + ": the server refused the probe range (HTTP 416)"};
    }
    meta.size = 0;   // an empty object has no byte 0
  } else {
    return Error{ErrorKind::kNetwork, url.redacted() + ": unexpected HTTP " + std::to_string(status)};
  }
  meta.etag = get("etag");
  if (meta.etag.rfind("W/", 0) == 0) meta.etag.clear();   // weak: useless for If-Match
  meta.from_s3 = FromS3(headers);
  meta.filename = ContentDispositionFilename(get("content-disposition"));
  meta.checksum = integrity::ChooseFromHeaders(headers);
  return meta;
}

namespace {

// One probe request: a GET of the first byte (or of everything when ask_range is false, cut
// off after the headers), with the URL's headers, until the deadline.
void SetUpAttempt(CURL* easy, const SignedUrl& url, const ProbeOptions& options, bool ask_range, curl_slist* headers,
                  ProbeState* state, char* errbuf, std::chrono::steady_clock::time_point deadline) {
  curl_easy_reset(easy);
  ApplyCommonOptions(easy, options.transfer);
  curl_easy_setopt(easy, CURLOPT_URL, url.full().c_str());
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
  if (ask_range) curl_easy_setopt(easy, CURLOPT_RANGE, "0-0");
  // A small receive window: what a server that ignores the range pushes before we hang up
  // stays small.
  curl_easy_setopt(easy, CURLOPT_SOCKOPTFUNCTION, &SmallReceiveBuffer);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, state);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, state);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf);
  auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, std::max<long>(1, remaining.count()));
}

}  // namespace

Result<ObjectMeta> Probe(const SignedUrl& url, const ProbeOptions& options) {
  EnsureCurlInitialized();
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(static_cast<long>(options.deadline_seconds * 1000));
  std::mt19937_64 rng(std::random_device{}());
  CurlEasy easy(curl_easy_init());
  if (!easy) return Error{ErrorKind::kInternal, "curl_easy_init failed"};
  Error last{ErrorKind::kNetwork, url.redacted() + ": no attempt made"};
  bool ask_range = true;
  for (int attempt = 0; attempt < options.retry.max_attempts; ++attempt) {
    ProbeState state;
    char errbuf[CURL_ERROR_SIZE] = {0};
    CurlSlist request_headers = HeaderList(url.headers());
    SetUpAttempt(easy.get(), url, options, ask_range, request_headers.get(), &state, errbuf, deadline);
    CURLcode rc = curl_easy_perform(easy.get());
    std::optional<double> retry_after;
    bool retry = false;
    if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && state.cut_off)) {
      int status = state.headers.status();
      if (status == 416 && ask_range && !ParseContentRange(state.headers.Get("content-range"))) {
        // S3 and GCS answer a range on an empty object with 416 and no Content-Range: ask
        // again without a range (cut off after the headers as above).
        ask_range = false;
        --attempt;
        continue;
      }
      if (status == 200 || status == 206 || status == 416) {
        return MetaFromProbeResponse(status, state.headers.headers(), url, ask_range);
      }
      last = HttpError(status, state.body, url);
      retry = RetryableStatus(status);
      retry_after = ParseRetryAfter(state.headers.Get("retry-after"));
    } else {
      last = CurlError(rc, errbuf, url);
      retry = RetryableCurlCode(rc);
    }
    if (!retry) return last;
    double wait = options.retry.Backoff(attempt + 1, retry_after, rng);
    auto next = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<long>(wait * 1000));
    if (next >= deadline) break;
    LOG(Info) << "probe of " << url << " failed (" << last.message << "); retrying in " << wait << " s";
    std::this_thread::sleep_until(next);
  }
  if (std::chrono::steady_clock::now() >= deadline && last.kind == ErrorKind::kNetwork) {
    last.message += " (gave up at the deadline)";
  }
  return last;
}

}  // namespace getmfs::http
