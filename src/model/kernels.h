// Row kernels of the forward pass that are not GEMMs: plain loops the compiler
// vectorises (kernels.cpp builds them for AVX-512, AVX2 and baseline x86-64 and picks one
// per process), each row reduced in a fixed order so a result never depends on the
// batch size or the thread count.
#pragma once

#include <bit>
#include <cstdint>

namespace vitnt::model {

// e^x for x <= 0 (softmax after subtracting the row maximum); relative error below
// 2e-7 for x >= -87, 0 below (-inf included), NaN for NaN. Plain arithmetic so loops
// over it vectorise.
inline float exp_nonpositive(float in) {
  const float x = in < -87.0f ? -87.0f : in;  // e^-87 ~ 1.6e-38: the last normal floats
  const float shifter = 12582912.0f;          // 1.5 * 2^23: adding it rounds to an integer
  const float k = x * 1.44269504088896341f + shifter;
  const float n = k - shifter;                                                 // round(x / ln 2)
  const float r = (x - n * 0.693145751953125f) - n * 1.42860682030941723e-6f;  // |r| <= ln2/2
  // e^r, Taylor to degree 7 (truncation error < 6e-9 on |r| <= 0.347)
  float p = 1.0f / 5040;
  p = p * r + 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t e = (std::bit_cast<int32_t>(k) - 0x4B400000 + 127) << 23;  // 2^n
  return in < -87.0f ? 0.0f : p * std::bit_cast<float>(e);
}

// float -> bfloat16 bits, round to nearest even; NaN stays a (quiet) NaN.
inline uint16_t to_bf16(float x) {
  const uint32_t b = std::bit_cast<uint32_t>(x);
  const uint32_t rounded = (b + 0x7fff + ((b >> 16) & 1)) >> 16;
  const bool nan = (b & 0x7fffffff) > 0x7f800000;
  return static_cast<uint16_t>(nan ? (b >> 16) | 0x40 : rounded);
}
void to_bf16_row(const float* x, uint16_t* y, int n);

// The level the row kernels run at here: "avx512", "avx2" or "baseline" (the best the
// CPU has, or VITNT_KERNEL_ISA's; an unknown or unsupported VITNT_KERNEL_ISA throws Error).
const char* row_kernel_level();

// In place: r[j] = e^(r[j] - max) / sum.
void softmax_row(float* r, int n);

// LayerNorm of one row of d values (eps 1e-5), in place allowed.
void layer_norm_row(const float* x, float* y, int d, const float* gamma, const float* beta);

// Scales a row to unit L2 norm (a zero row stays zero).
void l2_normalize_row(float* x, int d);

// Euclidean distance between two rows (accumulated in double).
double distance(const float* a, const float* b, int d);

}  // namespace vitnt::model
