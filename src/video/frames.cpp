#include "video/frames.h"

#include <algorithm>

#include "io/image_io.h"

namespace vitnt::video {

FrameReader::FrameReader(const Source& source, double burst_fps)
    : source_(source), fps_(burst_fps) {
  if (source_.kind == Source::Kind::Frames || source_.kind == Source::Kind::Encoded) {
    expected_ = static_cast<int>(source_.kind == Source::Kind::Frames ? source_.frames.size()
                                                                      : source_.encoded.size());
    if (expected_ == 0)
      error_ = source_.kind == Source::Kind::Frames ? "no image files found" : "no frames";
    return;
  }
  // FFmpeg only: without it OpenCV would also try GStreamer and print its own failures.
  if (!cap_.open(source_.path, cv::CAP_FFMPEG) || !cap_.isOpened()) {
    error_ = source_.kind == Source::Kind::Stream
                 ? "cannot open the stream"
                 : "cannot open the video (missing, not a video, or cut short before its index)";
    return;
  }
  // Frames come upright: rotation metadata is applied (OpenCV 4.6's default, set anyway).
  cap_.set(cv::CAP_PROP_ORIENTATION_AUTO, 1);
  const double fps = cap_.get(cv::CAP_PROP_FPS);
  if (fps > 0 && fps < 1000) fps_ = fps;
  if (source_.kind == Source::Kind::Video)
    expected_ = std::max(0, static_cast<int>(cap_.get(cv::CAP_PROP_FRAME_COUNT)));
}

bool FrameReader::next(bool decode, cv::Mat& bgr, int& index, double& time_s) {
  bgr.release();
  const bool files = source_.kind == Source::Kind::Frames;
  if (files || source_.kind == Source::Kind::Encoded) {
    if (index_ + 1 >= expected_) return false;
    index = ++index_;
    time_s = index / fps_;
    if (!decode) return true;
    std::string err;
    if (files) {
      bgr = io::decode_image(source_.frames[index], err);
    } else {
      const std::vector<uint8_t>& bytes = source_.encoded[index];
      bgr = io::decode_image(bytes.data(), bytes.size(), err);
    }
    if (bgr.empty()) {  // reported, the burst goes on
      if (!error_.empty()) error_ += "; ";
      error_ += (files ? source_.frames[index] : "frame " + std::to_string(index)) + ": " + err;
    }
    return true;
  }
  if (!error_.empty() || !cap_.isOpened()) return false;
  // grab() decodes; retrieve() converts to BGR, which skipped frames do not need.
  if (!cap_.grab() || (decode && !cap_.retrieve(bgr))) {
    const int read = index_ + 1;
    // Containers that only estimate their frame count (duration x rate) may be off by a
    // little: only a clear shortfall is called truncation.
    if (expected_ > 0 && read < expected_ - std::max(2, expected_ / 20))
      error_ = "truncated or unreadable after frame " + std::to_string(read) + " of the " +
               std::to_string(expected_) + " its container declares";
    return false;
  }
  index = ++index_;
  // Container timestamps, so variable frame rate gives true times. OpenCV 4.6 reports 0
  // for the frames the decoder gives out after the last packet (H.264 delay): those, and
  // any other time that does not advance, continue from the previous one at the mean rate.
  time_s = cap_.get(cv::CAP_PROP_POS_MSEC) / 1000.0;
  if (index > 0 && time_s <= last_time_) time_s = last_time_ + 1.0 / fps_;
  last_time_ = time_s;
  return true;
}

}  // namespace vitnt::video
