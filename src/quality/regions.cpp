// Fixed facial regions of the aligned template, and which patches cover them.
#include <algorithm>

#include "vitnt/vitnt.h"

namespace vitnt {

const std::vector<FaceRegion>& face_regions() {
  // Around the ArcFace 112x112 template landmarks: eyes (38.3, 51.7) and (73.5, 51.5),
  // nose tip (56.0, 71.7), mouth corners (41.5, 92.4) and (70.7, 92.2). Eyes and nose
  // do not overlap, so an occluded region can be told from its neighbours.
  static const std::vector<FaceRegion> regions = {
      {"left_eye", 24, 41, 53, 62},    {"right_eye", 59, 41, 88, 62},
      {"nose", 46, 62, 66, 82},        {"mouth", 34, 83, 78, 102},
      {"forehead", 24, 12, 88, 38},    {"left_cheek", 14, 64, 42, 88},
      {"right_cheek", 70, 64, 98, 88}, {"chin", 38, 102, 74, 112}};
  return regions;
}

std::vector<std::vector<float>> region_patch_overlap(int img_size, int patch_size) {
  const int grid = img_size / patch_size;
  const float scale = img_size / 112.0f;
  std::vector<std::vector<float>> out;
  for (const FaceRegion& r : face_regions()) {
    std::vector<float> w(static_cast<size_t>(grid) * grid, 0.0f);
    for (int row = 0; row < grid; ++row)
      for (int col = 0; col < grid; ++col) {
        const float px0 = col * patch_size, px1 = px0 + patch_size;
        const float py0 = row * patch_size, py1 = py0 + patch_size;
        const float ox = std::min(px1, r.x1 * scale) - std::max(px0, r.x0 * scale);
        const float oy = std::min(py1, r.y1 * scale) - std::max(py0, r.y0 * scale);
        if (ox > 0 && oy > 0) w[static_cast<size_t>(row) * grid + col] = ox * oy;
      }
    out.push_back(std::move(w));
  }
  return out;
}

}  // namespace vitnt
