// Error-versus-Discard Characteristic (EDC) and pAUC, exactly as the FIQA literature
// uses them (../shared/docs/method.md, "Evaluation protocol"):
// - a comparison is a match when its score is strictly greater than the threshold t;
// - t is fixed once on all impostor pairs: the smallest impostor score s with
//   FMR(s) = #(impostor > s) / #impostor <= target FMR;
// - a pair's quality is the minimum of its two images' qualities;
// - at discard fraction r the floor(r * G) genuine pairs of lowest quality are removed
//   (ties broken by input order); FNMR(r) = #(kept genuine with score <= t) / #kept;
// - pAUC(R) is the trapezoidal area of FNMR over r = 0, step, ..., R (not normalised).
#pragma once

#include <vector>

namespace vitnt::eval {

// Smallest impostor score s with #(impostor > s) / n <= fmr. Needs impostors.
double threshold_at_fmr(std::vector<double> impostor_scores, double fmr);

struct EdcCurve {
  double threshold = 0;
  std::vector<double> discard;  // r = 0, step, 2 step, ...
  std::vector<double> fnmr;
};

// genuine_scores[i], genuine_quality[i]: one genuine pair each, in input order.
EdcCurve edc(const std::vector<double>& genuine_scores, const std::vector<double>& genuine_quality,
             double threshold, double max_discard, int steps_per_unit = 1000);

// Trapezoidal area of the curve from r = 0 to max_r (a curve point).
double pauc(const EdcCurve& curve, double max_r);

// 10-fold style verification accuracy: for each fold, the threshold that maximises
// accuracy on the other folds, applied to the fold (with a single fold: fitted on it,
// in-sample). Returns per-fold accuracies.
std::vector<double> fold_accuracies(const std::vector<double>& scores,
                                    const std::vector<bool>& genuine, const std::vector<int>& fold);

}  // namespace vitnt::eval
