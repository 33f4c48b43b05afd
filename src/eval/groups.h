// Quality by demographic group (vitnt eval --groups): does a quality threshold reject
// some people more than others (ISO/IEC 19795-10's demographic differentials)?
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "eval/pairs.h"

namespace vitnt::eval {

// A groups file: CSV with a `path` column and one or more attribute columns
// (e.g. gender,race,age); one row per image.
struct Groups {
  std::vector<std::string> attributes;           // column names, file order
  std::vector<std::string> paths;                // as written (resolved against the file's root)
  std::vector<std::vector<std::string>> values;  // [image][attribute]
};
// Errors name the file and the line (no `path` column, no attribute column, a row with
// too few fields, an empty value, a path twice). `images_root`: what relative paths are
// relative to ("" = as written).
Groups read_groups(const std::string& file, const std::string& images_root = "");

// One method's quality (and, when calibrated, scalar) by image key (image_key()).
struct GroupMethod {
  std::string name;
  const std::map<std::string, double>* quality = nullptr;
  const std::map<std::string, int>* scalar = nullptr;  // may be null or empty
};

// Rejection at one global cut: the same threshold for every group.
struct Cut {
  std::string name;      // "discard 5 %", "discard 20 %", "scalar < 40"
  double threshold = 0;  // reject quality < threshold (or scalar < threshold)
  bool on_scalar = false;
};

struct GroupStats {
  std::string value;
  size_t n = 0;
  double quantiles[5] = {};      // Q at 5/25/50/75/95 % (linear interpolation)
  std::vector<double> rejected;  // per cut: share of the group's images rejected
  // genuine pairs with both images in this group (when pairs are given)
  size_t genuine = 0;
  double fnmr_before = 0, fnmr_after = 0, discarded = 0;  // at the 20 % cut
};

struct Differential {
  double ratio = 0;  // highest / lowest group rejection share (inf when lowest is 0)
  // 95 % bootstrap interval of the ratio of these two groups' shares (images resampled
  // within groups); an interval containing 1 means no measurable differential
  double lo = 0, hi = 0;
  // permutation test (group labels shuffled across the images, group sizes kept): the
  // share of shuffles whose highest / lowest ratio is at least this one's. Picking the
  // extreme pair of several groups makes even random rejection show ratios above 1; this
  // says how often chance alone does as much.
  double p_value = 1;
  std::string highest, lowest;  // the groups
};

struct AttributeReport {
  std::string attribute;
  std::vector<GroupStats> groups;           // sorted by value
  std::vector<Differential> differentials;  // per cut
};

struct MethodGroupReport {
  std::string method;
  size_t images = 0;  // images with both a group and a quality
  std::vector<Cut> cuts;
  std::vector<AttributeReport> attributes;
};

// Per method, attribute and group: quality quantiles, the share rejected at global cuts
// (the thresholds that discard 5 % and 20 % of all images; scalar cut-offs 20/40/60/80
// when every image has a scalar), the differential with a bootstrap interval
// (`bootstrap` resamples, seeded), and with `pairs` (scored, genuine flagged) FNMR at
// `threshold` of the genuine pairs whose two images are both in the group, before and
// after discarding those whose lower quality is below the 20 % cut. Images of the groups
// file without a quality are an error naming the method and an example.
MethodGroupReport group_report(const Groups& groups, const GroupMethod& method,
                               const std::vector<Pair>* pairs, double threshold,
                               int bootstrap = 1000, unsigned seed = 0);

}  // namespace vitnt::eval
