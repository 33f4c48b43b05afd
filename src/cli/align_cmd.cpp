// `vitnt align`: ordinary photos in, aligned 112x112 face crops and a manifest out.
// Also the face-detection settings shared with `vitnt score --detect`.
#include <cstdio>
#include <filesystem>
#include <map>
#include <opencv2/imgcodecs.hpp>

#include "cli/commands.h"
#include "face/align.h"
#include "io/file_util.h"
#include "io/image_io.h"
#include "io/partial_output.h"

namespace fs = std::filesystem;

namespace vitnt::cli {

namespace {
const char* const kDetectorFile = "yunet_s_640_640.onnx";
}

std::string default_detector_path() {
  if (const char* env = std::getenv("VITNT_DETECTOR")) return env;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec).parent_path();
  std::vector<fs::path> dirs = {exe, exe / "models", exe / "../models",
                                exe / "../share/vitnt/models",
                                exe / "../../shared/models"};  // build/vitnt in the repo
  for (const fs::path& dir : dirs) {
    const fs::path p = dir / kDetectorFile;
    if (fs::exists(p, ec)) return fs::weakly_canonical(p, ec).string();
  }
  throw Error(std::string("no --detector-model given and ") + kDetectorFile +
              " was not found next to the executable (., models, ../models, "
              "../share/vitnt/models, ../../shared/models); set VITNT_DETECTOR or pass "
              "--detector-model");
}

std::vector<CLI::Option*> add_detector_options(CLI::App& cmd, DetectArgs& a) {
  return {cmd.add_option("--detector-model", a.model,
                         "YuNet ONNX face detector (default: $VITNT_DETECTOR, else " +
                             std::string(kDetectorFile) + " next to the executable)"),
          cmd.add_option("--detection-threshold", a.threshold, "minimum face detection score")
              ->capture_default_str(),
          cmd.add_option("--faces", a.faces,
                         "which faces of a photo: central (the most central confident one), "
                         "largest, all")
              ->capture_default_str()};
}

FaceDetector load_detector(const DetectArgs& a) {
  DetectorOptions o;
  o.score_threshold = a.threshold;
  o.max_side = a.max_side;
  parse_face_choice(a.faces);  // a bad value is fatal before any work
  return FaceDetector::load(a.model.empty() ? default_detector_path() : a.model, o);
}

namespace {

struct AlignArgs {
  DetectArgs detect;
  std::string output_dir, manifest, format = "png";
  int jpeg_quality = 95;
  bool resume = false;
  std::vector<std::string> inputs;
};

std::string manifest_row(const std::string& source, const std::string& crop,
                         const face::DetectedFace& f, const cv::Mat& image) {
  std::string row = source + "\t" + std::to_string(f.index) + "\t" + crop;
  char buf[64];
  auto add = [&](const char* format, double v) {
    std::snprintf(buf, sizeof buf, format, v);
    row += "\t";
    row += buf;
  };
  add("%.4f", f.face.score);
  for (float v : {f.face.x, f.face.y, f.face.width, f.face.height}) add("%.2f", v);
  for (const Point& p : f.face.landmarks) {
    add("%.2f", p.x);
    add("%.2f", p.y);
  }
  return row + "\t" + std::to_string(image.cols) + "\t" + std::to_string(image.rows) + "\n";
}

int run_align(const AlignArgs& a) {
  if (a.format != "png" && a.format != "jpg")
    throw Error("--format must be png or jpg, got '" + a.format + "'");
  if (a.jpeg_quality < 1 || a.jpeg_quality > 100) throw Error("--jpeg-quality must be in 1..100");
  const FaceChoice choice = parse_face_choice(a.detect.faces);
  const FaceDetector detector = load_detector(a.detect);
  const std::vector<io::InputImage> inputs = io::expand_input_images(a.inputs);
  if (inputs.empty()) throw Error("no input images found in the given INPUTS");
  std::error_code ec;
  fs::create_directories(a.output_dir, ec);
  if (ec || !fs::is_directory(a.output_dir))
    throw Error(a.output_dir + ": cannot create the output folder" +
                (ec ? ": " + ec.message() : std::string()));
  const std::string manifest_path =
      a.manifest.empty() ? (fs::path(a.output_dir) / "manifest.tsv").string() : a.manifest;
  const std::string header =
      "source\tface\tcrop\tdet_score\tbox_x\tbox_y\tbox_w\tbox_h\tx1\ty1\tx2\ty2\tx3\ty3\tx4\ty4"
      "\tx5\ty5\twidth\theight\n";
  auto row_source = [&header](const std::string& line) {
    return line + "\n" == header ? std::string() : line.substr(0, line.find('\t'));
  };
  std::vector<std::string> paths;
  for (const io::InputImage& in : inputs) paths.push_back(in.path);
  const nlohmann::json settings =
      run_settings("align", "", paths,
                   {{"output_dir", fs::weakly_canonical(a.output_dir, ec).string()},
                    {"detector", a.detect.model.empty() ? default_detector_path() : a.detect.model},
                    {"threshold", a.detect.threshold},
                    {"faces", a.detect.faces},
                    {"format", a.format},
                    {"jpeg_quality", a.jpeg_quality}});
  // The manifest grows as crops are written (MANIFEST.partial), renamed when complete.
  io::PartialOutput manifest(manifest_path, settings, header, a.resume, row_source);
  const size_t first = manifest.resume_from()
                           ? resume_index(paths, *manifest.resume_from(), manifest.partial_path())
                           : 0;

  const std::vector<int> params = {cv::IMWRITE_JPEG_QUALITY, a.jpeg_quality};
  std::map<std::string, std::string> used;  // crop name -> the source it came from
  size_t crops = 0, with_crops = 0;
  std::string prev;
  manifest.for_each_kept_row([&](const std::string& line) {
    const size_t t1 = line.find('\t'), t2 = line.find('\t', t1 + 1), t3 = line.find('\t', t2 + 1);
    used[line.substr(t2 + 1, t3 - t2 - 1)] = line.substr(0, t1);
    with_crops += line.substr(0, t1) != prev;
    prev = line.substr(0, t1);
    ++crops;
  });
  size_t failed = first - with_crops;  // inputs before `first` without a crop failed earlier
  if (a.resume)
    std::fprintf(stderr,
                 "resuming %s: %zu crops kept, continuing at input %zu of %zu (%zu temporary "
                 "files of the stopped run removed)\n",
                 manifest.partial_path().c_str(), crops, first + 1, inputs.size(),
                 io::remove_stale_temporaries(a.output_dir));
  install_stop_handlers();
  Progress progress(inputs.size());
  std::string rows;  // the manifest rows of the current input, written together
  for (size_t n = first; n < inputs.size(); ++n) {
    if (stop_signal()) return report_stopped(manifest.partial_path(), n, inputs.size());
    const io::InputImage& in = inputs[n];
    std::string err;
    cv::Mat img = io::decode_image(in.path, err);
    std::vector<face::DetectedFace> faces;
    if (!img.empty()) faces = face::detect_faces(detector, img, choice, 112, err);
    // Crops keep the input's relative name; with --faces all each gets _<index>.
    std::vector<std::string> names;
    for (const face::DetectedFace& f : faces) {
      fs::path name = fs::path(in.name).replace_extension();
      if (choice == FaceChoice::All) name += "_" + std::to_string(f.index);
      name += "." + a.format;
      names.push_back(name.string());
      auto it = used.find(names.back());
      if (it != used.end() && err.empty())
        err = "its crop name " + names.back() + " is already taken by " + it->second +
              " (give the folder rather than files of the same name)";
    }
    if (!err.empty()) {
      std::fprintf(stderr, "error: %s: %s (skipped)\n", in.path.c_str(), err.c_str());
      ++failed;
      progress.update(n + 1, failed);
      continue;
    }
    for (size_t i = 0; i < faces.size(); ++i) {
      used[names[i]] = in.path;
      const fs::path out = fs::path(a.output_dir) / names[i];
      fs::create_directories(out.parent_path(), ec);
      std::vector<uint8_t> bytes;
      if (!cv::imencode("." + a.format, faces[i].crop, bytes, params))
        throw Error(out.string() + ": cannot encode the crop");
      io::AtomicFile file(out.string());
      file.write(std::string(bytes.begin(), bytes.end()));
      file.commit();
      rows += manifest_row(in.path, names[i], faces[i], img);
      ++crops;
    }
    manifest.append(rows);
    rows.clear();
    progress.update(n + 1, failed);
  }
  manifest.commit();
  std::fprintf(stderr, "aligned %zu faces from %zu of %zu images in %.1f s, %zu failed -> %s\n",
               crops, inputs.size() - failed, inputs.size(), progress.seconds(), failed,
               manifest_path.c_str());
  return failed ? 2 : 0;
}

}  // namespace

Command add_align_command(CLI::App& app) {
  auto args = std::make_shared<AlignArgs>();
  AlignArgs& s = *args;
  CLI::App* cmd =
      app.add_subcommand("align", "detect faces in photos and write aligned 112x112 crops");
  add_detector_options(*cmd, s.detect);
  cmd->add_option("-o,--output-dir", s.output_dir, "folder for the crops (same relative names)")
      ->required();
  cmd->add_option("--manifest", s.manifest, "manifest TSV (default: OUTPUT_DIR/manifest.tsv)");
  cmd->add_option("--format", s.format, "png | jpg")->capture_default_str();
  cmd->add_option("--jpeg-quality", s.jpeg_quality, "with --format jpg")->capture_default_str();
  cmd->add_flag("--resume", s.resume,
                "continue a stopped run from MANIFEST.partial (same inputs and options)");
  cmd->add_option("inputs", s.inputs, "images, folders (recursive) or @list.txt")->required();
  return {cmd, [args] { return run_align(*args); }};
}

}  // namespace vitnt::cli
