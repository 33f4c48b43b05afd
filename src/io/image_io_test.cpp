// Images as they come from the field: header sizes read without decoding, EXIF
// orientation, grayscale, 16-bit, alpha, decompression bombs, truncated files. Every
// awkward file is generated here.
#include "io/image_io.h"

#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <random>

#include "test_util.h"

namespace vitnt::io {
namespace {

namespace fs = std::filesystem;

// A small image with different content in every corner (rotations are visible).
cv::Mat test_image(int w = 48, int h = 32) {
  cv::Mat m(h, w, CV_8UC3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      m.at<cv::Vec3b>(y, x) = {static_cast<uint8_t>(x * 5), static_cast<uint8_t>(y * 7),
                               static_cast<uint8_t>(x < w / 2 && y < h / 2 ? 250 : 20)};
  return m;
}

std::string encode(const cv::Mat& m, const std::string& ext, std::vector<int> params = {}) {
  std::vector<uint8_t> b;
  EXPECT_TRUE(cv::imencode(ext, m, b, params)) << ext;
  return std::string(b.begin(), b.end());
}

struct Files {
  fs::path dir = test::temp_dir("image_io");
  ~Files() { fs::remove_all(dir); }
  std::string put(const std::string& name, const std::string& bytes) {
    test::write_bytes(dir / name, bytes);
    return (dir / name).string();
  }
};

ImageHeader header_of(const std::string& bytes) {
  return read_image_header(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

double mean_abs_diff(const cv::Mat& a, const cv::Mat& b) {
  cv::Mat d;
  cv::absdiff(a, b, d);
  return cv::mean(d.reshape(1))[0];
}

// A big-endian 32-bit number as 4 bytes.
std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

TEST(ImageHeader, SizesOfEveryParsedFormat) {
  const cv::Mat m = test_image(48, 32);
  cv::Mat gray;
  cv::cvtColor(m, gray, cv::COLOR_BGR2GRAY);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {".png", "png"},  {".jpg", "jpeg"},  {".bmp", "bmp"},          {".ppm", "pnm"},
      {".tif", "tiff"}, {".webp", "webp"}, {"lossless.webp", "webp"}};
  for (const auto& [ext, format] : cases) {
    std::vector<int> params;
    if (ext == "lossless.webp") params = {cv::IMWRITE_WEBP_QUALITY, 101};
    const std::string bytes = encode(m, ext == "lossless.webp" ? ".webp" : ext, params);
    const ImageHeader h = header_of(bytes);
    EXPECT_EQ(h.format, format) << ext;
    EXPECT_EQ(h.width, 48) << ext;
    EXPECT_EQ(h.height, 32) << ext;
  }
  const ImageHeader pgm = header_of("P5\n# a comment\n640 # more\n480\n255\n");
  EXPECT_EQ(pgm.format, "pnm");
  EXPECT_EQ(pgm.width, 640);
  EXPECT_EQ(pgm.height, 480);
  EXPECT_EQ(header_of("GIF89a....").format, "");
  EXPECT_EQ(header_of(encode(m, ".png").substr(0, 12)).width, 0);  // cut inside IHDR
}

// Headers cut anywhere or filled with junk are read without reading past the end.
TEST(ImageHeader, CutOrCorruptHeadersAreSafe) {
  const cv::Mat m = test_image(48, 32);
  std::mt19937 rng(1);
  for (const char* ext : {".png", ".jpg", ".bmp", ".ppm", ".tif", ".webp"}) {
    const std::string bytes = encode(m, ext);
    for (size_t cut = 0; cut <= std::min<size_t>(bytes.size(), 400); ++cut) {
      const std::string part = bytes.substr(0, cut);
      std::vector<uint8_t> heap(part.begin(), part.end());  // exact size: overreads show
      const ImageHeader h = read_image_header(heap.data(), heap.size());
      EXPECT_TRUE(h.width == 0 || (h.width == 48 && h.height == 32)) << ext << " " << cut;
      for (int k = 0; k < 4 && cut > 0; ++k) heap[rng() % cut] = static_cast<uint8_t>(rng());
      read_image_header(heap.data(), heap.size());
    }
  }
}

TEST(DecodeImage, BombIsRefusedFromItsHeaderBeforeDecoding) {
  Files f;
  // A PNG declaring 100000 x 100000 (10^10 pixels, 30 GB) with a few bytes of data.
  std::string png = "\x89PNG\r\n\x1a\n" + be32(13) + "IHDR" + be32(100000) + be32(100000) +
                    std::string("\x08\x02\x00\x00\x00", 5) + be32(0) + be32(0) + "IDAT" + be32(0) +
                    be32(0) + "IEND" + be32(0xAE426082);
  std::string err;
  EXPECT_TRUE(decode_image(f.put("bomb.png", png), err).empty());
  EXPECT_NE(err.find("100000x100000"), std::string::npos) << err;
  EXPECT_NE(err.find("not decoded"), std::string::npos) << err;

  // A JPEG whose frame header declares 60000 x 60000.
  std::string jpg = encode(test_image(), ".jpg");
  const size_t sof = jpg.find("\xFF\xC0");
  ASSERT_NE(sof, std::string::npos);
  jpg[sof + 5] = jpg[sof + 7] = static_cast<char>(60000 >> 8);
  jpg[sof + 6] = jpg[sof + 8] = static_cast<char>(60000 & 0xff);
  EXPECT_TRUE(decode_image(f.put("bomb.jpg", jpg), err).empty());
  EXPECT_NE(err.find("60000x60000"), std::string::npos) << err;

  // The limit is the caller's: a real 48x32 image over a limit of 1000 pixels.
  DecodeLimits tight;
  tight.max_pixels = 1000;
  EXPECT_TRUE(decode_image(f.put("small.png", encode(test_image(), ".png")), err, tight).empty());
  EXPECT_NE(err.find("48x32"), std::string::npos) << err;
  EXPECT_FALSE(decode_image(f.put("small.png", encode(test_image(), ".png")), err).empty());
}

// The bytes variant (the C API's) is the file decoder itself: same pixels, same refusals.
TEST(DecodeImage, BytesDecodeAsTheirFile) {
  Files f;
  auto bytes = [](const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); };
  std::string err;
  for (const std::string ext : {".jpg", ".png"}) {
    const std::string b = encode(test_image(), ext);
    const cv::Mat from_file = decode_image(f.put("a" + ext, b), err);
    const cv::Mat from_bytes = decode_image(bytes(b), b.size(), err);
    ASSERT_FALSE(from_bytes.empty()) << ext << ": " << err;
    EXPECT_EQ(mean_abs_diff(from_file, from_bytes), 0) << ext;
    EXPECT_TRUE(decode_image(bytes(b), b.size() / 2, err).empty()) << ext;
    EXPECT_NE(err.find("truncated"), std::string::npos) << err;
  }
  DecodeLimits tight;
  tight.max_pixels = 1000;
  const std::string png = encode(test_image(), ".png");
  EXPECT_TRUE(decode_image(bytes(png), png.size(), err, tight).empty());
  EXPECT_NE(err.find("48x32"), std::string::npos) << err;
  EXPECT_TRUE(decode_image(nullptr, 0, err).empty());
  EXPECT_EQ(err, "no image data (0 bytes)");
}

TEST(DecodeImage, TruncatedAndCorruptFilesAreReported) {
  Files f;
  const std::string jpg = encode(test_image(200, 200), ".jpg");
  const std::string png = encode(test_image(200, 200), ".png");
  std::string err;
  for (size_t cut : {size_t(4), size_t(200), jpg.size() / 2, jpg.size() - 2}) {
    EXPECT_TRUE(decode_image(f.put("cut.jpg", jpg.substr(0, cut)), err).empty()) << cut;
    EXPECT_NE(err.find("truncated"), std::string::npos) << cut << ": " << err;
  }
  for (size_t cut : {size_t(10), size_t(40), png.size() / 2}) {
    EXPECT_TRUE(decode_image(f.put("cut.png", png.substr(0, cut)), err).empty()) << cut;
    EXPECT_NE(err.find("truncated"), std::string::npos) << cut << ": " << err;
  }
  EXPECT_TRUE(decode_image(f.put("notes.jpg", "just text"), err).empty());
  EXPECT_NE(err.find("not a readable image"), std::string::npos) << err;
  EXPECT_TRUE(decode_image(f.put("empty.png", ""), err).empty());
  EXPECT_EQ(err, "empty file");
  EXPECT_TRUE(decode_image((f.dir / "missing.png").string(), err).empty());
  EXPECT_EQ(err, "no such file");
  EXPECT_TRUE(decode_image(f.dir.string(), err).empty());
  EXPECT_EQ(err, "is a folder");
}

TEST(DecodeImage, GrayscaleSixteenBitAndAlphaBecomeEightBitBgr) {
  Files f;
  const cv::Mat bgr = test_image();
  std::string err;

  cv::Mat gray;
  cv::cvtColor(bgr, gray, cv::COLOR_BGR2GRAY);
  cv::Mat g = decode_image(f.put("gray.png", encode(gray, ".png")), err);
  ASSERT_EQ(g.type(), CV_8UC3) << err;
  cv::Mat gray3;
  cv::cvtColor(gray, gray3, cv::COLOR_GRAY2BGR);
  EXPECT_EQ(mean_abs_diff(g, gray3), 0);

  cv::Mat wide;
  bgr.convertTo(wide, CV_16U, 257);  // v -> v * 257: the same image in 16 bits
  cv::Mat w = decode_image(f.put("deep.png", encode(wide, ".png")), err);
  ASSERT_EQ(w.type(), CV_8UC3) << err;
  EXPECT_EQ(mean_abs_diff(w, bgr), 0);
  cv::Mat wide_gray;
  gray.convertTo(wide_gray, CV_16U, 257);
  cv::Mat wg = decode_image(f.put("deep_gray.png", encode(wide_gray, ".png")), err);
  ASSERT_EQ(wg.type(), CV_8UC3) << err;
  EXPECT_EQ(mean_abs_diff(wg, gray3), 0);

  // Alpha: opaque keeps the colour, transparent is white, half is half way.
  cv::Mat bgra;
  cv::cvtColor(bgr, bgra, cv::COLOR_BGR2BGRA);
  bgra.at<cv::Vec4b>(0, 0) = {0, 0, 0, 0};
  bgra.at<cv::Vec4b>(0, 1) = {0, 100, 200, 128};
  cv::Mat a = decode_image(f.put("alpha.png", encode(bgra, ".png")), err);
  ASSERT_EQ(a.type(), CV_8UC3) << err;
  EXPECT_EQ(a.at<cv::Vec3b>(0, 0), cv::Vec3b(255, 255, 255));
  EXPECT_EQ(a.at<cv::Vec3b>(0, 1), cv::Vec3b(127, 177, 227));
  EXPECT_EQ(a.at<cv::Vec3b>(5, 5), bgr.at<cv::Vec3b>(5, 5));

  cv::Mat real(8, 8, CV_32FC3, cv::Scalar::all(0.5));
  EXPECT_TRUE(decode_image(f.put("float.tif", encode(real, ".tif")), err).empty());
  EXPECT_NE(err.find("unsupported pixel type"), std::string::npos) << err;
}

TEST(DecodeImage, ExifOrientationIsApplied) {
  Files f;
  const std::string plain = encode(test_image(48, 32), ".jpg");
  // APP1 "Exif": a little-endian TIFF block with one IFD entry, Orientation (0x0112,
  // SHORT) = 6, i.e. "rotate 90 degrees clockwise to display".
  const std::string tiff("II*\0\x08\0\0\0\x01\0\x12\x01\x03\0\x01\0\0\0\x06\0\0\0\0\0\0\0", 26);
  const std::string payload = std::string("Exif\0\0", 6) + tiff;
  const size_t len = payload.size() + 2;
  const std::string app1 = std::string("\xFF\xE1") + static_cast<char>(len >> 8) +
                           static_cast<char>(len & 0xff) + payload;
  const std::string rotated = plain.substr(0, 2) + app1 + plain.substr(2);
  std::string err;
  cv::Mat upright = decode_image(f.put("plain.jpg", plain), err);
  cv::Mat turned = decode_image(f.put("exif6.jpg", rotated), err);
  ASSERT_FALSE(turned.empty()) << err;
  EXPECT_EQ(turned.cols, 32);
  EXPECT_EQ(turned.rows, 48);
  cv::Mat expected;
  cv::rotate(upright, expected, cv::ROTATE_90_CLOCKWISE);
  EXPECT_EQ(mean_abs_diff(turned, expected), 0);
  EXPECT_EQ(header_of(rotated).width, 48);  // the header parser skips the APP1 segment
}

TEST(ExpandInputImages, NamesAreRelativeToTheFolderGiven) {
  Files f;
  fs::create_directories(f.dir / "a/b");
  f.put("a/b/x.jpg", "");
  f.put("a/y.png", "");
  f.put("a/notes.txt", "");
  const std::string list = f.put("list.txt", "# faces\n" + (f.dir / "a/y.png").string() + "\n");
  const std::vector<InputImage> in =
      expand_input_images({(f.dir / "a").string(), "@" + list, "z.jpg"});
  ASSERT_EQ(in.size(), 4u);
  EXPECT_EQ(in[0].name, "b/x.jpg");
  EXPECT_EQ(in[1].name, "y.png");
  EXPECT_EQ(in[2].name, "y.png");
  EXPECT_EQ(in[2].path, (f.dir / "a/y.png").string());
  EXPECT_EQ(in[3].name, "z.jpg");
  EXPECT_EQ(expand_inputs({(f.dir / "a").string()}).size(), 2u);
}

}  // namespace
}  // namespace vitnt::io
