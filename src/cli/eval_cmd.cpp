// `vitnt eval`: Error-versus-Discard Characteristics and pAUC of quality scores (ours or
// any tool's) on comparison pairs, with the oracle and a random baseline; a summary.json
// and, through tools/eval/report.py (matplotlib), plots and a self-contained report.html.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <opencv2/imgproc.hpp>
#include <random>
#include <set>
#include <sstream>
#include <unordered_map>

#include "cli/commands.h"
#include "eval/calibrate.h"
#include "eval/dnn_model.h"
#include "eval/edc.h"
#include "eval/groups.h"
#include "eval/pairs.h"
#include "eval/quality_dnn.h"
#include "eval/quality_file.h"
#include "io/file_util.h"
#include "io/image_io.h"

namespace fs = std::filesystem;

namespace vitnt::cli {

namespace {

struct EvalArgs {
  ModelArgs model;  // for --fr vit
  std::string pairs, images_root, output_dir;
  std::string fr = "vit", fr_model, fr_order = "RGB", fr_name;
  float fr_mean = 127.5f, fr_std = 127.5f;
  std::vector<std::string> qualities;       // NAME=FILE
  std::vector<std::string> baselines;       // laplacian
  std::vector<std::string> quality_models;  // NAME=DESC.json: external quality networks
  std::string groups;                       // CSV path + attribute columns (--groups)
  int bootstrap = 1000;
  std::vector<double> fmrs = {1e-3, 1e-4};
  double max_discard = 0.3;
  unsigned seed = 0;
  bool log_fnmr = false, no_report = false;
};

const std::string& key(const std::string& p) { return eval::image_key(p); }

struct Method {
  std::string name, cost, source;         // source: quality file (for the report), if any
  std::string quality_model;              // external networks: the description JSON
  std::map<std::string, double> quality;  // per image key; empty for oracle
  bool oracle = false;
  // measured here, for methods computed here (null in summary.json otherwise)
  std::optional<double> passes_per_face, ms_per_face;
  std::map<std::string, int> scalar;  // calibrated 0..100, for the images that have one
  std::string scalar_for;             // the calibration those scalars come from ("": unknown)
};

// The name the comparisons go by, matched against the calibration a scalar comes from:
// --fr-name, else "own" for the ViT's own embedding, else the ONNX file's stem in lower
// case with '-' for '_' (edgeface_xs.onnx -> edgeface-xs); "" for scores given in the pairs.
std::string comparison_system(const EvalArgs& a, bool scores_computed) {
  if (!a.fr_name.empty()) return a.fr_name;
  if (!scores_computed) return "";
  if (a.fr == "vit") return "own";
  std::string n = fs::path(a.fr_model).stem().string();
  for (char& ch : n) ch = ch == '_' ? '-' : static_cast<char>(std::tolower(ch));
  return n;
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// NAME=VALUE, or VALUE alone named after its file's stem.
std::pair<std::string, std::string> named(const std::string& spec) {
  auto eq = spec.find('=');
  if (eq == std::string::npos) return {fs::path(spec).stem().string(), spec};
  return {spec.substr(0, eq), spec.substr(eq + 1)};
}

// The qualities a method computed here, as a path,quality CSV (reusable with -q); its path.
std::string write_quality_csv(const std::string& dir, const Method& m,
                              const std::vector<std::string>& images, const std::vector<bool>& ok) {
  for (char ch : m.name)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '_' && ch != '.')
      throw Error("method name '" + m.name + "': use letters, digits, '-', '_' and '.'");
  io::AtomicFile f((fs::path(dir) / ("quality_" + m.name + ".csv")).string());
  // the columns of `vitnt score --method external` (a peer has no calibrated scalar)
  std::string text = "path,quality,scalar,scalar_for\n";
  for (size_t i = 0; i < images.size(); ++i)
    if (ok[i])
      text += csv_field(images[i]) + "," + fmt(static_cast<float>(m.quality.at(key(images[i])))) +
              ",,\n";
  f.write(text);
  f.commit();
  return f.path();
}

// What a quality threshold does at the NIST operating points: discard the 5 % / 20 %
// lowest-quality genuine pairs; the quality value there and the FNMR of the kept ones.
nlohmann::json threshold_guidance(const std::vector<double>& gscore, const std::vector<double>& q,
                                  double t, const eval::EdcCurve& curve) {
  std::vector<double> sorted = q;
  std::sort(sorted.begin(), sorted.end());
  nlohmann::json out = nlohmann::json::array();
  for (double r : {0.05, 0.20}) {
    const size_t k = static_cast<size_t>(std::floor(r * gscore.size()));
    const size_t at =
        static_cast<size_t>(std::lround(r * (curve.discard.size() - 1) / curve.discard.back()));
    out.push_back({{"discard", r},
                   {"quality_below_discarded", k < sorted.size() ? sorted[k] : sorted.back()},
                   {"fnmr_kept", curve.fnmr[std::min(at, curve.fnmr.size() - 1)]}});
  }
  (void)t;
  return out;
}

nlohmann::json reliability_json(const eval::Reliability& rel) {
  nlohmann::json bins = nlohmann::json::array();
  for (const eval::ReliabilityBin& b : rel.bins)
    bins.push_back({{"lo", b.lo},
                    {"hi", b.hi},
                    {"n", b.n},
                    {"predicted", b.predicted},
                    {"observed", b.observed}});
  return {{"ece", rel.ece}, {"n", rel.n}, {"bins", bins}};
}

// With calibrated scalars: cut-offs 20/40/60/80 (pair scalar = the lower one) and the
// reliability of scalar / 100 as the probability that a mated comparison matches here.
// The reliability (ECE) only where the scalar was calibrated for the system the pairs are
// compared by: elsewhere it measures nothing the scalar claims.
void add_scalar_checks(const Method& m, const std::vector<const eval::Pair*>& genuine,
                       const std::vector<double>& gscore, double t, const std::string& system,
                       nlohmann::json& row) {
  std::vector<double> predicted;
  std::vector<bool> match;
  for (size_t i = 0; i < genuine.size(); ++i) {
    auto sa = m.scalar.find(key(genuine[i]->a)), sb = m.scalar.find(key(genuine[i]->b));
    if (sa == m.scalar.end() || sb == m.scalar.end()) return;  // not every image calibrated
    predicted.push_back(std::min(sa->second, sb->second) / 100.0);
    match.push_back(gscore[i] > t);
  }
  nlohmann::json cuts = nlohmann::json::array();
  for (int cut : {20, 40, 60, 80}) {
    size_t kept = 0, kept_fail = 0;
    for (size_t i = 0; i < predicted.size(); ++i)
      if (predicted[i] * 100 >= cut - 1e-9) ++kept, kept_fail += !match[i];
    cuts.push_back({{"scalar_at_least", cut},
                    {"discarded", 1.0 - double(kept) / predicted.size()},
                    {"fnmr_kept", kept ? double(kept_fail) / kept : 0.0}});
  }
  row["scalar_cutoffs"] = cuts;
  row["scalar_for"] = m.scalar_for;
  if (m.scalar_for.empty() || m.scalar_for != system) {
    row["reliability_not_shown"] =
        "scalar calibrated for " + (m.scalar_for.empty() ? "an unnamed system" : m.scalar_for) +
        ", comparisons by " + (system.empty() ? "an unnamed system (--fr-name)" : system) +
        ": ECE not shown";
    return;
  }
  row["reliability"] = reliability_json(eval::reliability(predicted, match));
  // the figure to read: equal-count bins (equal-width ones put piled-up scalars in one bin)
  row["reliability_equal_count"] =
      reliability_json(eval::reliability_equal_count(predicted, match));
}

// Fewer impostors than this above a threshold: its FMR is not estimated, only guessed
// (e.g. FMR 1e-4 from 40,000 impostors rests on 4 of them).
constexpr size_t kMinImpostorsAboveThreshold = 10;

// The log lines of the groups report: per method and attribute, the differential at each cut.
void print_groups(const nlohmann::json& groups) {
  for (const auto& m : groups["methods"]) {
    std::printf("groups, %s (%zu images):\n", m["method"].get<std::string>().c_str(),
                m["images"].get<size_t>());
    for (const auto& at : m["attributes"]) {
      std::printf("  %s:", at["attribute"].get<std::string>().c_str());
      for (const auto& d : at["differentials"])
        std::printf(
            "  %s %s [%s, %s] p %.3f (%s / %s)", d["cut"].get<std::string>().c_str(),
            d["ratio_text"].get<std::string>().c_str(), d["lo_text"].get<std::string>().c_str(),
            d["hi_text"].get<std::string>().c_str(), d["p_value"].get<double>(),
            d["highest"].get<std::string>().c_str(), d["lowest"].get<std::string>().c_str());
      std::printf("\n");
    }
  }
}

std::string ratio_text(double r) {
  if (std::isinf(r)) return "inf";
  char b[32];
  std::snprintf(b, sizeof b, "%.2f", r);
  return b;
}

nlohmann::json groups_json(const eval::MethodGroupReport& r) {
  nlohmann::json cuts = nlohmann::json::array(), attrs = nlohmann::json::array();
  for (const eval::Cut& c : r.cuts)
    cuts.push_back({{"name", c.name}, {"threshold", c.threshold}, {"on_scalar", c.on_scalar}});
  for (const eval::AttributeReport& ar : r.attributes) {
    nlohmann::json gs = nlohmann::json::array(), ds = nlohmann::json::array();
    for (const eval::GroupStats& g : ar.groups) {
      nlohmann::json j = {{"group", g.value},
                          {"n", g.n},
                          {"quality_quantiles",
                           {{"5", g.quantiles[0]},
                            {"25", g.quantiles[1]},
                            {"50", g.quantiles[2]},
                            {"75", g.quantiles[3]},
                            {"95", g.quantiles[4]}}},
                          {"rejected", g.rejected}};
      if (g.genuine)
        j["genuine_pairs"] = {{"n", g.genuine},
                              {"fnmr_before", g.fnmr_before},
                              {"fnmr_after_discard_20", g.fnmr_after},
                              {"discarded", g.discarded}};
      gs.push_back(j);
    }
    for (size_t c = 0; c < ar.differentials.size(); ++c) {
      const eval::Differential& d = ar.differentials[c];
      // JSON has no infinity: the ratio is null when the lowest group rejects nobody
      auto num = [](double x) { return std::isinf(x) ? nlohmann::json() : nlohmann::json(x); };
      ds.push_back({{"cut", r.cuts[c].name},
                    {"ratio", num(d.ratio)},
                    {"ci95", {num(d.lo), num(d.hi)}},
                    {"ratio_text", ratio_text(d.ratio)},
                    {"lo_text", ratio_text(d.lo)},
                    {"hi_text", ratio_text(d.hi)},
                    {"p_value", d.p_value},
                    {"highest", d.highest},
                    {"lowest", d.lowest}});
    }
    attrs.push_back({{"attribute", ar.attribute}, {"groups", gs}, {"differentials", ds}});
  }
  return {{"method", r.method}, {"images", r.images}, {"cuts", cuts}, {"attributes", attrs}};
}

int run_eval(const EvalArgs& a) {
  if (a.pairs.empty() && a.groups.empty())
    throw Error("give --pairs (quality against comparisons), --groups (quality by group) or both");
  std::vector<eval::Pair> pairs;
  if (!a.pairs.empty()) pairs = eval::read_pairs(a.pairs, a.images_root);
  std::optional<eval::Groups> groups;
  if (!a.groups.empty()) groups = eval::read_groups(a.groups, a.images_root);
  fs::create_directories(a.output_dir);
  // unique images, in first-seen order
  std::vector<std::string> images;
  std::map<std::string, size_t> index;
  for (const auto& p : pairs)
    for (const std::string& s : {p.a, p.b})
      if (index.emplace(key(s), images.size()).second) images.push_back(s);
  if (groups)
    for (const std::string& s : groups->paths)
      if (index.emplace(key(s), images.size()).second) images.push_back(s);

  const bool need_scores =
      std::any_of(pairs.begin(), pairs.end(), [](const eval::Pair& p) { return !p.score; });
  const bool need_pixels = need_scores || !a.baselines.empty() || !a.quality_models.empty();
  std::vector<cv::Mat> pixels(images.size());
  std::vector<bool> ok(images.size(), true);
  size_t failed = 0;
  if (need_pixels) {
    Progress progress(images.size());
    for (size_t i = 0; i < images.size(); ++i) {
      std::string err;
      pixels[i] = io::load_aligned_crop(images[i], 112, false, err);
      if (pixels[i].empty()) {
        std::fprintf(stderr, "error: %s: %s (left out)\n", images[i].c_str(), err.c_str());
        ok[i] = false;
        ++failed;
      }
    }
  }
  // the decoded images, for the FR model and the quality networks
  std::vector<cv::Mat> good;
  std::vector<size_t> good_idx;
  for (size_t i = 0; i < images.size(); ++i)
    if (ok[i] && need_pixels) good.push_back(pixels[i]), good_idx.push_back(i);
  nlohmann::json fr_info;
  if (need_scores) {
    std::vector<std::vector<float>> emb(images.size());
    std::fprintf(stderr, "embedding %zu images with %s...\n", good.size(), a.fr.c_str());
    if (a.fr == "onnx") {
      if (a.fr_model.empty()) throw Error("--fr onnx needs --fr-model PATH");
      eval::DnnContract c;
      c.order = a.fr_order == "BGR" ? ChannelOrder::BGR : ChannelOrder::RGB;
      for (int k = 0; k < 3; ++k) c.mean[k] = a.fr_mean, c.std[k] = a.fr_std;
      eval::DnnModel e(a.fr_model, c);
      auto out = e.run(good);
      for (size_t k = 0; k < good.size(); ++k) emb[good_idx[k]] = std::move(out[k]);
      fr_info = {{"kind", "onnx"},
                 {"model", a.fr_model},
                 {"channel_order", a.fr_order},
                 {"mean", a.fr_mean},
                 {"std", a.fr_std}};
    } else if (a.fr == "vit") {
      Model m = load_model(a.model);
      ScoreOptions o;
      o.embedding = true;
      for (size_t s = 0; s < good.size(); s += 64) {
        std::vector<ImageView> v;
        for (size_t k = s; k < std::min(good.size(), s + 64); ++k)
          v.push_back(
              {good[k].data, good[k].cols, good[k].rows, good[k].step[0], ChannelOrder::BGR});
        auto r = m.score(v, o);
        for (size_t k = 0; k < r.size(); ++k) emb[good_idx[s + k]] = std::move(r[k].embedding);
      }
      fr_info = {{"kind", "vit"}, {"model", m.path()}};
    } else {
      throw Error("--fr must be vit or onnx (or give scores in the pairs CSV), got '" + a.fr + "'");
    }
    for (auto& p : pairs)
      if (!p.score && ok[index[key(p.a)]] && ok[index[key(p.b)]])
        p.score = eval::cosine(emb[index[key(p.a)]], emb[index[key(p.b)]]);
    // keep the scores: a later run can take this file with --pairs and skip the FR model
    io::AtomicFile sf((fs::path(a.output_dir) / "scores.csv").string());
    sf.write("a,b,genuine,score,fold\n");
    for (const auto& p : pairs)
      if (p.score)
        sf.write(csv_field(p.a) + "," + csv_field(p.b) + "," + (p.genuine ? "1" : "0") + "," +
                 fmt(static_cast<float>(*p.score)) + "," + std::to_string(p.fold) + "\n");
    sf.commit();
  } else {
    fr_info = {{"kind", "scores from " + a.pairs}};
  }
  const std::string system = comparison_system(a, need_scores);
  fr_info["name"] = system;
  std::vector<eval::Pair> usable;
  for (const auto& p : pairs)
    if (p.score) usable.push_back(p);

  // the methods: quality files, computed baselines, random, oracle
  std::vector<Method> methods;
  for (const std::string& spec : a.qualities) {
    Method m;
    std::tie(m.name, m.source) = named(spec);
    m.quality = eval::read_quality_file(m.source, &m.scalar, &m.scalar_for);
    m.cost = "from file";
    methods.push_back(std::move(m));
  }
  for (const std::string& b : a.baselines) {
    if (b != "laplacian") throw Error("unknown --baseline '" + b + "' (known: laplacian)");
    Method m;
    m.name = "laplacian-variance";
    m.cost = "no network pass (Laplacian of the gray image)";
    const auto t0 = std::chrono::steady_clock::now();
    size_t n = 0;
    for (size_t i = 0; i < images.size(); ++i) {
      if (!ok[i]) continue;
      cv::Mat gray, lap;
      cv::cvtColor(pixels[i], gray, cv::COLOR_BGR2GRAY);
      cv::Laplacian(gray, lap, CV_64F);
      cv::Scalar mean, sd;
      cv::meanStdDev(lap, mean, sd);
      m.quality[key(images[i])] = sd[0] * sd[0];
      ++n;
    }
    m.passes_per_face = 0;
    m.ms_per_face = ms_since(t0) / std::max<size_t>(n, 1);
    write_quality_csv(a.output_dir, m, images, ok);
    methods.push_back(std::move(m));
  }
  // external quality networks, on the same decoded crops (preprocessing counts in the time)
  for (const std::string& spec : a.quality_models) {
    Method m;
    std::tie(m.name, m.quality_model) = named(spec);
    eval::QualityModel qm(eval::load_quality_model_desc(m.quality_model));
    std::fprintf(stderr, "scoring %zu images with %s (%s)...\n", good.size(), m.name.c_str(),
                 qm.desc().file.c_str());
    const auto t0 = std::chrono::steady_clock::now();
    const std::vector<float> q = qm.score(good);
    m.ms_per_face = ms_since(t0) / std::max<size_t>(good.size(), 1);
    m.passes_per_face = 1;
    m.cost = qm.cost();
    for (size_t k = 0; k < good.size(); ++k) m.quality[key(images[good_idx[k]])] = q[k];
    m.source = write_quality_csv(a.output_dir, m, images, ok);
    methods.push_back(std::move(m));
  }
  {
    Method r;
    r.name = "random";
    r.cost = "none (seeded uniform per image)";
    r.passes_per_face = 0;
    std::mt19937_64 rng(a.seed);
    std::uniform_real_distribution<double> u(0, 1);
    for (const auto& img : images) r.quality[key(img)] = u(rng);
    methods.push_back(std::move(r));
    Method o;
    o.name = "oracle";
    o.cost = "discards by comparison score (best possible)";
    o.oracle = true;
    if (!pairs.empty()) methods.push_back(std::move(o));
  }

  std::vector<double> impostor, gscore;
  std::vector<const eval::Pair*> genuine;
  for (const auto& p : usable) {
    if (p.genuine)
      genuine.push_back(&p), gscore.push_back(*p.score);
    else
      impostor.push_back(*p.score);
  }
  if (!pairs.empty() && genuine.empty()) throw Error(a.pairs + ": no genuine pairs with scores");
  nlohmann::json summary = {{"pairs_file", a.pairs},
                            {"pairs", usable.size()},
                            {"genuine", genuine.size()},
                            {"impostor", impostor.size()},
                            {"images_failed", failed},
                            {"fr", fr_info},
                            {"definition",
                             "match: score > t; t = smallest impostor score with "
                             "#(impostor > t)/#impostor <= FMR; pair quality = min; discard "
                             "floor(r*G) lowest-quality genuine pairs (ties by input order); "
                             "pAUC = trapezoid of FNMR over r = 0..R step 0.001, not normalised"}};
  // verification accuracy (10-fold when the pairs have folds) and TAR at FAR 1e-3
  if (!pairs.empty()) {
    std::vector<double> s;
    std::vector<bool> g;
    std::vector<int> fold;
    for (const auto& p : usable)
      s.push_back(*p.score), g.push_back(p.genuine), fold.push_back(p.fold);
    auto acc = eval::fold_accuracies(s, g, fold);
    double mean = 0, var = 0;
    for (double x : acc) mean += x / acc.size();
    for (double x : acc) var += (x - mean) * (x - mean) / acc.size();
    nlohmann::json v = {
        {"folds", acc.size()}, {"accuracy_mean", mean}, {"accuracy_std", std::sqrt(var)}};
    if (!impostor.empty()) {
      double t = eval::threshold_at_fmr(impostor, 1e-3);
      double tar = 0;
      for (double x : gscore) tar += x > t;
      v["tar_at_far_1e-3"] = tar / gscore.size();
    }
    summary["verification"] = v;
  }
  nlohmann::json results = nlohmann::json::array();
  for (double fmr : a.fmrs) {
    if (impostor.empty()) break;
    const double t = eval::threshold_at_fmr(impostor, fmr);
    const size_t above = static_cast<size_t>(
        std::count_if(impostor.begin(), impostor.end(), [&](double x) { return x > t; }));
    nlohmann::json per = {{"fmr", fmr},
                          {"threshold", t},
                          {"impostors_above_threshold", above},
                          {"reliable", above >= kMinImpostorsAboveThreshold},
                          {"methods", nlohmann::json::array()}};
    if (above < kMinImpostorsAboveThreshold) {
      char fmr_text[32];
      std::snprintf(fmr_text, sizeof fmr_text, "%g", fmr);
      per["warning"] =
          std::string("FMR ") + fmr_text + " rests on " + std::to_string(above) + " of " +
          std::to_string(impostor.size()) + " impostors above the threshold (fewer than " +
          std::to_string(kMinImpostorsAboveThreshold) + "): its pAUC figures are unreliable";
      std::fprintf(stderr, "warning: %s\n", per["warning"].get<std::string>().c_str());
    }
    for (const Method& m : methods) {
      std::vector<double> q;
      size_t missing = 0;
      std::string example;
      for (const eval::Pair* p : genuine) {
        if (m.oracle) {
          q.push_back(*p->score);
          continue;
        }
        auto qa = m.quality.find(key(p->a)), qb = m.quality.find(key(p->b));
        if (qa == m.quality.end() || qb == m.quality.end()) {
          ++missing;
          if (example.empty()) example = qa == m.quality.end() ? p->a : p->b;
          q.push_back(0);
          continue;
        }
        q.push_back(std::min(qa->second, qb->second));
      }
      if (missing)
        throw Error(m.source + ": no quality for " + std::to_string(missing) +
                    " genuine pairs (e.g. " + example + ")");
      auto curve = eval::edc(gscore, q, t, std::max(a.max_discard, 0.3));
      per["methods"].push_back(
          {{"name", m.name},
           {"thresholds", threshold_guidance(gscore, q, t, curve)},
           {"cost", m.cost},
           {"forward_passes_per_face",
            m.passes_per_face ? nlohmann::json(*m.passes_per_face) : nlohmann::json()},
           {"ms_per_face", m.ms_per_face ? nlohmann::json(*m.ms_per_face) : nlohmann::json()},
           {"source", m.source},
           {"quality_model", m.quality_model},
           {"fnmr_at_0", curve.fnmr.front()},
           {"pauc_0.2", eval::pauc(curve, 0.2)},
           {"pauc_0.3", eval::pauc(curve, 0.3)},
           {"discard", curve.discard},
           {"fnmr", curve.fnmr}});
      if (!m.scalar.empty())
        add_scalar_checks(m, genuine, gscore, t, system, per["methods"].back());
    }
    results.push_back(per);
  }
  summary["results"] = results;
  if (groups) {  // quality by group, every method but the oracle (which needs a pair)
    // the first FMR's threshold for the per-group FNMR, where the pairs allow one
    const double t = impostor.empty() ? 0 : eval::threshold_at_fmr(impostor, a.fmrs.front());
    nlohmann::json g = {
        {"file", a.groups},
        {"attributes", groups->attributes},
        {"images", groups->paths.size()},
        {"bootstrap", a.bootstrap},
        {"fnmr_fmr", impostor.empty() ? nlohmann::json() : nlohmann::json(a.fmrs.front())},
        {"fnmr_threshold", impostor.empty() ? nlohmann::json() : nlohmann::json(t)},
        {"definition",
         "rejected: quality below a global cut (the same for every group: the "
         "thresholds that discard 5 % / 20 % of all listed images, scalar "
         "cut-offs); differential: highest / lowest group rejection share, with the 95 % "
         "interval of those two groups' ratio from resampling images within "
         "groups, and a permutation p-value (group labels shuffled: how often chance gives a ratio "
         "as high); per-group FNMR: genuine "
         "pairs with both images in the group, before and after discarding those "
         "whose lower quality is below the 20 % cut"},
        {"methods", nlohmann::json::array()}};
    for (const Method& m : methods) {
      if (m.oracle) continue;
      eval::GroupMethod gm{m.name, &m.quality, &m.scalar};
      g["methods"].push_back(groups_json(eval::group_report(
          *groups, gm, impostor.empty() ? nullptr : &usable, t, a.bootstrap, a.seed)));
    }
    summary["groups"] = g;
  }
  const std::string summary_path = (fs::path(a.output_dir) / "summary.json").string();
  io::AtomicFile out(summary_path);
  out.write(summary.dump(1));
  out.commit();

  if (!pairs.empty()) {
    const nlohmann::json& v = summary["verification"];
    const size_t folds = v["folds"].get<size_t>();
    std::printf("%zu pairs (%zu genuine, %zu impostor); %s %.4f", usable.size(), genuine.size(),
                impostor.size(),
                folds > 1 ? (std::to_string(folds) + "-fold verification accuracy").c_str()
                          : "verification accuracy (in-sample: the pairs carry no folds, so the "
                            "threshold is fitted and scored on the same pairs)",
                v["accuracy_mean"].get<double>());
    if (v.contains("tar_at_far_1e-3"))
      std::printf("; TAR@FAR=1e-3 %.4f", v["tar_at_far_1e-3"].get<double>());
    std::printf("\n");
  }
  for (const auto& r : results) {
    std::printf("FMR %g (t = %.4f, %zu impostors above it%s):\n  %-28s %10s %10s %10s\n",
                r["fmr"].get<double>(), r["threshold"].get<double>(),
                r["impostors_above_threshold"].get<size_t>(),
                r["reliable"].get<bool>() ? "" : ": UNRELIABLE, too few", "method", "FNMR@0",
                "pAUC@0.2", "pAUC@0.3");
    for (const auto& m : r["methods"]) {
      std::printf("  %-28s %10.5f %10.5f %10.5f", m["name"].get<std::string>().c_str(),
                  m["fnmr_at_0"].get<double>(), m["pauc_0.2"].get<double>(),
                  m["pauc_0.3"].get<double>());
      if (m.contains("reliability_equal_count"))
        std::printf("   scalar ECE %.4f (10 equal-count bins)",
                    m["reliability_equal_count"]["ece"].get<double>());
      if (m.contains("reliability_not_shown"))
        std::printf("   %s", m["reliability_not_shown"].get<std::string>().c_str());
      std::printf("\n");
    }
  }
  if (groups) print_groups(summary["groups"]);
  if (!a.no_report) {
    const std::string script = find_tool_script("tools/eval/report.py", "VITNT_REPORT_SCRIPT");
    if (script.empty()) throw Error("tools/eval/report.py not found (set VITNT_REPORT_SCRIPT)");
    std::string cmd =
        "/usr/bin/python3 '" + script + "' '" + summary_path + "'" + (a.log_fnmr ? " --log" : "");
    if (std::system(cmd.c_str()) != 0) throw Error("the report script failed: " + cmd);
    std::printf("report: %s\n", (fs::path(a.output_dir) / "report.html").c_str());
  }
  return failed ? 2 : 0;
}

}  // namespace

Command add_eval_command(CLI::App& app) {
  auto args = std::make_shared<EvalArgs>();
  EvalArgs& a = *args;
  CLI::App* cmd = app.add_subcommand("eval", "EDC curves and pAUC of quality scores on pairs");
  add_model_options(*cmd, a.model);
  cmd->add_option("--pairs", a.pairs, "LFW pairs.txt, or CSV a,b,genuine[,score]");
  cmd->add_option("--groups", a.groups,
                  "CSV with `path` and attribute columns (e.g. gender,race,age): quality and "
                  "rejection by group (docs/fairness.md); --pairs is then optional");
  cmd->add_option("--bootstrap", a.bootstrap, "--groups: resamples of the differentials' intervals")
      ->capture_default_str();
  cmd->add_option("--images-root", a.images_root, "folder the pair paths are relative to");
  cmd->add_option("--fr", a.fr, "comparison model: vit (--model) or onnx (--fr-model)")
      ->capture_default_str();
  cmd->add_option("--fr-model", a.fr_model, "ONNX face-recognition model");
  cmd->add_option("--fr-order", a.fr_order, "its input channel order RGB|BGR")
      ->capture_default_str();
  cmd->add_option("--fr-mean", a.fr_mean, "its input: (pixel - mean) / std")->capture_default_str();
  cmd->add_option("--fr-std", a.fr_std, "")->capture_default_str();
  cmd->add_option("--fr-name", a.fr_name,
                  "name of the comparison system, matched against the calibration a quality "
                  "file's scalar comes from (default: own for --fr vit, the ONNX file's stem for "
                  "--fr onnx: edgeface_xs.onnx -> edgeface-xs)");
  cmd->add_option("-q,--quality", a.qualities, "NAME=FILE: a path,quality CSV or JSONL (repeat)");
  cmd->add_option("--baseline", a.baselines, "computed baselines: laplacian");
  cmd->add_option("--quality-model", a.quality_models,
                  "NAME=DESC.json: an external quality network (cv::dnn; see models/peers), "
                  "run on the crops (repeat)");
  cmd->add_option("--fmr", a.fmrs, "target FMRs")->capture_default_str();
  cmd->add_option("--max-discard", a.max_discard, "curve range")->capture_default_str();
  cmd->add_option("--seed", a.seed, "seed of the random baseline")->capture_default_str();
  cmd->add_flag("--log-fnmr", a.log_fnmr, "log FNMR axis in the plots");
  cmd->add_flag("--no-report", a.no_report, "summary.json only");
  cmd->add_option("-o,--output-dir", a.output_dir, "output folder")->required();
  return {cmd, [args] { return run_eval(*args); }};
}

}  // namespace vitnt::cli
