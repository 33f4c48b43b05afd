// The C API (include/vitnt/vitnt_c.h): handles around vitnt::Model, vitnt::FaceDetector and
// their scores, and the error boundary. No scoring logic of its own: decoding, detection and
// alignment are the calls `vitnt score` makes.
#include "vitnt/vitnt_c.h"

#include <cmath>
#include <cstring>
#include <memory>
#include <new>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

// The public C++ API keeps default visibility under -fvisibility=hidden, so that its
// typeinfo (vitnt::Error) is exported with it (src/capi/vitnt.map).
#pragma GCC visibility push(default)
#include "vitnt/face.h"
#include "vitnt/vitnt.h"
#pragma GCC visibility pop

#include "face/align.h"
#include "io/image_io.h"

struct vitnt_model {
  vitnt::Model model;
  std::string description;  // JSON, for vitnt_model_description
};

struct vitnt_detector {
  vitnt::FaceDetector detector;
};

struct vitnt_result {
  std::vector<vitnt::FaceScore> scores;
  std::string scalar_for;          // the calibration block of the scalars ("" when they are -1)
  std::vector<vitnt::Face> faces;  // one per score when detected, else empty
  int grid = 0;
};

namespace {

thread_local std::string t_error;
thread_local int t_status = VITNT_OK;

// A failure with its status, thrown inside a call and turned into t_error at the boundary.
struct Failure : std::runtime_error {
  Failure(int s, const std::string& m) : std::runtime_error(m), status(s) {}
  int status;
};

// Runs `f`; any exception becomes this thread's last error and `on_error` is returned.
// `error_status` is the status of a vitnt::Error (what the call mostly fails on).
template <class T, class F>
T guard(int error_status, T on_error, F&& f) {
  try {
    return f();
  } catch (const Failure& e) {
    t_status = e.status;
    t_error = e.what();
  } catch (const vitnt::UnsupportedError& e) {
    t_status = VITNT_ERR_UNSUPPORTED;
    t_error = e.what();
  } catch (const vitnt::Error& e) {
    t_status = error_status;
    t_error = e.what();
  } catch (const std::bad_alloc&) {
    t_status = VITNT_ERR_INTERNAL;
    t_error = "out of memory";
  } catch (const std::exception& e) {
    t_status = VITNT_ERR_INTERNAL;
    t_error = e.what();
  } catch (...) {
    t_status = VITNT_ERR_INTERNAL;
    t_error = "unknown error";
  }
  return on_error;
}

template <class P>
const P& need(const P* p, const char* what) {
  if (!p) throw Failure(VITNT_ERR_ARGUMENT, std::string(what) + " is NULL");
  return *p;
}

struct Request {
  vitnt::ScoreOptions score;
  vitnt::FaceChoice faces = vitnt::FaceChoice::Central;
  bool resize = false;
};

Request parse_options(const vitnt_score_options* options) {
  vitnt_score_options defaults;
  vitnt_score_options_init(&defaults);
  const vitnt_score_options& o = options ? *options : defaults;
  Request r;
  if (o.first_block != -1) r.score.first_block = o.first_block;
  if (o.last_block != -1) r.score.last_block = o.last_block;
  if (o.scaling != 0) r.score.scaling = o.scaling;
  if (o.aggregation) r.score.aggregation = vitnt::parse_aggregation(o.aggregation);
  r.score.embedding = o.embedding != 0;
  r.score.patch_map = o.patch_map != 0;
  if (o.faces < VITNT_FACES_CENTRAL || o.faces > VITNT_FACES_ALL)
    throw Failure(VITNT_ERR_ARGUMENT,
                  "options->faces must be VITNT_FACES_CENTRAL, _LARGEST or "
                  "_ALL, got " +
                      std::to_string(o.faces));
  const vitnt::FaceChoice choices[] = {vitnt::FaceChoice::Central, vitnt::FaceChoice::Largest,
                                       vitnt::FaceChoice::All};
  r.faces = choices[o.faces];
  r.resize = o.resize != 0;
  if (o.calibration_for) r.score.calibration = o.calibration_for;
  return r;
}

void set_scalar_for(vitnt_result& out, const vitnt_model& m, const Request& r) {
  const vitnt::Calibration* c = m.model.config().calibration(r.score.calibration);
  const bool any = std::any_of(out.scores.begin(), out.scores.end(),
                               [](const vitnt::FaceScore& f) { return f.scalar >= 0; });
  out.scalar_for = c && any ? c->name : "";
}

vitnt_result* score_views(const vitnt_model& m, const std::vector<vitnt::ImageView>& views,
                          const Request& r) {
  auto out = std::make_unique<vitnt_result>();
  out->scores = m.model.score(views, r.score);
  set_scalar_for(*out, m, r);
  out->grid = r.score.patch_map ? m.model.config().grid() : 0;
  return out.release();
}

// A decoded image (empty: `error` says why) as `vitnt score` takes it: an aligned crop, or
// with a detector a photo whose chosen faces are aligned first. `name` leads error messages.
vitnt_result* score_decoded(const vitnt_model& m, cv::Mat image, const std::string& error,
                            const std::string& name, const vitnt_detector* detector,
                            const Request& r) {
  if (image.empty()) throw Failure(VITNT_ERR_IMAGE, name + ": " + error);
  const int size = m.model.config().img_size;
  std::vector<cv::Mat> crops;
  std::vector<vitnt::Face> faces;
  if (detector) {
    std::string none;  // a photo without a face is a result of 0 faces, not a failure
    for (vitnt::face::DetectedFace& f :
         vitnt::face::detect_faces(detector->detector, image, r.faces, size, none)) {
      faces.push_back(f.face);
      crops.push_back(std::move(f.crop));
    }
  } else {
    std::string why;
    crops.push_back(vitnt::io::aligned_crop(std::move(image), size, r.resize, why));
    if (crops.back().empty()) throw Failure(VITNT_ERR_IMAGE, name + ": " + why);
  }
  std::vector<vitnt::ImageView> views;
  for (const cv::Mat& c : crops)
    views.push_back({c.data, c.cols, c.rows, c.step[0], vitnt::ChannelOrder::BGR});
  vitnt_result* out = score_views(m, views, r);
  out->faces = std::move(faces);
  return out;
}

const vitnt::FaceScore& face_at(const vitnt_result* r, size_t i) {
  const vitnt_result& res = need(r, "result");
  if (i >= res.scores.size())
    throw Failure(VITNT_ERR_ARGUMENT, "face index " + std::to_string(i) + " out of range (" +
                                          std::to_string(res.scores.size()) + " faces)");
  return res.scores[i];
}

}  // namespace

extern "C" {

const char* vitnt_version(void) { return VITNT_VERSION; }

const char* vitnt_last_error(void) { return t_error.c_str(); }

int vitnt_last_status(void) { return t_status; }

void vitnt_model_options_init(vitnt_model_options* options) {
  if (options) *options = {0, "fp32"};
}

vitnt_model* vitnt_model_load(const char* weights_path, const char* description_json,
                              const vitnt_model_options* options) {
  return guard(VITNT_ERR_MODEL, static_cast<vitnt_model*>(nullptr), [&] {
    need(weights_path, "vitnt_model_load: weights_path");
    vitnt_model_options defaults;
    vitnt_model_options_init(&defaults);
    const vitnt_model_options& o = options ? *options : defaults;
    vitnt::LoadOptions lo;
    if (o.threads < 0) throw Failure(VITNT_ERR_ARGUMENT, "vitnt_model_load: threads must be >= 0");
    lo.threads = o.threads;
    const std::string precision = o.precision ? o.precision : "fp32";
    if (precision == "bf16")
      lo.precision = vitnt::Precision::BF16;
    else if (precision != "fp32")
      throw Failure(VITNT_ERR_ARGUMENT,
                    "vitnt_model_load: precision must be fp32 or bf16, got '" + precision + "'");
    std::optional<vitnt::ModelConfig> config;
    if (description_json)
      config = vitnt::parse_model_config(description_json, "the description_json given");
    auto m = std::unique_ptr<vitnt_model>(
        new vitnt_model{vitnt::Model::load(weights_path, config, lo), std::string()});
    m->description = vitnt::model_config_to_json(m->model.config());
    return m.release();
  });
}

void vitnt_model_free(vitnt_model* model) { delete model; }

int vitnt_model_img_size(const vitnt_model* model) {
  return guard(VITNT_ERR_ARGUMENT, -1,
               [&] { return need(model, "model").model.config().img_size; });
}

int vitnt_model_embedding_size(const vitnt_model* model) {
  return guard(VITNT_ERR_ARGUMENT, -1,
               [&] { return need(model, "model").model.config().num_features; });
}

int vitnt_model_grid(const vitnt_model* model) {
  return guard(VITNT_ERR_ARGUMENT, -1, [&] { return need(model, "model").model.config().grid(); });
}

const char* vitnt_model_description(const vitnt_model* model) {
  return guard(VITNT_ERR_ARGUMENT, static_cast<const char*>(nullptr),
               [&] { return need(model, "model").description.c_str(); });
}

vitnt_detector* vitnt_detector_load(const char* onnx_path, float score_threshold) {
  return guard(VITNT_ERR_MODEL, static_cast<vitnt_detector*>(nullptr), [&] {
    need(onnx_path, "vitnt_detector_load: onnx_path");
    vitnt::DetectorOptions o;
    o.score_threshold = score_threshold;
    return new vitnt_detector{vitnt::FaceDetector::load(onnx_path, o)};
  });
}

void vitnt_detector_free(vitnt_detector* detector) { delete detector; }

void vitnt_score_options_init(vitnt_score_options* options) {
  if (options) *options = {0, 0, -1, -1, 0.0f, nullptr, VITNT_FACES_CENTRAL, 0, nullptr};
}

const char* vitnt_model_calibration_name(const vitnt_model* model, size_t i) {
  return guard(VITNT_ERR_ARGUMENT, static_cast<const char*>(nullptr), [&]() -> const char* {
    const vitnt::ModelConfig& c = need(model, "model").model.config();
    const vitnt::Calibration* def = c.calibration();
    if (!def) return nullptr;
    if (i == 0) return def->name.c_str();
    for (const vitnt::Calibration& b : c.calibrations)  // the others, in the model's order
      if (&b != def && --i == 0) return b.name.c_str();
    return nullptr;
  });
}

vitnt_result* vitnt_score_encoded(const vitnt_model* model, const void* data, size_t size,
                                  const vitnt_detector* detector,
                                  const vitnt_score_options* options) {
  return guard(VITNT_ERR_ARGUMENT, static_cast<vitnt_result*>(nullptr), [&] {
    const vitnt_model& m = need(model, "model");
    const Request r = parse_options(options);
    std::string error;
    cv::Mat image = vitnt::io::decode_image(static_cast<const uint8_t*>(data), size, error);
    return score_decoded(m, std::move(image), error,
                         "encoded image (" + std::to_string(size) + " bytes)", detector, r);
  });
}

vitnt_result* vitnt_score_file(const vitnt_model* model, const char* path,
                               const vitnt_detector* detector, const vitnt_score_options* options) {
  return guard(VITNT_ERR_ARGUMENT, static_cast<vitnt_result*>(nullptr), [&] {
    const vitnt_model& m = need(model, "model");
    need(path, "vitnt_score_file: path");
    const Request r = parse_options(options);
    std::string error;
    cv::Mat image = vitnt::io::decode_image(path, error);
    return score_decoded(m, std::move(image), error, path, detector, r);
  });
}

vitnt_result* vitnt_score_pixels(const vitnt_model* model, const vitnt_image* crops, size_t count,
                                 const vitnt_score_options* options) {
  return guard(VITNT_ERR_ARGUMENT, static_cast<vitnt_result*>(nullptr), [&] {
    const vitnt_model& m = need(model, "model");
    if (count > 0) need(crops, "vitnt_score_pixels: crops");
    const Request r = parse_options(options);
    std::vector<vitnt::ImageView> views;
    for (size_t i = 0; i < count; ++i) {
      const vitnt_image& c = crops[i];
      if (c.channel_order != VITNT_RGB && c.channel_order != VITNT_BGR)
        throw Failure(VITNT_ERR_ARGUMENT, "crop " + std::to_string(i) +
                                              ": channel_order must be VITNT_RGB or VITNT_BGR");
      if (c.width > 0 && c.stride != 0 && c.stride < static_cast<size_t>(c.width) * 3)
        throw Failure(VITNT_ERR_ARGUMENT, "crop " + std::to_string(i) + ": stride " +
                                              std::to_string(c.stride) + " < width * 3");
      views.push_back(
          {c.data, c.width, c.height, c.stride,
           c.channel_order == VITNT_RGB ? vitnt::ChannelOrder::RGB : vitnt::ChannelOrder::BGR});
    }
    return score_views(m, views, r);
  });
}

void vitnt_result_free(vitnt_result* result) { delete result; }

size_t vitnt_result_count(const vitnt_result* result) { return result ? result->scores.size() : 0; }

float vitnt_face_quality(const vitnt_result* result, size_t i) {
  return guard(VITNT_ERR_ARGUMENT, NAN, [&] { return face_at(result, i).quality; });
}

int vitnt_face_scalar(const vitnt_result* result, size_t i) {
  return guard(VITNT_ERR_ARGUMENT, -1, [&] { return face_at(result, i).scalar; });
}

const char* vitnt_result_scalar_for(const vitnt_result* result) {
  return guard(VITNT_ERR_ARGUMENT, static_cast<const char*>(nullptr), [&]() -> const char* {
    const vitnt_result& r = need(result, "result");
    return r.scalar_for.empty() ? nullptr : r.scalar_for.c_str();
  });
}

float vitnt_face_det_score(const vitnt_result* result, size_t i) {
  return guard(VITNT_ERR_ARGUMENT, NAN, [&] {
    face_at(result, i);
    return result->faces.empty() ? -1.0f : result->faces[i].score;
  });
}

int vitnt_face_box(const vitnt_result* result, size_t i, float box[4]) {
  return guard(VITNT_ERR_ARGUMENT, static_cast<int>(VITNT_ERR_ARGUMENT), [&] {
    face_at(result, i);
    need(box, "box");
    const vitnt::Face f = result->faces.empty() ? vitnt::Face{} : result->faces[i];
    const float v[4] = {f.x, f.y, f.width, f.height};
    std::memcpy(box, v, sizeof v);
    return static_cast<int>(VITNT_OK);
  });
}

int vitnt_face_landmarks(const vitnt_result* result, size_t i, float landmarks[10]) {
  return guard(VITNT_ERR_ARGUMENT, static_cast<int>(VITNT_ERR_ARGUMENT), [&] {
    face_at(result, i);
    need(landmarks, "landmarks");
    const vitnt::Face f = result->faces.empty() ? vitnt::Face{} : result->faces[i];
    for (int k = 0; k < 5; ++k) {
      landmarks[2 * k] = f.landmarks[k].x;
      landmarks[2 * k + 1] = f.landmarks[k].y;
    }
    return static_cast<int>(VITNT_OK);
  });
}

const float* vitnt_face_embedding(const vitnt_result* result, size_t i, size_t* length) {
  if (length) *length = 0;
  return guard(VITNT_ERR_ARGUMENT, static_cast<const float*>(nullptr), [&]() -> const float* {
    const std::vector<float>& e = face_at(result, i).embedding;
    if (length) *length = e.size();
    return e.empty() ? nullptr : e.data();
  });
}

const float* vitnt_face_patch_map(const vitnt_result* result, size_t i, int* grid) {
  if (grid) *grid = 0;
  return guard(VITNT_ERR_ARGUMENT, static_cast<const float*>(nullptr), [&]() -> const float* {
    const std::vector<float>& q = face_at(result, i).patch_quality;
    if (q.empty()) return nullptr;
    if (grid) *grid = result->grid;
    return q.data();
  });
}

}  // extern "C"
