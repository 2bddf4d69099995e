// Running a command with the CLI's error conventions, shared by both executables.
#pragma once

#include <string>

#include "cli/commands.h"

namespace greenai::cli {

/// Runs `fn`, mapping UsageError and greenai::Error to one line and exit 2, and any other
/// exception to one line and exit 1. NeedsTorch is passed on to the caller.
int run_guarded(const std::string& command, CommandFn fn, int argc, char** argv);

/// Replaces this process with the executable `name` that sits beside it, same arguments.
/// Returns only on failure, with the exit status to use (after printing why).
int exec_sibling(const std::string& name, const std::string& command, int argc, char** argv);

}  // namespace greenai::cli
