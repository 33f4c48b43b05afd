#include "model/linear.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "model/cpu.h"

namespace vitnt::model {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

const dnnl::engine& cpu_engine() {
  static const dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

dnnl::primitive_attr user_scratchpad_attr() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

dnnl::memory thread_scratchpad(const dnnl::memory::desc& scratchpad_desc) {
  static thread_local std::vector<uint8_t> buffer;
  if (buffer.size() < scratchpad_desc.get_size()) buffer.resize(scratchpad_desc.get_size());
  return dnnl::memory(scratchpad_desc, cpu_engine(), buffer.data());
}

namespace {
std::string desc_str(const dnnl::memory::desc& m) {
  std::string s;
  for (auto d : m.dims()) s += (s.empty() ? "" : "x") + std::to_string(d);
  return s + (m.data_type() == dt::bf16 ? " bf16" : m.data_type() == dt::f32 ? " f32" : " ?");
}
}  // namespace

dnnl::matmul::primitive_desc make_matmul(const dnnl::matmul::desc& d,
                                         const dnnl::primitive_attr& attr,
                                         const std::string& what) {
  try {
    return dnnl::matmul::primitive_desc(d, attr, cpu_engine());
  } catch (const dnnl::error& e) {
    const dnnl::memory::desc src(d.data.src_desc), w(d.data.weights_desc);
    std::string msg = "oneDNN has no kernel for the " + what + " matmul (" + desc_str(src) + " x " +
                      desc_str(w) + ") on this CPU (" + cpu_info().model_name + ", oneDNN ISA " +
                      cpu_info().onednn_isa + "): " + e.what();
    if (src.data_type() == dt::bf16 && !bf16_unavailable_reason().empty())
      throw UnsupportedError(bf16_unavailable_reason());
    throw Error(msg);
  }
}

PackedLinear::PackedLinear(io::WeightSource w, const std::vector<float>& bias, int in, int out,
                           Precision precision)
    : in_(in), out_(out), precision_(precision), w_(std::move(w)) {
  if (!bias.empty()) {
    bias_ = dnnl::memory({{1, out}, dt::f32, tag::ab}, cpu_engine());
    std::memcpy(bias_.get_data_handle(), bias.data(), bias.size() * 4);
  }
}

const PackedLinear::Entry& PackedLinear::entry(int rows, Epilogue e, bool bf16_out) const {
  std::lock_guard<std::mutex> lock(*mu_);
  auto it = cache_.find({rows, e, bf16_out});
  if (it != cache_.end()) return it->second;
  const dt in_dt = precision_ == Precision::BF16 ? dt::bf16 : dt::f32;
  dnnl::memory::desc src({rows, in_}, in_dt, tag::ab);
  dnnl::memory::desc wany({in_, out_}, in_dt, tag::any);
  dnnl::memory::desc dst({rows, out_}, bf16_out ? dt::bf16 : dt::f32, tag::ab);
  dnnl::post_ops ops;
  if (e == Epilogue::BiasRelu6) ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_clip, 0.0f, 6.0f);
  if (e == Epilogue::BiasResidual) ops.append_sum(1.0f);
  dnnl::primitive_attr attr = user_scratchpad_attr();
  attr.set_post_ops(ops);
  const bool with_bias = e != Epilogue::None && bias_;
  auto d = with_bias ? dnnl::matmul::desc(src, wany, bias_.get_desc(), dst)
                     : dnnl::matmul::desc(src, wany, dst);
  const dnnl::matmul::primitive_desc pd = make_matmul(d, attr, "linear layer");
  const std::string impl = pd.impl_info_str();
  Entry en{impl.rfind("brg", 0) == 0, dnnl::matmul(pd), src, dst, pd.scratchpad_desc(), {}};
  // weights packed once per layout the primitives ask for
  for (auto& [desc, mem] : packed_)
    if (desc == pd.weights_desc()) en.weights = mem;
  if (!en.weights) {
    // PyTorch's [out, in] row-major is the [in, out] matrix in column-major ("ba")
    std::vector<float> f32 = w_.to_f32();
    dnnl::memory user({{in_, out_}, dt::f32, tag::ba}, cpu_engine(), f32.data());
    en.weights = dnnl::memory(pd.weights_desc(), cpu_engine());
    try {
      dnnl::stream s(cpu_engine());
      dnnl::reorder(user, en.weights).execute(s, user, en.weights);
      s.wait();
    } catch (const dnnl::error& e) {
      throw Error("oneDNN could not pack a " + std::to_string(out_) + "x" + std::to_string(in_) +
                  " weight matrix for this CPU (oneDNN ISA " + cpu_info().onednn_isa +
                  "): " + e.what());
    }
    w_.release();
    packed_.emplace_back(pd.weights_desc(), en.weights);
  }
  return cache_.emplace(Key{rows, e, bf16_out}, std::move(en)).first->second;
}

void PackedLinear::run(const void* x, int rows, void* y, Epilogue e, bool bf16_out,
                       int image_rows) const {
  if (image_rows <= 0) image_rows = rows;
  if (rows % image_rows != 0) throw Error("PackedLinear::run: rows not whole images");
  const Entry& one = entry(image_rows, e, bf16_out);
  // (the many-row primitive is not even made where one image's kernel is not brgemm: no
  // second packed copy of the weights on AVX2)
  const Entry* all = rows > image_rows && one.row_invariant ? &entry(rows, e, bf16_out) : nullptr;
  // one call over every image only where neither shape's kernel depends on the row count
  const bool together = all && one.row_invariant && all->row_invariant;
  const Entry& en = together ? *all : one;
  const int call_rows = together ? rows : image_rows;
  const size_t in_size = precision_ == Precision::BF16 ? 2 : 4, out_size = bf16_out ? 2 : 4;
  dnnl::stream s(cpu_engine());
  const dnnl::memory pad = thread_scratchpad(en.scratchpad);
  for (int r = 0; r < rows; r += call_rows) {
    dnnl::memory src(en.src, cpu_engine(),
                     const_cast<char*>(static_cast<const char*>(x)) + size_t(r) * in_ * in_size);
    dnnl::memory dst(en.dst, cpu_engine(), static_cast<char*>(y) + size_t(r) * out_ * out_size);
    std::unordered_map<int, dnnl::memory> args = {{DNNL_ARG_SRC, src},
                                                  {DNNL_ARG_WEIGHTS, en.weights},
                                                  {DNNL_ARG_DST, dst},
                                                  {DNNL_ARG_SCRATCHPAD, pad}};
    if (e != Epilogue::None && bias_) args[DNNL_ARG_BIAS] = bias_;
    en.prim.execute(s, args);
  }
  s.wait();
}

}  // namespace vitnt::model

namespace vitnt::model {

double matmul_peak_gflops(Precision precision, int m, int k, int n, int iters) {
  // The same primitive setup as PackedLinear (packed weights, user scratchpad), on
  // constant data: the GEMM rate this machine gives the engine, quoted beside every
  // throughput figure.
  const dt in_dt = precision == Precision::BF16 ? dt::bf16 : dt::f32;
  dnnl::memory::desc src({m, k}, in_dt, tag::ab), wany({k, n}, in_dt, tag::any),
      dst({m, n}, dt::f32, tag::ab);
  const dnnl::matmul::primitive_desc pd =
      make_matmul(dnnl::matmul::desc(src, wany, dst), user_scratchpad_attr(), "peak-measuring");
  dnnl::memory a(src, cpu_engine()), w(pd.weights_desc(), cpu_engine()), c(dst, cpu_engine());
  std::memset(a.get_data_handle(), 0, src.get_size());
  std::memset(w.get_data_handle(), 0, pd.weights_desc().get_size());
  dnnl::matmul prim(pd);
  dnnl::stream s(cpu_engine());
  dnnl::memory scratch = thread_scratchpad(pd.scratchpad_desc());
  auto run = [&] {
    prim.execute(s, {{DNNL_ARG_SRC, a},
                     {DNNL_ARG_WEIGHTS, w},
                     {DNNL_ARG_DST, c},
                     {DNNL_ARG_SCRATCHPAD, scratch}});
    s.wait();
  };
  run();
  std::vector<double> t;
  for (int i = 0; i < iters; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    run();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return 2.0 * m * k * n / t[t.size() / 2] / 1e9;
}

}  // namespace vitnt::model
