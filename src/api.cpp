// The public Model: loading (config resolution, strict binding) and batched scoring.
#include <omp.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <dnnl.hpp>

#include "io/safetensors.h"
#include "model/cpu.h"
#include "model/kernels.h"
#include "model/vit.h"
#include "quality/vitnt_score.h"
#include "vitnt/vitnt.h"

namespace vitnt {

namespace {
// Images go through the network in chunks of about this many token rows: enough rows
// for the GEMMs to run at full speed, few enough that the activations stay small
// (docs/performance.md measures both). VITNT_CHUNK_ROWS overrides it. Chunking never
// changes a result (every GEMM call is one image's rows).
int chunk_images(int tokens_per_image) {
  static const int rows = [] {
    const char* v = std::getenv("VITNT_CHUNK_ROWS");
    const int n = v ? std::atoi(v) : 0;
    return n > 0 ? n : 1024;
  }();
  return std::max(1, rows / tokens_per_image);
}

bool file_exists(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0;
}

// No explicit config: the description embedded in the file's metadata (our exports
// carry one), else a sidecar JSON next to the weights.
ModelConfig resolve_config(const io::SafeTensorsFile& file) {
  auto it = file.metadata().find("vitnt_config");
  if (it != file.metadata().end())
    return parse_model_config(it->second, file.path() + " (embedded vitnt_config)");
  std::string base = file.path();
  if (base.size() > 12 && base.compare(base.size() - 12, 12, ".safetensors") == 0)
    base.resize(base.size() - 12);
  for (const std::string& side : {base + ".json", file.path() + ".json"})
    if (file_exists(side)) return load_model_config(side);
  throw Error(file.path() +
              ": no model description: give --arch NAME or --model-config FILE (or put "
              "a description in " +
              base + ".json)");
}
}  // namespace

struct Model::Impl {
  std::string path;
  model::VitWeights weights;
  int threads = 0;
};

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;
Model::~Model() = default;

Model Model::load(const std::string& weights_path, std::optional<ModelConfig> config,
                  const LoadOptions& options) {
  // what cannot run on this CPU is refused here, before any weight is read
  model::require_precision(options.precision);
  model::row_kernel_level();
  auto file_ptr = std::make_shared<const io::SafeTensorsFile>(weights_path);
  const io::SafeTensorsFile& file = *file_ptr;
  ModelConfig c = config ? *config : resolve_config(file);
  auto impl = std::make_unique<Impl>();
  impl->path = weights_path;
  impl->weights = model::bind_weights(file_ptr, c, options.precision);
  impl->threads = options.threads > 0 ? options.threads : omp_get_num_procs();
  return Model(std::move(impl));
}

const ModelConfig& Model::config() const { return impl_->weights.config; }
const std::string& Model::path() const { return impl_->path; }
const std::string& Model::key_prefix() const { return impl_->weights.key_prefix; }
const std::vector<std::string>& Model::ignored_tensors() const {
  return impl_->weights.ignored_counters;
}

std::vector<FaceScore> Model::score(const std::vector<ImageView>& images,
                                    const ScoreOptions& o) const {
  const ModelConfig& c = config();
  quality::ScoreSettings s;
  s.first_block = o.first_block.value_or(c.first_block);
  s.last_block = o.last_block.value_or(c.last_block);
  s.scaling = o.scaling.value_or(c.scaling);
  s.aggregation = o.aggregation.value_or(c.aggregation);
  if (s.first_block < 0 || s.last_block >= c.depth || s.last_block - s.first_block < 1)
    throw Error("block range " + std::to_string(s.first_block) + ":" +
                std::to_string(s.last_block) + " invalid: need 0 <= A < B < depth (" +
                std::to_string(c.depth) + ")");
  if (!(s.scaling > 0)) throw Error("scaling must be positive");
  const bool head = o.embedding || o.embedding_norm || o.serfiq_passes > 0;
  if (o.serfiq_passes == 1 || o.serfiq_passes < 0 ||
      !(o.serfiq_dropout > 0 && o.serfiq_dropout < 1))
    throw Error("SER-FIQ needs at least 2 passes and a dropout rate in (0, 1)");
  if (head && !impl_->weights.has_head)
    throw Error(path() + ": this model file has no FR head (feature.*): no embedding");
  for (size_t i = 0; i < images.size(); ++i) {
    const ImageView& im = images[i];
    if (!im.data || im.width != c.img_size || im.height != c.img_size)
      throw Error("image " + std::to_string(i) + " is " + std::to_string(im.width) + "x" +
                  std::to_string(im.height) + ", the model needs " + std::to_string(c.img_size) +
                  "x" + std::to_string(c.img_size) + " aligned crops");
  }
  omp_set_num_threads(impl_->threads);
  // the scalar only for the settings the calibration was fitted with
  const Calibration* cal = c.calibration(o.calibration);  // an unknown name throws
  if (cal && !(cal->first_block == s.first_block && cal->last_block == s.last_block &&
               cal->scaling == s.scaling && cal->aggregation == s.aggregation))
    cal = nullptr;
  const std::vector<std::vector<float>> overlap =
      o.regions ? region_patch_overlap(c.img_size, c.patch_size)
                : std::vector<std::vector<float>>();
  std::vector<FaceScore> out(images.size());
  std::vector<float> emb, norms, serfiq;
  const size_t chunk = chunk_images(c.num_patches());
  for (size_t start = 0; start < images.size(); start += chunk) {
    const int n = static_cast<int>(std::min(chunk, images.size() - start));
    quality::TrajectoryScorer scorer(impl_->weights, n, s);
    model::HeadRequest hr;
    if (head) {
      emb.assign(static_cast<size_t>(n) * c.num_features, 0.0f);
      norms.assign(n, 0.0f);
      hr.embedding = emb.data();
      hr.pre_bn_norm = norms.data();
    }
    if (o.serfiq_passes > 0) {
      serfiq.assign(n, 0.0f);
      hr.serfiq = serfiq.data();
      hr.serfiq_passes = o.serfiq_passes;
      hr.serfiq_dropout = o.serfiq_dropout;
    }
    try {
      model::forward(impl_->weights, images.data() + start, n, s.last_block, &scorer, hr);
    } catch (const dnnl::error& e) {  // never oneDNN's bare message
      throw Error(path() + ": oneDNN failed while scoring on this CPU (" +
                  model::cpu_info().model_name + ", oneDNN ISA " + model::cpu_info().onednn_isa +
                  "): " + e.what());
    }
    for (int b = 0; b < n; ++b) {
      FaceScore& r = out[start + b];
      r.quality = scorer.quality(b);
      if (cal) r.scalar = cal->scalar(r.quality);
      if (o.patch_map) r.patch_quality = scorer.patch_quality(b);
      if (o.regions) {  // patches weighted by overlap x the aggregation's weight
        const std::vector<float> q = scorer.patch_quality(b), w = scorer.patch_weight(b);
        for (const std::vector<float>& ov : overlap) {
          double num = 0, den = 0;
          for (size_t p = 0; p < q.size(); ++p) {
            num += static_cast<double>(ov[p]) * w[p] * q[p];
            den += static_cast<double>(ov[p]) * w[p];
          }
          r.regions.push_back(den > 0 ? static_cast<float>(num / den) : 0.0f);
        }
      }
      if (head) r.embedding_norm = norms[b];
      if (o.serfiq_passes > 0) r.serfiq_quality = serfiq[b];
      if (o.embedding)
        r.embedding.assign(emb.begin() + static_cast<size_t>(b) * c.num_features,
                           emb.begin() + static_cast<size_t>(b + 1) * c.num_features);
    }
  }
  return out;
}

}  // namespace vitnt
