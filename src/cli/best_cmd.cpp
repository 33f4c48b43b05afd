// `vitnt best`: videos, bursts and streams in; per face track the best shots out
// (src/video does the work; docs/best_shot.md).
#include <cstdio>
#include <filesystem>
#include <opencv2/core.hpp>

#include "cli/commands.h"
#include "video/best_output.h"

namespace fs = std::filesystem;

namespace vitnt::cli {

namespace {

struct BestArgs {
  ModelArgs model;
  DetectArgs detector;
  BestShotOptions o;
  std::string blocks, aggregation, output_dir;
  std::optional<float> scaling;
  bool no_plot = false;
  std::vector<std::string> streams, inputs;
};

int run_best(BestArgs& a) {
  if (a.inputs.empty() && a.streams.empty()) throw Error("no INPUTS and no --stream given");
  BestShotOptions& o = a.o;
  parse_block_range(a.blocks, o.score);
  o.score.scaling = a.scaling;
  if (!a.aggregation.empty()) o.score.aggregation = parse_aggregation(a.aggregation);
  o.faces = parse_face_choice(a.detector.faces);
  o.score.calibration = a.model.calibration_for;
  if (o.top < 1 || o.stride < 1 || o.batch < 1 || o.fps <= 0 || o.min_gap_s < 0 ||
      o.max_faces < 0 || o.tracker.max_gap_frames < 0)
    throw Error(
        "--top, --stride, --batch and --fps must be positive; --min-gap-s, --max-faces "
        "and --max-gap not negative");
  if (o.keep_frames && !a.streams.empty())
    throw Error("--save-frames needs to read a source twice, which a --stream cannot be");
  const FaceDetector detector = load_detector(a.detector);
  const Model model = load_model(a.model);
  // the detector (OpenCV DNN) runs between the model's batches: the same thread budget
  if (a.model.threads > 0) cv::setNumThreads(a.model.threads);

  std::vector<Source> sources;
  for (const std::string& in : a.inputs) sources.push_back(video_source(in));
  for (const std::string& url : a.streams) sources.push_back(stream_source(url));

  video::OutputOptions out;
  out.dir = a.output_dir;
  out.save_frames = o.keep_frames;
  out.crop_size = model.config().img_size;
  if (!a.no_plot) {
    out.plot_script = find_tool_script("tools/video/plot_tracks.py", "VITNT_PLOT_SCRIPT");
    if (out.plot_script.empty())
      std::fprintf(stderr,
                   "warning: tools/video/plot_tracks.py not found (set "
                   "VITNT_PLOT_SCRIPT); no plots\n");
  }
  video::BestShotWriter writer(out);

  Progress clock(sources.size());
  size_t failed = 0, frames = 0, processed = 0;
  StageTimes total;
  for (const Source& s : sources) {
    const SourceResult r = find_best_shots(s, model, detector, o);
    size_t kept = 0;
    for (const TrackedFace& f : r.faces) kept += f.rank > 0;
    if (!r.error.empty()) {
      ++failed;
      std::fprintf(stderr, "error: %s: %s", s.name.c_str(), r.error.c_str());
      if (r.frames_read > 0)
        std::fprintf(stderr, " (the %d frames read before are used)", r.frames_read);
      std::fprintf(stderr, "\n");
    }
    if (r.faces.empty() && r.frames_read > 0)
      std::fprintf(stderr, "note: %s: no face found in %d frames (%d processed)\n", s.name.c_str(),
                   r.frames_read, r.frames_processed);
    std::fprintf(stderr, "%s: %d frames (%d processed, %.2f s), %zu faces in %d tracks, %zu kept\n",
                 s.name.c_str(), r.frames_read, r.frames_processed, r.duration_s, r.faces.size(),
                 r.tracks, kept);
    frames += r.frames_read;
    processed += r.frames_processed;
    total.decode += r.times.decode;
    total.detect += r.times.detect;
    total.track += r.times.track;
    total.score += r.times.score;
    total.select += r.times.select;
    writer.add(r);
  }
  const double elapsed = clock.seconds();
  const Calibration* cal = model.config().calibration(a.model.calibration_for);
  nlohmann::json settings = {{"model", model.path()},
                             {"scalar_for", cal ? nlohmann::json(cal->name) : nlohmann::json()},
                             {"detector", detector.path()},
                             {"top", o.top},
                             {"min_gap_s", o.min_gap_s},
                             {"stride", o.stride},
                             {"faces", a.detector.faces},
                             {"max_faces", o.max_faces},
                             {"fps", o.fps},
                             {"iou_threshold", o.tracker.iou_threshold},
                             {"landmark_weight", o.tracker.landmark_weight},
                             {"max_gap_frames", o.tracker.max_gap_frames},
                             {"batch", o.batch},
                             {"threads", a.model.threads},
                             {"frames", frames},
                             {"frames_processed", processed},
                             {"seconds", elapsed},
                             {"frames_per_s", frames / std::max(elapsed, 1e-9)}};
  writer.finish(settings);
  std::fprintf(stderr,
               "%zu sources (%zu failed), %zu frames (%zu processed) in %.2f s: %.1f frames/s\n"
               "time: %s\n-> %s\n",
               sources.size(), failed, frames, processed, elapsed, frames / std::max(elapsed, 1e-9),
               video::format_times(total).c_str(), (fs::path(a.output_dir) / "index.html").c_str());
  return failed ? 2 : 0;
}

}  // namespace

Command add_best_command(CLI::App& app) {
  auto args = std::make_shared<BestArgs>();
  BestArgs& s = *args;
  CLI::App* cmd = app.add_subcommand(
      "best", "best shots per person from videos, bursts and face tracks (docs/best_shot.md)");
  cmd->add_option("--top", s.o.top, "faces kept per track")->capture_default_str();
  cmd->add_option("--min-gap-s", s.o.min_gap_s, "kept faces of a track at least T s apart")
      ->capture_default_str();
  cmd->add_option("--stride", s.o.stride, "detect and score every N-th frame")
      ->capture_default_str();
  cmd->add_option("--max-faces", s.o.max_faces, "per frame, the M most confident faces (0: all)")
      ->capture_default_str();
  cmd->add_option("--fps", s.o.fps, "frame rate of frame folders and @lists (time = index / fps)")
      ->capture_default_str();
  cmd->add_option("--iou-threshold", s.o.tracker.iou_threshold,
                  "a face continues a track when its box overlaps the track's last one this much")
      ->capture_default_str();
  cmd->add_option("--landmark-weight", s.o.tracker.landmark_weight,
                  "matching affinity = IoU - weight x mean landmark distance / face size")
      ->capture_default_str();
  cmd->add_option("--max-gap", s.o.tracker.max_gap_frames,
                  "a track unseen for more frames than this ends; a face after it starts a new one")
      ->capture_default_str();
  s.detector.faces = "all";
  add_detector_options(*cmd, s.detector);
  cmd->add_option("--detector-side", s.detector.max_side,
                  "frames are scaled down to this longer side for detection (faster when "
                  "smaller; faces must stay larger than ~20 px)")
      ->capture_default_str();
  add_model_options(*cmd, s.model);
  add_calibration_for_option(*cmd, s.model);
  cmd->add_option("--blocks", s.blocks, "block range A:B (default: the model's)");
  cmd->add_option("--scaling", s.scaling, "s in q_p = 2/(1+exp(s d_p)) (default: the model's)");
  cmd->add_option("--aggregation", s.aggregation, "attention-last | attention-all | uniform");
  cmd->add_option("--batch", s.o.batch, "crops per scoring batch, gathered across frames")
      ->capture_default_str();
  cmd->add_flag("--save-frames", s.o.keep_frames, "also write the full frame of each kept face");
  cmd->add_flag("--no-plot", s.no_plot, "no quality-over-time plots (no matplotlib run)");
  cmd->add_option("--stream", s.streams,
                  "a stream URL for OpenCV's FFmpeg backend (rtsp://, http://; untested here)");
  cmd->add_option("-o,--output-dir", s.output_dir, "output folder")->required();
  cmd->add_option("inputs", s.inputs,
                  "video files; folders or @list.txt of frames (one burst each, sorted)");
  return {cmd, [args] { return run_best(*args); }};
}

}  // namespace vitnt::cli
