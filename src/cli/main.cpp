// The `vitnt` command: score aligned faces, describe models and the machine.
//
// Exit codes: 0 all inputs scored; 1 fatal (arguments, model, output); 2 some inputs
// failed (reported on stderr, skipped; the output holds the others).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <future>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/commands.h"
#include "io/file_util.h"
#include "io/image_io.h"
#include "vitnt/vitnt.h"

namespace fs = std::filesystem;

namespace vitnt::cli {

std::string default_model_path() {
  if (const char* env = std::getenv("VITNT_MODEL")) return env;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  const char* name = "vitnt-s16.safetensors";
  for (const fs::path& dir : {exe.parent_path() / "../share/vitnt/models",
                              exe.parent_path() / "../models", exe.parent_path() / "models"}) {
    fs::path p = dir / name;
    if (fs::exists(p, ec)) return fs::weakly_canonical(p, ec).string();
  }
  throw Error(std::string("no --model given and the default model ") + name +
              " was not found next to the executable (../models, ../share/vitnt/models); "
              "set VITNT_MODEL or pass --model");
}

Model load_model(const ModelArgs& a) {
  std::optional<ModelConfig> config;
  if (!a.config_path.empty() && !a.arch.empty())
    throw Error("give either --model-config or --arch, not both");
  if (!a.config_path.empty()) config = load_model_config(a.config_path);
  if (!a.arch.empty()) config = builtin_arch(a.arch);
  LoadOptions lo;
  lo.threads = a.threads;
  return Model::load(a.weights.empty() ? default_model_path() : a.weights, config, lo);
}

void add_model_options(CLI::App& cmd, ModelArgs& a) {
  cmd.add_option("--model", a.weights, "weights (.safetensors); default: the bundled model");
  cmd.add_option("--model-config", a.config_path, "model description JSON");
  cmd.add_option("--arch", a.arch, "a shipped model description (see `vitnt info`)");
  cmd.add_option("--threads", a.threads, "worker threads (default: all cores)");
}

Progress::Progress(size_t total) : total_(total), tty_(::isatty(2)), start_(Clock::now()) {
  last_ = start_;
}

void Progress::update(size_t done, size_t failed) {
  auto now = Clock::now();
  const double since = std::chrono::duration<double>(now - last_).count();
  if (done < total_ && since < (tty_ ? 0.2 : 10.0)) return;
  last_ = now;
  const double el = std::chrono::duration<double>(now - start_).count();
  const double rate = el > 0 ? done / el : 0;
  if (tty_) {
    const int width = 30;
    int fill = total_ ? static_cast<int>(width * done / total_) : width;
    std::fprintf(stderr, "\r[%s%s] %zu/%zu  %.1f img/s  %zu failed ",
                 std::string(fill, '#').c_str(), std::string(width - fill, '.').c_str(), done,
                 total_, rate, failed);
    if (done >= total_) std::fprintf(stderr, "\n");
  } else {
    std::fprintf(stderr, "progress: %zu/%zu images, %.1f img/s, %zu failed\n", done, total_, rate,
                 failed);
  }
}

double Progress::seconds() const {
  return std::chrono::duration<double>(Clock::now() - start_).count();
}

namespace {

struct ScoreArgs {
  ModelArgs model;
  std::string blocks, aggregation, format = "csv", output;
  std::optional<float> scaling;
  bool embedding = false, patch_map = false, resize = false;
  int batch = 32;
  std::vector<std::string> inputs;
};

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (char ch : s) q += (ch == '"') ? std::string("\"\"") : std::string(1, ch);
  return q + "\"";
}

std::string fmt(float v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

std::string format_row(const std::string& path, const FaceScore& s, bool jsonl) {
  std::string line;
  if (jsonl) {
    nlohmann::json j = {{"path", path}, {"quality", s.quality}};
    if (!s.embedding.empty()) j["embedding"] = s.embedding;
    if (!s.patch_quality.empty()) j["patch_quality"] = s.patch_quality;
    return j.dump() + "\n";
  }
  line = csv_field(path) + "," + fmt(s.quality);
  for (float v : s.embedding) line += "," + fmt(v);
  for (float v : s.patch_quality) line += "," + fmt(v);
  return line + "\n";
}

ScoreOptions parse_score_options(const ScoreArgs& a) {
  ScoreOptions o;
  if (!a.blocks.empty()) {
    int x = 0, y = 0;
    char colon = 0, extra = 0;
    if (std::sscanf(a.blocks.c_str(), "%d%c%d%c", &x, &colon, &y, &extra) != 3 || colon != ':')
      throw Error("--blocks must be A:B (e.g. 0:19), got '" + a.blocks + "'");
    o.first_block = x;
    o.last_block = y;
  }
  o.scaling = a.scaling;
  if (!a.aggregation.empty()) o.aggregation = parse_aggregation(a.aggregation);
  o.embedding = a.embedding;
  o.patch_map = a.patch_map;
  return o;
}

struct Loaded {
  std::vector<std::string> paths;  // inputs that decoded
  std::vector<cv::Mat> images;
};

int run_score(const ScoreArgs& a) {
  if (a.format != "csv" && a.format != "jsonl")
    throw Error("--format must be csv or jsonl, got '" + a.format + "'");
  if (a.batch < 1) throw Error("--batch must be positive");
  const ScoreOptions opts = parse_score_options(a);
  Model model = load_model(a.model);
  const ModelConfig& c = model.config();
  const std::vector<std::string> paths = io::expand_inputs(a.inputs);
  if (paths.empty()) throw Error("no input images found in the given INPUTS");

  io::AtomicFile out(a.output);
  const bool jsonl = a.format == "jsonl";
  if (!jsonl) {
    std::string header = "path,quality";
    for (int i = 0; opts.embedding && i < c.num_features; ++i) header += ",emb_" + std::to_string(i);
    for (int i = 0; opts.patch_map && i < c.num_patches(); ++i) header += ",q_" + std::to_string(i);
    out.write(header + "\n");
  }

  size_t failed = 0, done = 0;
  Progress progress(paths.size());
  auto load = [&](size_t start) {
    Loaded l;
    for (size_t i = start; i < std::min(paths.size(), start + a.batch); ++i) {
      std::string err;
      cv::Mat m = io::load_aligned_crop(paths[i], c.img_size, a.resize, err);
      if (m.empty()) {
        std::fprintf(stderr, "error: %s: %s (skipped)\n", paths[i].c_str(), err.c_str());
        ++failed;
        continue;
      }
      l.paths.push_back(paths[i]);
      l.images.push_back(std::move(m));
    }
    return l;
  };
  // Decode the next batch while the current one is scored.
  std::future<Loaded> next = std::async(std::launch::async, load, 0);
  for (size_t start = 0; start < paths.size(); start += a.batch) {
    Loaded cur = next.get();
    const size_t n = std::min<size_t>(a.batch, paths.size() - start);
    if (start + a.batch < paths.size()) next = std::async(std::launch::async, load, start + a.batch);
    std::vector<ImageView> views;
    for (const cv::Mat& m : cur.images)
      views.push_back({m.data, m.cols, m.rows, m.step[0], ChannelOrder::BGR});
    std::vector<FaceScore> scores = model.score(views, opts);
    std::string chunk;
    for (size_t i = 0; i < scores.size(); ++i) chunk += format_row(cur.paths[i], scores[i], jsonl);
    out.write(chunk);
    done += n;
    progress.update(done, failed);
  }
  out.commit();
  const double el = progress.seconds();
  std::fprintf(stderr, "scored %zu of %zu images in %.1f s (%.1f img/s), %zu failed -> %s\n",
               paths.size() - failed, paths.size(), el, (paths.size() - failed) / std::max(el, 1e-9),
               failed, a.output.c_str());
  return failed ? 2 : 0;
}

int run_info(const ModelArgs& m, bool json_out, bool print_config) {
  if (print_config) {  // the description only, e.g. to start a JSON of one's own
    if (m.weights.empty() && !m.arch.empty()) {
      std::cout << model_config_to_json(builtin_arch(m.arch)) << "\n";
    } else if (m.weights.empty() && !m.config_path.empty()) {
      std::cout << model_config_to_json(load_model_config(m.config_path)) << "\n";
    } else {
      std::cout << model_config_to_json(load_model(m).config()) << "\n";
    }
    return 0;
  }
  nlohmann::json j;
  j["version"] = VITNT_VERSION;
  j["cpu"] = cpu_features();
  j["builtin_archs"] = builtin_arch_names();
  if (!m.weights.empty() || !m.arch.empty() || !m.config_path.empty()) {
    Model model = load_model(m);
    j["model"] = {{"path", model.path()},
                  {"config", nlohmann::json::parse(model_config_to_json(model.config()))}};
  }
  if (json_out) {
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::cout << "vitnt " << VITNT_VERSION << "\ncpu: ";
  for (auto& [k, v] : j["cpu"].items()) std::cout << k << "=" << (v.get<bool>() ? "yes" : "no") << " ";
  std::cout << "\nshipped model descriptions (--arch):";
  for (const auto& n : builtin_arch_names()) std::cout << " " << n;
  std::cout << "\n";
  if (j.contains("model")) std::cout << "model " << j["model"]["path"].get<std::string>() << ":\n"
                                     << j["model"]["config"].dump(2) << "\n";
  return 0;
}

struct BenchArgs {
  ModelArgs model;
  std::vector<int> batches = {1, 32};
  std::string blocks;
  bool embedding = false;
  int iters = 5;
  std::string json_out;
};

// Inference only, on synthetic images in memory: median seconds per batch.
int run_bench(const BenchArgs& a) {
  Model model = load_model(a.model);
  const ModelConfig& c = model.config();
  ScoreArgs sa;
  sa.blocks = a.blocks;
  sa.embedding = a.embedding;
  const ScoreOptions opts = parse_score_options(sa);
  const int max_batch = *std::max_element(a.batches.begin(), a.batches.end());
  std::vector<cv::Mat> images;
  std::vector<ImageView> views;
  cv::RNG rng(1);
  for (int i = 0; i < max_batch; ++i) {
    images.emplace_back(c.img_size, c.img_size, CV_8UC3);
    rng.fill(images.back(), cv::RNG::UNIFORM, 0, 256);
    views.push_back({images.back().data, c.img_size, c.img_size, images.back().step[0],
                     ChannelOrder::BGR});
  }
  nlohmann::json results = nlohmann::json::array();
  for (int b : a.batches) {
    std::vector<ImageView> batch(views.begin(), views.begin() + b);
    model.score(batch, opts);  // warm-up
    std::vector<double> t;
    for (int i = 0; i < a.iters; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      model.score(batch, opts);
      t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(t.begin(), t.end());
    const double med = t[t.size() / 2];
    std::printf("batch %3d: %8.2f ms/batch  %8.1f img/s\n", b, med * 1e3, b / med);
    results.push_back({{"batch", b}, {"seconds_per_batch", med}, {"images_per_second", b / med}});
  }
  if (!a.json_out.empty()) {
    io::AtomicFile f(a.json_out);
    f.write(nlohmann::json({{"model", model_config_to_json(c)}, {"results", results}}).dump(2));
    f.commit();
  }
  return 0;
}

}  // namespace

nlohmann::json cpu_features() {
  __builtin_cpu_init();
  return {{"avx2", static_cast<bool>(__builtin_cpu_supports("avx2"))},
          {"avx512f", static_cast<bool>(__builtin_cpu_supports("avx512f"))},
          {"avx512bf16", static_cast<bool>(__builtin_cpu_supports("avx512bf16"))},
          {"avx512vnni", static_cast<bool>(__builtin_cpu_supports("avx512vnni"))}};
}

}  // namespace vitnt::cli

int main(int argc, char** argv) {
  using namespace vitnt::cli;
  CLI::App app{"vitnt: face image quality (ViTNT-FIQA) from one pass of a face ViT"};
  app.require_subcommand(1);

  ScoreArgs s;
  CLI::App* score = app.add_subcommand("score", "score aligned 112x112 face crops");
  add_model_options(*score, s.model);
  score->add_option("--blocks", s.blocks, "block range A:B (default: the model's)");
  score->add_option("--scaling", s.scaling, "s in q_p = 2/(1+exp(s d_p)) (default: the model's)");
  score->add_option("--aggregation", s.aggregation, "attention-last | attention-all | uniform");
  score->add_flag("--embedding", s.embedding, "also output the FR embedding (same pass)");
  score->add_flag("--patch-map", s.patch_map, "also output every patch quality q_p");
  score->add_option("--format", s.format, "csv | jsonl")->capture_default_str();
  score->add_option("--batch", s.batch, "images per batch")->capture_default_str();
  score->add_flag("--resize", s.resize, "resize crops of another size instead of refusing them");
  score->add_option("-o,--output", s.output, "output file (written atomically)")->required();
  score->add_option("inputs", s.inputs, "images, folders (recursive) or @list.txt")->required();

  ModelArgs info_model;
  bool info_json = false, info_print_config = false;
  CLI::App* info = app.add_subcommand("info", "CPU features, shipped model descriptions, a model");
  add_model_options(*info, info_model);
  info->add_flag("--json", info_json, "machine-readable output");
  info->add_flag("--print-config", info_print_config, "print the model description JSON only");

  BenchArgs bench_args;
  CLI::App* bench = app.add_subcommand("bench", "inference throughput on synthetic images");
  add_model_options(*bench, bench_args.model);
  bench->add_option("--batch", bench_args.batches, "batch sizes")->capture_default_str();
  bench->add_option("--blocks", bench_args.blocks, "block range A:B (default: the model's)");
  bench->add_flag("--embedding", bench_args.embedding, "run the whole network and the FR head");
  bench->add_option("--iters", bench_args.iters, "timed repetitions (median reported)");
  bench->add_option("--json", bench_args.json_out, "also write the results here");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 1;
  }
  try {
    if (*score) return run_score(s);
    if (*info) return run_info(info_model, info_json, info_print_config);
    if (*bench) return run_bench(bench_args);
  } catch (const vitnt::Error& e) {
    std::fprintf(stderr, "vitnt: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vitnt: error: %s\n", e.what());
    return 1;
  }
  return 1;
}
