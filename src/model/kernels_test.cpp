// The vectorised row kernels against plain double-precision formulas.
#include "model/kernels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace vitnt::model {
namespace {

TEST(Kernels, ExpMatchesLibmOnTheSoftmaxRange) {
  double worst = 0;
  for (int i = 0; i <= 2000000; ++i) {
    const float x = -87.0f * i / 2000000;
    const double want = std::exp(static_cast<double>(x));
    worst = std::max(worst, std::abs(exp_nonpositive(x) - want) / want);
  }
  EXPECT_LT(worst, 2e-7);
  EXPECT_EQ(exp_nonpositive(0.0f), 1.0f);
  EXPECT_GE(exp_nonpositive(-1000.0f), 0.0f);
  EXPECT_LT(exp_nonpositive(-1000.0f), 1e-37f);
}

TEST(Kernels, SoftmaxRowMatchesDouble) {
  std::mt19937 rng(1);
  std::normal_distribution<float> g(0.0f, 8.0f);
  for (int n : {1, 7, 16, 49, 196, 197}) {
    std::vector<float> r(n);
    for (auto& v : r) v = g(rng);
    std::vector<double> want(n);
    double mx = -1e300, sum = 0;
    for (float v : r) mx = std::max(mx, static_cast<double>(v));
    for (int j = 0; j < n; ++j) sum += want[j] = std::exp(r[j] - mx);
    softmax_row(r.data(), n);
    double total = 0;
    for (int j = 0; j < n; ++j) {
      EXPECT_NEAR(r[j], want[j] / sum, 1e-6) << "n " << n << " j " << j;
      total += r[j];
    }
    EXPECT_NEAR(total, 1.0, 1e-5);
  }
}

TEST(Kernels, LayerNormNormaliseDistanceMatchDouble) {
  std::mt19937 rng(2);
  std::normal_distribution<float> g(0.5f, 3.0f);
  const int d = 200;
  std::vector<float> x(d), y(d), gamma(d), beta(d), other(d);
  for (int j = 0; j < d; ++j) x[j] = g(rng), gamma[j] = g(rng), beta[j] = g(rng), other[j] = g(rng);
  double mean = 0, var = 0;
  for (float v : x) mean += v;
  mean /= d;
  for (float v : x) var += (v - mean) * (v - mean);
  var /= d;
  layer_norm_row(x.data(), y.data(), d, gamma.data(), beta.data());
  for (int j = 0; j < d; ++j)
    EXPECT_NEAR(y[j], (x[j] - mean) / std::sqrt(var + 1e-5) * gamma[j] + beta[j], 2e-5);

  double n2 = 0, d2 = 0;
  for (float v : y) n2 += static_cast<double>(v) * v;
  std::vector<float> z = y;
  l2_normalize_row(z.data(), d);
  for (int j = 0; j < d; ++j) {
    EXPECT_NEAR(z[j], y[j] / std::sqrt(n2), 1e-6);
    d2 += (static_cast<double>(z[j]) - other[j]) * (static_cast<double>(z[j]) - other[j]);
  }
  EXPECT_NEAR(distance(z.data(), other.data(), d), std::sqrt(d2), 1e-6);  // float differences
  std::vector<float> zero(d, 0.0f);
  l2_normalize_row(zero.data(), d);  // stays zero, no NaN
  for (float v : zero) EXPECT_EQ(v, 0.0f);
}

}  // namespace
}  // namespace vitnt::model
