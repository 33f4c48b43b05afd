#include "eval/insightface_bin.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "io/file_util.h"
#include "io/image_io.h"
#include "io/pickle_reader.h"

namespace fs = std::filesystem;

namespace vitnt::eval {

namespace {

using io::PickleValue;
using Kind = PickleValue::Kind;

std::string shape_text(const PickleValue& a) {
  std::string s = "(";
  for (size_t i = 0; i < a.shape.size(); ++i) s += (i ? ", " : "") + std::to_string(a.shape[i]);
  return s + ")";
}

// One image as an encoded file and its format.
void add_image(const PickleValue& v, const std::string& where, ChannelOrder order,
               VerificationBin& out) {
  const bool u1 = v.kind == Kind::Array && v.built && v.name == "u1";
  size_t long_dims = 0;
  for (int64_t d : v.shape) long_dims += d > 1;
  std::string bytes;
  // Encoded bytes: Python bytes, or a uint8 array with at most one dimension above 1
  // (insightface stores np.frombuffer(jpeg, np.uint8), shaped (n,) or (n, 1)).
  if (v.kind == Kind::Bytes || (u1 && long_dims <= 1)) {
    bytes = *v.data;
  } else if (u1 && (v.shape.size() == 2 ||
                    (v.shape.size() == 3 && (v.shape[2] == 1 || v.shape[2] == 3)))) {
    const int h = static_cast<int>(v.shape[0]), w = static_cast<int>(v.shape[1]);
    const int c = v.shape.size() == 3 ? static_cast<int>(v.shape[2]) : 1;
    if (h < 1 || w < 1 || v.shape[0] > 1 << 15 || v.shape[1] > 1 << 15)
      throw Error(where + ": a pixel array of shape " + shape_text(v));
    cv::Mat m(h, w, c == 3 ? CV_8UC3 : CV_8UC1, const_cast<char*>(v.data->data())), bgr;
    if (c == 3 && order == ChannelOrder::RGB)
      cv::cvtColor(m, bgr, cv::COLOR_RGB2BGR);
    else
      bgr = m;
    std::vector<uint8_t> png;
    if (!cv::imencode(".png", bgr, png)) throw Error(where + ": PNG encoding failed");
    bytes.assign(png.begin(), png.end());
    ++out.arrays_encoded;
  } else {
    throw Error(where + ": expected image bytes or a uint8 numpy array (H x W [x 3]), got a " +
                std::string(io::to_string(v.kind)) +
                (v.kind == Kind::Array ? " " + v.name + " " + shape_text(v) : ""));
  }
  const io::ImageHeader h =
      io::read_image_header(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  if (h.format.empty())
    throw Error(where + ": not an image file (" + std::to_string(bytes.size()) +
                " bytes, neither JPEG, PNG, BMP, WebP, TIFF nor PNM)");
  out.formats.push_back(h.format);
  out.images.push_back(std::move(bytes));
}

}  // namespace

VerificationBin parse_verification_bin(std::string_view bytes, const std::string& origin,
                                       ChannelOrder order) {
  io::PickleRef top = io::read_pickle(bytes, origin);
  auto is_seq = [](const PickleValue& v) { return v.kind == Kind::List || v.kind == Kind::Tuple; };
  if (top->kind != Kind::Tuple || top->items.size() != 2 || !is_seq(*top->items[0]))
    throw Error(origin +
                ": not an insightface verification file: expected a pickled "
                "(bins, issame_list), got a " +
                std::string(io::to_string(top->kind)));
  const PickleValue& bins = *top->items[0];
  const PickleValue& same = *top->items[1];
  VerificationBin out;
  if (is_seq(same)) {
    for (size_t i = 0; i < same.items.size(); ++i) {
      const PickleValue& s = *same.items[i];
      if (s.kind != Kind::Bool)
        throw Error(origin + ": issame_list[" + std::to_string(i) + "] is a " +
                    io::to_string(s.kind) + ", not a bool");
      out.issame.push_back(s.number != 0);
    }
  } else if (same.kind == Kind::Array && same.built && same.name == "b1" &&
             same.shape.size() == 1) {
    for (char c : *same.data) out.issame.push_back(c != 0);
  } else {
    throw Error(origin + ": issame_list is a " + std::string(io::to_string(same.kind)) +
                ", not a list of bools");
  }
  if (out.issame.empty()) throw Error(origin + ": no pairs (issame_list is empty)");
  if (bins.items.size() != 2 * out.issame.size())
    throw Error(origin + ": " + std::to_string(bins.items.size()) + " images for " +
                std::to_string(out.issame.size()) + " pairs (expected 2 per pair)");
  for (size_t i = 0; i < bins.items.size(); ++i)
    add_image(*bins.items[i], origin + ": image " + std::to_string(i), order, out);
  return out;
}

VerificationBin read_verification_bin(const std::string& path, ChannelOrder order) {
  return parse_verification_bin(io::read_text_file(path), path, order);
}

void write_verification_dir(const VerificationBin& bin, const std::string& dir) {
  const fs::path images = fs::path(dir) / "images";
  std::error_code ec;
  // files of an earlier extraction would be scored with these ones by `vitnt score DIR/images`
  if (fs::exists(images, ec) && !fs::is_empty(images, ec))
    throw Error(images.string() + ": not empty (remove it or choose another output folder)");
  fs::create_directories(images, ec);
  if (ec) throw Error(images.string() + ": cannot create the folder: " + ec.message());
  std::vector<std::string> names;
  for (size_t i = 0; i < bin.images.size(); ++i) {
    const std::string& f = bin.formats[i];
    char name[32];
    std::snprintf(name, sizeof name, "%05zu.%s", i,
                  f == "jpeg"   ? "jpg"
                  : f == "tiff" ? "tif"
                                : f.c_str());
    names.push_back(std::string("images/") + name);
    const fs::path p = fs::path(dir) / names.back();
    std::ofstream o(p, std::ios::binary | std::ios::trunc);
    o.write(bin.images[i].data(), static_cast<std::streamsize>(bin.images[i].size()));
    o.close();
    if (!o) throw Error(p.string() + ": cannot write the image");
  }
  io::AtomicFile pairs((fs::path(dir) / "pairs.csv").string());
  std::string text = "a,b,genuine,fold\n";
  const size_t n = bin.issame.size();
  for (size_t i = 0; i < n; ++i)
    text += names[2 * i] + "," + names[2 * i + 1] + "," + (bin.issame[i] ? "1" : "0") + "," +
            std::to_string(i * 10 / n) + "\n";
  pairs.write(text);
  pairs.commit();
}

}  // namespace vitnt::eval
