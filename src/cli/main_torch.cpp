// greenai-torch: the training commands of greenai (train, distill, prune, eval), which link
// LibTorch. Users call them through `greenai COMMAND`; greenai hands over with exec.
#include <iostream>
#include <string>

#include "cli/commands.h"
#include "cli/dispatch.h"
#include "cli/grid_models.h"
#include "greenai/grid/lstm.h"

int main(int argc, char** argv) {
  using namespace greenai::cli;
  const std::string command = argc > 1 ? argv[1] : "";
  if (command == "train") return run_guarded(command, train_command, argc, argv);
  if (command == "distill") return run_guarded(command, distill_command, argc, argv);
  if (command == "prune") return run_guarded(command, prune_command, argc, argv);
  if (command == "eval") return run_guarded(command, eval_command, argc, argv);
  if (command == "quantize") return run_guarded(command, quantize_command, argc, argv);
  if (command == "export") return run_guarded(command, export_command, argc, argv);
  if (command == "bench") return run_guarded(command, bench_command, argc, argv);
  if (command == "rl") return run_guarded(command, rl_command, argc, argv);
  if (command == "hardware") return run_guarded(command, hardware_command, argc, argv);
  // forecast and schedule with the LSTM, which needs LibTorch.
  if (command == "forecast")
    return run_guarded(
        command, [](int c, char** v) { return forecast_main(c, v, greenai::grid::lstm_model); },
        argc, argv);
  if (command == "schedule")
    return run_guarded(
        command, [](int c, char** v) { return schedule_main(c, v, greenai::grid::lstm_model); },
        argc, argv);
  std::cerr << "greenai-torch: expected train, distill, prune, quantize, export, eval, bench, "
               "rl, hardware, forecast or schedule; "
               "see `greenai "
               "--help`\n";
  return 2;
}
