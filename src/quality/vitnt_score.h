// ViTNT-FIQA from the hidden states of a forward pass (../shared/docs/method.md):
// per selected block, final LayerNorm + L2 normalisation of every patch token; per
// patch, the mean distance between consecutive blocks; q_p = 2 / (1 + exp(s d_p));
// aggregated uniformly or by attention. Streams: only the previous block's normalised
// tokens are kept, so memory does not grow with the number of blocks.
#pragma once

#include <vector>

#include "model/vit.h"

namespace vitnt::quality {

struct ScoreSettings {
  int first_block = 0, last_block = 1;
  float scaling = 8.0f;
  Aggregation aggregation = Aggregation::AttentionLast;
};

class TrajectoryScorer : public model::BlockObserver {
 public:
  TrajectoryScorer(const model::VitWeights& w, int batch, const ScoreSettings& s);

  bool wants_attention(int block) const override;
  void after_block(int block, const float* tokens, const float* attention) override;

  // After the forward pass: per-patch qualities q_p [N] and Q of image b.
  std::vector<float> patch_quality(int b) const;
  // The aggregation's weight of each patch of image b (sums to 1; 1/N when uniform).
  std::vector<float> patch_weight(int b) const;
  float quality(int b) const;

 private:
  const model::VitWeights& w_;
  int batch_, N_, D_;
  ScoreSettings s_;
  std::vector<float> prev_;        // normalised tokens of the previous block
  std::vector<double> dist_sum_;   // [B, N]
  std::vector<double> attention_;  // [B, N], summed over the blocks that contribute
  int attention_blocks_ = 0;
};

// q_p for a mean distance d.
float patch_quality_from_distance(float d, float scaling);

}  // namespace vitnt::quality
