// Hostile control messages, decoded as the pool and the fetch loop decode them: the bytes
// are parsed as ReceiveMessage parses one SOCK_SEQPACKET message, then given to every
// decoder. A decoder may only throw MalformedMessage (its callers' catch); anything else
// escaping, or undefined behaviour, is a crash here.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "worker/protocol.h"

namespace {

using namespace getmfs::worker;

template <class F>
void Decode(F decode) {
  try {
    decode();
  } catch (const MalformedMessage&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto* text = reinterpret_cast<const char*>(data);
  auto message = nlohmann::json::parse(text, text + size, nullptr, false);
  if (message.is_discarded()) return 0;   // ReceiveMessage: the peer is treated as gone
  Decode([&] { (void)MessageType(message); });
  Decode([&] { (void)MessageId(message); });
  Decode([&] { (void)CreditTargets(message); });
  Decode([&] { (void)TargetsFromJson(message); });
  Decode([&] { (void)BlocksFromJson(message); });
  Decode([&] { (void)PartialsFromJson(message); });
  Decode([&] { (void)DoneFromJson(message); });
  Decode([&] {
    JobSpec spec = JobFromJson(message);
    // What the pool sends is what the loop reads back.
    JobSpec again = JobFromJson(ToJson(spec));
    if (again.id != spec.id || again.url != spec.url || again.targets.size() != spec.targets.size() ||
        again.budget_ms != spec.budget_ms) {
      std::fprintf(stderr, "a job does not survive ToJson/JobFromJson\n");
      std::abort();
    }
  });
  return 0;
}
