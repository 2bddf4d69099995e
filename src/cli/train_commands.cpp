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
#include "cli/tracking_flags.h"
#include "greenai/compress/distill.h"
#include "greenai/compress/prune.h"
#include "greenai/compress/quantize.h"
#include "greenai/edge/format.h"
#include "greenai/edge/greenai_edge.h"
#include "greenai/error.h"
#include "greenai/nn/checkpoint.h"
#include "greenai/nn/dataset.h"
#include "greenai/nn/trainer.h"

namespace greenai::cli {
namespace {

using util::Json;

const char* kCommonHelp =
    "Data and execution:\n"
    "  --data DIR            Fashion-MNIST folder (default /usr/share/datasets/fashion-mnist)\n"
    "  --limit-train N       use the first N training examples (quick runs)\n"
    "  --limit-test N        use the first N test examples\n"
    "  --threads N           LibTorch threads (default: all logical CPUs)\n"
    "  --seed N              seed of initialisation, shuffling and dropout (default 0)\n"
    "  --json                print the results as JSON on stdout\n"
    "Tracking (as for `greenai run`; the record file is --json-log FILE here):\n";

std::vector<OptionSpec> common_specs(std::vector<OptionSpec> own) {
  for (auto s : tracking_option_specs(/*json_is_log=*/false)) own.push_back(s);
  for (const char* name : {"data", "limit-train", "limit-test", "threads", "seed"})
    own.push_back({name, true});
  own.push_back({"json", false});
  own.push_back({"help", false});
  return own;
}

// The options of every command that trains (train, distill, and prune's fine-tuning).
std::vector<OptionSpec> training_specs(std::vector<OptionSpec> own) {
  for (const char* name : {"batch", "lr", "optimizer", "schedule", "precision", "out"})
    own.push_back({name, true});
  return common_specs(std::move(own));
}

int64_t integer(const ParsedArgs& args, const std::string& name, int64_t fallback,
                int64_t minimum) {
  double value = args.number(name, static_cast<double>(fallback));
  if (value != std::floor(value) || value < static_cast<double>(minimum))
    throw UsageError("--" + name + " must be an integer of at least " + std::to_string(minimum));
  return static_cast<int64_t>(value);
}

// Threads first: fp32 and bf16 figures are only comparable with the same, deliberate count.
void configure_threads(const ParsedArgs& args) {
  int64_t threads = integer(args, "threads", std::max(1u, std::thread::hardware_concurrency()), 1);
  torch::set_num_threads(static_cast<int>(threads));
}

struct Data {
  nn::Dataset train, test;
};

Data load_data(const ParsedArgs& args, bool need_train = true) {
  std::string dir = args.get("data").value_or(nn::default_fashion_mnist_dir());
  Data data;
  if (need_train)
    data.train =
        nn::load_fashion_mnist(nn::Split::kTrain, dir).head(integer(args, "limit-train", 0, 0));
  data.test = nn::load_fashion_mnist(nn::Split::kTest, dir).head(integer(args, "limit-test", 0, 0));
  return data;
}

// Progress on a terminal: one rewritten line, at most ten updates a second.
class Progress {
 public:
  explicit Progress(bool quiet) : terminal_(!quiet && ::isatty(2)) {}
  void operator()(const nn::TrainProgress& p) {
    if (!terminal_) return;
    auto now = std::chrono::steady_clock::now();
    if (p.step != p.steps && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    constexpr int kWidth = 30;
    int filled = static_cast<int>(kWidth * p.step / p.steps);
    std::fprintf(stderr, "\repoch %d/%d [%s%s] %3d%% loss %.4f", p.epoch, p.epochs,
                 std::string(filled, '#').c_str(), std::string(kWidth - filled, '.').c_str(),
                 static_cast<int>(100 * p.step / p.steps), p.loss);
    if (p.step == p.steps) std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
  }

 private:
  bool terminal_;
  std::chrono::steady_clock::time_point last_{};
};

std::string energy_text(const track::Energy& e, double kg, const std::string& provenance) {
  char text[128];
  std::snprintf(text, sizeof text, "%.4g J, %.3g kg CO2eq (%s)", e.total_j(), kg,
                provenance.c_str());
  return text;
}

Json energy_json(const track::Energy& e, double kg) {
  return Json::object()
      .set("cpu_j", e[meter::Component::kCpu])
      .set("ram_j", e[meter::Component::kRam])
      .set("gpu_j", e[meter::Component::kGpu])
      .set("total_j", e.total_j())
      .set("emissions_kg", kg);
}

Json eval_json(const nn::EvalReport& r) {
  return Json::object()
      .set("accuracy", r.accuracy)
      .set("loss", r.loss)
      .set("examples", r.examples)
      .set("seconds", r.seconds)
      .set("energy", energy_json(r.energy, r.emissions_kg));
}

Json provenance_json(const track::Tracker& tracker) {
  const track::RunInfo& info = tracker.info();
  Json sources = Json::object();
  for (meter::Component c : meter::kAllComponents) {
    const auto& s = info.sources[static_cast<size_t>(c)];
    if (s.present)
      sources.set(std::string(meter::to_string(c)), std::string(meter::to_string(s.provenance)) +
                                                        ": " + s.sensor + " (" + s.detail + ")");
  }
  return Json::object()
      .set("energy", info.provenance())
      .set("sources", sources)
      .set("intensity", info.intensity_source)
      .set("pue", info.pue);
}

Json train_json(const nn::TrainReport& r) {
  Json epochs = Json::array();
  for (const auto& e : r.epochs) {
    Json j = Json::object()
                 .set("epoch", e.epoch)
                 .set("train_loss", e.train_loss)
                 .set("seconds", e.seconds)
                 .set("examples_per_s", e.examples_per_s)
                 .set("energy", energy_json(e.energy, e.emissions_kg));
    if (e.test.examples) j.set("test", eval_json(e.test));
    epochs.push(j);
  }
  return Json::object()
      .set("epochs", epochs)
      .set("seconds", r.seconds)
      .set("examples_per_s", r.examples_per_s)
      .set("energy", energy_json(r.energy, r.emissions_kg))
      .set("test", eval_json(r.final_test))
      .set("skipped_fp16_steps", r.skipped_steps);
}

nn::TrainOptions train_options(const ParsedArgs& args, int default_epochs, int64_t default_batch,
                               track::Tracker* tracker, Progress& progress) {
  nn::TrainOptions o;
  o.epochs = static_cast<int>(integer(args, "epochs", default_epochs, 1));
  o.batch_size = integer(args, "batch", default_batch, 1);
  o.learning_rate = args.number("lr", 1e-3);
  o.optimizer = args.get("optimizer").value_or("adam");
  o.schedule = args.get("schedule").value_or("cosine");
  o.precision = nn::parse_precision(args.get("precision").value_or("fp32"));
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

Json hyperparameters(const nn::TrainOptions& o) {
  return Json::object()
      .set("epochs", o.epochs)
      .set("batch", o.batch_size)
      .set("lr", o.learning_rate)
      .set("optimizer", o.optimizer)
      .set("schedule", o.schedule)
      .set("precision", nn::to_string(o.precision))
      .set("seed", static_cast<double>(o.seed))
      .set("threads", torch::get_num_threads());
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

int print_result(const ParsedArgs& args, const Json& result, const std::string& headline) {
  if (args.has("json"))
    std::cout << result.dump(2) << "\n";
  else
    std::cout << headline;
  return 0;
}

const char* kTrainHelp =
    "usage: greenai train [--model teacher|student|cnn] [--hidden N] [--epochs N] [--batch N] "
    "[--lr X]\n"
    "                     [--optimizer adam|sgd] [--precision fp32|bf16|fp16] [--seed N] [--out "
    "FILE]\n\n"
    "Trains a model on Fashion-MNIST and writes FILE (LibTorch weights) and FILE.json "
    "(architecture,\n"
    "hyper-parameters, accuracy, energy). Defaults: teacher (MLP 784-1200-1200-10, dropout 0.5),\n"
    "20 epochs (cnn: 5), batch 512 (student: 128), Adam lr 0.001 with cosine decay, fp32, out "
    "model.pt. bf16 "
    "uses\n"
    "CPU autocast with fp32 master weights; fp16 needs a CUDA build of LibTorch.\n\n";

bool is_edge_file(const std::string& path) {
  char magic[sizeof edge::kMagic] = {};
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  const bool edge_file = std::fread(magic, 1, sizeof magic, f) == sizeof magic &&
                         std::memcmp(magic, edge::kMagic, sizeof magic) == 0;
  std::fclose(f);
  return edge_file;
}

// Accuracy, size and energy per 1,000 inferences of an edge file, run by the edge runtime
// (single-threaded, as on a small device).
int eval_edge(const ParsedArgs& args, const std::string& path) {
  const int64_t batch = integer(args, "batch", 64, 1);
  const int64_t repeat = integer(args, "repeat", 3, 1);
  greenai_edge_model* model = nullptr;
  char why[256] = "";
  if (greenai_edge_load_file(path.c_str(), static_cast<int>(batch), &model, why, sizeof why) !=
      GREENAI_EDGE_OK)
    throw Error("cannot load edge model (path=" + path + ")", why);
  std::unique_ptr<greenai_edge_model, void (*)(greenai_edge_model*)> guard(model,
                                                                           greenai_edge_free);
  Data data = load_data(args, /*need_train=*/false);
  const int64_t n = data.test.size(), in = static_cast<int64_t>(greenai_edge_input_size(model));
  const int64_t classes = static_cast<int64_t>(greenai_edge_output_size(model));
  torch::Tensor images = data.test.images.reshape({n, -1}).contiguous();
  if (images.size(1) != in)
    throw Error("cannot evaluate (path=" + path + ")", "the model takes " + std::to_string(in) +
                                                           " inputs, the data set has " +
                                                           std::to_string(images.size(1)));
  std::vector<float> logits(static_cast<size_t>(n * classes));
  auto tracker = tracker_for_this_process(args);
  tracker->start();
  tracker->begin_phase("edge inference");
  auto start = std::chrono::steady_clock::now();
  for (int64_t r = 0; r < repeat; ++r)
    for (int64_t offset = 0; offset < n; offset += batch) {
      const int count = static_cast<int>(std::min(batch, n - offset));
      if (greenai_edge_infer(model, count, images.data_ptr<float>() + offset * in,
                             static_cast<size_t>(count * in), logits.data() + offset * classes,
                             static_cast<size_t>(count * classes)) != GREENAI_EDGE_OK)
        throw Error("cannot run edge model (path=" + path + ")", greenai_edge_last_error(model));
    }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  tracker->end_phase();
  std::vector<track::Record> phases = tracker->phases();
  tracker->stop();
  int64_t correct = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float* row = logits.data() + i * classes;
    correct += std::max_element(row, row + classes) - row == data.test.labels[i].item<int64_t>();
  }
  const double inferences = static_cast<double>(repeat * n);
  track::Energy per_1000;
  double kg = 0;
  for (const auto& p : phases)
    if (p.phase == "edge inference") {
      for (size_t c = 0; c < 3; ++c) per_1000.joules[c] = p.tree.joules[c] / inferences * 1000;
      kg = p.emissions_kg / inferences * 1000;
    }
  const double accuracy = static_cast<double>(correct) / n;
  const std::string provenance = tracker->info().provenance();
  Json result =
      Json::object()
          .set("model", path)
          .set("runtime", std::string("greenai edge (") + greenai_edge_kernels(model) + ")")
          .set("accuracy", accuracy)
          .set("test_examples", n)
          .set("size_bytes", static_cast<double>(std::filesystem::file_size(path)))
          .set("arena_bytes", static_cast<double>(greenai_edge_arena_bytes(model)))
          .set("batch", batch)
          .set("inferences_per_s", inferences / seconds)
          .set("energy_per_1000_inferences", energy_json(per_1000, kg))
          .set("provenance", provenance_json(*tracker));
  char headline[512];
  std::snprintf(headline, sizeof headline,
                "%s (edge runtime, %s kernels): test accuracy %.2f %%, %.0f bytes; %.0f "
                "inferences/s at batch %lld; "
                "1,000 inferences: %s\n",
                path.c_str(), greenai_edge_kernels(model), 100 * accuracy,
                result.at("size_bytes").number(), inferences / seconds,
                static_cast<long long>(batch), energy_text(per_1000, kg, provenance).c_str());
  return print_result(args, result, headline);
}

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
  Progress progress(args.has("json"));
  nn::TrainOptions options =
      train_options(args, model == "cnn" ? 5 : 20, default_batch(model), tracker.get(), progress);
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
                  .set("hyperparameters", hyperparameters(options));
  info.set("training", train_json(report)).set("accuracy", report.final_test.accuracy);
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
           "                       [--batch N] [--lr X] [--precision fp32|bf16] --out FILE\n\n"
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
  Progress progress(args.has("json"));
  nn::TrainOptions options =
      train_options(args, 20, default_batch("student"), tracker.get(), progress);
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
                  .set("hyperparameters", hyperparameters(options))
                  .set("training", train_json(report))
                  .set("teacher_logits_energy", energy_json(teacher_energy, teacher_kg))
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
  Progress progress(args.has("json"));
  nn::TrainOptions options =
      train_options(args, 3, default_batch(source.net->spec().arch), tracker.get(), progress);
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
                  .set("hyperparameters", hyperparameters(options));
  if (options.epochs > 0) info.set("finetuning", train_json(report));
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

int quantize_command(int argc, char** argv) {
  ParsedArgs args = ArgParser("quantize", common_specs({{"calibration", true},
                                                        {"observer", true},
                                                        {"keep-fp32", true},
                                                        {"precision", true},
                                                        {"out", true}}))
                        .parse(argc, argv, 2);
  if (args.has("help")) {
    std::cout
        << "usage: greenai quantize MODEL [--calibration N] [--observer "
           "minmax|percentile|histogram]\n"
           "                        [--keep-fp32 LAYER[,LAYER]] [--precision int8|fp32] --out "
           "FILE.edge\n\n"
           "--keep-fp32 leaves the Linear/Conv2d layers with those indices (in the checkpoint's\n"
           "spec, FILE.json) in fp32, with Dequantize and Quantize operators around them; auto\n"
           "tries each layer on 2,000 held-out training examples and keeps the one that helps\n"
           "most, if any helps by more than 0.1 points.\n"
           "Writes MODEL as an edge file for greenai's standalone runtime (docs/edge-format.md).\n"
           "int8 (default): static post-training quantization calibrated on the first N training\n"
           "examples (default 1000): per-channel symmetric int8 weights, asymmetric int8\n"
           "activations, int32 bias, fixed-point requantization, ReLU fused. fp32: the weights as\n"
           "trained.\n\n"
        << kCommonHelp << kTrackingHelp;
    return 0;
  }
  if (args.positionals.size() != 1) throw UsageError("expected one MODEL checkpoint");
  auto out = args.get("out");
  if (!out) throw UsageError("missing --out FILE.edge");
  const std::string precision = args.get("precision").value_or("int8");
  if (precision != "int8" && precision != "fp32")
    throw Error("cannot quantize (--precision=" + precision + ")", "unknown precision",
                "use int8 or fp32");
  configure_threads(args);
  nn::Checkpoint checkpoint = nn::load_checkpoint(args.positionals[0]);
  compress::QuantizeOptions options{
      compress::parse_observer(args.get("observer").value_or("minmax")), {}};
  const int64_t calibration = integer(args, "calibration", 1000, 1);
  std::string dir = args.get("data").value_or(nn::default_fashion_mnist_dir());
  Json sensitivity = Json::array();
  if (auto kept = args.get("keep-fp32"); kept && *kept == "auto") {
    // Try each layer in fp32 on 2,000 training examples after the calibration ones (the test
    // set stays unseen); keep the one that helps most, if it helps by more than 0.1 points.
    constexpr int64_t kValidation = 2000;
    constexpr double kMinimumGain = 0.001;
    nn::Dataset train_set = nn::load_fashion_mnist(nn::Split::kTrain, dir);
    nn::Dataset validation{train_set.images.narrow(0, calibration, kValidation),
                           train_set.labels.narrow(0, calibration, kValidation)};
    auto trials = compress::layer_sensitivity(checkpoint.net, train_set.head(calibration).images,
                                              validation.images, validation.labels, options);
    const auto best =
        std::max_element(trials.begin() + 1, trials.end(),
                         [](const auto& a, const auto& b) { return a.accuracy < b.accuracy; });
    for (const auto& t : trials)
      sensitivity.push(
          Json::object()
              .set("kept_fp32_layer", t.layer == compress::kNoLayer ? Json() : Json(t.layer))
              .set("validation_accuracy", t.accuracy));
    if (best != trials.end() && best->accuracy > trials[0].accuracy + kMinimumGain)
      options.keep_fp32 = {best->layer};
  } else if (kept) {
    // A comma-separated list of layer indices of the model's spec.
    size_t start = 0;
    while (start <= kept->size()) {
      size_t comma = kept->find(',', start);
      std::string item =
          kept->substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      char* end = nullptr;
      const long index = std::strtol(item.c_str(), &end, 10);
      if (item.empty() || *end != '\0' || index < 0)
        throw UsageError("--keep-fp32 takes layer indices such as 1,4, or auto");
      options.keep_fp32.push_back(static_cast<size_t>(index));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  std::vector<uint8_t> bytes;
  if (precision == "fp32") {
    bytes = compress::export_edge_fp32(checkpoint.net);
  } else {
    nn::Dataset train_set = nn::load_fashion_mnist(nn::Split::kTrain, dir).head(calibration);
    bytes = compress::quantize_to_edge(checkpoint.net, train_set.images, options);
  }
  if (std::string why = edge::write_file(*out, bytes); !why.empty())
    throw Error("cannot write edge file (path=" + *out + ")", why);
  const double checkpoint_bytes =
      static_cast<double>(std::filesystem::file_size(args.positionals[0]));
  Json result =
      Json::object()
          .set("model", args.positionals[0])
          .set("out", *out)
          .set("precision", precision)
          .set("observer", precision == "int8" ? compress::to_string(options.observer) : "")
          .set("calibration_examples", precision == "int8" ? calibration : 0)
          .set("size_bytes", static_cast<double>(bytes.size()))
          .set("checkpoint_bytes", checkpoint_bytes);
  Json kept_layers = Json::array();
  for (size_t layer : options.keep_fp32) kept_layers.push(layer);
  result.set("kept_fp32_layers", kept_layers);
  if (!sensitivity.items().empty()) result.set("layer_sensitivity", sensitivity);
  std::string kept_text;
  for (size_t layer : options.keep_fp32)
    kept_text += (kept_text.empty() ? "; layers kept in fp32: " : ", ") + std::to_string(layer);
  char headline[640];
  std::snprintf(headline, sizeof headline,
                "wrote %s: %s edge model, %zu bytes (checkpoint %.0f bytes, %.1fx smaller)%s\n",
                out->c_str(), precision.c_str(), bytes.size(), checkpoint_bytes,
                checkpoint_bytes / bytes.size(), kept_text.c_str());
  return print_result(args, result, headline);
}

int eval_command(int argc, char** argv) {
  ParsedArgs args =
      ArgParser("eval", common_specs({{"batch", true}, {"precision", true}, {"repeat", true}}))
          .parse(argc, argv, 2);
  if (args.has("help")) {
    std::cout
        << "usage: greenai eval MODEL [--batch N] [--precision fp32|bf16] [--repeat R]\n\n"
           "Test accuracy and loss, parameter count, non-zero parameters, size on disk, and the\n"
           "energy of 1,000 test inferences (the test set is run R times, default 3, at batch N,\n"
           "default 1000, and the energy divided by the inferences made).\n\n"
        << kCommonHelp << kTrackingHelp;
    return 0;
  }
  if (args.positionals.size() != 1) throw UsageError("expected one MODEL checkpoint or .edge file");
  configure_threads(args);
  const std::string path = args.positionals[0];
  if (is_edge_file(path)) return eval_edge(args, path);
  nn::Checkpoint checkpoint = nn::load_checkpoint(path);
  const int64_t batch = integer(args, "batch", 1000, 1);
  const int64_t repeat = integer(args, "repeat", 3, 1);
  nn::Precision precision = nn::parse_precision(args.get("precision").value_or("fp32"));
  nn::check_precision_supported(precision, torch::kCPU);
  Data data = load_data(args, /*need_train=*/false);
  auto tracker = tracker_for_this_process(args);
  tracker->start();
  nn::EvalReport report;
  track::Energy energy;
  double kg = 0, seconds = 0;
  for (int64_t r = 0; r < repeat; ++r) {
    report = nn::evaluate(checkpoint.net, data.test, batch, precision, torch::kCPU, tracker.get());
    energy += report.energy;
    kg += report.emissions_kg;
    seconds += report.seconds;
  }
  tracker->stop();
  const double inferences = static_cast<double>(repeat * data.test.size());
  track::Energy per_1000;
  for (size_t c = 0; c < 3; ++c) per_1000.joules[c] = energy.joules[c] / inferences * 1000;
  const std::string provenance = tracker->info().provenance();
  const nn::ModelSpec& spec = checkpoint.net->spec();
  Json result =
      Json::object()
          .set("model", path)
          .set("arch", spec.arch)
          .set("architecture", spec.describe())
          .set("accuracy", report.accuracy)
          .set("loss", report.loss)
          .set("test_examples", report.examples)
          .set("parameters", spec.parameter_count())
          .set("nonzero_parameters", nn::count_nonzero(checkpoint.net))
          .set("size_bytes", static_cast<double>(std::filesystem::file_size(path)))
          .set("macs_per_inference", spec.macs())
          .set("batch", batch)
          .set("precision", nn::to_string(precision))
          .set("threads", torch::get_num_threads())
          .set("inferences_per_s", inferences / seconds)
          .set("energy_per_1000_inferences", energy_json(per_1000, kg / inferences * 1000))
          .set("provenance", provenance_json(*tracker));
  char headline[640];
  std::snprintf(headline, sizeof headline,
                "%s (%s): test accuracy %.2f %%, loss %.4f, %lld parameters (%lld non-zero), %lld "
                "bytes on disk; "
                "%.0f inferences/s at batch %lld; 1,000 inferences: %s\n",
                path.c_str(), spec.describe().c_str(), 100 * report.accuracy, report.loss,
                static_cast<long long>(spec.parameter_count()),
                static_cast<long long>(result.at("nonzero_parameters").number()),
                static_cast<long long>(result.at("size_bytes").number()), inferences / seconds,
                static_cast<long long>(batch),
                energy_text(per_1000, kg / inferences * 1000, provenance).c_str());
  return print_result(args, result, headline);
}

}  // namespace greenai::cli
