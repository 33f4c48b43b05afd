// Memory-mapped safetensors reader: an 8-byte little-endian header length, a JSON
// header {name: {dtype, shape, data_offsets: [begin, end]}}, then the raw data.
// Every malformed file gets a vitnt::Error naming the file and the problem.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace vitnt::io {

// Weights are F32, F16 or BF16; the integer types are read (and only ever used to
// recognise BatchNorm's num_batches_tracked counters, which PyTorch stores as I64).
enum class DType { F32, F16, BF16, I64, I32, I16, I8, U8, BOOL };
size_t dtype_size(DType t);
const char* dtype_name(DType t);
inline bool is_float(DType t) { return t == DType::F32 || t == DType::F16 || t == DType::BF16; }

struct TensorInfo {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  const uint8_t* data = nullptr;  // into the mapping
  size_t nbytes = 0;
  int64_t numel() const;
};

class SafeTensorsFile {
 public:
  explicit SafeTensorsFile(const std::string& path);
  SafeTensorsFile(const SafeTensorsFile&) = delete;
  SafeTensorsFile& operator=(const SafeTensorsFile&) = delete;
  ~SafeTensorsFile();

  const std::string& path() const { return path_; }
  const std::map<std::string, TensorInfo>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  // Tensor converted to fp32 (F16/BF16 widened exactly); an integer tensor is an Error.
  static std::vector<float> to_f32(const TensorInfo& t);

 private:
  std::string path_;
  void* map_ = nullptr;
  size_t size_ = 0;
  std::map<std::string, TensorInfo> tensors_;
  std::map<std::string, std::string> metadata_;
};

std::string shape_str(const std::vector<int64_t>& shape);

// A copy of safetensors file `src` at `dst` (written atomically) whose metadata entries
// `set` replace or add to the original's; tensors byte for byte the same.
void copy_with_metadata(const std::string& src, const std::string& dst,
                        const std::map<std::string, std::string>& set);

// A tensor still in its mapped file: converted when needed, and its pages handed back
// to the kernel afterwards, so a model's resident memory is its packed weights, not
// also a second copy of the file.
struct WeightSource {
  std::shared_ptr<const SafeTensorsFile> file;  // keeps the mapping alive
  const TensorInfo* info = nullptr;
  std::vector<float> to_f32() const { return SafeTensorsFile::to_f32(*info); }
  void release() const;  // madvise(DONTNEED) the whole pages inside the tensor
};

}  // namespace vitnt::io
