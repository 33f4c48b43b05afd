// The face ViT (insightface / CVLface family): weights bound from safetensors with
// strict checks, and the fp32 forward pass.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "io/safetensors.h"
#include "model/linear.h"
#include "vitnt/vitnt.h"

namespace vitnt::model {

// A weight matrix converted from the mapped file the first time it is needed.
class LazyWeights {
 public:
  LazyWeights() = default;
  explicit LazyWeights(io::WeightSource src)
      : src_(std::move(src)), state_(std::make_shared<State>()) {}
  const float* get() const {
    std::call_once(state_->once, [&] {
      state_->data = src_.to_f32();
      src_.release();
    });
    return state_->data.data();
  }

 private:
  struct State {
    std::once_flag once;
    std::vector<float> data;
  };
  io::WeightSource src_;
  std::shared_ptr<State> state_;
};

struct BlockWeights {
  std::vector<float> norm1_w, norm1_b, norm2_w, norm2_b;
  PackedLinear qkv, proj, fc1, fc2;
};

struct VitWeights {
  ModelConfig config;
  Precision precision = Precision::F32;
  PackedLinear patch;      // [D, 3*P*P] (c, ky, kx), always fp32
  std::vector<float> pos;  // [N, D]
  std::vector<BlockWeights> blocks;
  std::vector<float> norm_w, norm_b;
  bool has_head = false;
  // FR head with the BatchNorms folded into scale/shift: y = (x W^T) * scale + shift.
  // feature.0 ([D, N*D], the largest tensor of all) is converted on first use only:
  // quality-only use never pays for it.
  LazyWeights feat1_w;
  std::vector<float> feat1_scale, feat1_shift;           // [D]
  std::vector<float> feat2_w, feat2_scale, feat2_shift;  // [E, D], [E]
  // TransFace's patch gating before the head (senet.0 [N, N*D], senet.2 [N, N])
  bool has_gate = false;
  LazyWeights gate1_w;
  std::vector<float> gate2_w;
  std::string key_prefix;                     // stripped from the file's names
  std::vector<std::string> ignored_counters;  // BatchNorm counters set aside
};

// How a file's tensor names map to the family's names: the wrapper prefix training code
// added, derived from the file (what stands before 'patch_embed.proj.weight': '' or
// 'net.' or 'module.' or CVLface's Hugging Face 'model.net.'), and BatchNorm's integer
// num_batches_tracked counters (any integer dtype), which carry no weights and are set
// aside (listed). Any other integer tensor, or a file without the anchor, is an Error
// naming what the file has.
struct FileKeys {
  std::string prefix;
  std::map<std::string, const io::TensorInfo*> tensors;  // family name -> float tensor
  std::vector<std::string> counters;                     // file names of the counters
};
FileKeys file_keys(const io::SafeTensorsFile& file);

// Binds every tensor of `file` to `config`. Strict: a missing tensor, a wrong shape or
// an unused tensor (not in config.ignore_tensors) is an Error naming it.
VitWeights bind_weights(std::shared_ptr<const io::SafeTensorsFile> file, const ModelConfig& config,
                        Precision precision = Precision::F32);

// Reads the architecture that the tensors imply (patch, dim, depth, mlp width,
// features); heads cannot be inferred and are taken from `hint`.
ModelConfig infer_config(const io::SafeTensorsFile& file, const ModelConfig& hint);

// Sees the hidden states after each block of a forward pass.
struct BlockObserver {
  virtual ~BlockObserver() = default;
  // Whether after_block(block) needs the attention weights w_j of that block.
  virtual bool wants_attention(int block) const = 0;
  // tokens: [B, N, D] after the block; attention: [B, N] (w_j = sum_i mean_h A[h,i,j],
  // normalised to sum 1) or nullptr.
  virtual void after_block(int block, const float* tokens, const float* attention) = 0;
};

// What the FR head should produce (all arrays [B, ...], null = not wanted).
struct HeadRequest {
  float* embedding = nullptr;    // [B, E]
  float* pre_bn_norm = nullptr;  // [B]: norm before the last BatchNorm
  float* serfiq = nullptr;       // [B]: SER-FIQ-style quality
  int serfiq_passes = 0;
  float serfiq_dropout = 0.5f;
  bool wanted() const { return embedding || pre_bn_norm || serfiq; }
};

// Runs blocks 0..last_block on B images (ImageView, converted to the model's input
// contract), then, if the head is wanted, the remaining blocks, the final norm and the FR
// head.
void forward(const VitWeights& w, const ImageView* images, int batch, int last_block,
             BlockObserver* observer, const HeadRequest& head);

}  // namespace vitnt::model
