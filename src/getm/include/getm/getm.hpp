// getm: fast reads with integrity for data URLs (the C++ library of getmfs).
//
//   auto fh = getm::urlopen(url, {.concurrency = 4});
//   getm::Chunk c = fh.read(1 << 20);        // a view into shared memory, no copy
//   consume(c.data(), c.size());
//   c.release();                             // or let it go out of scope
//
//   for (getm::Chunk part : getm::iter_content(url, {.chunk_size = 8 << 20}))
//     consume(part.data(), part.size());
//
// Concurrency modes, as in getm (Python):
//   std::nullopt  fetch in the calling process, no worker processes;
//   1             one worker process streams the object over one kept-alive GET;
//   N > 1         up to N range requests in flight across the worker processes.
//
// The whole object's checksum (from the server's headers or Options::checksum) is checked
// when the reader reaches the end: a mismatch throws getm::Error of kind kIntegrity instead
// of returning the final empty chunk.
#ifndef GETM_GETM_HPP_
#define GETM_GETM_HPP_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#define GETM_API __attribute__((visibility("default")))

namespace getm {

enum class ErrorKind {
  kIntegrity,   // checksum mismatch
  kExpired,     // the signed URL has expired: a fresh URL is needed
  kForbidden,   // 401/403 other than expiry
  kNotFound,    // 404/410
  kChanged,     // the object changed (or vanished) while being read
  kNetwork,     // connection errors, resets, 5xx after all retries
  kTimeout,     // a deadline passed
  kBadInput,    // malformed URL, checksum or option
  kIo,          // local I/O (disk full, permissions)
  kInternal,    // a bug or a worker that could not be started
};

GETM_API const char* ErrorKindName(ErrorKind kind);

// The library's version, e.g. "0.1.0".
GETM_API const char* version();

class GETM_API Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message, int http_status = 0)
      : std::runtime_error(message), kind_(kind), http_status_(http_status) {}
  ErrorKind kind() const { return kind_; }
  int http_status() const { return http_status_; }

 private:
  ErrorKind kind_;
  int http_status_;
};

struct Options {
  std::size_t chunk_size = 8 << 20;      // bytes per range request and per cache block
  std::optional<int> concurrency = 1;    // nullopt | 1 | N (see above)
  int workers = 0;                       // worker processes; 0 = number of CPUs (max concurrency)
  std::size_t cache_size = 0;            // bytes of shared memory; 0 = enough for the window
  // Expected checksum, overriding the server's: algorithm is one of
  // md5, sha256, crc32c, gs_crc32c, s3_etag, null ("null" disables verification).
  std::string checksum;
  std::string checksum_algorithm;
  std::size_t s3_part_size = 0;          // multipart layout for s3_etag; 0 = guess
  double timeout_seconds = 300;          // deadline for the whole object's transfers
  double connect_timeout_seconds = 15;
  // CA certificates (PEM file) to trust for https URLs, instead of the system's. TLS
  // verification is never turned off.
  std::string ca_bundle;
};

namespace detail {
class ReaderState;
struct ChunkRef;
}  // namespace detail

// A view into the shared-memory block cache. Valid until release() or destruction.
class GETM_API Chunk {
 public:
  Chunk() = default;
  Chunk(Chunk&&) noexcept;
  Chunk& operator=(Chunk&&) noexcept;
  Chunk(const Chunk&) = delete;
  Chunk& operator=(const Chunk&) = delete;
  ~Chunk();

  const unsigned char* data() const { return data_; }
  std::size_t size() const { return size_; }
  std::uint64_t offset() const { return offset_; }   // position in the object
  bool empty() const { return size_ == 0; }
  void release();

 private:
  friend class detail::ReaderState;
  std::shared_ptr<detail::ChunkRef> ref_;
  const unsigned char* data_ = nullptr;
  std::size_t size_ = 0;
  std::uint64_t offset_ = 0;
};

// What the probe learned about the object, and the verdict once read to the end.
struct ObjectInfo {
  std::uint64_t size = 0;
  std::string etag;
  std::string checksum_algorithm;   // empty when none is known (unverified)
  std::string checksum;             // expected value
  std::string filename;             // from Content-Disposition, or the URL's last segment
};

class GETM_API Reader {
 public:
  Reader(Reader&&) noexcept;
  Reader& operator=(Reader&&) noexcept;
  ~Reader();

  // At most n bytes, as a view into shared memory; size() == 0 at the end of the object
  // (after the checksum has been verified). Throws getm::Error.
  Chunk read(std::size_t n = SIZE_MAX);
  const ObjectInfo& info() const;
  std::uint64_t tell() const;
  bool verified() const;   // true once the end was reached with a matching checksum
  void close();

 private:
  friend Reader urlopen(const std::string&, const Options&);
  explicit Reader(std::unique_ptr<detail::ReaderState> state);
  std::unique_ptr<detail::ReaderState> state_;
};

GETM_API Reader urlopen(const std::string& url, const Options& options = {});

// A range of Chunks of at most options.chunk_size bytes each, in order.
class GETM_API ContentRange {
 public:
  class GETM_API iterator {
   public:
    using value_type = Chunk;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    Chunk& operator*() { return current_; }
    iterator& operator++();
    bool operator==(const iterator& other) const { return reader_ == other.reader_; }
    bool operator!=(const iterator& other) const { return !(*this == other); }

   private:
    friend class ContentRange;
    explicit iterator(Reader* reader, std::size_t n);
    Reader* reader_ = nullptr;
    std::size_t n_ = 0;
    Chunk current_;
  };
  iterator begin();
  iterator end() { return iterator(); }
  Reader& reader() { return reader_; }

 private:
  friend ContentRange iter_content(const std::string&, const Options&);
  ContentRange(Reader reader, std::size_t n) : reader_(std::move(reader)), n_(n) {}
  Reader reader_;
  std::size_t n_;
};

GETM_API ContentRange iter_content(const std::string& url, const Options& options = {});

}  // namespace getm

#endif  // GETM_GETM_HPP_
