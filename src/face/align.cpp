#include "face/align.h"

#include <cstdio>
#include <opencv2/imgproc.hpp>

#include "io/image_io.h"

namespace vitnt {

namespace face {

cv::Matx23d similarity_transform(const std::vector<cv::Point2d>& src,
                                 const std::vector<cv::Point2d>& dst) {
  if (src.size() != dst.size() || src.size() < 2)
    throw Error("similarity_transform: needs matching point lists of at least 2 points");
  const double n = static_cast<double>(src.size());
  cv::Point2d ms(0, 0), md(0, 0);
  for (size_t i = 0; i < src.size(); ++i) {
    ms += src[i];
    md += dst[i];
  }
  ms /= n;
  md /= n;
  // In 2-D, Umeyama's SVD solution (rotation without reflection, scale, translation)
  // is the complex least-squares fit d - md = z (s - ms), z = a + ib.
  double ss = 0, a = 0, b = 0;
  for (size_t i = 0; i < src.size(); ++i) {
    const cv::Point2d s = src[i] - ms, d = dst[i] - md;
    ss += s.dot(s);
    a += s.x * d.x + s.y * d.y;
    b += s.x * d.y - s.y * d.x;
  }
  if (ss <= 0) throw Error("similarity_transform: the source points all coincide");
  a /= ss;
  b /= ss;
  return {a, -b, md.x - (a * ms.x - b * ms.y), b, a, md.y - (b * ms.x + a * ms.y)};
}

cv::Mat align_face(const cv::Mat& image, const Face& face, int size) {
  const std::array<double, 6> m = alignment_transform(face.landmarks, size);
  cv::Mat out;
  cv::warpAffine(image, out, cv::Matx23d(m.data()), cv::Size(size, size), cv::INTER_LINEAR,
                 cv::BORDER_CONSTANT, cv::Scalar::all(0));
  return out;
}

std::vector<DetectedFace> detect_faces(const FaceDetector& detector, const cv::Mat& bgr,
                                       FaceChoice choice, int size, std::string& error) {
  const ImageView view{bgr.data, bgr.cols, bgr.rows, bgr.step[0], ChannelOrder::BGR};
  const std::vector<Face> faces = detector.detect(view);
  std::vector<DetectedFace> out;
  for (size_t i : choose_faces(faces, bgr.cols, bgr.rows, choice))
    out.push_back({static_cast<int>(out.size()), faces[i], align_face(bgr, faces[i], size)});
  if (out.empty()) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "no face found (detection threshold %g)",
                  detector.options().score_threshold);
    error = buf;
  }
  return out;
}

}  // namespace face

const std::array<Point, 5>& arcface_template() {
  static const std::array<Point, 5> t = {{{38.2946f, 51.6963f},
                                          {73.5318f, 51.5014f},
                                          {56.0252f, 71.7366f},
                                          {41.5493f, 92.3655f},
                                          {70.7299f, 92.2041f}}};
  return t;
}

std::array<double, 6> alignment_transform(const std::array<Point, 5>& landmarks, int size) {
  if (size < 1) throw Error("alignment: crop size must be positive");
  std::vector<cv::Point2d> src, dst;
  const double k = size / 112.0;
  for (int i = 0; i < 5; ++i) {
    src.emplace_back(landmarks[i].x, landmarks[i].y);
    dst.emplace_back(arcface_template()[i].x * k, arcface_template()[i].y * k);
  }
  const cv::Matx23d m = face::similarity_transform(src, dst);
  return {m(0, 0), m(0, 1), m(0, 2), m(1, 0), m(1, 1), m(1, 2)};
}

std::vector<uint8_t> align_face(const ImageView& image, const Face& face, int size) {
  if (!image.data || image.width < 1 || image.height < 1) throw Error("align_face: empty image");
  const cv::Mat src = io::mat_view(image);
  const cv::Mat crop = face::align_face(src, face, size);
  return std::vector<uint8_t>(crop.data, crop.data + crop.total() * 3);
}

}  // namespace vitnt
