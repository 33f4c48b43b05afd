// vitnt — ViTNT-FIQA face image quality from one forward pass of a face ViT.
//
// The whole public API: describe a model, load it, score aligned faces.
//
//   vitnt::Model model = vitnt::Model::load("vit.safetensors",
//   vitnt::builtin_arch("cvlface-vit-b")); std::vector<vitnt::FaceScore> s = model.score(images,
//   options);
//
// Everything else in the project (CLI, Python module, evaluation) calls this.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace vitnt {

// Every failure (bad file, bad shape, bad option) is reported as this, with a message
// that names the file/tensor and the problem.
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// What this CPU cannot run (bf16 without AVX512-BF16 / AMX): the message names the
// missing CPU feature and the alternative.
struct UnsupportedError : Error {
  using Error::Error;
};

enum class ChannelOrder { RGB, BGR };
enum class Aggregation { AttentionLast, AttentionAll, Uniform };
// F32: the exact path. BF16: GEMM inputs and weights in bfloat16 with fp32
// accumulation (AVX512-BF16); LayerNorm, attention softmax and the score stay fp32.
enum class Precision { F32, BF16 };

// "attention-last" | "attention-all" | "uniform"; throws Error on anything else.
Aggregation parse_aggregation(const std::string& name);
std::string to_string(Aggregation a);

// Q mapped to a quality people can act on (README "The scalar"): for one FR comparison
// system at one operating point, scalar(Q) = round(100 * P(a mated comparison of this
// image against a good-quality image of the same person is a match | Q)), estimated by a
// monotone fit of match outcomes against Q (vitnt calibrate). Valid only for the ViTNT
// settings it was fitted with.
struct Calibration {
  // The block's name within its model: the comparison system it was fitted for ("own" =
  // the model's own embedding, "edgeface-xs", ...). Outputs name it beside the scalar.
  std::string name;
  std::vector<float> q;  // knots: Q, strictly increasing
  std::vector<float> p;  // P(match) at each knot: non-decreasing, in [0, 1]
  // the settings Q was computed with
  int first_block = 0, last_block = 0;
  float scaling = 0;
  Aggregation aggregation = Aggregation::AttentionLast;
  std::string fr_system;  // the comparison system the probability refers to
  double fmr = 1e-3;      // its operating point
  double threshold = 0;   // its comparison-score threshold at that FMR on the fit's data
  std::string data;       // what the fit used
  size_t mated = 0;       // mated comparisons in the fit
  std::string fitted;     // UTC date and vitnt version of the fit

  double probability(float quality) const;  // linear between knots, constant outside
  int scalar(float quality) const;          // round(100 * probability(Q)): 0..100
};

// Architecture + input contract + recommended ViTNT settings of one model
// (the JSON "model description"; see README).
struct ModelConfig {
  std::string name;
  int img_size = 112;
  int patch_size = 8;
  int embed_dim = 512;
  int depth = 12;
  int num_heads = 8;
  double mlp_ratio = 4.0;
  int num_features = 512;
  // input: x = (pixel / 255 - mean) / std, per channel in `channel_order`
  ChannelOrder channel_order = ChannelOrder::RGB;
  float mean[3] = {0.5f, 0.5f, 0.5f};
  float std[3] = {0.5f, 0.5f, 0.5f};
  // recommended ViTNT settings
  int first_block = 0;
  int last_block = -1;  // -1: depth - 1
  float scaling = 8.0f;
  Aggregation aggregation = Aggregation::AttentionLast;
  // tensors that may be in the file but are not used (training-only extras)
  std::vector<std::string> ignore_tensors = {"mask_token"};
  // Named calibration blocks, one per FR comparison system: the scalar is only true for the
  // system it was fitted for. `default_calibration` names the one used when none is asked.
  std::vector<Calibration> calibrations;
  std::string default_calibration;

  // The block named `name` ("": the default); nullptr when the model has none. A name the
  // model does not carry is an Error listing the names it does.
  const Calibration* calibration(const std::string& name = "") const;
  // Adds `c`, replacing a block of the same name; the first block added becomes the default.
  void set_calibration(Calibration c);

  int grid() const { return img_size / patch_size; }
  int num_patches() const { return grid() * grid(); }
  int mlp_hidden() const { return static_cast<int>(embed_dim * mlp_ratio); }
};

ModelConfig parse_model_config(const std::string& json_text, const std::string& origin);
// One calibration block on its own (vitnt calibrate writes it; errors name `origin`). A
// block without a "name" is called `unnamed_as`.
Calibration parse_calibration(const std::string& json_text, const std::string& origin,
                              const std::string& unnamed_as = "default");
std::string calibration_to_json(const Calibration& c);
// Isotonic fit of match outcomes against Q: the qualities are pooled into equal-count
// bins of at least `min_bin` (noise), the bins' match rates made non-decreasing by
// pool-adjacent-violators, and each pooled block becomes a knot at its mean Q. Only the
// knots are set; the caller fills in what the fit refers to.
Calibration fit_calibration(const std::vector<float>& quality, const std::vector<bool>& match,
                            size_t min_bin = 50);
ModelConfig load_model_config(const std::string& path);
std::string model_config_to_json(const ModelConfig& c);
// Shipped descriptions: cvlface-vit-s, cvlface-vit-b, insightface-vit-t/s/b/l, ...
ModelConfig builtin_arch(const std::string& name);
std::vector<std::string> builtin_arch_names();

// One aligned face: 8-bit, 3 channels interleaved, rows of `stride` bytes.
struct ImageView {
  const uint8_t* data = nullptr;
  int width = 0;
  int height = 0;
  size_t stride = 0;  // bytes per row; 0 = width * 3
  ChannelOrder order = ChannelOrder::BGR;
};

struct ScoreOptions {
  std::optional<int> first_block;  // unset: the model's recommendation
  std::optional<int> last_block;
  std::optional<float> scaling;
  std::optional<Aggregation> aggregation;
  bool embedding = false;  // also run the rest of the network and the FR head
  bool patch_map = false;  // also return q_p for every patch
  // Baselines from the same pass (both run the whole network and the FR head):
  // SER-FIQ-style stochastic embedding robustness: `serfiq_passes` extra passes of the FR
  // head with dropout on its input tokens; 0 = off.
  int serfiq_passes = 0;
  float serfiq_dropout = 0.5f;
  bool embedding_norm = false;  // FaceScore::embedding_norm (runs the head)
  bool regions = false;         // FaceScore::regions: mean q_p of fixed facial regions
  // The calibration block FaceScore::scalar comes from ("": the model's default); a name the
  // model does not carry is an Error.
  std::string calibration;
};

// The fixed facial regions of --regions, in the ArcFace 112x112 template (image left /
// right as in the template's landmark order): left_eye, right_eye, nose, mouth,
// forehead, left_cheek, right_cheek, chin. Rectangles in template pixels (x0, y0, x1, y1).
struct FaceRegion {
  std::string name;
  float x0, y0, x1, y1;
};
const std::vector<FaceRegion>& face_regions();
// Weight of each patch of a grid x grid model (patch_size pixels, row-major) in each
// region: the area of their overlap, in template pixels scaled to img_size.
std::vector<std::vector<float>> region_patch_overlap(int img_size, int patch_size);

struct FaceScore {
  float quality = 0;                 // Q: higher is better, in (0, 1]
  std::vector<float> embedding;      // FR embedding (not normalised), when asked
  std::vector<float> patch_quality;  // q_p, row-major grid x grid, when asked
  float embedding_norm = 0;          // |embedding before the last BatchNorm| (MagFace-style), with
                                     // embedding or serfiq_passes
  float serfiq_quality = 0;          // 1 - mean pairwise distance of the dropout embeddings
  int scalar = -1;  // calibrated 0..100 by the block ScoreOptions::calibration names (see
                    // Calibration); -1: the model has no calibration for these settings
  std::vector<float> regions;  // with ScoreOptions::regions: per face_regions(), the mean q_p of
                               // the region's patches weighted by overlap (and attention, when
                               // the aggregation uses it)
};

struct LoadOptions {
  int threads = 0;  // 0: all cores
  Precision precision = Precision::F32;
};

class Model {
 public:
  // Loads safetensors weights (F32/F16/BF16) under whatever wrapper prefix the file
  // has ("net.", "module.", CVLface's "model.net."...: derived from the file); BatchNorm
  // num_batches_tracked counters (integer) are set aside. The config is checked against
  // the tensors; with no config, the one embedded in the file's metadata or a sidecar
  // "<weights>.json" is used. bf16 where the CPU cannot run it: UnsupportedError.
  static Model load(const std::string& weights_path, std::optional<ModelConfig> config = {},
                    const LoadOptions& options = {});
  Model(Model&&) noexcept;
  Model& operator=(Model&&) noexcept;
  ~Model();

  const ModelConfig& config() const;
  const std::string& path() const;
  // The prefix stripped from the file's tensor names ("" when none), and the tensors
  // set aside unread (BatchNorm counters), by their names in the file.
  const std::string& key_prefix() const;
  const std::vector<std::string>& ignored_tensors() const;

  // Images must be img_size x img_size. Results do not depend on the batch size or
  // the thread count. Thread-safe for concurrent calls, but each calling thread gets its own
  // OpenMP team: score from one thread, or keep the teams' threads within the cores.
  std::vector<FaceScore> score(const std::vector<ImageView>& images,
                               const ScoreOptions& options = {}) const;

  struct Impl;

 private:
  explicit Model(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vitnt
