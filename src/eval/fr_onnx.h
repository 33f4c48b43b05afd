// Face-recognition embeddings from any ONNX model through OpenCV DNN, with the
// model's input contract as settings (channel order, x = (pixel - mean) / std).
#pragma once

#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>
#include <string>
#include <vector>

#include "vitnt/vitnt.h"

namespace vitnt::eval {

struct OnnxContract {
  ChannelOrder order = ChannelOrder::RGB;
  float mean = 127.5f, std = 127.5f;
  int size = 112;
};

class OnnxEmbedder {
 public:
  OnnxEmbedder(const std::string& path, const OnnxContract& contract);
  // One embedding per 8-bit BGR image (as OpenCV decodes).
  std::vector<std::vector<float>> embed(const std::vector<cv::Mat>& bgr);

 private:
  std::string path_;
  OnnxContract c_;
  cv::dnn::Net net_;
  bool batch_ok_ = true;
};

}  // namespace vitnt::eval
