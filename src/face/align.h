// Alignment on cv::Mat: the similarity transform to the ArcFace template and the warp
// behind vitnt::align_face (include/vitnt/face.h).
#pragma once

#include <opencv2/core.hpp>
#include <vector>

#include "vitnt/face.h"

namespace vitnt::face {

// Least-squares similarity taking src onto dst (Umeyama 1991 without reflection),
// at least 2 point pairs.
cv::Matx23d similarity_transform(const std::vector<cv::Point2d>& src,
                                 const std::vector<cv::Point2d>& dst);

// The aligned size x size crop of an 8-bit 3-channel image (same channel order).
cv::Mat align_face(const cv::Mat& image, const Face& face, int size = 112);

}  // namespace vitnt::face
