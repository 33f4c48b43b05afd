// Face tracks across the frames of one video: plain greedy matching of each frame's
// detections to the tracks still open, by box overlap (IoU) with a landmark term.
//
//   video::FaceTracker tracker;
//   for each processed frame f: std::vector<int> ids = tracker.update(f, faces);
#pragma once

#include <vector>

#include "vitnt/video.h"

namespace vitnt::video {

// IoU of two boxes (0 when either is empty).
float box_iou(const Face& a, const Face& b);

// Mean distance of the 5 landmarks of a and b, in units of a's box size (sqrt(w h)):
// 0 for the same pose at the same place, ~0.1 for a small move or turn.
float landmark_distance(const Face& a, const Face& b);

class FaceTracker {
 public:
  explicit FaceTracker(const TrackerOptions& options = {});

  // The faces of frame `frame` (frame numbers increase; gaps, e.g. from a stride, are
  // fine). Returns a track id per face, in the order given (new tracks get the next id,
  // from 1). Tracks last seen more than max_gap_frames before `frame` are closed first;
  // then pairs (open track, face) with IoU >= iou_threshold are taken greedily, best
  // affinity (IoU - landmark_weight * landmark_distance) first, each track and face at
  // most once; unmatched faces start new tracks.
  std::vector<int> update(int frame, const std::vector<Face>& faces);

  // Ids of the tracks closed by the last update() (their faces will not grow any more).
  const std::vector<int>& closed() const { return closed_; }
  // Ids of all tracks still open.
  std::vector<int> open_tracks() const;

 private:
  struct Track {
    int id;
    Face last;       // the face matched last
    int last_frame;  // where it was
  };
  TrackerOptions options_;
  std::vector<Track> open_;
  std::vector<int> closed_;
  int next_id_ = 1;
};

}  // namespace vitnt::video
