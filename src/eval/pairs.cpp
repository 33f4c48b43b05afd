#include "eval/pairs.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "vitnt/vitnt.h"

namespace fs = std::filesystem;

namespace vitnt::eval {

namespace {

std::string lfw_path(const std::string& root, const std::string& name, int idx) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "_%04d.jpg", idx);
  return (fs::path(root) / name / (name + buf)).string();
}

}  // namespace

std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char ch = line[i];
    if (quoted) {
      if (ch == '"' && i + 1 < line.size() && line[i + 1] == '"')
        cur += '"', ++i;
      else if (ch == '"')
        quoted = false;
      else
        cur += ch;
    } else if (ch == '"') {
      quoted = true;
    } else if (ch == ',') {
      out.push_back(cur);
      cur.clear();
    } else if (ch != '\r') {
      cur += ch;
    }
  }
  out.push_back(cur);
  return out;
}

std::vector<Pair> read_pairs(const std::string& path, const std::string& root) {
  std::ifstream f(path);
  if (!f) throw Error(path + ": cannot read the pairs file");
  std::vector<std::string> lines;
  for (std::string l; std::getline(f, l);)
    if (!l.empty() && l != "\r") lines.push_back(l);
  if (lines.empty()) throw Error(path + ": empty pairs file");
  std::vector<Pair> pairs;
  const bool csv = lines[0].find(',') != std::string::npos;
  if (!csv) {
    int folds = 0, n = 0;
    if (std::sscanf(lines[0].c_str(), "%d %d", &folds, &n) != 2 || folds < 1 || n < 1)
      throw Error(path + ": line 1: expected \"FOLDS PAIRS_PER_FOLD\" (LFW pairs.txt format)");
    if (lines.size() != 1 + static_cast<size_t>(folds) * 2 * n)
      throw Error(path + ": expected " + std::to_string(folds * 2 * n) + " pair lines, found " +
                  std::to_string(lines.size() - 1));
    for (size_t i = 1; i < lines.size(); ++i) {
      std::istringstream ss(lines[i]);
      std::vector<std::string> t;
      for (std::string w; ss >> w;) t.push_back(w);
      Pair p;
      p.fold = static_cast<int>((i - 1) / (2 * n));
      try {
        if (t.size() == 3) {
          p.a = lfw_path(root, t[0], std::stoi(t[1]));
          p.b = lfw_path(root, t[0], std::stoi(t[2]));
          p.genuine = true;
        } else if (t.size() == 4) {
          p.a = lfw_path(root, t[0], std::stoi(t[1]));
          p.b = lfw_path(root, t[2], std::stoi(t[3]));
        } else {
          throw std::invalid_argument("fields");
        }
      } catch (const std::exception&) {
        throw Error(path + ": line " + std::to_string(i + 1) +
                    ": expected \"name i j\" or \"name1 i name2 j\"");
      }
      pairs.push_back(std::move(p));
    }
    return pairs;
  }
  // Columns by name when the first line is a header (a,b,genuine[,score][,fold], any
  // order), else by position a,b,genuine[,score[,fold]]. An empty score means none.
  int col_a = 0, col_b = 1, col_genuine = 2, col_score = 3, col_fold = 4;
  size_t first = 0, min_fields = 3, max_fields = 5;
  {
    auto h = split_csv(lines[0]);
    if (std::find(h.begin(), h.end(), "genuine") != h.end()) {
      col_a = col_b = col_genuine = col_score = col_fold = -1;
      for (size_t k = 0; k < h.size(); ++k) {
        int* col = h[k] == "a"         ? &col_a
                   : h[k] == "b"       ? &col_b
                   : h[k] == "genuine" ? &col_genuine
                   : h[k] == "score"   ? &col_score
                   : h[k] == "fold"    ? &col_fold
                                       : nullptr;
        if (!col)
          throw Error(path + ": line 1: unknown column '" + h[k] +
                      "' (expected a, b, genuine, score, fold)");
        *col = static_cast<int>(k);
      }
      if (col_a < 0 || col_b < 0) throw Error(path + ": line 1: the header needs columns a and b");
      first = 1;
      min_fields = max_fields = h.size();
    }
  }
  auto resolve = [&](const std::string& s) {
    return (root.empty() || fs::path(s).is_absolute()) ? s : (fs::path(root) / s).string();
  };
  for (size_t i = first; i < lines.size(); ++i) {
    auto t = split_csv(lines[i]);
    const std::string where = path + ": line " + std::to_string(i + 1);
    if (t.size() < min_fields || t.size() > max_fields)
      throw Error(where + (first ? ": expected as many fields as the header (" +
                                       std::to_string(max_fields) + ")"
                                 : std::string(": expected a,b,genuine[,score[,fold]]")));
    auto field = [&](int col) -> const std::string* {
      return col >= 0 && col < static_cast<int>(t.size()) ? &t[col] : nullptr;
    };
    Pair p;
    p.a = resolve(t[col_a]);
    p.b = resolve(t[col_b]);
    const std::string& g = t[col_genuine];
    if (g == "1" || g == "true" || g == "True")
      p.genuine = true;
    else if (g == "0" || g == "false" || g == "False")
      p.genuine = false;
    else
      throw Error(where + ": genuine must be 1/0, got '" + g + "'");
    if (const std::string* f = field(col_fold); f && !f->empty()) {
      try {
        size_t used = 0;
        p.fold = std::stoi(*f, &used);
        if (used != f->size()) throw std::invalid_argument("trailing");
      } catch (const std::exception&) {
        throw Error(where + ": bad fold '" + *f + "'");
      }
    }
    if (const std::string* sc = field(col_score); sc && !sc->empty()) {
      try {
        size_t used = 0;
        p.score = std::stod(*sc, &used);
        if (used != sc->size()) throw std::invalid_argument("trailing");
      } catch (const std::exception&) {
        throw Error(where + ": bad score '" + *sc + "'");
      }
    }
    pairs.push_back(std::move(p));
  }
  return pairs;
}

double cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < a.size(); ++i) ab += a[i] * b[i], aa += a[i] * a[i], bb += b[i] * b[i];
  return ab / std::sqrt(std::max(aa * bb, 1e-30));
}

}  // namespace vitnt::eval
