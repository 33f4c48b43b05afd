// Alignment: the least-squares similarity, the warp, and agreement with the
// independent reference crops of raw LFW (../shared/data/lfw112).
#include "face/align.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <random>

#include "face/lfw_sample_test_util.h"
#include "io/image_io.h"

namespace vitnt::face {
namespace {

namespace fs = std::filesystem;

cv::Point2d apply(const cv::Matx23d& m, const cv::Point2d& p) {
  return {m(0, 0) * p.x + m(0, 1) * p.y + m(0, 2), m(1, 0) * p.x + m(1, 1) * p.y + m(1, 2)};
}

double residual(const cv::Matx23d& m, const std::vector<cv::Point2d>& src,
                const std::vector<cv::Point2d>& dst) {
  double r = 0;
  for (size_t i = 0; i < src.size(); ++i) {
    const cv::Point2d d = apply(m, src[i]) - dst[i];
    r += d.dot(d);
  }
  return r;
}

TEST(SimilarityTransform, RecoversAnExactSimilarity) {
  const double angle = 0.3, scale = 0.45, tx = -12.5, ty = 7.25;
  const cv::Matx23d truth(scale * std::cos(angle), -scale * std::sin(angle), tx,
                          scale * std::sin(angle), scale * std::cos(angle), ty);
  std::vector<cv::Point2d> src = {{101, 109}, {150, 111}, {127, 137}, {102, 156}, {146, 158}};
  std::vector<cv::Point2d> dst;
  for (const cv::Point2d& p : src) dst.push_back(apply(truth, p));
  const cv::Matx23d m = similarity_transform(src, dst);
  for (int i = 0; i < 6; ++i) EXPECT_NEAR(m.val[i], truth.val[i], 1e-9) << i;
}

TEST(SimilarityTransform, IsTheLeastSquaresSimilarity) {
  std::mt19937 rng(7);
  std::normal_distribution<double> noise(0, 3);
  std::vector<cv::Point2d> src, dst;
  for (const Point& t : arcface_template()) {
    src.emplace_back(2.1 * t.x + 40 + noise(rng), 2.1 * t.y + 30 + noise(rng));
    dst.emplace_back(t.x, t.y);
  }
  const cv::Matx23d m = similarity_transform(src, dst);
  const double best = residual(m, src, dst);
  // Any small change of angle, scale or shift within the similarity group fits worse.
  const double a = m(0, 0), b = m(1, 0);
  for (int k = 0; k < 4; ++k)
    for (double e : {-1e-3, 1e-3}) {
      double p[4] = {a, b, m(0, 2), m(1, 2)};
      p[k] += k < 2 ? e : 100 * e;
      const cv::Matx23d q(p[0], -p[1], p[2], p[1], p[0], p[3]);
      EXPECT_GT(residual(q, src, dst), best) << k << " " << e;
    }
  // A mirrored set is still fitted by a rotation, never a reflection.
  std::vector<cv::Point2d> mirrored;
  for (const cv::Point2d& p : src) mirrored.emplace_back(-p.x, p.y);
  const cv::Matx23d r = similarity_transform(mirrored, dst);
  EXPECT_GT(r(0, 0) * r(1, 1) - r(0, 1) * r(1, 0), 0);
  EXPECT_THROW(similarity_transform({{1, 1}, {1, 1}}, {{0, 0}, {1, 1}}), Error);
}

TEST(AlignFace, TemplateLandmarksGiveTheIdentityAndScaleWithTheSize) {
  Face f;
  f.landmarks = arcface_template();
  const std::array<double, 6> id = alignment_transform(f.landmarks);
  const double expected[6] = {1, 0, 0, 0, 1, 0};
  for (int i = 0; i < 6; ++i) EXPECT_NEAR(id[i], expected[i], 1e-6);
  const std::array<double, 6> twice = alignment_transform(f.landmarks, 224);
  EXPECT_NEAR(twice[0], 2, 1e-6);
  EXPECT_NEAR(twice[2], 0, 1e-5);

  // The warp: a 112x112 image with the template landmarks comes back unchanged; a
  // landmark set shifted off the image leaves a black border.
  cv::Mat img(112, 112, CV_8UC3);
  cv::randu(img, 0, 255);
  const ImageView view{img.data, 112, 112, img.step[0], ChannelOrder::BGR};
  const std::vector<uint8_t> same = align_face(view, f);
  ASSERT_EQ(same.size(), 112u * 112 * 3);
  EXPECT_EQ(std::memcmp(same.data(), img.data, same.size()), 0);
  for (Point& p : f.landmarks) p.x += 80;  // the face is 80 px further right
  const std::vector<uint8_t> shifted = align_face(view, f);
  EXPECT_EQ(shifted[(50 * 112 + 100) * 3], 0);  // right part of the crop: beyond the image
  EXPECT_EQ(shifted[(50 * 112) * 3], img.at<cv::Vec3b>(50, 80)[0]);
}

// The recipe of ../shared/data/lfw112 from the raw photos: the crops must come out the
// same up to the JPEG (q92) noise of the stored reference crops.
TEST(AlignFace, ReproducesTheReferenceCropsOfRawLfw) {
  std::string missing;
  const std::vector<test::LfwSample> sample = test::lfw_sample(missing);
  if (sample.empty()) GTEST_SKIP() << missing;
  if (!fs::exists(test::detector_model_path()))
    GTEST_SKIP() << test::detector_model_path() << " missing (set VITNT_SHARED)";
  const FaceDetector detector = FaceDetector::load(test::detector_model_path());
  std::vector<double> diffs, diffs_ref_landmarks, diffs_jpeg;
  for (const test::LfwSample& s : sample) {
    std::string err;
    const cv::Mat img = io::decode_image(s.photo, err);
    const cv::Mat ref = io::decode_image(s.crop, err);
    ASSERT_FALSE(img.empty() || ref.empty()) << s.photo << ": " << err;
    const std::vector<Face> faces =
        detector.detect({img.data, img.cols, img.rows, img.step[0], ChannelOrder::BGR});
    const std::vector<size_t> pick = choose_faces(faces, img.cols, img.rows, FaceChoice::Central);
    ASSERT_EQ(pick.size(), 1u) << s.photo;
    const cv::Mat crop = align_face(img, faces[pick[0]]);
    cv::Mat d;
    cv::absdiff(crop, ref, d);
    diffs.push_back(cv::mean(d.reshape(1))[0]);
    // Saved as the reference was (JPEG q92): what is left is not compression noise.
    std::vector<uint8_t> jpeg;
    cv::imencode(".jpg", crop, jpeg, {cv::IMWRITE_JPEG_QUALITY, 92});
    cv::absdiff(cv::imdecode(jpeg, cv::IMREAD_COLOR), ref, d);
    diffs_jpeg.push_back(cv::mean(d.reshape(1))[0]);
    Face given;  // the reference's own landmarks: the alignment alone
    given.landmarks = s.landmarks;
    cv::absdiff(align_face(img, given), ref, d);
    diffs_ref_landmarks.push_back(cv::mean(d.reshape(1))[0]);
  }
  auto summary = [](std::vector<double> v, const char* what, double max_mean) {
    std::sort(v.begin(), v.end());
    double mean = 0;
    for (double x : v) mean += x;
    mean /= v.size();
    const long above3 = std::count_if(v.begin(), v.end(), [](double x) { return x > 3; });
    const long same = std::count(v.begin(), v.end(), 0.0);
    std::printf(
        "%s: %zu crops, mean |pixel diff| %.3f gray levels, median %.3f, max %.3f, %ld "
        "above 3, %ld identical\n",
        what, v.size(), mean, v[v.size() / 2], v.back(), above3, same);
    EXPECT_LT(mean, max_mean) << what;
    EXPECT_LE(above3, 2) << what;  // "a few gray levels at most on nearly all images"
    EXPECT_LT(v.back(), 5.0) << what;
  };
  summary(diffs, "detect + align vs reference crops", 2.0);
  summary(diffs_ref_landmarks, "align from the reference landmarks (2 decimals) vs reference crops",
          2.0);
  // Saved the same way, our crops are the reference's pixel for pixel, nearly always.
  summary(diffs_jpeg, "detect + align, saved as JPEG q92 like the reference, vs reference crops",
          0.1);
}

}  // namespace
}  // namespace vitnt::face
