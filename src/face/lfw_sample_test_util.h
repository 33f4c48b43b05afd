// Test helper: the raw LFW sample in ../shared (155 photos) with the landmarks and
// crops of the independent reference recipe (../shared/data/README.md).
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "test_util.h"
#include "vitnt/face.h"

namespace vitnt::test {

struct LfwSample {
  std::string photo;  // raw/lfw/<Name>/<file>.jpg
  std::string crop;   // lfw112/images/<Name>/<file>.jpg, the reference crop
  float det_score = 0;
  std::array<Point, 5> landmarks;  // reference landmarks, source pixels
};

// Empty with `missing` naming what is absent.
inline std::vector<LfwSample> lfw_sample(std::string& missing) {
  namespace fs = std::filesystem;
  const fs::path shared = shared_dir();
  const fs::path raw = shared / "data/raw/lfw", ref = shared / "data/lfw112";
  std::vector<LfwSample> out;
  for (const fs::path& p : {raw, ref / "manifest.tsv"})
    if (!fs::exists(p)) {
      missing = p.string() + " missing (set VITNT_SHARED to the shared folder)";
      return out;
    }
  std::ifstream f(ref / "manifest.tsv");
  std::string line;
  std::getline(f, line);  // header: path identity det_score x1 y1 .. x5 y5 width height
  while (std::getline(f, line)) {
    std::istringstream ss(line);
    std::string path, identity;
    LfwSample s;
    std::getline(ss, path, '\t');
    std::getline(ss, identity, '\t');
    ss >> s.det_score;
    for (Point& p : s.landmarks) ss >> p.x >> p.y;
    const std::string rel = path.substr(path.find('/') + 1);  // drop "images/"
    if (!fs::exists(raw / rel)) continue;                     // only the 155 raw photos
    s.photo = (raw / rel).string();
    s.crop = (ref / path).string();
    out.push_back(s);
  }
  if (out.empty()) missing = "no photo of " + raw.string() + " is listed in the manifest";
  return out;
}

inline std::string detector_model_path() { return shared_dir() + "/models/yunet_s_640_640.onnx"; }

}  // namespace vitnt::test
