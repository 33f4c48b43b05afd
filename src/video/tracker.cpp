#include "video/tracker.h"

#include <algorithm>
#include <cmath>

namespace vitnt::video {

float box_iou(const Face& a, const Face& b) {
  const float ix = std::min(a.x + a.width, b.x + b.width) - std::max(a.x, b.x);
  const float iy = std::min(a.y + a.height, b.y + b.height) - std::max(a.y, b.y);
  if (ix <= 0 || iy <= 0) return 0;
  const float inter = ix * iy;
  const float uni = a.width * a.height + b.width * b.height - inter;
  return uni > 0 ? inter / uni : 0;
}

float landmark_distance(const Face& a, const Face& b) {
  const float size = std::sqrt(std::max(a.width * a.height, 1e-6f));
  float sum = 0;
  for (size_t i = 0; i < a.landmarks.size(); ++i)
    sum += std::hypot(a.landmarks[i].x - b.landmarks[i].x, a.landmarks[i].y - b.landmarks[i].y);
  return sum / a.landmarks.size() / size;
}

FaceTracker::FaceTracker(const TrackerOptions& options) : options_(options) {}

std::vector<int> FaceTracker::update(int frame, const std::vector<Face>& faces) {
  closed_.clear();
  std::erase_if(open_, [&](const Track& t) {
    const bool gone = frame - t.last_frame > options_.max_gap_frames;
    if (gone) closed_.push_back(t.id);
    return gone;
  });

  struct Pair {
    float affinity;
    size_t track, face;
  };
  std::vector<Pair> pairs;
  for (size_t t = 0; t < open_.size(); ++t)
    for (size_t f = 0; f < faces.size(); ++f) {
      const float iou = box_iou(open_[t].last, faces[f]);
      if (iou < options_.iou_threshold) continue;
      pairs.push_back(
          {iou - options_.landmark_weight * landmark_distance(open_[t].last, faces[f]), t, f});
    }
  // best first; ties by track then face index, so the result does not depend on sort order
  std::sort(pairs.begin(), pairs.end(), [](const Pair& a, const Pair& b) {
    if (a.affinity != b.affinity) return a.affinity > b.affinity;
    return a.track != b.track ? a.track < b.track : a.face < b.face;
  });

  std::vector<int> ids(faces.size(), 0);
  std::vector<bool> track_used(open_.size(), false);
  for (const Pair& p : pairs) {
    if (track_used[p.track] || ids[p.face] != 0) continue;
    track_used[p.track] = true;
    ids[p.face] = open_[p.track].id;
    open_[p.track].last = faces[p.face];
    open_[p.track].last_frame = frame;
  }
  for (size_t f = 0; f < faces.size(); ++f) {
    if (ids[f] != 0) continue;
    ids[f] = next_id_++;
    open_.push_back({ids[f], faces[f], frame});
  }
  return ids;
}

std::vector<int> FaceTracker::open_tracks() const {
  std::vector<int> ids;
  for (const Track& t : open_) ids.push_back(t.id);
  return ids;
}

}  // namespace vitnt::video
