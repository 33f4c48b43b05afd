// `vitnt calibrate`: fit the 0-100 scalar of a model (vitnt.h: Calibration) from
// (a) comparison pairs with identities, or (b) unlabelled aligned faces by synthetic
// mates; write the block as JSON and, on request, a safetensors with it embedded.
#include <ctime>
#include <filesystem>
#include <map>

#include "cli/commands.h"
#include "eval/calibrate.h"
#include "eval/pairs.h"
#include "eval/quality_file.h"
#include "io/file_util.h"
#include "io/image_io.h"
#include "io/safetensors.h"

namespace fs = std::filesystem;

namespace vitnt::cli {

namespace {

struct CalibrateArgs {
  ModelArgs model;
  std::string unlabelled, pairs, images_root, quality_file, work, fr_name, output, embed_into;
  std::string data_name;  // what the pairs are, for the block's "data" (default: the file)
  std::string name;       // the block's name: the comparison system ("own", "edgeface-xs", ...)
  bool make_default = false;
  int limit = 8000, seed = 0;
  double fmr = 1e-3;
  size_t min_bin = 50;
  double partner_quantile = 0;
  bool drop_others = false;
};

// Q (and, when asked, the FR embedding) of every image with the model's settings.
void score_images(const Model& model, const std::vector<std::string>& paths, bool embedding,
                  std::map<std::string, double>& quality,
                  std::map<std::string, std::vector<float>>& emb) {
  ScoreOptions o;
  o.embedding = embedding;
  Progress progress(paths.size());
  for (size_t s = 0; s < paths.size(); s += 64) {
    std::vector<cv::Mat> crops;
    std::vector<ImageView> views;
    std::vector<std::string> names;
    for (size_t i = s; i < std::min(paths.size(), s + 64); ++i) {
      std::string err;
      cv::Mat m = io::load_aligned_crop(paths[i], model.config().img_size, false, err);
      if (m.empty()) throw Error(paths[i] + ": " + err);
      crops.push_back(m);
      names.push_back(paths[i]);
    }
    for (const cv::Mat& m : crops) views.push_back({m.data, m.cols, m.rows, m.step[0]});
    std::vector<FaceScore> r = model.score(views, o);
    for (size_t k = 0; k < r.size(); ++k) {
      quality[names[k]] = r[k].quality;
      if (embedding) emb[names[k]] = std::move(r[k].embedding);
    }
    progress.update(std::min(paths.size(), s + 64), 0);
  }
}

int run_calibrate(const CalibrateArgs& a) {
  if (a.unlabelled.empty() == a.pairs.empty())
    throw Error("give either --unlabelled DIR (synthetic mates) or --pairs FILE");
  const std::string name = !a.name.empty() ? a.name : a.unlabelled.empty() ? "" : "own";
  if (name.empty())
    throw Error(
        "--pairs needs --name: the comparison system the pairs' scores come from, as "
        "users will ask for it with --calibration-for (e.g. own, edgeface-xs)");
  Model model = load_model(a.model);
  const ModelConfig& c = model.config();
  std::vector<eval::Pair> pairs;
  std::map<std::string, double> quality;
  std::map<std::string, std::vector<float>> emb;
  std::string data, fr = a.fr_name;
  if (!a.unlabelled.empty()) {
    const std::string work = a.work.empty() ? a.output + ".mates" : a.work;
    const std::string script = find_tool_script("tools/eval/synthetic_mates.py");
    if (script.empty())
      throw Error("tools/eval/synthetic_mates.py not found next to the executable");
    const std::string cmd = "/usr/bin/python3 '" + script + "' '" + a.unlabelled + "' '" + work +
                            "' --limit " + std::to_string(a.limit) + " --seed " +
                            std::to_string(a.seed);
    if (std::system(cmd.c_str()) != 0) throw Error("making synthetic mates failed: " + cmd);
    pairs = eval::read_pairs((fs::path(work) / "pairs.csv").string(), "");
    std::vector<std::string> images;
    for (const eval::Pair& p : pairs)
      for (const std::string* s : {&p.a, &p.b})
        if (!quality.count(*s)) quality[*s] = 0, images.push_back(*s);
    std::fprintf(stderr, "scoring %zu images (Q + own embedding)...\n", images.size());
    score_images(model, images, true, quality, emb);
    for (eval::Pair& p : pairs) p.score = eval::cosine(emb[p.a], emb[p.b]);
    if (fr.empty())
      fr = "own embedding of " + (c.name.empty() ? model.path() : c.name) + ", cosine";
    data = "synthetic mates (tools/eval/synthetic_mates.py, seed " + std::to_string(a.seed) +
           ") of up to " + std::to_string(a.limit) + " faces from " + a.unlabelled;
  } else {
    pairs = eval::read_pairs(a.pairs, a.images_root);
    for (const eval::Pair& p : pairs)
      if (!p.score)
        throw Error(a.pairs + ": pair " + p.a + " / " + p.b +
                    " has no comparison score; `vitnt eval --pairs ... --no-report -o DIR` "
                    "computes them with any FR model it supports (DIR/scores.csv)");
    if (!a.quality_file.empty()) {
      const std::map<std::string, double> byk = eval::read_quality_file(a.quality_file);
      for (const eval::Pair& p : pairs)
        for (const std::string* s : {&p.a, &p.b}) {
          auto it = byk.find(eval::image_key(*s));
          if (it == byk.end()) throw Error(a.quality_file + ": no quality for " + *s);
          quality[*s] = it->second;
        }
    } else {
      std::vector<std::string> images;
      for (const eval::Pair& p : pairs)
        for (const std::string* s : {&p.a, &p.b})
          if (!quality.count(*s)) quality[*s] = 0, images.push_back(*s);
      score_images(model, images, false, quality, emb);
    }
    if (fr.empty()) fr = "comparison scores of " + a.pairs;
    data = a.data_name.empty() ? "pairs " + a.pairs : a.data_name;
  }
  Calibration cal =
      eval::calibrate_from_pairs(pairs, quality, a.fmr, a.min_bin, a.partner_quantile);
  cal.first_block = c.first_block, cal.last_block = c.last_block;
  cal.scaling = c.scaling, cal.aggregation = c.aggregation;
  cal.name = name;
  cal.fr_system = fr;
  cal.data = data;
  if (a.partner_quantile > 0) {
    char note[160];
    std::snprintf(note, sizeof note,
                  "; genuine pairs whose better image has Q at or above the %g quantile of the "
                  "pairs' images",
                  a.partner_quantile);
    cal.data += note;
  }
  char date[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof date, "%Y-%m-%d", std::gmtime(&now));
  cal.fitted = std::string(date) + ", vitnt " + VITNT_VERSION;
  size_t genuine = 0, matched = 0;
  for (const eval::Pair& p : pairs)
    genuine += p.genuine, matched += p.genuine && *p.score > cal.threshold;
  std::fprintf(stderr,
               "%zu genuine pairs, %zu matched at FMR %g (threshold %.4f); %zu fitted; %zu knots, "
               "scalar %d at the lowest Q to %d at the highest\n",
               genuine, matched, cal.fmr, cal.threshold, cal.mated, cal.q.size(),
               cal.scalar(cal.q.front()), cal.scalar(cal.q.back()));
  io::AtomicFile out(a.output);
  out.write(calibration_to_json(cal) + "\n");
  out.commit();
  std::fprintf(stderr, "calibration -> %s\n", a.output.c_str());
  if (!a.embed_into.empty()) {
    ModelConfig with = c;  // the model's other blocks kept; one of the same name replaced
    if (a.drop_others) with.calibrations.clear(), with.default_calibration.clear();
    with.set_calibration(cal);
    if (a.make_default) with.default_calibration = cal.name;
    io::copy_with_metadata(model.path(), a.embed_into,
                           {{"vitnt_config", model_config_to_json(with)}});
    std::fprintf(stderr,
                 "model with the calibration embedded -> %s (blocks:", a.embed_into.c_str());
    for (const Calibration& b : with.calibrations)
      std::fprintf(stderr, " %s%s", b.name.c_str(),
                   b.name == with.default_calibration ? " (default)" : "");
    std::fprintf(stderr, ")\n");
  }
  return 0;
}

}  // namespace

Command add_calibrate_command(CLI::App& app) {
  auto args = std::make_shared<CalibrateArgs>();
  CalibrateArgs& s = *args;
  CLI::App* cmd = app.add_subcommand(
      "calibrate", "fit the model's 0-100 scalar (match probability at an FMR) from pairs");
  add_model_options(*cmd, s.model);
  cmd->add_option("--unlabelled", s.unlabelled,
                  "(b) a folder of aligned faces: synthetic mates, own embedding");
  cmd->add_option("--limit", s.limit, "(b) faces used (a seeded random subset)")
      ->capture_default_str();
  cmd->add_option("--seed", s.seed, "(b) seed of the subset and the changes")
      ->capture_default_str();
  cmd->add_option("--work", s.work, "(b) folder for the synthetic pairs (default OUTPUT.mates)");
  cmd->add_option("--pairs", s.pairs,
                  "(a) pairs with identities and comparison scores (CSV a,b,genuine,score)");
  cmd->add_option("--images-root", s.images_root, "(a) folder the pair paths are relative to");
  cmd->add_option("--data", s.data_name,
                  "(a) what the pairs are, recorded in the block (default: the pairs file)");
  cmd->add_option("--quality", s.quality_file, "(a) quality file (default: the model scores them)");
  cmd->add_option("--name", s.name,
                  "the block's name, for --calibration-for (default with --unlabelled: own; "
                  "required with --pairs)");
  cmd->add_option("--fr-name", s.fr_name, "the comparison system, described in the block");
  cmd->add_option("--fmr", s.fmr, "operating point")->capture_default_str();
  cmd->add_option("--min-bin", s.min_bin, "mated pairs per bin before the isotonic fit")
      ->capture_default_str();
  cmd->add_option("--partner-quantile", s.partner_quantile,
                  "(a) fit on the mated pairs whose better image has Q at or above this "
                  "quantile of the pairs' images (the scalar promises a comparison against a "
                  "good image; 0: all pairs)")
      ->capture_default_str();
  cmd->add_flag("--drop-others", s.drop_others,
                "--embed-into: the copy carries this block only (the model's others dropped)");
  cmd->add_option("-o,--output", s.output, "the calibration block (JSON)")->required();
  cmd->add_option("--embed-into", s.embed_into,
                  "also write a copy of the model with the block embedded (beside its other "
                  "blocks; one of the same name is replaced)");
  cmd->add_flag("--make-default", s.make_default,
                "--embed-into: make this block the model's default (else the first block is)");
  return {cmd, [args] { return run_calibrate(*args); }};
}

}  // namespace vitnt::cli
