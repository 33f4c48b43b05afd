#include "eval/edc.h"

#include <gtest/gtest.h>

namespace vitnt::eval {
namespace {

TEST(Edc, ThresholdFollowsTheDefinition) {
  // 10 impostors 0.1..1.0; FMR 0.1 allows one score above t: t = 0.9
  std::vector<double> imp = {0.5, 0.1, 0.9, 0.3, 1.0, 0.2, 0.7, 0.4, 0.8, 0.6};
  EXPECT_DOUBLE_EQ(threshold_at_fmr(imp, 0.1), 0.9);
  EXPECT_DOUBLE_EQ(threshold_at_fmr(imp, 0.0), 1.0);   // the largest always qualifies
  EXPECT_DOUBLE_EQ(threshold_at_fmr(imp, 0.35), 0.7);  // 3 above 0.7
  EXPECT_DOUBLE_EQ(threshold_at_fmr(imp, 1.0), 0.1);
  // ties: two impostors at 0.9 -> at 0.8, 3 above; FMR 0.25 allows 2 above -> t = 0.8
  EXPECT_DOUBLE_EQ(threshold_at_fmr({0.9, 0.9, 0.8, 0.1, 0.2, 0.3, 0.4, 0.5}, 0.25), 0.8);
  EXPECT_THROW(threshold_at_fmr({}, 0.1), std::exception);
}

TEST(Edc, DiscardsLowestQualityFirstWithTiesByInputOrder) {
  // 4 genuine pairs, t = 0.5: pairs 0 and 2 are errors (score <= t)
  std::vector<double> score = {0.5, 0.9, 0.2, 0.8};
  std::vector<double> quality = {0.1, 0.1, 0.3, 0.9};  // pair 0 and 1 tie: 0 goes first
  EdcCurve c = edc(score, quality, 0.5, 0.5, 4);       // r = 0, .25, .5
  ASSERT_EQ(c.discard.size(), 3u);
  EXPECT_DOUBLE_EQ(c.fnmr[0], 0.5);      // 2 errors of 4
  EXPECT_DOUBLE_EQ(c.fnmr[1], 1.0 / 3);  // pair 0 removed
  EXPECT_DOUBLE_EQ(c.fnmr[2], 0.5);      // pairs 0, 1 removed: 1 error of 2
  EXPECT_DOUBLE_EQ(pauc(c, 0.5), 0.25 * (0.5 + 1.0 / 3) / 2 + 0.25 * (1.0 / 3 + 0.5) / 2);
  // swapping the tie order changes the curve: the tie rule is real
  EdcCurve d = edc({0.9, 0.5, 0.2, 0.8}, quality, 0.5, 0.5, 4);
  EXPECT_DOUBLE_EQ(d.fnmr[1], 2.0 / 3);
}

TEST(Edc, FloorOfDiscardCount) {
  // G = 3, step 0.001: r = 0.333 removes floor(0.999) = 0 pairs, r = 0.334 removes 1
  EdcCurve c = edc({0.1, 0.9, 0.9}, {0.0, 0.5, 0.6}, 0.5, 0.4);
  EXPECT_DOUBLE_EQ(c.fnmr[333], 1.0 / 3);
  EXPECT_DOUBLE_EQ(c.fnmr[334], 0.0);
}

TEST(Edc, FoldAccuracy) {
  std::vector<double> s = {0.9, 0.8, 0.1, 0.2, 0.7, 0.3};
  std::vector<bool> g = {true, true, false, false, true, false};
  auto acc = fold_accuracies(s, g, {0, 0, 0, 1, 1, 1});
  ASSERT_EQ(acc.size(), 2u);
  EXPECT_DOUBLE_EQ(acc[0], 1.0);
  EXPECT_DOUBLE_EQ(acc[1], 1.0);
  // a single fold: best in-sample threshold (0.5 separates the classes perfectly)
  auto one = fold_accuracies(s, g, {0, 0, 0, 0, 0, 0});
  ASSERT_EQ(one.size(), 1u);
  EXPECT_DOUBLE_EQ(one[0], 1.0);
  // folds numbered from 1 (CFP's official split): no empty fold 0 counted
  EXPECT_EQ(fold_accuracies(s, g, {1, 1, 1, 2, 2, 2}), acc);
  EXPECT_EQ(fold_accuracies(s, g, {7, 7, 7, 7, 7, 7}), one);
}

}  // namespace
}  // namespace vitnt::eval
