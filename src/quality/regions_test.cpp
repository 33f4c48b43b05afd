#include <gtest/gtest.h>

#include "vitnt/vitnt.h"

namespace vitnt {
namespace {

// The patches (row, col) with any overlap for region `name` of a grid.
std::vector<std::pair<int, int>> covering(int patch, const std::string& name) {
  const auto w = region_patch_overlap(112, patch);
  const int grid = 112 / patch;
  for (size_t r = 0; r < face_regions().size(); ++r) {
    if (face_regions()[r].name != name) continue;
    std::vector<std::pair<int, int>> out;
    for (int i = 0; i < grid * grid; ++i)
      if (w[r][i] > 0) out.push_back({i / grid, i % grid});
    return out;
  }
  return {};
}

TEST(Regions, PatchesOfThe16Grid) {
  // left eye x 24..53, y 41..62: columns 1..3, rows 2..3
  EXPECT_EQ(covering(16, "left_eye"),
            (std::vector<std::pair<int, int>>{{2, 1}, {2, 2}, {2, 3}, {3, 1}, {3, 2}, {3, 3}}));
  // mouth x 34..78, y 83..102: columns 2..4, rows 5..6
  EXPECT_EQ(covering(16, "mouth"),
            (std::vector<std::pair<int, int>>{{5, 2}, {5, 3}, {5, 4}, {6, 2}, {6, 3}, {6, 4}}));
  const auto w = region_patch_overlap(112, 16);
  EXPECT_FLOAT_EQ(w[0][2 * 7 + 1], 8 * 7);  // left eye in patch (2,1): x 24..32, y 41..48
}

TEST(Regions, PatchesOfThe8And9Grids) {
  // patch 8 (14x14): left eye columns 3..6 (24..56), rows 5..7 (40..64)
  auto le = covering(8, "left_eye");
  EXPECT_EQ(le.front(), (std::pair<int, int>{5, 3}));
  EXPECT_EQ(le.back(), (std::pair<int, int>{7, 6}));
  EXPECT_EQ(le.size(), 12u);
  // patch 9 (12x12 grid covering 0..108): chin y 102..112 is only in row 11 (99..108)
  for (const auto& [row, col] : covering(9, "chin")) EXPECT_EQ(row, 11);
  EXPECT_EQ(covering(9, "chin").size(), 5u);  // x 38..74: columns 4..8 (36..81)
  // the overlap areas of a region add up to its area inside the grid
  const auto w8 = region_patch_overlap(112, 8);
  float total = 0;
  for (float v : w8[3]) total += v;  // mouth: 44 x 19
  EXPECT_FLOAT_EQ(total, 44 * 19);
}

TEST(Regions, EyesAndNoseDoNotOverlap) {
  const auto& r = face_regions();
  ASSERT_GE(r.size(), 4u);
  EXPECT_EQ(r[0].name, "left_eye");
  EXPECT_EQ(r[3].name, "mouth");
  for (int a = 0; a < 4; ++a)
    for (int b = a + 1; b < 4; ++b) {
      const bool apart =
          r[a].x1 <= r[b].x0 || r[b].x1 <= r[a].x0 || r[a].y1 <= r[b].y0 || r[b].y1 <= r[a].y0;
      EXPECT_TRUE(apart) << r[a].name << " / " << r[b].name;
    }
}

}  // namespace
}  // namespace vitnt
