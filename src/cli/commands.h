// Pieces shared by the `vitnt` subcommands.
#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <string>

#include "io/partial_output.h"
#include "vitnt/face.h"
#include "vitnt/vitnt.h"

namespace vitnt::cli {

struct ModelArgs {
  std::string weights, config_path, arch;
  int threads = 0;
  std::string precision = "fp32";
  std::string calibration;      // a calibration block JSON, added and made the default
  std::string calibration_for;  // the block the scalar comes from ("": the default)
};

// A registered subcommand and what running it does (returns the exit code).
struct Command {
  CLI::App* app;
  std::function<int()> run;
};
Command add_score_command(CLI::App& app);
Command add_info_command(CLI::App& app);
Command add_bench_command(CLI::App& app);
Command add_eval_command(CLI::App& app);
Command add_align_command(CLI::App& app);
Command add_calibrate_command(CLI::App& app);
Command add_extract_bin_command(CLI::App& app);
Command add_best_command(CLI::App& app);
Command add_serve_command(CLI::App& app);

// Face detection settings of `align` and `score --detect` (src/cli/align_cmd.cpp).
struct DetectArgs {
  std::string model;  // empty: default_detector_path()
  float threshold = 0.5f;
  std::string faces = "central";
  int max_side = 640;  // DetectorOptions::max_side
};
std::vector<CLI::Option*> add_detector_options(CLI::App& cmd, DetectArgs& a);
FaceDetector load_detector(const DetectArgs& a);
std::string default_detector_path();

void add_model_options(CLI::App& cmd, ModelArgs& a);
// --calibration-for, for the commands that output the scalar.
void add_calibration_for_option(CLI::App& cmd, ModelArgs& a);
// "scalar: calibration 'own' (own embedding of vitnt-s16, cosine) at FMR 0.001", or why
// there is no scalar; for a log line.
std::string describe_scalar(const Model& model, const std::string& calibration_for);
// "A:B" into o.first_block/last_block (empty: unchanged).
void parse_block_range(const std::string& text, ScoreOptions& o);
using io::csv_field;       // src/io/partial_output.h
std::string fmt(float v);  // shortest exact float text
Model load_model(const ModelArgs& a);
std::string default_model_path();
// A helper script of the project (e.g. "tools/eval/report.py"): $ENV_VAR if set, else
// next to the executable in the source tree (build/../tools/...) or the installed tree
// (share/vitnt/NAME); "" when not found.
std::string find_tool_script(const std::string& repo_path, const char* env_var = nullptr);
nlohmann::json cpu_features();

// SIGINT / SIGTERM for long commands: the first one asks them to stop after the current
// batch (they flush, say how to resume, and exit 128 + signal); a second one kills.
void install_stop_handlers();
int stop_signal();  // 0 while no stop was asked for
// What a stopped command prints, and its exit code (130 SIGINT, 143 SIGTERM).
int report_stopped(const std::string& partial_path, size_t done, size_t total);
// Settings that decide a resumable output's content: the model file (path, size) and
// the input list (count, hash), plus the command's own options in `options`.
nlohmann::json run_settings(const std::string& command, const std::string& model_path,
                            const std::vector<std::string>& inputs, nlohmann::json options);
// Index of the input a resumed run continues from (`key` = its path).
size_t resume_index(const std::vector<std::string>& inputs, const std::string& key,
                    const std::string& partial_path);

// A progress bar on a terminal; rate-limited log lines otherwise.
class Progress {
 public:
  explicit Progress(size_t total);
  void update(size_t done, size_t failed);
  double seconds() const;

 private:
  using Clock = std::chrono::steady_clock;
  size_t total_;
  bool tty_;
  Clock::time_point start_, last_;
};

}  // namespace vitnt::cli
