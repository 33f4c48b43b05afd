// insightface verification sets (lfw.bin, agedb_30.bin, cfp_fp.bin, calfw.bin, ...): a
// Python pickle of (bins, issame_list) with 2N images and N booleans; pair i is images 2i
// and 2i+1. Read with io::read_pickle, which executes nothing.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "vitnt/vitnt.h"

namespace vitnt::eval {

struct VerificationBin {
  std::vector<std::string> images;   // encoded files: the bytes as stored, or PNG for arrays
  std::vector<std::string> formats;  // per image: "jpeg", "png", ... (io::read_image_header)
  std::vector<bool> issame;          // per pair
  size_t arrays_encoded = 0;         // images stored as pixel arrays (encoded to PNG here)
};

// Images may be bytes (Python 2 str or Python 3 bytes), 1-D uint8 numpy arrays of the
// encoded bytes (as insightface writes them), or pixel arrays H x W (gray) or H x W x 3
// in `array_order` (RGB, as mxnet and PIL decode, unless told otherwise). issame: bools,
// numpy bools, or a 1-D numpy bool array. Errors name `origin` and the problem.
VerificationBin parse_verification_bin(std::string_view bytes, const std::string& origin,
                                       ChannelOrder array_order = ChannelOrder::RGB);
VerificationBin read_verification_bin(const std::string& path,
                                      ChannelOrder array_order = ChannelOrder::RGB);

// Writes DIR/images/00000.jpg ... (extension from the stored format) and DIR/pairs.csv
// ("a,b,genuine,fold", paths relative to DIR, fold = i * 10 / npairs: the standard 10
// equal folds), ready for `vitnt eval --pairs DIR/pairs.csv --images-root DIR`.
// pairs.csv is written last and atomically: it exists only when every image does.
// DIR/images must be absent or empty.
void write_verification_dir(const VerificationBin& bin, const std::string& dir);

}  // namespace vitnt::eval
