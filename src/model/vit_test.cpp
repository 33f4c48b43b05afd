// Strict weight binding: every mismatch is an error that names the tensor.
#include "model/vit.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace vitnt::model {
namespace {

using test::FakeTensor;

ModelConfig tiny() {
  return parse_model_config(
      R"({"patch_size":16,"embed_dim":8,"depth":2,"num_heads":2,"mlp_ratio":2,
          "num_features":4,"vitnt":{"blocks":[0,1]}})",
      "tiny");
}

std::vector<FakeTensor> tiny_tensors(const std::string& prefix = "") {
  std::vector<FakeTensor> t = {{prefix + "patch_embed.proj.weight", {8, 3, 16, 16}, 0.01f},
                               {prefix + "patch_embed.proj.bias", {8}, 0},
                               {prefix + "pos_embed", {1, 49, 8}, 0},
                               {prefix + "norm.weight", {8}, 1},
                               {prefix + "norm.bias", {8}, 0}};
  for (int i = 0; i < 2; ++i) {
    std::string b = prefix + "blocks." + std::to_string(i) + ".";
    for (auto [n, s] :
         std::vector<std::pair<std::string, std::vector<int64_t>>>{{"norm1.weight", {8}},
                                                                   {"norm1.bias", {8}},
                                                                   {"attn.qkv.weight", {24, 8}},
                                                                   {"attn.proj.weight", {8, 8}},
                                                                   {"attn.proj.bias", {8}},
                                                                   {"norm2.weight", {8}},
                                                                   {"norm2.bias", {8}},
                                                                   {"mlp.fc1.weight", {16, 8}},
                                                                   {"mlp.fc1.bias", {16}},
                                                                   {"mlp.fc2.weight", {8, 16}},
                                                                   {"mlp.fc2.bias", {8}}})
      t.push_back({b + n, s, 0.1f});
  }
  return t;
}

std::string bind_error(const std::vector<FakeTensor>& t, const ModelConfig& c = tiny()) {
  auto p = test::temp_dir("bind") / "m.safetensors";
  test::write_bytes(p, test::f32_file(t));
  try {
    bind_weights(std::make_shared<const io::SafeTensorsFile>(p.string()), c);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(BindWeights, AcceptsCompleteBackboneWithPrefixes) {
  EXPECT_EQ(bind_error(tiny_tensors()), "no error");
  EXPECT_EQ(bind_error(tiny_tensors("net.")), "no error");
  EXPECT_EQ(bind_error(tiny_tensors("module.")), "no error");
  auto t = tiny_tensors("net.");
  t.push_back({"net.mask_token", {1, 1, 8}, 0});  // training-only extra, ignored by default
  EXPECT_EQ(bind_error(t), "no error");
}

TEST(BindWeights, MissingTensorIsNamed) {
  auto t = tiny_tensors();
  t.erase(t.begin() + 7);  // a block-0 tensor
  std::string msg = bind_error(t);
  EXPECT_NE(msg.find("missing tensor 'blocks.0."), std::string::npos) << msg;
}

TEST(BindWeights, ShapeMismatchNamesTensorAndBothShapes) {
  auto t = tiny_tensors();
  for (auto& x : t)
    if (x.name == "blocks.1.attn.proj.weight") x.shape = {8, 4};
  std::string msg = bind_error(t);
  EXPECT_NE(msg.find("blocks.1.attn.proj.weight"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[8, 4]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[8, 8]"), std::string::npos) << msg;
}

TEST(BindWeights, ArchitectureMismatchIsExplained) {
  ModelConfig c = tiny();
  c.depth = 3;
  EXPECT_NE(bind_error(tiny_tensors(), c).find("depth"), std::string::npos);
  c = tiny();
  c.embed_dim = 16;
  EXPECT_NE(bind_error(tiny_tensors(), c).find("embed_dim"), std::string::npos);
}

TEST(BindWeights, UnusedTensorIsAnError) {
  auto t = tiny_tensors();
  t.push_back({"head.weight", {4, 8}, 0});
  std::string msg = bind_error(t);
  EXPECT_NE(msg.find("not used"), std::string::npos) << msg;
  EXPECT_NE(msg.find("head.weight"), std::string::npos) << msg;
  auto q = tiny_tensors();
  q.push_back({"blocks.0.attn.qkv.bias", {24}, 0});
  EXPECT_NE(bind_error(q).find("qkv has no bias"), std::string::npos);
}

TEST(BindWeights, PartialHeadIsAnError) {
  auto t = tiny_tensors();
  t.push_back({"feature.0.weight", {8, 49 * 8}, 0});
  EXPECT_NE(bind_error(t).find("feature.1.weight"), std::string::npos);
}

}  // namespace
}  // namespace vitnt::model
