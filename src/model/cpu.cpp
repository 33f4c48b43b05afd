#include "model/cpu.h"

#include <cstdlib>
#include <dnnl.hpp>
#include <fstream>
#include <set>
#include <sstream>

namespace vitnt::model {

namespace {

std::string isa_name(dnnl::cpu_isa isa) {
  switch (isa) {
    case dnnl::cpu_isa::sse41:
      return "sse41";
    case dnnl::cpu_isa::avx:
      return "avx";
    case dnnl::cpu_isa::avx2:
      return "avx2";
    case dnnl::cpu_isa::avx2_vnni:
      return "avx2_vnni";
    case dnnl::cpu_isa::avx512_mic:
      return "avx512_mic";
    case dnnl::cpu_isa::avx512_mic_4ops:
      return "avx512_mic_4ops";
    case dnnl::cpu_isa::avx512_core:
      return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni:
      return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16:
      return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx:
      return "avx512_core_amx";
    case dnnl::cpu_isa::all:
      return "all";
    default:
      return "isa " + std::to_string(static_cast<int>(isa));
  }
}

// oneDNN 2.6 runs bf16 matmuls natively from avx512_core_bf16 up. On plain
// avx512_core it emulates them (slower than fp32: docs/performance.md), below that it
// has no bf16 kernel at all.
bool native_bf16(dnnl::cpu_isa isa) {
  return isa == dnnl::cpu_isa::avx512_core_bf16 || isa == dnnl::cpu_isa::avx512_core_amx;
}

CpuInfo read_cpu_info() {
  CpuInfo c;
  std::ifstream f("/proc/cpuinfo");
  std::set<std::string> flags;
  for (std::string line; std::getline(f, line) && !line.empty();) {  // the first CPU
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    key.erase(key.find_last_not_of(" \t") + 1);
    const std::string value = colon + 2 <= line.size() ? line.substr(colon + 2) : "";
    if (key == "model name") c.model_name = value;
    if (key == "cpu family") c.family = std::atoi(value.c_str());
    if (key == "model") c.model = std::atoi(value.c_str());
    if (key == "flags") {
      std::istringstream in(value);
      for (std::string w; in >> w;) flags.insert(w);
    }
  }
  c.avx2 = flags.count("avx2");
  c.fma = flags.count("fma");
  c.avx512f = flags.count("avx512f");
  c.avx512bw = flags.count("avx512bw");
  c.avx512vl = flags.count("avx512vl");
  c.avx512_bf16 = flags.count("avx512_bf16");
  c.avx512_vnni = flags.count("avx512_vnni");
  c.amx_bf16 = flags.count("amx_bf16");
  c.onednn_isa = isa_name(dnnl::get_effective_cpu_isa());
  c.onednn_isa_capped = std::getenv("ONEDNN_MAX_CPU_ISA") || std::getenv("DNNL_MAX_CPU_ISA");
  return c;
}

}  // namespace

const CpuInfo& cpu_info() {
  static const CpuInfo c = read_cpu_info();
  return c;
}

std::string bf16_unavailable_reason() {
  if (native_bf16(dnnl::get_effective_cpu_isa())) return "";
  const CpuInfo& c = cpu_info();
  std::string s = "bf16 precision needs a CPU with AVX512-BF16 or AMX-BF16; ";
  if (c.avx512_bf16 || c.amx_bf16)
    s += "this CPU has it, but oneDNN is limited to " + c.onednn_isa +
         (c.onednn_isa_capped ? " by ONEDNN_MAX_CPU_ISA" : "");
  else
    s += "this CPU (" + c.model_name + ", family " + std::to_string(c.family) + " model " +
         std::to_string(c.model) + ") has neither (oneDNN runs " + c.onednn_isa + ")";
  return s + ". Use fp32 (--precision fp32, the default: exact, and the faster choice here)";
}

void require_precision(Precision precision) {
  if (precision != Precision::BF16) return;
  const std::string why = bf16_unavailable_reason();
  if (!why.empty()) throw UnsupportedError(why);
}

}  // namespace vitnt::model
