// Runs the pipeline's stages: each a command of another program (greenai-torch) in a child
// process, metered as a phase of the pipeline's tracker, cached by content.
//
// A stage's folder is OUT/stages/NAME-KEY, KEY a hash of the version, a salt (the CPU, whose
// figures differ), the stage's arguments and the bytes of its input files. The folder holds the
// command's standard output (result.json), its log (log.txt) and, written last and atomically,
// stage.json: a folder without it is unfinished and is redone. Arguments and inputs may name
// earlier stages' folders: "{dir}" is the stage's own, "{stage:NAME}" the folder of the stage
// NAME run before it.
//
//   StageRunner runner(options, tracker, supervisor, [](const StageEvent& e) { ... });
//   StageResult teacher = runner.run({"teacher", "train the teacher", {"train", ...}}, 1, 9);
//   runner.run({"student", "distill", {"distill", "--teacher", "{stage:teacher}/model.pt"},
//               {"{stage:teacher}/model.pt"}}, 2, 9);
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "greenai/track/process.h"
#include "greenai/track/tracker.h"
#include "greenai/util/json.h"

namespace greenai::pipeline {

/// FNV-1a, 64 bits: the content key of a stage.
class ContentHash {
 public:
  void add(const void* data, size_t size);
  /// A string with its terminator, so that ("ab","c") and ("a","bc") differ.
  void add(const std::string& text);
  /// The file's bytes. Throws greenai::Error naming the file when it cannot be read.
  void add_file(const std::string& path);
  /// 16 lowercase hex digits.
  std::string hex() const;

 private:
  uint64_t hash_ = 1469598103934665603ULL;
};

/// One stage of the recipe.
struct StageSpec {
  std::string name;                 ///< unique in a pipeline; names its folder
  std::string label;                ///< what a person reads: "train the teacher (fp32)"
  std::vector<std::string> args;    ///< the program's arguments; may hold "{dir}", "{stage:N}"
  std::vector<std::string> inputs;  ///< files the result depends on; same placeholders
  bool takes_tracking = true;       ///< whether the command takes the carbon-intensity flags
};

/// What a stage gave.
struct StageResult {
  std::string name;
  std::string dir;    ///< its folder
  util::Json output;  ///< the command's standard output, parsed (its --json result)
  double seconds = 0, energy_j = 0, kg = 0;  ///< metered (from the run that made it, if cached)
  bool cached = false;
};

/// What happened to a stage, for progress display. `total` is 0 while not known yet.
struct StageEvent {
  enum class Kind { kCached, kStarted, kFinished, kFailed, kStopped };
  Kind kind;
  const StageSpec& stage;
  size_t index, total;
  /// For kCached and kFinished; for kStarted, its folder only (the log is dir/log.txt, where
  /// the stage writes "progress: ..." lines); else nullptr.
  const StageResult* result;
  /// "[ 3/15] LABEL" padded to a column ("[ 3/..]" while the count is not known): how a
  /// stage's line starts.
  std::string heading() const;
  /// What ends the stage's line: " cached (FOLDER)", " 12.3 s,    45.6 J", " failed" or
  /// " stopped", with a newline; "" for kStarted.
  std::string outcome() const;
};
using Progress = std::function<void(const StageEvent&)>;

/// A stop signal ended the run in (or before) `stage`.
struct Stopped : std::runtime_error {
  Stopped(int signal_number, std::string stage_name);
  int signal;
  std::string stage;
};

struct RunnerOptions {
  std::string out;                         ///< the pipeline's folder; stages go in OUT/stages
  bool fresh = false;                      ///< ignore (and overwrite) cached stages
  std::string program;                     ///< what runs the stages' commands (greenai-torch)
  std::vector<std::string> tracking_args;  ///< appended to stages that take tracking flags
  std::string cache_salt;                  ///< part of every key: the CPU the figures are of
};

class StageRunner {
 public:
  StageRunner(RunnerOptions options, track::Tracker& tracker, track::Supervisor& supervisor,
              Progress progress);

  /// Runs the stage (or reuses its cached result) as stage `index` of `total`. Throws Stopped
  /// when a stop signal came before or during it, and greenai::Error when it fails (the last
  /// line of its log, and the log's path).
  StageResult run(const StageSpec& stage, size_t index, size_t total);

  /// A stage run before, by name. Throws greenai::Error when there is none.
  const StageResult& result(const std::string& name) const;

  /// `text` with "{stage:NAME}" replaced by that stage's folder (and "{dir}" by `dir`).
  std::string resolve(std::string text, const std::string& dir = "") const;

 private:
  StageResult run_now(const StageSpec& stage, StageResult r, const std::string& key, size_t index,
                      size_t total);
  RunnerOptions options_;
  track::Tracker& tracker_;
  track::Supervisor& supervisor_;
  Progress progress_;
  std::map<std::string, StageResult> done_;
};

}  // namespace greenai::pipeline
