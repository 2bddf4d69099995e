// `greenai train`, `distill`, `prune` and `eval`: the training side of the green techniques,
// each run tracked by the meter (energy and kg CO2eq per epoch and in total).

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/help.h"
#include "cli/progress.h"
#include "cli/torch_common.h"
#include "cli/tracking_flags.h"
#include "greenai/compress/distill.h"
#include "greenai/dist/process_group.h"
#include "greenai/error.h"
#include "greenai/hardware/cpu.h"
#include "greenai/jobs/training.h"
#include "greenai/nn/precision_probe.h"

namespace greenai::cli {
namespace {

// The options of every command that trains (train, distill, and prune's fine-tuning).
std::vector<OptionSpec> training_specs(std::vector<OptionSpec> own) {
  for (const char* name : {"batch", "lr", "optimizer", "schedule", "precision", "out"})
    own.push_back({name, true});
  return common_specs(std::move(own));
}

// Training progress: epoch, a bar, loss, throughput and the time left (cli/progress.h).
class Progress {
 public:
  explicit Progress(bool quiet) : mode_(progress_mode(quiet)), line_(mode_) {}
  void operator()(const nn::TrainProgress& p) {
    const bool last = p.step == p.steps && p.epoch == p.epochs;
    line_.show(p.to_text(/*bar=*/mode_ == ProgressMode::kTerminal), last);
    if (last) line_.clear();
  }

 private:
  ProgressMode mode_;
  ProgressLine line_;
};

// --precision fp32, bf16, fp16 or auto (nn::choose_precision; the probe is cached per CPU).
jobs::TrainSetup train_setup(const ParsedArgs& args, int default_epochs, int64_t default_batch,
                             Progress& progress) {
  const nn::PrecisionChoice precision =
      nn::choose_precision(args.get("precision").value_or("fp32"),
                           [] { return nn::probe_precision(hardware::detect()); });
  if (!precision.message.empty()) std::fprintf(stderr, "greenai: %s\n", precision.message.c_str());
  jobs::TrainSetup setup;
  nn::TrainOptions& o = setup.options;
  o.epochs = static_cast<int>(integer(args, "epochs", default_epochs, 1));
  // (a default of 0 leaves the choice to the job: prune_model takes the source's)
  o.batch_size = args.get("batch") ? integer(args, "batch", 1, 1) : default_batch;
  o.learning_rate = args.number("lr", 1e-3);
  o.optimizer = args.get("optimizer").value_or("adam");
  o.schedule = args.get("schedule").value_or("cosine");
  o.precision = precision.precision;
  o.seed = static_cast<uint64_t>(integer(args, "seed", 0, 0));
  o.on_progress = [&progress](const nn::TrainProgress& p) { progress(p); };
  nn::check_precision_supported(o.precision, o.device);
  setup.precision_note = precision.note;
  return setup;
}

// `--world-size N` without RANK set: N local ranks of this very command, rendezvousing on a free
// loopback port with torchrun's variables; rank 0's output is the command's, the others' stdout
// is dropped. Returns the first failing rank's exit status, else 0.
int launch_local_ranks(int argc, char** argv, int world) {
  dist::LocalJob job;
  job.argv = {"/proc/self/exe"};
  for (int i = 1; i < argc; ++i) job.argv.emplace_back(argv[i]);
  job.world = world;
  job.stdout_paths.assign(static_cast<size_t>(world), "/dev/null");
  job.stdout_paths[0] = "";
  for (int code : dist::run_local_job(job))
    if (code != 0) return code;
  return 0;
}

// A rank of a data-parallel job (RANK set by torchrun or by launch_local_ranks): joins its
// group; LibTorch gets the machine's threads shared among the local ranks unless --threads.
std::unique_ptr<dist::Group> join_if_a_rank(const ParsedArgs& args) {
  const int64_t world = integer(args, "world-size", 1, 1, 1024);
  if (!std::getenv("RANK")) return nullptr;
  const dist::Rendezvous r = dist::Rendezvous::from_env();
  if (args.has("world-size") && r.world_size != world)
    throw UsageError("--world-size " + std::to_string(world) +
                     " differs from WORLD_SIZE=" + std::to_string(r.world_size));
  if (!args.has("threads"))
    torch::set_num_threads(
        std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / r.world_size));
  return dist::Group::join(r);
}

// --world-size N (N > 1) given and this process not a rank yet: N, the ranks to launch; else 0.
int local_world(const ParsedArgs& args) {
  const int world = static_cast<int>(integer(args, "world-size", 1, 1, 1024));
  return world > 1 && !std::getenv("RANK") ? world : 0;
}

// Each epoch on stderr, unless the result goes to stdout as JSON.
void print_epochs(const ParsedArgs& args, const jobs::TrainedModel& t) {
  if (!args.has("json")) std::fputs(t.epochs_text().c_str(), stderr);
}

}  // namespace

int train_command(int argc, char** argv) {
  ParsedArgs args =
      ArgParser("train",
                training_specs(
                    {{"model", true}, {"hidden", true}, {"epochs", true}, {"world-size", true}}))
          .parse(argc, argv, 2);
  if (args.has("help")) return print_help({"train", "common", "tracking"});
  if (const int world = local_world(args)) return launch_local_ranks(argc, argv, world);
  configure_threads(args);
  const std::unique_ptr<dist::Group> group = join_if_a_rank(args);
  const std::string model = args.get("model").value_or("teacher");
  nn::ModelSpec spec = nn::spec_by_name(model, integer(args, "hidden", 20, 1));
  auto tracker = tracker_for_this_process(args);
  Progress progress(args.has("quiet"));
  jobs::TrainSetup setup =
      train_setup(args, model == "cnn" ? 5 : 20, jobs::default_batch(model), progress);
  setup.group = group.get();
  const std::string out = args.get("out").value_or("model.pt");
  const jobs::TrainedModel t =
      jobs::train_model(model, spec, setup, load_data(args), out, *tracker);
  if (group && group->rank() != 0) return 0;  // rank 0 reports
  print_epochs(args, t);
  return print_result(args, t.info, t.summary);
}

int distill_command(int argc, char** argv) {
  ParsedArgs args = ArgParser("distill", training_specs({{"teacher", true},
                                                         {"hidden", true},
                                                         {"temperature", true},
                                                         {"alpha", true},
                                                         {"epochs", true},
                                                         {"world-size", true}}))
                        .parse(argc, argv, 2);
  if (args.has("help")) return print_help({"distill", "common", "tracking"});
  if (const int world = local_world(args)) return launch_local_ranks(argc, argv, world);
  auto teacher_path = args.get("teacher");
  if (!teacher_path) throw UsageError("missing --teacher FILE");
  auto out = args.get("out");
  if (!out) throw UsageError("missing --out FILE");
  configure_threads(args);
  const std::unique_ptr<dist::Group> group = join_if_a_rank(args);
  const compress::DistillOptions distill{args.number("temperature", 1.0),
                                         args.number("alpha", 0.9)};
  auto tracker = tracker_for_this_process(args);
  Progress progress(args.has("quiet"));
  jobs::TrainSetup setup = train_setup(args, 20, jobs::default_batch("student"), progress);
  setup.group = group.get();
  const jobs::Distilled d = jobs::distill_model(*teacher_path, integer(args, "hidden", 20, 1),
                                                distill, setup, load_data(args), *out, *tracker);
  if (group && group->rank() != 0) return 0;  // rank 0 reports
  print_epochs(args, d);
  return print_result(args, d.info, d.summary);
}

int prune_command(int argc, char** argv) {
  ParsedArgs args = ArgParser("prune", training_specs({{"sparsity", true},
                                                       {"structured", false},
                                                       {"finetune-epochs", true},
                                                       {"world-size", true}}))
                        .parse(argc, argv, 2);
  if (args.has("help")) return print_help({"prune", "common", "tracking"});
  if (const int world = local_world(args)) return launch_local_ranks(argc, argv, world);
  if (args.positionals.size() != 1) throw UsageError("expected one MODEL checkpoint");
  auto sparsity = args.number("sparsity");
  if (!sparsity) throw UsageError("missing --sparsity S");
  auto out = args.get("out");
  if (!out) throw UsageError("missing --out FILE");
  configure_threads(args);
  const std::unique_ptr<dist::Group> group = join_if_a_rank(args);
  const jobs::PruneRequest request{args.positionals[0], *sparsity, args.has("structured")};
  auto tracker = tracker_for_this_process(args);
  Progress progress(args.has("quiet"));
  // Batch 0: prune_model takes the default of the source's architecture.
  jobs::TrainSetup setup = train_setup(args, 3, /*default_batch=*/0, progress);
  setup.options.epochs = static_cast<int>(integer(args, "finetune-epochs", 3, 0));
  setup.group = group.get();
  const jobs::Pruned p = jobs::prune_model(request, setup, load_data(args), *out, *tracker);
  if (group && group->rank() != 0) return 0;  // rank 0 reports
  print_epochs(args, p);
  return print_result(args, p.info, p.summary);
}

}  // namespace greenai::cli
