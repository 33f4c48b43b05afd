#include "eval/quality_dnn.h"

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "io/file_util.h"

namespace fs = std::filesystem;

namespace vitnt::eval {

namespace {

// `name` relative to the description's folder, else $VITNT_SHARED/models/<file name>.
std::string resolve(const std::string& name, const std::string& desc_path) {
  const fs::path given(name);
  const fs::path p = given.is_absolute() ? given : fs::path(desc_path).parent_path() / given;
  std::error_code ec;
  if (fs::exists(p, ec)) return p.string();
  std::string tried = p.string();
  if (const char* shared = std::getenv("VITNT_SHARED")) {
    const fs::path q = fs::path(shared) / "models" / fs::path(name).filename();
    if (fs::exists(q, ec)) return q.string();
    tried += " or " + q.string();
  }
  throw Error(desc_path + ": model file '" + name + "' not found (looked for " + tried +
              "; set VITNT_SHARED to the folder holding models/)");
}

}  // namespace

QualityModelDesc parse_quality_model_desc(const std::string& text, const std::string& path) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw Error(path + ": not a JSON object");
  QualityModelDesc d;
  d.desc_path = path;
  DnnContract& c = d.contract;
  c.batch = 1;
  auto number = [&](const nlohmann::json& v, const std::string& key) {
    if (!v.is_number()) throw Error(path + ": \"" + key + "\" must hold numbers");
    return v.get<double>();
  };
  auto string = [&](const nlohmann::json& v, const std::string& key) {
    if (!v.is_string()) throw Error(path + ": \"" + key + "\" must be a string");
    return v.get<std::string>();
  };
  bool have_file = false;
  for (const auto& [key, v] : j.items()) {
    if (key == "file") {
      d.file = string(v, key);
      have_file = true;
    } else if (key == "format") {
      c.format = string(v, key);
      if (c.format != "onnx" && c.format != "tensorflow" && c.format != "caffe")
        throw Error(path + ": \"format\" must be onnx, tensorflow or caffe, got '" + c.format +
                    "'");
    } else if (key == "config") {
      c.config = string(v, key);
    } else if (key == "input_size") {
      if (!v.is_array() || v.size() != 2)
        throw Error(path + ": \"input_size\" must be [width, height]");
      c.width = static_cast<int>(number(v[0], key));
      c.height = static_cast<int>(number(v[1], key));
      if (c.width < 1 || c.height < 1 || c.width > 4096 || c.height > 4096)
        throw Error(path + ": \"input_size\" out of range");
    } else if (key == "channel_order") {
      const std::string o = string(v, key);
      if (o != "RGB" && o != "BGR") throw Error(path + ": \"channel_order\" must be RGB or BGR");
      c.order = o == "RGB" ? ChannelOrder::RGB : ChannelOrder::BGR;
    } else if (key == "mean" || key == "std") {
      float* dst = key == "mean" ? c.mean : c.std;
      if (v.is_number()) {
        dst[0] = dst[1] = dst[2] = static_cast<float>(number(v, key));
      } else if (v.is_array() && v.size() == 3) {
        for (int k = 0; k < 3; ++k) dst[k] = static_cast<float>(number(v[k], key));
      } else {
        throw Error(path + ": \"" + key + "\" must be a number or 3 numbers");
      }
      if (key == "std")
        for (int k = 0; k < 3; ++k)
          if (!(dst[k] != 0)) throw Error(path + ": \"std\" must not be 0");
    } else if (key == "output") {
      const std::string o = string(v, key);
      if (o != "first" && o != "mean") throw Error(path + ": \"output\" must be first or mean");
      d.output_mean = o == "mean";
    } else if (key == "batch") {
      c.batch = static_cast<int>(number(v, key));
      if (c.batch < 1 || c.batch > 4096) throw Error(path + ": \"batch\" must be 1 to 4096");
    } else if (key == "input_name") {
      c.input_name = string(v, key);
    } else if (key == "output_name") {
      c.output_name = string(v, key);
    } else if (key != "note" && key != "name") {
      throw Error(path + ": unknown key \"" + key +
                  "\" (file, format, config, input_size, channel_order, mean, std, output, "
                  "batch, input_name, output_name, note)");
    }
  }
  if (!have_file) throw Error(path + ": \"file\" (the model file) is required");
  if (c.format == "caffe" && c.config.empty())
    throw Error(path + ": a caffe model needs \"config\" (the .prototxt)");
  d.file = resolve(d.file, path);
  if (!c.config.empty()) c.config = resolve(c.config, path);
  return d;
}

QualityModelDesc load_quality_model_desc(const std::string& path) {
  return parse_quality_model_desc(io::read_text_file(path), path);
}

QualityModel::QualityModel(const QualityModelDesc& d) : d_(d), net_(d.file, d.contract) {}

std::vector<float> QualityModel::score(const std::vector<cv::Mat>& bgr) {
  std::vector<float> q;
  for (const std::vector<float>& o : net_.run(bgr)) {
    double s = o[0];
    if (d_.output_mean) {
      s = 0;
      for (float v : o) s += v;
      s /= o.size();
    }
    q.push_back(static_cast<float>(s));
  }
  return q;
}

std::string QualityModel::cost() const {
  const DnnContract& c = d_.contract;
  return "1 forward pass of " + fs::path(d_.file).filename().string() + " per face (" +
         std::to_string(c.width) + "x" + std::to_string(c.height) + " input, batch " +
         std::to_string(c.batch) + ")";
}

}  // namespace vitnt::eval
