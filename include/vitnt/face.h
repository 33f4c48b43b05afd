// vitnt — faces in ordinary photos: detection with 5 landmarks (YuNet, an ONNX file
// run by OpenCV's DNN module) and alignment to the ArcFace 112x112 template, giving the
// crops Model::score expects.
//
//   vitnt::FaceDetector det = vitnt::FaceDetector::load("yunet_s_640_640.onnx");
//   std::vector<vitnt::Face> faces = det.detect(photo);
//   for (size_t i : vitnt::choose_faces(faces, photo.width, photo.height,
//                                       vitnt::FaceChoice::Central))
//     std::vector<uint8_t> crop = vitnt::align_face(photo, faces[i]);  // 112x112x3
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "vitnt/vitnt.h"

namespace vitnt {

struct Point {
  float x = 0;
  float y = 0;
};

// One detected face, in the pixel coordinates of the image given to detect().
struct Face {
  float x = 0, y = 0, width = 0, height = 0;  // box: top-left corner and size
  float score = 0;                            // detection confidence in [0, 1]
  // In the template's order: the eye on the image's left (the subject's right eye), the
  // other eye, the nose tip, the mouth corner on the image's left, the other one.
  std::array<Point, 5> landmarks;
};

struct DetectorOptions {
  float score_threshold = 0.5f;  // faces scoring below are not reported
  float nms_threshold = 0.3f;    // of two boxes overlapping more (IoU), the weaker is dropped
  int max_side = 640;            // larger images are scaled down to this longer side for detection
};

class FaceDetector {
 public:
  // A YuNet ONNX file of the 2023 format (outputs cls/obj/bbox/kps per stride 8, 16, 32),
  // e.g. yunet_s_640_640.onnx from libfacedetection.train.
  static FaceDetector load(const std::string& onnx_path, const DetectorOptions& options = {});
  FaceDetector(FaceDetector&&) noexcept;
  FaceDetector& operator=(FaceDetector&&) noexcept;
  ~FaceDetector();

  const DetectorOptions& options() const;
  const std::string& path() const;

  // Every face above the threshold, best score first. Any image size (8-bit, 3 channels,
  // either channel order). Thread-safe (calls are serialised).
  std::vector<Face> detect(const ImageView& image) const;

  struct Impl;

 private:
  explicit FaceDetector(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Which faces of a photo to use.
//   Central: one face, the best score minus a penalty growing with its distance from
//            the image centre (a portrait's subject, not a bystander).
//   Largest: one face, the largest box.
//   All:     every face, best score first.
enum class FaceChoice { Central, Largest, All };
FaceChoice parse_face_choice(const std::string& name);  // "central" | "largest" | "all"
std::string to_string(FaceChoice c);

// Indices into `faces` (empty when there is none).
std::vector<size_t> choose_faces(const std::vector<Face>& faces, int image_width, int image_height,
                                 FaceChoice choice);

// The ArcFace 5-point template for 112x112 crops (same order as Face::landmarks).
const std::array<Point, 5>& arcface_template();

// Least-squares similarity (rotation, uniform scale, translation; Umeyama) taking the
// landmarks onto the template scaled to size x size: x' = m[0] x + m[1] y + m[2],
// y' = m[3] x + m[4] y + m[5].
std::array<double, 6> alignment_transform(const std::array<Point, 5>& landmarks, int size = 112);

// The aligned crop: size x size, 3 channels in the image's channel order, rows packed
// (stride size * 3); bilinear, black where the crop leaves the image.
std::vector<uint8_t> align_face(const ImageView& image, const Face& face, int size = 112);

}  // namespace vitnt
