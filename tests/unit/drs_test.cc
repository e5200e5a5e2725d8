// DRS URIs, the endpoints they resolve at, drs:// entries in manifests, and the token.
#include <gtest/gtest.h>
#include <unistd.h>
#include <stdlib.h>

#include <cstdio>
#include <string>

#include "drs/drs_client.h"
#include "drs/drs_uri.h"
#include "manifest/manifest.h"

namespace getmfs::drs {
namespace {

TEST(DrsUri, HostnameBasedUrisSplitAtTheFirstSlash) {
  auto uri = ParseDrsUri("drs://drs.example.org/0c2e-44/x");
  ASSERT_TRUE(uri) << uri.error().message;
  EXPECT_EQ(uri->host, "drs.example.org");
  EXPECT_EQ(uri->id, "0c2e-44/x");
  auto url = ObjectUrl(*uri, "");
  ASSERT_TRUE(url);
  EXPECT_EQ(*url, "https://drs.example.org/ga4gh/drs/v1/objects/0c2e-44%2Fx");
}

TEST(DrsUri, AHostWithAPortIsAHost) {
  auto uri = ParseDrsUri("drs://127.0.0.1:8080/abc");
  ASSERT_TRUE(uri);
  EXPECT_EQ(uri->host, "127.0.0.1:8080");
  EXPECT_EQ(uri->id, "abc");
}

TEST(DrsUri, CompactIdentifiersNeedAServer) {
  auto uri = ParseDrsUri("drs://dg.4503:6a8e-11");
  ASSERT_TRUE(uri) << uri.error().message;
  EXPECT_EQ(uri->host, "");
  EXPECT_EQ(uri->id, "dg.4503:6a8e-11");
  auto none = ObjectUrl(*uri, "");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().kind, ErrorKind::kBadInput);
  EXPECT_NE(none.error().message.find("--drs-server"), std::string::npos) << none.error().message;
  auto url = ObjectUrl(*uri, "http://127.0.0.1:9/base/");
  ASSERT_TRUE(url);
  EXPECT_EQ(*url, "http://127.0.0.1:9/base/ga4gh/drs/v1/objects/dg.4503%3A6a8e-11");
}

TEST(DrsUri, MalformedUrisSayWhatIsWrong) {
  for (const char* bad : {"drs://", "drs:///abc", "drs://host/", "drs://justahost", "drs://h/a b", "http://x/y"}) {
    auto uri = ParseDrsUri(bad);
    ASSERT_FALSE(uri) << bad;
    EXPECT_EQ(uri.error().kind, ErrorKind::kBadInput);
    EXPECT_NE(uri.error().message.find("drs://HOST/ID"), std::string::npos) << uri.error().message;
  }
  EXPECT_TRUE(IsDrsUri("DRS://host/id"));
  EXPECT_FALSE(IsDrsUri("drs:/host/id"));
}

TEST(DrsUri, PercentEncodingKeepsOnlyUnreservedCharacters) {
  EXPECT_EQ(PercentEncode("aZ09-._~"), "aZ09-._~");
  EXPECT_EQ(PercentEncode("a/b:c d?"), "a%2Fb%3Ac%20d%3F");
}

TEST(DrsManifest, EntriesKeepTheirUriUntilResolved) {
  auto manifest = manifest::ParseManifestText(
      "drs://drs.example.org/obj1\n"
      "drs://drs.example.org/obj2 given/name.bam md5=0123456789abcdef0123456789abcdef\n"
      "https://example.org/c.bin\n",
      "urls.txt");
  ASSERT_TRUE(manifest) << manifest.error().message;
  ASSERT_EQ(manifest->entries.size(), 3u);
  EXPECT_EQ(manifest->entries[0].drs_uri, "drs://drs.example.org/obj1");
  EXPECT_EQ(manifest->entries[0].url, "");
  EXPECT_EQ(manifest->entries[0].path, "");   // named by the DRS object
  EXPECT_EQ(manifest->entries[1].path, "given/name.bam");
  EXPECT_TRUE(manifest->entries[1].checksum.known());
  EXPECT_EQ(manifest->entries[2].drs_uri, "");
}

TEST(DrsManifest, ABadUriIsAnErrorOfItsLine) {
  auto manifest = manifest::ParseManifestText("https://example.org/a.bin\ndrs://host/\n", "urls.txt");
  ASSERT_FALSE(manifest);
  EXPECT_EQ(manifest.error().message.rfind("urls.txt:2: ", 0), 0u) << manifest.error().message;
  auto json = manifest::ParseManifestText("[{\"url\": \"drs://h/x\", \"filepath\": \"x.bin\"}]", "m.json");
  ASSERT_TRUE(json) << json.error().message;
  EXPECT_EQ(json->entries[0].drs_uri, "drs://h/x");
}

class DrsToken : public ::testing::Test {
 protected:
  void SetUp() override { unsetenv("GETMFS_DRS_TOKEN"); }
  void TearDown() override {
    unsetenv("GETMFS_DRS_TOKEN");
    std::remove(file_.c_str());
  }
  void Write(const std::string& text) {
    std::FILE* f = std::fopen(file_.c_str(), "w");
    std::fputs(text.c_str(), f);
    std::fclose(f);
  }
  // One file per test process: ctest runs the DrsToken tests in parallel.
  std::string file_ = ::testing::TempDir() + "/getmfs-drs-token." + std::to_string(getpid());
};

TEST_F(DrsToken, TheFileWinsOverTheEnvironmentAndIsTrimmed) {
  setenv("GETMFS_DRS_TOKEN", "from-env", 1);
  Write("  from-file \n");
  auto token = LoadToken(file_);
  ASSERT_TRUE(token);
  EXPECT_EQ(*token, "from-file");
  auto env = LoadToken("");
  ASSERT_TRUE(env);
  EXPECT_EQ(*env, "from-env");
}

TEST_F(DrsToken, NoTokenIsNoToken) {
  auto token = LoadToken("");
  ASSERT_TRUE(token);
  EXPECT_EQ(*token, "");
}

TEST_F(DrsToken, EmptyMissingOrInjectingTokensAreRefused) {
  Write("\n");
  EXPECT_FALSE(LoadToken(file_));
  EXPECT_FALSE(LoadToken(file_ + ".missing"));
  setenv("GETMFS_DRS_TOKEN", "abc\r\nX-Evil: 1", 1);
  auto injected = LoadToken("");
  ASSERT_FALSE(injected);
  EXPECT_EQ(injected.error().message.find("abc"), std::string::npos) << "the token is never printed";
}

}  // namespace
}  // namespace getmfs::drs
