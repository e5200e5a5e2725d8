// `getm` as a drop-in for getm's own CLI, run the way Cromwell's DRS localizer runs it:
// `bash -c "getm --manifest getm-manifest.json"` in the task's directory, stderr joined into
// one line and classified with Cromwell's regexes. Success must leave stderr empty (Cromwell
// takes any output as a failure to retry); a mismatch, a 4xx and a 5xx must each be
// classified as Cromwell expects, with no signature anywhere.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "support/origin.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace getmfs::testing {
namespace {

namespace stdfs = std::filesystem;
using nlohmann::json;

const std::regex kChecksumFailure(R"(.*AssertionError: Checksum failed!.*)");
const std::regex kHttpStatus(R"(ERROR:getm\.cli.*"status_code":\s*(\d+).*)");

bool Contains(const std::string& haystack, const std::string& needle) { return haystack.find(needle) != std::string::npos; }

// What Cromwell's BulkAccessUrlDownloader makes of a getm run.
std::string Classify(const RunResult& r) {
  std::string joined = r.err;
  std::erase(joined, '\n');
  while (!joined.empty() && joined.back() == ' ') joined.pop_back();
  if (r.exit_code == 0) {
    if (joined.empty()) return "success";
    return std::regex_match(joined, kChecksumFailure) ? "checksum failure" : "unrecognized retryable";
  }
  std::smatch m;
  if (!std::regex_match(joined, m, kHttpStatus)) return "unrecognized retryable";
  int status = std::stoi(m[1]);
  if (status == 408 || status == 429 || status / 100 == 5) return "retryable " + std::to_string(status);
  if (status / 100 == 4) return "fatal " + std::to_string(status);
  return "unrecognized retryable";
}

std::string Describe(const RunResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\n--- stdout:\n" + r.out + "\n--- stderr:\n" + r.err;
}

class GetmCli : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = std::make_unique<TempDir>("getm-cli-data-");
    WriteRandomFile(data_->Path("a.bam"), 3 * (1 << 20) + 7, 21);
    WriteRandomFile(data_->Path("b.bai"), 5000, 22);
    origin_ = Origin::Start(data_->path());
    work_ = std::make_unique<TempDir>("getm-cli-work-");
    stdfs::create_directories(work_->Path("task"));
    stdfs::create_directories(work_->Path("home"));
  }

  std::string Md5Of(const std::string& name) {
    RunResult r = RunProgram({"md5sum", data_->Path(name)});
    return r.out.substr(0, 32);
  }

  // Cromwell's command, in the task directory, with getm found on PATH.
  RunResult Getm(const std::string& arguments) {
    std::string script = "cd '" + work_->Path("task") + "' && getm " + arguments;
    return RunProgram({"bash", "-c", script},
                      {"PATH=" + std::string(GETMFS_BUILD_DIR) + ":/usr/bin:/bin", "HOME=" + work_->Path("home"),
                       "GETMFS_WORKER=" GETMFS_BINARY},
                      120);
  }

  RunResult GetmManifest(const json& manifest, const std::string& more = "") {
    WriteFile(work_->Path("task/getm-manifest.json"), manifest.dump(2));
    return Getm("--manifest getm-manifest.json --workers 2" + more);
  }

  std::unique_ptr<TempDir> data_, work_;
  std::unique_ptr<Origin> origin_;
};

TEST_F(GetmCli, CromwellsManifestWithAbsolutePathsDownloadsSilently) {
  std::string root = work_->Path("cromwell_root");
  json manifest = json::array({
      {{"url", origin_->Url("/a.bam")}, {"filepath", root + "/bucket/dir/a.bam"}, {"checksum", Md5Of("a.bam")},
       {"checksum-algorithm", "md5"}},
      {{"url", origin_->Url("/b.bai")}, {"filepath", "rel/sub/"}, {"checksum", Md5Of("b.bai")}, {"checksum-algorithm", "md5"}},
      {{"url", origin_->Url("/b.bai")}, {"filepath", "~/indexes/b.bai"}, {"checksum", Md5Of("b.bai")},
       {"checksum-algorithm", "md5"}},
  });
  RunResult r = GetmManifest(manifest);
  EXPECT_EQ(Classify(r), "success") << Describe(r);
  EXPECT_EQ(ReadFile(root + "/bucket/dir/a.bam"), ReadFile(data_->Path("a.bam")));
  EXPECT_EQ(ReadFile(work_->Path("task/rel/sub/b.bai")), ReadFile(data_->Path("b.bai")));
  EXPECT_EQ(ReadFile(work_->Path("home/indexes/b.bai")), ReadFile(data_->Path("b.bai")));
  // Two entries writing one file is refused before anything is written.
  manifest[2]["filepath"] = root + "/bucket/dir/a.bam";
  stdfs::remove_all(root);
  r = GetmManifest(manifest);
  EXPECT_NE(r.exit_code, 0) << Describe(r);
  EXPECT_TRUE(Contains(r.err, "is also")) << r.err;
}

TEST_F(GetmCli, CromwellSeesAChecksumFailureAndNoFileIsLeft) {
  json manifest = json::array({{{"url", origin_->Url("/a.bam")}, {"filepath", work_->Path("out/a.bam")},
                                {"checksum", std::string(32, '0')}, {"checksum-algorithm", "md5"}}});
  RunResult r = GetmManifest(manifest);
  EXPECT_NE(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(Classify(RunResult{0, r.out, r.err}), "checksum failure") << Describe(r);
  EXPECT_TRUE(Contains(r.err, Md5Of("a.bam"))) << "the message names the actual value: " << r.err;
  EXPECT_TRUE(r.err.starts_with("ERROR:getm.cli:")) << r.err;
  std::vector<std::string> left;
  for (const auto& e : stdfs::recursive_directory_iterator(work_->Path("out"))) left.push_back(e.path().string());
  EXPECT_TRUE(left.empty()) << left.front();
}

TEST_F(GetmCli, CromwellSeesTheHttpStatusAndNoSignature) {
  origin_->Configure(json::array({{{"path", "/a.bam"}, {"emulate", "s3"}, {"require_signature", true}},
                                  {{"path", "/b.bai"}, {"faults", {{{"type", "status"}, {"code", 503}}}}}}));
  std::string signed_url = origin_->Presign("/a.bam", 600);
  std::string tampered = signed_url.substr(0, signed_url.size() - 4) + (signed_url.ends_with("0000") ? "1111" : "0000");
  std::string signature = tampered.substr(tampered.find("Signature=") + 10);
  RunResult r = GetmManifest(json::array({{{"url", tampered}, {"filepath", "a.bam"}}}));
  EXPECT_EQ(Classify(r), "fatal 403") << Describe(r);
  EXPECT_FALSE(Contains(r.err, signature)) << r.err;
  EXPECT_FALSE(Contains(r.err, "X-Amz-Signature")) << r.err;
  r = GetmManifest(json::array({{{"url", origin_->Url("/missing.bam")}, {"filepath", "m.bam"}}}));
  EXPECT_EQ(Classify(r), "fatal 404") << Describe(r);
  r = GetmManifest(json::array({{{"url", origin_->Url("/b.bai")}, {"filepath", "b.bai"}}}), " --timeout 5");
  EXPECT_EQ(Classify(r), "retryable 503") << Describe(r);
  EXPECT_FALSE(stdfs::exists(work_->Path("task/a.bam")));
  EXPECT_FALSE(stdfs::exists(work_->Path("task/b.bai")));
}

TEST_F(GetmCli, GetmsOwnSpellingsWork) {
  std::string md5 = Md5Of("b.bai");
  RunResult r = Getm(origin_->Url("/b.bai") + " -O one.bai -cs " + md5 + " -ca md5 --concurrency 2 --multipart-threshold 1000");
  EXPECT_EQ(Classify(r), "success") << Describe(r);
  EXPECT_EQ(ReadFile(work_->Path("task/one.bai")), ReadFile(data_->Path("b.bai")));
  r = Getm(origin_->Url("/b.bai") + " --filepath=two.bai --checksum " + md5 + " --checksum-algorithm md5 -v");
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_TRUE(Contains(r.err, "saved two.bai")) << "-v says what it saved: " << r.err;
  r = Getm(origin_->Url("/b.bai") + " three.bai -cs " + std::string(32, 'f') + " -ca md5");
  EXPECT_EQ(Classify(RunResult{0, r.out, r.err}), "checksum failure") << Describe(r);
  EXPECT_NE(r.exit_code, 0);
  // -m and -i, and -c: the good entry is downloaded after the missing one.
  json manifest = json::array({{{"url", origin_->Url("/missing.bam")}, {"filepath", "x/m.bam"}},
                               {{"url", origin_->Url("/b.bai")}, {"filepath", "x/b.bai"}, {"checksum", md5},
                                {"checksum-algorithm", "md5"}}});
  WriteFile(work_->Path("task/m.json"), manifest.dump());
  for (const std::string flag : {"-m", "-i"}) {
    stdfs::remove_all(work_->Path("task/x"));
    r = Getm(flag + " m.json -c --workers 2");
    EXPECT_EQ(Classify(r), "fatal 404") << Describe(r);
    EXPECT_EQ(ReadFile(work_->Path("task/x/b.bai")), ReadFile(data_->Path("b.bai"))) << flag;
  }
  // getm's usage errors exit non-zero.
  for (const std::string& bad : std::vector<std::string>{"", "--concurrency 0 " + origin_->Url("/b.bai"), "--manifest m.json " + origin_->Url("/b.bai")}) {
    r = Getm(bad);
    EXPECT_NE(r.exit_code, 0) << bad << "\n" << Describe(r);
  }
}

}  // namespace
}  // namespace getmfs::testing
