// Which faces of a track to keep: the K best by quality, at least T seconds apart.
#pragma once

#include <string>
#include <vector>

#include "vitnt/video.h"
#include "vitnt/vitnt.h"

namespace vitnt::video {

// The one place that says what "best" means: Q. The calibrated scalar is a monotone
// function of Q (one calibration per model and settings), so ranking by Q is ranking by
// the scalar, with the scalar's ties (it is an integer) broken by Q.
inline float ranking_key(const FaceScore& s) { return s.quality; }
// The scalar column of the outputs: empty when the model has no calibration.
inline std::string scalar_text(const FaceScore& s) {
  return s.scalar >= 0 ? std::to_string(s.scalar) : std::string();
}

// The kept faces of a source (rank >= 1), ordered by track, then rank: the order of
// best.csv, of vitnt.best_frames and of /v1/best.
std::vector<const TrackedFace*> kept_faces(const std::vector<TrackedFace>& faces);

struct Candidate {
  double time_s;
  float key;  // ranking_key of its score
};

// Greedy: candidates by key (higher first; ties: the earlier one), each taken when it is
// at least min_gap_s from every one taken before, until `top` are taken. Returns their
// indices, best first. min_gap_s <= 0: simply the top K.
std::vector<size_t> select_best(const std::vector<Candidate>& candidates, int top,
                                double min_gap_s);

}  // namespace vitnt::video
