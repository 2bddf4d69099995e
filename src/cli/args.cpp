#include "cli/args.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace greenai::cli {

bool ParsedArgs::has(const std::string& name) const {
  return values.count(name) || std::find(flags.begin(), flags.end(), name) != flags.end();
}

std::optional<std::string> ParsedArgs::get(const std::string& name) const {
  auto it = values.find(name);
  if (it == values.end()) return std::nullopt;
  return it->second;
}

std::optional<double> ParsedArgs::number(const std::string& name) const {
  auto text = get(name);
  if (!text) return std::nullopt;
  double value = 0;
  const char* begin = text->data();
  const char* end = begin + text->size();
  auto [ptr, ec] = std::from_chars(begin, end, value);
  if (text->empty() || ec != std::errc() || ptr != end || !std::isfinite(value))
    throw UsageError("cannot parse --" + name + "=" + *text + ": not a number");
  return value;
}

double ParsedArgs::number(const std::string& name, double fallback) const {
  return number(name).value_or(fallback);
}

ArgParser::ArgParser(std::string command, std::vector<OptionSpec> options)
    : command_(std::move(command)), options_(std::move(options)) {}

ParsedArgs ArgParser::parse(int argc, char** argv, int first, bool stop_at_positional) const {
  ParsedArgs args;
  args.command = command_;
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") {
      args.rest.assign(argv + i + 1, argv + argc);
      break;
    }
    if (arg.rfind("--", 0) != 0 || arg.size() == 2) {
      if (stop_at_positional) {
        args.rest.assign(argv + i, argv + argc);
        break;
      }
      args.positionals.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2), value;
    bool inline_value = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      inline_value = true;
    }
    auto spec = std::find_if(options_.begin(), options_.end(),
                             [&](const OptionSpec& o) { return o.name == name; });
    if (spec == options_.end())
      throw UsageError("unknown option --" + name + " for `greenai " + command_ + "`");
    if (!spec->takes_value) {
      if (inline_value) throw UsageError("option --" + name + " takes no value");
      args.flags.push_back(name);
      continue;
    }
    if (!inline_value) {
      if (i + 1 >= argc) throw UsageError("option --" + name + " needs a value");
      value = argv[++i];
    }
    args.values[name] = value;
  }
  return args;
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  for (size_t at = 0;;) {
    const size_t comma = text.find(',', at);
    items.push_back(text.substr(at, comma == std::string::npos ? std::string::npos : comma - at));
    if (comma == std::string::npos) return items;
    at = comma + 1;
  }
}

std::vector<double> number_list(const std::string& text, const std::string& usage, double minimum,
                                double maximum, bool whole) {
  std::vector<double> numbers;
  for (const std::string& item : split_list(text)) {
    char* end = nullptr;
    const double v = std::strtod(item.c_str(), &end);
    if (item.empty() || *end != '\0' || !std::isfinite(v) || v < minimum || v > maximum ||
        (whole && v != std::floor(v)))
      throw UsageError(usage);
    numbers.push_back(v);
  }
  return numbers;
}

int64_t integer(const ParsedArgs& args, const std::string& name, int64_t fallback, int64_t minimum,
                int64_t maximum) {
  const double value = args.number(name, static_cast<double>(fallback));
  if (value != std::floor(value) || value < static_cast<double>(minimum))
    throw UsageError("--" + name + " must be an integer of at least " + std::to_string(minimum));
  if (value > static_cast<double>(maximum))
    throw UsageError("--" + name + " must be an integer of at most " + std::to_string(maximum));
  return static_cast<int64_t>(value);
}

}  // namespace greenai::cli
