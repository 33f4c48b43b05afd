// The vectorised row kernels against plain double-precision formulas.
#include "model/kernels.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>
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
  EXPECT_GT(exp_nonpositive(-87.0f), 1e-38f);  // still normal
  EXPECT_EQ(exp_nonpositive(-87.5f), 0.0f);
  EXPECT_EQ(exp_nonpositive(-1000.0f), 0.0f);
  EXPECT_EQ(exp_nonpositive(-std::numeric_limits<float>::infinity()), 0.0f);  // masked scores
  EXPECT_TRUE(std::isnan(exp_nonpositive(std::numeric_limits<float>::quiet_NaN())));
}

float from_bf16(uint16_t h) { return std::bit_cast<float>(static_cast<uint32_t>(h) << 16); }

TEST(Kernels, Bf16RoundsToNearestEvenAndKeepsNaN) {
  EXPECT_EQ(from_bf16(to_bf16(1.0f)), 1.0f);
  EXPECT_EQ(from_bf16(to_bf16(-2.5f)), -2.5f);
  // 1 + 2^-8 lies halfway between 1 and 1 + 2^-7: ties go to the even mantissa (1)
  EXPECT_EQ(from_bf16(to_bf16(1.0f + 1.0f / 256)), 1.0f);
  EXPECT_EQ(from_bf16(to_bf16(1.0f + 3.0f / 256)), 1.0f + 4.0f / 256);
  EXPECT_EQ(from_bf16(to_bf16(1.0f + 1.1f / 256)), 1.0f + 1.0f / 128);
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(from_bf16(to_bf16(inf)), inf);
  EXPECT_EQ(from_bf16(to_bf16(3.4e38f)), inf);  // rounds past the largest bf16
  for (uint32_t bits : {0x7fc00000u, 0xffc00000u, 0x7f800001u, 0x7fffffffu, 0xffffffffu})
    EXPECT_TRUE(std::isnan(from_bf16(to_bf16(std::bit_cast<float>(bits))))) << std::hex << bits;
  std::vector<float> row = {0.1f, -7.0f, 1e-30f, 65504.0f};
  std::vector<uint16_t> out(row.size());
  to_bf16_row(row.data(), out.data(), static_cast<int>(row.size()));
  for (size_t i = 0; i < row.size(); ++i) {
    EXPECT_EQ(out[i], to_bf16(row[i]));
    EXPECT_NEAR(from_bf16(out[i]), row[i], std::abs(row[i]) / 256);
  }
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
  // the kernel subtracts in float, the reference in double
  EXPECT_NEAR(distance(z.data(), other.data(), d), std::sqrt(d2), 1e-7 * std::sqrt(d2));
  std::vector<float> zero(d, 0.0f);
  l2_normalize_row(zero.data(), d);  // stays zero, no NaN
  for (float v : zero) EXPECT_EQ(v, 0.0f);
}

}  // namespace
}  // namespace vitnt::model
