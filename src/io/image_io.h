// Reading face images from disk: input expansion (files, folders, @lists) and
// decoding with clear, per-file errors.
#pragma once

#include <opencv2/core.hpp>
#include <string>
#include <vector>

namespace vitnt::io {

// Expands INPUTS: an image file stays itself; a folder gives its image files
// recursively, sorted; "@list.txt" gives its lines (blank lines and lines starting
// with '#' skipped). A path that does not exist is kept, so it is reported as a
// failed input later, with the rest still processed. Throws Error only for an
// unreadable list file.
std::vector<std::string> expand_inputs(const std::vector<std::string>& inputs);

bool has_image_extension(const std::string& path);

struct DecodeLimits {
  int64_t max_pixels = 100'000'000;  // refuse larger images before decoding them
};

// Decodes to 8-bit BGR. On failure returns an empty Mat and sets `error` to the reason
// (the caller adds the path).
cv::Mat decode_image(const std::string& path, std::string& error, const DecodeLimits& limits = {});

// An aligned crop for a model of `size` x `size`: decoded, then resized when `resize`,
// else a crop of another size is an error.
cv::Mat load_aligned_crop(const std::string& path, int size, bool resize, std::string& error);

}  // namespace vitnt::io
