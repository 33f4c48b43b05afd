// find_best_shots: frames -> detection -> tracks -> aligned crops scored in batches
// gathered across frames -> per track the kept faces.
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <filesystem>
#include <map>
#include <mutex>
#include <opencv2/imgproc.hpp>
#include <thread>

#include "face/align.h"
#include "io/image_io.h"
#include "video/best_shot.h"
#include "video/frames.h"
#include "video/tracker.h"

namespace vitnt {

Source video_source(const std::string& path) {
  Source s;
  s.name = path;
  std::error_code ec;
  if (!path.empty() && (path[0] == '@' || std::filesystem::is_directory(path, ec))) {
    s.kind = Source::Kind::Frames;
    for (const std::string& p : io::expand_inputs({path}))
      if (io::has_image_extension(p)) s.frames.push_back(p);
    return s;
  }
  s.path = path;
  return s;
}

Source stream_source(const std::string& url) {
  Source s;
  s.kind = Source::Kind::Stream;
  s.name = s.path = url;
  return s;
}

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// The state of one run over a source.
struct Run {
  const Model& model;
  const BestShotOptions& o;
  SourceResult r;
  std::vector<cv::Mat> crops;                      // per face of r.faces; released when not kept
  std::vector<size_t> pending;                     // faces aligned, not yet scored
  std::map<int, std::vector<size_t>> track_faces;  // open tracks -> their faces
  std::vector<int> closing;                        // closed tracks, selected after scoring

  void score_pending() {
    if (pending.empty()) return;
    const auto t = Clock::now();
    std::vector<ImageView> views;
    for (size_t i : pending) {
      const cv::Mat& m = crops[i];
      views.push_back({m.data, m.cols, m.rows, m.step[0], ChannelOrder::BGR});
    }
    std::vector<FaceScore> s = o.scorer ? o.scorer(views, o.score) : model.score(views, o.score);
    for (size_t k = 0; k < pending.size(); ++k) r.faces[pending[k]].score = std::move(s[k]);
    pending.clear();
    r.times.score += since(t);
  }

  // Ranks the faces of a finished track; only the kept ones keep their crop.
  void select(int track) {
    const auto t = Clock::now();
    const std::vector<size_t>& idx = track_faces[track];
    std::vector<video::Candidate> c;
    for (size_t i : idx) c.push_back({r.faces[i].time_s, video::ranking_key(r.faces[i].score)});
    const std::vector<size_t> kept = video::select_best(c, o.top, o.min_gap_s);
    for (size_t k = 0; k < kept.size(); ++k) {
      TrackedFace& f = r.faces[idx[kept[k]]];
      f.rank = static_cast<int>(k) + 1;
      const cv::Mat& m = crops[idx[kept[k]]];
      f.crop.assign(m.data, m.data + m.total() * m.elemSize());
    }
    for (size_t i : idx) crops[i].release();
    track_faces.erase(track);
    r.times.select += since(t);
  }

  void close_tracks() {
    score_pending();  // their faces may still be waiting
    for (int t : closing) select(t);
    closing.clear();
  }
};

// keep_frames: the frames of the kept faces, read again (files and bursts only).
void fetch_frames(const Source& source, const BestShotOptions& o, SourceResult& r) {
  std::map<int, std::vector<TrackedFace*>> want;
  for (TrackedFace& f : r.faces)
    if (f.rank > 0) want[f.frame].push_back(&f);
  if (want.empty()) return;
  video::FrameReader reader(source, o.fps);
  cv::Mat bgr;
  int index = 0;
  double time_s = 0;
  for (int next = 0; !want.empty(); ++next) {  // `next`: the index the reader gives next
    const auto it = want.find(next);
    if (!reader.next(it != want.end(), bgr, index, time_s)) break;
    if (it == want.end() || bgr.empty()) continue;
    const cv::Mat packed = bgr.isContinuous() ? bgr : bgr.clone();
    for (TrackedFace* f : it->second) {
      f->frame_bgr.assign(packed.data, packed.data + packed.total() * packed.elemSize());
      f->frame_width = packed.cols;
      f->frame_height = packed.rows;
    }
    want.erase(it);
  }
}

// Decodes frames on its own thread, a few ahead of the caller, so that decoding overlaps
// detection and scoring (decoding a 720p H.264 frame costs about a third of detecting
// faces in it). Frames come out in order; `decode_s` is the reader thread's busy time.
class PrefetchReader {
 public:
  struct Frame {
    cv::Mat bgr;  // empty: passed over (stride) or unreadable
    int index = 0;
    double time_s = 0;
  };
  PrefetchReader(video::FrameReader& reader, int stride) : reader_(reader) {
    thread_ = std::thread([this, stride] { produce(stride); });
  }
  ~PrefetchReader() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  // False at the end of the source (then the reader's error() tells why, if early).
  bool next(Frame& f) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return !queue_.empty() || done_; });
    if (queue_.empty()) {
      if (failure_) std::rethrow_exception(failure_);
      return false;
    }
    f = std::move(queue_.front());
    queue_.pop_front();
    cv_.notify_all();
    return true;
  }
  double decode_s() const {
    std::lock_guard<std::mutex> lock(mu_);
    return decode_s_;
  }

 private:
  static constexpr size_t kAhead = 4;  // frames decoded ahead (a 720p frame: 2.7 MB)

  void produce(int stride) {
    try {
      for (int n = 0;; ++n) {
        const auto t = Clock::now();
        Frame f;
        const bool more = reader_.next(n % stride == 0, f.bgr, f.index, f.time_s);
        std::unique_lock<std::mutex> lock(mu_);
        decode_s_ += since(t);
        if (!more) break;
        cv_.wait(lock, [this] { return queue_.size() < kAhead || stop_; });
        if (stop_) break;
        queue_.push_back(std::move(f));
        cv_.notify_all();
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu_);
      failure_ = std::current_exception();
    }
    std::lock_guard<std::mutex> lock(mu_);
    done_ = true;
    cv_.notify_all();
  }

  video::FrameReader& reader_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Frame> queue_;
  bool stop_ = false, done_ = false;
  std::exception_ptr failure_;
  double decode_s_ = 0;
  std::thread thread_;
};

}  // namespace

SourceResult find_best_shots(const Source& source, const Model& model, const FaceDetector& detector,
                             const BestShotOptions& o) {
  if (o.top < 1) throw Error("the number of faces kept per track must be at least 1");
  if (o.stride < 1) throw Error("the frame stride must be at least 1");
  if (o.batch < 1) throw Error("the batch size must be at least 1");
  if (o.fps <= 0) throw Error("the frame rate of a burst must be positive");
  if (o.keep_frames && source.kind == Source::Kind::Stream)
    throw Error("full frames cannot be kept for a stream (it cannot be read twice)");
  Run run{model, o, {}, {}, {}, {}, {}};
  SourceResult& r = run.r;
  r.source = source.name;
  const int size = model.config().img_size;

  video::FrameReader reader(source, o.fps);
  video::FaceTracker tracker(o.tracker);
  {
    PrefetchReader frames(reader, o.stride);
    PrefetchReader::Frame frame;
    while (frames.next(frame)) {
      ++r.frames_read;
      r.duration_s = frame.time_s;
      const cv::Mat& bgr = frame.bgr;
      if (bgr.empty()) continue;  // passed over, or a burst frame that could not be read
      ++r.frames_processed;
      auto t = Clock::now();
      const ImageView view{bgr.data, bgr.cols, bgr.rows, bgr.step[0], ChannelOrder::BGR};
      const std::vector<Face> found = detector.detect(view);
      std::vector<Face> faces;
      for (size_t i : choose_faces(found, bgr.cols, bgr.rows, o.faces))
        if (o.max_faces <= 0 || static_cast<int>(faces.size()) < o.max_faces)
          faces.push_back(found[i]);
      r.times.detect += since(t);

      t = Clock::now();
      const std::vector<int> ids = tracker.update(frame.index, faces);
      for (size_t k = 0; k < faces.size(); ++k) {
        TrackedFace f;
        f.track = ids[k];
        f.frame = frame.index;
        f.time_s = frame.time_s;
        f.face = faces[k];
        run.track_faces[ids[k]].push_back(r.faces.size());
        run.pending.push_back(r.faces.size());
        run.crops.push_back(face::align_face(bgr, faces[k], size));
        r.faces.push_back(std::move(f));
        r.tracks = std::max(r.tracks, ids[k]);
      }
      run.closing.insert(run.closing.end(), tracker.closed().begin(), tracker.closed().end());
      r.times.track += since(t);
      if (static_cast<int>(run.pending.size()) >= o.batch) run.close_tracks();
    }
    r.times.decode = frames.decode_s();
  }
  r.error = reader.error();
  r.frames_expected = reader.expected_frames();
  for (int id : tracker.open_tracks()) run.closing.push_back(id);
  run.close_tracks();

  if (o.keep_frames) {
    const auto t = Clock::now();
    fetch_frames(source, o, r);
    r.times.select += since(t);
  }
  return std::move(run.r);
}

}  // namespace vitnt
