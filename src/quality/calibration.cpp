// The calibrated scalar (vitnt.h: Calibration): evaluation, JSON, and the isotonic fit.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <nlohmann/json.hpp>
#include <numeric>

#include "vitnt/vitnt.h"

namespace vitnt {

double Calibration::probability(float quality) const {
  if (q.empty()) return 0;
  if (quality <= q.front()) return p.front();
  if (quality >= q.back()) return p.back();
  const size_t i = std::upper_bound(q.begin(), q.end(), quality) - q.begin();  // q[i-1] <= Q < q[i]
  const double t = (quality - q[i - 1]) / static_cast<double>(q[i] - q[i - 1]);
  return p[i - 1] + t * (p[i] - p[i - 1]);
}

int Calibration::scalar(float quality) const {
  return std::clamp(static_cast<int>(std::lround(100.0 * probability(quality))), 0, 100);
}

// Names travel in CSV cells, JSON and URL queries: keep them plain.
bool valid_calibration_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char ch : name)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '_' && ch != '.')
      return false;
  return true;
}

Calibration parse_calibration(const std::string& json_text, const std::string& origin,
                              const std::string& unnamed_as) {
  Calibration c;
  auto bad = [&](const std::string& what) { throw Error(origin + ": calibration: " + what); };
  try {
    const nlohmann::json j = nlohmann::json::parse(json_text);
    if (j.value("version", 1) != 1) bad("unknown version " + j["version"].dump());
    c.name = j.value("name", unnamed_as);
    c.q = j.at("knots").at("q").get<std::vector<float>>();
    c.p = j.at("knots").at("p").get<std::vector<float>>();
    const auto& s = j.at("settings");
    c.first_block = s.at("blocks").at(0).get<int>();
    c.last_block = s.at("blocks").at(1).get<int>();
    c.scaling = s.at("scaling").get<float>();
    c.aggregation = parse_aggregation(s.at("aggregation").get<std::string>());
    c.fr_system = j.value("fr_system", std::string());
    c.fmr = j.value("fmr", c.fmr);
    c.threshold = j.value("threshold", 0.0);
    c.data = j.value("data", std::string());
    c.mated = j.value("mated", size_t{0});
    c.fitted = j.value("fitted", std::string());
  } catch (const nlohmann::json::exception& e) {
    bad(e.what());
  } catch (const Error& e) {
    bad(e.what());
  }
  if (!valid_calibration_name(c.name))
    bad("name '" + c.name + "' must be 1-64 letters, digits, '-', '_' or '.'");
  if (c.q.empty() || c.q.size() != c.p.size()) bad("knots q and p must be non-empty, equal length");
  for (size_t i = 0; i < c.q.size(); ++i) {
    if (!(c.p[i] >= 0 && c.p[i] <= 1)) bad("knot p values must be in [0, 1]");
    if (i && !(c.q[i] > c.q[i - 1])) bad("knot q values must be strictly increasing");
    if (i && c.p[i] < c.p[i - 1]) bad("knot p values must be non-decreasing (monotone)");
  }
  return c;
}

std::string calibration_to_json(const Calibration& c) {
  nlohmann::json j = {
      {"version", 1},
      {"name", c.name},
      {"definition",
       "scalar = round(100 * P(a mated comparison of the image against a good-quality image of "
       "the same person is a match at the threshold | Q)); linear between knots"},
      {"fr_system", c.fr_system},
      {"fmr", c.fmr},
      {"threshold", c.threshold},
      {"settings",
       {{"blocks", {c.first_block, c.last_block}},
        {"scaling", c.scaling},
        {"aggregation", to_string(c.aggregation)}}},
      {"data", c.data},
      {"mated", c.mated},
      {"fitted", c.fitted},
      {"knots", {{"q", c.q}, {"p", c.p}}}};
  return j.dump(1);
}

const Calibration* ModelConfig::calibration(const std::string& want) const {
  const std::string& n = want.empty() ? default_calibration : want;
  for (const Calibration& c : calibrations)
    if (c.name == n) return &c;
  if (want.empty()) return calibrations.empty() ? nullptr : &calibrations.front();
  std::string known;
  for (const Calibration& c : calibrations) known += (known.empty() ? "" : ", ") + c.name;
  throw Error("the model " + (name.empty() ? std::string() : "'" + name + "' ") +
              "has no calibration for '" + want + "' (" +
              (known.empty() ? "it has none" : "it has: " + known) + ")");
}

void ModelConfig::set_calibration(Calibration c) {
  if (!valid_calibration_name(c.name))
    throw Error("calibration name '" + c.name + "' must be 1-64 letters, digits, '-', '_' or '.'");
  if (default_calibration.empty()) default_calibration = c.name;
  for (Calibration& have : calibrations)
    if (have.name == c.name) return void(have = std::move(c));
  calibrations.push_back(std::move(c));
}

Calibration fit_calibration(const std::vector<float>& quality, const std::vector<bool>& match,
                            size_t min_bin) {
  if (quality.size() != match.size() || quality.empty())
    throw Error("calibration fit: need as many match outcomes as qualities (and some)");
  std::vector<size_t> order(quality.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return quality[a] < quality[b]; });
  // equal-count bins; equal Q never split
  struct Block {
    double q_sum = 0, hits = 0, n = 0;
  };
  std::vector<Block> blocks;
  const size_t bin = std::max<size_t>(1, min_bin);
  for (size_t k = 0; k < order.size();) {
    Block b;
    size_t end = std::min(order.size(), k + bin);
    while (end < order.size() && quality[order[end]] == quality[order[end - 1]]) ++end;
    if (order.size() - end < bin / 2) end = order.size();  // no tiny last bin
    for (; k < end; ++k) {
      b.q_sum += quality[order[k]];
      b.hits += match[order[k]];
      b.n += 1;
    }
    blocks.push_back(b);
  }
  // pool adjacent violators: merge while a block's rate is below its predecessor's
  std::vector<Block> pooled;
  for (const Block& b : blocks) {
    pooled.push_back(b);
    while (pooled.size() > 1) {
      Block& last = pooled.back();
      Block& prev = pooled[pooled.size() - 2];
      if (prev.hits / prev.n <= last.hits / last.n) break;
      prev.q_sum += last.q_sum, prev.hits += last.hits, prev.n += last.n;
      pooled.pop_back();
    }
  }
  Calibration c;
  for (const Block& b : pooled) {
    const float q = static_cast<float>(b.q_sum / b.n);
    if (!c.q.empty() && !(q > c.q.back())) continue;  // float rounding: keep q strictly rising
    c.q.push_back(q);
    c.p.push_back(static_cast<float>(b.hits / b.n));
  }
  c.mated = quality.size();
  return c;
}

}  // namespace vitnt
