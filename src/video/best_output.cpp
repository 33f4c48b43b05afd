#include "video/best_output.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>

#include "io/file_util.h"
#include "io/partial_output.h"
#include "video/best_shot.h"

namespace fs = std::filesystem;

namespace vitnt::video {

namespace {

std::string num(const char* format, double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

void write_file(const fs::path& path, const std::string& bytes) {
  io::AtomicFile f(path.string());
  f.write(bytes);
  f.commit();
}

void write_png(const fs::path& path, const uint8_t* bgr, int width, int height) {
  const cv::Mat m(height, width, CV_8UC3, const_cast<uint8_t*>(bgr));
  std::vector<uint8_t> bytes;
  if (!cv::imencode(".png", m, bytes)) throw Error(path.string() + ": cannot encode the image");
  write_file(path, std::string(bytes.begin(), bytes.end()));
}

// The columns both CSV files share, after source,track[,rank]: frame,time_s,quality,
// scalar,box_x,box_y,box_w,box_h,det_score.
std::string face_fields(const TrackedFace& f) {
  std::string s = std::to_string(f.frame) + "," + num("%.4f", f.time_s) + "," +
                  num("%.9g", f.score.quality) + "," + scalar_text(f.score);
  for (float v : {f.face.x, f.face.y, f.face.width, f.face.height}) s += "," + num("%.2f", v);
  return s + "," + num("%.4f", f.face.score);
}

std::string crop_name(const TrackedFace& f) {
  return "track" + std::to_string(f.track) + "_rank" + std::to_string(f.rank) + ".png";
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '&')
      out += "&amp;";
    else if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '"')
      out += "&quot;";
    else
      out += c;
  }
  return out;
}

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

nlohmann::json times_json(const StageTimes& t) {
  return {{"decode_s", t.decode},
          {"detect_s", t.detect},
          {"track_s", t.track},
          {"score_s", t.score},
          {"select_s", t.select}};
}

}  // namespace

std::string format_times(const StageTimes& t) {
  const double total = t.decode + t.detect + t.track + t.score + t.select;
  std::string s;
  const std::pair<const char*, double> parts[] = {{"decode", t.decode},
                                                  {"detect", t.detect},
                                                  {"track+align", t.track},
                                                  {"score", t.score},
                                                  {"select", t.select}};
  for (const auto& [name, v] : parts) {
    if (!s.empty()) s += ", ";
    s += std::string(name) + " " + num("%.2f", v) + " s (" +
         num("%.0f", total > 0 ? 100 * v / total : 0) + "%)";
  }
  return s;
}

BestShotWriter::BestShotWriter(const OutputOptions& options) : o_(options) {
  std::error_code ec;
  fs::create_directories(o_.dir, ec);
  if (ec || !fs::is_directory(o_.dir))
    throw Error(o_.dir + ": cannot create the output folder: " + ec.message());
}

std::string BestShotWriter::unique_stem(const std::string& source) {
  std::string base = source;
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  if (!base.empty() && base[0] == '@') base = base.substr(1);
  if (base.find("://") != std::string::npos) base = "stream";
  base = fs::path(base).stem().string();
  for (char& c : base)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '_';
  if (base.empty() || base == "." || base == "..") base = "source";
  std::string stem = base;
  for (int n = 2; stems_.count(stem); ++n) stem = base + "_" + std::to_string(n);
  stems_.insert(stem);
  return stem;
}

void BestShotWriter::add(const SourceResult& r) {
  Done d{r, unique_stem(r.source), r.faces.size()};
  d.r.faces.clear();
  const fs::path dir = fs::path(o_.dir) / d.stem;
  fs::create_directories(dir);
  const std::string src = io::csv_field(r.source);
  for (const TrackedFace& f : r.faces)
    track_rows_ += src + "," + std::to_string(f.track) + "," + face_fields(f) + "," +
                   std::to_string(f.rank) + "\n";
  for (const TrackedFace* f : kept_faces(r.faces)) {
    const std::string name = crop_name(*f);
    if (!f->crop.empty()) write_png(dir / name, f->crop.data(), o_.crop_size, o_.crop_size);
    if (o_.save_frames && !f->frame_bgr.empty())
      write_png(dir / (name.substr(0, name.size() - 4) + "_frame.png"), f->frame_bgr.data(),
                f->frame_width, f->frame_height);
    best_rows_ += src + "," + std::to_string(f->track) + "," + std::to_string(f->rank) + "," +
                  face_fields(*f) + "," + io::csv_field(d.stem + "/" + name) + "\n";
    TrackedFace light = *f;
    light.crop.clear();
    light.frame_bgr.clear();
    d.r.faces.push_back(std::move(light));
  }
  done_.push_back(std::move(d));
}

bool BestShotWriter::finish(const nlohmann::json& settings) {
  const fs::path dir(o_.dir);
  const std::string cols = "frame,time_s,quality,scalar,box_x,box_y,box_w,box_h,det_score";
  write_file(dir / "best.csv", "source,track,rank," + cols + ",crop\n" + best_rows_);
  write_file(dir / "tracks.csv", "source,track," + cols + ",rank\n" + track_rows_);
  nlohmann::json sources = nlohmann::json::array();
  for (const Done& d : done_)
    sources.push_back({{"source", d.r.source},
                       {"dir", d.stem},
                       {"error", d.r.error},
                       {"frames_read", d.r.frames_read},
                       {"frames_processed", d.r.frames_processed},
                       {"frames_expected", d.r.frames_expected},
                       {"duration_s", d.r.duration_s},
                       {"faces", d.scored},
                       {"tracks", d.r.tracks},
                       {"kept", d.r.faces.size()},
                       {"times", times_json(d.r.times)}});
  nlohmann::json summary = {{"settings", settings}, {"sources", sources}};
  write_file(dir / "summary.json", summary.dump(2) + "\n");

  bool plotted = true;
  if (!o_.plot_script.empty()) {
    const std::string cmd =
        "/usr/bin/python3 " + shell_quote(o_.plot_script) + " " + shell_quote(o_.dir);
    if (std::system(cmd.c_str()) != 0) {
      std::fprintf(stderr, "warning: the plot script failed (%s); index.html has no plots\n",
                   cmd.c_str());
      plotted = false;
    }
  }
  write_index();
  return plotted;
}

void BestShotWriter::write_index() const {
  std::string h =
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>vitnt best shots</title>\n"
      "<style>body{font-family:sans-serif;margin:20px;color:#222}"
      "h2{margin-top:28px;border-bottom:1px solid #ccc}.err{color:#b00}"
      ".track{display:flex;gap:10px;align-items:flex-start;margin:8px 0}"
      ".label{width:90px;font-weight:bold}figure{margin:0;text-align:center;font-size:12px}"
      "figure img{width:112px;height:112px;image-rendering:pixelated;border:1px solid #999}"
      ".plot{max-width:100%}</style></head><body>\n<h1>Best shots</h1>\n"
      "<p>Per track the kept faces, best first (rank, time, quality Q). "
      "Files: <a href=\"best.csv\">best.csv</a>, <a href=\"tracks.csv\">tracks.csv</a>, "
      "<a href=\"summary.json\">summary.json</a>.</p>\n";
  for (const Done& d : done_) {
    const SourceResult& r = d.r;
    h += "<h2>" + html_escape(r.source) + "</h2>\n<p>" + std::to_string(r.frames_read) +
         " frames (" + std::to_string(r.frames_processed) + " processed, " +
         num("%.2f", r.duration_s) + " s), " + std::to_string(d.scored) + " faces scored, " +
         std::to_string(r.tracks) + " tracks</p>\n";
    if (!r.error.empty()) h += "<p class=\"err\">error: " + html_escape(r.error) + "</p>\n";
    if (r.tracks == 0) h += "<p>no face found</p>\n";
    std::error_code ec;
    if (fs::exists(fs::path(o_.dir) / d.stem / "quality.png", ec))
      h += "<img class=\"plot\" src=\"" + html_escape(d.stem) + "/quality.png\" alt=\"quality\">\n";
    int track = 0;
    for (const TrackedFace& f : r.faces) {  // grouped by track, ranks in order
      if (f.track != track) {
        if (track != 0) h += "</div>\n";
        track = f.track;
        h += "<div class=\"track\"><div class=\"label\">track " + std::to_string(track) + "</div>";
      }
      h += "<figure><img src=\"" + html_escape(d.stem + "/" + crop_name(f)) + "\"><figcaption>#" +
           std::to_string(f.rank) + " &middot; " + num("%.2f", f.time_s) + " s<br>Q " +
           num("%.4f", f.score.quality) + "</figcaption></figure>";
    }
    if (track != 0) h += "</div>\n";
  }
  write_file(fs::path(o_.dir) / "index.html", h + "</body></html>\n");
}

}  // namespace vitnt::video
