// The Python module `vitnt._vitnt`: the library's Model behind a numpy interface.
//
// Images come in as a uint8 array (N, S, S, 3) in a declared channel order, or as file
// paths decoded by the library's own loader (io::load_aligned_crop), so that a path
// scores exactly as in `vitnt score`. The GIL is released while images are decoded and
// scored; vitnt::Error becomes vitnt.Error with the C++ message.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cmath>
#include <future>
#include <limits>
#include <opencv2/core.hpp>

#include "io/image_io.h"
#include "video/best_shot.h"
#include "vitnt/face.h"
#include "vitnt/video.h"
#include "vitnt/vitnt.h"

namespace py = pybind11;
using namespace vitnt;

namespace {

// What Model.score returns: numpy arrays (plus a per-item error list).
struct Scores {
  py::array_t<float> quality;   // (N,)
  py::object embedding;         // (N, E) float32, or None
  py::object patch_map;         // (N, h, w) float32, or None
  py::array_t<int16_t> scalar;  // (N,) calibrated 0..100; -1 uncalibrated or failed
  py::object regions;           // (N, R) float32 in region_names() order, or None
  py::list errors;              // N entries: None, or why that input failed
  py::object scalar_for;        // the calibration block the scalars come from, or None
};

// The calibration block a call asks for ("" or None: the model's default); an unknown
// name is a bad argument (ValueError naming the blocks the model has).
std::string calibration_name(const Model& model, const std::optional<std::string>& want) {
  const std::string name = want.value_or("");
  try {
    model.config().calibration(name);
  } catch (const Error& e) {
    throw py::value_error(std::string("calibration_for: ") + e.what());
  }
  return name;
}

// Plain C++ results gathered while the GIL is released; turned into numpy afterwards.
struct RawScores {
  std::vector<FaceScore> scores;
  std::vector<std::string> errors;  // "" = scored
};

ChannelOrder parse_channel_order(const std::string& s) {
  if (s == "RGB" || s == "rgb") return ChannelOrder::RGB;
  if (s == "BGR" || s == "bgr") return ChannelOrder::BGR;
  throw py::value_error("channel_order must be 'RGB' or 'BGR', got '" + s + "'");
}

// blocks: None, (A, B) or "A:B".
void parse_blocks(const py::object& blocks, ScoreOptions& o) {
  if (blocks.is_none()) return;
  if (py::isinstance<py::str>(blocks)) {
    const std::string t = blocks.cast<std::string>();
    int a = 0, b = 0;
    char colon = 0, extra = 0;
    if (std::sscanf(t.c_str(), "%d%c%d%c", &a, &colon, &b, &extra) != 3 || colon != ':')
      throw py::value_error("blocks must be (A, B) or 'A:B', got '" + t + "'");
    o.first_block = a;
    o.last_block = b;
    return;
  }
  auto seq = blocks.cast<std::vector<int>>();
  if (seq.size() != 2) throw py::value_error("blocks must be (A, B) or 'A:B'");
  o.first_block = seq[0];
  o.last_block = seq[1];
}

ModelConfig config_from_python(const py::object& config) {
  py::module_ json = py::module_::import("json");
  if (py::isinstance<py::dict>(config))
    return parse_model_config(json.attr("dumps")(config).cast<std::string>(),
                              "config (Python dict)");
  // A path to a description JSON (str or os.PathLike).
  py::object fspath = py::module_::import("os").attr("fspath");
  return load_model_config(fspath(config).cast<std::string>());
}

py::dict config_to_python(const ModelConfig& c) {
  return py::module_::import("json").attr("loads")(model_config_to_json(c));
}

bool is_path_like(const py::handle& h) {
  return py::isinstance<py::str>(h) || py::hasattr(h, "__fspath__");
}

// Decodes and scores `paths` in batches, decoding the next batch while the current one
// is scored (as `vitnt score` does). Runs without the GIL.
RawScores score_paths(const Model& model, const std::vector<std::string>& paths,
                      const ScoreOptions& opts, bool resize, size_t batch) {
  const int size = model.config().img_size;
  RawScores r;
  r.scores.resize(paths.size());
  r.errors.resize(paths.size());
  struct Decoded {
    std::vector<size_t> index;  // positions in `paths` that decoded
    std::vector<cv::Mat> images;
  };
  auto decode = [&](size_t start) {
    Decoded d;
    for (size_t i = start; i < std::min(paths.size(), start + batch); ++i) {
      std::string err;
      cv::Mat m = io::load_aligned_crop(paths[i], size, resize, err);
      if (m.empty()) {
        r.errors[i] = err.empty() ? "cannot be read" : err;
        continue;
      }
      d.index.push_back(i);
      d.images.push_back(std::move(m));
    }
    return d;
  };
  std::future<Decoded> next = std::async(std::launch::async, decode, 0);
  for (size_t start = 0; start < paths.size(); start += batch) {
    Decoded cur = next.get();
    if (start + batch < paths.size()) next = std::async(std::launch::async, decode, start + batch);
    std::vector<ImageView> views;
    for (const cv::Mat& m : cur.images)
      views.push_back({m.data, m.cols, m.rows, m.step[0], ChannelOrder::BGR});
    std::vector<FaceScore> s = model.score(views, opts);
    for (size_t k = 0; k < s.size(); ++k) r.scores[cur.index[k]] = std::move(s[k]);
  }
  return r;
}

RawScores score_array(const Model& model, const py::array& arr, ChannelOrder order,
                      const ScoreOptions& opts) {
  const int size = model.config().img_size;
  if (arr.ndim() != 4 || arr.shape(1) != size || arr.shape(2) != size || arr.shape(3) != 3) {
    std::string shape;
    for (py::ssize_t d = 0; d < arr.ndim(); ++d)
      shape += (d ? ", " : "") + std::to_string(arr.shape(d));
    throw py::value_error("images must have shape (N, " + std::to_string(size) + ", " +
                          std::to_string(size) + ", 3) (aligned crops), got (" + shape + ")" +
                          (arr.ndim() == 3 ? "; for one image use images[None]" : ""));
  }
  const size_t n = static_cast<size_t>(arr.shape(0));
  const auto* data = static_cast<const uint8_t*>(arr.data());
  const size_t image_bytes = static_cast<size_t>(size) * size * 3;
  std::vector<ImageView> views(n);
  for (size_t i = 0; i < n; ++i)
    views[i] = {data + i * image_bytes, size, size, static_cast<size_t>(size) * 3, order};
  RawScores r;
  r.errors.resize(n);
  py::gil_scoped_release release;
  r.scores = model.score(views, opts);
  return r;
}

Scores to_python(const Model& model, RawScores&& raw, const ScoreOptions& opts) {
  const ModelConfig& c = model.config();
  const py::ssize_t n = static_cast<py::ssize_t>(raw.scores.size());
  const float nan = std::numeric_limits<float>::quiet_NaN();
  Scores out;
  out.quality = py::array_t<float>(n);
  float* q = out.quality.mutable_data();
  for (py::ssize_t i = 0; i < n; ++i) q[i] = raw.errors[i].empty() ? raw.scores[i].quality : nan;
  out.scalar = py::array_t<int16_t>(n);
  int16_t* sc = out.scalar.mutable_data();
  for (py::ssize_t i = 0; i < n; ++i)
    sc[i] = static_cast<int16_t>(raw.errors[i].empty() ? raw.scores[i].scalar : -1);
  // Failed inputs keep NaN rows so that row i is always input i.
  auto fill = [&](py::array_t<float>& a, size_t width, auto member) {
    float* p = a.mutable_data();
    for (py::ssize_t i = 0; i < n; ++i) {
      const std::vector<float>& v = raw.scores[i].*member;
      if (raw.errors[i].empty() && v.size() == width)
        std::copy(v.begin(), v.end(), p + i * width);
      else
        std::fill(p + i * width, p + (i + 1) * width, nan);
    }
  };
  out.embedding = py::none();
  out.patch_map = py::none();
  out.regions = py::none();
  if (opts.regions) {
    const size_t r = face_regions().size();
    py::array_t<float> a({n, static_cast<py::ssize_t>(r)});
    fill(a, r, &FaceScore::regions);
    out.regions = a;
  }
  if (opts.embedding) {
    py::array_t<float> e({n, static_cast<py::ssize_t>(c.num_features)});
    fill(e, c.num_features, &FaceScore::embedding);
    out.embedding = e;
  }
  if (opts.patch_map) {
    const py::ssize_t g = c.grid();
    py::array_t<float> p({n, g, g});
    fill(p, static_cast<size_t>(g * g), &FaceScore::patch_quality);
    out.patch_map = p;
  }
  for (const std::string& e : raw.errors)
    out.errors.append(e.empty() ? py::object(py::none()) : py::str(e));
  const Calibration* cal = c.calibration(opts.calibration);
  const bool any = std::any_of(raw.scores.begin(), raw.scores.end(),
                               [](const FaceScore& f) { return f.scalar >= 0; });
  out.scalar_for = cal && any ? py::object(py::str(cal->name)) : py::object(py::none());
  return out;
}

Scores score(const Model& model, const py::object& images, const py::object& blocks,
             std::optional<float> scaling, std::optional<std::string> aggregation, bool embedding,
             bool patch_map, bool regions, const std::string& channel_order, bool resize,
             const std::string& errors, int batch_size,
             const std::optional<std::string>& calibration_for) {
  ScoreOptions opts;
  opts.calibration = calibration_name(model, calibration_for);
  parse_blocks(blocks, opts);
  opts.scaling = scaling;
  if (aggregation) opts.aggregation = parse_aggregation(*aggregation);
  opts.embedding = embedding;
  opts.patch_map = patch_map;
  opts.regions = regions;
  const ChannelOrder order = parse_channel_order(channel_order);
  if (errors != "raise" && errors != "report")
    throw py::value_error("errors must be 'raise' or 'report', got '" + errors + "'");
  if (batch_size < 1) throw py::value_error("batch_size must be positive");

  if (py::isinstance<py::array>(images)) {
    py::array arr = py::reinterpret_borrow<py::array>(images);
    if (!arr.dtype().is(py::dtype::of<uint8_t>()))
      throw py::type_error("images must be a uint8 array, got dtype " +
                           py::str(arr.dtype()).cast<std::string>());
    // A C-contiguous copy only when needed (slices, flipped channels); kept alive here
    // while the GIL is released.
    py::array_t<uint8_t, py::array::c_style> c =
        py::array_t<uint8_t, py::array::c_style>::ensure(arr);
    return to_python(model, score_array(model, c, order, opts), opts);
  }
  if (is_path_like(images))
    throw py::type_error("images: give a list of paths (or a uint8 array), not a single path");
  if (!py::isinstance<py::sequence>(images))
    throw py::type_error("images must be a uint8 numpy array (N, S, S, 3) or a list of paths");
  py::object fspath = py::module_::import("os").attr("fspath");
  std::vector<std::string> paths;
  for (const py::handle& h : images) {
    if (!is_path_like(h))
      throw py::type_error("images: every item of the list must be a path (str or os.PathLike)");
    paths.push_back(fspath(h).cast<std::string>());
  }
  RawScores raw;
  {
    py::gil_scoped_release release;
    raw = score_paths(model, paths, opts, resize, static_cast<size_t>(batch_size));
  }
  if (errors == "raise")
    for (size_t i = 0; i < paths.size(); ++i)
      if (!raw.errors[i].empty()) throw Error(paths[i] + ": " + raw.errors[i]);
  return to_python(model, std::move(raw), opts);
}

FaceDetector load_detector(const py::object& path, float score_threshold, int max_side) {
  py::object fspath = py::module_::import("os").attr("fspath");
  std::string p;
  if (!path.is_none()) {
    p = fspath(path).cast<std::string>();
  } else if (const char* env = std::getenv("VITNT_DETECTOR")) {
    p = env;
  } else {
    throw py::value_error(
        "no detector given: pass the YuNet ONNX file (yunet_s_640_640.onnx) or set VITNT_DETECTOR");
  }
  DetectorOptions o;
  o.score_threshold = score_threshold;
  o.max_side = max_side;
  py::gil_scoped_release release;
  return FaceDetector::load(p, o);
}

// One row of `vitnt best`'s best.csv (timeline: tracks.csv) as a dict; kept faces get
// their aligned crop in `channel_order`.
py::dict best_row(const std::string& source, const TrackedFace& f, int crop_size,
                  ChannelOrder order, const Calibration* cal) {
  py::dict d;
  d["source"] = source;
  d["track"] = f.track;
  d["rank"] = f.rank;
  d["frame"] = f.frame;
  d["time_s"] = f.time_s;
  d["quality"] = f.score.quality;
  d["scalar"] = f.score.scalar >= 0 ? py::object(py::int_(f.score.scalar)) : py::none();
  d["scalar_for"] = f.score.scalar >= 0 && cal ? py::object(py::str(cal->name)) : py::none();
  d["box_x"] = f.face.x;
  d["box_y"] = f.face.y;
  d["box_w"] = f.face.width;
  d["box_h"] = f.face.height;
  d["det_score"] = f.face.score;
  if (f.crop.empty()) {
    d["crop"] = py::none();
  } else {
    py::array_t<uint8_t> a({crop_size, crop_size, 3});
    uint8_t* out = a.mutable_data();
    for (size_t i = 0; i + 2 < f.crop.size(); i += 3) {
      const bool swap = order == ChannelOrder::RGB;
      out[i] = f.crop[swap ? i + 2 : i];
      out[i + 1] = f.crop[i + 1];
      out[i + 2] = f.crop[swap ? i : i + 2];
    }
    d["crop"] = a;
  }
  return d;
}

py::list best_frames(const py::object& source, const Model& model, const py::object& detector,
                     int top, double min_gap_s, int stride, const std::string& faces, int max_faces,
                     double fps, const py::object& blocks, std::optional<float> scaling,
                     std::optional<std::string> aggregation, int batch_size, bool timeline,
                     const std::string& channel_order, const std::string& errors,
                     const std::optional<std::string>& calibration_for) {
  BestShotOptions o;
  o.score.calibration = calibration_name(model, calibration_for);
  o.top = top;
  o.min_gap_s = min_gap_s;
  o.stride = stride;
  o.faces = parse_face_choice(faces);
  o.max_faces = max_faces;
  o.fps = fps;
  o.batch = batch_size;
  parse_blocks(blocks, o.score);
  o.score.scaling = scaling;
  if (aggregation) o.score.aggregation = parse_aggregation(*aggregation);
  const ChannelOrder order = parse_channel_order(channel_order);
  if (errors != "raise" && errors != "warn")
    throw py::value_error("errors must be 'raise' or 'warn', got '" + errors + "'");

  // A path (video file, frame folder, @list.txt) or a list of frame paths (a burst).
  py::object fspath = py::module_::import("os").attr("fspath");
  Source src;
  if (is_path_like(source)) {
    src = video_source(fspath(source).cast<std::string>());
  } else if (py::isinstance<py::sequence>(source)) {
    src.kind = Source::Kind::Frames;
    src.name = "burst";
    for (const py::handle& h : source) {
      if (!is_path_like(h))
        throw py::type_error("source: every item of the list must be a path (str or os.PathLike)");
      src.frames.push_back(fspath(h).cast<std::string>());
    }
    if (src.frames.empty()) throw py::value_error("source: the list of frames is empty");
  } else {
    throw py::type_error(
        "source must be a path (video, frame folder, @list.txt) or a list of "
        "frame paths");
  }

  // An owned detector when given as a path (or VITNT_DETECTOR).
  std::optional<FaceDetector> owned;
  const FaceDetector* det = nullptr;
  if (!detector.is_none() && py::isinstance<FaceDetector>(detector)) {
    det = detector.cast<const FaceDetector*>();
  } else {
    owned = load_detector(detector, DetectorOptions{}.score_threshold, DetectorOptions{}.max_side);
    det = &*owned;
  }
  SourceResult r;
  {
    py::gil_scoped_release release;
    r = find_best_shots(src, model, *det, o);
  }
  if (!r.error.empty()) {
    if (errors == "raise") throw Error(r.source + ": " + r.error);
    py::module_::import("warnings")
        .attr("warn")(
            r.source + ": " + r.error + " (the faces of the frames read before are returned)",
            py::module_::import("builtins").attr("RuntimeWarning"));
  }
  // Kept faces best first per track (as best.csv); timeline: every face in frame order.
  std::vector<const TrackedFace*> rows;
  if (timeline)
    for (const TrackedFace& f : r.faces) rows.push_back(&f);
  else
    rows = video::kept_faces(r.faces);
  py::list out;
  for (const TrackedFace* f : rows)
    out.append(best_row(r.source, *f, model.config().img_size, order,
                        model.config().calibration(o.score.calibration)));
  return out;
}

}  // namespace

PYBIND11_MODULE(_vitnt, m) {
  m.doc() = "ViTNT-FIQA face image quality (C++ core). Use the `vitnt` package.";
  // vitnt.Error(RuntimeError) carries the C++ message (file, tensor, problem).
  py::register_exception<Error>(m, "Error", PyExc_RuntimeError);
  // what this CPU cannot run (bf16 without AVX512-BF16 / AMX): a bad argument here
  py::register_exception<UnsupportedError>(m, "UnsupportedError", PyExc_ValueError);

  py::class_<Scores>(m, "Scores", R"(Result of Model.score; row i is input i.

quality:   float32 (N,), higher is better, in (0, 1]; NaN for an input that failed
embedding: float32 (N, E) FR embeddings (not normalised), or None when not asked
patch_map: float32 (N, h, w) patch qualities q_p, or None when not asked
scalar:    int16 (N,) calibrated 0..100 (README "The scalar"); -1 when the model has no
           calibration for the settings used, or the input failed
regions:   float32 (N, R) mean patch quality of vitnt.region_names(), or None when not asked
errors:    list of N entries: None, or why that input could not be read
scalar_for: the calibration block (FR system) the scalars are calibrated for, or None
           when no input got a scalar)")
      .def_readonly("quality", &Scores::quality)
      .def_readonly("embedding", &Scores::embedding)
      .def_readonly("patch_map", &Scores::patch_map)
      .def_readonly("scalar", &Scores::scalar)
      .def_readonly("regions", &Scores::regions)
      .def_readonly("errors", &Scores::errors)
      .def_readonly("scalar_for", &Scores::scalar_for)
      .def("__len__", [](const Scores& s) { return s.quality.size(); })
      .def("__repr__", [](const Scores& s) {
        return "<vitnt.Scores n=" + std::to_string(s.quality.size()) +
               (s.embedding.is_none() ? "" : " +embedding") +
               (s.patch_map.is_none() ? "" : " +patch_map") + ">";
      });

  py::class_<Model>(m, "Model", R"(A face ViT loaded for ViTNT quality scoring.

Model(path, config=None, arch=None, threads=None, precision='fp32')

path:    safetensors weights (F32/F16/BF16)
config:  model description: a dict, or the path of a description JSON; default: the
         description embedded in the weights, or the sidecar WEIGHTS.json
arch:    name of a shipped description (see vitnt.builtin_arch_names()); not with config
threads: CPU threads per score() call (default: all cores)
precision: 'fp32' (exact, the default) or 'bf16' (AVX512-BF16 GEMMs, ~1.8x faster;
         scores within ~1e-4 of fp32, see docs/performance.md)

Raises vitnt.Error naming the file and the problem (missing file, shape mismatch...);
vitnt.UnsupportedError (a ValueError) for bf16 on a CPU without AVX512-BF16 or AMX.)")
      .def(py::init([](const py::object& path, const py::object& config,
                       std::optional<std::string> arch, std::optional<int> threads,
                       const std::string& precision) {
             std::optional<ModelConfig> c;
             if (!config.is_none() && arch)
               throw py::value_error("give either config or arch, not both");
             if (!config.is_none()) c = config_from_python(config);
             if (arch) c = builtin_arch(*arch);
             if (threads && *threads < 1) throw py::value_error("threads must be positive");
             LoadOptions lo;
             lo.threads = threads.value_or(0);
             if (precision == "bf16")
               lo.precision = Precision::BF16;
             else if (precision != "fp32")
               throw py::value_error("precision must be 'fp32' or 'bf16', got '" + precision + "'");
             const std::string p =
                 py::module_::import("os").attr("fspath")(path).cast<std::string>();
             py::gil_scoped_release release;
             return Model::load(p, c, lo);
           }),
           py::arg("path"), py::arg("config") = py::none(), py::arg("arch") = py::none(),
           py::arg("threads") = py::none(), py::arg("precision") = "fp32")
      .def_property_readonly("path", &Model::path, "the weights file this model was loaded from")
      .def_property_readonly(
          "config", [](const Model& m) { return config_to_python(m.config()); },
          "the model description in use (a new dict each time)")
      .def("score", &score, py::arg("images"), py::kw_only(), py::arg("blocks") = py::none(),
           py::arg("scaling") = py::none(), py::arg("aggregation") = py::none(),
           py::arg("embedding") = false, py::arg("patch_map") = false, py::arg("regions") = false,
           py::arg("channel_order") = "RGB", py::arg("resize") = false, py::arg("errors") = "raise",
           py::arg("batch_size") = 32, py::arg("calibration_for") = py::none(),
           R"(Scores aligned face crops; returns a vitnt.Scores.

images:        uint8 array (N, S, S, 3) in `channel_order` (S = config['img_size']),
               or a list of image paths (decoded as `vitnt score` does; channel_order
               is then not used)
blocks:        (A, B) or 'A:B': the block range (default: the model's)
scaling:       s in q_p = 2 / (1 + exp(s d_p)) (default: the model's)
aggregation:   'attention-last' | 'attention-all' | 'uniform' (default: the model's)
embedding:     also return the FR embedding (same forward pass)
patch_map:     also return every patch quality q_p as (h, w) maps
regions:       also return the mean patch quality of fixed facial regions (Scores.regions)
channel_order: 'RGB' (numpy/PIL convention, the default) or 'BGR' (OpenCV)
resize:        paths only: resize crops of another size instead of failing them
errors:        paths only: 'raise' (vitnt.Error naming the first unreadable file) or
               'report' (its row gets NaN and Scores.errors[i] the reason)
batch_size:    paths only: images decoded and scored per step
calibration_for: the FR system the scalar is calibrated for: a block of
               config['calibrations'] by name (default: config['default_calibration']);
               an unknown name raises ValueError

Results do not depend on batch_size or threads. The GIL is released while decoding and
scoring, so several Python threads may score at once.)");

  py::class_<FaceDetector>(m, "FaceDetector",
                           R"(A YuNet face detector (5 landmarks), as `vitnt align`,
`vitnt best` and `vitnt score --detect` use it.

FaceDetector(path=None, score_threshold=0.5, max_side=640)

path:            the YuNet ONNX file (yunet_s_640_640.onnx); default: $VITNT_DETECTOR
score_threshold: faces scoring below are not reported
max_side:        larger frames are scaled down to this longer side for detection)")
      .def(py::init(&load_detector), py::arg("path") = py::none(),
           py::arg("score_threshold") = DetectorOptions{}.score_threshold,
           py::arg("max_side") = DetectorOptions{}.max_side)
      .def_property_readonly("path", &FaceDetector::path, "the ONNX file");

  m.def("best_frames", &best_frames, py::arg("source"), py::arg("model"),
        py::arg("detector") = py::none(), py::kw_only(), py::arg("top") = 1,
        py::arg("min_gap_s") = 0.0, py::arg("stride") = 1, py::arg("faces") = "all",
        py::arg("max_faces") = 0, py::arg("fps") = 30.0, py::arg("blocks") = py::none(),
        py::arg("scaling") = py::none(), py::arg("aggregation") = py::none(),
        py::arg("batch_size") = 32, py::arg("timeline") = false, py::arg("channel_order") = "RGB",
        py::arg("errors") = "raise", py::arg("calibration_for") = py::none(),
        R"(The best faces of each person in a video, burst or frame folder, as `vitnt best`.

source:      a video file, a folder of frames, '@list.txt', or a list of frame paths
model:       a vitnt.Model
detector:    a vitnt.FaceDetector, or the YuNet ONNX path (default: $VITNT_DETECTOR)
top:         faces kept per track (K)
min_gap_s:   kept faces of a track at least this many seconds apart
stride:      detect and score every N-th frame
faces:       'all' | 'central' | 'largest': which faces of a frame are tracked
max_faces:   per frame, the most confident faces only (0: all)
fps:         frame rate of frame folders and lists (time = index / fps)
blocks, scaling, aggregation: as Model.score
batch_size:  crops per scoring batch, gathered across frames
timeline:    every scored face (tracks.csv) instead of the kept ones (best.csv)
calibration_for: the calibration block the scalar comes from, as Model.score
channel_order: of the returned crops, 'RGB' (default) or 'BGR'
errors:      'raise' (vitnt.Error when the source cannot be opened or breaks off) or 'warn'
             (a RuntimeWarning, and the faces of the frames read before)

Returns a list of dicts with best.csv's columns (source, track, rank, frame, time_s,
quality, scalar (None when uncalibrated), scalar_for, box_x, box_y, box_w, box_h, det_score) and
`crop`: the aligned face, uint8 (S, S, 3), for kept faces (rank >= 1), else None. Kept
faces are ordered by track, then rank; with timeline, all faces in frame order.)");

  m.def(
      "builtin_arch", [](const std::string& name) { return config_to_python(builtin_arch(name)); },
      py::arg("name"), "a shipped model description, as a dict");
  m.def("builtin_arch_names", &builtin_arch_names, "names of the shipped model descriptions");
  m.def(
      "region_names",
      [] {
        std::vector<std::string> n;
        for (const FaceRegion& r : face_regions()) n.push_back(r.name);
        return n;
      },
      "the facial regions of Scores.regions, in column order");
  m.def("expand_inputs", &io::expand_inputs, py::arg("inputs"),
        R"(Expands inputs as `vitnt score` does: a file stays itself, a folder gives its
image files recursively (sorted), '@list.txt' gives its lines ('#' comments skipped).)");
}
