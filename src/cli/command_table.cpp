// The command table, compiled into each executable: GREENAI_CLI_TORCH in greenai-torch (every
// command runs here), GREENAI_TORCH_SIBLING in a greenai that has greenai-torch beside it.
#include <array>

#include "cli/commands.h"
#include "cli/grid_models.h"

#if GREENAI_CLI_TORCH
#include "greenai/grid/lstm.h"
#endif

namespace greenai::cli {
namespace {

#if GREENAI_CLI_TORCH
#define GREENAI_TORCH_RUN(fn) fn
int forecast_with_lstm(int argc, char** argv) {
  return forecast_main(argc, argv, grid::lstm_model);
}
int schedule_with_lstm(int argc, char** argv) {
  return schedule_main(argc, argv, grid::lstm_model);
}
int tune_with_models(int argc, char** argv) { return tune_main(argc, argv, tune_model_command); }
int site_with_rl(int argc, char** argv) {
  return site_main(argc, argv, {load_site_rl, site_train_command});
}
#else
#define GREENAI_TORCH_RUN(fn) nullptr
#ifdef GREENAI_TORCH_SIBLING
// The LSTM lives in greenai-torch: asking for it hands the command over, arguments unchanged.
std::unique_ptr<grid::Forecaster> hand_over(const grid::LstmOptions&) { throw NeedsTorch{}; }
int forecast_with_lstm(int argc, char** argv) { return forecast_main(argc, argv, hand_over); }
int schedule_with_lstm(int argc, char** argv) { return schedule_main(argc, argv, hand_over); }
int hand_over_command(int, char**) { throw NeedsTorch{}; }
int tune_with_models(int argc, char** argv) { return tune_main(argc, argv, hand_over_command); }
LoadedSiteAgent hand_over_site_rl(const std::string&) { throw NeedsTorch{}; }
int site_with_rl(int argc, char** argv) {
  return site_main(argc, argv, {hand_over_site_rl, hand_over_command});
}
#else
// No LibTorch at all: the LSTM is listed as skipped, or refused when asked for alone.
int forecast_with_lstm(int argc, char** argv) { return forecast_main(argc, argv, nullptr); }
int schedule_with_lstm(int argc, char** argv) { return schedule_main(argc, argv, nullptr); }
int tune_with_models(int argc, char** argv) { return tune_main(argc, argv, nullptr); }
int site_with_rl(int argc, char** argv) { return site_main(argc, argv, {}); }
#endif
#endif

constexpr const char* kMain = "The main job";
constexpr const char* kMeasure = "Measure";
constexpr const char* kShift = "Shift";
constexpr const char* kCut = "Cut (Fashion-MNIST on LibTorch, every run energy-accounted)";

const std::array kCommands{
    Command{"pipeline", pipeline_command, false, kMain,
            "every green technique end to end: accuracy, energy and carbon per variant,\n"
            "results.json and report.html"},
    Command{"run", run_command, false, kMeasure,
            "run a command and track the energy and carbon of its whole process tree"},
    Command{"sensors", sensors_command, false, kMeasure,
            "list the energy sensors here, what they read, and how to fix those that fail"},
    Command{"co2", co2_command, false, kMeasure, "kWh to kg CO2eq by intensity or country"},
    Command{"workload", workload_command, false, kMeasure,
            "a small CPU-bound stand-in workload (what `greenai run` tracks by default)"},
    Command{"hardware", GREENAI_TORCH_RUN(hardware_command), true, kMeasure,
            "the CPU's model and features, the edge kernels it runs, and whether bf16\n"
            "training pays here (a measured probe)"},
    Command{"forecast", forecast_with_lstm, false, kShift,
            "forecast a series (demand, grid intensity) with an LSTM and the baselines;\n"
            "MAPE per step, energy per model"},
    Command{"schedule", schedule_with_lstm, false, kShift,
            "when to run a job within a window so that it emits the least; on a forecast;\n"
            "or replayed over a year of history"},
    Command{"tune", tune_with_models, false, kShift,
            "the least-energy variant, threads and batch size to serve a model here under a\n"
            "p99 bound (measured); or tuners of batch size and GPU power limit replayed\n"
            "over Zeus's traces of recurring training jobs"},
    Command{"site", site_with_rl, false, kShift,
            "run a site's buildings, PV and batteries under a controller for a year (rule,\n"
            "MPC or a trained RL agent); scored as the CityLearn Challenge 2022 scored them"},
    Command{"fl", GREENAI_TORCH_RUN(fl_command), true, kShift,
            "federated learning (FedAvg, non-IID clients on their own grids) with random or\n"
            "carbon-aware client selection; energy and carbon per client and round"},
    Command{"rl", GREENAI_TORCH_RUN(rl_command), true, kShift,
            "energy-aware reinforcement learning on CartPole: Q-learning or DQN agents\n"
            "that balance with less mechanical work"},
    Command{"train", GREENAI_TORCH_RUN(train_command), true, kCut,
            "train a teacher, student or cnn (fp32, bf16 or fp16)"},
    Command{"distill", GREENAI_TORCH_RUN(distill_command), true, kCut,
            "teach a small student from a teacher checkpoint"},
    Command{"prune", GREENAI_TORCH_RUN(prune_command), true, kCut,
            "magnitude or structured pruning, with fine-tuning"},
    Command{"quantize", GREENAI_TORCH_RUN(quantize_command), true, kCut,
            "write a checkpoint as an int8 (static or dynamic) model for the edge runtime"},
    Command{"export", GREENAI_TORCH_RUN(export_command), true, kCut,
            "write a checkpoint or edge file as an edge or ONNX model (fp32 or int8)"},
    Command{"eval", GREENAI_TORCH_RUN(eval_command), true, kCut,
            "accuracy, size, and energy per 1,000 inferences of a checkpoint, edge or ONNX\n"
            "file"},
    Command{"bench", GREENAI_TORCH_RUN(bench_command), true, kCut,
            "latency p50/p99, throughput and energy per 1,000 inferences of models"},
};

}  // namespace

std::span<const Command> command_table() { return kCommands; }

}  // namespace greenai::cli
