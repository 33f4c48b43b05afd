// Frames of one source, in order, with their timestamps: a video file or stream through
// OpenCV's FFmpeg backend, or a burst of image files.
#pragma once

#include <opencv2/core.hpp>
#include <opencv2/videoio.hpp>
#include <string>

#include "vitnt/video.h"

namespace vitnt::video {

class FrameReader {
 public:
  // Opens the source (`burst_fps`: the frame rate of a burst); when it cannot be opened, error()
  // says why and next() gives nothing.
  FrameReader(const Source& source, double burst_fps);

  // Advances to the next frame. `decode` false: the frame is passed over (counted, given
  // its time, not converted to BGR; a burst's file is not read). Returns false at the end
  // of the source; then error() is set when it ended early (a file cut short, an
  // unreadable frame file: the frames before were given).
  bool next(bool decode, cv::Mat& bgr, int& index, double& time_s);

  const std::string& error() const { return error_; }
  int expected_frames() const { return expected_; }  // 0: unknown

 private:
  Source source_;
  double fps_;  // a burst's, else the video's mean rate (for times the container lacks)
  double last_time_ = 0;
  cv::VideoCapture cap_;
  int index_ = -1;  // of the last frame given
  int expected_ = 0;
  std::string error_;
};

}  // namespace vitnt::video
