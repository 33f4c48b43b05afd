#include "model/vit.h"

#include <dnnl.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <set>

#include "model/kernels.h"

namespace vitnt::model {

namespace {

using io::SafeTensorsFile;
using io::shape_str;
using io::TensorInfo;

}  // namespace

FileKeys file_keys(const SafeTensorsFile& file) {
  const std::string anchor = "patch_embed.proj.weight";
  std::vector<std::string> found;
  for (const auto& [name, t] : file.tensors())
    if (name.size() >= anchor.size() &&
        name.compare(name.size() - anchor.size(), anchor.size(), anchor) == 0 &&
        (name.size() == anchor.size() || name[name.size() - anchor.size() - 1] == '.'))
      found.push_back(name.substr(0, name.size() - anchor.size()));
  if (found.empty()) {
    std::set<std::string> tops;
    for (const auto& [name, t] : file.tensors()) tops.insert(name.substr(0, name.find('.') + 1));
    std::string list;
    for (const auto& p : tops) list += (list.empty() ? "'" : ", '") + p + "'";
    throw Error(file.path() + ": no face-ViT weights: no tensor named '" + anchor +
                "' under any prefix (tried every prefix, e.g. '', 'net.', 'module.', "
                "'model.net.'); the file's names start with " +
                (list.empty() ? std::string("nothing (no tensors)") : list));
  }
  if (found.size() > 1)
    throw Error(file.path() + ": several face ViTs in one file (prefixes '" + found[0] + "' and '" +
                found[1] + "')");
  FileKeys k;
  k.prefix = found[0];
  for (const auto& [name, t] : file.tensors()) {
    const bool inside = name.compare(0, k.prefix.size(), k.prefix) == 0;
    const std::string key = inside ? name.substr(k.prefix.size()) : name;
    if (!io::is_float(t.dtype)) {
      // BatchNorm's step counter: an integer scalar that no forward pass reads
      const std::string counter = "num_batches_tracked";
      if (key.size() >= counter.size() &&
          key.compare(key.size() - counter.size(), counter.size(), counter) == 0 &&
          t.numel() <= 1) {
        k.counters.push_back(name);
        continue;
      }
      throw Error(file.path() + ": tensor '" + name + "' is " + io::dtype_name(t.dtype) +
                  ": only BatchNorm num_batches_tracked counters may be integer");
    }
    k.tensors.emplace(key, &t);
  }
  return k;
}

namespace {

class Binder {
 public:
  Binder(std::shared_ptr<const SafeTensorsFile> file)
      : owner_(std::move(file)), file_(*owner_), keys_(file_keys(file_)), tensors_(keys_.tensors) {}

  const FileKeys& keys() const { return keys_; }

  bool has(const std::string& name) const { return tensors_.count(name) != 0; }
  bool has_prefix(const std::string& p) const {
    auto it = tensors_.lower_bound(p);
    return it != tensors_.end() && it->first.compare(0, p.size(), p) == 0;
  }

  std::vector<float> take(const std::string& name, std::vector<int64_t> shape) {
    return source(name, std::move(shape)).to_f32();
  }

  // The checked tensor, left in the mapped file.
  io::WeightSource source(const std::string& name, std::vector<int64_t> shape) {
    auto it = tensors_.find(name);
    if (it == tensors_.end())
      throw Error(file_.path() + ": missing tensor '" + name + "' (expected shape " +
                  shape_str(shape) + ")");
    const TensorInfo& t = *it->second;
    if (t.shape != shape)
      throw Error(file_.path() + ": tensor '" + t.name + "' has shape " + shape_str(t.shape) +
                  ", the model description needs " + shape_str(shape));
    used_.insert(name);
    return {owner_, &t};
  }

  void mark_used(const std::string& name) { used_.insert(name); }

  // Everything not bound must be explicitly ignorable: never drop a weight silently.
  void check_all_used(const std::vector<std::string>& ignore) const {
    std::string unused;
    for (const auto& [name, t] : tensors_) {
      if (used_.count(name)) continue;
      bool ignored = false;
      for (const auto& pat : ignore)
        ignored |= name == pat || (!pat.empty() && pat.back() == '.' && name.rfind(pat, 0) == 0);
      if (!ignored) unused += (unused.empty() ? "'" : ", '") + t->name + "'";
    }
    if (!unused.empty())
      throw Error(file_.path() + ": tensors not used by the model: " + unused +
                  " (wrong architecture? list them in the description's ignore_tensors if "
                  "they are training-only extras)");
  }

 private:
  std::shared_ptr<const SafeTensorsFile> owner_;
  const SafeTensorsFile& file_;
  FileKeys keys_;
  const std::map<std::string, const TensorInfo*>& tensors_;
  std::set<std::string> used_;
};

void fold_batchnorm(Binder& b, const std::string& prefix, int n, std::vector<float>& scale,
                    std::vector<float>& shift) {
  auto g = b.take(prefix + "weight", {n}), beta = b.take(prefix + "bias", {n});
  auto mean = b.take(prefix + "running_mean", {n}), var = b.take(prefix + "running_var", {n});
  if (b.has(prefix + "num_batches_tracked")) b.mark_used(prefix + "num_batches_tracked");
  scale.resize(n);
  shift.resize(n);
  for (int i = 0; i < n; ++i) {
    scale[i] = g[i] / std::sqrt(var[i] + 2e-5f);
    shift[i] = beta[i] - mean[i] * scale[i];
  }
}

}  // namespace

ModelConfig infer_config(const SafeTensorsFile& file, const ModelConfig& hint) {
  const auto t = file_keys(file).tensors;
  auto get = [&](const std::string& name) -> const TensorInfo& {
    auto it = t.find(name);
    if (it == t.end()) throw Error(file.path() + ": missing tensor '" + name + "'");
    return *it->second;
  };
  ModelConfig c = hint;
  const auto& pe = get("patch_embed.proj.weight").shape;
  if (pe.size() != 4 || pe[1] != 3 || pe[2] != pe[3])
    throw Error(file.path() + ": tensor 'patch_embed.proj.weight' has shape " + shape_str(pe) +
                ", expected [D, 3, P, P]");
  c.embed_dim = static_cast<int>(pe[0]);
  c.patch_size = static_cast<int>(pe[2]);
  int depth = 0;
  while (t.count("blocks." + std::to_string(depth) + ".norm1.weight")) ++depth;
  c.depth = depth;
  const auto& fc1 = get("blocks.0.mlp.fc1.weight").shape;
  if (fc1.size() == 2) c.mlp_ratio = static_cast<double>(fc1[0]) / c.embed_dim;
  if (t.count("feature.2.weight") && get("feature.2.weight").shape.size() == 2)
    c.num_features = static_cast<int>(get("feature.2.weight").shape[0]);
  return c;
}

VitWeights bind_weights(std::shared_ptr<const SafeTensorsFile> file_ptr, const ModelConfig& config,
                        Precision precision) {
  const SafeTensorsFile& file = *file_ptr;
  // First compare the architecture the tensors imply with the description, so the
  // message says "depth 12 vs 24" rather than "missing blocks.12...".
  ModelConfig found = infer_config(file, config);
  auto mismatch = [&](const char* what, double described, double in_file) {
    throw Error(file.path() + ": model description says " + what + " = " +
                std::to_string(described) + " but the tensors have " + std::to_string(in_file));
  };
  if (found.patch_size != config.patch_size)
    mismatch("patch_size", config.patch_size, found.patch_size);
  if (found.embed_dim != config.embed_dim) mismatch("embed_dim", config.embed_dim, found.embed_dim);
  if (found.depth != config.depth) mismatch("depth", config.depth, found.depth);
  if (found.num_features != config.num_features)
    mismatch("num_features", config.num_features, found.num_features);

  const int64_t D = config.embed_dim, P = config.patch_size, N = config.num_patches(),
                M = config.mlp_hidden(), E = config.num_features;
  Binder b(file_ptr);
  VitWeights w;
  w.config = config;
  w.precision = precision;
  const int d = static_cast<int>(D), m = static_cast<int>(M);
  w.patch = PackedLinear(b.source("patch_embed.proj.weight", {D, 3, P, P}),
                         b.take("patch_embed.proj.bias", {D}), static_cast<int>(3 * P * P), d,
                         Precision::F32);
  w.pos = b.take("pos_embed", {1, N, D});
  for (int i = 0; i < config.depth; ++i) {
    const std::string p = "blocks." + std::to_string(i) + ".";
    BlockWeights k;
    k.norm1_w = b.take(p + "norm1.weight", {D});
    k.norm1_b = b.take(p + "norm1.bias", {D});
    k.qkv = PackedLinear(b.source(p + "attn.qkv.weight", {3 * D, D}), {}, d, 3 * d, precision);
    if (b.has(p + "attn.qkv.bias"))
      throw Error(file.path() + ": tensor '" + p +
                  "attn.qkv.bias' present: this family's qkv has no bias (wrong architecture?)");
    k.proj = PackedLinear(b.source(p + "attn.proj.weight", {D, D}),
                          b.take(p + "attn.proj.bias", {D}), d, d, precision);
    k.norm2_w = b.take(p + "norm2.weight", {D});
    k.norm2_b = b.take(p + "norm2.bias", {D});
    k.fc1 = PackedLinear(b.source(p + "mlp.fc1.weight", {M, D}), b.take(p + "mlp.fc1.bias", {M}), d,
                         m, precision);
    k.fc2 = PackedLinear(b.source(p + "mlp.fc2.weight", {D, M}), b.take(p + "mlp.fc2.bias", {D}), m,
                         d, precision);
    w.blocks.push_back(std::move(k));
  }
  w.norm_w = b.take("norm.weight", {D});
  w.norm_b = b.take("norm.bias", {D});
  // The FR head is optional (a backbone-only file still gives quality scores), but
  // when any part of it is there, all of it must be.
  w.has_head = b.has("feature.0.weight") || b.has("feature.2.weight");
  if (w.has_head) {
    w.feat1_w = LazyWeights(b.source("feature.0.weight", {D, N * D}));
    fold_batchnorm(b, "feature.1.", static_cast<int>(D), w.feat1_scale, w.feat1_shift);
    w.feat2_w = b.take("feature.2.weight", {E, D});
    fold_batchnorm(b, "feature.3.", static_cast<int>(E), w.feat2_scale, w.feat2_shift);
  }
  // Variants whose extra weights change the network: refused, even when listed as
  // ignorable, because the result would silently be another network's.
  if (b.has_prefix("keypoint_linear."))
    throw Error(file.path() +
                ": a CVLface KP-RPE model (keypoint_linear.*): its attention is steered by facial "
                "landmarks per image, which this engine does not compute; not supported");
  // TransFace: the final-norm tokens are gated per patch before the FR head,
  // g = sigmoid(W2 relu(W1 tokens)), W1 [N, N*D] (senet.0), W2 [N, N] (senet.2)
  if (b.has("senet.0.weight") || b.has("senet.2.weight")) {
    w.gate1_w = LazyWeights(b.source("senet.0.weight", {N, N * D}));
    w.gate2_w = b.take("senet.2.weight", {N, N});
    w.has_gate = true;
  }
  b.check_all_used(config.ignore_tensors);
  w.key_prefix = b.keys().prefix;
  w.ignored_counters = b.keys().counters;
  return w;
}

namespace {

void check(dnnl_status_t s) {
  if (s != dnnl_success) throw Error("oneDNN sgemm failed with status " + std::to_string(s));
}

// im2col straight from the 8-bit images into [B*N, 3*P*P] in the conv weight's
// (c, ky, kx) order, applying the model's input contract on the way.
void patchify(const ModelConfig& c, const ImageView* images, int batch, float* out) {
  const int P = c.patch_size, G = c.grid(), K = 3 * P * P;
#pragma omp parallel for schedule(static)
  for (int b = 0; b < batch; ++b) {
    const ImageView& im = images[b];
    const size_t stride = im.stride ? im.stride : static_cast<size_t>(im.width) * 3;
    for (int ch = 0; ch < 3; ++ch) {
      // model channel ch (in config.channel_order) is which byte of the pixel?
      const int src = (c.channel_order == im.order) ? ch : 2 - ch;
      const float scale = 1.0f / (255.0f * c.std[ch]), shift = -c.mean[ch] / c.std[ch];
      for (int gy = 0; gy < G; ++gy)
        for (int gx = 0; gx < G; ++gx) {
          float* dst = out + (static_cast<size_t>(b) * G * G + gy * G + gx) * K + ch * P * P;
          for (int ky = 0; ky < P; ++ky) {
            const uint8_t* row = im.data + (gy * P + ky) * stride + (gx * P) * 3 + src;
            for (int kx = 0; kx < P; ++kx) dst[ky * P + kx] = row[kx * 3] * scale + shift;
          }
        }
    }
  }
}

struct Workspace {
  std::vector<float> x;  // the residual stream [rows, D], always fp32
  // GEMM inputs and intermediates: the float vectors in fp32, the uint16 ones (bf16)
  // in Precision::BF16; the patch embedding and the head always use the float `y`
  std::vector<float> y, wide, attn_out, attention;
  std::vector<uint16_t> y16, wide16, attn_out16;
  bool bf16 = false;

  void* pick(std::vector<float>& f, std::vector<uint16_t>& h) {
    return bf16 ? static_cast<void*>(h.data()) : static_cast<void*>(f.data());
  }
};

// LN(x) for every row into ws.y, or (bf16_out) converted in the same pass into ws.y16:
// the next GEMM's input.
const void* layer_norm_rows(const std::vector<float>& x, int rows, int d,
                            const std::vector<float>& g, const std::vector<float>& b, Workspace& ws,
                            bool bf16_out) {
#pragma omp parallel
  {
    std::vector<float> row(bf16_out ? d : 0);
#pragma omp for schedule(static)
    for (int r = 0; r < rows; ++r) {
      const size_t at = static_cast<size_t>(r) * d;
      if (!bf16_out) {
        layer_norm_row(x.data() + at, ws.y.data() + at, d, g.data(), b.data());
      } else {
        layer_norm_row(x.data() + at, row.data(), d, g.data(), b.data());
        to_bf16_row(row.data(), ws.y16.data() + at, d);
      }
    }
  }
  return bf16_out ? static_cast<const void*>(ws.y16.data()) : ws.y.data();
}

// S = scale Q K^T and O = softmax(S) V for one (image, head), as oneDNN matmul
// primitives over strided views of the qkv rows (far faster than sgemm for these
// shapes). The same for every block: made once per forward pass. S and the softmax stay
// fp32; in bf16 the probabilities are rounded to bf16 for the second product.
struct AttentionKernels {
  dnnl::memory::desc q, kt, s, p, v, o, pad;
  dnnl::matmul scores, mix;

  AttentionKernels(const ModelConfig& c, bool bf16) {
    using dt = dnnl::memory::data_type;
    const int N = c.num_patches(), D = c.embed_dim, hd = D / c.num_heads;
    const dt t = bf16 ? dt::bf16 : dt::f32;
    q = {{N, hd}, t, {3 * D, 1}};
    kt = {{hd, N}, t, {1, 3 * D}};
    s = {{N, N}, dt::f32, {N, 1}};
    p = {{N, N}, t, {N, 1}};
    v = {{N, hd}, t, {3 * D, 1}};
    o = {{N, hd}, t, {D, 1}};
    dnnl::primitive_attr scaled = user_scratchpad_attr();
    scaled.set_output_scales(0, {1.0f / std::sqrt(static_cast<float>(hd))});
    const dnnl::matmul::primitive_desc scores_pd =
        make_matmul(dnnl::matmul::desc(q, kt, s), scaled, "attention score");
    const dnnl::matmul::primitive_desc mix_pd =
        make_matmul(dnnl::matmul::desc(p, v, o), user_scratchpad_attr(), "attention mix");
    scores = dnnl::matmul(scores_pd);
    mix = dnnl::matmul(mix_pd);
    // one scratchpad serves both products (they run one after the other)
    pad = scores_pd.scratchpad_desc().get_size() > mix_pd.scratchpad_desc().get_size()
              ? scores_pd.scratchpad_desc()
              : mix_pd.scratchpad_desc();
  }
};

// x += Proj(MHSA(LN1(x))); optionally the per-image attention weights w_j.
void attention_block(const ModelConfig& c, const BlockWeights& k, const AttentionKernels& att,
                     int batch, Workspace& ws, bool want_weights) {
  const int N = c.num_patches(), D = c.embed_dim, H = c.num_heads, hd = D / H;
  const int rows = batch * N;
  const size_t esize = ws.bf16 ? 2 : 4;
  // [rows, 3D]: q | k | v, each heads x head_dim; bf16 straight from the GEMM in bf16
  auto* qkv = static_cast<char*>(ws.pick(ws.wide, ws.wide16));
  auto* out = static_cast<char*>(ws.pick(ws.attn_out, ws.attn_out16));
  k.qkv.run(layer_norm_rows(ws.x, rows, D, k.norm1_w, k.norm1_b, ws, ws.bf16), rows, qkv,
            Epilogue::None, ws.bf16, N);
  // per (image, head) column sums of the softmax, reduced over heads afterwards in a
  // fixed order so the result does not depend on threading
  std::vector<float> colsum(want_weights ? static_cast<size_t>(batch) * H * N : 0);
#pragma omp parallel
  {
    // per thread and kept: a fresh 150 KB buffer per block was handed back to the
    // kernel on free and page-faulted in again (~5 % of a ViT-B batch-1 pass)
    static thread_local std::vector<float> s;
    static thread_local std::vector<uint16_t> p16;
    if (s.size() < static_cast<size_t>(N) * N) s.resize(static_cast<size_t>(N) * N);
    if (ws.bf16 && p16.size() < s.size()) p16.resize(s.size());
    dnnl::stream stream(cpu_engine());
    dnnl::memory s_mem(att.s, cpu_engine(), s.data());
    dnnl::memory p_mem = ws.bf16 ? dnnl::memory(att.p, cpu_engine(), p16.data()) : s_mem;
    const dnnl::memory pad = thread_scratchpad(att.pad);
#pragma omp for schedule(static)
    for (int bh = 0; bh < batch * H; ++bh) {
      const int b = bh / H, h = bh % H;
      char* q = qkv + (static_cast<size_t>(b) * N * 3 * D + h * hd) * esize;
      char* o = out + (static_cast<size_t>(b) * N * D + h * hd) * esize;
      att.scores.execute(stream,
                         {{DNNL_ARG_SRC, dnnl::memory(att.q, cpu_engine(), q)},
                          {DNNL_ARG_WEIGHTS, dnnl::memory(att.kt, cpu_engine(), q + D * esize)},
                          {DNNL_ARG_DST, s_mem},
                          {DNNL_ARG_SCRATCHPAD, pad}});
      for (int i = 0; i < N; ++i) {
        float* r = s.data() + static_cast<size_t>(i) * N;
        softmax_row(r, N);
        if (ws.bf16) to_bf16_row(r, p16.data() + static_cast<size_t>(i) * N, N);
      }
      if (want_weights) {
        float* cs = colsum.data() + static_cast<size_t>(bh) * N;
        for (int i = 0; i < N; ++i)
          for (int j = 0; j < N; ++j) cs[j] += s[static_cast<size_t>(i) * N + j];
      }
      att.mix.execute(stream,
                      {{DNNL_ARG_SRC, p_mem},
                       {DNNL_ARG_WEIGHTS, dnnl::memory(att.v, cpu_engine(), q + 2 * D * esize)},
                       {DNNL_ARG_DST, dnnl::memory(att.o, cpu_engine(), o)},
                       {DNNL_ARG_SCRATCHPAD, pad}});
    }
    stream.wait();
  }
  if (want_weights) {
    for (int b = 0; b < batch; ++b) {
      float* w = ws.attention.data() + static_cast<size_t>(b) * N;
      std::fill(w, w + N, 0.0f);
      for (int h = 0; h < H; ++h)
        for (int j = 0; j < N; ++j) w[j] += colsum[(static_cast<size_t>(b) * H + h) * N + j];
      double total = 0;
      for (int j = 0; j < N; ++j) total += w[j];
      for (int j = 0; j < N; ++j) w[j] = static_cast<float>(w[j] / total);
    }
  }
  k.proj.run(out, rows, ws.x.data(), Epilogue::BiasResidual, false, N);
}

// x += FC2(ReLU6(FC1(LN2(x)))); in bf16 FC1's epilogue writes the hidden layer in bf16
void mlp_block(const ModelConfig& c, const BlockWeights& k, int batch, Workspace& ws) {
  const int N = c.num_patches(), D = c.embed_dim;
  const int rows = batch * N;
  void* hid = ws.pick(ws.wide, ws.wide16);
  k.fc1.run(layer_norm_rows(ws.x, rows, D, k.norm2_w, k.norm2_b, ws, ws.bf16), rows, hid,
            Epilogue::BiasRelu6, ws.bf16, N);
  k.fc2.run(hid, rows, ws.x.data(), Epilogue::BiasResidual, false, N);
}

// TransFace's patch gating of one image's normalised tokens [N*D] into `out`.
void gate_tokens(const VitWeights& w, const float* tokens, float* out) {
  const int N = w.config.num_patches(), D = w.config.embed_dim, ND = N * D;
  std::vector<float> h(N), g(N);
  check(dnnl_sgemm('N', 'T', 1, N, ND, 1.0f, tokens, ND, w.gate1_w.get(), ND, 0.0f, h.data(), N));
  for (float& v : h) v = std::max(v, 0.0f);
  check(dnnl_sgemm('N', 'T', 1, N, N, 1.0f, h.data(), N, w.gate2_w.data(), N, 0.0f, g.data(), N));
  for (int p = 0; p < N; ++p) {
    const float gate = 1.0f / (1.0f + std::exp(-g[p]));
    for (int j = 0; j < D; ++j) out[p * D + j] = tokens[p * D + j] * gate;
  }
}

// (gating,) feature.0 .. feature.3 on normalised tokens [B, N*D]: pre-BN2 vectors into
// pre [B, E].
void head_pre_bn(const VitWeights& w, const float* tokens, int batch, float* pre) {
  const ModelConfig& c = w.config;
  const int D = c.embed_dim, ND = c.num_patches() * D, E = c.num_features;
  std::vector<float> mid(static_cast<size_t>(batch) * D), gated(w.has_gate ? ND : 0);
  const float* feat1 = w.feat1_w.get();
  // one image at a time: a GEMM's rounding may depend on its row count, an image's
  // embedding must not depend on its batch (and the head is a small part of the cost)
  for (int b = 0; b < batch; ++b) {
    const float* in = tokens + static_cast<size_t>(b) * ND;
    if (w.has_gate) {
      gate_tokens(w, in, gated.data());
      in = gated.data();
    }
    check(dnnl_sgemm('N', 'T', 1, D, ND, 1.0f, in, ND, feat1, ND, 0.0f,
                     mid.data() + static_cast<size_t>(b) * D, D));
  }
  for (int b = 0; b < batch; ++b)
    for (int j = 0; j < D; ++j) {
      float& v = mid[static_cast<size_t>(b) * D + j];
      v = v * w.feat1_scale[j] + w.feat1_shift[j];
    }
  for (int b = 0; b < batch; ++b)
    check(dnnl_sgemm('N', 'T', 1, E, D, 1.0f, mid.data() + static_cast<size_t>(b) * D, D,
                     w.feat2_w.data(), D, 0.0f, pre + static_cast<size_t>(b) * E, E));
}

void run_head(const VitWeights& w, const float* tokens, int batch, const HeadRequest& h) {
  const int E = w.config.num_features;
  const size_t ND = static_cast<size_t>(w.config.num_patches()) * w.config.embed_dim;
  std::vector<float> pre(static_cast<size_t>(batch) * E);
  head_pre_bn(w, tokens, batch, pre.data());
  for (int b = 0; b < batch; ++b) {
    float* p = pre.data() + static_cast<size_t>(b) * E;
    double n2 = 0;
    for (int j = 0; j < E; ++j) n2 += static_cast<double>(p[j]) * p[j];
    if (h.pre_bn_norm) h.pre_bn_norm[b] = static_cast<float>(std::sqrt(n2));
    for (int j = 0; j < E; ++j) {
      const float v = p[j] * w.feat2_scale[j] + w.feat2_shift[j];
      if (h.embedding) h.embedding[static_cast<size_t>(b) * E + j] = v;
    }
  }
  if (!h.serfiq || h.serfiq_passes < 2) return;
  // SER-FIQ-style: the same m dropout masks for every image (fixed seed), so a score
  // does not depend on the batch; inverted dropout keeps the expected activation.
  const int m = h.serfiq_passes;
  std::vector<float> emb(static_cast<size_t>(m) * batch * E),
      masked(static_cast<size_t>(batch) * ND);
  std::mt19937 rng(12345);
  std::bernoulli_distribution keep(1.0 - h.serfiq_dropout);
  const float scale = 1.0f / (1.0f - h.serfiq_dropout);
  std::vector<uint8_t> mask(ND);
  for (int pass = 0; pass < m; ++pass) {
    for (auto& v : mask) v = keep(rng);
    for (int b = 0; b < batch; ++b)
      for (size_t k = 0; k < ND; ++k)
        masked[b * ND + k] = mask[k] ? tokens[b * ND + k] * scale : 0.0f;
    float* out = emb.data() + static_cast<size_t>(pass) * batch * E;
    head_pre_bn(w, masked.data(), batch, out);
    for (int b = 0; b < batch; ++b) {  // final BN, then L2 normalisation
      float* e = out + static_cast<size_t>(b) * E;
      double n2 = 0;
      for (int j = 0; j < E; ++j) {
        e[j] = e[j] * w.feat2_scale[j] + w.feat2_shift[j];
        n2 += static_cast<double>(e[j]) * e[j];
      }
      const float inv = static_cast<float>(1.0 / std::max(std::sqrt(n2), 1e-12));
      for (int j = 0; j < E; ++j) e[j] *= inv;
    }
  }
  for (int b = 0; b < batch; ++b) {
    double sum = 0;
    for (int i = 0; i < m; ++i)
      for (int j = i + 1; j < m; ++j) {
        const float* ei = emb.data() + (static_cast<size_t>(i) * batch + b) * E;
        const float* ej = emb.data() + (static_cast<size_t>(j) * batch + b) * E;
        double d2 = 0;
        for (int k = 0; k < E; ++k) d2 += static_cast<double>(ei[k] - ej[k]) * (ei[k] - ej[k]);
        sum += std::sqrt(d2);
      }
    h.serfiq[b] = static_cast<float>(1.0 - sum / (m * (m - 1) / 2.0));
  }
}

}  // namespace

void forward(const VitWeights& w, const ImageView* images, int batch, int last_block,
             BlockObserver* observer, const HeadRequest& head) {
  const ModelConfig& c = w.config;
  const int N = c.num_patches(), D = c.embed_dim, P = c.patch_size, M = c.mlp_hidden();
  const int rows = batch * N;
  // One workspace per calling thread, reused across calls: buffers only grow, and a
  // later call with the same shapes allocates (and page-faults) nothing.
  // (`ws` is a plain reference so OpenMP workers see this thread's workspace, not
  // their own thread_local one)
  static thread_local Workspace workspace;
  Workspace& ws = workspace;
  auto fit = [](auto& v, size_t n) {
    if (v.size() < n) v.resize(n);
  };
  const size_t wide = static_cast<size_t>(rows) * std::max(3 * D, M);
  ws.bf16 = w.precision == Precision::BF16;
  fit(ws.x, static_cast<size_t>(rows) * D);
  fit(ws.y, static_cast<size_t>(rows) * std::max(D, 3 * P * P));
  fit(ws.attention, static_cast<size_t>(batch) * N);
  if (ws.bf16) {
    fit(ws.y16, static_cast<size_t>(rows) * D);
    fit(ws.wide16, wide);
    fit(ws.attn_out16, static_cast<size_t>(rows) * D);
  } else {
    fit(ws.wide, wide);
    fit(ws.attn_out, static_cast<size_t>(rows) * D);
  }

  // patch embedding (+ bias in the epilogue) + position embedding
  patchify(c, images, batch, ws.y.data());
  w.patch.run(ws.y.data(), rows, ws.x.data(), Epilogue::Bias, false, N);
#pragma omp parallel for schedule(static)
  for (int r = 0; r < rows; ++r) {
    float* xr = ws.x.data() + static_cast<size_t>(r) * D;
    const float* pos = w.pos.data() + static_cast<size_t>(r % N) * D;
    for (int j = 0; j < D; ++j) xr[j] += pos[j];
  }

  const AttentionKernels att(c, ws.bf16);
  const int stop = head.wanted() ? c.depth - 1 : last_block;
  for (int i = 0; i <= stop; ++i) {
    const bool want_attn = observer && i <= last_block && observer->wants_attention(i);
    attention_block(c, w.blocks[i], att, batch, ws, want_attn);
    mlp_block(c, w.blocks[i], batch, ws);
    if (observer && i <= last_block)
      observer->after_block(i, ws.x.data(), want_attn ? ws.attention.data() : nullptr);
  }
  if (!head.wanted()) return;
  if (!w.has_head) throw Error("this model file has no FR head (feature.*): no embedding");
  layer_norm_rows(ws.x, rows, D, w.norm_w, w.norm_b, ws, false);  // the head is fp32
  run_head(w, ws.y.data(), batch, head);
}

}  // namespace vitnt::model
