#include "eval/groups.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <set>

#include "eval/quality_file.h"
#include "vitnt/vitnt.h"

namespace fs = std::filesystem;

namespace vitnt::eval {

Groups read_groups(const std::string& file, const std::string& root) {
  std::ifstream f(file);
  if (!f) throw Error(file + ": cannot read the groups file");
  Groups g;
  std::string line;
  size_t n = 0;
  int path_col = -1;
  std::vector<int> cols;
  std::set<std::string> seen;
  auto bad = [&](const std::string& what) {
    throw Error(file + ": line " + std::to_string(n) + ": " + what);
  };
  while (std::getline(f, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const std::vector<std::string> t = split_csv(line);
    if (path_col < 0) {  // the header
      for (size_t i = 0; i < t.size(); ++i) {
        if (t[i] == "path")
          path_col = static_cast<int>(i);
        else
          cols.push_back(static_cast<int>(i)), g.attributes.push_back(t[i]);
      }
      if (path_col < 0) bad("the header must name a 'path' column (and attribute columns)");
      if (cols.empty()) bad("no attribute column beside 'path' (e.g. gender,race,age)");
      continue;
    }
    if (t.size() < std::max<size_t>(path_col, *std::max_element(cols.begin(), cols.end())) + 1)
      bad("expected " + std::to_string(g.attributes.size() + 1) + " fields, got " +
          std::to_string(t.size()));
    const std::string& p = t[path_col];
    if (p.empty()) bad("empty path");
    std::string full =
        (root.empty() || fs::path(p).is_absolute()) ? p : (fs::path(root) / p).string();
    if (!seen.insert(image_key(full)).second) bad("'" + p + "' is listed twice");
    std::vector<std::string> v;
    for (size_t k = 0; k < cols.size(); ++k) {
      if (t[cols[k]].empty()) bad("empty '" + g.attributes[k] + "' for " + p);
      v.push_back(t[cols[k]]);
    }
    g.paths.push_back(std::move(full));
    g.values.push_back(std::move(v));
  }
  if (path_col < 0 || g.paths.empty()) throw Error(file + ": no rows");
  return g;
}

namespace {

double quantile(std::vector<double> v, double p) {  // linear interpolation, as numpy
  std::sort(v.begin(), v.end());
  const double h = (v.size() - 1) * p;
  const size_t lo = static_cast<size_t>(std::floor(h));
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (h - lo) * (v[hi] - v[lo]);
}

// Threshold that discards `share` of `values`: the value at rank floor(share * n) of the
// sorted list; values strictly below it are rejected (ties at the threshold kept).
double discard_threshold(std::vector<double> v, double share) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(std::floor(share * v.size())))];
}

Differential differential(const std::vector<std::vector<char>>& rejected,  // [group][image]
                          const std::vector<std::string>& names, int bootstrap,
                          std::mt19937_64& rng) {
  auto ratio = [](const std::vector<double>& share, size_t* hi, size_t* lo) {
    size_t h = 0, l = 0;
    for (size_t k = 1; k < share.size(); ++k) {
      if (share[k] > share[h]) h = k;
      if (share[k] < share[l]) l = k;
    }
    if (h == l && share.size() > 1) l = h == 0 ? 1 : 0;  // all equal: still two groups
    if (hi) *hi = h, *lo = l;
    return share[l] > 0 ? share[h] / share[l] : std::numeric_limits<double>::infinity();
  };
  std::vector<double> share;
  for (const auto& r : rejected) {
    size_t k = 0;
    for (char c : r) k += c;
    share.push_back(r.empty() ? 0.0 : double(k) / r.size());
  }
  Differential d;
  size_t hi = 0, lo = 0;
  d.ratio = ratio(share, &hi, &lo);
  d.highest = names[hi], d.lowest = names[lo];
  std::vector<double> boots;
  for (int b = 0; b < bootstrap; ++b) {
    std::vector<double> s;
    for (const auto& r : rejected) {
      if (r.empty()) {
        s.push_back(0);
        continue;
      }
      std::uniform_int_distribution<size_t> pick(0, r.size() - 1);
      size_t k = 0;
      for (size_t i = 0; i < r.size(); ++i) k += r[pick(rng)];
      s.push_back(double(k) / r.size());
    }
    // the same two groups' ratio: the max / min of resampled shares is biased upward (with
    // equal groups its interval would not contain 1)
    boots.push_back(s[lo] > 0 ? s[hi] / s[lo] : std::numeric_limits<double>::infinity());
  }
  // permutation test of "rejection does not depend on the group"
  std::vector<char> pooled;
  for (const auto& r : rejected) pooled.insert(pooled.end(), r.begin(), r.end());
  size_t as_extreme = 0;
  for (int b = 0; b < bootstrap; ++b) {
    std::shuffle(pooled.begin(), pooled.end(), rng);
    std::vector<double> s;
    size_t at = 0;
    for (const auto& r : rejected) {
      size_t k = 0;
      for (size_t i = 0; i < r.size(); ++i) k += pooled[at + i];
      at += r.size();
      s.push_back(r.empty() ? 0.0 : double(k) / r.size());
    }
    as_extreme += ratio(s, nullptr, nullptr) >= d.ratio;
  }
  d.p_value = double(1 + as_extreme) / (1 + bootstrap);
  if (!boots.empty()) {  // percentiles; an infinite ratio sorts last
    std::sort(boots.begin(), boots.end());
    d.lo = boots[static_cast<size_t>(0.025 * (boots.size() - 1))];
    d.hi = boots[static_cast<size_t>(std::ceil(0.975 * (boots.size() - 1)))];
  }
  return d;
}

}  // namespace

MethodGroupReport group_report(const Groups& groups, const GroupMethod& method,
                               const std::vector<Pair>* pairs, double threshold, int bootstrap,
                               unsigned seed) {
  MethodGroupReport out;
  out.method = method.name;
  const size_t n = groups.paths.size();
  std::vector<double> q(n);
  std::vector<int> sc(n, -1);
  bool all_scalar = method.scalar && !method.scalar->empty();
  for (size_t i = 0; i < n; ++i) {
    const std::string& k = image_key(groups.paths[i]);
    auto it = method.quality->find(k);
    if (it == method.quality->end())
      throw Error(method.name + ": no quality for " + groups.paths[i] +
                  " of the groups file (every listed image needs one)");
    q[i] = it->second;
    if (all_scalar) {
      auto s = method.scalar->find(k);
      if (s == method.scalar->end())
        all_scalar = false;
      else
        sc[i] = s->second;
    }
  }
  out.images = n;
  out.cuts.push_back({"discard 5 %", discard_threshold(q, 0.05), false});
  out.cuts.push_back({"discard 20 %", discard_threshold(q, 0.20), false});
  if (all_scalar)
    for (int c : {20, 40, 60, 80})
      out.cuts.push_back({"scalar < " + std::to_string(c), double(c), true});
  auto rejected_at = [&](size_t i, const Cut& c) {
    return c.on_scalar ? sc[i] < c.threshold : q[i] < c.threshold;
  };
  // per image: its index by key, for the pairs
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < n; ++i) index[image_key(groups.paths[i])] = i;
  std::mt19937_64 rng(seed);
  for (size_t a = 0; a < groups.attributes.size(); ++a) {
    AttributeReport ar;
    ar.attribute = groups.attributes[a];
    std::map<std::string, std::vector<size_t>> members;
    for (size_t i = 0; i < n; ++i) members[groups.values[i][a]].push_back(i);
    std::vector<std::string> names;
    std::vector<std::vector<std::vector<char>>> rejected(out.cuts.size());  // [cut][group][image]
    for (const auto& [value, idx] : members) {
      GroupStats g;
      g.value = value;
      g.n = idx.size();
      std::vector<double> gq;
      for (size_t i : idx) gq.push_back(q[i]);
      const double ps[5] = {0.05, 0.25, 0.5, 0.75, 0.95};
      for (int k = 0; k < 5; ++k) g.quantiles[k] = quantile(gq, ps[k]);
      for (size_t c = 0; c < out.cuts.size(); ++c) {
        std::vector<char> r;
        for (size_t i : idx) r.push_back(rejected_at(i, out.cuts[c]));
        size_t k = 0;
        for (char x : r) k += x;
        g.rejected.push_back(double(k) / r.size());
        rejected[c].push_back(std::move(r));
      }
      if (pairs) {  // genuine pairs inside the group: FNMR before and after the 20 % cut
        size_t fail = 0, kept = 0, kept_fail = 0;
        for (const Pair& p : *pairs) {
          if (!p.genuine || !p.score) continue;
          auto ia = index.find(image_key(p.a)), ib = index.find(image_key(p.b));
          if (ia == index.end() || ib == index.end()) continue;
          if (groups.values[ia->second][a] != value || groups.values[ib->second][a] != value)
            continue;
          const bool f = !(*p.score > threshold);
          ++g.genuine, fail += f;
          if (std::min(q[ia->second], q[ib->second]) >= out.cuts[1].threshold)
            ++kept, kept_fail += f;
        }
        if (g.genuine) {
          g.fnmr_before = double(fail) / g.genuine;
          g.fnmr_after = kept ? double(kept_fail) / kept : 0.0;
          g.discarded = 1.0 - double(kept) / g.genuine;
        }
      }
      names.push_back(value);
      ar.groups.push_back(std::move(g));
    }
    for (size_t c = 0; c < out.cuts.size(); ++c)
      ar.differentials.push_back(differential(rejected[c], names, bootstrap, rng));
    out.attributes.push_back(std::move(ar));
  }
  return out;
}

}  // namespace vitnt::eval
