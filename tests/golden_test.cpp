// The engine against the independent PyTorch reference (tools/reference): Q and q_p
// to 1e-5, embeddings to 1e-4, for several shapes, dtypes, key prefixes, block ranges,
// scalings and aggregations; and the invariance to batch size and thread count.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <optional>
#include <set>
#include <thread>

#include "model/cpu.h"
#include "model/kernels.h"
#include "vitnt/vitnt.h"

namespace vitnt {
namespace {

struct Golden {
  nlohmann::json j;
  std::vector<cv::Mat> images;
  std::vector<ImageView> views;
};

const Golden& golden() {
  static Golden g = [] {
    Golden g;
    const char* dir = std::getenv("VITNT_GOLDEN_DIR");
    if (!dir) throw std::runtime_error("VITNT_GOLDEN_DIR not set (run through ctest)");
    std::ifstream f(std::string(dir) + "/golden.json");
    if (!f)
      throw std::runtime_error(std::string(dir) +
                               "/golden.json missing: the golden_setup "
                               "test (tools/reference/make_golden.py) did not run");
    g.j = nlohmann::json::parse(f);
    for (const auto& p : g.j["images"]) {
      g.images.push_back(cv::imread(p.get<std::string>(), cv::IMREAD_COLOR));
      const cv::Mat& m = g.images.back();
      g.views.push_back({m.data, m.cols, m.rows, m.step[0], ChannelOrder::BGR});
    }
    return g;
  }();
  return g;
}

TEST(Golden, MatchesPyTorchReference) {
  const Golden& g = golden();
  ASSERT_GE(g.j["models"].size(), 3u);
  for (const auto& m : g.j["models"]) {
    SCOPED_TRACE(m["name"].get<std::string>());
    Model model = Model::load(m["weights"], load_model_config(m["config"]));
    for (const auto& c : m["cases"]) {
      SCOPED_TRACE(c.dump().substr(0, 80));
      ScoreOptions o;
      o.first_block = c["first"].get<int>();
      o.last_block = c["last"].get<int>();
      o.scaling = c["scaling"].get<float>();
      o.aggregation = parse_aggregation(c["aggregation"]);
      o.patch_map = true;
      auto r = model.score(g.views, o);
      ASSERT_EQ(r.size(), g.views.size());
      for (size_t i = 0; i < r.size(); ++i) {
        EXPECT_NEAR(r[i].quality, c["quality"][i].get<double>(), 1e-5);
        const auto& q = c["patch_quality"][i];
        ASSERT_EQ(r[i].patch_quality.size(), q.size());
        for (size_t p = 0; p < q.size(); ++p)
          ASSERT_NEAR(r[i].patch_quality[p], q[p].get<double>(), 1e-5) << "patch " << p;
      }
    }
    ScoreOptions o;
    o.embedding = true;
    auto r = model.score(g.views, o);
    for (size_t i = 0; i < r.size(); ++i) {
      const auto& e = m["embedding"][i];
      ASSERT_EQ(r[i].embedding.size(), e.size());
      for (size_t k = 0; k < e.size(); ++k)
        ASSERT_NEAR(r[i].embedding[k], e[k].get<double>(), 1e-4) << "image " << i << " dim " << k;
    }
    // the default settings are the description's = the first case
    auto d = model.score(g.views);
    for (size_t i = 0; i < d.size(); ++i)
      EXPECT_NEAR(d[i].quality, m["cases"][0]["quality"][i].get<double>(), 1e-5);
  }
}

TEST(Golden, EmbeddingRequestDoesNotChangeTheScore) {
  const auto& m = golden().j["models"][1];
  Model model = Model::load(m["weights"], load_model_config(m["config"]));
  ScoreOptions with;
  with.embedding = true;
  auto a = model.score(golden().views), b = model.score(golden().views, with);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].quality, b[i].quality);
}

// 32 distinct images: the golden ones, shifted and with noise of their own.
std::vector<cv::Mat> many_images() {
  std::vector<cv::Mat> out;
  cv::RNG rng(7);
  for (int i = 0; i < 32; ++i) {
    const cv::Mat& src = golden().images[i % golden().images.size()];
    cv::Mat m;
    const cv::Mat shift = (cv::Mat_<double>(2, 3) << 1, 0, i % 7 - 3, 0, 1, i / 7 - 2);
    cv::warpAffine(src, m, shift, src.size(), cv::INTER_LINEAR, cv::BORDER_REFLECT);
    cv::Mat noise(m.size(), CV_8UC3);
    rng.fill(noise, cv::RNG::UNIFORM, 0, 2 + i);
    out.push_back(m + noise);
  }
  return out;
}

// Every fp32 output of an image (score, patch map, scalar, embedding) is bit-identical
// whether the image is scored alone on one thread, or at any position of a batch of 7
// or 32 on two threads: on whatever instruction set oneDNN and our row kernels use here
// (ctest also runs this under ONEDNN_MAX_CPU_ISA and VITNT_KERNEL_ISA, see
// tests/CMakeLists.txt).
void expect_batch_invariant(const std::string& weights, std::optional<ModelConfig> config,
                            bool embedding) {
  try {
    model::row_kernel_level();
  } catch (const Error& e) {
    GTEST_SKIP() << e.what();  // VITNT_KERNEL_ISA names a level this CPU lacks
  }
  std::printf("oneDNN ISA %s, row kernels %s\n", model::cpu_info().onednn_isa.c_str(),
              model::row_kernel_level());
  LoadOptions one, two;
  one.threads = 1;
  two.threads = 2;
  const Model m1 = Model::load(weights, config, one), m2 = Model::load(weights, config, two);
  const std::vector<cv::Mat> mats = many_images();
  std::vector<ImageView> views;
  for (const cv::Mat& m : mats)
    views.push_back({m.data, m.cols, m.rows, m.step[0], ChannelOrder::BGR});
  ScoreOptions o;
  o.patch_map = true;
  o.embedding = embedding;
  std::vector<FaceScore> alone;
  for (const ImageView& v : views) alone.push_back(m1.score({v}, o)[0]);
  std::set<float> distinct;
  for (const FaceScore& r : alone) distinct.insert(r.quality);
  EXPECT_GT(distinct.size(), 28u) << "the images should score differently";
  auto check = [&](size_t first, size_t n) {
    std::vector<ImageView> batch(views.begin() + first, views.begin() + first + n);
    const std::vector<FaceScore> got = m2.score(batch, o);
    for (size_t k = 0; k < n; ++k) {
      const FaceScore &a = got[k], &b = alone[first + k];
      ASSERT_EQ(a.quality, b.quality) << "image " << first + k << " in a batch of " << n;
      ASSERT_EQ(a.patch_quality, b.patch_quality) << "image " << first + k;
      ASSERT_EQ(a.scalar, b.scalar) << "image " << first + k;
      ASSERT_EQ(a.embedding, b.embedding) << "image " << first + k;
    }
  };
  for (size_t first = 0; first + 7 <= views.size(); first += 7) check(first, 7);
  check(0, 32);
  check(3, 29);
  // the same batch scored again gives the same numbers
  EXPECT_EQ(m2.score(views, o)[31].quality, alone[31].quality);
}

TEST(Invariance, SmallModelIndependentOfBatchAndThreads) {
  const auto& m = golden().j["models"][1];
  expect_batch_invariant(m["weights"], load_model_config(m["config"]), true);
}

TEST(Invariance, VitBShapeIndependentOfBatchAndThreads) {
  const auto& m = golden().j["vitb_shape"];  // no FR head
  expect_batch_invariant(m["weights"], load_model_config(m["config"]), false);
}

TEST(Invariance, BundledModelIndependentOfBatchAndThreads) {
  // with its FR head: the embedding too
  expect_batch_invariant(std::string(VITNT_SOURCE_DIR) + "/models/vitnt-s16.safetensors",
                         std::nullopt, true);
}

// One Model scored from several threads at once (the Python module releases the GIL,
// Dask runs threads), from its very first call (weights packed, primitives made
// concurrently): every call gives what a separately loaded model gives, fp32 and bf16.
TEST(Golden, ConcurrentCallsOnOneModelAgree) {
  const Golden& g = golden();
  const auto& m = g.j["models"][1];
  std::vector<ImageView> many;
  for (int k = 0; k < 5; ++k) many.insert(many.end(), g.views.begin(), g.views.end());
  ScoreOptions o;
  o.embedding = true;
  std::vector<Precision> precisions = {Precision::F32};
  if (model::bf16_unavailable_reason().empty()) precisions.push_back(Precision::BF16);
  for (Precision p : precisions) {
    LoadOptions lo;
    lo.precision = p;
    lo.threads = 2;
    const auto expected =
        Model::load(m["weights"], load_model_config(m["config"]), lo).score(many, o);
    for (int round = 0; round < 3; ++round) {
      Model model = Model::load(m["weights"], load_model_config(m["config"]), lo);
      std::vector<std::vector<FaceScore>> got(3);
      std::vector<std::string> errors(got.size());
      std::vector<std::thread> threads;
      for (size_t t = 0; t < got.size(); ++t)
        threads.emplace_back([&, t] {
          try {
            got[t] = model.score(many, o);
          } catch (const std::exception& e) {
            errors[t] = e.what();
          }
        });
      for (auto& t : threads) t.join();
      for (size_t t = 0; t < got.size(); ++t) {
        ASSERT_EQ(errors[t], "") << "thread " << t;
        ASSERT_EQ(got[t].size(), many.size());
        for (size_t i = 0; i < many.size(); ++i) {
          EXPECT_EQ(got[t][i].quality, expected[i].quality) << "thread " << t << " image " << i;
          EXPECT_EQ(got[t][i].embedding, expected[i].embedding) << "thread " << t << " image " << i;
        }
      }
    }
  }
}

TEST(Golden, ChannelOrderIsHonoured) {
  // The same pixels given as RGB must score as the BGR view of the swapped image.
  const Golden& g = golden();
  const auto& m = g.j["models"][0];
  Model model = Model::load(m["weights"], load_model_config(m["config"]));
  cv::Mat swapped;
  cv::cvtColor(g.images[0], swapped, cv::COLOR_BGR2RGB);
  ImageView rgb{swapped.data, swapped.cols, swapped.rows, swapped.step[0], ChannelOrder::RGB};
  auto a = model.score({g.views[0]}), b = model.score({rgb});
  EXPECT_EQ(a[0].quality, b[0].quality);
  // ... and reading BGR bytes as RGB gives a different (wrong) score
  ImageView wrong = g.views[0];
  wrong.order = ChannelOrder::RGB;
  EXPECT_NE(model.score({wrong})[0].quality, a[0].quality);
}

TEST(Golden, RejectsWrongSizesAndRanges) {
  const auto& m = golden().j["models"][0];
  Model model = Model::load(m["weights"], load_model_config(m["config"]));
  cv::Mat small(100, 100, CV_8UC3, cv::Scalar(0));
  EXPECT_THROW(model.score({{small.data, 100, 100, small.step[0], ChannelOrder::BGR}}), Error);
  ScoreOptions o;
  o.first_block = 2;
  o.last_block = 2;
  EXPECT_THROW(model.score(golden().views, o), Error);
  o.last_block = 9;
  EXPECT_THROW(model.score(golden().views, o), Error);
}

}  // namespace
}  // namespace vitnt

namespace vitnt {
namespace {

// The bf16 path against the same fp32/float64 reference: close, not exact (the
// accuracy trade-off is measured on real images in docs/performance.md).
TEST(Golden, Bf16StaysCloseToReference) {
  const Golden& g = golden();
  LoadOptions bf16;
  bf16.precision = Precision::BF16;
  const std::string why = model::bf16_unavailable_reason();
  if (!why.empty()) {
    // no native bf16 here (or oneDNN capped by ONEDNN_MAX_CPU_ISA): refused at load, with
    // the missing feature and the fp32 alternative named
    const auto& m = g.j["models"][0];
    try {
      Model::load(m["weights"], load_model_config(m["config"]), bf16);
      FAIL() << "bf16 loaded on a CPU without native bf16";
    } catch (const UnsupportedError& e) {
      EXPECT_NE(std::string(e.what()).find("AVX512-BF16"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("fp32"), std::string::npos) << e.what();
    }
    std::printf("bf16 refused here, as it must be: %s\n", why.c_str());
    return;
  }
  double worst_q = 0, worst_emb = 0;
  for (const auto& m : g.j["models"]) {
    Model model = Model::load(m["weights"], load_model_config(m["config"]), bf16);
    ScoreOptions o;
    o.embedding = true;
    auto r = model.score(g.views, o);
    for (size_t i = 0; i < r.size(); ++i) {
      worst_q =
          std::max(worst_q, std::abs(r[i].quality - m["cases"][0]["quality"][i].get<double>()));
      double norm = 0, diff = 0;
      for (size_t k = 0; k < r[i].embedding.size(); ++k) {
        const double e = m["embedding"][i][k].get<double>();
        norm += e * e;
        diff += (r[i].embedding[k] - e) * (r[i].embedding[k] - e);
      }
      worst_emb = std::max(worst_emb, std::sqrt(diff / norm));
    }
  }
  std::printf("bf16: max |dQ| %.2e, max relative embedding error %.2e\n", worst_q, worst_emb);
  EXPECT_LT(worst_q, 2e-4);
  EXPECT_LT(worst_emb, 1.5e-2);
  EXPECT_GT(worst_q + worst_emb, 0.0) << "bf16 identical to fp32: is the bf16 path running?";
}

}  // namespace
}  // namespace vitnt

namespace vitnt {
namespace {

TEST(Golden, EmbeddingNormBaselineMatchesReference) {
  const Golden& g = golden();
  for (const auto& m : g.j["models"]) {
    Model model = Model::load(m["weights"], load_model_config(m["config"]));
    ScoreOptions o;
    o.embedding_norm = true;
    auto r = model.score(g.views, o);
    for (size_t i = 0; i < r.size(); ++i) {
      const double ref = m["pre_bn_norm"][i].get<double>();
      EXPECT_NEAR(r[i].embedding_norm, ref, 1e-4 * std::max(1.0, ref));
    }
  }
}

TEST(Golden, SerFiqIsDeterministicAndBatchIndependent) {
  const Golden& g = golden();
  const auto& m = g.j["models"][2];
  Model model = Model::load(m["weights"], load_model_config(m["config"]));
  ScoreOptions o;
  o.serfiq_passes = 6;
  auto all = model.score(g.views, o);
  auto again = model.score(g.views, o);
  std::set<float> distinct;
  for (size_t i = 0; i < g.views.size(); ++i) {
    auto one = model.score({g.views[i]}, o);
    EXPECT_EQ(one[0].serfiq_quality, all[i].serfiq_quality);
    EXPECT_EQ(again[i].serfiq_quality, all[i].serfiq_quality);
    EXPECT_LE(all[i].serfiq_quality, 1.0f);
    EXPECT_GE(all[i].serfiq_quality, -1.0f);  // mean distance of unit vectors is in [0, 2]
    distinct.insert(all[i].serfiq_quality);
  }
  EXPECT_GT(distinct.size(), 1u);
  // less dropout: embeddings agree more, quality goes up
  ScoreOptions light = o;
  light.serfiq_dropout = 0.05f;
  auto l = model.score(g.views, light);
  for (size_t i = 0; i < l.size(); ++i) EXPECT_GT(l[i].serfiq_quality, all[i].serfiq_quality);
  ScoreOptions bad = o;
  bad.serfiq_passes = 1;
  EXPECT_THROW(model.score(g.views, bad), Error);
}

}  // namespace
}  // namespace vitnt
