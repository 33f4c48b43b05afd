// The `vitnt` command. Each subcommand lives in its own file (src/cli/*_cmd.cpp) and
// registers itself here.
//
// Exit codes: 0 success; 1 fatal (arguments, model, output: nothing written);
// 2 some inputs failed (reported on stderr and skipped; the output holds the others).
#include <malloc.h>

#include <cstdio>

#include "cli/commands.h"

int main(int argc, char** argv) {
  // Buffers of 1 MB and more (weight conversions while packing, activations) get their
  // own mappings and go back to the system when freed; glibc's default threshold grows
  // with the first large free and then keeps such buffers in the heap (~12 MB more peak
  // RSS for ViT-B, docs/performance.md). Process-wide, so the CLI sets it, not the library.
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  using namespace vitnt::cli;
  CLI::App app{"vitnt: face image quality (ViTNT-FIQA) from one pass of a face ViT"};
  app.require_subcommand(1);
  const std::vector<Command> commands = {
      add_score_command(app),       add_info_command(app),  add_bench_command(app),
      add_eval_command(app),        add_align_command(app), add_calibrate_command(app),
      add_extract_bin_command(app), add_best_command(app),  add_serve_command(app)};
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 1;
  }
  try {
    for (const Command& c : commands)
      if (c.app->parsed()) return c.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vitnt: error: %s\n", e.what());
    return 1;
  }
  return 1;
}
