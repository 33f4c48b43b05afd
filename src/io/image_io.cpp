#include "io/image_io.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
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

std::vector<InputImage> expand_input_images(const std::vector<std::string>& inputs) {
  std::vector<InputImage> out;
  auto file_name = [](const std::string& p) { return fs::path(p).filename().string(); };
  for (const std::string& in : inputs) {
    if (!in.empty() && in[0] == '@') {
      const std::string list = in.substr(1);
      std::ifstream f(list);
      if (!f) throw Error(list + ": cannot read the list file");
      std::string line;
      while (std::getline(f, line)) {
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
        if (line.empty() || line[0] == '#') continue;
        out.push_back({line, file_name(line)});
      }
      continue;
    }
    std::error_code ec;
    if (fs::is_directory(in, ec)) {
      std::vector<InputImage> found;
      for (auto it = fs::recursive_directory_iterator(
               in, fs::directory_options::skip_permission_denied, ec);
           !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (it->is_regular_file(ec) && has_image_extension(it->path().string()))
          found.push_back({it->path().string(), it->path().lexically_relative(in).string()});
      }
      if (ec) throw Error(in + ": cannot list folder: " + ec.message());
      std::sort(found.begin(), found.end(),
                [](const InputImage& a, const InputImage& b) { return a.path < b.path; });
      out.insert(out.end(), found.begin(), found.end());
    } else {
      out.push_back({in, file_name(in)});
    }
  }
  return out;
}

std::vector<std::string> expand_inputs(const std::vector<std::string>& inputs) {
  std::vector<std::string> out;
  for (InputImage& i : expand_input_images(inputs)) out.push_back(std::move(i.path));
  return out;
}

namespace {

uint32_t be16(const uint8_t* p) { return (uint32_t(p[0]) << 8) | p[1]; }
uint32_t be32(const uint8_t* p) { return (be16(p) << 16) | be16(p + 2); }
uint32_t le16(const uint8_t* p) { return p[0] | (uint32_t(p[1]) << 8); }
uint32_t le24(const uint8_t* p) { return le16(p) | (uint32_t(p[2]) << 16); }
uint32_t le32(const uint8_t* p) { return le16(p) | (le16(p + 2) << 16); }

// JPEG: walk the marker segments up to the first start-of-frame (SOF0..SOF15 except
// DHT C4, JPG C8, DAC CC), which holds the size.
void jpeg_size(const uint8_t* d, size_t n, ImageHeader& h) {
  size_t i = 2;
  while (i + 4 <= n) {
    if (d[i] != 0xFF) return;
    const uint8_t m = d[i + 1];
    if (m == 0xFF) {  // fill byte
      ++i;
      continue;
    }
    if (m == 0x01 || (m >= 0xD0 && m <= 0xD8)) {  // markers without a length
      i += 2;
      continue;
    }
    if (m == 0xD9 || m == 0xDA) return;  // end of image / start of scan before any frame
    const size_t len = be16(d + i + 2);
    if (len < 2) return;
    if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC) {
      if (i + 9 > n) return;
      h.height = be16(d + i + 5);
      h.width = be16(d + i + 7);
      return;
    }
    i += 2 + len;
  }
}

// PNM (P1..P6): magic, then width and height as text, with '#' comments between tokens.
void pnm_size(const uint8_t* d, size_t n, ImageHeader& h) {
  size_t i = 2;
  int64_t v[2] = {0, 0};
  for (int k = 0; k < 2; ++k) {
    while (i < n && (std::isspace(d[i]) || d[i] == '#')) {
      if (d[i] == '#')
        while (i < n && d[i] != '\n') ++i;
      else
        ++i;
    }
    if (i >= n || !std::isdigit(d[i])) return;
    while (i < n && std::isdigit(d[i]) && v[k] < (int64_t(1) << 40))
      v[k] = v[k] * 10 + (d[i++] - '0');
    if (i >= n || !(std::isspace(d[i]) || d[i] == '#')) return;  // a number cut short
  }
  h.width = v[0];
  h.height = v[1];
}

// TIFF: ImageWidth (256) and ImageLength (257) in the first image file directory.
void tiff_size(const uint8_t* d, size_t n, ImageHeader& h) {
  const bool le = d[0] == 'I';
  auto u16 = [&](size_t o) { return le ? le16(d + o) : be16(d + o); };
  auto u32 = [&](size_t o) { return le ? le32(d + o) : be32(d + o); };
  const size_t ifd = u32(4);
  if (ifd + 2 > n) return;
  const size_t count = u16(ifd);
  for (size_t e = 0; e < count && ifd + 2 + 12 * (e + 1) <= n; ++e) {
    const size_t o = ifd + 2 + 12 * e;
    const uint32_t tag = u16(o), type = u16(o + 2);
    if (tag != 256 && tag != 257) continue;
    const int64_t value = type == 3 ? u16(o + 8) : type == 4 ? u32(o + 8) : 0;
    (tag == 256 ? h.width : h.height) = value;
  }
}

// WebP: the size is in the first chunk, coded differently by the lossy (VP8), lossless
// (VP8L) and extended (VP8X) formats.
void webp_size(const uint8_t* d, size_t n, ImageHeader& h) {
  if (n < 30) return;
  if (std::memcmp(d + 12, "VP8 ", 4) == 0 && d[23] == 0x9d && d[24] == 0x01 && d[25] == 0x2a) {
    h.width = le16(d + 26) & 0x3fff;
    h.height = le16(d + 28) & 0x3fff;
  } else if (std::memcmp(d + 12, "VP8L", 4) == 0 && d[20] == 0x2f) {
    const uint32_t b = le32(d + 21);
    h.width = (b & 0x3fff) + 1;
    h.height = ((b >> 14) & 0x3fff) + 1;
  } else if (std::memcmp(d + 12, "VP8X", 4) == 0) {
    h.width = int64_t(le24(d + 24)) + 1;
    h.height = int64_t(le24(d + 27)) + 1;
  }
}

// Ends of file formats that carry an end marker: libjpeg decodes a cut-off JPEG without
// failing (grey fill, a warning on stderr), so a missing marker is reported instead.
bool has_tail(const uint8_t* b, size_t n, const char* marker, size_t len) {
  const size_t from = n > 4096 ? n - 4096 : 0;
  for (size_t i = n; i >= from + len; --i)
    if (std::memcmp(b + i - len, marker, len) == 0) return true;
  return false;
}

std::string size_text(int64_t w, int64_t h) { return std::to_string(w) + "x" + std::to_string(h); }

}  // namespace

ImageHeader read_image_header(const uint8_t* d, size_t n) {
  ImageHeader h;
  if (n >= 8 && std::memcmp(d, "\x89PNG\r\n\x1a\n", 8) == 0) {
    h.format = "png";
    if (n >= 24 && std::memcmp(d + 12, "IHDR", 4) == 0) {
      h.width = be32(d + 16);
      h.height = be32(d + 20);
    }
  } else if (n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF) {
    h.format = "jpeg";
    jpeg_size(d, n, h);
  } else if (n >= 26 && d[0] == 'B' && d[1] == 'M') {
    h.format = "bmp";
    if (le32(d + 14) == 12) {  // OS/2 header: 16-bit sizes
      h.width = le16(d + 18);
      h.height = le16(d + 20);
    } else {
      h.width = std::abs(static_cast<int32_t>(le32(d + 18)));
      h.height = std::abs(static_cast<int32_t>(le32(d + 22)));  // negative: top-down
    }
  } else if (n >= 3 && d[0] == 'P' && d[1] >= '1' && d[1] <= '6' && std::isspace(d[2])) {
    h.format = "pnm";
    pnm_size(d, n, h);
  } else if (n >= 16 && std::memcmp(d, "RIFF", 4) == 0 && std::memcmp(d + 8, "WEBP", 4) == 0) {
    h.format = "webp";
    webp_size(d, n, h);
  } else if (n >= 8 && (std::memcmp(d, "II*\0", 4) == 0 || std::memcmp(d, "MM\0*", 4) == 0)) {
    h.format = "tiff";
    tiff_size(d, n, h);
  }
  if (h.width <= 0 || h.height <= 0) h.width = h.height = 0;
  return h;
}

cv::Mat decode_image(const std::string& path, std::string& error, const DecodeLimits& limits) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {  // opens fine, fails on the first read
    error = "is a folder";
    return {};
  }
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    error = fs::exists(path, ec) ? "cannot open file" : "no such file";
    return {};
  }
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)),
                                   std::istreambuf_iterator<char>());
  if (bytes.empty()) {
    error = "empty file";
    return {};
  }
  return decode_image(bytes.data(), bytes.size(), error, limits);
}

cv::Mat decode_image(const uint8_t* data, size_t size, std::string& error,
                     const DecodeLimits& limits) {
  if (!data || size == 0) {
    error = "no image data (0 bytes)";
    return {};
  }
  if (size > static_cast<size_t>(INT32_MAX)) {  // cv::imdecode's buffer is one int-sized row
    error = "encoded image too large (" + std::to_string(size) + " bytes, at most 2^31 - 1)";
    return {};
  }
  // The declared size decides before any pixel is decoded: a small file can declare a
  // huge image (a decompression bomb).
  const ImageHeader head = read_image_header(data, size);
  if (!head.format.empty() && head.width == 0) {
    error = "corrupt or truncated " + head.format + " header (no image size)";
    return {};
  }
  if (static_cast<double>(head.width) * static_cast<double>(head.height) >
      static_cast<double>(limits.max_pixels)) {
    error = "image too large: " + head.format + " header declares " +
            size_text(head.width, head.height) + ", over the limit of " +
            std::to_string(limits.max_pixels) + " pixels (not decoded)";
    return {};
  }
  if (head.format == "jpeg" && !has_tail(data, size, "\xFF\xD9", 2)) {
    error = "truncated JPEG (no end-of-image marker)";
    return {};
  }
  if (head.format == "png" && !has_tail(data, size, "IEND", 4)) {
    error = "truncated PNG (no IEND chunk)";
    return {};
  }
  // JPEG: any colour and depth, which applies the EXIF orientation (OpenCV does so for
  // every flag combination but IMREAD_UNCHANGED) and turns CMYK into BGR. Others: as
  // stored, alpha included (OpenCV 4.6 reads EXIF from JPEG only).
  const int flags =
      head.format == "jpeg" ? cv::IMREAD_ANYCOLOR | cv::IMREAD_ANYDEPTH : cv::IMREAD_UNCHANGED;
  cv::Mat img;
  try {
    // imdecode only reads the buffer; the Mat header just wraps it
    img =
        cv::imdecode(cv::Mat(1, static_cast<int>(size), CV_8U, const_cast<uint8_t*>(data)), flags);
  } catch (const cv::Exception& e) {
    error = std::string("cannot decode: ") + e.what();
    return {};
  }
  if (img.empty()) {
    error = "not a readable image (unknown format, truncated or corrupt)";
    return {};
  }
  if (static_cast<int64_t>(img.rows) * img.cols > limits.max_pixels) {
    error = "image too large (" + size_text(img.cols, img.rows) + ")";
    return {};
  }
  if (img.depth() == CV_16U) {
    cv::Mat m;
    img.convertTo(m, CV_8U, 1.0 / 257);  // 65535 -> 255
    img = m;
  } else if (img.depth() != CV_8U) {
    error = "unsupported pixel type (floating-point or signed samples; 8- or 16-bit expected)";
    return {};
  }
  if (img.channels() == 2 || img.channels() == 4) {
    // Transparent parts as a viewer on white shows them, not as whatever colour the
    // encoder left under alpha 0.
    const int colours = img.channels() - 1;
    cv::Mat out(img.size(), CV_8UC(colours));
    for (int y = 0; y < img.rows; ++y) {
      const uint8_t* p = img.ptr<uint8_t>(y);
      uint8_t* o = out.ptr<uint8_t>(y);
      for (int x = 0; x < img.cols; ++x, p += colours + 1, o += colours)
        for (int c = 0; c < colours; ++c)
          o[c] = static_cast<uint8_t>((p[c] * p[colours] + 255 * (255 - p[colours]) + 127) / 255);
    }
    img = out;
  }
  if (img.channels() == 1) {
    cv::cvtColor(img, img, cv::COLOR_GRAY2BGR);
  } else if (img.channels() != 3) {
    error = "unsupported number of channels (" + std::to_string(img.channels()) + ")";
    return {};
  }
  return img;
}

cv::Mat load_aligned_crop(const std::string& path, int size, bool resize, std::string& error) {
  return aligned_crop(decode_image(path, error), size, resize, error);
}

cv::Mat aligned_crop(cv::Mat img, int size, bool resize, std::string& error) {
  if (img.empty()) return img;
  if (img.cols != size || img.rows != size) {
    if (!resize) {
      error = "is " + std::to_string(img.cols) + "x" + std::to_string(img.rows) +
              ", not an aligned " + std::to_string(size) + "x" + std::to_string(size) + " crop" +
              (img.cols > 2 * size || img.rows > 2 * size
                   ? std::string(": a photo? use --detect to find and align its face, or "
                                 "--resize to scale it as it is")
                   : std::string(" (use --resize to scale it, or --detect if it is a photo)"));
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

cv::Mat mat_view(const ImageView& image) {
  const size_t stride = image.stride ? image.stride : static_cast<size_t>(image.width) * 3;
  return cv::Mat(image.height, image.width, CV_8UC3, const_cast<uint8_t*>(image.data), stride);
}

}  // namespace vitnt::io
