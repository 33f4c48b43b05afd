// Helpers for the tests: temp folders, writing safetensors files byte by byte, and
// finding ../shared.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace vitnt::test {

inline std::filesystem::path temp_dir(const std::string& name) {
  auto p = std::filesystem::temp_directory_path() /
           ("vitnt_test_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::create_directories(p);
  return p;
}

inline void write_bytes(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream f(p, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A safetensors file from a header JSON text and a data section.
inline std::string safetensors_bytes(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + header + data;
}

struct FakeTensor {
  std::string name;
  std::vector<int64_t> shape;
  float value = 0;  // every element
};

// F32 safetensors with the given tensors (each filled with its value).
inline std::string f32_file(const std::vector<FakeTensor>& ts) {
  std::string header = "{", data;
  for (size_t i = 0; i < ts.size(); ++i) {
    int64_t n = 1;
    std::string shape;
    for (size_t k = 0; k < ts[i].shape.size(); ++k) {
      n *= ts[i].shape[k];
      shape += (k ? "," : "") + std::to_string(ts[i].shape[k]);
    }
    const size_t begin = data.size();
    for (int64_t j = 0; j < n; ++j) data.append(reinterpret_cast<const char*>(&ts[i].value), 4);
    header += (i ? "," : "") + std::string("\"") + ts[i].name +
              "\":{\"dtype\":\"F32\",\"shape\":[" + shape + "],\"data_offsets\":[" +
              std::to_string(begin) + "," + std::to_string(data.size()) + "]}";
  }
  return safetensors_bytes(header + "}", data);
}

// ../shared, or $VITNT_SHARED. Tests that need it skip with a message naming what is
// missing when it is absent.
inline std::string shared_dir() {
  const char* env = std::getenv("VITNT_SHARED");
  return env ? env : VITNT_SOURCE_DIR "/../shared";
}

}  // namespace vitnt::test
