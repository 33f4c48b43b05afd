// `vitnt score`: aligned crops in (or photos, with --detect), one row per face out (CSV
// or JSON Lines).
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <future>

#include "cli/commands.h"
#include "eval/quality_dnn.h"
#include "face/align.h"
#include "io/file_util.h"
#include "io/image_io.h"
#include "io/partial_output.h"

namespace vitnt::cli {

namespace {

struct ScoreArgs {
  ModelArgs model;
  std::string blocks, aggregation, format = "csv", output;
  std::optional<float> scaling;
  bool embedding = false, patch_map = false, resize = false, detect = false, regions = false;
  std::string method = "vitnt";  // what the quality column holds
  std::string quality_model;     // --method external: its description JSON
  int serfiq_passes = 10;
  DetectArgs detector;
  int batch = 32;
  bool resume = false;
  std::vector<std::string> inputs;
};

// What decides the output's bytes (not --batch or --threads: scores do not depend on
// them), checked when a stopped run is resumed.
nlohmann::json output_settings(const ScoreArgs& a, const std::string& model_path,
                               const std::vector<std::string>& paths) {
  nlohmann::json o = {{"format", a.format},
                      {"model_config", a.model.config_path},
                      {"arch", a.model.arch},
                      {"precision", a.model.precision},
                      {"blocks", a.blocks},
                      {"aggregation", a.aggregation},
                      {"embedding", a.embedding},
                      {"patch_map", a.patch_map},
                      {"method", a.method},
                      {"resize", a.resize},
                      {"regions", a.regions},
                      {"detect", a.detect},
                      {"calibration", a.model.calibration},
                      {"calibration_for", a.model.calibration_for}};
  o["scaling"] = a.scaling ? nlohmann::json(*a.scaling) : nlohmann::json();
  if (a.method == "ser-fiq") o["serfiq_passes"] = a.serfiq_passes;
  if (a.method == "external") o["quality_model"] = a.quality_model;
  if (a.detect)
    o["detector"] = {{"model", a.detector.model},
                     {"threshold", a.detector.threshold},
                     {"faces", a.detector.faces}};
  return run_settings("score", model_path, paths, o);
}

// One scored face; `face` is set with --detect.
// `scalar_for`: the calibration block the scalar comes from (empty when there is no scalar).
std::string format_row(const std::string& path, const face::DetectedFace* face, const FaceScore& s,
                       const std::string& scalar_for, bool jsonl) {
  std::string line;
  if (jsonl) {
    nlohmann::json j = {{"path", path}, {"quality", s.quality}};
    j["scalar"] = s.scalar >= 0 ? nlohmann::json(s.scalar) : nlohmann::json();
    j["scalar_for"] = s.scalar >= 0 ? nlohmann::json(scalar_for) : nlohmann::json();
    if (face) {
      j["face"] = face->index;
      j["box"] = {face->face.x, face->face.y, face->face.width, face->face.height};
      j["det_score"] = face->face.score;
    }
    if (!s.regions.empty()) {
      nlohmann::json& r = j["regions"];
      for (size_t i = 0; i < s.regions.size(); ++i) r[face_regions()[i].name] = s.regions[i];
    }
    if (!s.embedding.empty()) j["embedding"] = s.embedding;
    if (!s.patch_quality.empty()) j["patch_quality"] = s.patch_quality;
    return j.dump() + "\n";
  }
  line = csv_field(path) + "," + fmt(s.quality) + "," +
         (s.scalar >= 0 ? std::to_string(s.scalar) + "," + scalar_for : std::string(","));
  if (face) {
    line += "," + std::to_string(face->index);
    for (float v :
         {face->face.x, face->face.y, face->face.width, face->face.height, face->face.score})
      line += "," + fmt(v);
  }
  for (float v : s.regions) line += "," + fmt(v);
  for (float v : s.embedding) line += "," + fmt(v);
  for (float v : s.patch_quality) line += "," + fmt(v);
  return line + "\n";
}

ScoreOptions parse_score_options(const ScoreArgs& a) {
  ScoreOptions o;
  parse_block_range(a.blocks, o);
  o.scaling = a.scaling;
  if (!a.aggregation.empty()) o.aggregation = parse_aggregation(a.aggregation);
  o.embedding = a.embedding;
  o.patch_map = a.patch_map;
  o.regions = a.regions;
  o.calibration = a.model.calibration_for;
  if (a.method == "embedding-norm") {
    o.embedding_norm = true;
  } else if (a.method == "ser-fiq") {
    o.serfiq_passes = a.serfiq_passes;
  } else if (a.method == "external") {
    if (a.quality_model.empty()) throw Error("--method external needs --quality-model DESC.json");
    if (a.embedding || a.patch_map || a.regions || !a.blocks.empty() || a.scaling ||
        !a.aggregation.empty() || !a.model.weights.empty())
      throw Error(
          "--method external runs only the --quality-model network: no --model, --embedding, "
          "--patch-map, --regions, --blocks, --scaling or --aggregation");
  } else if (a.method != "vitnt") {
    throw Error("--method must be vitnt, embedding-norm, ser-fiq or external, got '" + a.method +
                "'");
  }
  if (!a.quality_model.empty() && a.method != "external")
    throw Error("--quality-model is used with --method external only");
  return o;
}

struct Loaded {
  std::vector<std::string> paths;  // inputs that decoded (with --detect: one per face)
  std::vector<cv::Mat> images;
  std::vector<face::DetectedFace> faces;  // with --detect
};

int run_score(const ScoreArgs& a) {
  if (a.format != "csv" && a.format != "jsonl")
    throw Error("--format must be csv or jsonl, got '" + a.format + "'");
  if (a.batch < 1) throw Error("--batch must be positive");
  const ScoreOptions opts = parse_score_options(a);
  std::optional<FaceDetector> detector;
  const FaceChoice choice = parse_face_choice(a.detector.faces);
  if (a.detect) detector = load_detector(a.detector);
  // the ViT, or an external quality network on the aligned 112x112 crops
  std::optional<Model> model;
  std::optional<eval::QualityModel> external;
  if (a.method == "external")
    external.emplace(eval::load_quality_model_desc(a.quality_model));
  else
    model.emplace(load_model(a.model));
  const int img_size = model ? model->config().img_size : 112;
  if (!a.model.calibration_for.empty() && (external || a.method != "vitnt"))
    throw Error("--calibration-for: the " + a.method + " baseline has no calibrated scalar");
  if (external || a.method != "vitnt")
    std::fprintf(stderr, "note: the scalar column is empty for the %s baseline\n",
                 a.method.c_str());
  else
    std::fprintf(stderr, "%s\n", describe_scalar(*model, a.model.calibration_for).c_str());
  // the scalar column's system, named in every row (CSV column scalar_for, JSON field)
  const Calibration* cal = model ? model->config().calibration(a.model.calibration_for) : nullptr;
  const std::string scalar_for = cal ? cal->name : "";
  const std::vector<std::string> paths = io::expand_inputs(a.inputs);
  if (paths.empty()) throw Error("no input images found in the given INPUTS");

  const bool jsonl = a.format == "jsonl";
  std::string header;
  if (!jsonl) {
    header = "path,quality,scalar,scalar_for";
    if (detector) header += ",face,box_x,box_y,box_w,box_h,det_score";
    for (const FaceRegion& r : face_regions())
      if (opts.regions) header += ",region_" + r.name;
    for (int i = 0; opts.embedding && i < model->config().num_features; ++i)
      header += ",emb_" + std::to_string(i);
    for (int i = 0; opts.patch_map && i < model->config().num_patches(); ++i)
      header += ",q_" + std::to_string(i);
    header += "\n";
  }
  auto row_path = [jsonl](const std::string& line) -> std::string {
    if (!jsonl) return line.rfind("path,quality,", 0) == 0 ? "" : io::first_csv_field(line);
    auto j = nlohmann::json::parse(line, nullptr, false);
    return j.is_object() && j.contains("path") && j["path"].is_string() ? j["path"] : "";
  };
  // Rows are written per batch to OUTPUT.partial, renamed to OUTPUT when all are done.
  io::PartialOutput out(a.output,
                        output_settings(a, model ? model->path() : external->desc().file, paths),
                        header, a.resume, row_path);
  const size_t first =
      out.resume_from() ? resume_index(paths, *out.resume_from(), out.partial_path()) : 0;
  // inputs before `first` without a row failed in the earlier run (rows are in input order)
  size_t scored_before = 0;
  std::string prev;
  out.for_each_kept_row([&](const std::string& line) {
    std::string p = row_path(line);
    scored_before += p != prev;
    prev = std::move(p);
  });
  if (a.resume)
    std::fprintf(
        stderr,
        "resuming %s: %zu rows kept (%zu inputs failed before), continuing at input %zu of %zu\n",
        out.partial_path().c_str(), out.kept_rows(), first - scored_before, first + 1,
        paths.size());
  install_stop_handlers();

  std::atomic<size_t> failed = first - scored_before;  // counted by the loader thread
  size_t done = first, faces = 0;
  Progress progress(paths.size());
  auto load = [&](size_t start) {
    Loaded l;
    for (size_t i = start; i < std::min(paths.size(), start + a.batch); ++i) {
      std::string err;
      if (detector) {  // a photo: every chosen face aligned to the model's input size
        cv::Mat photo = io::decode_image(paths[i], err);
        if (!photo.empty())
          for (face::DetectedFace& f :
               face::detect_faces(*detector, photo, choice, img_size, err)) {
            l.paths.push_back(paths[i]);
            l.images.push_back(f.crop);
            l.faces.push_back(std::move(f));
          }
        if (!err.empty()) {
          std::fprintf(stderr, "error: %s: %s (skipped)\n", paths[i].c_str(), err.c_str());
          ++failed;
        }
        continue;
      }
      cv::Mat m = io::load_aligned_crop(paths[i], img_size, a.resize, err);
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
  std::future<Loaded> next = std::async(std::launch::async, load, first);
  for (size_t start = first; start < paths.size(); start += a.batch) {
    Loaded cur = next.get();
    const size_t n = std::min<size_t>(a.batch, paths.size() - start);
    const bool last = start + a.batch >= paths.size();
    if (!last && !stop_signal()) next = std::async(std::launch::async, load, start + a.batch);
    std::vector<FaceScore> scores;
    if (external) {
      for (float q : external->score(cur.images)) scores.emplace_back().quality = q;
    } else {
      std::vector<ImageView> views;
      for (const cv::Mat& m : cur.images)
        views.push_back({m.data, m.cols, m.rows, m.step[0], ChannelOrder::BGR});
      scores = model->score(views, opts);
      // baselines replace the quality column (one pass of the network either way)
      for (FaceScore& fs : scores) {
        if (opts.embedding_norm) fs.quality = fs.embedding_norm, fs.scalar = -1;
        if (opts.serfiq_passes > 0) fs.quality = fs.serfiq_quality, fs.scalar = -1;
      }
    }
    std::string chunk;
    for (size_t i = 0; i < scores.size(); ++i)
      chunk += format_row(cur.paths[i], detector ? &cur.faces[i] : nullptr, scores[i], scalar_for,
                          jsonl);
    faces += scores.size();
    out.append(chunk);
    done += n;
    progress.update(done, failed);
    if (!last && stop_signal()) return report_stopped(out.partial_path(), done, paths.size());
  }
  out.commit();
  const double el = progress.seconds();
  const size_t ok = paths.size() - failed;
  std::fprintf(stderr,
               "scored %zu of %zu images (%zu in this run: %.1f s, %.1f img/s), %zu failed -> %s\n",
               ok, paths.size(), paths.size() - first, el,
               (paths.size() - first) / std::max(el, 1e-9), failed.load(), a.output.c_str());
  if (detector) std::fprintf(stderr, "%zu faces scored\n", faces);
  return failed ? 2 : 0;
}

}  // namespace

Command add_score_command(CLI::App& app) {
  auto args = std::make_shared<ScoreArgs>();
  ScoreArgs& s = *args;
  CLI::App* score =
      app.add_subcommand("score", "score aligned 112x112 face crops (or photos: --detect)");
  add_model_options(*score, s.model);
  add_calibration_for_option(*score, s.model);
  score->add_option("--blocks", s.blocks, "block range A:B (default: the model's)");
  score->add_option("--scaling", s.scaling, "s in q_p = 2/(1+exp(s d_p)) (default: the model's)");
  score->add_option("--aggregation", s.aggregation, "attention-last | attention-all | uniform");
  score->add_flag("--embedding", s.embedding, "also output the FR embedding (same pass)");
  score->add_flag("--patch-map", s.patch_map, "also output every patch quality q_p");
  score->add_flag("--regions", s.regions,
                  "also output the mean patch quality of facial regions (region_left_eye, ...)");
  score
      ->add_option("--method", s.method,
                   "quality column: vitnt, or the baselines embedding-norm (MagFace-style, "
                   "one full pass), ser-fiq (one full pass + --serfiq-passes head passes) and "
                   "external (a network described by --quality-model)")
      ->capture_default_str();
  score->add_option("--quality-model", s.quality_model,
                    "--method external: the network's description JSON (see models/peers)");
  score->add_option("--serfiq-passes", s.serfiq_passes, "SER-FIQ dropout passes (>= 2)")
      ->capture_default_str();
  score->add_option("--format", s.format, "csv | jsonl")->capture_default_str();
  score->add_option("--batch", s.batch, "images per batch")->capture_default_str();
  score->add_flag("--resize", s.resize, "resize crops of another size instead of refusing them");
  CLI::Option* detect = score->add_flag(
      "--detect", s.detect, "inputs are photos: detect, align and score their faces (see align)");
  for (CLI::Option* o : add_detector_options(*score, s.detector)) o->needs(detect);
  score
      ->add_option("-o,--output", s.output,
                   "output file; written to OUTPUT.partial as it goes, renamed when complete")
      ->required();
  score->add_flag("--resume", s.resume,
                  "continue a stopped run from OUTPUT.partial (same inputs and options)");
  score->add_option("inputs", s.inputs, "images, folders (recursive) or @list.txt")->required();

  return {score, [args] { return run_score(*args); }};
}

}  // namespace vitnt::cli
