#include "eval/dnn_model.h"

#include <opencv2/imgproc.hpp>

namespace vitnt::eval {

DnnModel::DnnModel(const std::string& path, const DnnContract& c) : path_(path), c_(c) {
  if (c_.width < 1 || c_.height < 1 || c_.batch < 1)
    throw Error(path + ": input size and batch must be positive");
  for (float s : c_.std)
    if (!(s != 0)) throw Error(path + ": std must not be 0");
  try {
    if (c_.format == "onnx")
      net_ = cv::dnn::readNetFromONNX(path);
    else if (c_.format == "tensorflow")
      net_ = cv::dnn::readNetFromTensorflow(path);
    else if (c_.format == "caffe")
      net_ = cv::dnn::readNetFromCaffe(c_.config, path);
    else
      throw Error(path + ": unknown model format '" + c_.format + "' (onnx, tensorflow, caffe)");
  } catch (const cv::Exception& e) {
    throw Error(path + ": cannot load the " + c_.format + " model: " + e.what());
  }
  if (net_.empty()) throw Error(path + ": cannot load the " + c_.format + " model");
}

cv::Mat DnnModel::blob(const std::vector<cv::Mat>& bgr) const {
  const int n = static_cast<int>(bgr.size()), h = c_.height, w = c_.width;
  cv::Mat out({n, 3, h, w}, CV_32F);
  for (int i = 0; i < n; ++i) {
    if (bgr[i].type() != CV_8UC3) throw Error(path_ + ": input images must be 8-bit BGR");
    cv::Mat img = bgr[i];
    if (img.cols != w || img.rows != h)
      cv::resize(bgr[i], img, cv::Size(w, h), 0, 0, cv::INTER_LINEAR);
    for (int ch = 0; ch < 3; ++ch) {  // channel ch of the model's order
      const int src = c_.order == ChannelOrder::RGB ? 2 - ch : ch;
      const float mean = c_.mean[ch], scale = static_cast<float>(1.0 / c_.std[ch]);
      float* dst = out.ptr<float>(i, ch);
      for (int y = 0; y < h; ++y) {
        const uint8_t* row = img.ptr<uint8_t>(y);
        for (int x = 0; x < w; ++x) dst[y * w + x] = (row[3 * x + src] - mean) * scale;
      }
    }
  }
  return out;
}

std::vector<std::vector<float>> DnnModel::run(const std::vector<cv::Mat>& bgr) {
  std::vector<std::vector<float>> out;
  auto forward = [&](const std::vector<cv::Mat>& batch) {
    net_.setInput(blob(batch), c_.input_name);
    cv::Mat o = net_.forward(c_.output_name);
    ++passes_;
    const size_t n = batch.size();
    if (o.total() == 0 || o.total() % n != 0)
      throw cv::Exception(cv::Error::StsBadSize, "output size does not divide by the batch",
                          __func__, __FILE__, __LINE__);
    o = o.reshape(1, static_cast<int>(n));
    for (int i = 0; i < o.rows; ++i) out.emplace_back(o.ptr<float>(i), o.ptr<float>(i) + o.cols);
  };
  const size_t step = static_cast<size_t>(c_.batch);
  for (size_t i = 0; i < bgr.size(); i += step) {
    std::vector<cv::Mat> batch(bgr.begin() + i, bgr.begin() + std::min(bgr.size(), i + step));
    if (batch_ok_ && batch.size() > 1) {
      const size_t before = out.size();
      try {
        forward(batch);
        continue;
      } catch (const cv::Exception&) {
        out.resize(before);
        batch_ok_ = false;  // some exports have a fixed batch of 1
      }
    }
    for (const cv::Mat& m : batch) {
      try {
        forward({m});
      } catch (const cv::Exception& e) {
        throw Error(path_ + ": inference failed: " + e.what());
      }
    }
  }
  return out;
}

}  // namespace vitnt::eval
