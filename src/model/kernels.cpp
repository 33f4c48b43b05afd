#include "model/kernels.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>

#include "vitnt/vitnt.h"

// Each kernel is compiled for x86-64-v4 (AVX-512), x86-64-v3 (AVX2 + FMA) and the
// baseline, and one level is chosen once per process: the best the CPU has, or the one
// VITNT_KERNEL_ISA names (tests force every level; a level's vector width fixes its
// reduction order, so results are exact within a level, not across levels).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(VITNT_NO_CLONES)
#define VITNT_KERNEL_LEVELS 1
#endif

namespace vitnt::model {

namespace baseline {
#include "model/kernels_impl.inc"
}  // namespace baseline

#ifdef VITNT_KERNEL_LEVELS
#pragma GCC push_options
#pragma GCC target("arch=x86-64-v3")
namespace v3 {
#include "model/kernels_impl.inc"
}  // namespace v3
#pragma GCC pop_options
#pragma GCC push_options
#pragma GCC target("arch=x86-64-v4")
namespace v4 {
#include "model/kernels_impl.inc"
}  // namespace v4
#pragma GCC pop_options
#endif

namespace {

struct RowKernels {
  const char* level;
  void (*to_bf16_row)(const float*, uint16_t*, int);
  void (*softmax_row)(float*, int);
  void (*layer_norm_row)(const float*, float*, int, const float*, const float*);
  void (*l2_normalize_row)(float*, int);
  double (*distance)(const float*, const float*, int);
};

#define VITNT_LEVEL(ns, name)                                                                      \
  RowKernels {                                                                                     \
    name, ns::to_bf16_row, ns::softmax_row, ns::layer_norm_row, ns::l2_normalize_row, ns::distance \
  }

bool cpu_has(const std::string& level) {
#ifdef VITNT_KERNEL_LEVELS
  __builtin_cpu_init();
  if (level == "avx512")
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512cd");
  if (level == "avx2")
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
           __builtin_cpu_supports("bmi2");
#endif
  return level == "baseline";
}

RowKernels pick() {
  const char* forced = std::getenv("VITNT_KERNEL_ISA");
  std::string want = forced && *forced ? forced : "";
  if (!want.empty() && want != "avx512" && want != "avx2" && want != "baseline")
    throw Error("VITNT_KERNEL_ISA=" + want + ": expected avx512, avx2 or baseline");
  if (!want.empty() && !cpu_has(want))
    throw Error("VITNT_KERNEL_ISA=" + want + ": this CPU (or this build) has no " + want +
                " kernels");
#ifdef VITNT_KERNEL_LEVELS
  if (want == "avx512" || (want.empty() && cpu_has("avx512"))) return VITNT_LEVEL(v4, "avx512");
  if (want == "avx2" || (want.empty() && cpu_has("avx2"))) return VITNT_LEVEL(v3, "avx2");
#endif
  return VITNT_LEVEL(baseline, "baseline");
}

const RowKernels& kernels() {
  static const RowKernels k = pick();
  return k;
}

}  // namespace

const char* row_kernel_level() { return kernels().level; }

void to_bf16_row(const float* x, uint16_t* y, int n) { kernels().to_bf16_row(x, y, n); }
void softmax_row(float* r, int n) { kernels().softmax_row(r, n); }
void layer_norm_row(const float* x, float* y, int d, const float* gamma, const float* beta) {
  kernels().layer_norm_row(x, y, d, gamma, beta);
}
void l2_normalize_row(float* x, int d) { kernels().l2_normalize_row(x, d); }
double distance(const float* a, const float* b, int d) { return kernels().distance(a, b, d); }

}  // namespace vitnt::model
