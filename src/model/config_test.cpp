#include <gtest/gtest.h>

#include "vitnt/vitnt.h"

namespace vitnt {
namespace {

TEST(ModelConfig, BuiltinsMatchTheMethodTable) {
  ModelConfig b = builtin_arch("cvlface-vit-b");
  EXPECT_EQ(b.patch_size, 8);
  EXPECT_EQ(b.num_patches(), 196);
  EXPECT_EQ(b.depth, 24);
  EXPECT_EQ(b.num_heads, 16);
  EXPECT_EQ(b.mlp_hidden(), 1536);
  EXPECT_EQ(b.first_block, 0);
  EXPECT_EQ(b.last_block, 19);  // the paper's default
  EXPECT_EQ(b.scaling, 8.0f);
  EXPECT_EQ(b.aggregation, Aggregation::AttentionLast);
  EXPECT_EQ(b.channel_order, ChannelOrder::RGB);
  ModelConfig t = builtin_arch("insightface-vit-t");
  EXPECT_EQ(t.num_patches(), 144);  // 112 / 9 = 12, last 4 pixels unused
  EXPECT_EQ(t.embed_dim, 256);
  EXPECT_EQ(builtin_arch_names().size(), 7u);
  // the authors' published run feeds BGR to CVLface: the same network, BGR input
  ModelConfig bgr = builtin_arch("cvlface-vit-b-authors-bgr");
  EXPECT_EQ(bgr.channel_order, ChannelOrder::BGR);
  EXPECT_EQ(bgr.depth, b.depth);
  EXPECT_EQ(bgr.last_block, b.last_block);
}

TEST(ModelConfig, RoundTripsThroughJson) {
  ModelConfig c = builtin_arch("insightface-vit-l");
  c.channel_order = ChannelOrder::BGR;
  c.mean[1] = 0.25f;
  c.aggregation = Aggregation::Uniform;
  ModelConfig d = parse_model_config(model_config_to_json(c), "roundtrip");
  EXPECT_EQ(d.embed_dim, 768);
  EXPECT_EQ(d.channel_order, ChannelOrder::BGR);
  EXPECT_EQ(d.mean[1], 0.25f);
  EXPECT_EQ(d.aggregation, Aggregation::Uniform);
  EXPECT_EQ(d.last_block, c.last_block);
}

TEST(ModelConfig, RejectsBadDescriptions) {
  auto err = [](const std::string& json) {
    try {
      parse_model_config(json, "desc.json");
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("desc.json"), std::string::npos);
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(err("{").find("malformed"), std::string::npos);
  EXPECT_NE(err(R"({"patch_size":8})").find("embed_dim"), std::string::npos);
  const std::string base = R"("patch_size":8,"embed_dim":512,"depth":12,"mlp_ratio":4)";
  EXPECT_NE(err("{" + base + R"(,"num_heads":7})").find("multiple"), std::string::npos);
  EXPECT_NE(err("{" + base + R"(,"num_heads":8,"vitnt":{"blocks":[5,5]}})").find("range"),
            std::string::npos);
  EXPECT_NE(err("{" + base + R"(,"num_heads":8,"vitnt":{"blocks":[0,12]}})").find("range"),
            std::string::npos);
  EXPECT_NE(err("{" + base + R"(,"num_heads":8,"input":{"channel_order":"YUV"}})").find("RGB"),
            std::string::npos);
  EXPECT_NE(err("{" + base + R"(,"num_heads":8,"vitnt":{"aggregation":"max"}})").find("max"),
            std::string::npos);
  EXPECT_THROW(builtin_arch("vit-huge"), Error);
  EXPECT_THROW(parse_aggregation("mean"), Error);
}

}  // namespace
}  // namespace vitnt
