// getm::urlopen / Reader / Chunk / iter_content over fetch::ObjectStream.
#include <getm/getm.hpp>

#include "fetch/engine.h"
#include "fetch/object_stream.h"
#include "http/probe.h"
#include "http/signed_url.h"
#include "integrity/checksum.h"

namespace getm {
namespace detail {

struct ChunkRef {
  std::shared_ptr<getmfs::fetch::Engine> engine;
  int slot = -1;
  ~ChunkRef() {
    if (slot >= 0) engine->cache().Unpin(slot);
  }
};

class ReaderState {
 public:
  std::shared_ptr<getmfs::fetch::Engine> engine;
  std::unique_ptr<getmfs::fetch::ObjectStream> stream;
  ObjectInfo info;

  Chunk Read(std::size_t n) {
    if (!stream) throw Error(ErrorKind::kBadInput, "read from a closed getm::Reader");
    auto piece = stream->Next(n == 0 ? 1 : n);
    if (!piece) getmfs::Throw(piece.error());
    Chunk chunk;
    chunk.offset_ = piece->offset;
    if (piece->size == 0) return chunk;
    chunk.ref_ = std::make_shared<ChunkRef>();
    chunk.ref_->engine = engine;
    chunk.ref_->slot = piece->slot;
    chunk.data_ = piece->data;
    chunk.size_ = piece->size;
    return chunk;
  }
};

}  // namespace detail

Chunk::Chunk(Chunk&& other) noexcept
    : ref_(std::move(other.ref_)), data_(other.data_), size_(other.size_), offset_(other.offset_) {
  other.data_ = nullptr;
  other.size_ = 0;
}

Chunk& Chunk::operator=(Chunk&& other) noexcept {
  if (this != &other) {
    ref_ = std::move(other.ref_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    offset_ = other.offset_;
  }
  return *this;
}

Chunk::~Chunk() = default;

void Chunk::release() {
  ref_.reset();
  data_ = nullptr;
  size_ = 0;
}

Reader::Reader(std::unique_ptr<detail::ReaderState> state) : state_(std::move(state)) {}
Reader::Reader(Reader&&) noexcept = default;
Reader& Reader::operator=(Reader&&) noexcept = default;
Reader::~Reader() = default;

Chunk Reader::read(std::size_t n) { return state_->Read(n); }
const ObjectInfo& Reader::info() const { return state_->info; }
std::uint64_t Reader::tell() const { return state_->stream ? state_->stream->position() : 0; }
bool Reader::verified() const { return state_->stream && state_->stream->verified(); }
void Reader::close() { state_->stream.reset(); }

Reader urlopen(const std::string& url, const Options& options) {
  using namespace getmfs;
  if (!http::IsHttpUrl(url)) {
    throw Error(ErrorKind::kBadInput, "\"" + http::RedactUrl(url) + "\" is not an http(s) URL");
  }
  std::optional<integrity::Expected> user_checksum;
  if (!options.checksum_algorithm.empty() || !options.checksum.empty()) {
    auto parsed = integrity::ParseUserChecksum(options.checksum_algorithm.empty() ? "md5" : options.checksum_algorithm,
                                               options.checksum, "getm::Options::checksum");
    if (!parsed) Throw(parsed.error());
    user_checksum = *parsed;
    user_checksum->s3_part_size = options.s3_part_size;
  }
  if (options.chunk_size == 0) throw Error(ErrorKind::kBadInput, "chunk_size must be positive");
  fetch::EngineOptions engine_options;
  engine_options.block_size = options.chunk_size;
  engine_options.cache_size = options.cache_size;
  engine_options.concurrency = options.concurrency;
  engine_options.workers = options.workers;
  engine_options.fetch.transfer.connect_timeout_ms = static_cast<long>(options.connect_timeout_seconds * 1000);
  engine_options.request_budget_seconds = options.timeout_seconds;
  engine_options.fetch.transfer.ca_bundle = options.ca_bundle;
  auto engine = fetch::Engine::Start(engine_options);
  if (!engine) Throw(engine.error());
  http::SignedUrl signed_url(url);
  auto probe = (*engine)->probe_options();
  probe.deadline_seconds = options.timeout_seconds;
  auto meta = http::Probe(signed_url, probe);
  if (!meta) Throw(meta.error());
  integrity::Expected expected = user_checksum ? *user_checksum : meta->checksum;
  auto state = std::make_unique<detail::ReaderState>();
  state->engine = *engine;
  state->info.size = meta->size;
  state->info.etag = meta->etag;
  state->info.filename = meta->filename.empty() ? http::UrlBasename(url) : meta->filename;
  if (expected.known()) {
    state->info.checksum_algorithm = integrity::AlgorithmName(expected.algorithm);
    state->info.checksum = expected.Display();
  }
  fetch::StreamOptions stream_options;
  stream_options.read_timeout_seconds = options.timeout_seconds;
  state->stream = std::make_unique<fetch::ObjectStream>(*engine, signed_url, *meta, expected, stream_options);
  return Reader(std::move(state));
}

ContentRange::iterator::iterator(Reader* reader, std::size_t n) : reader_(reader), n_(n) { ++*this; }

ContentRange::iterator& ContentRange::iterator::operator++() {
  current_ = reader_->read(n_);
  if (current_.empty()) reader_ = nullptr;   // the end (verified)
  return *this;
}

ContentRange::iterator ContentRange::begin() { return iterator(&reader_, n_); }

ContentRange iter_content(const std::string& url, const Options& options) {
  return ContentRange(urlopen(url, options), options.chunk_size);
}

}  // namespace getm

namespace getm {

const char* version() { return GETMFS_VERSION; }

}  // namespace getm
