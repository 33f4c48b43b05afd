// Model descriptions: JSON with timm-style keys, and the shipped ones.
#include <map>
#include <nlohmann/json.hpp>

#include "io/file_util.h"
#include "model/archs_json.h"
#include "vitnt/vitnt.h"

namespace vitnt {

namespace {
// The known members of the face-ViT family (../shared/docs/method.md), from
// src/model/archs.json (tools/convert_pt.py reads the same file). ViTNT settings for
// CVLface ViT-B are the paper's; for the others they are the paper's recipe scaled to
// depth (first ~80% of the blocks) until validated per model. cvlface-vit-b-authors-bgr
// feeds BGR as the authors' published run script does (README "Real checkpoints").
const std::map<std::string, std::string>& builtins() {
  static const std::map<std::string, std::string> m = [] {
    std::map<std::string, std::string> out;
    const nlohmann::json all = nlohmann::json::parse(kShippedArchsJson);
    for (const auto& [name, d] : all.items()) out[name] = d.dump();
    return out;
  }();
  return m;
}

ChannelOrder parse_order(const std::string& s, const std::string& origin) {
  if (s == "RGB" || s == "rgb") return ChannelOrder::RGB;
  if (s == "BGR" || s == "bgr") return ChannelOrder::BGR;
  throw Error(origin + ": input.channel_order must be \"RGB\" or \"BGR\", got \"" + s + "\"");
}
}  // namespace

Aggregation parse_aggregation(const std::string& name) {
  if (name == "attention-last") return Aggregation::AttentionLast;
  if (name == "attention-all") return Aggregation::AttentionAll;
  if (name == "uniform") return Aggregation::Uniform;
  throw Error("unknown aggregation '" + name +
              "' (expected attention-last, attention-all or uniform)");
}

std::string to_string(Aggregation a) {
  switch (a) {
    case Aggregation::AttentionLast:
      return "attention-last";
    case Aggregation::AttentionAll:
      return "attention-all";
    case Aggregation::Uniform:
      return "uniform";
  }
  return "?";
}

ModelConfig parse_model_config(const std::string& json_text, const std::string& origin) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(origin + ": malformed JSON: " + e.what());
  }
  if (!j.is_object()) throw Error(origin + ": model description must be a JSON object");
  ModelConfig c;
  try {
    c.name = j.value("name", std::string());
    c.img_size = j.value("img_size", c.img_size);
    c.patch_size = j.at("patch_size").get<int>();
    c.embed_dim = j.at("embed_dim").get<int>();
    c.depth = j.at("depth").get<int>();
    c.num_heads = j.at("num_heads").get<int>();
    c.mlp_ratio = j.at("mlp_ratio").get<double>();
    c.num_features = j.value("num_features", c.num_features);
    if (j.contains("input")) {
      const auto& in = j["input"];
      if (in.contains("channel_order"))
        c.channel_order = parse_order(in["channel_order"].get<std::string>(), origin);
      for (int k = 0; k < 3; ++k) {
        if (in.contains("mean")) c.mean[k] = in["mean"].at(k).get<float>();
        if (in.contains("std")) c.std[k] = in["std"].at(k).get<float>();
      }
    }
    if (j.contains("vitnt")) {
      const auto& v = j["vitnt"];
      if (v.contains("blocks")) {
        c.first_block = v["blocks"].at(0).get<int>();
        c.last_block = v["blocks"].at(1).get<int>();
      }
      c.scaling = v.value("scaling", c.scaling);
      if (v.contains("aggregation"))
        c.aggregation = parse_aggregation(v["aggregation"].get<std::string>());
    }
    if (j.contains("ignore_tensors"))
      c.ignore_tensors = j["ignore_tensors"].get<std::vector<std::string>>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(origin + ": bad model description: " + e.what());
  } catch (const Error& e) {
    throw Error(origin + ": " + e.what());
  }
  // "calibrations": [named blocks], "default_calibration": a name; a description written
  // before blocks had names carries one "calibration" block (read as "default").
  if (j.contains("calibration"))
    c.set_calibration(parse_calibration(j["calibration"].dump(), origin));
  if (j.contains("calibrations")) {
    if (!j["calibrations"].is_array()) throw Error(origin + ": 'calibrations' must be a list");
    for (const auto& b : j["calibrations"]) {
      Calibration cal = parse_calibration(b.dump(), origin, "");
      for (const Calibration& have : c.calibrations)
        if (have.name == cal.name)
          throw Error(origin + ": two calibrations named '" + cal.name + "'");
      c.set_calibration(std::move(cal));
    }
  }
  if (j.contains("default_calibration")) {
    if (!j["default_calibration"].is_string())
      throw Error(origin + ": 'default_calibration' must be a name");
    c.default_calibration = j["default_calibration"].get<std::string>();
    try {
      c.calibration(c.default_calibration);
    } catch (const Error& e) {
      throw Error(origin + ": default_calibration: " + e.what());
    }
  }
  auto bad = [&](const std::string& what) { throw Error(origin + ": " + what); };
  if (c.patch_size < 1 || c.img_size < c.patch_size) bad("patch_size must be in 1..img_size");
  if (c.embed_dim < 1 || c.num_heads < 1 || c.embed_dim % c.num_heads)
    bad("embed_dim must be a positive multiple of num_heads");
  if (c.depth < 2) bad("depth must be at least 2");
  if (c.mlp_ratio <= 0 || c.num_features < 1) bad("mlp_ratio and num_features must be positive");
  for (float s : c.std)
    if (!(s > 0)) bad("input.std must be positive");
  if (c.last_block < 0) c.last_block = c.depth - 1;
  if (c.first_block < 0 || c.last_block >= c.depth || c.last_block - c.first_block < 1)
    bad("vitnt.blocks must be a range a..b with 0 <= a < b < depth");
  return c;
}

ModelConfig load_model_config(const std::string& path) {
  return parse_model_config(io::read_text_file(path), path);
}

std::string model_config_to_json(const ModelConfig& c) {
  nlohmann::json j = {{"name", c.name},
                      {"img_size", c.img_size},
                      {"patch_size", c.patch_size},
                      {"embed_dim", c.embed_dim},
                      {"depth", c.depth},
                      {"num_heads", c.num_heads},
                      {"mlp_ratio", c.mlp_ratio},
                      {"num_features", c.num_features},
                      {"input",
                       {{"channel_order", c.channel_order == ChannelOrder::RGB ? "RGB" : "BGR"},
                        {"mean", {c.mean[0], c.mean[1], c.mean[2]}},
                        {"std", {c.std[0], c.std[1], c.std[2]}}}},
                      {"vitnt",
                       {{"blocks", {c.first_block, c.last_block}},
                        {"scaling", c.scaling},
                        {"aggregation", to_string(c.aggregation)}}},
                      {"ignore_tensors", c.ignore_tensors}};
  if (!c.calibrations.empty()) {
    j["default_calibration"] = c.default_calibration;
    for (const Calibration& cal : c.calibrations)
      j["calibrations"].push_back(nlohmann::json::parse(calibration_to_json(cal)));
  }
  return j.dump(2);
}

ModelConfig builtin_arch(const std::string& name) {
  auto it = builtins().find(name);
  if (it == builtins().end()) {
    std::string known;
    for (const auto& n : builtin_arch_names()) known += (known.empty() ? "" : ", ") + n;
    throw Error("unknown --arch '" + name + "' (known: " + known + ")");
  }
  ModelConfig c = parse_model_config(it->second, "builtin arch " + name);
  c.name = name;
  return c;
}

std::vector<std::string> builtin_arch_names() {
  std::vector<std::string> names;
  for (const auto& [k, v] : builtins()) names.push_back(k);
  return names;
}

}  // namespace vitnt
