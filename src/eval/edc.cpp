#include "eval/edc.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>
#include <stdexcept>

#include "vitnt/vitnt.h"

namespace vitnt::eval {

double threshold_at_fmr(std::vector<double> imp, double fmr) {
  if (imp.empty()) throw Error("no impostor comparisons: cannot fix a threshold");
  std::sort(imp.begin(), imp.end());
  const double n = static_cast<double>(imp.size());
  // #(imp > s) is non-increasing in s: find the first sorted score that satisfies it.
  size_t lo = 0, hi = imp.size() - 1;  // imp[hi] (the largest) always gives FMR 0
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    size_t greater = imp.end() - std::upper_bound(imp.begin(), imp.end(), imp[mid]);
    if (greater <= fmr * n)
      hi = mid;
    else
      lo = mid + 1;
  }
  return imp[lo];
}

EdcCurve edc(const std::vector<double>& score, const std::vector<double>& quality, double t,
             double max_discard, int steps_per_unit) {
  const size_t G = score.size();
  if (G == 0 || quality.size() != G) throw Error("EDC needs one quality per genuine pair");
  std::vector<size_t> order(G);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return quality[a] < quality[b]; });
  // errors among the k lowest-quality pairs, for every k
  std::vector<size_t> errors_before(G + 1, 0);
  for (size_t k = 0; k < G; ++k) errors_before[k + 1] = errors_before[k] + (score[order[k]] <= t);
  const size_t total_errors = errors_before[G];
  EdcCurve c;
  c.threshold = t;
  const long steps = std::lround(max_discard * steps_per_unit);
  for (long i = 0; i <= steps; ++i) {
    const size_t k = static_cast<size_t>(i) * G / static_cast<size_t>(steps_per_unit);  // floor
    if (k >= G) break;
    c.discard.push_back(static_cast<double>(i) / steps_per_unit);
    c.fnmr.push_back(static_cast<double>(total_errors - errors_before[k]) / (G - k));
  }
  return c;
}

double pauc(const EdcCurve& c, double max_r) {
  double area = 0;
  for (size_t i = 1; i < c.discard.size() && c.discard[i] <= max_r + 1e-12; ++i)
    area += 0.5 * (c.fnmr[i] + c.fnmr[i - 1]) * (c.discard[i] - c.discard[i - 1]);
  return area;
}

std::vector<double> fold_accuracies(const std::vector<double>& scores,
                                    const std::vector<bool>& genuine,
                                    const std::vector<int>& fold) {
  // the folds present, whatever their numbering (LFW 0..9, CFP's official 1..10)
  const std::set<int> present(fold.begin(), fold.end());
  const size_t folds = present.size();
  std::vector<double> acc;
  for (int f : present) {
    // best threshold on the other folds: sweep the sorted scores
    std::vector<std::pair<double, bool>> train;
    // one fold only (pairs without folds): the threshold is fitted in-sample
    for (size_t i = 0; i < scores.size(); ++i)
      if (fold[i] != f || folds == 1) train.push_back({scores[i], genuine[i]});
    std::sort(train.begin(), train.end());
    size_t pos = 0;
    for (auto& p : train) pos += p.second;
    // threshold below everything: all predicted genuine
    size_t correct = pos, best = correct;
    double best_t = train.empty() ? 0 : train.front().first - 1;
    for (size_t i = 0; i < train.size(); ++i) {
      correct += train[i].second ? -1 : 1;  // train[i] now predicted impostor (score <= t)
      if ((i + 1 == train.size() || train[i + 1].first > train[i].first) && correct > best) {
        best = correct;  // midway to the next score: less biased towards either class
        best_t =
            i + 1 < train.size() ? 0.5 * (train[i].first + train[i + 1].first) : train[i].first;
      }
    }
    size_t right = 0, n = 0;
    for (size_t i = 0; i < scores.size(); ++i)
      if (fold[i] == f) {
        ++n;
        right += (scores[i] > best_t) == genuine[i];
      }
    acc.push_back(static_cast<double>(right) / n);  // n > 0: f is present
  }
  return acc;
}

}  // namespace vitnt::eval
