// The one error type every GreenAI library throws for user input and the environment.
//
// A message reads `cannot <verb> <object> (<param>=<value>): <what is wrong>`, optionally with a
// hint that says how to fix it. The CLI prints `greenai: <message>` and, if present,
// `hint: <hint>`, and exits with code 2. Broken internal invariants are asserted, not thrown.
//
//   throw greenai::Error("cannot read intensity series (path=x.csv)", "line 3: not a number",
//                        "each line must be `timestamp,g_per_kwh`");
#pragma once

#include <stdexcept>
#include <string>

namespace greenai {

/// A recoverable failure caused by input or environment; `what()` is the full one-line message.
class Error : public std::runtime_error {
 public:
  /// `action` is "cannot <verb> <object> (<param>=<value>)", `problem` says what is wrong.
  Error(const std::string& action, const std::string& problem, std::string hint = {})
      : std::runtime_error(action + ": " + problem), hint_(std::move(hint)) {}

  /// How to fix it, or empty.
  const std::string& hint() const noexcept { return hint_; }

 private:
  std::string hint_;
};

}  // namespace greenai
