#include "http/signed_url.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>

namespace getmfs::http {
namespace {

// ---- RedactUrl ----

TEST(RedactUrl, DropsQueryString) {
  EXPECT_EQ(RedactUrl("https://bkt.s3.amazonaws.com/dir/x.bam?X-Amz-Algorithm=AWS4-HMAC-SHA256"
                      "&X-Amz-Signature=secret"),
            "https://bkt.s3.amazonaws.com/dir/x.bam");
  EXPECT_EQ(RedactUrl("https://h/p?"), "https://h/p");
}

TEST(RedactUrl, DropsFragment) {
  EXPECT_EQ(RedactUrl("https://h/p#frag"), "https://h/p");
  EXPECT_EQ(RedactUrl("https://h/p?sig=secret#frag"), "https://h/p");
  EXPECT_EQ(RedactUrl("https://h/p#frag?sig=secret"), "https://h/p");
}

TEST(RedactUrl, DropsUserinfo) {
  EXPECT_EQ(RedactUrl("https://user:secret@h/p"), "https://h/p");
  EXPECT_EQ(RedactUrl("https://user@h/p?x=1"), "https://h/p");
  EXPECT_EQ(RedactUrl("https://user:secret@h"), "https://h");
  EXPECT_EQ(RedactUrl("https://us@r:p@ss@h:8443/p"), "https://h:8443/p");
  EXPECT_EQ(RedactUrl("https://user:secret@h?sig=secret"), "https://h");
}

TEST(RedactUrl, KeepsAtSignsOutsideTheAuthority) {
  EXPECT_EQ(RedactUrl("https://h/a@b/c"), "https://h/a@b/c");
  EXPECT_EQ(RedactUrl("https://h/p?u=a@b"), "https://h/p");
  EXPECT_EQ(RedactUrl("https://h?u=a@b"), "https://h");
}

TEST(RedactUrl, NoPath) {
  EXPECT_EQ(RedactUrl("https://h"), "https://h");
  EXPECT_EQ(RedactUrl("https://h?sig=secret"), "https://h");
  EXPECT_EQ(RedactUrl("https://h#x"), "https://h");
  EXPECT_EQ(RedactUrl("https://h/"), "https://h/");
}

TEST(RedactUrl, KeepsPort) {
  EXPECT_EQ(RedactUrl("http://localhost:8080/a/b?sig=secret"), "http://localhost:8080/a/b");
  EXPECT_EQ(RedactUrl("http://[::1]:8080/p?x"), "http://[::1]:8080/p");
}

TEST(RedactUrl, SchemeCaseIsKept) {
  EXPECT_EQ(RedactUrl("HTTPS://User:pw@Host/P?S=1"), "HTTPS://Host/P");
}

TEST(RedactUrl, NotAUrl) {
  EXPECT_EQ(RedactUrl(""), "");
  EXPECT_EQ(RedactUrl("a/b.bam"), "a/b.bam");
  EXPECT_EQ(RedactUrl("s3://bucket/key?sig=secret"), "s3://bucket/key");
  // A "://" inside the query string is not the scheme's: the query must still go.
  EXPECT_EQ(RedactUrl("a/b?sig=secret&next=https://x/y"), "a/b");
  EXPECT_EQ(RedactUrl("host?sig=secret&next=https://x/y"), "host");
}

// ---- RedactUrls ----

TEST(RedactUrls, SeveralUrls) {
  EXPECT_EQ(RedactUrls("GET https://h/a?sig=1 failed; retrying http://g:81/b?sig=2 now"),
            "GET https://h/a failed; retrying http://g:81/b now");
}

TEST(RedactUrls, Quotes) {
  EXPECT_EQ(RedactUrls("url \"https://h/a?sig=secret\" is bad"), "url \"https://h/a\" is bad");
  EXPECT_EQ(RedactUrls("url 'https://h/a?sig=secret' is bad"), "url 'https://h/a' is bad");
  EXPECT_EQ(RedactUrls("<https://h/a?sig=secret>"), "<https://h/a>");
  EXPECT_EQ(RedactUrls("`https://h/a?sig=secret`"), "`https://h/a`");
  EXPECT_EQ(RedactUrls("{\"url\":\"https://h/a?sig=secret\"}"), "{\"url\":\"https://h/a\"}");
}

TEST(RedactUrls, EndOfString) {
  EXPECT_EQ(RedactUrls("fetching https://h/a?sig=secret"), "fetching https://h/a");
  EXPECT_EQ(RedactUrls("https://h/a?sig=secret"), "https://h/a");
  EXPECT_EQ(RedactUrls("https://"), "https://");
  EXPECT_EQ(RedactUrls("http"), "http");
}

TEST(RedactUrls, UserinfoCaseAndNewlines) {
  EXPECT_EQ(RedactUrls("a\nHTTPS://u:secret@h/p?sig=secret\nb"), "a\nHTTPS://h/p\nb");
  EXPECT_EQ(RedactUrls("x=https://h/p?sig=secret\ty"), "x=https://h/p\ty");
}

TEST(RedactUrls, TextWithoutUrlsIsUnchanged) {
  for (std::string text :
       {"", "plain text", "no url: http:/x?y=1", "ftp://h/p?sig=1", "50% done? yes"}) {
    EXPECT_EQ(RedactUrls(text), text);
  }
}

TEST(RedactUrls, NeverLeavesASignature) {
  std::string text;
  for (int i = 0; i < 20; ++i) {
    text += "https://h" + std::to_string(i) + "/p?X-Amz-Signature=secret" + std::to_string(i);
    text += i % 2 ? " " : "\"";
  }
  std::string out = RedactUrls(text);
  EXPECT_EQ(out.find("secret"), std::string::npos) << out;
  EXPECT_EQ(out.find("X-Amz"), std::string::npos) << out;
}

// ---- UrlBasename / PercentDecode ----

TEST(UrlBasename, LastSegment) {
  EXPECT_EQ(UrlBasename("https://h/dir/reads.bam?X-Amz-Signature=secret"), "reads.bam");
  EXPECT_EQ(UrlBasename("https://h/reads.bam#frag"), "reads.bam");
  EXPECT_EQ(UrlBasename("https://u:p@h:8443/a/b.txt"), "b.txt");
}

TEST(UrlBasename, PercentDecoded) {
  EXPECT_EQ(UrlBasename("https://h/dir/my%20file.bam?sig=1"), "my file.bam");
  EXPECT_EQ(UrlBasename("https://h/%C3%A9t%C3%A9.txt"), "\xC3\xA9t\xC3\xA9.txt");
  EXPECT_EQ(UrlBasename("https://h/o/dir%2Ffile.txt?alt=media"), "dir/file.txt");
  EXPECT_EQ(UrlBasename("https://h/a%2b%2Bb"), "a++b");
  EXPECT_EQ(UrlBasename("https://h/100%25"), "100%");
}

TEST(UrlBasename, EmptyWhenThereIsNoName) {
  EXPECT_EQ(UrlBasename("https://h/dir/"), "");
  EXPECT_EQ(UrlBasename("https://h/"), "");
  EXPECT_EQ(UrlBasename("https://h"), "");
  EXPECT_EQ(UrlBasename("https://h?x=/a/b"), "");
  EXPECT_EQ(UrlBasename("https://h/dir/?x=/a/b"), "");
}

TEST(PercentDecode, ValidAndInvalidSequences) {
  EXPECT_EQ(PercentDecode("%41%42c"), "ABc");
  EXPECT_EQ(PercentDecode("%4a%4A"), "JJ");
  EXPECT_EQ(PercentDecode("a%zzb"), "a%zzb");
  EXPECT_EQ(PercentDecode("a%4"), "a%4");
  EXPECT_EQ(PercentDecode("a%"), "a%");
  EXPECT_EQ(PercentDecode("%"), "%");
  EXPECT_EQ(PercentDecode("a%41"), "aA");
  EXPECT_EQ(PercentDecode("%2541"), "%41");  // decoded once only
  EXPECT_EQ(PercentDecode("a+b"), "a+b");    // '+' is not a space in a path
  EXPECT_EQ(PercentDecode("%00"), std::string(1, '\0'));
}

// ---- IsHttpUrl ----

TEST(IsHttpUrl, Accepts) {
  for (std::string url : {"http://h", "https://h/p?x=1", "HTTPS://H/P", "http://h:8080/",
                          "https://u:p@h/p", "http://[::1]:80/x", "https://h#f"}) {
    EXPECT_TRUE(IsHttpUrl(url)) << url;
  }
}

TEST(IsHttpUrl, Rejects) {
  for (std::string url :
       {"", "ftp://h/p", "s3://bucket/key", "gs://bucket/key", "h/p", "http:/h/p", "http://",
        "https://", "http:///p", "https://?x=1", "https://#f", "https://h/a b", "https://h/a\tb",
        "https://h/a\nb", " https://h/p", "file:///etc/passwd", "httpx://h/p"}) {
    EXPECT_FALSE(IsHttpUrl(url)) << url;
  }
  EXPECT_FALSE(IsHttpUrl(std::string("https://h/a\0b", 13)));
}

// ---- SignatureExpiry ----

constexpr std::int64_t k2024 = 1704067200;  // 2024-01-01T00:00:00Z

TEST(SignatureExpiry, S3SigV4) {
  EXPECT_EQ(SignatureExpiry("https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256"
                            "&X-Amz-Credential=AK%2F20240101%2Fus-east-1%2Fs3%2Faws4_request"
                            "&X-Amz-Date=20240101T000000Z&X-Amz-Expires=3600"
                            "&X-Amz-SignedHeaders=host&X-Amz-Signature=abc"),
            k2024 + 3600);
  EXPECT_EQ(SignatureExpiry("https://h/k?X-Amz-Expires=604800&X-Amz-Date=20240229T235959Z"),
            k2024 + 59 * 86400 + 86399 + 604800);
  // Parameter names are matched without regard to case.
  EXPECT_EQ(SignatureExpiry("https://h/k?x-amz-date=20240101T000000Z&x-amz-expires=60"),
            k2024 + 60);
  // An expiry past 2^63 seconds is none (it was a signed overflow).
  EXPECT_EQ(SignatureExpiry("https://h/k?X-Amz-Date=20240101T000000Z&X-Amz-Expires=9223372036854775807"),
            std::nullopt);
  EXPECT_EQ(SignatureExpiry("https://h/k?X-Goog-Date=20240101T000000Z&X-Goog-Expires=99999999999999999999"),
            std::nullopt);
}

TEST(SignatureExpiry, GcsV4) {
  EXPECT_EQ(SignatureExpiry("https://storage.googleapis.com/b/o?X-Goog-Algorithm="
                            "GOOG4-RSA-SHA256&X-Goog-Credential=sa%40p.iam.gserviceaccount.com"
                            "%2F20240101%2Fauto%2Fstorage%2Fgoog4_request"
                            "&X-Goog-Date=20240101T000000Z&X-Goog-Expires=600"
                            "&X-Goog-SignedHeaders=host&X-Goog-Signature=abc"),
            k2024 + 600);
}

TEST(SignatureExpiry, CloudFrontAndAzure) {
  EXPECT_EQ(SignatureExpiry("https://d111.cloudfront.net/k?Expires=1767225600&Signature=abc&Key-Pair-Id=K"),
            1767225600);
  EXPECT_EQ(SignatureExpiry("https://a.blob.core.windows.net/c/b?sv=2022-11-02&se=2026-12-01T23%3A00%3A00Z&sr=b&sp=r&sig=x"),
            1796166000);
  EXPECT_EQ(SignatureExpiry("https://a.blob.core.windows.net/c/b?se=2026-12-01T23:00:00.1234567Z&sig=x"), 1796166000);
  EXPECT_EQ(SignatureExpiry("https://a.blob.core.windows.net/c/b?se=2026-12-02&sig=x"), 1796169600);
  EXPECT_EQ(SignatureExpiry("https://a.blob.core.windows.net/c/b?se=2026-12-01T23:00:00Z"), std::nullopt);   // no sig
  EXPECT_EQ(SignatureExpiry("https://a.blob.core.windows.net/c/b?se=tomorrow&sig=x"), std::nullopt);
}

TEST(SignatureExpiry, Legacy) {
  EXPECT_EQ(SignatureExpiry("https://b.s3.amazonaws.com/k?AWSAccessKeyId=AK&Expires=1700000000"
                            "&Signature=abc%3D"),
            1700000000);
  EXPECT_EQ(SignatureExpiry("https://storage.googleapis.com/b/o?GoogleAccessId=sa"
                            "&Expires=1700000001&Signature=abc"),
            1700000001);
}

TEST(SignatureExpiry, Absent) {
  for (std::string url :
       {"https://h/k", "https://h/k?", "https://h/k?a=b&c",
        "https://h/k?X-Amz-Date=20240101T000000Z", "https://h/k?X-Amz-Expires=3600",
        "https://h/k?X-Amz-Date=2024-01-01&X-Amz-Expires=3600",
        "https://h/k?X-Amz-Date=20240101T000000Z&X-Amz-Expires=soon",
        "https://h/k?X-Amz-Date=20240101T000000Z&X-Amz-Expires=-5",
        "https://h/k?X-Amz-Date=20240101T000000Z&X-Goog-Expires=5",
        "https://h/k?Expires=1700000000",  // no signature: not a signed URL
        "https://h/k?Expires=soon&Signature=abc",
        "https://h/k#?X-Amz-Date=20240101T000000Z&X-Amz-Expires=3600"}) {  // a fragment
    EXPECT_FALSE(SignatureExpiry(url).has_value()) << url;
  }
}

TEST(SignatureExpiry, FragmentAfterQuery) {
  EXPECT_EQ(SignatureExpiry("https://h/k?X-Amz-Date=20240101T000000Z&X-Amz-Expires=10#frag"),
            k2024 + 10);
}

// ---- SignedUrl ----

TEST(SignedUrl, PrintsRedacted) {
  SignedUrl url("https://u:pw@h/p?sig=secret");
  EXPECT_EQ(url.full(), "https://u:pw@h/p?sig=secret");
  EXPECT_EQ(url.redacted(), "https://h/p");
  EXPECT_FALSE(url.empty());
  std::ostringstream os;
  os << url;
  EXPECT_EQ(os.str(), "https://h/p");
  EXPECT_TRUE(SignedUrl().empty());
}

}  // namespace
}  // namespace getmfs::http
