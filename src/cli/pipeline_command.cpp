// `greenai pipeline`: the green techniques end to end (docs/pipeline.md). The recipe, the
// stage cache and the results live in the pipeline module; this parses the options, shows the
// stages' progress and prints the table.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <thread>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/help.h"
#include "cli/progress.h"
#include "cli/tracking_flags.h"
#include "greenai/pipeline/pipeline.h"
#include "greenai/report/report.h"
#include "greenai/track/process.h"
#include "greenai/util/file.h"
#include "greenai/util/text.h"

namespace greenai::cli {
namespace {

namespace fs = std::filesystem;

// SIGINT, SIGTERM and SIGHUP stop the pipeline: the running stage gets the signal, the pipeline
// waits for it (and reaps it), writes nothing more and exits 128+N; the stage, unfinished, has no
// stage.json, so a rerun redoes it and reuses the stages before it.
const std::vector<int> kStopSignals{SIGINT, SIGTERM, SIGHUP};

// Prints a stage's heading; live, refreshes it with the time so far and the stage's own progress
// (the last "progress: " line of its log) until destroyed, which leaves the heading alone on the
// line for the outcome to follow.
class Ticker {
 public:
  Ticker(std::string heading, bool live, std::string log)
      : heading_(std::move(heading)), log_(std::move(log)) {
    std::cerr << heading_ << std::flush;
    if (live) thread_ = std::thread([this] { loop(); });
  }
  ~Ticker() {
    if (!thread_.joinable()) return;
    done_ = true;
    thread_.join();
    std::cerr << "\r\033[K" << heading_ << std::flush;
  }

 private:
  void loop() {
    const auto begin = std::chrono::steady_clock::now();
    while (!done_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      const std::chrono::duration<double> s = std::chrono::steady_clock::now() - begin;
      const std::string inner = last_progress(log_);
      std::cerr << "\r\033[K"
                << fit_to_terminal(heading_ + " " + util::format_duration(s.count()) +
                                   (inner.empty() ? "" : "  " + inner))
                << std::flush;
    }
  }
  std::string heading_, log_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

// One line per stage on stderr: cached, or its time and energy once done.
class StageLines {
 public:
  explicit StageLines(bool live) : live_(live) {}
  void operator()(const pipeline::StageEvent& e) {
    using Kind = pipeline::StageEvent::Kind;
    if (e.kind == Kind::kCached) std::cerr << e.heading();
    if (e.kind == Kind::kStarted)
      ticker_ = std::make_unique<Ticker>(e.heading(), live_, e.result->dir + "/log.txt");
    else
      ticker_.reset();  // leaves the heading on the line
    std::cerr << e.outcome();
  }

 private:
  bool live_;
  std::shared_ptr<Ticker> ticker_;
};

pipeline::PipelineOptions pipeline_options(const ParsedArgs& args) {
  pipeline::PipelineOptions o;
  o.quick = args.has("quick");
  o.fresh = args.has("fresh");
  o.budget_points = args.number("budget-accuracy-drop", 1.0);
  if (!(o.budget_points >= 0) || o.budget_points > 100)
    throw UsageError("--budget-accuracy-drop must be in [0, 100]");
  o.out = args.get("out").value_or("greenai-pipeline");
  o.limit_train = args.get("limit-train").value_or("");
  o.limit_test = args.get("limit-test").value_or("");
  o.model = args.get("model").value_or("");
  o.calibration = args.get("calibration").value_or("");
  o.eval_data = args.get("eval").value_or("");
  o.labels = args.get("labels").value_or("");
  const bool any =
      !o.model.empty() || !o.calibration.empty() || !o.eval_data.empty() || !o.labels.empty();
  if (any && (o.model.empty() || o.calibration.empty() || o.eval_data.empty() || o.labels.empty()))
    throw UsageError(
        "--model takes --calibration x.npy, --eval x_test.npy and --labels y_test.npy with it");
  if (any && !o.limit_train.empty())
    throw UsageError("--limit-train applies to the Fashion-MNIST pipeline, not to --model");
  for (std::string* path : {&o.model, &o.calibration, &o.eval_data, &o.labels}) {
    if (!any) break;
    if (!fs::exists(*path)) throw UsageError("no such file: " + *path);
    *path = fs::absolute(*path).string();  // the stages run elsewhere
  }
  o.program = (fs::path(track::self_executable()).parent_path() / "greenai-torch").string();
  // The carbon intensity the stages use: the pipeline's own tracking flags, passed on.
  for (const char* flag :
       {"country", "intensity", "intensity-series", "pue", "cpu-tdp", "cpu-watts-per-core"})
    if (auto v = args.get(flag))
      o.tracking_args.insert(o.tracking_args.end(), {"--" + std::string(flag), *v});
  return o;
}

}  // namespace

int pipeline_command(int argc, char** argv) {
  auto specs = tracking_option_specs(/*json_is_log=*/false);
  for (auto s : std::vector<OptionSpec>{{"quick", false},
                                        {"fresh", false},
                                        {"out", true},
                                        {"budget-accuracy-drop", true},
                                        {"limit-train", true},
                                        {"limit-test", true},
                                        {"model", true},
                                        {"calibration", true},
                                        {"eval", true},
                                        {"labels", true},
                                        {"json", false},
                                        {"quiet", false},
                                        {"help", false}})
    specs.push_back(s);
  ParsedArgs args = ArgParser("pipeline", specs).parse(argc, argv, 2);
  if (args.has("help")) return print_help({"pipeline", "tracking"});
  if (!args.positionals.empty()) throw UsageError("pipeline takes no positional arguments");
  const pipeline::PipelineOptions options = pipeline_options(args);
  fs::create_directories(options.out);

  // The pipeline's own meter: every stage's process tree, a phase per stage.
  auto [tracker, tree] = tracker_for_descendants(args, tracker_options(args));
  track::Supervisor supervisor(*tree, kStopSignals);
  pipeline::PipelineResults results;
  try {
    results =
        pipeline::run(options, *tracker, supervisor,
                      StageLines(progress_mode(args.has("quiet")) == ProgressMode::kTerminal));
  } catch (const pipeline::Stopped& stopped) {
    tracker->stop();
    std::cerr << "greenai: pipeline stopped by signal " << stopped.signal << " ("
              << strsignal(stopped.signal) << ") in stage " << stopped.stage
              << "; the stages before it are cached: a rerun resumes there\n";
    return 128 + stopped.signal;
  }
  util::write_file_atomic((fs::path(options.out) / "results.json").string(),
                          results.to_json().dump(2) + "\n");
  util::write_file_atomic((fs::path(options.out) / "report.html").string(),
                          report::render_html(results));
  if (args.has("json"))
    std::cout << results.to_json().dump(2) << "\n";
  else
    std::cout << report::render_table(results, options.out);
  return 0;
}

}  // namespace greenai::cli
