#include "eval/insightface_bin.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <opencv2/imgcodecs.hpp>

#include "eval/pairs.h"
#include "io/file_util.h"
#include "test_util.h"

namespace fs = std::filesystem;

namespace vitnt::eval {
namespace {

std::string small_lfw() { return test::shared_dir() + "/data/bin/small_lfw.bin"; }

TEST(InsightfaceBin, SmallLfwToImagesAndPairs) {
  if (!fs::exists(small_lfw())) GTEST_SKIP() << small_lfw() << " missing (set VITNT_SHARED)";
  const VerificationBin bin = read_verification_bin(small_lfw());
  ASSERT_EQ(bin.images.size(), 20u);
  ASSERT_EQ(bin.issame.size(), 10u);
  for (bool s : bin.issame) EXPECT_TRUE(s);
  EXPECT_EQ(bin.arrays_encoded, 0u);  // 1-D uint8 arrays of JPEG bytes, written as they are
  for (size_t i = 0; i < bin.images.size(); ++i) {
    EXPECT_EQ(bin.formats[i], "jpeg");
    cv::Mat m = cv::imdecode(std::vector<uint8_t>(bin.images[i].begin(), bin.images[i].end()),
                             cv::IMREAD_COLOR);
    EXPECT_EQ(m.cols, 112) << i;
    EXPECT_EQ(m.rows, 112) << i;
  }
  const fs::path dir = test::temp_dir("insightface_bin");
  write_verification_dir(bin, dir.string());
  const std::vector<Pair> pairs = read_pairs((dir / "pairs.csv").string(), dir.string());
  ASSERT_EQ(pairs.size(), 10u);
  for (size_t i = 0; i < pairs.size(); ++i) {
    EXPECT_TRUE(pairs[i].genuine);
    EXPECT_EQ(pairs[i].fold, static_cast<int>(i));  // 10 pairs: one per fold
    EXPECT_EQ(io::read_text_file(pairs[i].a), bin.images[2 * i]);
    EXPECT_EQ(io::read_text_file(pairs[i].b), bin.images[2 * i + 1]);
  }
  EXPECT_EQ(pairs[3].a, (dir / "images/00006.jpg").string());
  fs::remove_all(dir);
}

// Cut anywhere, the real file fails with an Error that names it (strided: 108 kB).
TEST(InsightfaceBin, TruncatedRealFileFailsCleanly) {
  if (!fs::exists(small_lfw())) GTEST_SKIP() << small_lfw() << " missing (set VITNT_SHARED)";
  const std::string b = io::read_text_file(small_lfw());
  for (size_t n = 0; n < b.size(); n += n < 400 ? 1 : 997) {
    try {
      parse_verification_bin(std::string_view(b).substr(0, n), "cut.bin");
      ADD_FAILURE() << "prefix " << n << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()).rfind("cut.bin: ", 0), 0u) << e.what();
    }
  }
}

TEST(InsightfaceBin, WrongLayoutIsNamed) {
  auto error_of = [](const std::string& b) -> std::string {
    try {
      parse_verification_bin(b, "x.bin");
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  // ([b'a', b'b', b'c'], [True]): 3 images for 1 pair
  const std::string three(
      "\x80\x04](C\x01"
      "aC\x01"
      "bC\x01"
      "ce]\x88"
      "a\x86.");
  EXPECT_NE(error_of(three).find("x.bin: 3 images for 1 pairs"), std::string::npos)
      << error_of(three);
  // ([b'ab', b'cd'], [True]): bytes that are no image
  const std::string junk(
      "\x80\x04](C\x02"
      "abC\x02"
      "cde]\x88"
      "a\x86.");
  EXPECT_NE(error_of(junk).find("x.bin: image 0: not an image file"), std::string::npos)
      << error_of(junk);
  // ([], [1]) -- ints are not bools
  const std::string ints(
      "\x80\x04]]K\x01"
      "a\x86.");
  EXPECT_NE(error_of(ints).find("issame_list[0] is a int"), std::string::npos) << error_of(ints);
  EXPECT_NE(error_of(std::string("\x80\x04N.", 4)).find("expected a pickled (bins, issame_list)"),
            std::string::npos);
}

}  // namespace
}  // namespace vitnt::eval
