#include "quality/vitnt_score.h"

#include <algorithm>
#include <cmath>

#include "model/kernels.h"

namespace vitnt::quality {

float patch_quality_from_distance(float d, float scaling) {
  return 2.0f / (1.0f + std::exp(scaling * d));
}

TrajectoryScorer::TrajectoryScorer(const model::VitWeights& w, int batch, const ScoreSettings& s)
    : w_(w),
      batch_(batch),
      N_(w.config.num_patches()),
      D_(w.config.embed_dim),
      s_(s),
      prev_(static_cast<size_t>(batch) * N_ * D_),
      dist_sum_(static_cast<size_t>(batch) * N_, 0.0),
      attention_(static_cast<size_t>(batch) * N_, 0.0) {}

bool TrajectoryScorer::wants_attention(int block) const {
  switch (s_.aggregation) {
    case Aggregation::AttentionLast:
      return block == s_.last_block;
    case Aggregation::AttentionAll:
      return block >= s_.first_block && block <= s_.last_block;
    case Aggregation::Uniform:
      return false;
  }
  return false;
}

void TrajectoryScorer::after_block(int block, const float* tokens, const float* attention) {
  if (block < s_.first_block || block > s_.last_block) return;
  const bool have_prev = block > s_.first_block;
  const int D = D_;
  // One pass per token: final LayerNorm, L2 normalisation, distance to the previous
  // block's token, which it then replaces (row r's previous value serves only row r).
#pragma omp parallel
  {
    std::vector<float> z(D);
#pragma omp for schedule(static)
    for (int r = 0; r < batch_ * N_; ++r) {
      model::layer_norm_row(tokens + static_cast<size_t>(r) * D, z.data(), D, w_.norm_w.data(),
                            w_.norm_b.data());
      model::l2_normalize_row(z.data(), D);
      float* p = prev_.data() + static_cast<size_t>(r) * D;
      if (have_prev) dist_sum_[r] += model::distance(z.data(), p, D);
      std::copy(z.begin(), z.end(), p);
    }
  }
  if (attention) {
    for (size_t i = 0; i < attention_.size(); ++i) attention_[i] += attention[i];
    ++attention_blocks_;
  }
}

std::vector<float> TrajectoryScorer::patch_quality(int b) const {
  const int transitions = s_.last_block - s_.first_block;
  std::vector<float> q(N_);
  for (int p = 0; p < N_; ++p)
    q[p] = patch_quality_from_distance(
        static_cast<float>(dist_sum_[static_cast<size_t>(b) * N_ + p] / transitions), s_.scaling);
  return q;
}

std::vector<float> TrajectoryScorer::patch_weight(int b) const {
  std::vector<float> w(N_, 1.0f / N_);
  if (s_.aggregation == Aggregation::Uniform) return w;
  // Each block's weights sum to 1, so the average over blocks does too; renormalise
  // anyway against rounding.
  const double* a = attention_.data() + static_cast<size_t>(b) * N_;
  double wsum = 0;
  for (int p = 0; p < N_; ++p) wsum += a[p];
  for (int p = 0; p < N_; ++p) w[p] = static_cast<float>(a[p] / wsum);
  return w;
}

float TrajectoryScorer::quality(int b) const {
  const std::vector<float> q = patch_quality(b);
  double total = 0;
  if (s_.aggregation == Aggregation::Uniform) {
    for (float v : q) total += v;
    return static_cast<float>(total / N_);
  }
  // (double weights here, as before patch_weight existed: Q stays bit for bit the same)
  const double* a = attention_.data() + static_cast<size_t>(b) * N_;
  double wsum = 0;
  for (int p = 0; p < N_; ++p) wsum += a[p];
  for (int p = 0; p < N_; ++p) total += a[p] / wsum * q[p];
  return static_cast<float>(total);
}

}  // namespace vitnt::quality
