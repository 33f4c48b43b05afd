#include "serve/server.h"

#include <gtest/gtest.h>

namespace vitnt::serve {
namespace {

TEST(ServeKeys, MatchesOnlyExactKeys) {
  const std::vector<std::string> keys = {"alpha-key", "beta"};
  EXPECT_TRUE(key_matches(keys, "alpha-key"));
  EXPECT_TRUE(key_matches(keys, "beta"));
  EXPECT_FALSE(key_matches(keys, "alpha-ke"));
  EXPECT_FALSE(key_matches(keys, "alpha-keyX"));
  EXPECT_FALSE(key_matches(keys, "bet"));
  EXPECT_FALSE(key_matches(keys, ""));
  EXPECT_FALSE(key_matches({}, ""));
  EXPECT_FALSE(key_matches({"a"}, std::string("a\0", 2)));
}

TEST(ServeHosts, Loopback) {
  EXPECT_TRUE(is_loopback_host("127.0.0.1"));
  EXPECT_TRUE(is_loopback_host("localhost"));
  EXPECT_TRUE(is_loopback_host("::1"));
  EXPECT_FALSE(is_loopback_host("0.0.0.0"));
  EXPECT_FALSE(is_loopback_host("192.168.1.2"));
}

TEST(ServeBase64, StrictDecoding) {
  std::vector<uint8_t> out;
  ASSERT_TRUE(decode_base64("aGVsbG8=", out));
  EXPECT_EQ(std::string(out.begin(), out.end()), "hello");
  ASSERT_TRUE(decode_base64("aGVsbG8", out));
  EXPECT_EQ(std::string(out.begin(), out.end()), "hello");
  ASSERT_TRUE(decode_base64("", out));
  EXPECT_TRUE(out.empty());
  EXPECT_FALSE(decode_base64("aGVs!G8=", out));
  EXPECT_FALSE(decode_base64("aGVsb", out));  // 5 characters: not a whole byte
  EXPECT_FALSE(decode_base64("aGV sbG8=", out));
  EXPECT_FALSE(decode_base64("a===", out));
}

TEST(ServeJson, Depth) {
  EXPECT_EQ(json_depth("{}"), 1u);
  EXPECT_EQ(json_depth(R"({"a": [[1], {"b": "[[[["}]})"), 3u);
  EXPECT_EQ(json_depth(R"("\"[[")"), 0u);
  EXPECT_EQ(json_depth(std::string(10000, '[')), 10000u);
}

}  // namespace
}  // namespace vitnt::serve
