// Any network OpenCV's DNN module reads (ONNX, TensorFlow frozen graph, Caffe), run on
// aligned face crops in batches with its input contract as settings. One piece of code
// for the FR models of `vitnt eval --fr onnx` and the external quality models
// (quality_dnn.h).
#pragma once

#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>
#include <string>
#include <vector>

#include "vitnt/vitnt.h"

namespace vitnt::eval {

// Input: each 8-bit BGR crop resized to width x height (cv::resize, bilinear; untouched
// when it has that size already), channels in `order`, x = (pixel - mean) / std per
// channel on the 0..255 scale (as x * (1/std), the way cv::dnn::blobFromImages scales),
// NCHW float32.
struct DnnContract {
  std::string format = "onnx";  // onnx | tensorflow | caffe
  std::string config;           // caffe: the .prototxt (the model file is the .caffemodel)
  ChannelOrder order = ChannelOrder::RGB;
  float mean[3] = {127.5f, 127.5f, 127.5f};
  float std[3] = {127.5f, 127.5f, 127.5f};
  int width = 112, height = 112;
  int batch = 32;                       // images per forward pass; 1 for fixed-batch models
  std::string input_name, output_name;  // empty: the network's own input / last output
};

class DnnModel {
 public:
  DnnModel(const std::string& path, const DnnContract& contract);
  // The whole output for each image (flattened), in input order.
  std::vector<std::vector<float>> run(const std::vector<cv::Mat>& bgr);
  // The input blob for `bgr` (N x 3 x height x width), as run() feeds it.
  cv::Mat blob(const std::vector<cv::Mat>& bgr) const;
  // Forward passes run so far (a batch is one).
  size_t forward_passes() const { return passes_; }
  const std::string& path() const { return path_; }
  const DnnContract& contract() const { return c_; }

 private:
  std::string path_;
  DnnContract c_;
  cv::dnn::Net net_;
  bool batch_ok_ = true;  // false once a batch > 1 failed: the export has a fixed batch of 1
  size_t passes_ = 0;
};

}  // namespace vitnt::eval
