// Self-test of the test origin's GA4GH DRS endpoints (tests/origin/drs.py) through
// getmfs::testing::Origin and the test HTTP client.
#include <curl/curl.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "integrity/checksum.h"
#include "integrity/digest.h"
#include "support/http_client.h"
#include "support/origin.h"
#include "support/temp_dir.h"

namespace getmfs::testing {
namespace {

constexpr std::size_t kSize = (1 << 20) + 123;
constexpr std::uint64_t kSeed = 7;
constexpr std::size_t kPart = 262144;

std::string PercentEncode(const std::string& text) {
  CURL* curl = curl_easy_init();
  char* escaped = curl_easy_escape(curl, text.c_str(), static_cast<int>(text.size()));
  std::string out = escaped;
  curl_free(escaped);
  curl_easy_cleanup(curl);
  return out;
}

// Failure messages never show a signature (tests/ci_checks.sh looks for them).
std::string Redacted(const std::string& text) {
  static const std::regex kSignature("(Signature=)[0-9A-Za-z%]+");
  return std::regex_replace(text, kSignature, "$1XXX");
}
std::string Redacted(const nlohmann::json& json) { return Redacted(json.dump()); }

std::string Crc32cHex(const std::string& data) {
  char hex[9];
  std::snprintf(hex, sizeof(hex), "%08x", integrity::Crc32c(0, data.data(), data.size()));
  return hex;
}

std::string HexToBytes(const std::string& hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  }
  return out;
}

// {"type": checksum} of a DRS object's "checksums".
std::map<std::string, std::string> Checksums(const nlohmann::json& object) {
  std::map<std::string, std::string> out;
  for (const nlohmann::json& c : object.at("checksums")) out[c.at("type")] = c.at("checksum");
  return out;
}

class DrsOriginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = RandomBytes(kSize, kSeed);
    WriteRandomFile(dir_.Path("data.bin"), kSize, kSeed);
    WriteFile(dir_.Path("hello.txt"), "hello world");
    origin_ = Origin::Start(dir_.path(), {"-v"});
  }

  void TearDown() override {
    EXPECT_EQ(origin_->ServerLog().find("Traceback"), std::string::npos) << origin_->ServerLog();
  }

  std::string ObjectUrl(const std::string& id) {
    return origin_->Url("/ga4gh/drs/v1/objects/" + PercentEncode(id));
  }
  std::string AccessUrl(const std::string& id, const std::string& access_id) {
    return ObjectUrl(id) + "/access/" + PercentEncode(access_id);
  }

  // GET and parse; the response must be JSON.
  nlohmann::json GetJson(const std::string& url, const std::vector<std::string>& headers,
                         long expected_status) {
    HttpResponse r = client_.Get(url, headers);
    EXPECT_EQ(r.status, expected_status) << Redacted(url) << "\n" << Redacted(r.body);
    EXPECT_EQ(r.Header("Content-Type"), "application/json") << Redacted(url);
    nlohmann::json json = nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(json.is_discarded()) << Redacted(r.body);
    return json;
  }

  // A DRS error body: {"msg": non-empty, "status_code": status}.
  void ExpectError(const std::string& url, const std::vector<std::string>& headers, long status) {
    nlohmann::json body = GetJson(url, headers, status);
    EXPECT_EQ(body["status_code"], status) << Redacted(body);
    EXPECT_TRUE(body["msg"].is_string() && !body["msg"].get<std::string>().empty())
        << Redacted(body);
  }

  TempDir dir_;
  std::string data_;
  std::unique_ptr<Origin> origin_;
  HttpClient client_;
};

TEST_F(DrsOriginTest, ObjectHasTheDrsShapeAndTheFilesRealChecksums) {
  origin_->Configure({{"path", "/data.bin"}, {"emulate", "s3"}, {"s3_part_size", kPart}});
  origin_->ConfigureDrs({{"id", "obj1"},
                         {"path", "/data.bin"},
                         {"name", "data.bin"},
                         {"checksums", {"md5", "sha-256", "crc32c", "etag"}}});
  for (const char* suffix : {"", "?expand=false"}) {
    nlohmann::json obj = GetJson(ObjectUrl("obj1") + suffix, {}, 200);
    EXPECT_EQ(obj["id"], "obj1");
    EXPECT_EQ(obj["name"], "data.bin");
    EXPECT_EQ(obj["self_uri"], origin_->DrsUri("obj1"));
    EXPECT_EQ(obj["self_uri"], "drs://127.0.0.1:" + std::to_string(origin_->port()) + "/obj1");
    EXPECT_EQ(obj["size"], kSize);
    EXPECT_TRUE(std::regex_match(obj["created_time"].get<std::string>(),
                                 std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")))
        << obj["created_time"];
    std::string parts;
    for (std::size_t at = 0; at < kSize; at += kPart) {
      parts += HexToBytes(Md5Hex(std::string_view(data_).substr(at, kPart)));
    }
    std::map<std::string, std::string> expected = {
        {"md5", Md5Hex(data_)},
        {"sha-256", integrity::Sha256Hex(data_.data(), data_.size())},
        {"crc32c", Crc32cHex(data_)},
        {"etag", Md5Hex(parts) + "-5"}};
    EXPECT_EQ(Checksums(obj), expected);
    ASSERT_EQ(obj["access_methods"].size(), 1u) << Redacted(obj);
    const nlohmann::json& method = obj["access_methods"][0];
    EXPECT_EQ(method["type"], "https");
    std::string url = method["access_url"]["url"];
    EXPECT_NE(url.find("X-Amz-Signature="), std::string::npos) << Redacted(url);
    HttpResponse r = client_.Get(url);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, data_);
  }
}

TEST_F(DrsOriginTest, DefaultsKnownValuesExplicitChecksumsAndUnsignedUrls) {
  origin_->ConfigureDrs(
      {{{"id", "plain"}, {"path", "/hello.txt"}},
       {{"id", "hello"},
        {"path", "/hello.txt"},
        {"unsigned", true},
        {"checksums",
         {"crc32c",
          "sha-256",
          {{"type", "md5"}, {"checksum", "00000000000000000000000000000000"}}}}}});
  nlohmann::json obj = GetJson(ObjectUrl("plain"), {}, 200);
  EXPECT_FALSE(obj.contains("name")) << Redacted(obj);
  EXPECT_EQ(obj["size"], 11);
  EXPECT_EQ(Checksums(obj),
            (std::map<std::string, std::string>{{"md5", "5eb63bbbe01eeed093cb22bb8f5acdc3"}}));

  obj = GetJson(ObjectUrl("hello"), {}, 200);
  EXPECT_EQ(obj["checksums"], nlohmann::json::parse(R"([
              {"type": "crc32c", "checksum": "c99465aa"},
              {"type": "sha-256",
               "checksum": "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"},
              {"type": "md5", "checksum": "00000000000000000000000000000000"}])"));
  EXPECT_EQ(obj["access_methods"][0]["access_url"]["url"], origin_->Url("/hello.txt"));
}

TEST_F(DrsOriginTest, IdsWithColonsAndSlashesArePercentDecoded) {
  const std::string id = "dg.4503:abc/def 1";
  origin_->ConfigureDrs({{"id", id}, {"path", "/hello.txt"}});
  nlohmann::json obj = GetJson(ObjectUrl(id), {}, 200);
  EXPECT_EQ(obj["id"], id);
  EXPECT_EQ(obj["self_uri"], origin_->DrsUri(id));
  ExpectError(ObjectUrl("dg.4503:abc"), {}, 404);
}

TEST_F(DrsOriginTest, AccessByIdReturnsUrlAndHeadersThatThePathRequires) {
  origin_->ConfigureDrs({{"id", "obj2"},
                         {"path", "/data.bin"},
                         {"access", "id"},
                         {"access_id", "acc-1"},
                         {"headers", {"X-Drs-Key: k1"}}});
  EXPECT_EQ(origin_->Stats()["paths"].size(), 0u);  // warming is not a request
  nlohmann::json obj = GetJson(ObjectUrl("obj2"), {}, 200);
  EXPECT_EQ(obj["access_methods"],
            nlohmann::json::parse(R"([{"type": "https", "access_id": "acc-1"}])"));
  nlohmann::json access = GetJson(AccessUrl("obj2", "acc-1"), {}, 200);
  EXPECT_EQ(access["headers"], nlohmann::json::parse(R"(["X-Drs-Key: k1"])"));
  std::string url = access["url"];
  EXPECT_NE(url.find("X-Amz-Signature="), std::string::npos) << Redacted(url);
  ExpectError(AccessUrl("obj2", "acc-2"), {}, 404);

  HttpResponse r = client_.Get(url);
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(r.body.find("<Code>AccessDenied</Code>"), std::string::npos) << Redacted(r.body);
  EXPECT_NE(r.body.find("missing access header"), std::string::npos) << Redacted(r.body);
  EXPECT_EQ(client_.Get(url, {"X-Drs-Key: wrong"}).status, 403);
  r = client_.Get(url, {"X-Drs-Key: k1", "Range: bytes=0-9"});
  EXPECT_EQ(r.status, 206);
  EXPECT_EQ(r.body, data_.substr(0, 10));
  HttpRequest head;
  head.url = origin_->Url("/data.bin");
  head.method = "HEAD";
  EXPECT_EQ(HttpFetch(head).status, 403);
  head.headers = {"x-drs-key: k1"};
  EXPECT_EQ(HttpFetch(head).status, 200);

  EXPECT_EQ(origin_->Configure(nlohmann::json::object({{"path", "/data.bin"}}))["ok"], true);
  nlohmann::json config = nlohmann::json::parse(
      HttpGet(origin_->BaseUrl() + "/__control__/config?path=/data.bin").body);
  EXPECT_EQ(config["require_headers"], nlohmann::json::object());
  EXPECT_EQ(HttpGet(origin_->Url("/data.bin"), {"Range: bytes=0-0"}).status, 206);
}

TEST_F(DrsOriginTest, BearerTokenMissingIs401WrongIs403) {
  origin_->ConfigureDrs(
      {{"id", "secret"}, {"path", "/hello.txt"}, {"access", "id"}, {"token", "T1-very-secret"}});
  ExpectError(ObjectUrl("secret"), {}, 401);
  ExpectError(ObjectUrl("secret"), {"Authorization: Bearer nope"}, 403);
  ExpectError(AccessUrl("secret", "a1"), {}, 401);
  ExpectError(AccessUrl("secret", "a1"), {"Authorization: Bearer nope"}, 403);
  const std::vector<std::string> auth = {"Authorization: Bearer T1-very-secret"};
  EXPECT_EQ(GetJson(ObjectUrl("secret"), auth, 200)["id"], "secret");
  std::string url = GetJson(AccessUrl("secret", "a1"), auth, 200)["url"];
  EXPECT_EQ(client_.Get(url).body, "hello world");

  nlohmann::json stats = origin_->DrsStats()["objects"]["secret"];
  EXPECT_EQ(stats["lookups"], 3);
  EXPECT_EQ(stats["access"], 3);
  EXPECT_EQ(stats["unauthorized"], 4);
  // Neither the token nor a signature reaches the -v log.
  std::string log = origin_->ServerLog();
  EXPECT_NE(log.find("/ga4gh/drs/v1/objects/secret"), std::string::npos) << log;
  EXPECT_EQ(log.find("T1-very-secret"), std::string::npos) << log;
  EXPECT_EQ(log.find("Signature"), std::string::npos) << Redacted(log);
}

TEST_F(DrsOriginTest, ErrorsUseTheDrsErrorBody) {
  origin_->ConfigureDrs(
      {{{"id", "gone"}, {"path", "/hello.txt"}, {"status", 500}, {"msg", "backend down"}},
       {{"id", "ok"}, {"path", "/hello.txt"}}});
  ExpectError(ObjectUrl("unknown"), {}, 404);
  nlohmann::json body = GetJson(ObjectUrl("gone"), {}, 500);
  EXPECT_EQ(body, nlohmann::json::parse(R"({"msg": "backend down", "status_code": 500})"));
  ExpectError(AccessUrl("ok", "nope"), {}, 404);

  HttpRequest post;
  post.url = ObjectUrl("ok");
  post.method = "POST";
  post.body = R"({"passports": []})";
  post.headers = {"Content-Type: application/json"};
  HttpResponse r = HttpFetch(post);
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(nlohmann::json::parse(r.body)["status_code"], 405);
}

TEST_F(DrsOriginTest, SignedAccessUrlsExpireAfterExpiresSeconds) {
  origin_->ConfigureDrs({{"id", "short"}, {"path", "/hello.txt"}, {"expires", 2}});
  std::string url = GetJson(ObjectUrl("short"), {}, 200)["access_methods"][0]["access_url"]["url"];
  EXPECT_NE(url.find("X-Amz-Expires=2&"), std::string::npos) << Redacted(url);
  EXPECT_EQ(client_.Get(url).body, "hello world");
  std::this_thread::sleep_for(std::chrono::milliseconds(3200));
  HttpResponse r = client_.Get(url);
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(r.body.find("<Message>Request has expired</Message>"), std::string::npos)
      << Redacted(r.body);
  // Each lookup signs afresh.
  url = GetJson(ObjectUrl("short"), {}, 200)["access_methods"][0]["access_url"]["url"];
  EXPECT_EQ(client_.Get(url).body, "hello world");
}

TEST_F(DrsOriginTest, GcsPathsGetGcsSignedUrls) {
  origin_->Configure({{"path", "/hello.txt"}, {"emulate", "gcs"}});
  origin_->ConfigureDrs({{"id", "g"}, {"path", "/hello.txt"}, {"access", "id"}});
  std::string url = GetJson(AccessUrl("g", "a1"), {}, 200)["url"];
  EXPECT_NE(url.find("X-Goog-Signature="), std::string::npos) << Redacted(url);
  EXPECT_EQ(client_.Get(url).body, "hello world");
}

TEST_F(DrsOriginTest, StatsCountDrsCallsApartFromThePathsStats) {
  origin_->ConfigureDrs({{"id", "obj1"}, {"path", "/hello.txt"}, {"access", "id"}});
  origin_->Configure(
      {{"path", "/hello.txt"}, {"faults", {{{"type", "status"}, {"code", 503}, {"times", 1}}}}});
  EXPECT_EQ(origin_->DrsStats(),
            nlohmann::json::parse(
                R"({"objects": {"obj1": {"lookups": 0, "access": 0, "unauthorized": 0}}})"));
  for (int i = 0; i < 2; ++i) GetJson(ObjectUrl("obj1"), {}, 200);
  std::string url = GetJson(AccessUrl("obj1", "a1"), {}, 200)["url"];
  ExpectError(ObjectUrl("other"), {}, 404);
  nlohmann::json stats = origin_->DrsStats()["objects"];
  EXPECT_EQ(stats["obj1"],
            nlohmann::json::parse(R"({"lookups": 2, "access": 1, "unauthorized": 0})"));
  EXPECT_EQ(stats["other"]["lookups"], 1);
  // DRS calls are neither requests of the path nor faulted by its faults.
  EXPECT_EQ(origin_->Stats()["requests"], 0);
  EXPECT_EQ(origin_->PathStats("/hello.txt")["requests"], 0);
  EXPECT_EQ(client_.Get(url).status, 503);
  EXPECT_EQ(client_.Get(url).body, "hello world");
  EXPECT_EQ(origin_->PathStats("/hello.txt")["requests"], 2);

  origin_->Reset();
  EXPECT_EQ(origin_->DrsStats(), nlohmann::json::parse(R"({"objects": {}})"));
  ExpectError(ObjectUrl("obj1"), {}, 404);  // the reset forgot the config too
}

TEST_F(DrsOriginTest, RejectsInvalidConfigurations) {
  const std::vector<nlohmann::json> bad = {
      {{"path", "/hello.txt"}},                 // no id
      {{"id", ""}, {"path", "/hello.txt"}},     // empty id
      {{"id", "x"}},                            // no path
      {{"id", "x"}, {"path", "/missing.bin"}},  // no such file
      {{"id", "x"}, {"path", "/hello.txt"}, {"checksums", {"sha1"}}},
      {{"id", "x"}, {"path", "/hello.txt"}, {"access", "s3"}},
      {{"id", "x"}, {"path", "/hello.txt"}, {"expires", 0}},
      {{"id", "x"}, {"path", "/hello.txt"}, {"headers", {"X-Key: 1"}}},  // needs access "id"
      {{"id", "x"}, {"path", "/hello.txt"}, {"access", "id"}, {"headers", {"no colon"}}},
      {{"id", "x"}, {"path", "/hello.txt"}, {"token", 5}},
      {{"id", "x"}, {"path", "/hello.txt"}, {"colour", "red"}},
  };
  for (const nlohmann::json& config : bad) {
    EXPECT_THROW(origin_->ConfigureDrs(config), std::runtime_error) << config;
  }
  EXPECT_THROW(origin_->Configure({{"path", "/hello.txt"}, {"require_headers", {"X-A"}}}),
               std::runtime_error);
  EXPECT_EQ(origin_->DrsStats()["objects"].size(), 0u);
  EXPECT_EQ(origin_->ConfigureDrs({{"id", "x"}, {"path", "/hello.txt"}})["ids"],
            nlohmann::json::parse(R"(["x"])"));
}

}  // namespace
}  // namespace getmfs::testing
