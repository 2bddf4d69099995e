// `greenai pipeline`: the green techniques end to end (docs/pipeline.md). The recipe, the
// stage cache and the results live in the pipeline module; this parses the options, shows the
// stages' progress and prints the table.
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

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
#include "greenai/hardware/cpu.h"
#include "greenai/meter/system.h"
#include "greenai/pipeline/pipeline.h"
#include "greenai/report/report.h"
#include "greenai/track/process.h"
#include "greenai/util/file.h"

namespace greenai::cli {
namespace {

namespace fs = std::filesystem;

// SIGINT, SIGTERM and SIGHUP stop the pipeline: the running stage gets the signal, the pipeline
// waits for it (and reaps it), writes nothing more and exits 128+N; the stage, unfinished, has no
// stage.json, so a rerun redoes it and reuses the stages before it.
const std::vector<int> kStopSignals{SIGINT, SIGTERM, SIGHUP};

// Prints "[i/n] label ... 12 s" on a terminal, refreshed until stopped, with the stage's own
// progress (the last "progress: " line of its log) after it.
class Ticker {
 public:
  Ticker(std::string prefix, bool live, std::string log)
      : prefix_(std::move(prefix)), live_(live), log_(std::move(log)) {
    std::cerr << prefix_ << std::flush;
    if (live_) thread_ = std::thread([this] { loop(); });
  }
  ~Ticker() { stop(); }
  void stop() {
    if (!live_) return;
    live_ = false;
    done_ = true;
    thread_.join();
    std::cerr << "\r\033[K" << prefix_ << std::flush;
  }

 private:
  void loop() {
    const auto begin = std::chrono::steady_clock::now();
    while (!done_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      const double s =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
      const std::string inner = last_progress(log_);
      std::string line = prefix_ + " " + std::to_string(static_cast<int>(s)) + " s" +
                         (inner.empty() ? "" : "  " + inner);
      // One terminal row: a line that wraps cannot be rewritten in place.
      winsize size{};
      const size_t columns = ::ioctl(2, TIOCGWINSZ, &size) == 0 && size.ws_col ? size.ws_col : 100;
      if (line.size() >= columns) line.resize(columns - 1);
      std::cerr << "\r\033[K" << line << std::flush;
    }
  }
  std::string prefix_;
  bool live_;
  std::string log_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

// One line per stage on stderr: cached, or its time and energy once done.
class StageLines {
 public:
  explicit StageLines(bool live) : live_(live) {}
  void operator()(const pipeline::StageEvent& e) {
    using Kind = pipeline::StageEvent::Kind;
    char prefix[160];
    if (e.total)
      std::snprintf(prefix, sizeof prefix, "[%2zu/%zu] %-44s", e.index, e.total,
                    e.stage.label.c_str());
    else  // the count is not known yet
      std::snprintf(prefix, sizeof prefix, "[%2zu/..] %-44s", e.index, e.stage.label.c_str());
    switch (e.kind) {
      case Kind::kCached:
        std::cerr << prefix << " cached (" << fs::path(e.result->dir).filename().string() << ")\n";
        break;
      case Kind::kStarted:
        ticker_ = std::make_unique<Ticker>(prefix, live_, e.result->dir + "/log.txt");
        break;
      case Kind::kFinished: {
        ticker_.reset();
        char done[96];
        std::snprintf(done, sizeof done, " %6.1f s, %8.4g J\n", e.result->seconds,
                      e.result->energy_j);
        std::cerr << done;
        break;
      }
      case Kind::kFailed:
        ticker_.reset();
        std::cerr << " failed\n";
        break;
      case Kind::kStopped:
        ticker_.reset();
        std::cerr << " stopped\n";
        break;
    }
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
  auto usage = std::make_unique<meter::DescendantsUsage>(::getpid());
  meter::DescendantsUsage* tree = usage.get();
  track::Tracker tracker(meter::open_sensors(sensor_options(args)), std::move(usage),
                         tracker_options(args));
  for (auto& sink : open_sinks(args)) tracker.add_sink(sink);
  track::Supervisor supervisor(*tree, kStopSignals);
  pipeline::PipelineResults results;
  try {
    results =
        pipeline::run(options, tracker, supervisor,
                      StageLines(progress_mode(args.has("quiet")) == ProgressMode::kTerminal));
  } catch (const pipeline::Stopped& stopped) {
    tracker.stop();
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
