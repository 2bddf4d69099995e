// The commands' help texts. Each is docs/cli/NAME.txt, embedded at build time: `greenai X
// --help` and the documentation are one text (docs/cli/README.md).
//
//   if (args.has("help")) return print_help({"train", "common", "tracking"});
#pragma once

#include <initializer_list>
#include <string>

namespace greenai::cli {

/// docs/cli/NAME.txt, or nullptr where there is no such file.
const char* help_text(const std::string& name);
/// Prints the texts one after the other on stdout; returns 0.
int print_help(std::initializer_list<std::string> names);

}  // namespace greenai::cli
