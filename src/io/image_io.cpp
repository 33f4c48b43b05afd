#include "io/image_io.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "vitnt/vitnt.h"

namespace fs = std::filesystem;

namespace vitnt::io {

bool has_image_extension(const std::string& path) {
  std::string ext = fs::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char ch) { return std::tolower(ch); });
  for (const char* e :
       {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".ppm", ".pgm", ".pnm", ".jp2"})
    if (ext == e) return true;
  return false;
}

std::vector<std::string> expand_inputs(const std::vector<std::string>& inputs) {
  std::vector<std::string> out;
  for (const std::string& in : inputs) {
    if (!in.empty() && in[0] == '@') {
      const std::string list = in.substr(1);
      std::ifstream f(list);
      if (!f) throw Error(list + ": cannot read the list file");
      std::string line;
      while (std::getline(f, line)) {
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
        if (line.empty() || line[0] == '#') continue;
        out.push_back(line);
      }
      continue;
    }
    std::error_code ec;
    if (fs::is_directory(in, ec)) {
      std::vector<std::string> found;
      for (auto it = fs::recursive_directory_iterator(
               in, fs::directory_options::skip_permission_denied, ec);
           !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (it->is_regular_file(ec) && has_image_extension(it->path().string()))
          found.push_back(it->path().string());
      }
      if (ec) throw Error(in + ": cannot list folder: " + ec.message());
      std::sort(found.begin(), found.end());
      out.insert(out.end(), found.begin(), found.end());
    } else {
      out.push_back(in);
    }
  }
  return out;
}

cv::Mat decode_image(const std::string& path, std::string& error, const DecodeLimits& limits) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    std::error_code ec;
    error = fs::exists(path, ec) ? "cannot open file" : "no such file";
    return {};
  }
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (bytes.empty()) {
    error = "empty file";
    return {};
  }
  // libjpeg decodes a cut-off JPEG without failing (grey fill, a warning on stderr):
  // require the end-of-image marker near the end of the file.
  if (bytes.size() >= 2 && bytes[0] == 0xFF && bytes[1] == 0xD8) {
    bool eoi = false;
    const size_t from = bytes.size() > 4096 ? bytes.size() - 4096 : 1;
    for (size_t i = bytes.size() - 1; i > from && !eoi; --i)
      eoi = bytes[i - 1] == 0xFF && bytes[i] == 0xD9;
    if (!eoi) {
      error = "truncated JPEG (no end-of-image marker)";
      return {};
    }
  }
  // OpenCV refuses images above CV_IO_MAX_IMAGE_PIXELS by itself; our limit is the
  // caller's and checked on the declared size before the pixels are decoded.
  cv::Mat img;
  try {
    img = cv::imdecode(bytes, cv::IMREAD_COLOR);
  } catch (const cv::Exception& e) {
    error = std::string("cannot decode: ") + e.what();
    return {};
  }
  if (img.empty()) {
    error = "not a readable image (unknown format, truncated or corrupt)";
    return {};
  }
  if (static_cast<int64_t>(img.rows) * img.cols > limits.max_pixels) {
    error = "image too large (" + std::to_string(img.cols) + "x" + std::to_string(img.rows) + ")";
    return {};
  }
  return img;
}

cv::Mat load_aligned_crop(const std::string& path, int size, bool resize, std::string& error) {
  cv::Mat img = decode_image(path, error);
  if (img.empty()) return img;
  if (img.cols != size || img.rows != size) {
    if (!resize) {
      error = "is " + std::to_string(img.cols) + "x" + std::to_string(img.rows) +
              ", not an aligned " + std::to_string(size) + "x" + std::to_string(size) +
              " crop (use --resize to scale it)";
      return {};
    }
    cv::Mat r;
    cv::resize(img, r, cv::Size(size, size), 0, 0,
               img.cols > size ? cv::INTER_AREA : cv::INTER_LINEAR);
    img = r;
  }
  if (!img.isContinuous()) img = img.clone();
  return img;
}

}  // namespace vitnt::io
