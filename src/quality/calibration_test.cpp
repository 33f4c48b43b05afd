#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "eval/calibrate.h"
#include "vitnt/vitnt.h"

namespace vitnt {
namespace {

TEST(Calibration, FitOnAHandMadeCase) {
  // Q in 0..1; the match probability is 0.2 below Q = 0.5 and 0.9 above: the fit must
  // find both levels and be a non-decreasing step between them.
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(0, 1);
  std::vector<float> q;
  std::vector<bool> match;
  for (int i = 0; i < 20000; ++i) {
    q.push_back(u(rng));
    match.push_back(u(rng) < (q.back() < 0.5f ? 0.2f : 0.9f));
  }
  Calibration c = fit_calibration(q, match, 200);
  ASSERT_GE(c.q.size(), 2u);
  for (size_t i = 1; i < c.q.size(); ++i) {
    EXPECT_GT(c.q[i], c.q[i - 1]);
    EXPECT_GE(c.p[i], c.p[i - 1]);
  }
  EXPECT_NEAR(c.probability(0.2f), 0.2, 0.03);
  EXPECT_NEAR(c.probability(0.8f), 0.9, 0.03);
  EXPECT_NEAR(c.scalar(0.1f), 20, 3);  // sampling noise of ~2,000 outcomes per level
  EXPECT_NEAR(c.scalar(0.95f), 90, 3);
  EXPECT_EQ(c.mated, 20000u);
}

TEST(Calibration, PoolsViolatorsExactly) {
  // bins of 2: rates 1.0, 0.0, 0.5 -> PAV pools the first two (0.5), then 0.5 = 0.5
  // stays: knots at the pooled means; monotone everywhere; constant outside the knots.
  const std::vector<float> q = {1, 2, 3, 4, 5, 6};
  const std::vector<bool> m = {true, true, false, false, true, false};
  Calibration c = fit_calibration(q, m, 2);
  ASSERT_EQ(c.q.size(), 2u);
  EXPECT_FLOAT_EQ(c.q[0], 2.5f);
  EXPECT_FLOAT_EQ(c.p[0], 0.5f);
  EXPECT_FLOAT_EQ(c.q[1], 5.5f);
  EXPECT_FLOAT_EQ(c.p[1], 0.5f);
  EXPECT_EQ(c.scalar(-100), 50);
  EXPECT_EQ(c.scalar(100), 50);
}

TEST(Calibration, ScalarIsMonotoneAndInRange) {
  Calibration c;
  c.q = {0.001f, 0.004f, 0.009f};
  c.p = {0.05f, 0.40f, 0.97f};
  int prev = -1;
  for (float x = -1; x < 1; x += 1e-4f) {
    const int s = c.scalar(x);
    EXPECT_GE(s, prev);
    EXPECT_GE(s, 0);
    EXPECT_LE(s, 100);
    prev = s;
  }
  EXPECT_EQ(c.scalar(0.0022f), 19);  // 40 % of the way: 0.05 + 0.4 * 0.35 = 0.19
}

TEST(Calibration, JsonRoundTripAndValidation) {
  Calibration c;
  c.q = {0.001f, 0.004f};
  c.p = {0.1f, 0.8f};
  c.first_block = 2, c.last_block = 6, c.scaling = 16, c.aggregation = Aggregation::AttentionLast;
  c.fr_system = "own", c.fmr = 1e-3, c.threshold = 0.31, c.data = "x", c.mated = 7;
  c.fitted = "2026-12-01";
  c.name = "edgeface-xs";
  Calibration r = parse_calibration(calibration_to_json(c), "test");
  EXPECT_EQ(r.name, "edgeface-xs");
  EXPECT_EQ(r.q, c.q);
  EXPECT_EQ(r.p, c.p);
  EXPECT_EQ(r.last_block, 6);
  EXPECT_EQ(r.threshold, 0.31);
  EXPECT_EQ(r.mated, 7u);
  // a description carries it through model_config_to_json / parse_model_config
  ModelConfig m = builtin_arch("cvlface-vit-s");
  m.set_calibration(c);
  ModelConfig back = parse_model_config(model_config_to_json(m), "test");
  ASSERT_TRUE(back.calibration());
  EXPECT_EQ(back.calibration()->p, c.p);
  EXPECT_EQ(back.calibration()->name, "edgeface-xs");
  // not monotone, out of range, unequal lengths: refused with the origin named
  for (
      const char* bad :
      {R"({"knots":{"q":[1,2],"p":[0.5,0.4]},"settings":{"blocks":[0,1],"scaling":8,"aggregation":"uniform"}})",
       R"({"knots":{"q":[1,2],"p":[0.5,1.4]},"settings":{"blocks":[0,1],"scaling":8,"aggregation":"uniform"}})",
       R"({"knots":{"q":[2,1],"p":[0.1,0.4]},"settings":{"blocks":[0,1],"scaling":8,"aggregation":"uniform"}})",
       R"({"knots":{"q":[1],"p":[0.1,0.4]},"settings":{"blocks":[0,1],"scaling":8,"aggregation":"uniform"}})"}) {
    try {
      parse_calibration(bad, "cal.json");
      ADD_FAILURE() << "accepted " << bad;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("cal.json"), std::string::npos) << e.what();
    }
  }
}

Calibration block(const std::string& name, float p) {
  Calibration c;
  c.name = name, c.q = {0.001f, 0.004f}, c.p = {p, p};
  c.first_block = 2, c.last_block = 6, c.scaling = 16, c.aggregation = Aggregation::AttentionLast;
  return c;
}

TEST(Calibration, NamedBlocksRoundTripAndUnknownNamesAreRefused) {
  ModelConfig m = builtin_arch("cvlface-vit-s");
  EXPECT_EQ(m.calibration(), nullptr);  // none: no scalar, not an error
  EXPECT_THROW(m.calibration("own"), Error);
  m.set_calibration(block("own", 0.25f));
  m.set_calibration(block("edgeface-xs", 0.75f));
  EXPECT_EQ(m.default_calibration, "own");  // the first one added
  m.set_calibration(block("own", 0.5f));    // replaces, keeps its place and the default
  ASSERT_EQ(m.calibrations.size(), 2u);
  m.default_calibration = "edgeface-xs";
  ModelConfig back = parse_model_config(model_config_to_json(m), "desc.json");
  ASSERT_EQ(back.calibrations.size(), 2u);
  EXPECT_EQ(back.default_calibration, "edgeface-xs");
  EXPECT_EQ(back.calibration()->name, "edgeface-xs");
  EXPECT_EQ(back.calibration("")->p[0], 0.75f);
  EXPECT_EQ(back.calibration("own")->p[0], 0.5f);
  try {
    back.calibration("arcface");
    ADD_FAILURE() << "an unknown calibration name was accepted";
  } catch (const Error& e) {  // the message lists what the model has
    EXPECT_NE(std::string(e.what()).find("'arcface'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("own, edgeface-xs"), std::string::npos) << e.what();
  }
  EXPECT_THROW(m.set_calibration(block("bad name", 0.5f)), Error);
  EXPECT_THROW(m.set_calibration(block("", 0.5f)), Error);
  // a description written before blocks had names: its one block is "default"
  nlohmann::json old = nlohmann::json::parse(model_config_to_json(builtin_arch("cvlface-vit-s")));
  old["calibration"] = nlohmann::json::parse(calibration_to_json(block("own", 0.5f)));
  old["calibration"].erase("name");
  ModelConfig legacy = parse_model_config(old.dump(), "old.json");
  EXPECT_EQ(legacy.default_calibration, "default");
  EXPECT_EQ(legacy.calibration()->name, "default");
  // two blocks of one name, a default naming no block, a listed block without a name
  nlohmann::json j = nlohmann::json::parse(model_config_to_json(m));
  nlohmann::json dup = j;
  dup["calibrations"].push_back(dup["calibrations"][0]);
  EXPECT_THROW(parse_model_config(dup.dump(), "dup.json"), Error);
  nlohmann::json nodef = j;
  nodef["default_calibration"] = "arcface";
  EXPECT_THROW(parse_model_config(nodef.dump(), "nodef.json"), Error);
  nlohmann::json unnamed = j;
  unnamed["calibrations"][0].erase("name");
  EXPECT_THROW(parse_model_config(unnamed.dump(), "unnamed.json"), Error);
}

TEST(Calibration, FromPairsUsesTheImpostorThresholdAndTheLowerQuality) {
  std::vector<eval::Pair> pairs;
  std::map<std::string, double> q;
  for (int i = 0; i < 1000; ++i) {  // impostors 0.000 .. 0.999: threshold at FMR 1e-2 = 0.989
    pairs.push_back({"i" + std::to_string(i), "j" + std::to_string(i), false, i / 1000.0, 0});
    q["i" + std::to_string(i)] = q["j" + std::to_string(i)] = 0.5;
  }
  for (int i = 0; i < 400; ++i) {  // genuine: matches exactly when the lower Q is high
    const bool good = i % 2;
    pairs.push_back(
        {"a" + std::to_string(i), "b" + std::to_string(i), true, good ? 0.995 : 0.5, 0});
    q["a" + std::to_string(i)] = good ? 0.9 : 0.1;
    q["b" + std::to_string(i)] = 0.95;
  }
  Calibration c = eval::calibrate_from_pairs(pairs, q, 1e-2, 20);
  EXPECT_DOUBLE_EQ(c.threshold, 0.989);
  EXPECT_EQ(c.scalar(0.1f), 0);
  EXPECT_EQ(c.scalar(0.9f), 100);
  EXPECT_EQ(c.mated, 400u);
  pairs.push_back({"x", "y", true, 0.9, 0});
  EXPECT_THROW(eval::calibrate_from_pairs(pairs, q, 1e-2, 20), Error);  // no quality for x
}

TEST(Calibration, PartnerQuantileKeepsOnlyPairsWithAGoodPartner) {
  // impostors 0.000 .. 0.999 (Q 0.5); genuine pairs (probe Q 0.1 or 0.9, partner Q 0.2 or
  // 0.95): a probe with the poor partner never matches, with the good one always; images
  // in pairs: 2000 impostor images at 0.5, probes 100 at 0.1 and 100 at 0.9, partners 100
  // at 0.2 and 100 at 0.95 -> the 0.97 quantile of the 2400 images is 0.95
  std::vector<eval::Pair> pairs;
  std::map<std::string, double> q;
  for (int i = 0; i < 1000; ++i) {
    pairs.push_back({"i" + std::to_string(i), "j" + std::to_string(i), false, i / 1000.0, 0});
    q["i" + std::to_string(i)] = q["j" + std::to_string(i)] = 0.5;
  }
  for (int i = 0; i < 200; ++i) {
    const bool good_partner = i % 2;
    const std::string a = "a" + std::to_string(i), b = "b" + std::to_string(i);
    pairs.push_back({a, b, true, good_partner ? 0.995 : 0.5, 0});
    q[a] = i % 4 < 2 ? 0.1 : 0.9;
    q[b] = good_partner ? 0.95 : 0.2;
  }
  const Calibration all = eval::calibrate_from_pairs(pairs, q, 1e-2, 20);
  const Calibration good = eval::calibrate_from_pairs(pairs, q, 1e-2, 20, 0.97);
  EXPECT_EQ(all.mated, 200u);
  EXPECT_EQ(good.mated, 100u);                      // the poor partners' pairs left out
  EXPECT_EQ(good.scalar(0.1f), 100);                // against a good partner every probe matched
  EXPECT_LT(all.scalar(0.1f), 60);                  // the poor partners pull it down
  EXPECT_DOUBLE_EQ(good.threshold, all.threshold);  // impostors are not filtered
  EXPECT_THROW(eval::calibrate_from_pairs(pairs, q, 1e-2, 20, 1.0), Error);
}

TEST(Reliability, DecilesAndEce) {
  // predicted 0.15 (bin 1) observed 1 of 4; predicted 0.95 (bin 9) observed 4 of 4
  std::vector<double> p = {0.15, 0.15, 0.15, 0.15, 0.95, 0.95, 0.95, 0.95};
  std::vector<bool> m = {true, false, false, false, true, true, true, true};
  eval::Reliability r = eval::reliability(p, m);
  EXPECT_EQ(r.bins[1].n, 4u);
  EXPECT_DOUBLE_EQ(r.bins[1].observed, 0.25);
  EXPECT_EQ(r.bins[9].n, 4u);
  EXPECT_NEAR(r.ece, 0.5 * 0.10 + 0.5 * 0.05, 1e-12);
}

TEST(Reliability, EqualCountBinsSeeWhatOneWideBinHides) {
  // 10 pairs predicted 0.96..0.99, all in one equal-width bin; the lower half never
  // matches and the upper half always does: equal-count bins see it
  std::vector<double> p;
  std::vector<bool> m;
  for (int i = 0; i < 10; ++i) p.push_back(0.96 + 0.003 * i), m.push_back(i >= 5);
  const eval::Reliability wide = eval::reliability(p, m);
  const eval::Reliability eq = eval::reliability_equal_count(p, m, 2);
  ASSERT_EQ(eq.bins.size(), 2u);
  EXPECT_EQ(eq.bins[0].n, 5u);
  EXPECT_DOUBLE_EQ(eq.bins[0].observed, 0.0);
  EXPECT_DOUBLE_EQ(eq.bins[1].observed, 1.0);
  EXPECT_DOUBLE_EQ(eq.bins[0].lo, 0.96);
  EXPECT_NEAR(eq.bins[1].hi, 0.987, 1e-12);
  const double mean_lo = 0.96 + 0.003 * 2, mean_hi = 0.96 + 0.003 * 7;
  EXPECT_NEAR(eq.ece, 0.5 * mean_lo + 0.5 * (1 - mean_hi), 1e-12);
  EXPECT_LT(wide.ece, eq.ece);  // the single wide bin averages the two halves away
  // 7 pairs into 3 bins: 2, 2, 3
  const eval::Reliability three =
      eval::reliability_equal_count({0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7}, {1, 0, 1, 0, 1, 0, 1}, 3);
  ASSERT_EQ(three.bins.size(), 3u);
  EXPECT_EQ(three.bins[0].n + three.bins[1].n + three.bins[2].n, 7u);
  EXPECT_EQ(three.bins[2].n, 3u);
}

}  // namespace
}  // namespace vitnt
