#include "model/kernels.h"

#include <algorithm>
#include <cmath>
#include <limits>

// Each kernel is compiled for AVX-512, AVX2 and baseline x86-64; the loader picks the
// best the CPU has (GCC function multi-versioning), so a portable build is fast too.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(VITNT_NO_CLONES)
#define VITNT_KERNEL __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define VITNT_KERNEL
#endif

namespace vitnt::model {

VITNT_KERNEL void to_bf16_row(const float* x, uint16_t* y, int n) {
#pragma omp simd
  for (int j = 0; j < n; ++j) y[j] = to_bf16(x[j]);
}

VITNT_KERNEL void softmax_row(float* r, int n) {
  float mx = -std::numeric_limits<float>::infinity();
#pragma omp simd reduction(max : mx)
  for (int j = 0; j < n; ++j) mx = r[j] > mx ? r[j] : mx;
  float sum = 0;
#pragma omp simd reduction(+ : sum)
  for (int j = 0; j < n; ++j) {
    r[j] = exp_nonpositive(r[j] - mx);
    sum += r[j];
  }
  const float inv = 1.0f / sum;
#pragma omp simd
  for (int j = 0; j < n; ++j) r[j] *= inv;
}

VITNT_KERNEL void layer_norm_row(const float* x, float* y, int d, const float* gamma,
                                 const float* beta) {
  float mean = 0;
#pragma omp simd reduction(+ : mean)
  for (int i = 0; i < d; ++i) mean += x[i];
  mean /= d;
  float var = 0;
#pragma omp simd reduction(+ : var)
  for (int i = 0; i < d; ++i) var += (x[i] - mean) * (x[i] - mean);
  const float inv = 1.0f / std::sqrt(var / d + 1e-5f);
#pragma omp simd
  for (int i = 0; i < d; ++i) y[i] = (x[i] - mean) * inv * gamma[i] + beta[i];
}

VITNT_KERNEL void l2_normalize_row(float* x, int d) {
  double sq = 0;
#pragma omp simd reduction(+ : sq)
  for (int j = 0; j < d; ++j) sq += static_cast<double>(x[j]) * x[j];
  const float inv = static_cast<float>(1.0 / std::max(std::sqrt(sq), 1e-12));
#pragma omp simd
  for (int j = 0; j < d; ++j) x[j] *= inv;
}

VITNT_KERNEL double distance(const float* a, const float* b, int d) {
  double d2 = 0;
#pragma omp simd reduction(+ : d2)
  for (int j = 0; j < d; ++j) d2 += static_cast<double>(a[j] - b[j]) * (a[j] - b[j]);
  return std::sqrt(d2);
}

}  // namespace vitnt::model
