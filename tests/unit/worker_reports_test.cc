// A worker's reports to the pool: finished blocks in batches, and with them how far each job's
// unfinished block has come (the pool's stall check for blocks larger than a few packets).
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

#include "worker/protocol.h"
#include "worker/reports.h"

namespace getmfs::worker {
namespace {

class ReporterTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, fds_), 0); }
  void TearDown() override {
    close(fds_[0]);
    close(fds_[1]);
  }
  // Flushes what is due (as the fetch loop does once the batch's delay has passed) and
  // reads the one message it sent.
  nlohmann::json SendDue(Reporter& reporter) {
    reporter.FlushIfDue(std::chrono::steady_clock::now() + std::chrono::seconds(1));
    EXPECT_TRUE(reporter.Flush());
    char buffer[65536];
    ssize_t n = recv(fds_[1], buffer, sizeof buffer, MSG_DONTWAIT);
    EXPECT_GT(n, 0);
    return nlohmann::json::parse(buffer, buffer + std::max<ssize_t>(n, 0), nullptr, false);
  }
  int fds_[2] = {-1, -1};
};

TEST_F(ReporterTest, PartialCountsGoWithTheBatchLatestPerJob) {
  Reporter reporter(fds_[0]);
  EXPECT_EQ(reporter.due(), Reporter::Clock::time_point::max());
  reporter.Partial(7, 65536);
  EXPECT_NE(reporter.due(), Reporter::Clock::time_point::max()) << "a partial count alone makes a batch due";
  reporter.Partial(7, 131072);
  reporter.Block(8, 3, 0xabcu, 4096);
  nlohmann::json message = SendDue(reporter);
  ASSERT_EQ(MessageType(message), "blocks") << message.dump();
  auto blocks = BlocksFromJson(message);
  ASSERT_EQ(blocks.size(), 1u);
  EXPECT_EQ(blocks[0].job, 8u);
  EXPECT_EQ(blocks[0].index, 3u);
  EXPECT_EQ(blocks[0].crc, 0xabcu);
  auto partials = PartialsFromJson(message);
  ASSERT_EQ(partials.size(), 1u) << message.dump();
  EXPECT_EQ(partials[0].job, 7u);
  EXPECT_EQ(partials[0].bytes, 131072u);
}

TEST_F(ReporterTest, AFinishedBlockDropsWhatWasSaidOfItWhileItArrived) {
  Reporter reporter(fds_[0]);
  reporter.Partial(9, 70000);
  reporter.Block(9, 0, 1, 1 << 20);
  nlohmann::json message = SendDue(reporter);
  EXPECT_EQ(BlocksFromJson(message).size(), 1u);
  EXPECT_TRUE(PartialsFromJson(message).empty()) << message.dump();
  EXPECT_FALSE(message.contains("p")) << message.dump();
}

TEST(WorkerProtocol, PartialsAreOptionalAndCheckedWhenThere) {
  EXPECT_TRUE(PartialsFromJson(nlohmann::json{{"t", "blocks"}, {"b", nlohmann::json::array()}}).empty());
  auto two = PartialsFromJson(nlohmann::json::parse(R"({"t":"blocks","b":[],"p":[[1,65536],[2,131072]]})"));
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[1].job, 2u);
  EXPECT_EQ(two[1].bytes, 131072u);
  EXPECT_THROW(PartialsFromJson(nlohmann::json::parse(R"({"t":"blocks","b":[],"p":7})")), MalformedMessage);
  EXPECT_THROW(PartialsFromJson(nlohmann::json::parse(R"({"t":"blocks","b":[],"p":[[1]]})")), MalformedMessage);
  EXPECT_THROW(PartialsFromJson(nlohmann::json::parse(R"({"t":"blocks","b":[],"p":[[1,-5]]})")), MalformedMessage);
}

}  // namespace
}  // namespace getmfs::worker
