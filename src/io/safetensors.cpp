#include "io/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "io/file_util.h"
#include "vitnt/vitnt.h"

namespace vitnt::io {

namespace {
// A header bigger than this is a broken or hostile file, not a model (real
// checkpoints have headers of tens of kilobytes).
constexpr uint64_t kMaxHeaderBytes = 64ull << 20;

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw Error(path + ": " + what);
}

float half_to_float(uint16_t h) {
  uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ffu, bits;
  if (exp == 0) {
    if (man == 0) {
      bits = sign;
    } else {  // subnormal: renormalise
      int e = -1;
      do {
        ++e;
        man <<= 1;
      } while (!(man & 0x400u));
      bits = sign | ((127 - 15 - e) << 23) | ((man & 0x3ffu) << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (man << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}
}  // namespace

namespace {
struct DTypeName {
  DType type;
  const char* name;
  size_t size;
};
constexpr DTypeName kDTypes[] = {
    {DType::F32, "F32", 4}, {DType::F16, "F16", 2}, {DType::BF16, "BF16", 2},
    {DType::I64, "I64", 8}, {DType::I32, "I32", 4}, {DType::I16, "I16", 2},
    {DType::I8, "I8", 1},   {DType::U8, "U8", 1},   {DType::BOOL, "BOOL", 1}};
}  // namespace

size_t dtype_size(DType t) {
  for (const auto& d : kDTypes)
    if (d.type == t) return d.size;
  return 0;
}
const char* dtype_name(DType t) {
  for (const auto& d : kDTypes)
    if (d.type == t) return d.name;
  return "?";
}

int64_t TensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string shape_str(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

SafeTensorsFile::SafeTensorsFile(const std::string& path) : path_(path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(path, std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail(path, "not a regular file");
  }
  size_ = static_cast<size_t>(st.st_size);
  if (size_ < 8) {
    ::close(fd);
    fail(path, "truncated: " + std::to_string(size_) + " bytes, not even a header length");
  }
  map_ = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map_ == MAP_FAILED) {
    map_ = nullptr;
    fail(path, std::string("mmap failed: ") + std::strerror(errno));
  }
  try {
    const auto* bytes = static_cast<const uint8_t*>(map_);
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | bytes[i];
    if (header_len > kMaxHeaderBytes)
      fail(path, "header length " + std::to_string(header_len) + " exceeds the " +
                     std::to_string(kMaxHeaderBytes) + "-byte limit (corrupt file?)");
    if (header_len > size_ - 8)
      fail(path, "truncated: header says " + std::to_string(header_len) +
                     " header bytes but the file has " + std::to_string(size_ - 8));
    nlohmann::json header;
    try {
      header = nlohmann::json::parse(bytes + 8, bytes + 8 + header_len);
    } catch (const nlohmann::json::exception& e) {
      fail(path, std::string("malformed JSON header: ") + e.what());
    }
    if (!header.is_object()) fail(path, "JSON header is not an object");
    const uint8_t* data = bytes + 8 + header_len;
    const uint64_t data_size = size_ - 8 - header_len;
    std::vector<std::pair<uint64_t, uint64_t>> ranges;
    for (auto& [name, v] : header.items()) {
      if (name == "__metadata__") {
        if (!v.is_object()) fail(path, "__metadata__ is not an object");
        for (auto& [k, s] : v.items())
          if (s.is_string()) metadata_[k] = s.get<std::string>();
        continue;
      }
      const std::string where = "tensor '" + name + "': ";
      if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") ||
          !v.contains("data_offsets"))
        fail(path, where + "entry needs dtype, shape and data_offsets");
      TensorInfo t;
      t.name = name;
      const auto& dt = v["dtype"];
      if (!dt.is_string()) fail(path, where + "dtype is not a string");
      const std::string d = dt.get<std::string>();
      const auto known = std::find_if(std::begin(kDTypes), std::end(kDTypes),
                                      [&](const DTypeName& k) { return d == k.name; });
      if (known == std::end(kDTypes))
        fail(path, where + "unsupported dtype " + d +
                       " (weights are F32, F16 or BF16; integer counters I64..U8, BOOL)");
      t.dtype = known->type;
      const auto& shape = v["shape"];
      if (!shape.is_array() || shape.size() > 8) fail(path, where + "bad shape");
      uint64_t numel = 1;
      for (const auto& s : shape) {
        if (!s.is_number_unsigned()) fail(path, where + "shape has a non-integer or negative dim");
        uint64_t dim = s.get<uint64_t>();
        if (dim != 0 && numel > std::numeric_limits<uint64_t>::max() / 8 / dim)
          fail(path, where + "shape overflows");
        numel *= dim;
        t.shape.push_back(static_cast<int64_t>(dim));
      }
      const auto& off = v["data_offsets"];
      if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() ||
          !off[1].is_number_unsigned())
        fail(path, where + "data_offsets must be two non-negative integers");
      uint64_t begin = off[0].get<uint64_t>(), end = off[1].get<uint64_t>();
      if (begin > end || end > data_size)
        fail(path, where + "data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                       "] outside the " + std::to_string(data_size) +
                       "-byte data section (truncated file?)");
      if (end - begin != numel * dtype_size(t.dtype))
        fail(path, where + "has " + std::to_string(end - begin) + " bytes, but " +
                       dtype_name(t.dtype) + " " + shape_str(t.shape) + " needs " +
                       std::to_string(numel * dtype_size(t.dtype)));
      t.data = data + begin;
      t.nbytes = end - begin;
      ranges.emplace_back(begin, end);
      tensors_.emplace(name, std::move(t));
    }
    std::sort(ranges.begin(), ranges.end());
    for (size_t i = 1; i < ranges.size(); ++i)
      if (ranges[i].first < ranges[i - 1].second)
        fail(path, "tensor data ranges overlap at byte " + std::to_string(ranges[i].first));
  } catch (...) {
    ::munmap(map_, size_);
    map_ = nullptr;
    throw;
  }
}

SafeTensorsFile::~SafeTensorsFile() {
  if (map_) ::munmap(map_, size_);
}

void WeightSource::release() const {
  const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(info->data) + page - 1) / page * page;
  const uintptr_t end = (reinterpret_cast<uintptr_t>(info->data) + info->nbytes) / page * page;
  // a read-only private file mapping: dropped pages are re-read from the file if touched
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

std::vector<float> SafeTensorsFile::to_f32(const TensorInfo& t) {
  if (!is_float(t.dtype))
    throw Error("tensor '" + t.name + "' is " + dtype_name(t.dtype) +
                ", not a weight (weights are F32, F16 or BF16)");
  std::vector<float> out(static_cast<size_t>(t.numel()));
  const size_t n = out.size();
  if (t.dtype == DType::F32) {
    std::memcpy(out.data(), t.data, n * 4);
  } else if (t.dtype == DType::F16) {
    for (size_t i = 0; i < n; ++i) {
      uint16_t h;
      std::memcpy(&h, t.data + 2 * i, 2);
      out[i] = half_to_float(h);
    }
  } else {
    for (size_t i = 0; i < n; ++i) {
      uint16_t h;
      std::memcpy(&h, t.data + 2 * i, 2);
      uint32_t bits = static_cast<uint32_t>(h) << 16;
      std::memcpy(&out[i], &bits, 4);
    }
  }
  return out;
}

void copy_with_metadata(const std::string& src, const std::string& dst,
                        const std::map<std::string, std::string>& set) {
  SafeTensorsFile check(src);  // a valid file, or an Error naming it
  const std::string bytes = read_text_file(src);
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | static_cast<uint8_t>(bytes[i]);
  nlohmann::json header = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + header_len);
  for (const auto& [k, v] : set) header["__metadata__"][k] = v;
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // keep the data 8-byte aligned
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((uint64_t(text.size()) >> (8 * i)) & 0xff);
  AtomicFile f(dst);
  f.write(out + text);
  f.write(bytes.substr(8 + header_len));
  f.commit();
}

}  // namespace vitnt::io
