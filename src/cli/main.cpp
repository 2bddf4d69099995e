// greenai: measure, cut and shift the energy and carbon of AI workloads.
//
// This executable does not link LibTorch, so `greenai run -- CMD` starts in milliseconds; the
// training commands are handed over to greenai-torch, installed beside it.
#include <cstring>
#include <iostream>
#include <string>

#include "cli/commands.h"
#include "cli/dispatch.h"
#include "greenai/version.h"

namespace {

const char* kHelp =
    "usage: greenai [--help] [--version] COMMAND [ARGS]\n"
    "\n"
    "The main job:\n"
    "  pipeline   every green technique end to end: accuracy, energy and carbon per variant,\n"
    "             results.json and report.html\n"
    "\n"
    "Measure:\n"
    "  run        run a command and track the energy and carbon of its whole process tree\n"
    "  sensors    list the energy sensors here, what they read, and how to fix those that fail\n"
    "  co2        kWh to kg CO2eq by intensity or country\n"
    "  workload   a small CPU-bound stand-in workload (what `greenai run` tracks by default)\n"
    "  hardware   the CPU's model and features, the edge kernels it runs, and whether bf16\n"
    "             training pays here (a measured probe)\n"
    "\n"
    "Shift:\n"
    "  forecast   forecast a series (demand, grid intensity) with an LSTM and the baselines;\n"
    "             MAPE per step, energy per model\n"
    "  schedule   when to run a job within a window so that it emits the least; on a forecast;\n"
    "             or replayed over a year of history\n"
    "  rl         energy-aware reinforcement learning on CartPole: Q-learning or DQN agents\n"
    "             that balance with less mechanical work\n"
    "\n"
    "Cut (Fashion-MNIST on LibTorch, every run energy-accounted):\n"
    "  train      train a teacher, student or cnn (fp32, bf16 or fp16)\n"
    "  distill    teach a small student from a teacher checkpoint\n"
    "  prune      magnitude or structured pruning, with fine-tuning\n"
    "  quantize   write a checkpoint as an int8 (static or dynamic) model for the edge runtime\n"
    "  export     write a checkpoint or edge file as an edge or ONNX model (fp32 or int8)\n"
    "  eval       accuracy, size, and energy per 1,000 inferences of a checkpoint, edge or ONNX\n"
    "             file\n"
    "  bench      latency p50/p99, throughput and energy per 1,000 inferences of models\n"
    "\n"
    "`greenai COMMAND --help` describes a command. Every energy figure says whether it was\n"
    "measured (RAPL, NVML) or estimated (a documented model), and how.\n"
    "\n"
    "Exit status: 0 ok; 2 bad usage or input (a one-line message, nothing started or written);\n"
    "1 an unexpected failure; for `run`, the command's own status (128+N if killed by signal N,\n"
    "126/127 if it cannot run).\n";

#ifdef GREENAI_TORCH_SIBLING
// The value of `--flag VALUE` or `--flag=VALUE` in argv, or nullptr.
const char* flag_value(int argc, char** argv, const char* flag) {
  const size_t length = std::strlen(flag);
  for (int i = 2; i < argc; ++i) {
    if (!std::strcmp(argv[i], flag)) return i + 1 < argc ? argv[i + 1] : "";
    if (!std::strncmp(argv[i], flag, length) && argv[i][length] == '=') return argv[i] + length + 1;
  }
  return nullptr;
}

// Whether the command may fit the LSTM, which lives in greenai-torch with LibTorch (loading it
// costs half a second): forecast and schedule --replay run every model unless told one, and
// schedule --forecaster runs the one named. The baselines run here.
bool may_need_lstm(const std::string& command, int argc, char** argv) {
  const char* flag = command == "forecast" ? "--model" : "--forecaster";
  bool models_by_default = command == "forecast";
  if (command == "schedule")
    for (int i = 2; i < argc; ++i) models_by_default |= !std::strcmp(argv[i], "--replay");
  const char* model = flag_value(argc, argv, flag);
  if (!model) return models_by_default;
  return !std::strcmp(model, "all") || !std::strcmp(model, "lstm");
}
#endif

}  // namespace

int main(int argc, char** argv) {
  using namespace greenai::cli;
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") ||
      !std::strcmp(argv[1], "help")) {
    (argc < 2 ? std::cerr : std::cout) << kHelp;
    return argc < 2 ? 2 : 0;
  }
  const std::string command = argv[1];
  if (command == "--version" || command == "version") {
    std::cout << "greenai " GREENAI_VERSION "\n";
    return 0;
  }
  if (command == "run") return run_guarded(command, run_command, argc, argv);
  if (command == "sensors") return run_guarded(command, sensors_command, argc, argv);
  if (command == "co2") return run_guarded(command, co2_command, argc, argv);
  if (command == "workload") return run_guarded(command, workload_command, argc, argv);
  if (command == "pipeline") return run_guarded(command, pipeline_command, argc, argv);
#ifdef GREENAI_TORCH_SIBLING
  if ((command == "forecast" || command == "schedule") && may_need_lstm(command, argc, argv))
    return exec_sibling("greenai-torch", command, argc, argv);
#endif
  if (command == "schedule") return run_guarded(command, schedule_command, argc, argv);
  if (command == "forecast") return run_guarded(command, forecast_command, argc, argv);
  for (const char* torch_command :
       {"train", "distill", "prune", "quantize", "export", "eval", "bench", "rl", "hardware"})
    if (command == torch_command) return exec_sibling("greenai-torch", command, argc, argv);
  std::cerr << "greenai: unknown command '" << command << "'\nTry `greenai --help`.\n";
  return 2;
}
