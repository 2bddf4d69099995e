// The greenai subcommands. Each returns the process exit code and throws UsageError (exit 2)
// or greenai::Error (exit 2) for bad input; main() prints those as one line.
#pragma once

namespace greenai::cli {

int run_command(int argc, char** argv);
int sensors_command(int argc, char** argv);
int co2_command(int argc, char** argv);
int workload_command(int argc, char** argv);

}  // namespace greenai::cli
