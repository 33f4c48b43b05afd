// `vitnt serve`: an HTTP API over Model::score (docs/serving.md, docs/openapi.yaml) on
// cpp-httplib's threaded server. Request threads decode (and detect and align) images; one
// Batcher scores the crops of all requests together.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "vitnt/face.h"
#include "vitnt/vitnt.h"

namespace vitnt::serve {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;        // 0: any free port (printed in the "listening on" line)
  int http_threads = 64;  // one per open connection: more connections wait for a free thread
  // requests on one keep-alive connection before the server closes it (cpp-httplib's own
  // default, 5, made every client reconnect every 5 requests: docs/serving.md)
  int keep_alive_requests = 1000;
  size_t max_batch = 32;
  int max_wait_ms = 0;  // 0: never wait; >0 only while requests are being decoded (batcher.h)
  size_t queue = 256;   // crops waiting for the engine; more: 503
  size_t max_body_mb = 16;
  int timeout_s = 30;                      // socket read/write and per-request scoring timeout
  std::vector<std::string> keys;           // accepted API keys; empty: no authentication
  FaceChoice faces = FaceChoice::Central;  // the default of the faces= parameter
  std::string calibration_for;       // the default of the calibration_for= parameter ("": model's)
  std::string settings_json = "{}";  // the command line's settings, for GET /v1/model
  // CPUs for the engine thread and its OpenMP team (parse_cpu_list); the request threads
  // then run on the others. Empty: all threads share all CPUs.
  std::vector<int> engine_cpus;
};

// "0-2,5" -> {0, 1, 2, 5}. Throws Error for bad syntax, a repeated CPU, or a CPU this process
// may not run on (the message lists those it may).
std::vector<int> parse_cpu_list(const std::string& text);

// Keys from a file: one per line, blank lines and '#' comments skipped, spaces trimmed.
std::vector<std::string> read_api_keys(const std::string& path);
// Whether `given` is one of `keys`, comparing every byte of every key (no early exit).
bool key_matches(const std::vector<std::string>& keys, const std::string& given);
bool is_loopback_host(const std::string& host);
// Strict base64 (RFC 4648, '=' padding optional, whitespace refused); false on anything else.
bool decode_base64(const std::string& text, std::vector<uint8_t>& out);
// Deepest nesting of [ and { outside strings (a bound checked before parsing).
size_t json_depth(const std::string& text);

// Warms the model up with one batch, listens, serves until SIGTERM or SIGINT, answers what
// is in flight and returns 0; 1 when it cannot listen.
int run_server(const Model& model, const FaceDetector* detector, const ServerOptions& options);

}  // namespace vitnt::serve
