// What the supervisor and a fetch loop (a worker process, or a thread in the calling process
// in the no-worker mode) say to each other, one JSON object per SOCK_SEQPACKET message.
//
//   supervisor -> loop:  job     {id, url, headers, offset, length, size, if_match, first, targets, budget_ms}
//                        credit  {id, targets}      more cache slots for a streaming job
//                        cancel  {id}
//   loop -> supervisor:  blocks  {b: [[id, index, crc], ...]}  blocks complete in their targets
//                        done    {id, ok, kind, msg, http, retries, ranges_ignored}
//
// A job's bytes [offset, offset+length) of the object go, in order, into the targets: slices
// of the shared cache region, one per block. The supervisor owns a target's slot again only
// after the loop has reported that block, or the whole job as done (or the worker died).
#ifndef GETMFS_WORKER_PROTOCOL_H_
#define GETMFS_WORKER_PROTOCOL_H_

#include <nlohmann/json.hpp>

#include <cstdint>
#include <deque>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "util/error.h"

namespace getmfs::worker {

struct BlockTarget {
  std::uint64_t region_offset = 0;   // where in the shared region
  std::uint64_t length = 0;          // bytes of this block
};

struct JobSpec {
  std::uint64_t id = 0;
  std::string url;
  std::vector<std::string> headers;  // the URL's request headers (SignedUrl::headers)
  std::uint64_t offset = 0;          // object offset of targets[0]
  std::uint64_t length = 0;          // bytes of the whole job (all targets, credited or not)
  std::uint64_t object_size = 0;     // for Content-Range checks
  std::string if_match;              // the probed ETag; empty: none known
  std::uint64_t first_index = 0;     // reported block indices start here
  std::vector<BlockTarget> targets;  // credited so far (a streaming job gets more later)
  std::int64_t budget_ms = 300000;   // time for the job, retries included
};

// A message that is not what the protocol says (a member missing or of the wrong type, a
// number out of range). Every decoder below throws only this; its caller treats the peer
// that sent it as broken.
struct MalformedMessage : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A block report and a job's end, as the supervisor reads them from "blocks" and "done".
struct BlockReport {
  std::uint64_t job = 0, index = 0;
  std::uint32_t crc = 0;
};
struct DoneReport {
  std::uint64_t id = 0;
  bool ok = false;
  bool cancelled = false;
  std::string kind = "internal";   // getm::ErrorKindName when !ok
  std::string msg = "transfer failed";
  int http = 0;
  int retries = 0;
  bool ranges_ignored = false;
};

nlohmann::json ToJson(const JobSpec& spec);
JobSpec JobFromJson(const nlohmann::json& j);
nlohmann::json TargetsToJson(const std::vector<BlockTarget>& targets);
std::vector<BlockTarget> TargetsFromJson(const nlohmann::json& j);
// The message's "t": "" when it has none.
std::string MessageType(const nlohmann::json& message);
std::vector<BlockReport> BlocksFromJson(const nlohmann::json& message);
// The optional "p" of a blocks message: (job, bytes of its next block so far), after the
// message's finished blocks.
struct PartialReport {
  std::uint64_t job = 0, bytes = 0;
};
std::vector<PartialReport> PartialsFromJson(const nlohmann::json& message);
DoneReport DoneFromJson(const nlohmann::json& message);
// The "id" of a credit or cancel message, and the "targets" of a credit.
std::uint64_t MessageId(const nlohmann::json& message);
std::vector<BlockTarget> CreditTargets(const nlohmann::json& message);

// Messages waiting to go out on a non-blocking SOCK_SEQPACKET socket, in order. Sending
// never blocks: what the socket does not take now waits here, and the caller's loop calls
// Flush when poll says the socket is writable. (A blocking send could wait forever, with the
// pool's lock held, for a peer itself blocked sending the other way.)
class MessageOutbox {
 public:
  // Queues the message and sends what the socket takes now. False when the peer is gone.
  bool Send(int fd, const nlohmann::json& message);
  // Sends what waits, as far as the socket takes it. False when the peer is gone.
  bool Flush(int fd);
  bool empty() const { return queue_.empty(); }
  std::size_t size() const { return queue_.size(); }

 private:
  std::deque<std::string> queue_;
};
// Receives one message without blocking: nullopt when none is waiting; sets *closed on EOF
// or error.
std::optional<nlohmann::json> ReceiveMessage(int fd, bool* closed);

}  // namespace getmfs::worker

#endif  // GETMFS_WORKER_PROTOCOL_H_
