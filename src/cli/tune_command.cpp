// greenai tune, the modes that need no LibTorch: --replay (tuners over Zeus's traces,
// greenai/tune/replay.h), --knob K -- CMD (just-in-time profiling of a command,
// greenai/tune/command_tuner.h) and --recurring STATE (greenai/tune/batch_size_optimizer.h).
// A MODEL goes to tune_model_command (greenai-torch).
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <random>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/help.h"
#include "cli/tracking_flags.h"
#include "cli/tune_options.h"
#include "greenai/error.h"
#include "greenai/hardware/cpu.h"
#include "greenai/meter/nvml.h"
#include "greenai/meter/rapl.h"
#include "greenai/track/measurements.h"
#include "greenai/tune/batch_size_optimizer.h"
#include "greenai/tune/command_tuner.h"
#include "greenai/tune/replay.h"
#include "greenai/util/json.h"

namespace greenai::cli {
namespace {

util::Json run_json(const tune::ReplayRun& r) {
  return util::Json::object()
      .set("tuner", r.tuner)
      .set("energy_j", r.energy_j)
      .set("time_s", r.time_s)
      .set("cost", r.cost)
      .set("jobs", static_cast<double>(r.jobs.size()))
      .set("reached", static_cast<double>(r.reached));
}

// greenai tune --recurring STATE: the batch size of a recurring job's next run, or a finished
// run recorded, the optimizer's state kept in STATE between runs.
int tune_recurring(const ParsedArgs& args) {
  const std::string path = *args.get("recurring");
  std::vector<int> sizes;
  if (auto list = args.get("batch-sizes"))
    for (double b : number_list(*list,
                                "--batch-sizes takes the batch sizes to choose from, such as "
                                "32,64,128",
                                1, 1 << 30, /*whole=*/true))
      sizes.push_back(static_cast<int>(b));
  const bool exists = std::filesystem::exists(path);
  if (!exists && (sizes.empty() || !args.has("default-batch")))
    throw UsageError("a new --recurring state needs --batch-sizes LIST and --default-batch B");
  const int default_batch = static_cast<int>(integer(args, "default-batch", 1, 1));
  const double beta = args.number("beta", 2.0);
  const double cap = args.number("max-epochs", 100);
  tune::BatchSizeOptimizer opt =
      tune::BatchSizeOptimizer::load_or_create(path, sizes, default_batch, beta, cap);
  util::Json out = util::Json::object().set("state", path);
  if (args.has("observe")) {
    tune::BatchSizeRun run;
    run.batch_size = static_cast<int>(integer(args, "observe", 1, 1));
    run.epochs = args.number("epochs", -1);
    run.cost = args.number("cost", -1);
    const std::string reached = args.get("reached").value_or("");
    if (reached != "yes" && reached != "no")
      throw UsageError("--observe B needs --epochs E --cost C --reached yes|no");
    run.reached = reached == "yes";
    opt.observe(run);
    opt.save(path);
    out.set("recorded", util::Json::object()
                            .set("batch_size", run.batch_size)
                            .set("epochs", run.epochs)
                            .set("cost", run.cost)
                            .set("reached", run.reached))
        .set("runs", opt.runs());
    if (args.has("json"))
      std::cout << out.dump() << "\n";
    else
      std::printf("recorded run %d (batch %d, %g epochs, cost %g, %s) in %s\n", opt.runs(),
                  run.batch_size, run.epochs, run.cost, run.reached ? "reached" : "not reached",
                  path.c_str());
    return 0;
  }
  // The draw depends on the seed and on how many runs are recorded: asking twice before a run
  // ends gives the same answer.
  std::mt19937_64 rng(static_cast<uint64_t>(integer(args, "seed", 0, 0)) * 1000003u +
                      static_cast<uint64_t>(opt.runs()));
  const int next = opt.next(rng);
  const double stop = opt.stop_cost();
  if (!exists) opt.save(path);
  out.set("batch_size", next)
      .set("stop_cost", std::isfinite(stop) ? util::Json(stop) : util::Json())
      .set("exploring", opt.exploring())
      .set("runs", opt.runs());
  if (args.has("json")) {
    std::cout << out.dump() << "\n";
  } else {
    std::printf("next run: batch size %d (%s, %d runs recorded)\n", next,
                opt.exploring() ? "exploring" : "Thompson sampling", opt.runs());
    if (std::isfinite(stop))
      std::printf("stop it once its cost passes %g (beta x the best expected run)\n", stop);
  }
  return 0;
}

// greenai tune --knob K [...] -- CMD: the knob profiled over the command's first steps.
int tune_a_command(const ParsedArgs& args) {
  if (args.rest.empty())
    throw UsageError(
        "--knob tunes a command: give it after --, as greenai tune --knob threads -- "
        "greenai train ...");
  if (!args.positionals.empty() || args.has("replay"))
    throw UsageError("give MODEL, --replay DIR, or --knob K -- CMD, one of them");
  const auto knob = args.get("knob");
  if (!knob)
    throw UsageError("missing --knob power-cap|cpu-freq|gpu-power-limit|threads for the command");
  tune::CommandTuneRequest r;
  r.argv = args.rest;
  r.knob = *knob;
  if (auto v = args.get("values"))
    r.values = number_list(*v, "--values takes the knob's values, baseline first, such as 2,1",
                           1e-9, 1e12);
  tune::JitProfileOptions& p = r.profile;
  p.warmup_steps = static_cast<int>(integer(args, "warmup-steps", p.warmup_steps, 0, 1000000));
  p.settle_steps = static_cast<int>(integer(args, "settle-steps", p.settle_steps, 0, 1000000));
  p.steps_per_value =
      static_cast<int>(integer(args, "steps-per-value", p.steps_per_value, 1, 1000000));
  if (args.has("max-slowdown") && args.has("eta"))
    throw UsageError("give --max-slowdown or --eta, not both");
  p.eta = args.number("eta", 0.5);
  if (!(p.eta >= 0 && p.eta <= 1)) throw UsageError("--eta must lie in [0, 1]");
  p.max_slowdown = args.number("max-slowdown", 0);
  if (args.has("max-slowdown") && !(p.max_slowdown >= 1))
    throw UsageError("--max-slowdown takes a ratio of at least 1, such as 1.1");
  const hardware::Hardware here = hardware::detect();
  r.cpu_identity = here.cpu.model + " " + here.cpu.architecture;
  for (const std::string& f : here.cpu.features) r.cpu_identity += " " + f;
  r.logical_cpus = here.cpu.logical_cpus;
  r.powercap_root = meter::default_powercap_root();
  r.nvml_library = meter::default_nvml_library();
  if (!args.has("no-cache")) {
    if (auto dir = args.get("cache-dir")) {
      r.cache_dir = *dir;
    } else {
      const char* cache = std::getenv("XDG_CACHE_HOME");
      const char* home = std::getenv("HOME");
      if (cache && *cache)
        r.cache_dir = std::string(cache) + "/greenai/tune";
      else if (home && *home)
        r.cache_dir = std::string(home) + "/.cache/greenai/tune";
    }
  }
  const track::TrackerOptions options = tracker_options(args);
  auto [tracker, tree] = tracker_for_descendants(args, options);
  const tune::CommandTuneResult result = tune::tune_command(r, *tracker, *tree);
  const track::Provenance provenance = track::Provenance::of(tracker->info());
  if (args.has("json"))
    std::cout << result.to_json()
                     .set("provenance", provenance.to_json())
                     .set("hardware", here.to_json())
                     .dump()
              << "\n";
  else
    std::cerr << result.to_text() << "energy: " << provenance.energy << "\n";
  return result.exit_status;
}

}  // namespace

std::vector<OptionSpec> tune_option_specs() {
  std::vector<OptionSpec> specs{{"replay", true},
                                {"gpu", true},
                                {"eta", true},
                                {"beta", true},
                                {"seed", true},
                                {"seeds", true},
                                {"batches", true},
                                {"threads", true},
                                {"variants", true},
                                {"max-p99-ms", true},
                                {"max-p99-ratio", true},
                                {"objective", true},
                                {"window", true},
                                {"rounds", true},
                                {"no-bf16", false},
                                {"write", true},
                                {"input-shape", true},
                                {"json", false},
                                {"help", false},
                                {"knob", true},
                                {"values", true},
                                {"max-slowdown", true},
                                {"warmup-steps", true},
                                {"settle-steps", true},
                                {"steps-per-value", true},
                                {"cache-dir", true},
                                {"no-cache", false},
                                {"recurring", true},
                                {"batch-sizes", true},
                                {"default-batch", true},
                                {"max-epochs", true},
                                {"observe", true},
                                {"epochs", true},
                                {"cost", true},
                                {"reached", true}};
  for (const OptionSpec& s : tracking_option_specs(/*json_is_log=*/true)) {
    bool taken = false;
    for (const OptionSpec& own : specs) taken = taken || own.name == s.name;
    if (!taken) specs.push_back(s);
  }
  return specs;
}

int tune_main(int argc, char** argv, CommandFn tune_model) {
  ParsedArgs args = ArgParser("tune", tune_option_specs()).parse(argc, argv, 2);
  if (args.has("help")) return print_help({"tune"});
  if (args.has("knob") || !args.rest.empty()) return tune_a_command(args);
  if (args.has("recurring")) return tune_recurring(args);
  if (!args.positionals.empty()) {
    if (args.has("replay"))
      throw UsageError("give either MODEL (tune it here) or --replay DIR (Zeus's traces)");
    if (!tune_model)
      throw UsageError(
          "tuning a MODEL needs greenai-torch (LibTorch), which this build of greenai lacks");
    return tune_model(argc, argv);
  }
  const auto dir = args.get("replay");
  if (!dir)
    throw UsageError(
        "expected MODEL (a checkpoint, edge or ONNX file to tune on this machine) or --replay "
        "DIR (the folder of Zeus's summary_train.csv and summary_power_GPU.csv)");
  const std::string gpu = args.get("gpu").value_or("v100");
  tune::CostModel model;
  model.eta = args.number("eta", 0.5);
  model.beta = args.number("beta", 2.0);
  if (!(model.eta >= 0 && model.eta <= 1))
    throw Error("cannot replay (--eta=" + *args.get("eta") + ")", "eta must lie in [0, 1]");
  if (!(model.beta > 1))
    throw Error("cannot replay (--beta=" + *args.get("beta") + ")",
                "beta must be above 1 (a job stops past beta x the best cost)");
  const auto seed = static_cast<uint64_t>(integer(args, "seed", 0, 0));
  const int seeds = static_cast<int>(integer(args, "seeds", 1, 1));
  const std::vector<tune::WorkloadTrace> traces = tune::load_zeus_traces(*dir, gpu);
  util::Json all = util::Json::array();
  if (!args.has("json"))
    std::printf(
        "replay of recurring training jobs on %s (Zeus's traces, eta %.2f, beta %.2f, "
        "seed %llu%s); cost = eta x energy + (1 - eta) x max power limit x time\n",
        gpu.c_str(), model.eta, model.beta, static_cast<unsigned long long>(seed),
        seeds > 1 ? (", means over " + std::to_string(seeds) + " seeds from it").c_str() : "");
  for (const tune::WorkloadTrace& trace : traces) {
    const tune::ReplayComparison c = tune::compare_tuners_over_seeds(trace, model, seed, seeds);
    const tune::ReplayRun& base = c.run("default");
    const tune::ReplayRun& oracle = c.run("oracle");
    if (args.has("json")) {
      util::Json runs = util::Json::array();
      for (const tune::ReplayRun& r : c.runs) runs.push(run_json(r));
      all.push(util::Json::object()
                   .set("workload", c.workload.name())
                   .set("recurrences", static_cast<double>(c.recurrences))
                   .set("seeds", static_cast<double>(c.seeds))
                   .set("greenai_at_most_zeus_like", static_cast<double>(c.greenai_at_most_zeus))
                   .set("runs", runs));
      continue;
    }
    std::printf("\n%s: %d recurrences, target %g within %d epochs, default batch %d\n",
                c.workload.name().c_str(), c.recurrences, c.workload.target_metric,
                c.workload.max_epochs, c.workload.default_batch_size);
    std::printf("  %-10s %12s %10s %14s %12s %14s %16s\n", "tuner", "energy MJ", "time h",
                "cost MJ", "reached/jobs", "energy saved", "cost vs oracle");
    for (const tune::ReplayRun& r : c.runs)
      std::printf("  %-10s %12.3f %10.1f %14.3f %8d/%-3zu %13.1f%% %+15.1f%%\n", r.tuner.c_str(),
                  r.energy_j / 1e6, r.time_s / 3600, r.cost / 1e6, r.reached, r.jobs.size(),
                  100 * (1 - r.energy_j / base.energy_j), 100 * (r.cost / oracle.cost - 1));
    std::printf("  greenai's cost at most zeus-like's in %d of %d seed%s\n", c.greenai_at_most_zeus,
                c.seeds, c.seeds > 1 ? "s" : "");
  }
  if (args.has("json")) std::cout << all.dump() << "\n";
  return 0;
}

}  // namespace greenai::cli
