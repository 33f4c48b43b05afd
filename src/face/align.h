// Alignment on cv::Mat: the similarity transform to the ArcFace template and the warp
// behind vitnt::align_face (include/vitnt/face.h).
#pragma once

#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "vitnt/face.h"

namespace vitnt::face {

// Least-squares similarity taking src onto dst (Umeyama 1991 without reflection),
// at least 2 point pairs.
cv::Matx23d similarity_transform(const std::vector<cv::Point2d>& src,
                                 const std::vector<cv::Point2d>& dst);

// The aligned size x size crop of an 8-bit 3-channel image (same channel order).
cv::Mat align_face(const cv::Mat& image, const Face& face, int size = 112);

// One chosen face of a photo and its aligned crop.
struct DetectedFace {
  int index;  // among the photo's chosen faces
  Face face;
  cv::Mat crop;
};
// Detection, choice and alignment of a decoded BGR photo, as `vitnt align`, `vitnt score
// --detect` and the C API do it: the chosen faces, each aligned to size x size. None:
// `error` says so (the caller adds the photo's name).
std::vector<DetectedFace> detect_faces(const FaceDetector& detector, const cv::Mat& bgr,
                                       FaceChoice choice, int size, std::string& error);

}  // namespace vitnt::face
