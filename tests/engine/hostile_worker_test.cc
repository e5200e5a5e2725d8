// Hostile messages on the control socket: a worker (which parses the network's bytes) that
// sends the supervisor malformed reports is treated as gone, never crashes the supervisor;
// and a fetch loop given a malformed message by its supervisor stops cleanly.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <fstream>
#include <sstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/temp_dir.h"
#include "worker/fetch_loop.h"
#include "worker/pool.h"
#include "worker/protocol.h"
#include "worker/worker_link.h"

namespace getmfs::testing {
namespace {

// A stand-in for `getmfs __worker__`: reads its job, answers with MESSAGE (JOB replaced by
// the job's id), then waits for the pool to close the socket.
constexpr const char* kFakeWorker = R"(#!/usr/bin/env python3
import json, os, socket
s = socket.socket(fileno=3)
job = json.loads(s.recv(1 << 20))
s.send(os.environ["HOSTILE_MESSAGE"].replace("JOB", str(job["id"])).encode())
s.recv(1)
)";

class Observer : public worker::JobObserver {
 public:
  void OnBlock(std::uint64_t, std::uint64_t, std::uint32_t) override {
    std::scoped_lock lock(mu_);
    ++blocks_;
  }
  void OnDone(std::uint64_t, const worker::JobResult& result) override {
    std::scoped_lock lock(mu_);
    result_ = result;
    done_ = true;
    cv_.notify_all();
  }
  bool Wait(std::chrono::seconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return done_; });
  }
  worker::JobResult result() {
    std::scoped_lock lock(mu_);
    return result_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  int blocks_ = 0;
  worker::JobResult result_;
};

TEST(HostileWorkerTest, MalformedReportsEndTheJobWithAnErrorNotACrash) {
  TempDir dir("hostile-worker-");
  const std::string script = dir.Path("fake-worker");
  std::ofstream(script) << kFakeWorker;
  ASSERT_EQ(chmod(script.c_str(), 0755), 0);
  int cache = memfd_create("hostile-cache", MFD_CLOEXEC);
  ASSERT_GE(cache, 0);
  ASSERT_EQ(ftruncate(cache, 1 << 20), 0);
  for (const char* message : {
           R"({"t": 5})",                                    // "t" not a string
           R"([1, 2])",                                      // not an object
           R"({"t": "done", "id": "JOB"})",                  // id a string
           R"({"t": "done", "id": JOB, "ok": "yes"})",       // ok not a boolean
           R"({"t": "done", "id": JOB, "retries": 1e20})",   // past an int
           R"({"t": "blocks", "b": 7})",                     // b not a list
           R"({"t": "blocks", "b": [[JOB, 0]]})",            // no crc
           R"({"t": "blocks", "b": [[JOB, 0, 1e300]]})",     // crc not an integer
           R"({"t": "blocks", "b": [[JOB, 0, 4294967296]]})",   // crc past 32 bits
           R"({"t": "blocks", "b": [[JOB, 5, 0]]})",         // a block the job does not have
           R"({"t": "blocks", "b": [[JOB, 0, 0], [JOB, 0, 0]]})",   // a block twice
           R"({"t": "blocks", "b": [], "p": 3})",                   // p not a list
           R"({"t": "blocks", "b": [], "p": [[JOB, 65536]]})",      // a partial block as long as the block
           R"({"t": "blocks", "b": [], "p": [[JOB, -1]]})",         // a negative count
       }) {
    SCOPED_TRACE(message);
    ASSERT_EQ(setenv("HOSTILE_MESSAGE", message, 1), 0);
    worker::PoolOptions options;
    options.workers = 1;
    options.concurrency = 1;
    options.worker_path = script;
    options.cache_fd = cache;
    options.region_size = 1 << 20;
    auto pool = worker::Pool::Start(options);
    ASSERT_TRUE(pool.ok()) << pool.error().message;
    worker::JobSpec spec;
    spec.url = "http://127.0.0.1:9/x";
    spec.length = 2 * 65536;
    spec.object_size = 2 * 65536;
    spec.targets = {{0, 65536}, {65536, 65536}};
    Observer observer;
    (*pool)->Submit(spec, &observer);
    // The worker is restarted each time it misbehaves, until the pool gives up on it.
    ASSERT_TRUE(observer.Wait(std::chrono::seconds(30)));
    EXPECT_TRUE(observer.result().error.has_value());
    EXPECT_GE((*pool)->Stats().worker_restarts, 1u);
  }
  close(cache);
}

// `get` runs its workers below its own threads (FetchLoopOptions::nice): the nice value is
// the worker process's own from its start.
TEST(WorkerProcessTest, AWorkerStartsWithTheNiceValueItWasGiven) {
  int cache = memfd_create("nice-cache", MFD_CLOEXEC);
  ASSERT_GE(cache, 0);
  ASSERT_EQ(ftruncate(cache, 1 << 20), 0);
  worker::WorkerConfig config;
  config.worker_path = GETMFS_BINARY;
  config.cache_fd = cache;
  config.region_size = 1 << 20;
  config.fetch.nice = 7;
  auto link = worker::WorkerLink::Start(config);
  ASSERT_TRUE(link.ok()) << link.error().message;
  auto nice_of = [](pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::istringstream fields(stat.substr(stat.rfind(')') + 2));
    std::string field;
    for (int i = 3; i <= 19 && fields >> field; ++i) {}
    return std::stoi(field);   // field 19: nice
  };
  int mine = nice_of(getpid());
  int theirs = mine;
  for (int i = 0; i < 200 && theirs == mine; ++i) {   // until the worker has called nice()
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    theirs = nice_of((*link)->pid());
  }
  EXPECT_EQ(theirs, std::min(19, mine + 7));
  (*link)->Stop(SIGTERM);
  close(cache);
}

TEST(HostileWorkerTest, AFetchLoopStopsOnAMalformedMessage) {
  for (const char* message : {R"([1])", R"({"t": 1})", R"({"t": "cancel", "id": -1})", R"({"t": "credit", "id": 1})",
                              R"({"t": "job", "id": 1, "url": 5})"}) {
    SCOPED_TRACE(message);
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
    std::vector<std::uint8_t> region(1 << 16);
    worker::FetchLoop loop(sv[1], region.data(), region.size(), worker::FetchLoopOptions{});
    std::thread thread([&] { loop.Run(); });
    std::string text = message;
    ASSERT_EQ(send(sv[0], text.data(), text.size(), 0), static_cast<ssize_t>(text.size()));
    thread.join();   // returns: the loop treats its supervisor as gone
    close(sv[0]);
    close(sv[1]);
  }
}

}  // namespace
}  // namespace getmfs::testing
