// `greenai train`, `distill`, `prune` and `eval`: the training side of the green techniques,
// each run tracked by the meter (energy and kg CO2eq per epoch and in total).
#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <thread>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "cli/torch_common.h"
#include "cli/tracking_flags.h"
#include "greenai/compress/distill.h"
#include "greenai/compress/prune.h"
#include "greenai/compress/quantize.h"
#include "greenai/edge/format.h"
#include "greenai/edge/greenai_edge.h"
#include "greenai/error.h"
#include "greenai/hardware/cpu.h"
#include "greenai/nn/checkpoint.h"
#include "greenai/nn/dataset.h"
#include "greenai/nn/precision_probe.h"
#include "greenai/nn/trainer.h"
#include "greenai/track/measurements.h"

namespace greenai::cli {
namespace {

using util::Json;

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
    // A bar on a terminal; the pipeline shows the lines after its own text, so they are short.
    constexpr int kWidth = 20;
    const int filled = static_cast<int>(kWidth * p.step / p.steps);
    const std::string bar =
        mode_ == ProgressMode::kTerminal
            ? "[" + std::string(filled, '#') + std::string(kWidth - filled, '.') + "] "
            : "";
    char text[256];
    std::snprintf(text, sizeof text, "epoch %d/%d %s%3d%% loss %.4f, %.0f ex/s, %s left", p.epoch,
                  p.epochs, bar.c_str(), static_cast<int>(100 * p.step / p.steps), p.loss,
                  p.examples_per_s, format_duration(p.eta_s).c_str());
    const bool last = p.step == p.steps && p.epoch == p.epochs;
    line_.show(text, last);
    if (last) line_.clear();
  }

 private:
  ProgressMode mode_;
  ProgressLine line_;
};

// --precision fp32, bf16, fp16 or auto. auto and bf16 consult the precision probe (cached per
// CPU): auto takes the faster of fp32 and bf16; bf16 where the probe found it slower runs as
// asked, with one warning and the measured ratio. What the probe said goes into `note`.
nn::Precision choose_precision(const ParsedArgs& args, Json* note) {
  const std::string asked = args.get("precision").value_or("fp32");
  if (asked != "auto" && asked != "bf16") return nn::parse_precision(asked);
  const nn::PrecisionProbe probe = nn::probe_precision(hardware::detect());
  const nn::PrecisionAdvice advice = nn::advise_precision(probe);
  *note = Json::object()
              .set("requested", asked)
              .set("advice", advice.to_json())
              .set("probe", probe.to_json());
  if (asked == "auto") {
    std::fprintf(stderr, "greenai: --precision auto: training in %s (%s)\n",
                 nn::to_string(advice.fastest), advice.reason.c_str());
    return advice.fastest;
  }
  if (advice.bf16_speedup > 0 && advice.bf16_speedup < 1)
    std::fprintf(stderr,
                 "greenai: warning: %s; training in bf16 as asked (--precision auto takes the "
                 "faster)\n",
                 advice.reason.c_str());
  return nn::Precision::kBf16;
}

nn::TrainOptions train_options(const ParsedArgs& args, int default_epochs, int64_t default_batch,
                               track::Tracker* tracker, Progress& progress, Json* precision_note) {
  nn::TrainOptions o;
  o.epochs = static_cast<int>(integer(args, "epochs", default_epochs, 1));
  o.batch_size = integer(args, "batch", default_batch, 1);
  o.learning_rate = args.number("lr", 1e-3);
  o.optimizer = args.get("optimizer").value_or("adam");
  o.schedule = args.get("schedule").value_or("cosine");
  o.precision = choose_precision(args, precision_note);
  o.seed = static_cast<uint64_t>(integer(args, "seed", 0, 0));
  o.tracker = tracker;
  o.on_progress = [&progress](const nn::TrainProgress& p) { progress(p); };
  nn::check_precision_supported(o.precision, o.device);
  return o;
}

// The student has so few multiply-adds per example that per-step overhead dominates: it learns
// more per joule from more, smaller steps. The teacher and the cnn use batches large enough for
// bf16 to pay (measured: docs/training.md).
int64_t default_batch(const std::string& arch) { return arch.rfind("student", 0) == 0 ? 128 : 512; }

Json hyperparameters(const nn::TrainOptions& o, const Json& precision_note) {
  Json h = o.to_json();
  if (!precision_note.is_null()) h.set("precision_choice", precision_note);
  return h;
}

// Adds what every result carries: model size, provenance, BLAS, and writes the checkpoint.
Json finish_model(nn::Net& net, const std::string& out, Json info, const track::Tracker& tracker) {
  info.set("architecture", net->spec().describe())
      .set("parameters", net->spec().parameter_count())
      .set("nonzero_parameters", nn::count_nonzero(net))
      .set("provenance", provenance_json(tracker))
      .set("blas", nn::loaded_blas());
  nn::save_checkpoint(net, out, info);
  info.set("checkpoint", out)
      .set("size_bytes", static_cast<double>(std::filesystem::file_size(out)));
  return info;
}

void print_epochs(const nn::TrainReport& r, const std::string& provenance) {
  for (const auto& e : r.epochs) {
    std::fprintf(stderr, "epoch %d: loss %.4f", e.epoch, e.train_loss);
    if (e.test.examples) std::fprintf(stderr, ", test accuracy %.2f %%", 100 * e.test.accuracy);
    std::fprintf(stderr, ", %.1f s, %.0f examples/s, %s\n", e.seconds, e.examples_per_s,
                 energy_text(e.energy, e.emissions_kg, provenance).c_str());
  }
}

const char* kTrainHelp =
    "usage: greenai train [--model teacher|student|cnn] [--hidden N] [--epochs N] [--batch N] "
    "[--lr X]\n"
    "                     [--optimizer adam|sgd] [--precision fp32|bf16|fp16|auto]\n"
    "                     [--seed N] [--out FILE]\n\n"
    "Trains a model on Fashion-MNIST and writes FILE (LibTorch weights) and FILE.json "
    "(architecture,\n"
    "hyper-parameters, accuracy, energy). Defaults: teacher (MLP 784-1200-1200-10, dropout 0.5),\n"
    "20 epochs (cnn: 5), batch 512 (student: 128), Adam lr 0.001 with cosine decay, fp32, out "
    "model.pt. bf16 "
    "uses\n"
    "CPU autocast with fp32 master weights; fp16 needs a CUDA build of LibTorch. auto trains in\n"
    "bf16 where the precision probe (`greenai hardware`) measured it at least 1.1x faster than\n"
    "fp32 on this CPU, else in fp32; an explicit bf16 that the probe found slower runs, with a\n"
    "warning that gives the measured ratio.\n\n";

}  // namespace

int train_command(int argc, char** argv) {
  ParsedArgs args =
      ArgParser("train", training_specs({{"model", true}, {"hidden", true}, {"epochs", true}}))
          .parse(argc, argv, 2);
  if (args.has("help")) {
    std::cout << kTrainHelp << kCommonHelp << kTrackingHelp;
    return 0;
  }
  configure_threads(args);
  const std::string model = args.get("model").value_or("teacher");
  nn::ModelSpec spec = nn::spec_by_name(model, integer(args, "hidden", 20, 1));
  auto tracker = tracker_for_this_process(args);
  Progress progress(args.has("quiet"));
  Json precision_note;  // what the precision probe said, for --precision auto or bf16
  nn::TrainOptions options = train_options(args, model == "cnn" ? 5 : 20, default_batch(model),
                                           tracker.get(), progress, &precision_note);
  const std::string out = args.get("out").value_or("model.pt");
  Data data = load_data(args);
  torch::manual_seed(options.seed);
  nn::Net net(spec);
  tracker->start();
  nn::TrainReport report = nn::train(net, data.train, data.test, nn::cross_entropy_loss(), options);
  tracker->stop();
  const std::string provenance = tracker->info().provenance();
  if (!args.has("json")) print_epochs(report, provenance);
  Json info = Json::object()
                  .set("command", "train")
                  .set("model", model)
                  .set("hyperparameters", hyperparameters(options, precision_note));
  info.set("training", report.to_json()).set("accuracy", report.final_test.accuracy);
  info = finish_model(net, out, info, *tracker);
  char headline[512];
  std::snprintf(
      headline, sizeof headline,
      "%s %s: test accuracy %.2f %%, %lld parameters, trained in %.1f s with %s; wrote %s\n",
      model.c_str(), spec.describe().c_str(), 100 * report.final_test.accuracy,
      static_cast<long long>(spec.parameter_count()), report.seconds,
      energy_text(report.energy, report.emissions_kg, provenance).c_str(), out.c_str());
  return print_result(args, info, headline);
}

int distill_command(int argc, char** argv) {
  ParsedArgs args = ArgParser("distill", training_specs({{"teacher", true},
                                                         {"hidden", true},
                                                         {"temperature", true},
                                                         {"alpha", true},
                                                         {"epochs", true}}))
                        .parse(argc, argv, 2);
  if (args.has("help")) {
    std::cout
        << "usage: greenai distill --teacher FILE [--hidden N] [--temperature T] [--alpha A] "
           "[--epochs N]\n"
           "                       [--batch N] [--lr X] [--precision fp32|bf16|auto] --out FILE\n\n"
           "Trains a student MLP 784-N-10 (default N = 20) from a teacher checkpoint with\n"
           "loss = A x T^2 x KL(softmax(teacher/T) || softmax(student/T)) + (1 - A) x CE(labels),\n"
           "batch-mean KL; defaults T = 1, A = 0.9, 20 epochs, batch 128. The teacher's logits are "
           "computed\n"
           "once, without gradients, and their energy is counted in the distillation's.\n\n"
        << kCommonHelp << kTrackingHelp;
    return 0;
  }
  auto teacher_path = args.get("teacher");
  if (!teacher_path) throw UsageError("missing --teacher FILE");
  auto out = args.get("out");
  if (!out) throw UsageError("missing --out FILE");
  configure_threads(args);
  compress::DistillOptions distill{args.number("temperature", 1.0), args.number("alpha", 0.9)};
  compress::validate(distill);
  nn::Checkpoint teacher = nn::load_checkpoint(*teacher_path);
  auto tracker = tracker_for_this_process(args);
  Progress progress(args.has("quiet"));
  Json precision_note;  // what the precision probe said, for --precision auto or bf16
  nn::TrainOptions options =
      train_options(args, 20, default_batch("student"), tracker.get(), progress, &precision_note);
  Data data = load_data(args);
  tracker->start();
  tracker->begin_phase("teacher logits");
  torch::Tensor teacher_logits = nn::predict_logits(teacher.net, data.train);
  tracker->end_phase();
  torch::manual_seed(options.seed);
  nn::Net student(nn::student_spec(integer(args, "hidden", 20, 1)));
  nn::TrainReport report =
      nn::train(student, data.train, data.test,
                compress::distillation_loss_fn(teacher_logits, distill), options);
  std::vector<track::Record> phases = tracker->phases();
  tracker->stop();
  track::Energy teacher_energy;
  double teacher_kg = 0;
  for (const auto& p : phases)
    if (p.phase == "teacher logits") teacher_energy = p.tree, teacher_kg = p.emissions_kg;
  const std::string provenance = tracker->info().provenance();
  if (!args.has("json")) print_epochs(report, provenance);
  Json info = Json::object()
                  .set("command", "distill")
                  .set("model", "student")
                  .set("teacher", *teacher_path)
                  .set("temperature", distill.temperature)
                  .set("alpha", distill.alpha)
                  .set("hyperparameters", hyperparameters(options, precision_note))
                  .set("training", report.to_json())
                  .set("teacher_logits_energy", track::energy_to_json(teacher_energy, teacher_kg))
                  .set("accuracy", report.final_test.accuracy);
  info = finish_model(student, *out, info, *tracker);
  char headline[512];
  std::snprintf(
      headline, sizeof headline,
      "student %s distilled (T=%g, alpha=%g): test accuracy %.2f %%, trained in %.1f s with %s "
      "(+ %.1f J for the teacher's logits); wrote %s\n",
      student->spec().describe().c_str(), distill.temperature, distill.alpha,
      100 * report.final_test.accuracy, report.seconds,
      energy_text(report.energy, report.emissions_kg, provenance).c_str(), teacher_energy.total_j(),
      out->c_str());
  return print_result(args, info, headline);
}

int prune_command(int argc, char** argv) {
  ParsedArgs args =
      ArgParser(
          "prune",
          training_specs({{"sparsity", true}, {"structured", false}, {"finetune-epochs", true}}))
          .parse(argc, argv, 2);
  if (args.has("help")) {
    std::cout
        << "usage: greenai prune MODEL --sparsity S [--structured] [--finetune-epochs N] --out "
           "FILE\n\n"
           "Removes the fraction S of the weights (0.9 leaves 10 %), then fine-tunes N epochs\n"
           "(default 3). Unstructured: global magnitude pruning; the zeros stay zero while\n"
           "fine-tuning (the file keeps its dense size). --structured: removes whole neurons and\n"
           "channels (smallest L1 norm, the same fraction in every hidden layer), so the model "
           "and\n"
           "its file really shrink.\n\n"
        << kCommonHelp << kTrackingHelp;
    return 0;
  }
  if (args.positionals.size() != 1) throw UsageError("expected one MODEL checkpoint");
  auto sparsity = args.number("sparsity");
  if (!sparsity) throw UsageError("missing --sparsity S");
  auto out = args.get("out");
  if (!out) throw UsageError("missing --out FILE");
  configure_threads(args);
  nn::Checkpoint source = nn::load_checkpoint(args.positionals[0]);
  const bool structured = args.has("structured");
  auto tracker = tracker_for_this_process(args);
  Progress progress(args.has("quiet"));
  Json precision_note;  // what the precision probe said, for --precision auto or bf16
  nn::TrainOptions options = train_options(args, 3, default_batch(source.net->spec().arch),
                                           tracker.get(), progress, &precision_note);
  options.epochs = static_cast<int>(integer(args, "finetune-epochs", 3, 0));
  Data data = load_data(args);
  tracker->start();
  nn::EvalReport before = nn::evaluate(source.net, data.test, 1000, nn::Precision::kFp32,
                                       torch::kCPU, tracker.get(), "evaluate before pruning");
  nn::Net net = source.net;
  compress::Masks masks;
  if (structured) {
    net = compress::structured_prune(source.net, *sparsity);
  } else {
    masks = compress::magnitude_prune(net, *sparsity);
    options.after_step = [&masks](nn::Net&) { masks.apply(); };
  }
  nn::EvalReport pruned = nn::evaluate(net, data.test, 1000, nn::Precision::kFp32, torch::kCPU,
                                       tracker.get(), "evaluate after pruning");
  nn::TrainReport report;
  if (options.epochs > 0)
    report = nn::train(net, data.train, data.test, nn::cross_entropy_loss(), options);
  tracker->stop();
  const nn::EvalReport& after = options.epochs > 0 ? report.final_test : pruned;
  const std::string provenance = tracker->info().provenance();
  if (!args.has("json") && options.epochs > 0) print_epochs(report, provenance);
  const int64_t weights_before = compress::prunable_weight_count(source.net->spec());
  int64_t weights_left = compress::prunable_weight_count(net->spec());
  if (!structured)
    weights_left -= static_cast<int64_t>(std::llround(masks.sparsity() * weights_before));
  Json info = Json::object()
                  .set("command", "prune")
                  .set("model", net->spec().arch)
                  .set("source", args.positionals[0])
                  .set("method", structured ? "structured" : "magnitude")
                  .set("sparsity_requested", *sparsity)
                  .set("weights_before", weights_before)
                  .set("weights_after", weights_left)
                  .set("weights_kept_fraction", static_cast<double>(weights_left) / weights_before)
                  .set("accuracy_before", before.accuracy)
                  .set("accuracy_after_pruning", pruned.accuracy)
                  .set("accuracy", after.accuracy)
                  .set("hyperparameters", hyperparameters(options, precision_note));
  if (options.epochs > 0) info.set("finetuning", report.to_json());
  info = finish_model(net, *out, info, *tracker);
  char headline[640];
  std::snprintf(
      headline, sizeof headline,
      "%s pruning of %s -> %s: %.1f %% of weights kept (%lld of %lld); test accuracy %.2f %% "
      "before, "
      "%.2f %% right after, %.2f %% after %d fine-tuning epochs (%s); wrote %s (%lld bytes)\n",
      structured ? "structured" : "magnitude", source.net->spec().describe().c_str(),
      net->spec().describe().c_str(), 100.0 * weights_left / weights_before,
      static_cast<long long>(weights_left), static_cast<long long>(weights_before),
      100 * before.accuracy, 100 * pruned.accuracy, 100 * after.accuracy, options.epochs,
      energy_text(report.energy, report.emissions_kg, provenance).c_str(), out->c_str(),
      static_cast<long long>(info.at("size_bytes").number()));
  return print_result(args, info, headline);
}

}  // namespace greenai::cli
