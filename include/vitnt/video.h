// vitnt — best shots from videos, bursts and streams: faces detected in every N-th
// frame, tracked across frames, aligned and scored (batched across frames), and per
// track the K best faces by quality, at least T seconds apart.
//
//   vitnt::BestShotOptions o;  o.top = 3;  o.min_gap_s = 1.0;
//   vitnt::SourceResult r = vitnt::find_best_shots(vitnt::video_source("clip.mp4"), model,
//                                                  detector, o);
//   for (const vitnt::TrackedFace& f : r.faces) if (f.rank > 0) ...  // f.crop: 112x112 BGR
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "vitnt/face.h"
#include "vitnt/vitnt.h"

namespace vitnt {

// Greedy IoU matching of each frame's faces to the open tracks (src/video/tracker.h).
struct TrackerOptions {
  float iou_threshold = 0.3f;    // a face continues a track only if its box overlaps this much
  float landmark_weight = 0.5f;  // affinity = IoU - weight * landmark distance / face size
  int max_gap_frames = 15;       // a track unseen for more source frames than this ends
};

struct BestShotOptions {
  int top = 1;                         // K: faces kept per track
  double min_gap_s = 0;                // kept faces of one track at least this many seconds apart
  int stride = 1;                      // detect and score every N-th frame only
  FaceChoice faces = FaceChoice::All;  // which faces of a frame (choose_faces)
  int max_faces = 0;                   // per frame, the most confident of them only; 0: all
  double fps = 30;                     // frame folders and lists: time = index / fps
  int batch = 32;                      // crops per Model::score call, gathered across frames
  bool keep_frames = false;  // also return the full frame of each kept face (re-reads files)
  TrackerOptions tracker;
  ScoreOptions score;
  // Scores a batch of aligned BGR crops instead of Model::score, with the same results: the HTTP
  // service hands them to its engine thread, so that one thread runs the model. Empty:
  // Model::score on the calling thread.
  std::function<std::vector<FaceScore>(const std::vector<ImageView>&, const ScoreOptions&)> scorer;
};

// Where frames come from.
struct Source {
  enum class Kind { Video, Stream, Frames, Encoded };
  Kind kind = Kind::Video;
  std::string name;                 // as given on the command line
  std::string path;                 // Video, Stream: the file or URL
  std::vector<std::string> frames;  // Frames: image files in order
  // Encoded: each frame's encoded image (the bytes of a JPEG/PNG/... file), in order: a
  // burst received over HTTP. Undecodable frames are reported as "frame N: ...".
  std::vector<std::vector<uint8_t>> encoded;
};
// A path as a source: a folder (image files, recursive, sorted by name) or "@list.txt"
// is a burst of frames; anything else a video file (whatever OpenCV's FFmpeg backend reads).
Source video_source(const std::string& path);
Source stream_source(const std::string& url);

// One scored face of a track.
struct TrackedFace {
  int track = 0;      // 1, 2, ... within its source
  int frame = 0;      // frame index in the source (0-based, skipped frames counted)
  double time_s = 0;  // the frame's timestamp (container time; bursts: frame / fps)
  Face face;          // in the frame's pixels
  FaceScore score;
  int rank = 0;  // 1..top among the kept faces of its track; 0: not kept
  // Kept faces only: the aligned crop (img_size x img_size BGR, rows packed), and with
  // keep_frames the whole frame (BGR, rows packed).
  std::vector<uint8_t> crop;
  std::vector<uint8_t> frame_bgr;
  int frame_width = 0, frame_height = 0;
};

// Seconds spent per stage for one source.
struct StageTimes {
  double decode = 0;  // reading and decoding frames (skipped frames too), on a thread of its own
                      // that runs ahead of the others: overlaps them
  double detect = 0;  // YuNet
  double track = 0;   // matching and aligning
  double score = 0;   // Model::score
  double select = 0;  // best-shot selection, re-reading frames for keep_frames
};

struct SourceResult {
  std::string source;              // Source::name
  std::vector<TrackedFace> faces;  // every scored face, in frame order
  int frames_read = 0;             // frames decoded or skipped past
  int frames_processed = 0;        // frames run through the detector
  int frames_expected = 0;         // what the container declares (0: unknown)
  int tracks = 0;
  double duration_s = 0;  // timestamp of the last frame read
  // Non-empty: the source failed (cannot be opened, truncated, unreadable frames); the
  // faces of the frames read before are still in `faces`, ranked.
  std::string error;
  StageTimes times;
};

// Never throws for a bad source (see `error`); throws Error for a bad option.
SourceResult find_best_shots(const Source& source, const Model& model, const FaceDetector& detector,
                             const BestShotOptions& options);

}  // namespace vitnt
