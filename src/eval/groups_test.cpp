#include "eval/groups.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "eval/quality_file.h"
#include "vitnt/vitnt.h"

namespace vitnt::eval {
namespace {

std::string write(const std::string& name, const std::string& text) {
  const std::string p = (std::filesystem::temp_directory_path() / name).string();
  std::ofstream(p) << text;
  return p;
}

// 20 images: group A (10) has Q 0.1..1.0, group B (10) Q 1.1..2.0; the 20 % cut is the
// 5th smallest Q of all (0.5): A loses 4 of 10, B none.
TEST(Groups, PerGroupRejectionAndDifferential) {
  std::string csv = "path,grp,parity\n";
  std::map<std::string, double> q;
  std::map<std::string, int> scalar;
  for (int i = 1; i <= 20; ++i) {
    const std::string p = "/g/img" + std::to_string(i) + ".jpg";
    csv += p + "," + (i <= 10 ? "A" : "B") + "," + (i % 2 ? "odd" : "even") + "\n";
    q[image_key(p)] = i / 10.0;
    scalar[image_key(p)] = i * 5;  // 5..100
  }
  const Groups g = read_groups(write("groups_a.csv", csv));
  ASSERT_EQ(g.attributes, (std::vector<std::string>{"grp", "parity"}));
  // genuine pairs within A: (1,2) low Q and fails, (9,10) high and matches; across: ignored
  std::vector<Pair> pairs = {{"/g/img1.jpg", "/g/img2.jpg", true, 0.1, 0},
                             {"/g/img9.jpg", "/g/img10.jpg", true, 0.9, 0},
                             {"/g/img1.jpg", "/g/img20.jpg", true, 0.1, 0},
                             {"/g/img3.jpg", "/g/img12.jpg", false, 0.2, 0}};
  const MethodGroupReport r = group_report(g, {"m", &q, &scalar}, &pairs, 0.5, 200, 1);
  ASSERT_EQ(r.cuts.size(), 6u);                // 5 %, 20 %, scalar 20/40/60/80
  EXPECT_DOUBLE_EQ(r.cuts[0].threshold, 0.2);  // rank floor(0.05 * 20) = 1
  EXPECT_DOUBLE_EQ(r.cuts[1].threshold, 0.5);  // rank 4
  const AttributeReport& grp = r.attributes[0];
  ASSERT_EQ(grp.groups.size(), 2u);
  const GroupStats& a = grp.groups[0];
  const GroupStats& b = grp.groups[1];
  EXPECT_EQ(a.value, "A");
  EXPECT_EQ(a.n, 10u);
  EXPECT_DOUBLE_EQ(a.rejected[0], 0.1);  // Q 0.1 < 0.2
  EXPECT_DOUBLE_EQ(a.rejected[1], 0.4);  // 0.1..0.4 < 0.5
  EXPECT_DOUBLE_EQ(b.rejected[1], 0.0);
  EXPECT_DOUBLE_EQ(a.rejected[3], 0.7);       // scalar 5..35 < 40
  EXPECT_DOUBLE_EQ(b.rejected[5], 0.5);       // scalar 55..100 < 80: 55..75 -> 5 of 10
  EXPECT_NEAR(a.quantiles[2], 0.55, 1e-12);   // median of 0.1..1.0
  EXPECT_NEAR(a.quantiles[0], 0.145, 1e-12);  // 0.1 + 0.45 * 0.1
  // B rejects nothing at the 20 % cut: the differential is unbounded, A the highest
  EXPECT_TRUE(std::isinf(grp.differentials[1].ratio));
  EXPECT_EQ(grp.differentials[1].highest, "A");
  // per-group FNMR: A's two genuine pairs, one fails; after the 20 % cut only (9,10) remains
  EXPECT_EQ(a.genuine, 2u);
  EXPECT_DOUBLE_EQ(a.fnmr_before, 0.5);
  EXPECT_DOUBLE_EQ(a.fnmr_after, 0.0);
  EXPECT_DOUBLE_EQ(a.discarded, 0.5);
  EXPECT_EQ(b.genuine, 0u);
  // parity: odd and even both lose 2 of 10 at the 20 % cut -> ratio 1, interval around it
  const Differential& d = r.attributes[1].differentials[1];
  EXPECT_DOUBLE_EQ(d.ratio, 1.0);
  EXPECT_LE(d.lo, 1.0);
  EXPECT_GE(d.hi, 1.0);
  EXPECT_DOUBLE_EQ(d.p_value, 1.0);  // every shuffle is at least as extreme as equal shares
  // grp at the 5 % cut: A 1 of 10, B 0 -> inf; every shuffle puts the one rejected image
  // in one group, leaving the other at 0: inf again, so p = 1 exactly
  EXPECT_DOUBLE_EQ(grp.differentials[0].p_value, 1.0);
  // grp at the 20 % cut: A 4 of 10, B 0 of 10: a shuffle puts all 4 in one group with
  // probability 2 * C(10,4) / C(20,4) = 0.087, and only then is its ratio infinite
  EXPECT_NEAR(grp.differentials[1].p_value, 0.087, 0.06);
}

TEST(Groups, BadFilesNameTheFileAndLine) {
  auto expect_error = [](const std::string& text, const std::string& what) {
    const std::string p = write("groups_bad.csv", text);
    try {
      read_groups(p);
      ADD_FAILURE() << "accepted: " << text;
    } catch (const Error& e) {
      const std::string m = e.what();
      EXPECT_NE(m.find(p), std::string::npos) << m;
      EXPECT_NE(m.find(what), std::string::npos) << m;
    }
  };
  expect_error("file,gender\na.jpg,F\n", "line 1: the header must name a 'path'");
  expect_error("path\na.jpg\n", "line 1: no attribute column");
  expect_error("path,gender,race\na.jpg,F,X\nb.jpg,M\n", "line 3: expected 3 fields, got 2");
  expect_error("path,gender\na.jpg,F\na.jpg,M\n", "line 3: 'a.jpg' is listed twice");
  expect_error("path,gender\na.jpg,\n", "line 2: empty 'gender'");
  // an image of the groups file without a quality: the method and the image named
  const Groups g = read_groups(write("groups_ok.csv", "path,gender\n/x/a.jpg,F\n/x/b.jpg,M\n"));
  std::map<std::string, double> q = {{image_key("/x/a.jpg"), 0.5}};
  try {
    group_report(g, {"lightqnet", &q, nullptr}, nullptr, 0, 10);
    ADD_FAILURE() << "a missing quality was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("lightqnet: no quality for /x/b.jpg"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace vitnt::eval
