// The training jobs: nn's trainer, compress's distillation and pruning, the meter around them.
#include "greenai/jobs/training.h"

#include <chrono>
#include <cmath>
#include <filesystem>

#include "greenai/compress/prune.h"
#include "greenai/error.h"
#include "greenai/nn/checkpoint.h"
#include "greenai/nn/precision.h"
#include "greenai/track/measurements.h"
#include "greenai/util/text.h"

namespace greenai::jobs {
namespace {

using util::Json;

Json hyperparameters(const TrainSetup& setup) {
  Json h = setup.options.to_json();
  if (!setup.precision_note.is_null()) h.set("precision_choice", setup.precision_note);
  return h;
}

// Adds what every checkpoint's metadata carries (size, provenance, BLAS) and writes it.
void write(TrainedModel& t, const std::string& out, Json info, const track::Tracker& tracker) {
  info.set("architecture", t.net->spec().describe())
      .set("parameters", t.net->spec().parameter_count())
      .set("nonzero_parameters", nn::count_nonzero(t.net))
      .set("provenance", track::Provenance::of(tracker.info()).to_json())
      .set("blas", nn::loaded_blas());
  nn::save_checkpoint(t.net, out, info);
  t.checkpoint = out;
  t.size_bytes = static_cast<double>(std::filesystem::file_size(out));
  t.info = info.set("checkpoint", out).set("size_bytes", t.size_bytes);
  t.provenance = tracker.info().provenance();
}

std::string energy(const nn::TrainReport& r, const std::string& provenance) {
  return track::energy_text(r.energy, r.emissions_kg, provenance);
}

nn::TrainOptions with_tracker(const TrainSetup& setup, track::Tracker& tracker) {
  nn::TrainOptions o = setup.options;
  o.tracker = &tracker;
  return o;
}

// Every world-th example from `rank` on: this rank's shard.
nn::Dataset shard(const nn::Dataset& data, int rank, int world) {
  if (world <= 1) return data;
  const auto index = torch::arange(rank, data.size(), world, torch::kInt64);
  return {data.images.index_select(0, index),
          data.labeled() ? data.labels.index_select(0, index) : torch::Tensor()};
}

// What each rank of a data-parallel run measured, gathered over its group.
struct RankFigures {
  Json json;
  double total_j = 0, emissions_kg = 0;
};

RankFigures gather_ranks(dist::Group& group, const track::Record& spent, double allreduce_s,
                         int64_t examples, const nn::Net& net) {
  const auto joules = group.allgather(spent.tree.total_j());
  const auto kg = group.allgather(spent.emissions_kg);
  const auto waits = group.allgather(allreduce_s);
  const auto counts = group.allgather(static_cast<double>(examples));
  const auto g_per_kwh = group.allgather(spent.intensity_g_per_kwh);
  // The weights must have stayed identical: their sum and sum of squares, rank by rank.
  double sum = 0, squares = 0;
  for (const auto& p : net->parameters()) {
    sum += p.detach().to(torch::kFloat64).sum().item<double>();
    squares += p.detach().to(torch::kFloat64).pow(2).sum().item<double>();
  }
  const auto sums = group.allgather(sum), square_sums = group.allgather(squares);
  bool identical = true;
  for (int r = 1; r < group.size(); ++r)
    identical = identical && sums[r] == sums[0] && square_sums[r] == square_sums[0];
  if (!identical)
    throw Error("cannot finish data-parallel training", "the ranks' weights differ",
                "check every rank runs the same greenai, model and options");
  RankFigures f;
  Json ranks = Json::array();
  for (int r = 0; r < group.size(); ++r) {
    ranks.push(Json::object()
                   .set("rank", r)
                   .set("examples", counts[r])
                   .set("energy_j", joules[r])
                   .set("emissions_kg", kg[r])
                   .set("intensity_g_per_kwh", g_per_kwh[r])
                   .set("allreduce_s", waits[r]));
    f.total_j += joules[r];
    f.emissions_kg += kg[r];
  }
  f.json = Json::object()
               .set("world_size", group.size())
               .set("backend", "c10d gloo")
               .set("ranks", ranks)
               .set("total_energy_j", f.total_j)
               .set("total_emissions_kg", f.emissions_kg)
               .set("weights_identical", identical);
  return f;
}

// A job's part in data-parallel training (no group: one process, and every call a no-op): its
// shard of the data, the gradients averaged after each backward (the time it takes counted), and
// at the end every rank's figures gathered into the metadata. Only rank 0 writes.
class DataParallel {
 public:
  explicit DataParallel(dist::Group* group) : group_(group) {}
  bool writes() const { return !group_ || group_->rank() == 0; }
  nn::Dataset shard_of(const nn::Dataset& data) const {
    return group_ ? shard(data, group_->rank(), group_->size()) : data;
  }
  void hook(nn::TrainOptions& options) {
    if (!group_) return;
    options.after_backward = [this](nn::Net& net) {
      const auto started = std::chrono::steady_clock::now();
      dist::allreduce_gradients(*group_, net->parameters());
      allreduce_s_ +=
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    };
  }
  /// Every rank's energy (the whole span `spent`: the tracker's record), carbon and wait, and
  /// the check that the weights stayed identical, as info["data_parallel"].
  void gather(Json& info, const track::Record& spent, int64_t examples, const nn::Net& net) {
    if (group_)
      info.set("data_parallel", gather_ranks(*group_, spent, allreduce_s_, examples, net).json);
  }

 private:
  dist::Group* group_;
  double allreduce_s_ = 0;
};

// Writes the checkpoint where `parallel` says this process writes (rank 0, or the only process);
// every rank keeps the metadata. Returns whether it wrote.
bool write_once(const DataParallel& parallel, TrainedModel& t, const std::string& out,
                const Json& info, const track::Tracker& tracker) {
  if (parallel.writes()) {
    write(t, out, info, tracker);
    return true;
  }
  t.info = info;
  t.provenance = tracker.info().provenance();
  return false;
}

}  // namespace

int64_t default_batch(const std::string& arch) { return arch.rfind("student", 0) == 0 ? 128 : 512; }

std::string TrainedModel::epochs_text() const {
  std::string text;
  for (const auto& e : report.epochs) {
    util::appendf(text, "epoch %d: loss %.4f", e.epoch, e.train_loss);
    if (e.test.examples) util::appendf(text, ", test accuracy %.2f %%", 100 * e.test.accuracy);
    util::appendf(text, ", %.1f s, %.0f examples/s, %s\n", e.seconds, e.examples_per_s,
                  track::energy_text(e.energy, e.emissions_kg, provenance).c_str());
  }
  return text;
}

TrainedModel train_model(const std::string& model, const nn::ModelSpec& spec,
                         const TrainSetup& setup, const TrainData& data, const std::string& out,
                         track::Tracker& tracker) {
  nn::TrainOptions options = with_tracker(setup, tracker);
  DataParallel parallel(setup.group);
  parallel.hook(options);
  const nn::Dataset train_shard = parallel.shard_of(data.train);
  torch::manual_seed(options.seed);
  TrainedModel t;
  t.net = nn::Net(spec);  // the same seed on every rank: the same start
  tracker.start();
  t.report = nn::train(t.net, train_shard, data.test, nn::cross_entropy_loss(), options);
  const track::Record total = tracker.stop();
  Json info = Json::object()
                  .set("command", "train")
                  .set("model", model)
                  .set("hyperparameters", hyperparameters(setup))
                  .set("training", t.report.to_json())
                  .set("accuracy", t.report.final_test.accuracy);
  parallel.gather(info, total, train_shard.size(), t.net);
  if (!write_once(parallel, t, out, info, tracker)) return t;
  std::string text;
  util::appendf(text,
                "%s %s: test accuracy %.2f %%, %lld parameters, trained in %.1f s with %s; wrote "
                "%s\n",
                model.c_str(), spec.describe().c_str(), 100 * t.report.final_test.accuracy,
                static_cast<long long>(spec.parameter_count()), t.report.seconds,
                energy(t.report, t.provenance).c_str(), out.c_str());
  t.summary = text;
  return t;
}

Distilled distill_model(const std::string& teacher, int64_t hidden,
                        const compress::DistillOptions& distill, const TrainSetup& setup,
                        const TrainData& data, const std::string& out, track::Tracker& tracker) {
  compress::validate(distill);
  nn::Checkpoint source = nn::load_checkpoint(teacher);
  nn::TrainOptions options = with_tracker(setup, tracker);
  DataParallel parallel(setup.group);
  parallel.hook(options);
  const nn::Dataset train_shard = parallel.shard_of(data.train);
  Distilled d;
  tracker.start();
  tracker.begin_phase("teacher logits");  // of this rank's shard only
  torch::Tensor teacher_logits = nn::predict_logits(source.net, train_shard);
  tracker.end_phase();
  torch::manual_seed(options.seed);
  d.net = nn::Net(nn::student_spec(hidden));
  d.report = nn::train(d.net, train_shard, data.test,
                       compress::distillation_loss_fn(teacher_logits, distill), options);
  for (const auto& p : tracker.phases())
    if (p.phase == "teacher logits") d.teacher_energy = p.tree, d.teacher_kg = p.emissions_kg;
  const track::Record total = tracker.stop();
  Json info =
      Json::object()
          .set("command", "distill")
          .set("model", "student")
          .set("teacher", teacher)
          .set("temperature", distill.temperature)
          .set("alpha", distill.alpha)
          .set("hyperparameters", hyperparameters(setup))
          .set("training", d.report.to_json())
          .set("teacher_logits_energy", track::energy_to_json(d.teacher_energy, d.teacher_kg))
          .set("accuracy", d.report.final_test.accuracy);
  parallel.gather(info, total, train_shard.size(), d.net);
  if (!write_once(parallel, d, out, info, tracker)) return d;
  std::string text;
  util::appendf(text,
                "student %s distilled (T=%g, alpha=%g): test accuracy %.2f %%, trained in %.1f s "
                "with %s (+ %.1f J for the teacher's logits); wrote %s\n",
                d.net->spec().describe().c_str(), distill.temperature, distill.alpha,
                100 * d.report.final_test.accuracy, d.report.seconds,
                energy(d.report, d.provenance).c_str(), d.teacher_energy.total_j(), out.c_str());
  d.summary = text;
  return d;
}

Pruned prune_model(const PruneRequest& request, const TrainSetup& asked, const TrainData& data,
                   const std::string& out, track::Tracker& tracker) {
  nn::Checkpoint source = nn::load_checkpoint(request.source);
  TrainSetup setup = asked;
  if (setup.options.batch_size == 0)
    setup.options.batch_size = default_batch(source.net->spec().arch);
  nn::TrainOptions options = with_tracker(setup, tracker);
  DataParallel parallel(setup.group);
  parallel.hook(options);  // fine-tuning: each rank on its shard, pruning the same on every rank
  const nn::Dataset train_shard = parallel.shard_of(data.train);
  Pruned p;
  p.source_architecture = source.net->spec().describe();
  tracker.start();
  p.before = nn::evaluate(source.net, data.test, 1000, nn::Precision::kFp32, torch::kCPU, &tracker,
                          "evaluate before pruning");
  p.net = source.net;
  compress::Masks masks;
  if (request.structured) {
    p.net = compress::structured_prune(source.net, request.sparsity);
  } else {
    masks = compress::magnitude_prune(p.net, request.sparsity);
    options.after_step = [&masks](nn::Net&) { masks.apply(); };
  }
  p.right_after = nn::evaluate(p.net, data.test, 1000, nn::Precision::kFp32, torch::kCPU, &tracker,
                               "evaluate after pruning");
  if (options.epochs > 0)
    p.report = nn::train(p.net, train_shard, data.test, nn::cross_entropy_loss(), options);
  const track::Record total = tracker.stop();
  p.accuracy = options.epochs > 0 ? p.report.final_test.accuracy : p.right_after.accuracy;
  p.weights_before = compress::prunable_weight_count(source.net->spec());
  p.weights_left = compress::prunable_weight_count(p.net->spec());
  if (!request.structured)
    p.weights_left -= static_cast<int64_t>(std::llround(masks.sparsity() * p.weights_before));
  Json info =
      Json::object()
          .set("command", "prune")
          .set("model", p.net->spec().arch)
          .set("source", request.source)
          .set("method", request.structured ? "structured" : "magnitude")
          .set("sparsity_requested", request.sparsity)
          .set("weights_before", p.weights_before)
          .set("weights_after", p.weights_left)
          .set("weights_kept_fraction", static_cast<double>(p.weights_left) / p.weights_before)
          .set("accuracy_before", p.before.accuracy)
          .set("accuracy_after_pruning", p.right_after.accuracy)
          .set("accuracy", p.accuracy)
          .set("hyperparameters", hyperparameters(setup));
  if (options.epochs > 0) info.set("finetuning", p.report.to_json());
  parallel.gather(info, total, train_shard.size(), p.net);
  if (!write_once(parallel, p, out, info, tracker)) return p;
  std::string text;
  util::appendf(text,
                "%s pruning of %s -> %s: %.1f %% of weights kept (%lld of %lld); test accuracy "
                "%.2f %% before, %.2f %% right after, %.2f %% after %d fine-tuning epochs (%s); "
                "wrote %s (%lld bytes)\n",
                request.structured ? "structured" : "magnitude", p.source_architecture.c_str(),
                p.net->spec().describe().c_str(), 100.0 * p.weights_left / p.weights_before,
                static_cast<long long>(p.weights_left), static_cast<long long>(p.weights_before),
                100 * p.before.accuracy, 100 * p.right_after.accuracy, 100 * p.accuracy,
                options.epochs, energy(p.report, p.provenance).c_str(), out.c_str(),
                static_cast<long long>(p.size_bytes));
  p.summary = text;
  return p;
}

}  // namespace greenai::jobs
