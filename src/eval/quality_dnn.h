// External face-image-quality models as baselines: a network OpenCV's DNN module reads,
// described by a JSON file (models/peers/*.json), run on the aligned 112x112 crops.
//
//   {"file": "lightqnet-dm100.pb", "format": "tensorflow", "input_size": [96, 96],
//    "channel_order": "BGR", "mean": [128, 128, 128], "std": [128, 128, 128],
//    "output": "first", "batch": 1, "output_name": "...", "input_name": "...",
//    "config": "deploy.prototxt" (caffe), "note": "free text"}
//
// x = (pixel - mean) / std on the 0..255 scale; the crop is resized to input_size
// [width, height] bilinearly (DnnContract). "output": "first" = the first value of the
// image's output, "mean" = the mean of all its values. Paths are relative to the JSON
// file; when such a path does not exist and $VITNT_SHARED is set, the file of that name
// in $VITNT_SHARED/models/ is used.
#pragma once

#include <string>
#include <vector>

#include "eval/dnn_model.h"

namespace vitnt::eval {

struct QualityModelDesc {
  std::string desc_path;  // the JSON file
  std::string file;       // the model file, resolved
  DnnContract contract;
  bool output_mean = false;  // "mean"; else "first"
};

QualityModelDesc parse_quality_model_desc(const std::string& json_text,
                                          const std::string& desc_path);
QualityModelDesc load_quality_model_desc(const std::string& desc_path);

class QualityModel {
 public:
  explicit QualityModel(const QualityModelDesc& desc);
  // One quality per 8-bit BGR aligned crop (higher is better), in input order.
  std::vector<float> score(const std::vector<cv::Mat>& bgr);
  const QualityModelDesc& desc() const { return d_; }
  size_t forward_passes() const { return net_.forward_passes(); }
  // "1 forward pass of FILE per face (WxH input, batch B)", for reports.
  std::string cost() const;

 private:
  QualityModelDesc d_;
  DnnModel net_;
};

}  // namespace vitnt::eval
