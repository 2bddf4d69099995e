// The options of `greenai tune`, shared by its two halves: the replay over Zeus's traces
// (tune_command.cpp, in greenai) and the tuning of a model here (tune_model_command.cpp, in
// greenai-torch), so that either parses the other's arguments.
#pragma once

#include <vector>

#include "cli/args.h"

namespace greenai::cli {

std::vector<OptionSpec> tune_option_specs();

}  // namespace greenai::cli
