#include "eval/pairs.h"

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
  for (size_t i = 0; i < lines.size(); ++i) {
    auto t = split_csv(lines[i]);
    if (i == 0 && t.size() >= 3 && (t[2] == "genuine" || t[0] == "a")) continue;  // header
    if (t.size() < 3 || t.size() > 5)
      throw Error(path + ": line " + std::to_string(i + 1) +
                  ": expected a,b,genuine[,score[,fold]]");
    Pair p;
    auto resolve = [&](const std::string& s) {
      return (root.empty() || fs::path(s).is_absolute()) ? s : (fs::path(root) / s).string();
    };
    p.a = resolve(t[0]);
    p.b = resolve(t[1]);
    if (t[2] == "1" || t[2] == "true" || t[2] == "True")
      p.genuine = true;
    else if (t[2] == "0" || t[2] == "false" || t[2] == "False")
      p.genuine = false;
    else
      throw Error(path + ": line " + std::to_string(i + 1) + ": genuine must be 1/0, got '" + t[2] +
                  "'");
    if (t.size() == 5) {
      try {
        p.fold = std::stoi(t[4]);
      } catch (const std::exception&) {
        throw Error(path + ": line " + std::to_string(i + 1) + ": bad fold '" + t[4] + "'");
      }
    }
    if (t.size() >= 4) {
      try {
        size_t used = 0;
        p.score = std::stod(t[3], &used);
        if (used != t[3].size()) throw std::invalid_argument("trailing");
      } catch (const std::exception&) {
        throw Error(path + ": line " + std::to_string(i + 1) + ": bad score '" + t[3] + "'");
      }
    }
    pairs.push_back(std::move(p));
  }
  return pairs;
}

}  // namespace vitnt::eval
