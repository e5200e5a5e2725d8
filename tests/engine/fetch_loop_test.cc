// The fetch loop (a worker's core) driven directly over its control socket, against the test
// origin: what it does with a streaming job's credits.
#include "worker/fetch_loop.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "support/origin.h"
#include "support/temp_dir.h"
#include "worker/protocol.h"

namespace getmfs::testing {
namespace {

// A fetch loop in a thread, with a region of its own, reached over a socket pair.
class LoopHarness {
 public:
  explicit LoopHarness(std::size_t region_size) : region_(region_size) {
    int sv[2];
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
    ours_ = sv[0];
    theirs_ = sv[1];
    loop_ = std::make_unique<worker::FetchLoop>(theirs_, region_.data(), region_.size(), worker::FetchLoopOptions{});
    thread_ = std::thread([this] { loop_->Run(); });
  }
  ~LoopHarness() {
    ::shutdown(ours_, SHUT_RDWR);
    thread_.join();
    ::close(ours_);
    ::close(theirs_);
  }
  void Send(const nlohmann::json& message) { ASSERT_TRUE(outbox_.Send(ours_, message) && outbox_.empty()); }
  // The next message, or a null json after the timeout.
  nlohmann::json Receive(double seconds) {
    pollfd p{ours_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(seconds * 1000)) <= 0) return nullptr;
    bool closed = false;
    auto message = worker::ReceiveMessage(ours_, &closed);
    return message ? *message : nlohmann::json(nullptr);
  }
  const std::uint8_t* region() const { return region_.data(); }

 private:
  std::vector<std::uint8_t> region_;
  worker::MessageOutbox outbox_;
  int ours_ = -1, theirs_ = -1;
  std::unique_ptr<worker::FetchLoop> loop_;
  std::thread thread_;
};

TEST(FetchLoopTest, AStreamCreditedLessThanABufferStillDeliversTheCreditedBlock) {
  TempDir dir("fetch-loop-");
  constexpr std::size_t kSize = 1 << 20;
  WriteRandomFile(dir.Path("obj.bin"), kSize, 7);
  auto origin = Origin::Start(dir.path());
  // Blocks of 10000 bytes: smaller than libcurl's buffers, so a buffer always straddles the
  // end of what was credited. The one block credited must arrive all the same, without more
  // credit (a reader waiting for it would credit nothing more).
  constexpr std::uint64_t kBlock = 10000;
  LoopHarness loop(4 * kBlock);
  worker::JobSpec spec;
  spec.id = 1;
  spec.url = origin->Url("/obj.bin");
  spec.offset = 0;
  spec.length = kSize;
  spec.object_size = kSize;
  spec.targets = {{0, kBlock}};
  spec.budget_ms = 0;
  loop.Send(worker::ToJson(spec));
  std::string expected = RandomBytes(kSize, 7);
  std::vector<std::uint64_t> arrived;
  for (auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
       arrived.empty() && std::chrono::steady_clock::now() < deadline;) {
    auto message = loop.Receive(1);
    if (message.is_null() || message.value("t", "") != "blocks") continue;
    for (const auto& b : message.at("b")) arrived.push_back(b.at(1).get<std::uint64_t>());
  }
  ASSERT_EQ(arrived, std::vector<std::uint64_t>{0});
  EXPECT_EQ(std::memcmp(loop.region(), expected.data(), kBlock), 0);
  // The rest, credited a block at a time into the other slots, arrives in order and intact.
  std::uint64_t next = 1;
  std::uint64_t blocks = (kSize + kBlock - 1) / kBlock;
  for (; next < blocks; ++next) {
    std::uint64_t length = std::min<std::uint64_t>(kBlock, kSize - next * kBlock);
    std::uint64_t slot = next % 4;
    loop.Send({{"t", "credit"}, {"id", 1}, {"targets", worker::TargetsToJson({{slot * kBlock, length}})}});
    bool got = false;
    while (!got) {
      auto message = loop.Receive(10);
      ASSERT_FALSE(message.is_null()) << "no report for block " << next;
      if (message.value("t", "") != "blocks") continue;
      for (const auto& b : message.at("b")) got |= b.at(1).get<std::uint64_t>() == next;
    }
    ASSERT_EQ(std::memcmp(loop.region() + slot * kBlock, expected.data() + next * kBlock, length), 0) << next;
  }
  auto done = loop.Receive(10);
  ASSERT_FALSE(done.is_null());
  EXPECT_EQ(done.value("t", ""), "done");
  EXPECT_TRUE(done.value("ok", false)) << done.dump();
}

TEST(MessageOutboxTest, SendingNeverBlocksAndEverythingArrivesInOrder) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
  int small = 4096;
  setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  worker::MessageOutbox outbox;
  // Nobody reads: far more than the socket holds. Each Send returns at once.
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 2000; ++i) {
    ASSERT_TRUE(outbox.Send(sv[0], {{"t", "blocks"}, {"n", i}, {"pad", std::string(200, 'x')}}));
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_GT(outbox.size(), 0u) << "the socket took everything: the test proves nothing";
  int next = 0;
  for (int spins = 0; next < 2000 && spins < 100000; ++spins) {
    bool closed = false;
    while (auto m = worker::ReceiveMessage(sv[1], &closed)) ASSERT_EQ(m->at("n").get<int>(), next++);
    ASSERT_FALSE(closed);
    ASSERT_TRUE(outbox.Flush(sv[0]));
  }
  EXPECT_EQ(next, 2000);
  EXPECT_TRUE(outbox.empty());
  // A peer gone: Send says so instead of blocking or raising SIGPIPE.
  ::close(sv[1]);
  EXPECT_FALSE(outbox.Send(sv[0], {{"t", "x"}}));
  ::close(sv[0]);
}

}  // namespace
}  // namespace getmfs::testing
