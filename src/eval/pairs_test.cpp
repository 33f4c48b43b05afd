#include "eval/pairs.h"

#include <gtest/gtest.h>

#include "test_util.h"
#include "vitnt/vitnt.h"

namespace vitnt::eval {
namespace {

std::vector<Pair> pairs_from(const std::string& text, const std::string& name) {
  auto p = test::temp_dir("pairs") / name;
  test::write_bytes(p, text);
  return read_pairs(p.string(), "");
}

TEST(Pairs, HeaderColumnsByName) {
  // a fold without a score (an empty score is none), columns in any order
  auto p = pairs_from("a,b,genuine,score,fold\nx.jpg,y.jpg,1,,3\nx.jpg,z.jpg,0,0.25,4\n", "h1.csv");
  ASSERT_EQ(p.size(), 2u);
  EXPECT_TRUE(p[0].genuine);
  EXPECT_FALSE(p[0].score);
  EXPECT_EQ(p[0].fold, 3);
  EXPECT_DOUBLE_EQ(*p[1].score, 0.25);
  EXPECT_EQ(p[1].fold, 4);
  p = pairs_from("fold,genuine,b,a\n7,0,y.jpg,x.jpg\n", "h2.csv");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].a, "x.jpg");
  EXPECT_EQ(p[0].b, "y.jpg");
  EXPECT_EQ(p[0].fold, 7);
  EXPECT_FALSE(p[0].score);
}

TEST(Pairs, PositionalWithoutHeader) {
  auto p = pairs_from("x.jpg,y.jpg,1,0.5,2\nx.jpg,z.jpg,0\n", "p.csv");
  ASSERT_EQ(p.size(), 2u);
  EXPECT_DOUBLE_EQ(*p[0].score, 0.5);
  EXPECT_EQ(p[0].fold, 2);
  EXPECT_FALSE(p[1].score);
}

TEST(Pairs, ErrorsNameFileLineAndProblem) {
  for (const auto& [text, want] : std::vector<std::pair<std::string, std::string>>{
           {"a,b,genuine,weight\nx,y,1,2\n", "unknown column 'weight'"},
           {"a,b,genuine,fold\nx,y,1\n", "line 2: expected as many fields"},
           {"a,b,genuine,fold\nx,y,1,two\n", "line 2: bad fold 'two'"},
           {"x,y,maybe\n", "line 1: genuine must be 1/0"},
           {"x,y,1,abc\n", "line 1: bad score 'abc'"}}) {
    try {
      pairs_from(text, "bad.csv");
      ADD_FAILURE() << "no error for " << text;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("bad.csv"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace vitnt::eval
