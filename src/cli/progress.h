// Progress inside long work, as the CLI shows it: on a terminal one live line rewritten in place;
// in a pipe or with --quiet nothing (only the summary); under `greenai pipeline`, which sets
// GREENAI_PROGRESS=lines for its stages, a plain "progress: ..." line on stderr at most once a
// second, which the pipeline shows on its own live line.
#pragma once

#include <chrono>
#include <string>

namespace greenai::cli {

enum class ProgressMode { kOff, kTerminal, kLines };

/// Off with --quiet; lines when GREENAI_PROGRESS=lines; a live line when stderr is a terminal.
ProgressMode progress_mode(bool quiet);

/// Where a "progress: " line starts (what a parent looks for in a child's log).
inline constexpr const char* kProgressPrefix = "progress: ";

class ProgressLine {
 public:
  explicit ProgressLine(ProgressMode mode) : mode_(mode) {}
  ~ProgressLine() { clear(); }
  /// Shows `text` (rate-limited: 10 a second live, 1 a second as lines) unless `force`.
  void show(const std::string& text, bool force = false);
  /// Clears a live line.
  void clear();

 private:
  ProgressMode mode_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point last_{};
};

/// `line` cut to one row of the terminal on stderr (100 columns where it cannot be asked): a live
/// line that wraps cannot be rewritten in place.
std::string fit_to_terminal(std::string line);

/// The text of the last "progress: " line of a child's log, or "".
std::string last_progress(const std::string& log_path);

}  // namespace greenai::cli
