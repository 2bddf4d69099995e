// A small command-line parser shared by the greenai subcommands.
//
//   ArgParser parser("run", {{"interval", true}, {"json", true}, {"help", false}});
//   ParsedArgs args = parser.parse(argc, argv, 2);      // throws UsageError
//   double interval = args.number("interval", 1.0);
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace greenai::cli {

/// Bad usage: the CLI prints it with a pointer to --help and exits 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct OptionSpec {
  std::string name;  ///< Without the leading "--".
  bool takes_value;
};

struct ParsedArgs {
  std::map<std::string, std::string> values;  ///< --name VALUE or --name=VALUE
  std::vector<std::string> flags;             ///< --name without a value
  std::vector<std::string> positionals;
  std::vector<std::string> rest;  ///< Everything after "--".
  std::string command;

  bool has(const std::string& name) const;
  std::optional<std::string> get(const std::string& name) const;
  /// The option as a finite number, or `fallback` if absent; UsageError if not a number.
  std::optional<double> number(const std::string& name) const;
  double number(const std::string& name, double fallback) const;
};

/// The items of a comma-separated list ("1h,2h" -> {"1h", "2h"}), empty ones kept for the caller
/// to refuse.
std::vector<std::string> split_list(const std::string& text);

/// The numbers of a comma-separated list, each finite and in [minimum, maximum] (and whole with
/// `whole`); UsageError(`usage`) for anything else, an empty list or an empty item included.
std::vector<double> number_list(const std::string& text, const std::string& usage, double minimum,
                                double maximum, bool whole = false);

/// The whole-number option `name` (from `minimum` to `maximum`), or `fallback`; UsageError
/// otherwise.
int64_t integer(const ParsedArgs& args, const std::string& name, int64_t fallback, int64_t minimum,
                int64_t maximum = std::numeric_limits<int32_t>::max());

class ArgParser {
 public:
  ArgParser(std::string command, std::vector<OptionSpec> options);
  /// Parses argv[first..]. With `stop_at_positional`, the first non-option and everything after
  /// it go to `rest` (for `greenai run CMD ARGS` without "--").
  ParsedArgs parse(int argc, char** argv, int first, bool stop_at_positional = false) const;

 private:
  std::string command_;
  std::vector<OptionSpec> options_;
};

}  // namespace greenai::cli
