// Pieces shared by the `vitnt` subcommands: model loading, progress, formatting.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "io/file_util.h"
#include "model/cpu.h"
#include "model/kernels.h"

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

std::string find_tool_script(const std::string& repo_path, const char* env_var) {
  if (const char* env = env_var ? std::getenv(env_var) : nullptr) return env;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec).parent_path();
  for (const fs::path& p :
       {exe / ".." / repo_path, exe / "../share/vitnt" / fs::path(repo_path).filename()})
    if (fs::exists(p, ec)) return fs::weakly_canonical(p, ec).string();
  return "";
}

Model load_model(const ModelArgs& a) {
  std::optional<ModelConfig> config;
  if (!a.config_path.empty() && !a.arch.empty())
    throw Error("give either --model-config or --arch, not both");
  if (!a.config_path.empty()) config = load_model_config(a.config_path);
  if (!a.arch.empty()) config = builtin_arch(a.arch);
  LoadOptions lo;
  lo.threads = a.threads;
  if (a.precision == "bf16")
    lo.precision = Precision::BF16;
  else if (a.precision != "fp32")
    throw Error("--precision must be fp32 or bf16, got '" + a.precision + "'");
  const std::string weights = a.weights.empty() ? default_model_path() : a.weights;
  if (!a.calibration.empty()) {  // the model's description, with this block added as default
    if (!config) config = Model::load(weights, std::nullopt, lo).config();
    Calibration c = parse_calibration(io::read_text_file(a.calibration), a.calibration);
    config->default_calibration = c.name;
    config->set_calibration(std::move(c));
  }
  Model m = Model::load(weights, config, lo);
  m.config().calibration(a.calibration_for);  // refuses a name the model does not carry
  return m;
}

void add_calibration_for_option(CLI::App& cmd, ModelArgs& a) {
  cmd.add_option("--calibration-for", a.calibration_for,
                 "the FR system the scalar is calibrated for: a calibration block of the model "
                 "(`vitnt info --model` lists them; default: the model's default)");
}

std::string describe_scalar(const Model& model, const std::string& calibration_for) {
  const Calibration* c = model.config().calibration(calibration_for);
  if (!c)
    return model.path() +
           " has no calibration: no scalar (fit one with `vitnt calibrate`, "
           "README \"The scalar\")";
  char fmr[32];
  std::snprintf(fmr, sizeof fmr, "%g", c->fmr);
  return "scalar: calibration '" + c->name + "' (" + c->fr_system + ", FMR " + fmr + ")";
}

void add_model_options(CLI::App& cmd, ModelArgs& a) {
  cmd.add_option("--model", a.weights, "weights (.safetensors); default: the bundled model");
  cmd.add_option("--model-config", a.config_path, "model description JSON");
  cmd.add_option("--arch", a.arch, "a shipped model description (see `vitnt info`)");
  cmd.add_option("--threads", a.threads, "worker threads (default: all cores)");
  cmd.add_option("--precision", a.precision,
                 "fp32 (exact) or bf16 (AVX512-BF16 GEMMs, faster; see docs/performance.md)")
      ->capture_default_str();
  cmd.add_option("--calibration", a.calibration,
                 "a calibration block JSON (vitnt calibrate): added to the model's blocks "
                 "(replacing one of its name) and made the default");
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

void parse_block_range(const std::string& text, ScoreOptions& o) {
  if (text.empty()) return;
  int x = 0, y = 0;
  char colon = 0, extra = 0;
  if (std::sscanf(text.c_str(), "%d%c%d%c", &x, &colon, &y, &extra) != 3 || colon != ':')
    throw Error("--blocks must be A:B (e.g. 0:19), got '" + text + "'");
  o.first_block = x;
  o.last_block = y;
}

std::string fmt(float v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

namespace {
std::atomic<int> g_stop_signal = 0;
extern "C" void on_stop_signal(int sig) {
  g_stop_signal = sig;
  std::signal(sig, SIG_DFL);  // a second Ctrl-C ends the process at once
}
}  // namespace

void install_stop_handlers() {
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
}

int stop_signal() { return g_stop_signal; }

int report_stopped(const std::string& partial_path, size_t done, size_t total) {
  const int sig = stop_signal();
  std::fprintf(stderr,
               "\nstopped by %s after %zu of %zu inputs; the results so far are in %s.\n"
               "Run the same command with --resume to continue.\n",
               sig == SIGINT ? "SIGINT" : "SIGTERM", done, total, partial_path.c_str());
  return 128 + sig;
}

nlohmann::json run_settings(const std::string& command, const std::string& model_path,
                            const std::vector<std::string>& inputs, nlohmann::json options) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a over the paths, NUL-separated
  for (const std::string& p : inputs)
    for (size_t i = 0; i <= p.size(); ++i)
      h = (h ^ static_cast<uint8_t>(p.c_str()[i])) * 1099511628211ull;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  options["command"] = command;
  options["inputs"] = inputs.size();
  options["inputs_fnv1a"] = hex;
  if (!model_path.empty()) {
    std::error_code ec;
    options["model"] = fs::weakly_canonical(model_path, ec).string();
    options["model_bytes"] = fs::file_size(model_path, ec);
  }
  return options;
}

size_t resume_index(const std::vector<std::string>& inputs, const std::string& key,
                    const std::string& partial_path) {
  auto it = std::find(inputs.begin(), inputs.end(), key);
  if (it == inputs.end())
    throw Error("cannot resume " + partial_path + ": its last input " + key +
                " is not among this run's inputs");
  if (std::find(it + 1, inputs.end(), key) != inputs.end())
    throw Error("cannot resume " + partial_path + ": " + key +
                " is given more than once in the inputs, so where to continue is ambiguous");
  return static_cast<size_t>(it - inputs.begin());
}

nlohmann::json cpu_features() {
  const model::CpuInfo& c = model::cpu_info();
  const std::string bf16 = model::bf16_unavailable_reason();
  return {{"model_name", c.model_name},
          {"family", c.family},
          {"model", c.model},
          {"flags",
           {{"avx2", c.avx2},
            {"fma", c.fma},
            {"avx512f", c.avx512f},
            {"avx512_bf16", c.avx512_bf16},
            {"avx512_vnni", c.avx512_vnni},
            {"amx_bf16", c.amx_bf16}}},
          {"onednn_isa", c.onednn_isa},
          {"onednn_isa_capped", c.onednn_isa_capped},
          {"row_kernels", model::row_kernel_level()},
          {"bf16", bf16.empty() ? "native (oneDNN " + c.onednn_isa + ")" : "refused: " + bf16}};
}

}  // namespace vitnt::cli
