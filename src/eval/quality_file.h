// Quality files: `vitnt score` CSV / JSON Lines, or any CSV with `path` and `quality`
// columns (another tool's scores), keyed by canonical image path.
#pragma once

#include <map>
#include <string>

namespace vitnt::eval {

// The identity of an image across pairs and quality files: its canonical path, worked
// out once per distinct path (the lookups run per pair, method and FMR).
const std::string& image_key(const std::string& path);

// image_key(path) -> quality. With `scalars`, also image_key(path) -> the calibrated
// scalar for the rows that have one (a `scalar` column / field, empty or null = none), and
// in `scalar_for` the calibration those scalars come from (the `scalar_for` column / field;
// "" when the file does not say: written before outputs named it). Scalars of two different
// calibrations in one file are an error.
std::map<std::string, double> read_quality_file(const std::string& path,
                                                std::map<std::string, int>* scalars = nullptr,
                                                std::string* scalar_for = nullptr);

}  // namespace vitnt::eval
