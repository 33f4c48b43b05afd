#include "video/best_shot.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace vitnt::video {

std::vector<const TrackedFace*> kept_faces(const std::vector<TrackedFace>& faces) {
  std::vector<const TrackedFace*> kept;
  for (const TrackedFace& f : faces)
    if (f.rank > 0) kept.push_back(&f);
  std::sort(kept.begin(), kept.end(), [](const TrackedFace* a, const TrackedFace* b) {
    return a->track != b->track ? a->track < b->track : a->rank < b->rank;
  });
  return kept;
}

std::vector<size_t> select_best(const std::vector<Candidate>& candidates, int top,
                                double min_gap_s) {
  std::vector<size_t> order(candidates.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (candidates[a].key != candidates[b].key) return candidates[a].key > candidates[b].key;
    return candidates[a].time_s < candidates[b].time_s;
  });
  std::vector<size_t> kept;
  for (size_t i : order) {
    if (static_cast<int>(kept.size()) >= top) break;
    bool far = true;
    for (size_t k : kept)
      if (std::abs(candidates[i].time_s - candidates[k].time_s) < min_gap_s) far = false;
    if (far) kept.push_back(i);
  }
  return kept;
}

}  // namespace vitnt::video
