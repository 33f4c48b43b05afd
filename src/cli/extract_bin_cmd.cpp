// `vitnt extract-bin`: an insightface verification .bin (pickle) into image files and a
// pairs.csv that `vitnt score` and `vitnt eval` read; the pickle is parsed, never run.
#include <cstdio>

#include "cli/commands.h"
#include "eval/insightface_bin.h"

namespace vitnt::cli {

namespace {

struct ExtractArgs {
  std::string input, output_dir, array_order = "RGB";
};

int run_extract(const ExtractArgs& a) {
  if (a.array_order != "RGB" && a.array_order != "BGR")
    throw Error("--array-order must be RGB or BGR, got '" + a.array_order + "'");
  const eval::VerificationBin bin = eval::read_verification_bin(
      a.input, a.array_order == "RGB" ? ChannelOrder::RGB : ChannelOrder::BGR);
  eval::write_verification_dir(bin, a.output_dir);
  size_t genuine = 0;
  for (bool s : bin.issame) genuine += s;
  std::printf(
      "%zu images (%zu pixel arrays encoded to PNG), %zu pairs (%zu genuine) -> %s/pairs.csv\n",
      bin.images.size(), bin.arrays_encoded, bin.issame.size(), genuine, a.output_dir.c_str());
  return 0;
}

}  // namespace

Command add_extract_bin_command(CLI::App& app) {
  auto args = std::make_shared<ExtractArgs>();
  ExtractArgs& a = *args;
  CLI::App* cmd = app.add_subcommand(
      "extract-bin",
      "insightface verification .bin (lfw.bin, cfp_fp.bin, ...) to images + pairs.csv");
  cmd->add_option("input", a.input, "the .bin file (a pickle; read without executing it)")
      ->required();
  cmd->add_option("-o,--output-dir", a.output_dir, "writes DIR/images/NNNNN.jpg and DIR/pairs.csv")
      ->required();
  cmd->add_option("--array-order", a.array_order,
                  "channel order of images stored as pixel arrays (RGB|BGR)")
      ->capture_default_str();
  return {cmd, [args] { return run_extract(*args); }};
}

}  // namespace vitnt::cli
