/* The C API from a C11 program, against the installed tree (capi_test.sh builds it under
 * AddressSanitizer). Writes CSV rows in the format of `vitnt score` (%.9g) for the script
 * to compare with the CLI's; checks the error paths and frees every handle.
 *
 * Usage: capi_test MODEL DETECTOR CROPS.txt RAW.txt PHOTOS.txt GROUP NOFACE OUT_DIR
 *   CROPS.txt: aligned crop files, one a line; RAW.txt: for each, a file of its pixels
 *   (112x112x3 RGB, no header); PHOTOS.txt: raw photos; GROUP: a photo of several faces;
 *   NOFACE: a photo without a face. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vitnt/vitnt_c.h>

static int failures = 0;

#define CHECK(cond, ...)                                   \
  do {                                                     \
    if (!(cond)) {                                         \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
      fprintf(stderr, __VA_ARGS__);                        \
      fprintf(stderr, "\n");                               \
      ++failures;                                          \
    }                                                      \
  } while (0)

/* The last error names `what` and has `status`. */
static void check_error(const char* call, int status, const char* what) {
  CHECK(vitnt_last_status() == status, "%s: status %d, expected %d (%s)", call, vitnt_last_status(),
        status, vitnt_last_error());
  CHECK(strstr(vitnt_last_error(), what) != NULL, "%s: error '%s' does not say '%s'", call,
        vitnt_last_error(), what);
  printf("expected error from %s: %s\n", call, vitnt_last_error());
}

static char* read_file(const char* path, size_t* size) {
  FILE* f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  const long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char* data = malloc(n > 0 ? (size_t)n : 1);
  *size = fread(data, 1, (size_t)n, f);
  fclose(f);
  return data;
}

/* Lines of a list file (at most `max`); returns the count. */
static size_t read_lines(const char* path, char** lines, size_t max) {
  FILE* f = fopen(path, "r");
  char buf[4096];
  size_t n = 0;
  if (!f) return 0;
  while (n < max && fgets(buf, sizeof buf, f)) {
    buf[strcspn(buf, "\r\n")] = 0;
    if (buf[0]) {
      lines[n] = malloc(strlen(buf) + 1);
      strcpy(lines[n++], buf);
    }
  }
  fclose(f);
  return n;
}

/* One CSV row per face as `vitnt score` writes it (path, quality, scalar, scalar_for; with
   --detect: face, box, det_score): the scalar is compared with the CLI's too. */
static void write_row(FILE* out, const char* path, const vitnt_result* r, size_t i, int detected) {
  fprintf(out, "%s,%.9g,", path, vitnt_face_quality(r, i));
  if (vitnt_face_scalar(r, i) >= 0) fprintf(out, "%d", vitnt_face_scalar(r, i));
  fprintf(out, ",%s", vitnt_result_scalar_for(r) ? vitnt_result_scalar_for(r) : "");
  if (detected) {
    float box[4];
    CHECK(vitnt_face_box(r, i, box) == VITNT_OK, "box");
    fprintf(out, ",%zu,%.9g,%.9g,%.9g,%.9g,%.9g", i, box[0], box[1], box[2], box[3],
            vitnt_face_det_score(r, i));
  }
  size_t n = 0;
  int grid = 0;
  const float* e = vitnt_face_embedding(r, i, &n);
  for (size_t k = 0; k < n; ++k) fprintf(out, ",%.9g", e[k]);
  const float* q = vitnt_face_patch_map(r, i, &grid);
  for (int k = 0; k < grid * grid; ++k) fprintf(out, ",%.9g", q[k]);
  fprintf(out, "\n");
  const int s = vitnt_face_scalar(r, i);
  CHECK(s >= -1 && s <= 100, "scalar %d out of range", s);
}

static void write_rows(FILE* out, const char* path, const vitnt_result* r, int detected) {
  for (size_t i = 0; i < vitnt_result_count(r); ++i) write_row(out, path, r, i, detected);
}

static FILE* open_out(const char* dir, const char* name) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE* f = fopen(path, "w");
  if (!f) {
    fprintf(stderr, "cannot write %s\n", path);
    exit(1);
  }
  return f;
}

/* A model shared by threads: each scores the same crops, expecting the same qualities. */
struct job {
  const vitnt_model* model;
  const vitnt_image* crops;
  size_t count;
  float qualities[64];
  int ok;
};

static void* score_job(void* arg) {
  struct job* j = arg;
  vitnt_result* r = vitnt_score_pixels(j->model, j->crops, j->count, NULL);
  j->ok = r != NULL;
  for (size_t i = 0; r && i < j->count; ++i) j->qualities[i] = vitnt_face_quality(r, i);
  vitnt_result_free(r);
  return NULL;
}

/* bf16 either loads (a CPU with AVX512-BF16 or AMX) or is refused with
   VITNT_ERR_UNSUPPORTED naming the missing feature; `must_refuse`: the caller capped
   oneDNN below bf16 (ONEDNN_MAX_CPU_ISA=AVX2), so it has to be refused. */
static void check_bf16(const char* model_path, int must_refuse) {
  vitnt_model_options mo;
  vitnt_model_options_init(&mo);
  mo.precision = "bf16";
  vitnt_model* m = vitnt_model_load(model_path, NULL, &mo);
  if (m) {
    CHECK(!must_refuse, "bf16 loaded although oneDNN cannot run it");
    vitnt_model_free(m);
    return;
  }
  check_error("vitnt_model_load(bf16)", VITNT_ERR_UNSUPPORTED, "AVX512-BF16");
  CHECK(strstr(vitnt_last_error(), "fp32") != NULL, "no fp32 alternative named");
}

int main(int argc, char** argv) {
  if (argc == 3 && strcmp(argv[1], "--bf16-refused") == 0) {
    check_bf16(argv[2], 1);
    return failures ? 1 : 0;
  }
  if (argc != 9) {
    fprintf(stderr,
            "usage: capi_test MODEL DETECTOR CROPS.txt RAW.txt PHOTOS.txt GROUP NOFACE "
            "OUT_DIR\n");
    return 2;
  }
  const char *model_path = argv[1], *detector_path = argv[2], *group = argv[6], *noface = argv[7],
             *out_dir = argv[8];
  printf("vitnt %s\n", vitnt_version());
  CHECK(strcmp(vitnt_last_error(), "") == 0 && vitnt_last_status() == VITNT_OK,
        "an error before any call");

  /* error paths of loading */
  CHECK(vitnt_model_load("/nonexistent/model.safetensors", NULL, NULL) == NULL, "missing model");
  check_error("vitnt_model_load(missing)", VITNT_ERR_MODEL, "/nonexistent/model.safetensors");
  vitnt_model_options mo;
  vitnt_model_options_init(&mo);
  mo.precision = "fp16";
  CHECK(vitnt_model_load(model_path, NULL, &mo) == NULL, "bad precision");
  check_error("vitnt_model_load(precision)", VITNT_ERR_ARGUMENT, "fp16");
  CHECK(vitnt_model_load(model_path, "{\"depth\": ", NULL) == NULL, "bad JSON");
  check_error("vitnt_model_load(json)", VITNT_ERR_MODEL, "description_json");
  CHECK(vitnt_detector_load("/nonexistent/yunet.onnx", 0.5f) == NULL, "missing detector");
  check_error("vitnt_detector_load(missing)", VITNT_ERR_MODEL, "/nonexistent/yunet.onnx");

  check_bf16(model_path, 0);

  mo.precision = "fp32";
  mo.threads = 2;
  vitnt_model* model = vitnt_model_load(model_path, NULL, &mo);
  CHECK(model != NULL, "load %s: %s", model_path, vitnt_last_error());
  vitnt_detector* detector = vitnt_detector_load(detector_path, 0.5f);
  CHECK(detector != NULL, "load %s: %s", detector_path, vitnt_last_error());
  if (!model || !detector) return 1;
  const int size = vitnt_model_img_size(model);
  CHECK(size == 112 && vitnt_model_grid(model) == 7 && vitnt_model_embedding_size(model) == 512,
        "model sizes %d %d %d", size, vitnt_model_grid(model), vitnt_model_embedding_size(model));

  char* crops[64];
  char* raws[64];
  char* photos[64];
  const size_t n = read_lines(argv[3], crops, 64);
  CHECK(read_lines(argv[4], raws, 64) == n && n > 1, "crop and pixel lists differ");
  const size_t np = read_lines(argv[5], photos, 64);

  vitnt_score_options full;
  vitnt_score_options_init(&full);
  full.embedding = 1;
  full.patch_map = 1;

  /* (a) encoded bytes of aligned crops */
  FILE* out = open_out(out_dir, "bytes.csv");
  for (size_t i = 0; i < n; ++i) {
    size_t len = 0;
    char* data = read_file(crops[i], &len);
    CHECK(data != NULL, "cannot read %s", crops[i]);
    vitnt_result* r = vitnt_score_encoded(model, data, len, NULL, &full);
    CHECK(r && vitnt_result_count(r) == 1, "%s: %s", crops[i], vitnt_last_error());
    if (r) write_rows(out, crops[i], r, 0);
    if (i == 0) { /* the same image cut short, and not an image at all */
      CHECK(vitnt_score_encoded(model, data, len / 2, NULL, NULL) == NULL, "cut JPEG scored");
      check_error("vitnt_score_encoded(cut)", VITNT_ERR_IMAGE, "truncated JPEG");
      CHECK(vitnt_score_encoded(model, "not an image", 12, NULL, NULL) == NULL, "text scored");
      check_error("vitnt_score_encoded(text)", VITNT_ERR_IMAGE, "not a readable image");
      /* the model's own description, given as text, scores the same */
      vitnt_model* again = vitnt_model_load(model_path, vitnt_model_description(model), NULL);
      CHECK(again != NULL, "description round trip: %s", vitnt_last_error());
      vitnt_result* r2 = again ? vitnt_score_encoded(again, data, len, NULL, NULL) : NULL;
      CHECK(r && r2 && vitnt_face_quality(r2, 0) == vitnt_face_quality(r, 0),
            "description round trip changes the quality");
      vitnt_result_free(r2);
      vitnt_model_free(again);
      /* getters out of range */
      CHECK(isnan(vitnt_face_quality(r, 5)), "quality of face 5 of 1");
      check_error("vitnt_face_quality(5)", VITNT_ERR_ARGUMENT, "out of range");
      float box[4] = {1, 1, 1, 1};
      CHECK(vitnt_face_box(r, 0, box) == VITNT_OK && box[0] == 0 && box[2] == 0,
            "a crop has a zero box");
      CHECK(vitnt_face_det_score(r, 0) == -1, "a crop has no detection score");
      CHECK(vitnt_face_box(NULL, 0, box) == VITNT_ERR_ARGUMENT, "box of NULL");
      check_error("vitnt_face_box(NULL)", VITNT_ERR_ARGUMENT, "result is NULL");
      /* calibration blocks: block 0 is the default; naming it gives the same scalar, an
         unknown name is refused naming the blocks */
      const char* def = vitnt_model_calibration_name(model, 0);
      CHECK(
          def != NULL && vitnt_result_scalar_for(r) && strcmp(def, vitnt_result_scalar_for(r)) == 0,
          "block 0 (%s) is not the result's scalar_for (%s)", def ? def : "NULL",
          vitnt_result_scalar_for(r) ? vitnt_result_scalar_for(r) : "NULL");
      vitnt_score_options co;
      vitnt_score_options_init(&co);
      CHECK(co.calibration_for == NULL, "calibration_for not NULL by default");
      co.calibration_for = def;
      vitnt_result* r3 = vitnt_score_encoded(model, data, len, NULL, &co);
      CHECK(r3 && vitnt_face_scalar(r3, 0) == vitnt_face_scalar(r, 0), "named default differs");
      vitnt_result_free(r3);
      size_t blocks = 0;
      while (vitnt_model_calibration_name(model, blocks)) ++blocks;
      for (size_t b = 1; b < blocks; ++b) { /* every other block scores, named in the result */
        co.calibration_for = vitnt_model_calibration_name(model, b);
        r3 = vitnt_score_encoded(model, data, len, NULL, &co);
        CHECK(r3 && strcmp(vitnt_result_scalar_for(r3), co.calibration_for) == 0,
              "block %zu: scalar_for", b);
        vitnt_result_free(r3);
      }
      printf("calibration blocks: %zu, default %s\n", blocks, def ? def : "none");
      co.calibration_for = "no-such-system";
      CHECK(vitnt_score_encoded(model, data, len, NULL, &co) == NULL, "unknown calibration scored");
      check_error("vitnt_score_encoded(calibration_for)", VITNT_ERR_ARGUMENT,
                  "no calibration for 'no-such-system' (it has: ");
      CHECK(vitnt_model_calibration_name(NULL, 0) == NULL, "calibration name of NULL");
    }
    vitnt_result_free(r);
    free(data);
  }
  fclose(out);

  /* (b) raw pixels, all crops in one batch: RGB packed, BGR with padded rows, alternating */
  vitnt_image images[64];
  unsigned char* pixels[64];
  const size_t stride = (size_t)size * 3 + 13;
  for (size_t i = 0; i < n; ++i) {
    size_t len = 0;
    unsigned char* rgb = (unsigned char*)read_file(raws[i], &len);
    CHECK(rgb && len == (size_t)size * size * 3, "%s: %zu bytes", raws[i], len);
    if (!rgb) return 1;
    vitnt_image im = {rgb, size, size, 0, VITNT_RGB};
    if (i % 2) {
      unsigned char* bgr = calloc((size_t)size * stride, 1);
      for (int y = 0; y < size; ++y)
        for (int x = 0; x < size; ++x)
          for (int c = 0; c < 3; ++c) bgr[y * stride + x * 3 + c] = rgb[(y * size + x) * 3 + 2 - c];
      free(rgb);
      rgb = bgr;
      im = (vitnt_image){bgr, size, size, stride, VITNT_BGR};
    }
    pixels[i] = rgb;
    images[i] = im;
  }
  vitnt_result* r = vitnt_score_pixels(model, images, n, &full);
  CHECK(r && vitnt_result_count(r) == n, "pixels: %s", vitnt_last_error());
  out = open_out(out_dir, "pixels.csv");
  for (size_t i = 0; r && i < n; ++i) {
    vitnt_result* one = vitnt_score_pixels(model, &images[i], 1, NULL);
    CHECK(one && vitnt_face_quality(one, 0) == vitnt_face_quality(r, i),
          "crop %zu alone scores otherwise than in the batch", i);
    vitnt_result_free(one);
    write_row(out, crops[i], r, i, 0);
  }
  fclose(out);
  vitnt_result_free(r);

  /* overrides: blocks, scaling, aggregation (the script runs the CLI with the same) */
  vitnt_score_options o;
  vitnt_score_options_init(&o);
  o.first_block = 1;
  o.last_block = 9;
  o.scaling = 5;
  o.aggregation = "uniform";
  r = vitnt_score_pixels(model, images, n, &o);
  CHECK(r != NULL, "overrides: %s", vitnt_last_error());
  out = open_out(out_dir, "overrides.csv");
  if (r) write_rows(out, "", r, 0);
  fclose(out);
  vitnt_result_free(r);
  o.aggregation = "median";
  CHECK(vitnt_score_pixels(model, images, n, &o) == NULL, "bad aggregation");
  check_error("vitnt_score_pixels(aggregation)", VITNT_ERR_ARGUMENT, "median");
  vitnt_score_options_init(&o);
  o.last_block = 12;
  CHECK(vitnt_score_pixels(model, images, n, &o) == NULL, "bad blocks");
  check_error("vitnt_score_pixels(blocks)", VITNT_ERR_ARGUMENT, "block range");
  vitnt_image small = images[0];
  small.width = 100;
  CHECK(vitnt_score_pixels(model, &small, 1, NULL) == NULL, "a 100x112 crop");
  check_error("vitnt_score_pixels(100x112)", VITNT_ERR_ARGUMENT, "100x112");

  /* the model from two threads at once */
  struct job jobs[2] = {{model, images, n, {0}, 0}, {model, images, n, {0}, 0}};
  pthread_t threads[2];
  for (int t = 0; t < 2; ++t) pthread_create(&threads[t], NULL, score_job, &jobs[t]);
  for (int t = 0; t < 2; ++t) pthread_join(threads[t], NULL);
  CHECK(jobs[0].ok && jobs[1].ok &&
            memcmp(jobs[0].qualities, jobs[1].qualities, n * sizeof(float)) == 0,
        "two threads score the same crops differently");
  for (size_t i = 0; i < n; ++i) free(pixels[i]);

  /* photos with detection: central face from bytes, every face of a group from the file;
   * detections also as `vitnt align` writes its manifest (source, face, score, box, landmarks) */
  out = open_out(out_dir, "detect.csv");
  FILE* manifest = open_out(out_dir, "detect.tsv");
  for (size_t i = 0; i < np; ++i) {
    size_t len = 0;
    char* data = read_file(photos[i], &len);
    r = vitnt_score_encoded(model, data, len, detector, NULL);
    CHECK(r && vitnt_result_count(r) == 1, "%s: %s", photos[i], vitnt_last_error());
    if (r) write_rows(out, photos[i], r, 1);
    float box[4], lm[10];
    if (r && vitnt_face_box(r, 0, box) == VITNT_OK && vitnt_face_landmarks(r, 0, lm) == VITNT_OK) {
      fprintf(manifest, "%s\t0\t%.4f", photos[i], vitnt_face_det_score(r, 0));
      for (int k = 0; k < 4; ++k) fprintf(manifest, "\t%.2f", box[k]);
      for (int k = 0; k < 10; ++k) fprintf(manifest, "\t%.2f", lm[k]);
      fprintf(manifest, "\n");
    }
    vitnt_result_free(r);
    if (i == 0) {
      CHECK(vitnt_score_encoded(model, data, len, NULL, NULL) == NULL, "a photo as a crop");
      check_error("vitnt_score_encoded(photo, no detector)", VITNT_ERR_IMAGE, "not an aligned");
    }
    free(data);
  }
  fclose(out);
  fclose(manifest);
  vitnt_score_options all;
  vitnt_score_options_init(&all);
  all.faces = VITNT_FACES_ALL;
  r = vitnt_score_file(model, group, detector, &all);
  CHECK(r && vitnt_result_count(r) > 1, "%s: %s", group, vitnt_last_error());
  out = open_out(out_dir, "group.csv");
  if (r) write_rows(out, group, r, 1);
  fclose(out);
  vitnt_result_free(r);
  r = vitnt_score_file(model, noface, detector, NULL);
  CHECK(r && vitnt_result_count(r) == 0, "%s: no face expected (%s)", noface, vitnt_last_error());
  vitnt_result_free(r);
  CHECK(vitnt_score_file(model, "/nonexistent/photo.jpg", detector, NULL) == NULL, "no file");
  check_error("vitnt_score_file(missing)", VITNT_ERR_IMAGE, "/nonexistent/photo.jpg: no such file");
  all.faces = 7;
  CHECK(vitnt_score_file(model, group, detector, &all) == NULL, "faces = 7");
  check_error("vitnt_score_file(faces=7)", VITNT_ERR_ARGUMENT, "faces");

  vitnt_detector_free(detector);
  vitnt_model_free(model);
  for (size_t i = 0; i < n; ++i) free(crops[i]), free(raws[i]);
  for (size_t i = 0; i < np; ++i) free(photos[i]);
  if (failures) fprintf(stderr, "%d checks failed\n", failures);
  return failures ? 1 : 0;
}
