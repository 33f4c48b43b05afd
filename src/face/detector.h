// YuNet face detection on cv::Mat: the output decoding, non-maximum suppression and
// face choice behind vitnt::FaceDetector (include/vitnt/face.h).
#pragma once

#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "vitnt/face.h"

namespace vitnt::face {

// The heads of the 2023 YuNet format, for strides 8, 16 and 32 in that order. Each is
// (1, cells, C) with cells = (H/s) * (W/s) row-major over the padded input: cls and obj
// C=1, bbox C=4 (centre offset x, y in cells, log width, log height), kps C=10.
struct YunetHeads {
  cv::Mat cls[3], obj[3], bbox[3], kps[3];
};
inline constexpr int kStrides[3] = {8, 16, 32};

// Faces scoring at least `threshold` (score = sqrt(cls * obj)), in the coordinates of the
// padded input of padded_width x padded_height; not suppressed. Throws Error naming
// `origin` when a head's shape does not fit the input size.
std::vector<Face> decode_yunet(const YunetHeads& heads, int padded_width, int padded_height,
                               float threshold, const std::string& origin);

float box_iou(const Face& a, const Face& b);

// Greedy non-maximum suppression: best score first; a face overlapping a kept one by
// more than `iou_threshold` is dropped.
std::vector<Face> suppress_overlaps(std::vector<Face> faces, float iou_threshold);

}  // namespace vitnt::face
