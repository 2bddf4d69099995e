// The greenai subcommands. Each returns the process exit code and throws UsageError (exit 2)
// or greenai::Error (exit 2) for bad input; main() prints those as one line.
#pragma once

namespace greenai::cli {

int run_command(int argc, char** argv);
int sensors_command(int argc, char** argv);
int co2_command(int argc, char** argv);
int workload_command(int argc, char** argv);
int pipeline_command(int argc, char** argv);
int schedule_command(int argc, char** argv);
int forecast_command(int argc, char** argv);  // runs greenai-torch stages
int train_command(int argc, char** argv);
int distill_command(int argc, char** argv);
int prune_command(int argc, char** argv);
int eval_command(int argc, char** argv);      // greenai-torch only
int quantize_command(int argc, char** argv);  // greenai-torch only
int export_command(int argc, char** argv);    // greenai-torch only
int bench_command(int argc, char** argv);     // greenai-torch only
int rl_command(int argc, char** argv);        // greenai-torch only
int hardware_command(int argc, char** argv);  // greenai-torch only

}  // namespace greenai::cli
