#include "serve/server.h"

#include <httplib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string_view>
#include <thread>
#include <type_traits>

#include "face/align.h"
#include "io/image_io.h"
#include "serve/batcher.h"
#include "serve/web_files.h"
#include "video/best_shot.h"
#include "vitnt/video.h"

namespace vitnt::serve {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

std::vector<std::string> read_api_keys(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error("cannot read --api-key-file " + path);
  std::vector<std::string> keys;
  std::string line;
  while (std::getline(in, line)) {
    const size_t b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos || line[b] == '#') continue;
    const size_t e = line.find_last_not_of(" \t\r");
    keys.push_back(line.substr(b, e - b + 1));
  }
  if (keys.empty()) throw Error("--api-key-file " + path + " holds no key");
  return keys;
}

bool key_matches(const std::vector<std::string>& keys, const std::string& given) {
  // Timing must not tell how many leading bytes matched: every byte of every key is read.
  unsigned found = 0;
  for (const std::string& k : keys) {
    unsigned diff = k.size() != given.size();
    for (size_t i = 0; i < k.size(); ++i)
      diff |= static_cast<unsigned char>(k[i]) ^
              static_cast<unsigned char>(i < given.size() ? given[i] : 0);
    found |= diff == 0;
  }
  return found != 0;
}

bool is_loopback_host(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

bool decode_base64(const std::string& text, std::vector<uint8_t>& out) {
  out.clear();
  size_t n = text.size();
  while (n > 0 && text[n - 1] == '=' && text.size() - n < 2) --n;
  if (n % 4 == 1) return false;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; ++i) {
    const char c = text[i];
    int v;
    if (c >= 'A' && c <= 'Z')
      v = c - 'A';
    else if (c >= 'a' && c <= 'z')
      v = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      v = c - '0' + 52;
    else if (c == '+')
      v = 62;
    else if (c == '/')
      v = 63;
    else
      return false;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<uint8_t>(acc >> bits));
    }
  }
  // padding, when present, must complete the last group
  return n == text.size() || (text.size() % 4 == 0);
}

size_t json_depth(const std::string& text) {
  size_t depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

namespace {

// Prometheus counters and histograms, all under one mutex (updated a few times a request).
struct Metrics {
  std::mutex mu;
  std::map<int, uint64_t> requests;  // by status code
  uint64_t images = 0, faces = 0;
  const std::vector<double> batch_bounds = {1, 2, 4, 8, 16, 32, 64, 128};
  const std::vector<double> latency_bounds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                              0.5,   1,    2.5,   5,    10};
  std::vector<uint64_t> batch_counts = std::vector<uint64_t>(batch_bounds.size() + 1);
  std::vector<uint64_t> latency_counts = std::vector<uint64_t>(latency_bounds.size() + 1);
  double batch_sum = 0, latency_sum = 0;
  uint64_t batches = 0, latencies = 0;

  static void observe(const std::vector<double>& bounds, std::vector<uint64_t>& counts, double v) {
    size_t i = 0;
    while (i < bounds.size() && v > bounds[i]) ++i;
    ++counts[i];
  }
  void batch(size_t n) {
    std::lock_guard<std::mutex> lock(mu);
    observe(batch_bounds, batch_counts, n);
    batch_sum += n, ++batches;
  }
  void status(int code) {
    std::lock_guard<std::mutex> lock(mu);
    ++requests[code];
  }
  void scored(double seconds, size_t n_images, size_t n_faces) {
    std::lock_guard<std::mutex> lock(mu);
    images += n_images, faces += n_faces;
    observe(latency_bounds, latency_counts, seconds);
    latency_sum += seconds, ++latencies;
  }
  static void histogram(std::string& out, const char* name, const char* help,
                        const std::vector<double>& bounds, const std::vector<uint64_t>& counts,
                        double sum, uint64_t total) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " histogram\n";
    uint64_t cum = 0;
    char buf[160];
    for (size_t i = 0; i <= bounds.size(); ++i) {
      cum += counts[i];
      if (i < bounds.size())
        std::snprintf(buf, sizeof buf, "%s_bucket{le=\"%g\"} %llu\n", name, bounds[i],
                      static_cast<unsigned long long>(cum));
      else
        std::snprintf(buf, sizeof buf, "%s_bucket{le=\"+Inf\"} %llu\n", name,
                      static_cast<unsigned long long>(cum));
      out += buf;
    }
    std::snprintf(buf, sizeof buf, "%s_sum %.9g\n%s_count %llu\n", name, sum, name,
                  static_cast<unsigned long long>(total));
    out += buf;
  }
  std::string text(size_t queue_depth) {
    std::lock_guard<std::mutex> lock(mu);
    std::string out =
        "# HELP vitnt_requests_total HTTP requests by status code.\n"
        "# TYPE vitnt_requests_total counter\n";
    for (const auto& [code, n] : requests)
      out +=
          "vitnt_requests_total{code=\"" + std::to_string(code) + "\"} " + std::to_string(n) + "\n";
    out +=
        "# HELP vitnt_images_total Images received in scoring requests.\n"
        "# TYPE vitnt_images_total counter\nvitnt_images_total " +
        std::to_string(images) +
        "\n# HELP vitnt_faces_total Faces scored.\n# TYPE vitnt_faces_total counter\n"
        "vitnt_faces_total " +
        std::to_string(faces) + "\n";
    histogram(out, "vitnt_batch_size", "Crops per Model::score call.", batch_bounds, batch_counts,
              batch_sum, batches);
    histogram(out, "vitnt_request_duration_seconds", "Latency of POST /v1/quality and /v1/best.",
              latency_bounds, latency_counts, latency_sum, latencies);
    out +=
        "# HELP vitnt_queue_depth Crops waiting for the engine.\n"
        "# TYPE vitnt_queue_depth gauge\nvitnt_queue_depth " +
        std::to_string(queue_depth) + "\n";
    return out;
  }
};

json error_body(const std::string& code, const std::string& message) {
  return {{"error", {{"code", code}, {"message", message}}}};
}

// A whole-request failure: its status and JSON error.
struct RequestError {
  int status;
  std::string code, message;
};

// One image of a request, from decoding to its faces' scores.
struct ImageJob {
  std::vector<uint8_t> owned;  // decoded base64
  const uint8_t* data = nullptr;
  size_t size = 0;
  std::string error_code, error_message;  // set: the image failed
  std::vector<face::DetectedFace> faces;  // detect=1
  std::vector<cv::Mat> crops;
  std::vector<Scored> scores;
};

struct Query {
  bool detect = false, embedding = false, patch_map = false, regions = false;
  FaceChoice faces = FaceChoice::Central;
  std::string calibration_for;
};

bool flag_param(const httplib::Request& req, const char* name, bool& out) {
  if (!req.has_param(name)) return true;
  const std::string v = req.get_param_value(name);
  if (v != "0" && v != "1") return false;
  out = v == "1";
  return true;
}

// faces=central|largest|all (absent: `faces` unchanged).
void faces_param(const httplib::Request& req, FaceChoice& faces) {
  if (!req.has_param("faces")) return;
  const std::string v = req.get_param_value("faces");
  if (v != "central" && v != "largest" && v != "all")
    throw RequestError{400, "bad_query", "faces must be central, largest or all"};
  faces = parse_face_choice(v);
}

// calibration_for=NAME: a calibration block of the model (absent: `name` unchanged).
void calibration_param(const httplib::Request& req, const Model& model, std::string& name) {
  if (!req.has_param("calibration_for")) return;
  name = req.get_param_value("calibration_for");
  try {
    model.config().calibration(name);
  } catch (const Error& e) {
    throw RequestError{400, "unknown_calibration", e.what()};
  }
}

Query parse_query(const httplib::Request& req, const Model& model, const ServerOptions& o) {
  Query q;
  q.faces = o.faces;
  q.calibration_for = o.calibration_for;
  const std::pair<const char*, bool*> flags[] = {{"detect", &q.detect},
                                                 {"embedding", &q.embedding},
                                                 {"patch_map", &q.patch_map},
                                                 {"regions", &q.regions}};
  for (const auto& [name, value] : flags)
    if (!flag_param(req, name, *value))
      throw RequestError{400, "bad_query", std::string(name) + " must be 0 or 1"};
  faces_param(req, q.faces);
  calibration_param(req, model, q.calibration_for);
  return q;
}

// A numeric query parameter in [lo, hi] (absent: `value` unchanged).
template <typename T>
void number_param(const httplib::Request& req, const char* name, T lo, T hi, T& value) {
  if (!req.has_param(name)) return;
  const std::string v = req.get_param_value(name);
  char* end = nullptr;
  const double d = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || !(d >= lo && d <= hi) ||
      (std::is_integral_v<T> && d != static_cast<double>(static_cast<T>(d))))
    throw RequestError{400, "bad_query",
                       std::string(name) + " must be " +
                           (std::is_integral_v<T> ? "an integer" : "a number") + " from " +
                           std::to_string(lo) + " to " + std::to_string(hi) + ", got '" + v + "'"};
  value = static_cast<T>(d);
}

std::string media_type(const httplib::Request& req) {
  std::string t = req.get_header_value("Content-Type");
  t = t.substr(0, t.find(';'));
  while (!t.empty() && t.back() == ' ') t.pop_back();
  for (char& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return t;
}

bool is_image_type(const std::string& t) {
  return t == "image/jpeg" || t == "image/png" || t == "image/webp" || t == "image/bmp";
}

// The images of a request body, pointing into `req` (or owning decoded base64).
std::vector<ImageJob> read_images(const httplib::Request& req) {
  const std::string type = media_type(req);
  std::vector<ImageJob> images;
  if (is_image_type(type)) {
    if (req.body.empty()) throw RequestError{400, "empty_body", "the request body is empty"};
    ImageJob& j = images.emplace_back();
    j.data = reinterpret_cast<const uint8_t*>(req.body.data());
    j.size = req.body.size();
  } else if (type == "multipart/form-data") {
    for (const auto& [name, file] : req.files) {  // form order is lost: sorted by field name
      ImageJob& j = images.emplace_back();
      j.data = reinterpret_cast<const uint8_t*>(file.content.data());
      j.size = file.content.size();
    }
    if (images.empty()) throw RequestError{400, "bad_multipart", "no file in the form"};
  } else if (type == "application/json") {
    if (json_depth(req.body) > 8)
      throw RequestError{400, "bad_json", "JSON nested deeper than 8 levels"};
    json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded()) throw RequestError{400, "bad_json", "the body is not valid JSON"};
    if (!body.is_object() || !body.contains("images") || !body["images"].is_array() ||
        body["images"].empty())
      throw RequestError{400, "bad_json", "expected {\"images\": [{\"base64\": \"...\"}, ...]}"};
    for (const json& im : body["images"]) {
      if (!im.is_object() || !im.contains("base64") || !im["base64"].is_string())
        throw RequestError{400, "bad_json", "every image needs a \"base64\" string"};
      ImageJob& j = images.emplace_back();
      if (!decode_base64(im["base64"].get<std::string>(), j.owned))
        throw RequestError{400, "bad_base64", "an image's base64 is malformed"};
      j.data = j.owned.data();
      j.size = j.owned.size();
    }
  } else {
    throw RequestError{415, "unsupported_media_type",
                       "Content-Type must be image/jpeg, image/png, image/webp, image/bmp, "
                       "multipart/form-data or application/json, got '" +
                           type + "'"};
  }
  return images;
}

// The fields of a scored face in both endpoints' answers.
void add_score(json& out, const FaceScore& s) {
  out["quality"] = s.quality;
  out["scalar"] = s.scalar >= 0 ? json(s.scalar) : json();
}
void add_detection(json& out, const Face& d) {
  out["box"] = {d.x, d.y, d.width, d.height};
  json lm = json::array();
  for (const Point& p : d.landmarks) lm.push_back({p.x, p.y});
  out["landmarks"] = lm;
  out["det_score"] = d.score;
}

// The blocks a request may name with calibration_for= (GET /v1/model).
json calibration_list(const ModelConfig& c) {
  json out = json::array();
  for (const Calibration& b : c.calibrations)
    out.push_back({{"name", b.name},
                   {"fr_system", b.fr_system},
                   {"fmr", b.fmr},
                   {"data", b.data},
                   {"mated", b.mated},
                   {"fitted", b.fitted}});
  return out;
}

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

class Service {
 public:
  Service(const Model& model, const FaceDetector* detector, const ServerOptions& o)
      : model_(model),
        detector_(detector),
        o_(o),
        batcher_(
            [this](const std::vector<cv::Mat>& crops, const ScoreOptions& so) {
              std::vector<ImageView> views;
              for (const cv::Mat& m : crops)
                views.push_back({m.data, m.cols, m.rows, m.step[0], ChannelOrder::BGR});
              return model_.score(views, so);
            },
            o.max_batch, std::chrono::milliseconds(o.max_wait_ms), o.queue,
            [this](size_t n) { metrics_.batch(n); }, o.engine_cpus) {}

  void stop() { batcher_.stop(); }

  // The first batch packs the weights. It goes through the batcher so that the engine thread
  // is the only thread that ever runs the model: every thread that scores gets its own
  // OpenMP team, and once libgomp manages more threads than there are cores it stops
  // spinning between parallel regions (a futex sleep per region): a warm-up on the main
  // thread made every later batch of 1 on the engine thread 3x slower (measured: 6.7 ms
  // instead of 2.3 ms, 2 cores).
  void warm_up() {
    const int n = model_.config().img_size;
    const cv::Mat grey(n, n, CV_8UC3, cv::Scalar::all(128));
    score_crops({grey}, ScoreOptions{});  // waits for the batch: no copy needed
    if (detector_) detector_->detect({grey.data, n, n, grey.step[0], ChannelOrder::BGR});
  }
  Metrics& metrics() { return metrics_; }
  size_t depth() const { return batcher_.depth(); }

  // Scores crops on the engine thread (batched with other requests' crops), in order.
  std::vector<Scored> score_crops(std::vector<cv::Mat> crops, const ScoreOptions& so,
                                  Batcher::Incoming* from = nullptr) {
    std::vector<Scored> out;
    if (crops.empty()) return out;
    std::vector<std::future<Scored>> futures;
    if (!batcher_.push(std::move(crops), so, futures, from))
      throw RequestError{503, "queue_full", "the scoring queue is full; retry shortly"};
    const Clock::time_point deadline = Clock::now() + std::chrono::seconds(o_.timeout_s);
    for (std::future<Scored>& f : futures) {
      if (f.wait_until(deadline) != std::future_status::ready)
        throw RequestError{503, "timeout", "scoring took longer than --timeout-s"};
      out.push_back(f.get());
    }
    return out;
  }

  // POST /v1/quality
  json quality(const httplib::Request& req, size_t& n_images, size_t& n_faces) {
    const Clock::time_point t0 = Clock::now();
    Batcher::Incoming incoming(batcher_);  // the engine may wait for this request's crops
    const Query q = parse_query(req, model_, o_);
    if (q.detect && !detector_)
      throw RequestError{400, "no_detector", "detect=1 needs a detector loaded at startup"};
    std::vector<ImageJob> images = read_images(req);
    n_images = images.size();
    const int size = model_.config().img_size;
    io::DecodeLimits limits;
    for (ImageJob& im : images) {
      const io::ImageHeader h = io::read_image_header(im.data, im.size);
      if (h.width * h.height > limits.max_pixels) {
        if (images.size() == 1)
          throw RequestError{413, "too_large", "the image declares more than 100 megapixels"};
        im.error_code = "too_large";
        im.error_message = "the image declares more than 100 megapixels";
        continue;
      }
      std::string err;
      cv::Mat m = io::decode_image(im.data, im.size, err, limits);
      if (m.empty()) {
        im.error_code = "decode_failed";
        im.error_message = err;
      } else if (q.detect) {
        im.faces = face::detect_faces(*detector_, m, q.faces, size, err);
        for (const face::DetectedFace& f : im.faces) im.crops.push_back(f.crop);
        if (im.faces.empty()) im.error_code = "no_face", im.error_message = err;
      } else {
        im.crops.push_back(io::aligned_crop(std::move(m), size, false, err));
        if (im.crops.back().empty()) {
          im.crops.clear();
          im.error_code = "bad_size", im.error_message = err;
        }
      }
    }
    const double decode_ms = ms_since(t0);
    ScoreOptions so;
    so.embedding = q.embedding;
    so.patch_map = q.patch_map;
    so.regions = q.regions;
    so.calibration = q.calibration_for;
    std::vector<cv::Mat> crops;
    for (const ImageJob& im : images) crops.insert(crops.end(), im.crops.begin(), im.crops.end());
    const std::vector<Scored> scored = score_crops(std::move(crops), so, &incoming);
    double queue_ms = 0, score_ms = 0;
    size_t k = 0;
    json out_images = json::array();
    for (ImageJob& im : images) {
      json faces = json::array();
      for (size_t i = 0; i < im.crops.size(); ++i, ++k) {
        const Scored& s = scored[k];
        queue_ms = std::max(queue_ms, s.queue_ms);
        score_ms = std::max(score_ms, s.score_ms);
        json f = json::object();
        add_score(f, s.score);
        if (q.detect) add_detection(f, im.faces[i].face);
        if (q.embedding) f["embedding"] = s.score.embedding;
        if (q.patch_map) f["patch_quality"] = s.score.patch_quality;
        if (q.regions) {
          json r = json::object();
          for (size_t j = 0; j < s.score.regions.size(); ++j)
            r[face_regions()[j].name] = s.score.regions[j];
          f["regions"] = r;
        }
        faces.push_back(std::move(f));
        ++n_faces;
      }
      json e = im.error_code.empty() ? json()
                                     : json{{"code", im.error_code}, {"message", im.error_message}};
      out_images.push_back({{"faces", std::move(faces)}, {"error", std::move(e)}});
    }
    return {{"images", std::move(out_images)},
            {"model", model_json(q.calibration_for)},
            {"timing_ms",
             {{"decode", decode_ms},
              {"queue", queue_ms},
              {"score", score_ms},
              {"total", ms_since(t0)}}}};
  }

  // POST /v1/best: the frames of one burst (in order), tracked; per track the best faces.
  // Runs find_best_shots on the request thread (decoding, detection, tracking); its crops,
  // batched across its frames, are scored by the engine thread like those of /v1/quality.
  json best(const httplib::Request& req, size_t& n_images, size_t& n_faces) {
    const Clock::time_point t0 = Clock::now();
    if (!detector_)
      throw RequestError{400, "no_detector", "/v1/best needs a detector loaded at startup"};
    BestShotOptions o;
    number_param(req, "top", 1, 100, o.top);
    number_param(req, "min_gap_s", 0.0, 1e6, o.min_gap_s);
    number_param(req, "fps", 0.001, 1000.0, o.fps);
    number_param(req, "stride", 1, 1000, o.stride);
    number_param(req, "max_faces", 0, 1000, o.max_faces);
    faces_param(req, o.faces);
    std::string calibration_for = o_.calibration_for;
    calibration_param(req, model_, calibration_for);
    o.score.calibration = calibration_for;
    o.scorer = [this](const std::vector<ImageView>& views, const ScoreOptions& so) {
      // copies: after a timeout the request returns while its crops may still be queued
      std::vector<cv::Mat> crops;
      for (const ImageView& v : views) crops.push_back(io::mat_view(v).clone());
      std::vector<FaceScore> scores;
      for (Scored& c : score_crops(std::move(crops), so)) scores.push_back(std::move(c.score));
      return scores;
    };
    Source src;
    src.kind = Source::Kind::Encoded;
    src.name = "request";
    for (const ImageJob& im : read_images(req))
      src.encoded.emplace_back(im.data, im.data + im.size);
    n_images = src.encoded.size();
    const SourceResult r = find_best_shots(src, model_, *detector_, o);
    n_faces = r.faces.size();
    std::map<int, json> tracks;  // by track id: faces seen, then the kept ones by rank
    for (const TrackedFace& f : r.faces) {
      json& t = tracks[f.track];
      if (t.is_null()) t = {{"track", f.track}, {"faces", 0}, {"best", json::array()}};
      t["faces"] = t["faces"].get<int>() + 1;
    }
    for (const TrackedFace* f : video::kept_faces(r.faces)) {
      json b = {{"rank", f->rank}, {"frame", f->frame}, {"time_s", f->time_s}};
      add_score(b, f->score);
      add_detection(b, f->face);
      tracks[f->track]["best"].push_back(std::move(b));
    }
    json out_tracks = json::array();
    for (auto& [id, t] : tracks) out_tracks.push_back(std::move(t));
    return {
        {"frames", r.frames_read},
        {"tracks", std::move(out_tracks)},
        {"error", r.error.empty() ? json() : json{{"code", "bad_frames"}, {"message", r.error}}},
        {"model", model_json(calibration_for)},
        {"timing_ms",
         {{"decode", r.times.decode * 1000},
          {"detect", r.times.detect * 1000},
          {"track", r.times.track * 1000},
          {"score", r.times.score * 1000},
          {"total", ms_since(t0)}}}};
  }

 private:
  // Which model answered, and which FR system its scalars are calibrated for.
  json model_json(const std::string& calibration_for) const {
    const Calibration* c = model_.config().calibration(calibration_for);
    return {{"name", model_.config().name},
            {"path", model_.path()},
            {"scalar_for",
             c ? json{{"name", c->name}, {"fr_system", c->fr_system}, {"fmr", c->fmr}} : json()}};
  }

  const Model& model_;
  const FaceDetector* detector_;
  const ServerOptions& o_;
  Metrics metrics_;
  Batcher batcher_;  // last: its engine thread uses the members above
};

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump() + "\n", "application/json");
}

// The page (GET /, src/serve/web): static files compiled in. They are open without an API
// key, since the page must load to ask for one; they hold no data of the server.
struct WebFile {
  const char* path;
  const char* route;  // httplib routes are regular expressions
  const char* type;
  std::string_view body;
};
const WebFile kWebFiles[] = {
    {"/", "/", "text/html; charset=utf-8", {kWebIndexHtml, sizeof kWebIndexHtml - 1}},
    {"/app.js", R"(/app\.js)", "text/javascript; charset=utf-8", {kWebAppJs, sizeof kWebAppJs - 1}},
    {"/style.css",
     R"(/style\.css)",
     "text/css; charset=utf-8",
     {kWebStyleCss, sizeof kWebStyleCss - 1}},
};
bool is_web_file(const std::string& path) {
  return std::any_of(std::begin(kWebFiles), std::end(kWebFiles),
                     [&](const WebFile& f) { return path == f.path; });
}

}  // namespace

namespace {
// Moves every thread of this process except the engine's (kEngineThreadName) to `cpus`.
void pin_threads_but_engine(const std::vector<int>& cpus) {
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    std::getline(comm, name);
    if (name == kEngineThreadName) continue;
    const int tid = std::stoi(task.path().filename().string());
    if (!pin_thread(tid, cpus) && errno != ESRCH)  // ESRCH: it ended
      std::fprintf(stderr, "vitnt serve: warning: cannot move thread %d off the engine's CPUs\n",
                   tid);
  }
}
}  // namespace

std::vector<int> parse_cpu_list(const std::string& text) {
  const std::vector<int> allowed = allowed_cpus();
  std::string may;
  for (int c : allowed) may += (may.empty() ? "" : ",") + std::to_string(c);
  auto bad = [&](const std::string& why) {
    return Error("CPU list '" + text + "': " + why + " (this process may use CPUs " + may + ")");
  };
  std::vector<int> cpus;
  size_t i = 0;
  auto number = [&]() {
    size_t j = i;
    while (j < text.size() && std::isdigit(static_cast<unsigned char>(text[j]))) ++j;
    if (j == i || j - i > 6) throw bad("expected a CPU number at position " + std::to_string(i));
    const int v = std::stoi(text.substr(i, j - i));
    i = j;
    return v;
  };
  do {
    if (!cpus.empty()) ++i;  // the comma
    const int first = number();
    int last = first;
    if (i < text.size() && text[i] == '-') {
      ++i;
      last = number();
      if (last < first) throw bad("range " + std::to_string(first) + "-" + std::to_string(last));
    }
    for (int c = first; c <= last; ++c) {
      if (std::find(cpus.begin(), cpus.end(), c) != cpus.end())
        throw bad("CPU " + std::to_string(c) + " given twice");
      if (std::find(allowed.begin(), allowed.end(), c) == allowed.end())
        throw bad("CPU " + std::to_string(c) + " is not one this process may use");
      cpus.push_back(c);
    }
  } while (i < text.size() && text[i] == ',');
  if (i != text.size()) throw bad("unexpected '" + text.substr(i, 1) + "'");
  return cpus;
}

namespace {
int g_stop_pipe[2] = {-1, -1};
extern "C" void on_serve_stop_signal(int sig) {
  const char c = static_cast<char>(sig);
  if (write(g_stop_pipe[1], &c, 1) != 1) _exit(128 + sig);
}
}  // namespace

int run_server(const Model& model, const FaceDetector* detector, const ServerOptions& o) {
  Service service(model, detector, o);
  // Warm-up: the first Model::score packs the weights; /v1/health is ready only after it.
  service.warm_up();
  // With the engine on its own CPUs, every other thread (this one, the request threads that
  // listen starts below and inherit its CPUs, and the thread pools that loading the model
  // and the detector started) takes the rest, so that decoding never preempts a parallel
  // region of the model (docs/serving.md: 87-90 % of offline throughput at 64 clients
  // sharing 2 cores, 96-98 % with a core each). After the warm-up: the engine's team exists.
  if (!o.engine_cpus.empty()) {
    std::vector<int> rest;
    for (int c : allowed_cpus())
      if (std::find(o.engine_cpus.begin(), o.engine_cpus.end(), c) == o.engine_cpus.end())
        rest.push_back(c);
    if (rest.empty())
      std::fprintf(stderr,
                   "vitnt serve: warning: --engine-cpus lists every CPU: the request threads "
                   "share them with the model\n");
    else
      pin_threads_but_engine(rest);
  }
  httplib::Server svr;
  const int threads = o.http_threads;
  svr.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  svr.set_payload_max_length(o.max_body_mb * 1024 * 1024);
  svr.set_read_timeout(o.timeout_s);
  svr.set_write_timeout(o.timeout_s);
  svr.set_keep_alive_max_count(static_cast<size_t>(o.keep_alive_requests));
  // cpp-httplib listens with a backlog of 5 (compiled into Debian's library): 64 clients
  // connecting at once overflowed it (TcpExtListenOverflows), and each dropped handshake
  // cost its client a SYN-ACK retransmission, 1-7 s (the 5-6 s p99 spikes of
  // docs/serving.md). The listening socket is remembered here and listen() called again
  // with the system's limit after bind, which Linux takes as a new backlog.
  int listen_fd = -1;
  svr.set_socket_options([&listen_fd](socket_t sock) {
    httplib::default_socket_options(sock);
    listen_fd = sock;
  });
  // Without it, Nagle's algorithm holds the response's second segment until the client's
  // delayed ACK (~40 ms on Linux): measured 47 ms per request at 1 client vs ~2 ms scoring.
  svr.set_tcp_nodelay(true);

  auto authorized = [&o](const httplib::Request& req) {
    if (o.keys.empty()) return true;
    std::string given = req.get_header_value("X-API-Key");
    const std::string auth = req.get_header_value("Authorization");
    if (auth.rfind("Bearer ", 0) == 0) given = auth.substr(7);
    return key_matches(o.keys, given);
  };
  // On every answer: the page runs only its own script and style, talks only to this
  // origin, cannot be framed, and no browser guesses a type (docs/serving.md, "The page").
  // No CORS headers: other origins' pages cannot read the answers.
  svr.set_default_headers(
      {{"Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
        "connect-src 'self'; media-src 'self' blob:; object-src 'none'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"},
       {"X-Content-Type-Options", "nosniff"},
       {"Referrer-Policy", "no-referrer"}});
  svr.set_pre_routing_handler([&](const httplib::Request& req, httplib::Response& res) {
    // health stays open for load balancers; it tells nothing about the model
    if (req.path == "/v1/health" || (req.method == "GET" && is_web_file(req.path)) ||
        authorized(req))
      return httplib::Server::HandlerResponse::Unhandled;
    res.set_header("WWW-Authenticate", "Bearer");
    send_json(res, 401, error_body("unauthorized", "a valid API key is required"));
    return httplib::Server::HandlerResponse::Handled;
  });
  // Errors httplib answers itself (413 over --max-body-mb, 400 unparsable requests, 404)
  // get a JSON body too.
  svr.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;
    const int s = res.status;
    const char* code = s == 413 ? "too_large" : s == 404 ? "not_found" : "bad_request";
    const char* message = s == 413   ? "the request body is larger than --max-body-mb"
                          : s == 404 ? "no such endpoint"
                                     : "malformed HTTP request";
    send_json(res, s, error_body(code, message));
  });
  svr.set_logger([&service](const httplib::Request&, const httplib::Response& res) {
    service.metrics().status(res.status);
  });

  svr.Get("/v1/health", [](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, {{"status", "ready"}});
  });
  const json description = [&] {
    json d = json::parse(model_config_to_json(model.config()));
    return json{{"name", model.config().name},
                {"path", model.path()},
                {"description", d},
                {"calibrated", !model.config().calibrations.empty()},
                {"calibrations", calibration_list(model.config())},
                {"default_calibration", model.config().default_calibration},
                {"detector", detector ? json(detector->path()) : json()},
                {"settings", json::parse(o.settings_json)}};
  }();
  svr.Get("/v1/model", [&description](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, description);
  });
  for (const WebFile& f : kWebFiles)
    svr.Get(f.route, [&f](const httplib::Request&, httplib::Response& res) {
      res.set_content(f.body.data(), f.body.size(), f.type);
      res.set_header("Cache-Control", "no-cache");  // a new binary serves its own page
    });
  svr.Get("/metrics", [&service](const httplib::Request&, httplib::Response& res) {
    res.set_content(service.metrics().text(service.depth()), "text/plain; version=0.0.4");
  });
  // The scoring endpoints: request errors as JSON, metrics for every answer.
  using Endpoint = json (Service::*)(const httplib::Request&, size_t&, size_t&);
  auto scoring = [&service](Endpoint endpoint) {
    return [&service, endpoint](const httplib::Request& req, httplib::Response& res) {
      const Clock::time_point t0 = Clock::now();
      size_t n_images = 0, n_faces = 0;
      try {
        send_json(res, 200, (service.*endpoint)(req, n_images, n_faces));
      } catch (const RequestError& e) {
        if (e.status == 503) res.set_header("Retry-After", "1");
        send_json(res, e.status, error_body(e.code, e.message));
      } catch (const std::exception& e) {
        send_json(res, 500, error_body("internal", e.what()));
      }
      service.metrics().scored(ms_since(t0) / 1000, n_images, n_faces);
    };
  };
  svr.Post("/v1/quality", scoring(&Service::quality));
  svr.Post("/v1/best", scoring(&Service::best));

  int port = o.port;
  if (port == 0) {
    port = svr.bind_to_any_port(o.host);
    if (port < 0) port = -1;
  } else if (!svr.bind_to_port(o.host, port)) {
    port = -1;
  }
  if (port <= 0) {
    std::fprintf(stderr, "vitnt serve: error: cannot listen on %s:%d\n", o.host.c_str(), o.port);
    return 1;
  }
  if (listen_fd < 0)
    std::fprintf(stderr, "vitnt serve: warning: listen backlog left at cpp-httplib's 5\n");
  else if (::listen(listen_fd, SOMAXCONN) != 0)
    std::fprintf(stderr, "vitnt serve: warning: cannot raise the listen backlog: %s\n",
                 std::strerror(errno));
  std::printf("listening on http://%s:%d\n", o.host.c_str(), port);
  std::fflush(stdout);

  // SIGTERM / SIGINT: the handler writes to a pipe (async-signal-safe); this thread reads it
  // and stops the listener, after which httplib's pool finishes the requests in flight.
  if (pipe(g_stop_pipe) != 0) throw Error("vitnt serve: pipe() failed");
  std::signal(SIGTERM, on_serve_stop_signal);
  std::signal(SIGINT, on_serve_stop_signal);
  std::thread signals([&svr] {
    char sig = 0;
    while (read(g_stop_pipe[0], &sig, 1) < 0 && errno == EINTR) {
    }
    if (sig) std::fprintf(stderr, "vitnt serve: signal %d, stopping\n", sig);
    svr.stop();
  });
  const bool ok = svr.listen_after_bind();
  const char none = 0;  // listen ended on its own: wake the thread
  if (write(g_stop_pipe[1], &none, 1) != 1) std::fprintf(stderr, "vitnt serve: write failed\n");
  signals.join();
  service.stop();
  std::fprintf(stderr, "vitnt serve: stopped\n");
  return ok ? 0 : 1;
}

}  // namespace vitnt::serve
