#include "serve/server.h"

#include <gtest/gtest.h>
#include <sched.h>

namespace vitnt::serve {
namespace {

// The CPUs this test may use, as parse_cpu_list sees them.
std::vector<int> my_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  EXPECT_EQ(sched_getaffinity(0, sizeof set, &set), 0);
  std::vector<int> cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  return cpus;
}

TEST(ServeCpus, ParsesListsAndRanges) {
  const std::vector<int> mine = my_cpus();
  ASSERT_FALSE(mine.empty());
  const std::string first = std::to_string(mine[0]);
  EXPECT_EQ(parse_cpu_list(first), std::vector<int>{mine[0]});
  if (mine.size() >= 2 && mine[1] == mine[0] + 1) {
    const std::string second = std::to_string(mine[1]);
    EXPECT_EQ(parse_cpu_list(first + "-" + second), (std::vector<int>{mine[0], mine[1]}));
    EXPECT_EQ(parse_cpu_list(second + "," + first), (std::vector<int>{mine[1], mine[0]}));
  }
  for (const char* bad : {"", "x", "0-", "-1", "0,", "0,,1", "1-0", "0 1", "0-0,0", "99999"}) {
    try {
      parse_cpu_list(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const Error& e) {
      // names the list and what this process may use
      EXPECT_NE(std::string(e.what()).find(std::string("'") + bad + "'"), std::string::npos);
      EXPECT_NE(std::string(e.what()).find("may use CPUs " + first), std::string::npos);
    }
  }
}

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
