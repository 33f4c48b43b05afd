// What this CPU is and what the engine will run on it: the CPU model and its family /
// model numbers (family 25 is both Zen 3 and Zen 4: the model number and the flags
// tell), the instruction set oneDNN dispatches its GEMMs to (ONEDNN_MAX_CPU_ISA
// applied), the level of our own row kernels, and whether bf16 can run.
#pragma once

#include <string>

#include "vitnt/vitnt.h"

namespace vitnt::model {

struct CpuInfo {
  std::string model_name = "unknown";
  int family = 0, model = 0;
  bool avx2 = false, fma = false, avx512f = false, avx512bw = false, avx512vl = false,
       avx512_bf16 = false, avx512_vnni = false, amx_bf16 = false;
  std::string onednn_isa;  // e.g. "avx2", "avx512_core", "avx512_core_bf16", "avx512_core_amx"
  bool onednn_isa_capped = false;  // ONEDNN_MAX_CPU_ISA is set
};

// Read once: /proc/cpuinfo (first CPU) and oneDNN's effective ISA.
const CpuInfo& cpu_info();

// "" when bf16 GEMMs run natively here (oneDNN dispatches to AVX512-BF16 or AMX), else
// why not, naming the missing CPU feature and the fp32 alternative.
std::string bf16_unavailable_reason();

// Throws Error(bf16_unavailable_reason()) for Precision::BF16 where it cannot run.
void require_precision(Precision precision);

}  // namespace vitnt::model
