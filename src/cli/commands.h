// The greenai commands, as one table from which help, dispatch and the hand-over to
// greenai-torch are derived. Each command returns the process exit code and throws UsageError
// or greenai::Error (exit 2) for bad input; the dispatcher prints those as one line.
//
// Two executables share the table: `greenai`, which does not link LibTorch (so `greenai run`
// starts in milliseconds), and `greenai-torch`, which does. In `greenai`, a command that
// needs_torch has no run: it is handed over, same arguments, to greenai-torch beside it; and a
// command that may need LibTorch only for some arguments (forecast and schedule with the LSTM)
// throws NeedsTorch once it has parsed them.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "greenai/util/json.h"

namespace greenai::site {
class Controller;
}

namespace greenai::cli {

using CommandFn = int (*)(int argc, char** argv);

struct Command {
  std::string_view name;
  CommandFn run;             ///< nullptr where this executable hands it to greenai-torch
  bool needs_torch;          ///< it links LibTorch (always runs in greenai-torch)
  std::string_view group;    ///< the help's heading
  std::string_view summary;  ///< the help's text; lines after the first are indented
};

/// Every command, in the help's order, as this executable runs them.
std::span<const Command> command_table();

/// Thrown by a command of `greenai` when its arguments ask for what only greenai-torch has (the
/// LSTM), before it has printed or written anything: the dispatcher hands over to greenai-torch.
struct NeedsTorch {};

/// The top-level help: the table's summaries by group, then docs/cli/greenai.txt.
std::string overview_text(std::span<const Command> commands);

/// The executable's main: --help, --version, then the command named by argv[1].
/// `self` is how the executable names itself in errors ("greenai", "greenai-torch").
int dispatch(int argc, char** argv, std::span<const Command> commands, const char* self);

// The commands.
int run_command(int argc, char** argv);
int sensors_command(int argc, char** argv);
int co2_command(int argc, char** argv);
/// `greenai tune`: --replay runs here; a MODEL goes to `tune_model` (greenai-torch's
/// tune_model_command, or a hand-over to it), null where there is no LibTorch.
int tune_main(int argc, char** argv, CommandFn tune_model);
int workload_command(int argc, char** argv);
/// `greenai site`: simulate runs here; the RL controller (loading one to simulate, and `site
/// train`) lives in greenai-torch: `rl` is its hooks there, hand-overs in a greenai with
/// greenai-torch beside it, and nulls where there is no LibTorch.
struct LoadedSiteAgent {
  std::unique_ptr<site::Controller> controller;
  util::Json training;  ///< what its file says of its training (options, episodes, energy)
};
struct SiteRlHooks {
  LoadedSiteAgent (*load)(const std::string& path) = nullptr;
  CommandFn train = nullptr;
};
int site_main(int argc, char** argv, const SiteRlHooks& rl);
int pipeline_command(int argc, char** argv);
int train_command(int argc, char** argv);  // greenai-torch only, as all below
int distill_command(int argc, char** argv);
int prune_command(int argc, char** argv);
int eval_command(int argc, char** argv);
int quantize_command(int argc, char** argv);
int export_command(int argc, char** argv);
int bench_command(int argc, char** argv);
int rl_command(int argc, char** argv);
int fl_command(int argc, char** argv);
int hardware_command(int argc, char** argv);
int tune_model_command(int argc, char** argv);
LoadedSiteAgent load_site_rl(const std::string& path);
int site_train_command(int argc, char** argv);

}  // namespace greenai::cli
