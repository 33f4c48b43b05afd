// Best-shot selection: top K by the ranking key, at least min_gap_s apart.
#include "video/best_shot.h"

#include <gtest/gtest.h>

namespace vitnt::video {
namespace {

TEST(BestShot, TopKWithoutGap) {
  const std::vector<Candidate> c = {{0.0, 0.2f}, {0.1, 0.9f}, {0.2, 0.5f}, {0.3, 0.8f}};
  EXPECT_EQ(select_best(c, 1, 0), std::vector<size_t>{1});
  EXPECT_EQ(select_best(c, 3, 0), (std::vector<size_t>{1, 3, 2}));
  EXPECT_EQ(select_best(c, 10, 0), (std::vector<size_t>{1, 3, 2, 0}));  // fewer than K
  EXPECT_TRUE(select_best({}, 3, 1.0).empty());
}

TEST(BestShot, MinGapSkipsNeighbours) {
  // the two best are 0.1 s apart; with a 1 s gap the second pick is the best one >= 1 s away
  const std::vector<Candidate> c = {{0.0, 0.90f}, {0.1, 0.95f}, {0.6, 0.80f},
                                    {1.1, 0.50f}, {1.2, 0.60f}, {3.0, 0.10f}};
  EXPECT_EQ(select_best(c, 2, 1.0), (std::vector<size_t>{1, 4}));
  EXPECT_EQ(select_best(c, 5, 1.0), (std::vector<size_t>{1, 4, 5}));  // no more fit
  // exactly the gap apart is allowed
  EXPECT_EQ(select_best({{0.0, 0.9f}, {1.0, 0.8f}}, 2, 1.0), (std::vector<size_t>{0, 1}));
}

TEST(BestShot, TiesGoToTheEarlierFace) {
  const std::vector<Candidate> c = {{2.0, 0.5f}, {1.0, 0.5f}, {3.0, 0.5f}};
  EXPECT_EQ(select_best(c, 2, 0), (std::vector<size_t>{1, 0}));
}

TEST(BestShot, RankingKeyIsTheQuality) {
  FaceScore s;
  s.quality = 0.7f;
  EXPECT_EQ(ranking_key(s), 0.7f);
  EXPECT_EQ(scalar_text(s), "");  // uncalibrated
  s.scalar = 83;
  EXPECT_EQ(scalar_text(s), "83");
  EXPECT_EQ(ranking_key(s), 0.7f);
}

}  // namespace
}  // namespace vitnt::video
