// Which faces of a track to keep: the K best by quality, at least T seconds apart.
#pragma once

#include <string>
#include <vector>

#include "vitnt/vitnt.h"

namespace vitnt::video {

// The one place that says what "best" means: Q today. When FaceScore gets a calibrated
// `scalar` (>= 0), rank by it instead:  return s.scalar >= 0 ? s.scalar : s.quality;
inline float ranking_key(const FaceScore& s) { return s.quality; }
// The scalar column of the outputs: empty while FaceScore has no calibrated scalar.
inline std::string scalar_text(const FaceScore&) { return ""; }

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
