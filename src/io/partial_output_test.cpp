#include "io/partial_output.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "io/file_util.h"
#include "test_util.h"
#include "vitnt/vitnt.h"

namespace vitnt::io {
namespace {

namespace fs = std::filesystem;
const nlohmann::json kSettings = {{"blocks", "2:6"}, {"inputs", 3}};
const std::string kHeader = "path,quality\n";
std::string key(const std::string& line) {
  return line + "\n" == kHeader ? std::string() : first_csv_field(line);
}

TEST(PartialOutput, WritesPartialThenRenames) {
  const fs::path out = test::temp_dir("partial1") / "scores.csv";
  {
    PartialOutput p(out.string(), kSettings, kHeader, false, key);
    p.append("a.jpg,0.5\n");
    EXPECT_FALSE(fs::exists(out));
    EXPECT_EQ(read_text_file(out.string() + ".partial"), kHeader + "a.jpg,0.5\n");
    EXPECT_TRUE(fs::exists(out.string() + ".partial.json"));
    p.commit();
  }
  EXPECT_EQ(read_text_file(out.string()), kHeader + "a.jpg,0.5\n");
  EXPECT_FALSE(fs::exists(out.string() + ".partial"));
  EXPECT_FALSE(fs::exists(out.string() + ".partial.json"));
}

TEST(PartialOutput, ResumeDropsCutLineAndLastInput) {
  const fs::path out = test::temp_dir("partial2") / "scores.csv";
  {
    PartialOutput p(out.string(), kSettings, kHeader, false, key);
    // "b" has two rows (two faces); the run was killed in the middle of "c"'s row
    p.append("a.jpg,0.5\n\"b,1.jpg\",0.25\n\"b,1.jpg\",0.75\nc.jpg,0.1");
  }  // not committed: as after a kill
  {
    PartialOutput r(out.string(), kSettings, kHeader, true, key);
    ASSERT_TRUE(r.resume_from());
    EXPECT_EQ(*r.resume_from(), "b,1.jpg");  // "b" may have been cut between its rows
    EXPECT_EQ(r.kept_rows(), 1u);
    std::vector<std::string> kept;
    r.for_each_kept_row([&](const std::string& l) { kept.push_back(l); });
    EXPECT_EQ(kept, std::vector<std::string>{"a.jpg,0.5"});
    r.append("\"b,1.jpg\",0.25\n\"b,1.jpg\",0.75\nc.jpg,0.1\n");
    r.commit();
  }
  EXPECT_EQ(read_text_file(out.string()),
            kHeader + "a.jpg,0.5\n\"b,1.jpg\",0.25\n\"b,1.jpg\",0.75\nc.jpg,0.1\n");
}

TEST(PartialOutput, ResumeWithoutRowsOrWithCutHeader) {
  const fs::path out = test::temp_dir("partial3") / "scores.csv";
  { PartialOutput p(out.string(), kSettings, kHeader, false, key); }
  test::write_bytes(out.string() + ".partial", "path,qua");  // killed inside the header
  PartialOutput r(out.string(), kSettings, kHeader, true, key);
  EXPECT_FALSE(r.resume_from());
  r.append("a.jpg,0.5\n");
  r.commit();
  EXPECT_EQ(read_text_file(out.string()), kHeader + "a.jpg,0.5\n");
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(PartialOutput, RefusesOverwriteMissingAndChangedSettings) {
  const fs::path out = test::temp_dir("partial4") / "scores.csv";
  const std::string partial = out.string() + ".partial";
  std::string e = error_of([&] { PartialOutput(out.string(), kSettings, kHeader, true, key); });
  EXPECT_NE(e.find("nothing to resume"), std::string::npos) << e;
  { PartialOutput p(out.string(), kSettings, kHeader, false, key); }
  e = error_of([&] { PartialOutput(out.string(), kSettings, kHeader, false, key); });
  EXPECT_NE(e.find(partial), std::string::npos) << e;
  EXPECT_NE(e.find("--resume"), std::string::npos) << e;
  nlohmann::json other = kSettings;
  other["blocks"] = "0:6";
  e = error_of([&] { PartialOutput(out.string(), other, kHeader, true, key); });
  EXPECT_NE(e.find("blocks = \"2:6\""), std::string::npos) << e;
  EXPECT_NE(e.find("\"0:6\""), std::string::npos) << e;
  e = error_of([&] { PartialOutput(out.string(), kSettings, "path,quality,emb_0\n", true, key); });
  EXPECT_NE(e.find("header"), std::string::npos) << e;
}

TEST(PartialOutput, FirstCsvField) {
  EXPECT_EQ(first_csv_field("a.jpg,0.5"), "a.jpg");
  EXPECT_EQ(first_csv_field("\"x,\"\"y\"\".jpg\",0.5"), "x,\"y\".jpg");
  EXPECT_EQ(first_csv_field("plain"), "plain");
}

}  // namespace
}  // namespace vitnt::io
