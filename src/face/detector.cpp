#include "face/detector.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>

#include "io/image_io.h"

namespace vitnt {

struct FaceDetector::Impl {
  std::string path;
  DetectorOptions options;
  mutable cv::dnn::Net net;
  mutable std::mutex mutex;  // a Net holds its activations: one forward at a time
};

namespace face {

namespace {
const char* const kHeadNames[4] = {"cls", "obj", "bbox", "kps"};
constexpr int kHeadWidth[4] = {1, 1, 4, 10};
}  // namespace

std::vector<Face> decode_yunet(const YunetHeads& heads, int padded_width, int padded_height,
                               float threshold, const std::string& origin) {
  std::vector<Face> faces;
  for (int k = 0; k < 3; ++k) {
    const int s = kStrides[k], cols = padded_width / s, rows = padded_height / s;
    const size_t cells = static_cast<size_t>(rows) * cols;
    const cv::Mat* mats[4] = {&heads.cls[k], &heads.obj[k], &heads.bbox[k], &heads.kps[k]};
    for (int h = 0; h < 4; ++h)
      if (mats[h]->type() != CV_32F || mats[h]->total() != cells * kHeadWidth[h] ||
          !mats[h]->isContinuous())
        throw Error(origin + ": output " + kHeadNames[h] + "_" + std::to_string(s) + " has " +
                    std::to_string(mats[h]->total()) + " values, expected " +
                    std::to_string(cells * kHeadWidth[h]) + " for a " +
                    std::to_string(padded_width) + "x" + std::to_string(padded_height) +
                    " input (not a YuNet model of the 2023 format?)");
    const float* cls = heads.cls[k].ptr<float>();
    const float* obj = heads.obj[k].ptr<float>();
    const float* box = heads.bbox[k].ptr<float>();
    const float* kps = heads.kps[k].ptr<float>();
    for (size_t i = 0; i < cells; ++i) {
      const float score = std::sqrt(std::clamp(cls[i], 0.f, 1.f) * std::clamp(obj[i], 0.f, 1.f));
      if (score < threshold) continue;
      const float r = static_cast<float>(i / cols), c = static_cast<float>(i % cols);
      const float* b = box + 4 * i;
      Face f;
      f.score = score;
      f.width = std::exp(b[2]) * s;
      f.height = std::exp(b[3]) * s;
      f.x = (c + b[0]) * s - f.width / 2;
      f.y = (r + b[1]) * s - f.height / 2;
      for (int j = 0; j < 5; ++j)
        f.landmarks[j] = {(c + kps[10 * i + 2 * j]) * s, (r + kps[10 * i + 2 * j + 1]) * s};
      faces.push_back(f);
    }
  }
  return faces;
}

float box_iou(const Face& a, const Face& b) {
  const float w = std::min(a.x + a.width, b.x + b.width) - std::max(a.x, b.x);
  const float h = std::min(a.y + a.height, b.y + b.height) - std::max(a.y, b.y);
  if (w <= 0 || h <= 0) return 0;
  const float inter = w * h, uni = a.width * a.height + b.width * b.height - inter;
  return uni > 0 ? inter / uni : 0;
}

std::vector<Face> suppress_overlaps(std::vector<Face> faces, float iou_threshold) {
  std::stable_sort(faces.begin(), faces.end(),
                   [](const Face& a, const Face& b) { return a.score > b.score; });
  std::vector<Face> kept;
  for (const Face& f : faces) {
    bool overlaps = false;
    for (const Face& k : kept) overlaps = overlaps || box_iou(f, k) > iou_threshold;
    if (!overlaps) kept.push_back(f);
  }
  return kept;
}

namespace {

std::vector<Face> run_detection(const FaceDetector::Impl& detector, const cv::Mat& bgr) {
  const DetectorOptions& o = detector.options;
  // Scale down so the longer side is at most max_side: the network sees faces of the
  // sizes it was trained on, and a 24-megapixel photo costs no more than a small one.
  cv::Mat small = bgr;
  const int longer = std::max(bgr.cols, bgr.rows);
  if (o.max_side > 0 && longer > o.max_side) {
    const double k = static_cast<double>(o.max_side) / longer;
    cv::resize(bgr, small,
               cv::Size(std::max(1, static_cast<int>(std::lround(bgr.cols * k))),
                        std::max(1, static_cast<int>(std::lround(bgr.rows * k)))),
               0, 0, cv::INTER_AREA);
  }
  // The network wants sides divisible by its largest stride: pad right and bottom.
  const int pw = (small.cols + 31) / 32 * 32, ph = (small.rows + 31) / 32 * 32;
  cv::Mat padded;
  cv::copyMakeBorder(small, padded, 0, ph - small.rows, 0, pw - small.cols, cv::BORDER_CONSTANT,
                     cv::Scalar::all(0));
  const cv::Mat blob = cv::dnn::blobFromImage(padded);  // BGR, no scaling, NCHW float

  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const char* h : kHeadNames)
      for (int s : kStrides) n.push_back(std::string(h) + "_" + std::to_string(s));
    return n;
  }();
  std::vector<cv::Mat> outs;
  {
    std::lock_guard<std::mutex> lock(detector.mutex);
    try {
      detector.net.setInput(blob);
      detector.net.forward(outs, names);
    } catch (const cv::Exception& e) {
      throw Error(detector.path + ": face detection failed: " + e.what());
    }
  }
  YunetHeads heads;
  for (int k = 0; k < 3; ++k) {
    heads.cls[k] = outs[k];
    heads.obj[k] = outs[3 + k];
    heads.bbox[k] = outs[6 + k];
    heads.kps[k] = outs[9 + k];
  }
  std::vector<Face> faces = suppress_overlaps(
      decode_yunet(heads, pw, ph, o.score_threshold, detector.path), o.nms_threshold);
  // Back to the caller's pixels (each axis by its own factor: sizes were rounded).
  const float sx = static_cast<float>(bgr.cols) / small.cols;
  const float sy = static_cast<float>(bgr.rows) / small.rows;
  if (sx != 1 || sy != 1)
    for (Face& f : faces) {
      f.x *= sx;
      f.y *= sy;
      f.width *= sx;
      f.height *= sy;
      for (Point& p : f.landmarks) p = {p.x * sx, p.y * sy};
    }
  return faces;
}

}  // namespace

}  // namespace face

FaceDetector::FaceDetector(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FaceDetector::FaceDetector(FaceDetector&&) noexcept = default;
FaceDetector& FaceDetector::operator=(FaceDetector&&) noexcept = default;
FaceDetector::~FaceDetector() = default;

const DetectorOptions& FaceDetector::options() const { return impl_->options; }
const std::string& FaceDetector::path() const { return impl_->path; }

FaceDetector FaceDetector::load(const std::string& onnx_path, const DetectorOptions& options) {
  if (!(options.score_threshold >= 0 && options.score_threshold <= 1))
    throw Error("face detector: the score threshold must be in [0, 1]");
  if (!(options.nms_threshold > 0 && options.nms_threshold <= 1))
    throw Error("face detector: the NMS threshold must be in (0, 1]");
  auto impl = std::make_unique<Impl>();
  impl->path = onnx_path;
  impl->options = options;
  {
    FILE* f = std::fopen(onnx_path.c_str(), "rb");
    if (!f) throw Error(onnx_path + ": cannot open the face detector model");
    std::fclose(f);
  }
  try {
    impl->net = cv::dnn::readNetFromONNX(onnx_path);
  } catch (const cv::Exception& e) {
    throw Error(onnx_path + ": not a readable ONNX face detector: " + e.what());
  }
  if (impl->net.empty()) throw Error(onnx_path + ": not a readable ONNX face detector");
  const std::vector<std::string> outs = impl->net.getUnconnectedOutLayersNames();
  for (const char* h : face::kHeadNames)
    for (int s : face::kStrides) {
      const std::string n = std::string(h) + "_" + std::to_string(s);
      if (std::find(outs.begin(), outs.end(), n) == outs.end())
        throw Error(onnx_path + ": no output '" + n +
                    "': not a YuNet model of the 2023 format (outputs cls/obj/bbox/kps for "
                    "strides 8, 16, 32)");
    }
  return FaceDetector(std::move(impl));
}

std::vector<Face> FaceDetector::detect(const ImageView& image) const {
  if (!image.data || image.width < 1 || image.height < 1)
    throw Error("face detection: empty image");
  cv::Mat m = io::mat_view(image);
  if (image.order == ChannelOrder::RGB) {
    cv::Mat bgr;
    cv::cvtColor(m, bgr, cv::COLOR_RGB2BGR);
    m = bgr;
  }
  return face::run_detection(*impl_, m);
}

FaceChoice parse_face_choice(const std::string& name) {
  if (name == "central") return FaceChoice::Central;
  if (name == "largest") return FaceChoice::Largest;
  if (name == "all") return FaceChoice::All;
  throw Error("face choice must be central, largest or all, got '" + name + "'");
}

std::string to_string(FaceChoice c) {
  switch (c) {
    case FaceChoice::Central:
      return "central";
    case FaceChoice::Largest:
      return "largest";
    case FaceChoice::All:
      return "all";
  }
  return "?";
}

std::vector<size_t> choose_faces(const std::vector<Face>& faces, int image_width, int image_height,
                                 FaceChoice choice) {
  std::vector<size_t> idx(faces.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  if (faces.empty() || choice == FaceChoice::All) return idx;
  auto key = [&](size_t i) -> double {
    const Face& f = faces[i];
    if (choice == FaceChoice::Largest) return static_cast<double>(f.width) * f.height;
    // Distance of the box centre from the image centre, 1 = a corner. Weight 0.5: a
    // face in a corner needs a score 0.5 higher than one in the middle to win.
    const double dx = f.x + f.width / 2 - image_width / 2.0;
    const double dy = f.y + f.height / 2 - image_height / 2.0;
    const double half_diag = 0.5 * std::hypot(image_width, image_height);
    return f.score - 0.5 * std::hypot(dx, dy) / std::max(half_diag, 1.0);
  };
  size_t best = 0;
  for (size_t i = 1; i < faces.size(); ++i)
    if (key(i) > key(best)) best = i;
  return {best};
}

}  // namespace vitnt
