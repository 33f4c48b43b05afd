#include "eval/quality_file.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <vector>

#include "eval/pairs.h"
#include "vitnt/vitnt.h"

namespace fs = std::filesystem;

namespace vitnt::eval {

const std::string& image_key(const std::string& p) {
  static std::unordered_map<std::string, std::string> cache;
  auto it = cache.find(p);
  if (it != cache.end()) return it->second;
  std::error_code ec;
  auto k = fs::weakly_canonical(p, ec);
  return cache.emplace(p, ec ? p : k.string()).first->second;
}

std::map<std::string, double> read_quality_file(const std::string& path,
                                                std::map<std::string, int>* scalars,
                                                std::string* scalar_for) {
  std::ifstream f(path);
  if (!f) throw Error(path + ": cannot read the quality file");
  std::map<std::string, double> q;
  std::string line;
  size_t n = 0;
  int path_col = -1, q_col = -1, s_col = -1, for_col = -1;
  std::string system;  // the scalar_for of the rows seen so far
  auto note_system = [&](const std::string& name) {
    if (name.empty()) return;
    if (!system.empty() && system != name)
      throw Error(path + ": line " + std::to_string(n) + ": scalars of two calibrations ('" +
                  system + "' and '" + name + "') in one file");
    system = name;
  };
  while (std::getline(f, line)) {
    ++n;
    if (line.empty()) continue;
    if (line[0] == '{') {
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.contains("path") || !j.contains("quality"))
        throw Error(path + ": line " + std::to_string(n) + ": expected {\"path\", \"quality\"}");
      const std::string& k = image_key(j["path"].get<std::string>());
      q[k] = j["quality"].get<double>();
      if (scalars && j.contains("scalar") && j["scalar"].is_number_integer()) {
        (*scalars)[k] = j["scalar"].get<int>();
        if (j.contains("scalar_for") && j["scalar_for"].is_string())
          note_system(j["scalar_for"].get<std::string>());
      }
      continue;
    }
    const std::vector<std::string> t = eval::split_csv(line);
    if (path_col < 0) {
      for (size_t i = 0; i < t.size(); ++i) {
        if (t[i] == "path") path_col = static_cast<int>(i);
        if (t[i] == "quality") q_col = static_cast<int>(i);
        if (t[i] == "scalar") s_col = static_cast<int>(i);
        if (t[i] == "scalar_for") for_col = static_cast<int>(i);
      }
      if (path_col < 0 || q_col < 0)
        throw Error(path + ": the CSV header must name a 'path' and a 'quality' column");
      continue;
    }
    if (static_cast<int>(t.size()) <= std::max(path_col, q_col))
      throw Error(path + ": line " + std::to_string(n) + ": too few columns");
    try {
      const std::string& k = image_key(t[path_col]);
      q[k] = std::stod(t[q_col]);
      if (scalars && s_col >= 0 && s_col < static_cast<int>(t.size()) && !t[s_col].empty()) {
        (*scalars)[k] = std::stoi(t[s_col]);
        if (for_col >= 0 && for_col < static_cast<int>(t.size())) note_system(t[for_col]);
      }
    } catch (const Error&) {
      throw;
    } catch (const std::exception&) {
      throw Error(path + ": line " + std::to_string(n) + ": bad quality '" + t[q_col] + "'" +
                  (s_col >= 0 ? " or scalar '" + t[s_col] + "'" : std::string()));
    }
  }
  if (scalar_for) *scalar_for = system;
  return q;
}

}  // namespace vitnt::eval
