// Helpers shared by the LibTorch commands (train_commands.cpp, deploy_commands.cpp).
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "cli/args.h"
#include "greenai/jobs/training.h"
#include "greenai/nn/dataset.h"
#include "greenai/track/tracker.h"
#include "greenai/util/json.h"

namespace greenai::cli {

/// `own` plus the tracking, data, thread, seed, --json and --help options.
std::vector<OptionSpec> common_specs(std::vector<OptionSpec> own);
/// LibTorch's thread count from --threads (default: all logical CPUs).
void configure_threads(const ParsedArgs& args);

/// Fashion-MNIST from --data, sliced by --limit-train and --limit-test (the training split only
/// with `need_train`).
jobs::TrainData load_data(const ParsedArgs& args, bool need_train = true);

/// Prints `result` as JSON with --json, else the one-line `headline`; returns 0.
int print_result(const ParsedArgs& args, const util::Json& result, const std::string& headline);

}  // namespace greenai::cli
