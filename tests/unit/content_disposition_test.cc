#include <gtest/gtest.h>

#include "http/response.h"

namespace getmfs::http {
namespace {

TEST(ContentDispositionFilename, TakesTheNameWithoutItsPath) {
  EXPECT_EQ(ContentDispositionFilename("attachment; filename=\"reads.bam\""), "reads.bam");
  EXPECT_EQ(ContentDispositionFilename("attachment; filename*=UTF-8''ref%20genome.fa"), "ref genome.fa");
  EXPECT_EQ(ContentDispositionFilename("inline; filename=../../etc/passwd"), "passwd");
  EXPECT_EQ(ContentDispositionFilename("inline; filename=a\\b"), "b");
}

TEST(ContentDispositionFilename, NeverDotOrDotDot) {
  EXPECT_EQ(ContentDispositionFilename("inline; filename=.."), "");
  EXPECT_EQ(ContentDispositionFilename("inline; filename=x/."), "");
  // Found by fuzz_headers: control characters were removed after the check.
  EXPECT_EQ(ContentDispositionFilename("Inline; filename=../.\x01"), "");
  EXPECT_EQ(ContentDispositionFilename("inline; filename=\"..\x7f\""), "");
  EXPECT_EQ(ContentDispositionFilename("attachment; filename*=UTF-8''%2e%01%2e"), "");
  EXPECT_EQ(ContentDispositionFilename("attachment; filename*=UTF-8''a%0Ab"), "ab");
}

}  // namespace
}  // namespace getmfs::http
