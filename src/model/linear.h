// A linear layer on oneDNN's matmul primitive: weights re-packed once into the layout
// the primitive prefers, bias / ReLU6 / residual-add fused into the GEMM epilogue.
// fp32 (exact path) or bf16 inputs and weights with fp32 accumulation (AVX512-BF16).
#pragma once

#include <dnnl.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "io/safetensors.h"
#include "vitnt/vitnt.h"

namespace vitnt::model {

enum class Epilogue { None, Bias, BiasRelu6, BiasResidual };

// The one CPU engine of the process.
const dnnl::engine& cpu_engine();

// Primitive attributes every primitive of ours uses: a scratchpad we provide. With the
// library's own (shared) scratchpad a primitive must run on the thread that created it;
// ours run on OpenMP workers and on whichever thread calls Model::score.
dnnl::primitive_attr user_scratchpad_attr();
// A scratchpad for `pd` owned by the calling thread (grown as needed, reused).
dnnl::memory thread_scratchpad(const dnnl::memory::desc& scratchpad_desc);

// A matmul primitive descriptor; where oneDNN cannot make one, an Error saying what was
// asked for (`what`, the shapes and types) and what this CPU runs, never oneDNN's bare
// "could not create a primitive descriptor iterator".
dnnl::matmul::primitive_desc make_matmul(const dnnl::matmul::desc& d,
                                         const dnnl::primitive_attr& attr, const std::string& what);

// Median GFLOP/s of one oneDNN matmul [m, k] x [k, n] (fp32 or bf16 inputs, fp32 out)
// on the threads oneDNN is given: the machine's GEMM peak for the engine, measured.
double matmul_peak_gflops(Precision precision, int m = 6272, int k = 512, int n = 1536,
                          int iters = 20);

class PackedLinear {
 public:
  PackedLinear() = default;
  // w: [out, in] row-major (PyTorch's Linear layout), packed from the file on first use
  // (a layer that never runs is never packed); bias may be empty.
  PackedLinear(io::WeightSource w, const std::vector<float>& bias, int in, int out,
               Precision precision);

  // y[rows, out] = x[rows, in] W^T (+ bias) (ReLU6) (+ y when BiasResidual).
  // x is float, or bf16 (uint16) in Precision::BF16; y is float, or bf16 when
  // bf16_out (only for a bf16 layer).
  // rows is a whole number of images of image_rows rows each (0: one image). A row's
  // result must not depend on how many rows the call has: oneDNN's brgemm kernels
  // (AVX-512 and up) block the reduction by K alone, so one call covers all rows; any
  // other implementation (the AVX2 gemm, whose rounding depends on the row count) gets
  // one call per image. Invariance.* tests both under each ISA.
  void run(const void* x, int rows, void* y, Epilogue e, bool bf16_out = false,
           int image_rows = 0) const;

  int in() const { return in_; }
  int out() const { return out_; }

 private:
  struct Key {
    int rows;
    Epilogue e;
    bool bf16_out;
    bool operator<(const Key& o) const {
      return std::tie(rows, e, bf16_out) < std::tie(o.rows, o.e, o.bf16_out);
    }
  };
  struct Entry {
    bool row_invariant;  // a brgemm implementation (see run)
    dnnl::matmul prim;
    dnnl::memory::desc src, dst, scratchpad;
    dnnl::memory weights;  // packed for this primitive
  };
  const Entry& entry(int rows, Epilogue e, bool bf16_out) const;

  int in_ = 0, out_ = 0;
  Precision precision_ = Precision::F32;
  io::WeightSource w_;  // [out, in] in the mapped file, to pack for new layouts
  dnnl::memory bias_;
  std::unique_ptr<std::mutex> mu_ = std::make_unique<std::mutex>();
  mutable std::map<Key, Entry> cache_;
  mutable std::vector<std::pair<dnnl::memory::desc, dnnl::memory>> packed_;
};

}  // namespace vitnt::model
