// Reading face images from disk: input expansion (files, folders, @lists) and
// decoding with clear, per-file errors.
#pragma once

#include <cstdint>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "vitnt/vitnt.h"

namespace vitnt::io {

// Expands INPUTS: an image file stays itself; a folder gives its image files
// recursively, sorted; "@list.txt" gives its lines (blank lines and lines starting
// with '#' skipped). A path that does not exist is kept, so it is reported as a
// failed input later, with the rest still processed. Throws Error only for an
// unreadable list file.
std::vector<std::string> expand_inputs(const std::vector<std::string>& inputs);

// The same, with a name for outputs derived from each input: the path below the folder
// it was found in, or the file name for a file given directly or listed.
struct InputImage {
  std::string path;
  std::string name;
};
std::vector<InputImage> expand_input_images(const std::vector<std::string>& inputs);

bool has_image_extension(const std::string& path);

struct DecodeLimits {
  int64_t max_pixels = 100'000'000;  // refuse larger images before decoding them
};

// What a file's header declares, read without decoding it. `format` is "png", "jpeg",
// "bmp", "pnm", "webp" or "tiff" (empty: none of these, so the size is unknown before
// decoding); width/height are 0 when the header of a recognised format is cut short or
// corrupt.
struct ImageHeader {
  std::string format;
  int64_t width = 0;
  int64_t height = 0;
};
ImageHeader read_image_header(const uint8_t* data, size_t size);

// Decodes to 8-bit BGR, whatever the file holds: EXIF orientation applied (JPEG);
// grayscale expanded; 16-bit scaled to 8; an alpha channel composited over white; CMYK
// JPEG converted. An image declaring more than `max_pixels` is refused from its header,
// before any pixel is decoded (formats whose header we do not read fall back to OpenCV's
// own limit of 2^30 pixels). On failure returns an empty Mat and sets `error` to the
// reason (the caller adds the path).
cv::Mat decode_image(const std::string& path, std::string& error, const DecodeLimits& limits = {});
// The same for an encoded image in memory (the bytes of a file); decode_image(path) reads
// the file and calls this.
cv::Mat decode_image(const uint8_t* data, size_t size, std::string& error,
                     const DecodeLimits& limits = {});

// An aligned crop for a model of `size` x `size`: decoded, then resized when `resize`,
// else a crop of another size is an error.
cv::Mat load_aligned_crop(const std::string& path, int size, bool resize, std::string& error);
// The size check / resize of load_aligned_crop on a decoded image (empty stays empty).
cv::Mat aligned_crop(cv::Mat image, int size, bool resize, std::string& error);

// A cv::Mat over an 8-bit 3-channel ImageView's pixels, no copy (stride 0: packed rows).
cv::Mat mat_view(const ImageView& image);

}  // namespace vitnt::io
