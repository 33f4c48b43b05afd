// `vitnt info` (machine, shipped descriptions, a model) and `vitnt bench`.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <opencv2/core.hpp>

#include "cli/commands.h"
#include "io/file_util.h"
#include "model/cpu.h"
#include "model/linear.h"

namespace vitnt::cli {

namespace {

std::string model_prefix_text(const nlohmann::json& prefix) {
  const std::string p = prefix.get<std::string>();
  return p.empty() ? "none" : "'" + p + "'";
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
                  {"key_prefix_stripped", model.key_prefix()},
                  {"ignored_tensors", model.ignored_tensors()},
                  {"config", nlohmann::json::parse(model_config_to_json(model.config()))}};
  }
  if (json_out) {
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  const nlohmann::json& cpu = j["cpu"];
  std::cout << "vitnt " << VITNT_VERSION << "\ncpu: " << cpu["model_name"].get<std::string>()
            << " (family " << cpu["family"] << " model " << cpu["model"] << ")\nflags:";
  for (auto& [k, v] : cpu["flags"].items())
    std::cout << " " << k << "=" << (v.get<bool>() ? "yes" : "no");
  std::cout << "\noneDNN dispatches to: " << cpu["onednn_isa"].get<std::string>()
            << (cpu["onednn_isa_capped"].get<bool>() ? " (capped by ONEDNN_MAX_CPU_ISA)" : "")
            << "\nrow kernels: " << cpu["row_kernels"].get<std::string>()
            << "\nbf16: " << cpu["bf16"].get<std::string>()
            << "\nshipped model descriptions (--arch):";
  for (const auto& n : builtin_arch_names()) std::cout << " " << n;
  std::cout << "\n";
  if (j.contains("model")) {
    std::cout << "model " << j["model"]["path"].get<std::string>()
              << "\n  tensor name prefix stripped: "
              << (model_prefix_text(j["model"]["key_prefix_stripped"]))
              << "\n  set aside (BatchNorm counters): "
              << (j["model"]["ignored_tensors"].empty() ? std::string("none")
                                                        : j["model"]["ignored_tensors"].dump())
              << "\n  calibrations (--calibration-for):";
    const nlohmann::json& cfg = j["model"]["config"];
    if (!cfg.contains("calibrations")) std::cout << " none";
    for (const nlohmann::json& c : cfg.value("calibrations", nlohmann::json::array()))
      std::cout << "\n    " << c["name"].get<std::string>()
                << (c["name"] == cfg["default_calibration"] ? " (default)" : "") << ": "
                << c["fr_system"].get<std::string>() << ", FMR " << c["fmr"] << ", " << c["mated"]
                << " mated comparisons of " << c["data"].get<std::string>();
    std::cout << "\n" << cfg.dump(2) << "\n";
  }
  return 0;
}

struct BenchArgs {
  ModelArgs model;
  std::vector<int> batches = {1, 32};
  std::string blocks;
  bool embedding = false;
  int iters = 5;
  std::string json_out;
  bool matmul_peak = false;
};

// The figures' context: CPU model and the GEMM peak measured now, in this run.
nlohmann::json machine_context(int threads, bool measure) {
  const nlohmann::json cpu = cpu_features();
  nlohmann::json j = {{"cpu_model", cpu["model_name"]},
                      {"cpu_family", cpu["family"]},
                      {"cpu_model_number", cpu["model"]},
                      {"cpu", cpu}};
  if (!measure) return j;
  if (threads > 0) omp_set_num_threads(threads);
  j["matmul_6272x512x1536_gflops"] = {{"fp32", model::matmul_peak_gflops(Precision::F32)}};
  if (model::bf16_unavailable_reason().empty())
    j["matmul_6272x512x1536_gflops"]["bf16"] = model::matmul_peak_gflops(Precision::BF16);
  return j;
}

// Inference only, on synthetic images in memory: median seconds per batch.
int run_bench(const BenchArgs& a) {
  using clock = std::chrono::steady_clock;
  auto seconds_since = [](clock::time_point t0) {
    return std::chrono::duration<double>(clock::now() - t0).count();
  };
  const auto t_load = clock::now();
  Model model = load_model(a.model);
  const double load_s = seconds_since(t_load);
  const nlohmann::json machine = machine_context(a.model.threads, a.matmul_peak);
  std::printf("cpu: %s (family %d model %d; oneDNN %s, row kernels %s)\n",
              machine["cpu_model"].get<std::string>().c_str(), machine.value("cpu_family", 0),
              machine.value("cpu_model_number", 0),
              machine["cpu"]["onednn_isa"].get<std::string>().c_str(),
              machine["cpu"]["row_kernels"].get<std::string>().c_str());
  if (a.matmul_peak)
    for (auto& [prec, g] : machine["matmul_6272x512x1536_gflops"].items())
      std::printf("oneDNN matmul 6272x512x1536 %s: %.0f GFLOP/s (measured now)\n", prec.c_str(),
                  g.get<double>());
  const ModelConfig& c = model.config();
  ScoreOptions opts;
  parse_block_range(a.blocks, opts);
  opts.embedding = a.embedding;
  const int max_batch = *std::max_element(a.batches.begin(), a.batches.end());
  std::vector<cv::Mat> images;
  std::vector<ImageView> views;
  cv::RNG rng(1);
  for (int i = 0; i < max_batch; ++i) {
    images.emplace_back(c.img_size, c.img_size, CV_8UC3);
    rng.fill(images.back(), cv::RNG::UNIFORM, 0, 256);
    views.push_back(
        {images.back().data, c.img_size, c.img_size, images.back().step[0], ChannelOrder::BGR});
  }
  nlohmann::json results = nlohmann::json::array();
  double first_s = 0;
  for (int b : a.batches) {
    std::vector<ImageView> batch(views.begin(), views.begin() + b);
    const auto t_first = clock::now();
    model.score(batch, opts);  // warm-up; the first one also packs the weights
    if (results.empty()) {
      first_s = seconds_since(t_first);
      std::printf("model ready in %.3f s; first batch of %d (packs the weights) %.3f s\n", load_s,
                  b, first_s);
    }
    std::vector<double> t;
    for (int i = 0; i < a.iters; ++i) {
      const auto t0 = clock::now();
      model.score(batch, opts);
      t.push_back(seconds_since(t0));
    }
    std::sort(t.begin(), t.end());
    const double med = t[t.size() / 2];
    std::printf("batch %3d: %8.2f ms/batch  %8.1f img/s\n", b, med * 1e3, b / med);
    results.push_back({{"batch", b}, {"seconds_per_batch", med}, {"images_per_second", b / med}});
  }
  if (!a.json_out.empty()) {
    io::AtomicFile f(a.json_out);
    f.write(nlohmann::json({{"model", model_config_to_json(c)},
                            {"load_seconds", load_s},
                            {"first_batch_seconds", first_s},
                            {"machine", machine},
                            {"results", results}})
                .dump(2));
    f.commit();
  }
  return 0;
}

}  // namespace

Command add_info_command(CLI::App& app) {
  auto m = std::make_shared<ModelArgs>();
  auto flags = std::make_shared<std::pair<bool, bool>>(false, false);
  ModelArgs& info_model = *m;
  bool& info_json = flags->first;
  bool& info_print_config = flags->second;
  CLI::App* info = app.add_subcommand("info", "CPU features, shipped model descriptions, a model");
  add_model_options(*info, info_model);
  info->add_flag("--json", info_json, "machine-readable output");
  info->add_flag("--print-config", info_print_config, "print the model description JSON only");

  return {info, [m, flags] { return run_info(*m, flags->first, flags->second); }};
}

Command add_bench_command(CLI::App& app) {
  auto args = std::make_shared<BenchArgs>();
  BenchArgs& bench_args = *args;
  CLI::App* bench = app.add_subcommand("bench", "inference throughput on synthetic images");
  add_model_options(*bench, bench_args.model);
  bench->add_option("--batch", bench_args.batches, "batch sizes")->capture_default_str();
  bench->add_option("--blocks", bench_args.blocks, "block range A:B (default: the model's)");
  bench->add_flag("--embedding", bench_args.embedding, "run the whole network and the FR head");
  bench->add_option("--iters", bench_args.iters, "timed repetitions (median reported)");
  bench->add_option("--json", bench_args.json_out, "also write the results here");
  bench->add_flag("--matmul-peak", bench_args.matmul_peak,
                  "also measure the oneDNN matmul peak (6272x512x1536, fp32 and bf16) in this run");

  return {bench, [args] { return run_bench(*args); }};
}

}  // namespace vitnt::cli
