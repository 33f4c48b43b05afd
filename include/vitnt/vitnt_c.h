/* vitnt — the C API: ViTNT-FIQA face image quality for programs in any language (C, Go,
 * Java, C#, Rust, JS, Python ctypes), over the same library as the `vitnt` command.
 *
 *   vitnt_model* m = vitnt_model_load("vitnt-s16.safetensors", NULL, NULL);
 *   vitnt_result* r = vitnt_score_file(m, "face.jpg", NULL, NULL);  // an aligned crop
 *   if (r) printf("%.9g\n", vitnt_face_quality(r, 0));
 *   else fprintf(stderr, "%s\n", vitnt_last_error());
 *   vitnt_result_free(r);
 *   vitnt_model_free(m);
 *
 * Rules (docs/c_api.md):
 * - Every handle comes from a *_load / vitnt_score_* call and is freed by the matching
 *   *_free (NULL is fine there). Pointers into a result live until vitnt_result_free.
 * - A failed call returns NULL or a negative vitnt_status; vitnt_last_error() then tells
 *   why (this thread's last failure, naming the file or the problem).
 * - A model and a detector may be used from several threads at once; a result by one
 *   thread at a time. For speed, score from one thread (batch the images) or give each
 *   scoring thread its share of the cores (options.threads): each thread that scores gets
 *   its own OpenMP team, and with more OpenMP threads than cores a call slows down (a batch
 *   of 1 on 2 cores: 8.6 ms instead of 2.4 ms).
 * - C99; no C++ exception crosses this boundary.
 */
#ifndef VITNT_C_H
#define VITNT_C_H

#include <stddef.h>
#include <stdint.h>

#if defined(VITNT_BUILDING_LIBRARY)
#define VITNT_API __attribute__((visibility("default")))
#else
#define VITNT_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef enum vitnt_status {
  VITNT_OK = 0,
  VITNT_ERR_ARGUMENT = -1,   /* a NULL handle, an index out of range, a bad option value */
  VITNT_ERR_IMAGE = -2,      /* an image that cannot be read or decoded, or of the wrong size */
  VITNT_ERR_MODEL = -3,      /* a model or detector file that cannot be loaded */
  VITNT_ERR_INTERNAL = -4,   /* anything else (out of memory, ...) */
  VITNT_ERR_UNSUPPORTED = -5 /* this CPU cannot run what was asked (bf16 without AVX512-BF16 or
                                AMX); vitnt_last_error() names the missing feature */
} vitnt_status;

/* "0.1.0": the library's version. */
VITNT_API const char* vitnt_version(void);

/* This thread's last failure: the message ("" when none) and its status (VITNT_OK when
 * none). A successful call leaves both as they were, like errno. */
VITNT_API const char* vitnt_last_error(void);
VITNT_API int vitnt_last_status(void);

/* ---- models ---- */

typedef struct vitnt_model vitnt_model;

typedef struct vitnt_model_options {
  int threads;           /* worker threads; 0: all cores */
  const char* precision; /* "fp32" (the exact default; NULL is the same) or "bf16" */
} vitnt_model_options;

VITNT_API void vitnt_model_options_init(vitnt_model_options* options);

/* Loads safetensors weights (F32/F16/BF16). `description_json`: the model description as
 * JSON text (README, "Model descriptions"); NULL: the one embedded in the weights, else a
 * sidecar WEIGHTS.json. `options` NULL: the defaults. NULL on error. */
VITNT_API vitnt_model* vitnt_model_load(const char* weights_path, const char* description_json,
                                        const vitnt_model_options* options);
VITNT_API void vitnt_model_free(vitnt_model* model);

/* What a model expects and gives: crops of img_size x img_size, embeddings of
 * embedding_size floats (asking for one fails when the file has no FR head), patch maps
 * of grid x grid. -1 for a NULL model. */
VITNT_API int vitnt_model_img_size(const vitnt_model* model);
VITNT_API int vitnt_model_embedding_size(const vitnt_model* model);
VITNT_API int vitnt_model_grid(const vitnt_model* model);
/* The model's description as JSON; valid until vitnt_model_free. */
VITNT_API const char* vitnt_model_description(const vitnt_model* model);

/* ---- face detection for photos ---- */

typedef struct vitnt_detector vitnt_detector;

/* A YuNet ONNX face detector (yunet_s_640_640.onnx); faces scoring below
 * `score_threshold` (in [0, 1]; `vitnt score --detect` uses 0.5) are not reported. */
VITNT_API vitnt_detector* vitnt_detector_load(const char* onnx_path, float score_threshold);
VITNT_API void vitnt_detector_free(vitnt_detector* detector);

/* ---- scoring ---- */

typedef enum vitnt_faces {
  VITNT_FACES_CENTRAL = 0, /* one face: the confident one nearest the photo's centre */
  VITNT_FACES_LARGEST = 1, /* one face: the largest box */
  VITNT_FACES_ALL = 2      /* every face, best detection score first */
} vitnt_faces;

typedef struct vitnt_score_options {
  int embedding;           /* 1: also the FR embedding (runs the whole network) */
  int patch_map;           /* 1: also every patch quality q_p */
  int first_block;         /* block range A:B; -1: the model's */
  int last_block;          /* -1: the model's */
  float scaling;           /* s in q_p = 2 / (1 + exp(s d_p)); 0: the model's */
  const char* aggregation; /* "attention-last" | "attention-all" | "uniform"; NULL: the model's */
  int faces;               /* with a detector: a vitnt_faces value */
  int resize;              /* encoded crops of another size: 1 resizes them, 0 refuses them */
  /* the FR system the scalar is calibrated for: a calibration block of the model by name
   * (vitnt_model_calibration_name); NULL: the model's default. Unknown: VITNT_ERR_ARGUMENT. */
  const char* calibration_for;
} vitnt_score_options;

VITNT_API void vitnt_score_options_init(vitnt_score_options* options);

/* The name of the model's calibration block i (0: the default one), for
 * options.calibration_for; NULL past the last (a model without calibration has none).
 * Valid while the model lives. */
VITNT_API const char* vitnt_model_calibration_name(const vitnt_model* model, size_t i);

typedef struct vitnt_result vitnt_result;

/* An encoded image (the bytes of a JPEG, PNG, BMP, WebP, TIFF, PNM file), decoded as
 * `vitnt score` decodes files (EXIF orientation, grayscale, 16-bit, alpha over white;
 * more than 100 megapixels refused from the header). `detector` NULL: the image is an
 * aligned crop (one face); else a photo whose faces (options->faces) are detected and
 * aligned first, as `vitnt score --detect` does; a photo without a face gives a result
 * with 0 faces. `options` NULL: the defaults. NULL on error. */
VITNT_API vitnt_result* vitnt_score_encoded(const vitnt_model* model, const void* data, size_t size,
                                            const vitnt_detector* detector,
                                            const vitnt_score_options* options);
/* The same for an image file. */
VITNT_API vitnt_result* vitnt_score_file(const vitnt_model* model, const char* path,
                                         const vitnt_detector* detector,
                                         const vitnt_score_options* options);

typedef enum vitnt_channel_order { VITNT_RGB = 0, VITNT_BGR = 1 } vitnt_channel_order;

/* Raw pixels of one aligned crop: 8-bit, 3 channels interleaved, rows `stride` bytes
 * apart (0: width * 3). */
typedef struct vitnt_image {
  const uint8_t* data;
  int width;
  int height;
  size_t stride;
  int channel_order; /* a vitnt_channel_order value */
} vitnt_image;

/* `count` aligned crops of img_size x img_size, scored in one batch (face i = crop i).
 * NULL on error. */
VITNT_API vitnt_result* vitnt_score_pixels(const vitnt_model* model, const vitnt_image* crops,
                                           size_t count, const vitnt_score_options* options);

/* ---- results ---- */

VITNT_API void vitnt_result_free(vitnt_result* result);
/* Number of faces: the crops given, or the faces chosen in a photo (0: none found). */
VITNT_API size_t vitnt_result_count(const vitnt_result* result);

/* Face i of a result. On a bad result or index: NaN / -1 / NULL / VITNT_ERR_ARGUMENT,
 * with vitnt_last_error() set. */
VITNT_API float vitnt_face_quality(const vitnt_result* result, size_t i); /* Q, in (0, 1] */
/* Calibrated 0..100; -1: the model has no calibration for these settings. */
VITNT_API int vitnt_face_scalar(const vitnt_result* result, size_t i);
/* The calibration block (FR system) the result's scalars are calibrated for; NULL when
 * they are -1. Valid until the result is freed. */
VITNT_API const char* vitnt_result_scalar_for(const vitnt_result* result);
/* Detection confidence in [0, 1]; -1 for a face given as an aligned crop. */
VITNT_API float vitnt_face_det_score(const vitnt_result* result, size_t i);
/* Box x, y, width, height and the 5 landmarks x1, y1, ..., x5, y5 (eyes, nose tip, mouth
 * corners, the image's left one first) in the photo's pixels; zeros for a face given as
 * an aligned crop. */
VITNT_API int vitnt_face_box(const vitnt_result* result, size_t i, float box[4]);
VITNT_API int vitnt_face_landmarks(const vitnt_result* result, size_t i, float landmarks[10]);
/* The FR embedding (not normalised), *length floats; NULL and 0 unless asked for. */
VITNT_API const float* vitnt_face_embedding(const vitnt_result* result, size_t i, size_t* length);
/* The patch qualities q_p, row-major *grid x *grid; NULL and 0 unless asked for. */
VITNT_API const float* vitnt_face_patch_map(const vitnt_result* result, size_t i, int* grid);

#ifdef __cplusplus
}
#endif

#endif /* VITNT_C_H */
