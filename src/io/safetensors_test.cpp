#include "io/safetensors.h"

#include <gtest/gtest.h>

#include <cmath>

#include "test_util.h"
#include "vitnt/vitnt.h"

namespace vitnt::io {
namespace {

using test::safetensors_bytes;

std::string expect_error(const std::string& bytes) {
  auto dir = test::temp_dir("st");
  auto p = dir / "broken.safetensors";
  test::write_bytes(p, bytes);
  try {
    SafeTensorsFile f(p.string());
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find(p.string()), std::string::npos) << "error must name the file: " << msg;
    return msg;
  }
  ADD_FAILURE() << "no error for a broken file";
  return "";
}

TEST(SafeTensors, ReadsF32F16BF16) {
  // 1.5 in F32, F16 (0x3E00) and BF16 (0x3FC0); -2 as F16 (0xC000); F16 subnormal 2^-24
  std::string data;
  float f = 1.5f;
  data.append(reinterpret_cast<const char*>(&f), 4);
  const unsigned char h[] = {0x00, 0x3E, 0x00, 0xC0, 0x01, 0x00, 0xC0, 0x3F};
  data.append(reinterpret_cast<const char*>(h), sizeof h);
  std::string header = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                       R"("b":{"dtype":"F16","shape":[3],"data_offsets":[4,10]},)"
                       R"("c":{"dtype":"BF16","shape":[1],"data_offsets":[10,12]},)"
                       R"("__metadata__":{"k":"v"}})";
  auto p = test::temp_dir("st") / "ok.safetensors";
  test::write_bytes(p, safetensors_bytes(header, data));
  SafeTensorsFile file(p.string());
  ASSERT_EQ(file.tensors().size(), 3u);
  EXPECT_EQ(file.metadata().at("k"), "v");
  EXPECT_EQ(SafeTensorsFile::to_f32(file.tensors().at("a"))[0], 1.5f);
  auto b = SafeTensorsFile::to_f32(file.tensors().at("b"));
  EXPECT_EQ(b[0], 1.5f);
  EXPECT_EQ(b[1], -2.0f);
  EXPECT_EQ(b[2], std::ldexp(1.0f, -24));
  EXPECT_EQ(SafeTensorsFile::to_f32(file.tensors().at("c"))[0], 1.5f);
}

TEST(SafeTensors, BrokenFilesGiveCleanErrors) {
  const std::string t4 = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  EXPECT_NE(expect_error("").find("truncated"), std::string::npos);
  EXPECT_NE(expect_error("abc").find("truncated"), std::string::npos);
  // header length beyond the file
  EXPECT_NE(expect_error(safetensors_bytes(t4, "xxxx").substr(0, 20)).find("truncated"),
            std::string::npos);
  // absurd header length (header bomb)
  std::string bomb(8, '\xff');
  EXPECT_NE(expect_error(bomb + "{}").find("limit"), std::string::npos);
  EXPECT_NE(expect_error(safetensors_bytes("{not json", "")).find("malformed"), std::string::npos);
  EXPECT_NE(expect_error(safetensors_bytes("[1,2]", "")).find("not an object"), std::string::npos);
  // data missing (truncated data section)
  EXPECT_NE(expect_error(safetensors_bytes(t4, "xx")).find("outside"), std::string::npos);
  // offsets out of range / reversed
  EXPECT_NE(expect_error(safetensors_bytes(
                             R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})", "xxxx"))
                .find("outside"),
            std::string::npos);
  // size does not match shape
  EXPECT_NE(expect_error(safetensors_bytes(
                             R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", "xxxx"))
                .find("needs 8"),
            std::string::npos);
  // unknown dtype
  EXPECT_NE(
      expect_error(safetensors_bytes(R"({"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}})",
                                     "xxxxxxxx"))
          .find("unsupported dtype F64"),
      std::string::npos);
  // overlapping tensors
  EXPECT_NE(
      expect_error(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                     R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                                     "xxxxxxxx"))
          .find("overlap"),
      std::string::npos);
  // negative dim, shape overflow, missing fields
  EXPECT_NE(expect_error(safetensors_bytes(
                             R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", "xxxx"))
                .find("negative"),
            std::string::npos);
  EXPECT_NE(expect_error(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[4294967296,)"
                                           R"(4294967296],"data_offsets":[0,4]}})",
                                           "xxxx"))
                .find("overflow"),
            std::string::npos);
  EXPECT_NE(expect_error(safetensors_bytes(R"({"a":{"dtype":"F32"}})", "")).find("needs"),
            std::string::npos);
}

TEST(SafeTensors, MissingFileNamesIt) {
  try {
    SafeTensorsFile f("/nonexistent/x.safetensors");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/x.safetensors"), std::string::npos);
  }
}

// Every prefix of a valid file and random byte flips: errors, never crashes (run
// under the sanitizer build too).
TEST(SafeTensors, TruncationsAndFlipsNeverCrash) {
  std::string good = test::f32_file({{"w", {4, 4}, 0.5f}, {"b", {4}, 1.0f}});
  auto p = test::temp_dir("st") / "fuzz.safetensors";
  int errors = 0;
  for (size_t n = 0; n < good.size(); n += 3) {
    test::write_bytes(p, good.substr(0, n));
    try {
      SafeTensorsFile f(p.string());
    } catch (const Error&) {
      ++errors;
    }
  }
  EXPECT_GT(errors, 0);
  uint32_t seed = 12345;
  for (int it = 0; it < 2000; ++it) {
    std::string b = good;
    for (int k = 0; k < 3; ++k) {
      seed = seed * 1664525u + 1013904223u;
      b[(seed >> 8) % b.size()] = static_cast<char>(seed >> 24);
    }
    test::write_bytes(p, b);
    try {
      SafeTensorsFile f(p.string());
      for (const auto& [name, t] : f.tensors()) SafeTensorsFile::to_f32(t);
    } catch (const Error&) {
    }
  }
}

}  // namespace
}  // namespace vitnt::io
