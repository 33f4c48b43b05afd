#include "eval/quality_dnn.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "test_util.h"

namespace fs = std::filesystem;

namespace vitnt::eval {
namespace {

std::string error_of(const std::string& json, const std::string& path = "/nowhere/q.json") {
  try {
    parse_quality_model_desc(json, path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(QualityDnn, DescriptionIsParsedStrictly) {
  const fs::path dir = test::temp_dir("quality_desc");
  test::write_bytes(dir / "m.pb", "x");
  const std::string path = (dir / "q.json").string();
  const QualityModelDesc d = parse_quality_model_desc(
      R"({"file": "m.pb", "format": "tensorflow", "input_size": [96, 80], "channel_order": "BGR",
          "mean": [1, 2, 3], "std": 4, "output": "mean", "batch": 8, "output_name": "out"})",
      path);
  EXPECT_EQ(d.file, (dir / "m.pb").string());  // relative to the JSON
  EXPECT_EQ(d.contract.format, "tensorflow");
  EXPECT_EQ(d.contract.width, 96);
  EXPECT_EQ(d.contract.height, 80);
  EXPECT_EQ(d.contract.order, ChannelOrder::BGR);
  EXPECT_EQ(d.contract.mean[2], 3.0f);
  EXPECT_EQ(d.contract.std[1], 4.0f);
  EXPECT_TRUE(d.output_mean);
  EXPECT_EQ(d.contract.batch, 8);
  EXPECT_EQ(d.contract.output_name, "out");
  // defaults: batch 1, output first
  const QualityModelDesc e = parse_quality_model_desc(R"({"file": "m.pb"})", path);
  EXPECT_EQ(e.contract.batch, 1);
  EXPECT_FALSE(e.output_mean);

  EXPECT_NE(error_of(R"({"file": "m.pb", "stdd": 1})", path).find("q.json: unknown key \"stdd\""),
            std::string::npos);
  EXPECT_NE(error_of(R"({"file": "m.pb", "format": "torch"})", path).find("must be onnx"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"file": "m.pb", "std": [1, 0, 1]})", path).find("must not be 0"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"format": "onnx"})", path).find("\"file\" (the model file) is required"),
            std::string::npos);
  EXPECT_NE(error_of("[1]", path).find("not a JSON object"), std::string::npos);
  EXPECT_NE(error_of(R"({"file": "m.pb", "format": "caffe"})", path).find("needs \"config\""),
            std::string::npos);
  fs::remove_all(dir);
}

TEST(QualityDnn, MissingFileFallsBackToVitntShared) {
  const fs::path dir = test::temp_dir("quality_shared");
  fs::create_directories(dir / "shared/models");
  test::write_bytes(dir / "shared/models/peer.onnx", "x");
  const std::string json = R"({"file": "../../shared/models/peer.onnx"})";
  const char* old = std::getenv("VITNT_SHARED");
  const std::string saved = old ? old : "";
  ::unsetenv("VITNT_SHARED");
  const std::string e = error_of(json, (dir / "q.json").string());
  EXPECT_NE(e.find("model file '../../shared/models/peer.onnx' not found"), std::string::npos) << e;
  ::setenv("VITNT_SHARED", (dir / "shared").c_str(), 1);
  EXPECT_EQ(parse_quality_model_desc(json, (dir / "q.json").string()).file,
            (dir / "shared/models/peer.onnx").string());
  if (old)
    ::setenv("VITNT_SHARED", saved.c_str(), 1);
  else
    ::unsetenv("VITNT_SHARED");
  fs::remove_all(dir);
}

// The input blob: resize, channel order and (x - mean) / std per channel.
TEST(QualityDnn, BlobFollowsTheContract) {
  const std::string onnx = test::shared_dir() + "/models/modelscope_fqa.onnx";
  if (!fs::exists(onnx)) GTEST_SKIP() << onnx << " missing (set VITNT_SHARED)";
  DnnContract c;
  c.order = ChannelOrder::RGB;
  c.mean[0] = 10, c.mean[1] = 20, c.mean[2] = 30;
  c.std[0] = 2, c.std[1] = 4, c.std[2] = 8;
  c.width = 3, c.height = 2;
  DnnModel m(onnx, c);
  cv::Mat img(2, 3, CV_8UC3, cv::Scalar(50, 100, 200));  // B, G, R
  img.at<cv::Vec3b>(1, 2) = {0, 0, 0};
  cv::Mat b = m.blob({img});
  ASSERT_EQ(b.dims, 4);
  EXPECT_EQ(b.size[0], 1);
  EXPECT_EQ(b.size[1], 3);
  EXPECT_EQ(b.size[2], 2);
  EXPECT_EQ(b.size[3], 3);
  EXPECT_FLOAT_EQ(b.ptr<float>(0, 0)[0], (200 - 10) / 2.0f);  // R first
  EXPECT_FLOAT_EQ(b.ptr<float>(0, 1)[0], (100 - 20) / 4.0f);
  EXPECT_FLOAT_EQ(b.ptr<float>(0, 2)[0], (50 - 30) / 8.0f);
  EXPECT_FLOAT_EQ(b.ptr<float>(0, 2)[5], (0 - 30) / 8.0f);  // row 1, column 2
  // another size is resized bilinearly: a uniform image stays uniform
  cv::Mat big(112, 112, CV_8UC3, cv::Scalar(50, 100, 200));
  cv::Mat r = m.blob({big});
  EXPECT_FLOAT_EQ(r.ptr<float>(0, 0)[4], 95.0f);
}

std::vector<cv::Mat> lfw_crops(size_t n, std::string& missing) {
  const fs::path root = fs::path(test::shared_dir()) / "data/lfw112/images";
  std::vector<std::string> files;
  if (fs::exists(root))
    for (const auto& e : fs::recursive_directory_iterator(root))
      if (e.path().extension() == ".jpg") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  if (files.size() < n) {
    missing = root.string() + " missing (set VITNT_SHARED)";
    return {};
  }
  std::vector<cv::Mat> out;
  for (size_t i = 0; i < n; ++i) out.push_back(cv::imread(files[i]));
  return out;
}

double mean(const std::vector<float>& v) {
  double s = 0;
  for (float x : v) s += x;
  return s / v.size();
}

// Both shipped peers run on 20 LFW crops, one pass per face, and blur lowers their
// quality (../shared/models/README.md: LightQNet 0.60 -> 0.10, FQA 0.61 -> 0.11 at
// Gaussian sigma 4 on its 20 crops).
TEST(QualityDnn, ShippedPeersRespondToBlur) {
  std::string missing;
  const std::vector<cv::Mat> crops = lfw_crops(20, missing);
  if (crops.empty()) GTEST_SKIP() << missing;
  std::vector<cv::Mat> blurred;
  for (const cv::Mat& m : crops) {
    cv::Mat b;
    cv::GaussianBlur(m, b, cv::Size(0, 0), 4);
    blurred.push_back(b);
  }
  for (const char* name : {"lightqnet", "modelscope_fqa"}) {
    const std::string json = std::string(VITNT_SOURCE_DIR "/models/peers/") + name + ".json";
    QualityModelDesc d = load_quality_model_desc(json);
    QualityModel q(d);
    const std::vector<float> clean = q.score(crops);
    ASSERT_EQ(clean.size(), 20u);
    const size_t passes = q.forward_passes();
    EXPECT_EQ(passes, d.contract.batch == 1 ? 20u : 1u) << name;
    const std::vector<float> soft = q.score(blurred);
    for (float v : clean) EXPECT_TRUE(v > 0 && v < 1) << name << " " << v;
    EXPECT_GT(mean(clean), 0.4) << name;
    EXPECT_LT(mean(soft), 0.5 * mean(clean)) << name << ": " << mean(clean) << " -> " << mean(soft);
    // the batch does not change the numbers
    d.contract.batch = d.contract.batch == 1 ? 7 : 1;
    QualityModel other(d);
    const std::vector<float> again = other.score(crops);
    for (size_t i = 0; i < clean.size(); ++i) EXPECT_NEAR(again[i], clean[i], 1e-5) << name;
  }
}

}  // namespace
}  // namespace vitnt::eval
