// Comparison pairs for evaluation: the LFW pairs.txt format or a CSV.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace vitnt::eval {

struct Pair {
  std::string a, b;  // image paths (resolved against the images root)
  bool genuine = false;
  std::optional<double> score;  // comparison score when the file gives one
  int fold = 0;                 // LFW: 0..9; CSV: 0
};

// LFW pairs.txt: "folds n", then per fold n genuine lines "name i j" and n impostor lines
// "name1 i name2 j"; images at ROOT/name/name_%04d.jpg.
// CSV: rows "a,b,genuine[,score[,fold]]" with genuine 1/0 (or true/false); with a header
// (a line naming the column "genuine") columns are read by name, e.g. "a,b,genuine,fold";
// an empty score is no score;
// relative paths are taken relative to ROOT when ROOT is given.
// Errors name the file and line.
// One CSV line into fields (RFC 4180 quoting; a trailing CR dropped).
std::vector<std::string> split_csv(const std::string& line);

std::vector<Pair> read_pairs(const std::string& path, const std::string& images_root);

// The comparison score of two embeddings: their cosine similarity.
double cosine(const std::vector<float>& a, const std::vector<float>& b);

}  // namespace vitnt::eval
