// The `vitnt` command. Each subcommand lives in its own file (src/cli/*_cmd.cpp) and
// registers itself here.
//
// Exit codes: 0 success; 1 fatal (arguments, model, output: nothing written);
// 2 some inputs failed (reported on stderr and skipped; the output holds the others).
#include <cstdio>

#include "cli/commands.h"

int main(int argc, char** argv) {
  using namespace vitnt::cli;
  CLI::App app{"vitnt: face image quality (ViTNT-FIQA) from one pass of a face ViT"};
  app.require_subcommand(1);
  const std::vector<Command> commands = {add_score_command(app), add_info_command(app),
                                         add_bench_command(app), add_eval_command(app),
                                         add_align_command(app)};
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
