#include "model/vit.h"

#include <dnnl.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <set>

namespace vitnt::model {

namespace {

using io::SafeTensorsFile;
using io::shape_str;
using io::TensorInfo;

// Strips the wrappers that training frameworks add ("net." in CVLface, "module." from
// DataParallel), possibly nested.
std::string strip_prefix(std::string name) {
  for (bool again = true; again;) {
    again = false;
    for (const char* p : {"net.", "module."}) {
      size_t n = std::strlen(p);
      if (name.compare(0, n, p) == 0) {
        name = name.substr(n);
        again = true;
      }
    }
  }
  return name;
}

std::map<std::string, const TensorInfo*> stripped_names(const SafeTensorsFile& file) {
  std::map<std::string, const TensorInfo*> m;
  for (const auto& [name, t] : file.tensors()) {
    auto [it, fresh] = m.emplace(strip_prefix(name), &t);
    if (!fresh)
      throw Error(file.path() + ": tensors '" + it->second->name + "' and '" + name +
                  "' are the same after removing the net./module. prefix");
  }
  return m;
}

class Binder {
 public:
  Binder(std::shared_ptr<const SafeTensorsFile> file)
      : owner_(std::move(file)), file_(*owner_), tensors_(stripped_names(file_)) {}

  bool has(const std::string& name) const { return tensors_.count(name) != 0; }

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
  std::map<std::string, const TensorInfo*> tensors_;
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
  auto t = stripped_names(file);
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

VitWeights bind_weights(std::shared_ptr<const SafeTensorsFile> file_ptr,
                        const ModelConfig& config, Precision precision) {
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
    k.proj = PackedLinear(b.source(p + "attn.proj.weight", {D, D}), b.take(p + "attn.proj.bias", {D}),
                          d, d, precision);
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
  b.check_all_used(config.ignore_tensors);
  return w;
}

void layer_norm_row(const float* x, float* y, int d, const float* gamma, const float* beta) {
  float mean = 0;
  for (int i = 0; i < d; ++i) mean += x[i];
  mean /= d;
  float var = 0;
  for (int i = 0; i < d; ++i) var += (x[i] - mean) * (x[i] - mean);
  const float inv = 1.0f / std::sqrt(var / d + 1e-5f);
  for (int i = 0; i < d; ++i) y[i] = (x[i] - mean) * inv * gamma[i] + beta[i];
}

namespace {

void check(dnnl_status_t s) {
  if (s != dnnl_success) throw Error("oneDNN sgemm failed with status " + std::to_string(s));
}

void layer_norm_rows(const float* x, float* y, int rows, int d, const std::vector<float>& g,
                     const std::vector<float>& b) {
#pragma omp parallel for schedule(static)
  for (int r = 0; r < rows; ++r)
    layer_norm_row(x + static_cast<size_t>(r) * d, y + static_cast<size_t>(r) * d, d, g.data(),
                   b.data());
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
  std::vector<float> x, y, wide, attn_out, attention;
  std::vector<uint16_t> y16, a16, wide16;  // bf16 GEMM inputs (Precision::BF16 only)
  bool bf16 = false;

  // The GEMM input for float activations `src`: itself, or its bf16 copy in `tmp`.
  const void* gemm_input(const std::vector<float>& src, std::vector<uint16_t>& tmp, size_t n) {
    if (!bf16) return src.data();
    to_bf16(src.data(), tmp.data(), n);
    return tmp.data();
  }
};

// x += Proj(MHSA(LN1(x))); optionally the per-image attention weights w_j.
void attention_block(const ModelConfig& c, const BlockWeights& k, int batch, Workspace& ws,
                     bool want_weights) {
  const int N = c.num_patches(), D = c.embed_dim, H = c.num_heads, hd = D / H;
  const int rows = batch * N;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  layer_norm_rows(ws.x.data(), ws.y.data(), rows, D, k.norm1_w, k.norm1_b);
  float* qkv = ws.wide.data();  // [rows, 3D]: q | k | v, each heads x head_dim
  k.qkv.run(ws.gemm_input(ws.y, ws.y16, static_cast<size_t>(rows) * D), rows, qkv, Epilogue::None);
  // per (image, head) column sums of the softmax, reduced over heads afterwards in a
  // fixed order so the result does not depend on threading
  std::vector<float> colsum(want_weights ? static_cast<size_t>(batch) * H * N : 0);
#pragma omp parallel
  {
    std::vector<float> s(static_cast<size_t>(N) * N);
#pragma omp for schedule(static)
    for (int bh = 0; bh < batch * H; ++bh) {
      const int b = bh / H, h = bh % H;
      const float* q = qkv + static_cast<size_t>(b) * N * 3 * D + h * hd;
      const float* kk = q + D;
      const float* v = q + 2 * D;
      check(dnnl_sgemm('N', 'T', N, N, hd, scale, q, 3 * D, kk, 3 * D, 0.0f, s.data(), N));
      for (int i = 0; i < N; ++i) {
        float* r = s.data() + static_cast<size_t>(i) * N;
        float mx = r[0];
        for (int j = 1; j < N; ++j) mx = std::max(mx, r[j]);
        float sum = 0;
        for (int j = 0; j < N; ++j) sum += (r[j] = std::exp(r[j] - mx));
        const float inv = 1.0f / sum;
        for (int j = 0; j < N; ++j) r[j] *= inv;
      }
      if (want_weights) {
        float* cs = colsum.data() + static_cast<size_t>(bh) * N;
        for (int i = 0; i < N; ++i)
          for (int j = 0; j < N; ++j) cs[j] += s[static_cast<size_t>(i) * N + j];
      }
      check(dnnl_sgemm('N', 'N', N, hd, N, 1.0f, s.data(), N, v, 3 * D, 0.0f,
                       ws.attn_out.data() + static_cast<size_t>(b) * N * D + h * hd, D));
    }
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
  k.proj.run(ws.gemm_input(ws.attn_out, ws.a16, static_cast<size_t>(rows) * D), rows, ws.x.data(),
             Epilogue::BiasResidual);
}

// x += FC2(ReLU6(FC1(LN2(x))))
void mlp_block(const ModelConfig& c, const BlockWeights& k, int batch, Workspace& ws) {
  const int N = c.num_patches(), D = c.embed_dim;
  const int rows = batch * N;
  layer_norm_rows(ws.x.data(), ws.y.data(), rows, D, k.norm2_w, k.norm2_b);
  // in bf16 the hidden activations are produced in bf16 directly by FC1's epilogue
  void* hid = ws.bf16 ? static_cast<void*>(ws.wide16.data()) : ws.wide.data();
  k.fc1.run(ws.gemm_input(ws.y, ws.y16, static_cast<size_t>(rows) * D), rows, hid,
            Epilogue::BiasRelu6, ws.bf16);
  k.fc2.run(hid, rows, ws.x.data(), Epilogue::BiasResidual);
}

// feature.0 .. feature.3 on normalised tokens [B, N*D]: pre-BN2 vectors into pre [B, E].
void head_pre_bn(const VitWeights& w, const float* tokens, int batch, float* pre) {
  const ModelConfig& c = w.config;
  const int D = c.embed_dim, ND = c.num_patches() * D, E = c.num_features;
  std::vector<float> mid(static_cast<size_t>(batch) * D);
  const float* feat1 = w.feat1_w.get();
  // one image at a time: a GEMM's rounding may depend on its row count, an image's
  // embedding must not depend on its batch (and the head is a small part of the cost)
  for (int b = 0; b < batch; ++b)
    check(dnnl_sgemm('N', 'T', 1, D, ND, 1.0f, tokens + static_cast<size_t>(b) * ND, ND,
                     feat1, ND, 0.0f, mid.data() + static_cast<size_t>(b) * D, D));
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
  Workspace ws;
  ws.x.resize(static_cast<size_t>(rows) * D);
  ws.y.resize(static_cast<size_t>(rows) * std::max(D, 3 * P * P));
  ws.wide.resize(static_cast<size_t>(rows) * std::max(3 * D, M));
  ws.attn_out.resize(static_cast<size_t>(rows) * D);
  ws.attention.resize(static_cast<size_t>(batch) * N);
  ws.bf16 = w.precision == Precision::BF16;
  if (ws.bf16) {
    ws.y16.resize(static_cast<size_t>(rows) * D);
    ws.a16.resize(static_cast<size_t>(rows) * D);
    ws.wide16.resize(static_cast<size_t>(rows) * M);
  }

  // patch embedding (+ bias in the epilogue) + position embedding
  patchify(c, images, batch, ws.y.data());
  w.patch.run(ws.y.data(), rows, ws.x.data(), Epilogue::Bias);
#pragma omp parallel for schedule(static)
  for (int r = 0; r < rows; ++r) {
    float* xr = ws.x.data() + static_cast<size_t>(r) * D;
    const float* pos = w.pos.data() + static_cast<size_t>(r % N) * D;
    for (int j = 0; j < D; ++j) xr[j] += pos[j];
  }

  const int stop = head.wanted() ? c.depth - 1 : last_block;
  for (int i = 0; i <= stop; ++i) {
    const bool want_attn = observer && i <= last_block && observer->wants_attention(i);
    attention_block(c, w.blocks[i], batch, ws, want_attn);
    mlp_block(c, w.blocks[i], batch, ws);
    if (observer && i <= last_block)
      observer->after_block(i, ws.x.data(), want_attn ? ws.attention.data() : nullptr);
  }
  if (!head.wanted()) return;
  if (!w.has_head) throw Error("this model file has no FR head (feature.*): no embedding");
  layer_norm_rows(ws.x.data(), ws.y.data(), rows, D, w.norm_w, w.norm_b);
  run_head(w, ws.y.data(), batch, head);
}

}  // namespace vitnt::model
