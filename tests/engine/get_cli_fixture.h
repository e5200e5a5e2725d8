// What the `getmfs get` / `getm` end-to-end tests share: expected checksums computed
// independently of the product, helpers for files and output, running the CLI, and the
// GetCliBase fixture (one test origin per suite).
#ifndef GETMFS_TESTS_ENGINE_GET_CLI_FIXTURE_H_
#define GETMFS_TESTS_ENGINE_GET_CLI_FIXTURE_H_

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/nginx.h"
#include "support/origin.h"
#include "support/process.h"
#include "support/temp_dir.h"

// Unnamed, as in get_cli_test.cc before the split: each test file keeps its own copy (so
// nothing here can clash with a same-named helper elsewhere in engine_tests, e.g. Contains()).
namespace getmfs::testing {
namespace {

namespace stdfs = std::filesystem;
using nlohmann::json;

inline constexpr std::uint64_t kMiB = 1 << 20;
inline constexpr std::uint64_t kDataSize = 3 * kMiB + 12345;  // a few 1 MiB chunks and a partial one
inline const char* const kChunk = "1048576";  // --chunk-size (see GetCliArguments.SizeSuffixes)
inline const char* const kGetmfs = GETMFS_BINARY;
inline const std::string kGetm = std::string(GETMFS_BUILD_DIR) + "/getm";

// ---- expected checksums, computed here independently of the product ----

inline std::string Hex(const unsigned char* p, std::size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    out += digits[p[i] >> 4];
    out += digits[p[i] & 15];
  }
  return out;
}

inline std::string Digest(const EVP_MD* md, std::string_view data, bool hex = true) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), out, &n, md, nullptr);
  return hex ? Hex(out, n) : std::string(reinterpret_cast<char*>(out), n);
}

inline std::string Sha256Hex(std::string_view data) { return Digest(EVP_sha256(), data); }
inline std::string Md5Binary(std::string_view data) { return Digest(EVP_md5(), data, false); }

inline std::uint32_t Crc32c(std::string_view data) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char c : data) {
    crc ^= c;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
  }
  return ~crc;
}

inline std::string Crc32cHex(std::string_view data) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08x", Crc32c(data));
  return buf;
}

inline std::string Base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

inline std::string GsCrc32cBase64(std::string_view data) {
  std::uint32_t crc = Crc32c(data);
  char be[4] = {static_cast<char>(crc >> 24), static_cast<char>(crc >> 16), static_cast<char>(crc >> 8),
                static_cast<char>(crc)};
  return Base64(std::string_view(be, 4));
}

inline std::string MultipartEtag(std::string_view data, std::size_t part) {
  std::string digests;
  std::size_t parts = 0;
  for (std::size_t off = 0; off < data.size() || parts == 0; off += part) {
    digests += Md5Binary(data.substr(off, std::min(part, data.size() - off)));
    ++parts;
  }
  return Md5Hex(digests) + "-" + std::to_string(parts);
}

// ---- files and output ----

// Every entry under dir (recursively), as relative paths, sorted.
inline std::vector<std::string> ListTree(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = stdfs::recursive_directory_iterator(dir, ec); !ec && it != stdfs::recursive_directory_iterator();
       it.increment(ec)) {
    out.push_back(stdfs::relative(it->path(), dir).string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

inline std::string Joined(const std::vector<std::string>& v) {
  std::string s = "[";
  for (const auto& e : v) s += (s.size() > 1 ? ", " : "") + e;
  return s + "]";
}

inline std::size_t Count(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = haystack.find(needle); pos != std::string::npos; pos = haystack.find(needle, pos + 1)) ++n;
  return n;
}

inline bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

inline std::string Describe(const RunResult& r) {
  return "exit " + std::to_string(r.exit_code) + (r.timed_out ? " (timed out)" : "") + "\n--- stdout:\n" + r.out +
         "\n--- stderr:\n" + r.err;
}

inline mode_t ModeOf(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

// A TCP port on 127.0.0.1 on which nothing listens.
inline int ClosedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

// Runs a program with the worker executable set, the way CTest runs the tests.
inline RunResult RunCli(std::vector<std::string> argv, double timeout = 60) {
  return RunProgram(argv, {std::string("GETMFS_WORKER=") + kGetmfs}, timeout);
}

// ---- the fixture: one origin for the whole suite ----

class GetCliBase : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    data_dir_ = new TempDir("getcli-data-");
    WriteRandomFile(data_dir_->Path("data.bin"), kDataSize, 11);
    WriteRandomFile(data_dir_->Path("small.bin"), 1000, 12);
    WriteRandomFile(data_dir_->Path("one.bin"), 1, 13);
    WriteFile(data_dir_->Path("empty.bin"), "");
    WriteRandomFile(data_dir_->Path("dir/other name.bin"), 70000, 14);
    data_ = new std::string(ReadFile(data_dir_->Path("data.bin")));
    small_ = new std::string(ReadFile(data_dir_->Path("small.bin")));
    origin_ = Origin::Start(data_dir_->path()).release();
  }
  static void TearDownTestSuite() {
    delete origin_;
    delete data_;
    delete small_;
    delete data_dir_;
    origin_ = nullptr;
  }
  void SetUp() override {
    origin_->Reset();
    out_ = std::make_unique<TempDir>("getcli-out-");
  }

  // getmfs get ARGS (workers limited: the machine is shared).
  static RunResult Get(std::vector<std::string> args, double timeout = 60) {
    std::vector<std::string> argv = {kGetmfs, "get"};
    argv.insert(argv.end(), args.begin(), args.end());
    if (std::find(args.begin(), args.end(), "--workers") == args.end()) {
      argv.push_back("--workers");
      argv.push_back("2");
    }
    return RunCli(argv, timeout);
  }

  std::string Out(const std::string& relative) const { return out_->Path(relative); }

  // Nothing at all in the output directory (no target, no .NAME.getmfs-XXXXXX), except `keep`.
  void ExpectOutputHolds(const std::vector<std::string>& keep) const {
    std::vector<std::string> want = keep;
    std::sort(want.begin(), want.end());
    EXPECT_EQ(ListTree(out_->path()), want) << "files left in the destination directory";
  }

  static std::string Url(const std::string& path) { return origin_->Url(path); }
  static int Requests() { return origin_->Stats().value("requests", -1); }

  inline static TempDir* data_dir_ = nullptr;
  inline static Origin* origin_ = nullptr;
  inline static std::string* data_ = nullptr;
  inline static std::string* small_ = nullptr;
  std::unique_ptr<TempDir> out_;
};

}  // namespace
}  // namespace getmfs::testing

#endif  // GETMFS_TESTS_ENGINE_GET_CLI_FIXTURE_H_
