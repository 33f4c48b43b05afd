#include "eval/calibrate.h"

#include <algorithm>
#include <cmath>

#include "eval/edc.h"

namespace vitnt::eval {

Calibration calibrate_from_pairs(const std::vector<Pair>& pairs,
                                 const std::map<std::string, double>& quality, double fmr,
                                 size_t min_bin, double partner_quantile) {
  if (!(partner_quantile >= 0 && partner_quantile < 1))
    throw Error("calibration: the partner quantile must be in [0, 1)");
  std::vector<double> impostor;
  for (const Pair& p : pairs) {
    if (!p.score)
      throw Error("calibration: pair " + p.a + " / " + p.b + " has no comparison score");
    if (!p.genuine) impostor.push_back(*p.score);
  }
  if (impostor.size() < static_cast<size_t>(std::ceil(1.0 / fmr)))
    throw Error("calibration: " + std::to_string(impostor.size()) +
                " impostor pairs cannot resolve FMR " + std::to_string(fmr) +
                " (need >= " + std::to_string(static_cast<size_t>(std::ceil(1.0 / fmr))) + ")");
  const double t = threshold_at_fmr(impostor, fmr);
  // the partner's bar: that quantile of the Q of the images in the pairs (linear
  // interpolation between order statistics, as numpy.quantile)
  std::map<std::string, double> seen;
  for (const Pair& p : pairs)
    for (const std::string* s : {&p.a, &p.b}) {
      auto it = quality.find(*s);
      if (it == quality.end()) throw Error("calibration: no quality for " + *s);
      seen.emplace(*s, it->second);
    }
  std::vector<double> all;
  for (const auto& [path, v] : seen) all.push_back(v);
  std::sort(all.begin(), all.end());
  const double h = (all.size() - 1) * partner_quantile;
  const size_t lo = static_cast<size_t>(std::floor(h));
  const double bar = partner_quantile > 0
                         ? all[lo] + (h - lo) * (all[std::min(lo + 1, all.size() - 1)] - all[lo])
                         : -INFINITY;
  std::vector<float> q;
  std::vector<bool> match;
  for (const Pair& p : pairs) {
    if (!p.genuine) continue;
    const double qa = seen[p.a], qb = seen[p.b];
    if (std::max(qa, qb) < bar) continue;  // no good partner: not what the scalar promises
    q.push_back(static_cast<float>(std::min(qa, qb)));
    match.push_back(*p.score > t);
  }
  if (q.empty()) throw Error("calibration: no genuine pairs (with a partner above the quantile)");
  Calibration c = fit_calibration(q, match, min_bin);
  c.fmr = fmr;
  c.threshold = t;
  return c;
}

Reliability reliability(const std::vector<double>& predicted, const std::vector<bool>& match,
                        int bins) {
  Reliability r;
  r.bins.resize(bins);
  for (int b = 0; b < bins; ++b)
    r.bins[b].lo = double(b) / bins, r.bins[b].hi = double(b + 1) / bins;
  for (size_t i = 0; i < predicted.size(); ++i) {
    const int b = std::clamp(static_cast<int>(predicted[i] * bins), 0, bins - 1);
    r.bins[b].n += 1;
    r.bins[b].predicted += predicted[i];
    r.bins[b].observed += match[i];
  }
  r.n = predicted.size();
  for (ReliabilityBin& b : r.bins) {
    if (!b.n) continue;
    b.predicted /= b.n;
    b.observed /= b.n;
    r.ece += double(b.n) / r.n * std::abs(b.predicted - b.observed);
  }
  return r;
}

Reliability reliability_equal_count(const std::vector<double>& predicted,
                                    const std::vector<bool>& match, int bins) {
  Reliability r;
  r.n = predicted.size();
  std::vector<size_t> order(r.n);
  for (size_t i = 0; i < r.n; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return predicted[a] < predicted[b]; });
  for (int b = 0; b < bins && r.n; ++b) {
    const size_t from = r.n * b / bins, to = r.n * (b + 1) / bins;
    if (from == to) continue;
    ReliabilityBin bin;
    bin.lo = predicted[order[from]];
    bin.hi = predicted[order[to - 1]];
    bin.n = to - from;
    for (size_t k = from; k < to; ++k)
      bin.predicted += predicted[order[k]], bin.observed += match[order[k]];
    bin.predicted /= bin.n;
    bin.observed /= bin.n;
    r.ece += double(bin.n) / r.n * std::abs(bin.predicted - bin.observed);
    r.bins.push_back(bin);
  }
  return r;
}

}  // namespace vitnt::eval
