// Face detection: YuNet output decoding and suppression on synthetic heads; on real
// photos the landmarks of the independent reference (raw LFW), no-face and group photos.
#include "face/detector.h"

#include <gtest/gtest.h>

#include <cmath>
#include <opencv2/imgproc.hpp>

#include "face/lfw_sample_test_util.h"
#include "io/image_io.h"

namespace vitnt::face {
namespace {

namespace fs = std::filesystem;

// Empty heads for a padded input of w x h.
YunetHeads empty_heads(int w, int h) {
  YunetHeads y;
  for (int k = 0; k < 3; ++k) {
    const int cells = (w / kStrides[k]) * (h / kStrides[k]);
    y.cls[k] = cv::Mat::zeros(cells, 1, CV_32F);
    y.obj[k] = cv::Mat::zeros(cells, 1, CV_32F);
    y.bbox[k] = cv::Mat::zeros(cells, 4, CV_32F);
    y.kps[k] = cv::Mat::zeros(cells, 10, CV_32F);
  }
  return y;
}

Face box(float x, float y, float w, float h, float score) {
  Face f;
  f.x = x;
  f.y = y;
  f.width = w;
  f.height = h;
  f.score = score;
  return f;
}

TEST(DecodeYunet, CellOffsetsAndStridesGivePixels) {
  YunetHeads y = empty_heads(64, 32);
  // Stride 16: 4 columns; cell (row 1, col 2) is index 6.
  y.cls[1].at<float>(6) = 0.81f;
  y.obj[1].at<float>(6) = 1.0f;  // score sqrt(0.81 * 1) = 0.9
  float* b = y.bbox[1].ptr<float>(6);
  b[0] = 0.5f, b[1] = 0.25f, b[2] = std::log(2.f), b[3] = std::log(3.f);
  for (int j = 0; j < 5; ++j) {
    y.kps[1].ptr<float>(6)[2 * j] = 0.1f * j;
    y.kps[1].ptr<float>(6)[2 * j + 1] = 0.2f * j;
  }
  // Below the threshold: sqrt(0.3 * 0.3) = 0.3.
  y.cls[0].at<float>(3) = 0.3f;
  y.obj[0].at<float>(3) = 0.3f;
  const std::vector<Face> faces = decode_yunet(y, 64, 32, 0.5f, "test");
  ASSERT_EQ(faces.size(), 1u);
  const Face& f = faces[0];
  EXPECT_NEAR(f.score, 0.9f, 1e-6);
  EXPECT_NEAR(f.width, 32, 1e-4);   // exp(log 2) * 16
  EXPECT_NEAR(f.height, 48, 1e-4);  // exp(log 3) * 16
  EXPECT_NEAR(f.x + f.width / 2, (2 + 0.5) * 16, 1e-4);
  EXPECT_NEAR(f.y + f.height / 2, (1 + 0.25) * 16, 1e-4);
  for (int j = 0; j < 5; ++j) {
    EXPECT_NEAR(f.landmarks[j].x, (2 + 0.1 * j) * 16, 1e-4);
    EXPECT_NEAR(f.landmarks[j].y, (1 + 0.2 * j) * 16, 1e-4);
  }
  EXPECT_EQ(decode_yunet(y, 64, 32, 0.25f, "test").size(), 2u);
}

TEST(DecodeYunet, WrongHeadShapeNamesTheOutput) {
  YunetHeads y = empty_heads(64, 32);
  y.kps[2] = cv::Mat::zeros(2, 4, CV_32F);
  try {
    decode_yunet(y, 64, 32, 0.5f, "model.onnx");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("model.onnx: output kps_32"), std::string::npos)
        << e.what();
  }
}

TEST(SuppressOverlaps, KeepsTheBestOfOverlappingBoxes) {
  const std::vector<Face> kept = suppress_overlaps(
      {box(0, 0, 10, 10, 0.6f), box(1, 1, 10, 10, 0.9f), box(50, 50, 10, 10, 0.7f),
       box(8, 8, 10, 10, 0.8f)},  // IoU with the best: 9/191, kept
      0.3f);
  ASSERT_EQ(kept.size(), 3u);
  EXPECT_FLOAT_EQ(kept[0].score, 0.9f);
  EXPECT_FLOAT_EQ(kept[1].score, 0.8f);
  EXPECT_FLOAT_EQ(kept[2].score, 0.7f);
  EXPECT_NEAR(box_iou(box(0, 0, 10, 10, 0), box(5, 0, 10, 10, 0)), 50.0 / 150, 1e-6);
  EXPECT_EQ(box_iou(box(0, 0, 10, 10, 0), box(20, 0, 10, 10, 0)), 0);
}

TEST(ChooseFaces, CentralLargestAll) {
  // 200x100 image: a confident face in a corner, a weaker one in the middle, a big one.
  const std::vector<Face> faces = {box(0, 0, 20, 20, 0.95f), box(90, 40, 20, 20, 0.7f),
                                   box(120, 10, 60, 60, 0.6f)};
  EXPECT_EQ(choose_faces(faces, 200, 100, FaceChoice::Central), std::vector<size_t>{1});
  EXPECT_EQ(choose_faces(faces, 200, 100, FaceChoice::Largest), std::vector<size_t>{2});
  EXPECT_EQ(choose_faces(faces, 200, 100, FaceChoice::All), (std::vector<size_t>{0, 1, 2}));
  EXPECT_TRUE(choose_faces({}, 200, 100, FaceChoice::Central).empty());
  EXPECT_EQ(parse_face_choice("largest"), FaceChoice::Largest);
  EXPECT_EQ(to_string(FaceChoice::All), "all");
  EXPECT_THROW(parse_face_choice("biggest"), Error);
}

TEST(FaceDetector, LoadErrorsNameTheFile) {
  try {
    FaceDetector::load("/nonexistent/yunet.onnx");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/yunet.onnx"), std::string::npos);
  }
  const std::string other = test::shared_dir() + "/models/fr_feature.onnx";
  if (!fs::exists(other)) GTEST_SKIP() << other << " missing (set VITNT_SHARED)";
  try {
    FaceDetector::load(other);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not a YuNet model"), std::string::npos) << e.what();
  }
}

class RealPhotos : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(test::detector_model_path()))
      GTEST_SKIP() << test::detector_model_path() << " missing (set VITNT_SHARED)";
    detector = std::make_unique<FaceDetector>(FaceDetector::load(test::detector_model_path()));
  }
  std::vector<Face> detect(const cv::Mat& bgr, ChannelOrder order = ChannelOrder::BGR) {
    return detector->detect({bgr.data, bgr.cols, bgr.rows, bgr.step[0], order});
  }
  cv::Mat photo(const std::string& name) {
    const std::string p = test::shared_dir() + "/data/raw/other/" + name;
    std::string err;
    cv::Mat m = io::decode_image(p, err);
    if (m.empty()) ADD_FAILURE() << p << ": " << err << " (set VITNT_SHARED)";
    return m;
  }
  std::unique_ptr<FaceDetector> detector;
};

TEST_F(RealPhotos, LandmarksAgreeWithTheReferenceOnRawLfw) {
  std::string missing;
  const std::vector<test::LfwSample> sample = test::lfw_sample(missing);
  if (sample.empty()) GTEST_SKIP() << missing;
  double worst = 0, sum = 0, worst_score = 0;
  int multi = 0;
  for (const test::LfwSample& s : sample) {
    std::string err;
    const cv::Mat img = io::decode_image(s.photo, err);
    ASSERT_FALSE(img.empty()) << s.photo << ": " << err;
    const std::vector<Face> faces = detect(img);
    multi += faces.size() > 1;
    const std::vector<size_t> pick = choose_faces(faces, img.cols, img.rows, FaceChoice::Central);
    ASSERT_EQ(pick.size(), 1u) << s.photo << ": no face";
    const Face& f = faces[pick[0]];
    double d = 0;
    for (int j = 0; j < 5; ++j)
      d = std::max({d, std::abs(f.landmarks[j].x - double(s.landmarks[j].x)),
                    std::abs(f.landmarks[j].y - double(s.landmarks[j].y))});
    EXPECT_LT(d, 0.02) << s.photo;  // the manifest has 2 decimals
    EXPECT_NEAR(f.score, s.det_score, 0.0006) << s.photo;
    worst = std::max(worst, d);
    worst_score = std::max(worst_score, std::abs(double(f.score) - s.det_score));
    sum += d;
  }
  std::printf(
      "raw LFW: %zu photos (%d with several faces), landmark |diff| vs reference: max %.4f "
      "px, mean of per-photo max %.4f px; det score max |diff| %.5f\n",
      sample.size(), multi, worst, sum / sample.size(), worst_score);
  EXPECT_GT(multi, 0) << "no photo with several faces: the face choice is not exercised";
}

// Exactly: a 250x250 photo detected with max_side 125 is the photo halved (2x2 means),
// then every coordinate doubled.
TEST_F(RealPhotos, DownscaledDetectionMapsBackToSourcePixels) {
  std::string missing;
  const std::vector<test::LfwSample> sample = test::lfw_sample(missing);
  if (sample.empty()) GTEST_SKIP() << missing;
  std::string err;
  const cv::Mat img = io::decode_image(sample[0].photo, err);
  ASSERT_EQ(img.cols, 250) << err;
  DetectorOptions o;
  o.max_side = 125;
  const FaceDetector halving = FaceDetector::load(test::detector_model_path(), o);
  const std::vector<Face> faces =
      halving.detect({img.data, img.cols, img.rows, img.step[0], ChannelOrder::BGR});
  cv::Mat half;
  cv::resize(img, half, cv::Size(125, 125), 0, 0, cv::INTER_AREA);
  const std::vector<Face> ref = detect(half);
  ASSERT_EQ(faces.size(), ref.size());
  ASSERT_FALSE(faces.empty());
  for (size_t i = 0; i < faces.size(); ++i) {
    EXPECT_FLOAT_EQ(faces[i].x, 2 * ref[i].x);
    EXPECT_FLOAT_EQ(faces[i].height, 2 * ref[i].height);
    for (int j = 0; j < 5; ++j) {
      EXPECT_FLOAT_EQ(faces[i].landmarks[j].x, 2 * ref[i].landmarks[j].x);
      EXPECT_FLOAT_EQ(faces[i].landmarks[j].y, 2 * ref[i].landmarks[j].y);
    }
  }
}

TEST_F(RealPhotos, NoFaceInCatOrCoffee) {
  for (const char* name : {"coffee.png", "chelsea.png"}) {
    const cv::Mat img = photo(name);
    if (img.empty()) continue;
    EXPECT_TRUE(detect(img).empty()) << name;
  }
}

TEST_F(RealPhotos, GroupPhotosGiveEveryFaceInSourcePixels) {
  for (const char* name : {"group1.jpg", "group2.jpg", "group3.jpg"}) {
    const cv::Mat img = photo(name);
    if (img.empty()) continue;
    ASSERT_GT(std::max(img.cols, img.rows), 640) << "not a downscaling case";
    const std::vector<Face> faces = detect(img);
    int confident = 0;
    for (const Face& f : faces) {
      confident += f.score > 0.8f;
      EXPECT_TRUE(f.x >= -5 && f.y >= -5 && f.x + f.width <= img.cols + 5 &&
                  f.y + f.height <= img.rows + 5)
          << name;
      for (const Point& p : f.landmarks)  // landmarks inside their box
        EXPECT_TRUE(p.x > f.x && p.x < f.x + f.width && p.y > f.y && p.y < f.y + f.height) << name;
    }
    EXPECT_EQ(confident, 3) << name << ": three people";
    for (size_t i = 1; i < faces.size(); ++i) EXPECT_GE(faces[i - 1].score, faces[i].score);

    // Mapped back to source pixels: about where they are on a copy scaled to 640 by
    // hand (resampled a little differently, so within 3% of the face size).
    cv::Mat small;
    const double k = 640.0 / std::max(img.cols, img.rows);
    cv::resize(img, small, cv::Size(), k, k, cv::INTER_AREA);
    const std::vector<Face> ref = detect(small);
    ASSERT_EQ(ref.size(), faces.size()) << name;
    for (size_t i = 0; i < faces.size(); ++i)
      for (int j = 0; j < 5; ++j) {
        const double tol = 0.03 * faces[i].width;
        EXPECT_NEAR(faces[i].landmarks[j].x, ref[i].landmarks[j].x / k, tol) << name;
        EXPECT_NEAR(faces[i].landmarks[j].y, ref[i].landmarks[j].y / k, tol) << name;
      }
    // Either channel order.
    cv::Mat rgb;
    cv::cvtColor(img, rgb, cv::COLOR_BGR2RGB);
    const std::vector<Face> same = detect(rgb, ChannelOrder::RGB);
    ASSERT_EQ(same.size(), faces.size());
    EXPECT_EQ(same[0].landmarks[0].x, faces[0].landmarks[0].x);
  }
}

}  // namespace
}  // namespace vitnt::face
