// What `vitnt best` writes into OUT_DIR (every file atomically):
// - best.csv: the kept faces (source,track,rank,frame,time_s,quality,scalar,box,det_score,
//   crop);
// - tracks.csv: every scored face (the timeline), with its rank (0: not kept);
// - summary.json: per source, frames, faces, tracks, error, seconds per stage;
// - <stem>/track<k>_rank<r>.png: the kept crops (and _frame.png with save_frames);
// - <stem>/quality.png: quality over time per track (tools/video/plot_tracks.py);
// - index.html: the kept crops per track and the plots (relative links).
#pragma once

#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "vitnt/video.h"

namespace vitnt::video {

struct OutputOptions {
  std::string dir;
  bool save_frames = false;  // the kept faces' full frames (find_best_shots with keep_frames)
  std::string plot_script;   // empty: no plots
  int crop_size = 112;
};

class BestShotWriter {
 public:
  explicit BestShotWriter(const OutputOptions& options);  // creates the folder
  // Writes the source's crops (and frames) now and keeps its rows for finish().
  void add(const SourceResult& r);
  // The CSV files, summary.json, the plots and index.html. `settings` goes into
  // summary.json as is. Returns false when the plot script failed (the rest is written).
  bool finish(const nlohmann::json& settings);

 private:
  struct Done {
    SourceResult r;  // faces: the kept ones only, without pixels
    std::string stem;
    size_t scored = 0;  // faces scored in all
  };
  std::string unique_stem(const std::string& source);
  void write_index() const;

  OutputOptions o_;
  std::string best_rows_, track_rows_;
  std::vector<Done> done_;
  std::set<std::string> stems_;
};

// Seconds per stage over all sources, as "decode 1.2 s (30%), ...".
std::string format_times(const StageTimes& t);

}  // namespace vitnt::video
