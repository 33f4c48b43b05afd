#include "eval/fr_onnx.h"

namespace vitnt::eval {

OnnxEmbedder::OnnxEmbedder(const std::string& path, const OnnxContract& c) : path_(path), c_(c) {
  try {
    net_ = cv::dnn::readNetFromONNX(path);
  } catch (const cv::Exception& e) {
    throw Error(path + ": cannot load the ONNX model: " + e.what());
  }
  if (net_.empty()) throw Error(path + ": cannot load the ONNX model");
}

std::vector<std::vector<float>> OnnxEmbedder::embed(const std::vector<cv::Mat>& bgr) {
  std::vector<std::vector<float>> out;
  auto run = [&](const std::vector<cv::Mat>& batch) {
    cv::Mat blob = cv::dnn::blobFromImages(batch, 1.0 / c_.std, cv::Size(c_.size, c_.size),
                                           cv::Scalar::all(c_.mean), c_.order == ChannelOrder::RGB);
    net_.setInput(blob);
    cv::Mat o = net_.forward().reshape(1, static_cast<int>(batch.size()));
    for (int i = 0; i < o.rows; ++i) out.emplace_back(o.ptr<float>(i), o.ptr<float>(i) + o.cols);
  };
  for (size_t i = 0; i < bgr.size(); i += 32) {
    std::vector<cv::Mat> batch(bgr.begin() + i, bgr.begin() + std::min(bgr.size(), i + 32));
    if (batch_ok_) {
      try {
        run(batch);
        continue;
      } catch (const cv::Exception&) {
        batch_ok_ = false;  // some exports have a fixed batch of 1
      }
    }
    for (const cv::Mat& m : batch) {
      try {
        run({m});
      } catch (const cv::Exception& e) {
        throw Error(path_ + ": inference failed: " + e.what());
      }
    }
  }
  return out;
}

}  // namespace vitnt::eval
