// Fitting and checking the calibrated scalar (vitnt.h: Calibration) on comparison pairs.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "eval/pairs.h"
#include "vitnt/vitnt.h"

namespace vitnt::eval {

// Genuine pairs' outcomes at the FR system's threshold for `fmr` (from the impostor
// pairs), against pair quality = the lower of the two images' Q, fitted by
// fit_calibration. Every pair needs a score; `quality` maps image path -> Q (pairs with
// an image missing from it are an error naming the image). partner_quantile > 0: only the
// genuine pairs whose better image has Q at or above that quantile of the pairs' images
// (the scalar promises a comparison against a good image of the person).
Calibration calibrate_from_pairs(const std::vector<Pair>& pairs,
                                 const std::map<std::string, double>& quality, double fmr,
                                 size_t min_bin = 50, double partner_quantile = 0);

// Reliability of predicted match probabilities: bins of predicted probability (deciles
// of the scalar: [0, 0.1), ..., [0.9, 1]), each with its count, mean prediction and
// observed match rate; ECE = sum over bins of n_b / N * |predicted_b - observed_b|.
struct ReliabilityBin {
  double lo = 0, hi = 0;
  size_t n = 0;
  double predicted = 0, observed = 0;
};
struct Reliability {
  std::vector<ReliabilityBin> bins;
  double ece = 0;
  size_t n = 0;
};
Reliability reliability(const std::vector<double>& predicted, const std::vector<bool>& match,
                        int bins = 10);
// The same with equal-count bins: the predictions sorted (ties in input order) and cut into
// `bins` groups whose sizes differ by at most one; lo / hi are each group's smallest and
// largest prediction. With predictions piled at 0.96-1.0, equal-width bins put nearly every
// pair in one bin and hide the miscalibration this shows.
Reliability reliability_equal_count(const std::vector<double>& predicted,
                                    const std::vector<bool>& match, int bins = 10);

}  // namespace vitnt::eval
