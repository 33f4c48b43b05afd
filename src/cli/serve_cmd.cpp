// `vitnt serve`: options only; the server is src/serve/server.cpp.
#include <signal.h>

#include "cli/commands.h"
#include "serve/server.h"

namespace vitnt::cli {

namespace {

struct ServeArgs {
  ModelArgs model;
  serve::ServerOptions server;
  DetectArgs detector;
  bool no_detector = false;
  std::string api_key_file;
  std::string engine_cpus;
};

int run_serve(ServeArgs& a) {
  serve::ServerOptions& o = a.server;
  o.faces = parse_face_choice(a.detector.faces);
  o.calibration_for = a.model.calibration_for;
  if (!a.api_key_file.empty()) o.keys = serve::read_api_keys(a.api_key_file);
  if (!serve::is_loopback_host(o.host) && o.keys.empty())
    throw Error("--host " + o.host +
                " is not a loopback address: give --api-key-file too (docs/serving.md)");
  if (o.max_batch < 1 || o.queue < 1 || o.max_body_mb < 1 || o.timeout_s < 1 || o.max_wait_ms < 0 ||
      o.http_threads < 1 || o.keep_alive_requests < 1 || o.port < 0 || o.port > 65535)
    throw Error(
        "--max-batch, --queue, --max-body-mb, --timeout-s, --http-threads and "
        "--keep-alive-requests must be positive, --max-wait-ms >= 0, --port 0..65535");
  if (!a.engine_cpus.empty()) {
    try {
      o.engine_cpus = serve::parse_cpu_list(a.engine_cpus);
    } catch (const Error& e) {
      throw Error(std::string("--engine-cpus: ") + e.what());
    }
    // one OpenMP thread per engine CPU unless --threads says otherwise
    if (a.model.threads == 0) a.model.threads = static_cast<int>(o.engine_cpus.size());
  }
  // a client closing its socket early must not end the server
  signal(SIGPIPE, SIG_IGN);
  Model model = load_model(a.model);
  std::optional<FaceDetector> detector;
  // The detector is found as `vitnt score --detect` finds it; without one, detect=1 is a 400.
  if (!a.no_detector) {
    try {
      detector.emplace(load_detector(a.detector));
    } catch (const Error& e) {
      if (!a.detector.model.empty()) throw;
      std::fprintf(stderr, "vitnt serve: no face detector (%s): detect=1 is refused\n", e.what());
    }
  }
  o.settings_json = nlohmann::json{
      {"max_batch", o.max_batch},
      {"max_wait_ms", o.max_wait_ms},
      {"queue", o.queue},
      {"max_body_mb", o.max_body_mb},
      {"timeout_s", o.timeout_s},
      {"precision", a.model.precision},
      {"http_threads", o.http_threads},
      {"keep_alive_requests", o.keep_alive_requests},
      {"threads", a.model.threads},
      {"engine_cpus", o.engine_cpus},
      {"detector_threshold", a.detector.threshold},
      {"auth",
       !o.keys.empty()}}.dump();
  return serve::run_server(model, detector ? &*detector : nullptr, o);
}

}  // namespace

Command add_serve_command(CLI::App& app) {
  auto args = std::make_shared<ServeArgs>();
  ServeArgs& s = *args;
  CLI::App* cmd = app.add_subcommand("serve", "HTTP API for scoring images (docs/serving.md)");
  add_model_options(*cmd, s.model);
  add_calibration_for_option(*cmd, s.model);  // the default of the calibration_for= parameter
  cmd->add_option("--host", s.server.host, "address to bind (non-loopback needs --api-key-file)")
      ->capture_default_str();
  cmd->add_option("--port", s.server.port, "TCP port; 0: any free one")->capture_default_str();
  add_detector_options(*cmd, s.detector);  // --faces is the default of the faces= parameter
  cmd->add_flag("--no-detector", s.no_detector, "do not load a detector (detect=1 refused)");
  cmd->add_option("--max-batch", s.server.max_batch, "crops per Model::score call")
      ->capture_default_str();
  cmd->add_option("--max-wait-ms", s.server.max_wait_ms,
                  "longest wait for a batch to fill after its first crop, only while other "
                  "requests are being decoded (0: never; batches still form while the "
                  "engine is busy)")
      ->capture_default_str();
  cmd->add_option("--queue", s.server.queue, "crops waiting at most; more: 503")
      ->capture_default_str();
  cmd->add_option("--max-body-mb", s.server.max_body_mb, "largest request body; more: 413")
      ->capture_default_str();
  cmd->add_option("--api-key-file", s.api_key_file, "accepted API keys, one per line");
  cmd->add_option("--timeout-s", s.server.timeout_s, "socket and scoring timeout")
      ->capture_default_str();
  cmd->add_option("--http-threads", s.server.http_threads, "HTTP worker threads")
      ->capture_default_str();
  cmd->add_option("--engine-cpus", s.engine_cpus,
                  "CPUs for the model, e.g. 1-7 (--threads defaults to their count); the "
                  "request threads run on the other CPUs");
  cmd->add_option("--keep-alive-requests", s.server.keep_alive_requests,
                  "requests on one connection before the server closes it")
      ->capture_default_str();
  return {cmd, [args] { return run_serve(*args); }};
}

}  // namespace vitnt::cli
