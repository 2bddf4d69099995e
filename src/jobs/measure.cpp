// Evaluation and benchmarks of models: the edge runtime for edge and ONNX files, LibTorch for
// checkpoints, the meter around both.
#include "greenai/jobs/measure.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <random>

#include "greenai/edge/format.h"
#include "greenai/edge/greenai_edge.h"
#include "greenai/error.h"
#include "greenai/interop/onnx.h"
#include "greenai/interop/runtime_model.h"
#include "greenai/nn/checkpoint.h"
#include "greenai/nn/trainer.h"
#include "greenai/util/text.h"
#include "jobs/internal/bench_model.h"

namespace greenai::jobs {
namespace {

using util::Json;

double file_size(const std::string& path) {
  return static_cast<double>(std::filesystem::file_size(path));
}

// The energy of the tracker's phase named `phase`, per 1,000 of `inferences`.
track::PerThousandInferences phase_per_1000(const track::Tracker& tracker, const std::string& phase,
                                            double inferences) {
  for (const auto& p : tracker.phases())
    if (p.phase == phase) return track::per_thousand_inferences(p, inferences);
  return {};
}

void run_edge(greenai_edge_model* model, const std::string& path, int count, const float* input,
              size_t input_size, float* output, size_t output_size) {
  if (greenai_edge_infer(model, count, input, input_size, output, output_size) != GREENAI_EDGE_OK)
    throw Error("cannot run edge model (path=" + path + ")", greenai_edge_last_error(model));
}

}  // namespace

Json EdgeEvaluation::to_json() const {
  return Json::object()
      .set("model", model)
      .set("format", format)
      .set("runtime", "greenai edge (" + kernels + ")")
      .set("labeled", labeled)
      .set("accuracy", labeled ? Json(accuracy) : Json())
      .set("top5_accuracy", labeled ? Json(top5_accuracy) : Json())
      .set("test_examples", test_examples)
      .set("outputs_per_example", outputs_per_example)
      .set("size_bytes", size_bytes)
      .set("arena_bytes", arena_bytes)
      .set("batch", batch)
      .set("inferences_per_s", inferences_per_s)
      .set("energy_per_1000_inferences", per_1000.to_json())
      .set("hardware", hardware.to_json())
      .set("provenance", provenance.to_json());
}

EdgeEvaluation evaluate_edge(const std::string& path, const nn::Dataset& test,
                             const EvalOptions& options, track::Tracker& tracker) {
  const int64_t batch = options.batch;
  interop::RuntimeModel loaded(path, static_cast<int>(batch));
  greenai_edge_model* model = loaded.get();
  const int64_t n = test.size(), in = static_cast<int64_t>(greenai_edge_input_size(model));
  const int64_t classes = static_cast<int64_t>(greenai_edge_output_size(model));
  torch::Tensor images = test.images.reshape({n, -1}).contiguous();
  if (images.size(1) != in)
    throw Error("cannot evaluate (path=" + path + ")", "the model takes " + std::to_string(in) +
                                                           " inputs, the data set has " +
                                                           std::to_string(images.size(1)));
  std::vector<float> logits(static_cast<size_t>(n * classes));
  tracker.start();
  tracker.begin_phase("edge inference");
  const auto start = std::chrono::steady_clock::now();
  for (int64_t r = 0; r < options.repeat; ++r)
    for (int64_t offset = 0; offset < n; offset += batch) {
      const int count = static_cast<int>(std::min(batch, n - offset));
      run_edge(model, path, count, images.data_ptr<float>() + offset * in,
               static_cast<size_t>(count * in), logits.data() + offset * classes,
               static_cast<size_t>(count * classes));
    }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  tracker.end_phase();
  const double inferences = static_cast<double>(options.repeat * n);
  EdgeEvaluation e;
  e.per_1000 = phase_per_1000(tracker, "edge inference", inferences);
  tracker.stop();
  e.labeled = test.labeled();
  torch::Tensor label_tensor;
  const int64_t* labels = nullptr;
  if (e.labeled) {
    label_tensor = test.labels.to(torch::kInt64).contiguous();
    labels = label_tensor.data_ptr<int64_t>();
  }
  int64_t correct = 0, correct5 = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float* row = logits.data() + i * classes;
    e.predictions.push_back(std::max_element(row, row + classes) - row);
    if (!labels) continue;
    correct += e.predictions.back() == labels[i];
    // Top-5: the label's output is beaten by fewer than 5 others (ties to the lower index).
    if (labels[i] < classes) {
      const float mine = row[labels[i]];
      int64_t better = 0;
      for (int64_t c = 0; c < classes; ++c)
        better += row[c] > mine || (row[c] == mine && c < labels[i]);
      correct5 += better < 5;
    }
  }
  e.model = path;
  e.format = loaded.format();
  e.kernels = greenai_edge_kernels(model);
  e.accuracy = n ? static_cast<double>(correct) / n : 0;
  e.top5_accuracy = n ? static_cast<double>(correct5) / n : 0;
  e.outputs_per_example = classes;
  if (options.keep_outputs) e.outputs = std::move(logits);
  e.test_examples = n;
  e.size_bytes = file_size(path);
  e.arena_bytes = static_cast<double>(greenai_edge_arena_bytes(model));
  e.batch = batch;
  e.inferences_per_s = inferences / seconds;
  e.hardware = hardware::detect();
  e.provenance = track::Provenance::of(tracker.info());
  return e;
}

Json CheckpointEvaluation::to_json() const {
  return Json::object()
      .set("model", model)
      .set("arch", arch)
      .set("architecture", architecture)
      .set("accuracy", accuracy)
      .set("loss", loss)
      .set("test_examples", test_examples)
      .set("parameters", parameters)
      .set("nonzero_parameters", nonzero_parameters)
      .set("size_bytes", size_bytes)
      .set("macs_per_inference", macs_per_inference)
      .set("batch", batch)
      .set("precision", nn::to_string(precision))
      .set("threads", threads)
      .set("inferences_per_s", inferences_per_s)
      .set("energy_per_1000_inferences", per_1000.to_json())
      .set("hardware", hardware.to_json())
      .set("provenance", provenance.to_json());
}

std::string EdgeEvaluation::to_text() const {
  std::string text;
  std::string quality = "no labels, accuracy not measured";
  if (labeled) {
    quality.clear();
    util::appendf(quality, "test accuracy %.2f %%", 100 * accuracy);
    if (outputs_per_example > 5) util::appendf(quality, " (top-5 %.2f %%)", 100 * top5_accuracy);
  }
  util::appendf(
      text,
      "%s (edge runtime, %s kernels): %s on %lld examples, %.0f bytes; %.0f "
      "inferences/s at batch %lld; 1,000 inferences: %s\n",
      model.c_str(), kernels.c_str(), quality.c_str(), static_cast<long long>(test_examples),
      size_bytes, inferences_per_s, static_cast<long long>(batch),
      track::energy_text(per_1000.energy, per_1000.emissions_kg, provenance.energy).c_str());
  return text;
}

CheckpointEvaluation evaluate_checkpoint(const std::string& path, const nn::Dataset& test,
                                         const EvalOptions& options, track::Tracker& tracker) {
  nn::Checkpoint checkpoint = nn::load_checkpoint(path);
  nn::check_precision_supported(options.precision, torch::kCPU);
  tracker.start();
  nn::EvalReport report;
  track::Energy energy;
  double kg = 0, seconds = 0;
  for (int64_t r = 0; r < options.repeat; ++r) {
    report =
        nn::evaluate(checkpoint.net, test, options.batch, options.precision, torch::kCPU, &tracker);
    energy += report.energy;
    kg += report.emissions_kg;
    seconds += report.seconds;
  }
  tracker.stop();
  const double inferences = static_cast<double>(options.repeat * test.size());
  const nn::ModelSpec& spec = checkpoint.net->spec();
  CheckpointEvaluation e;
  e.model = path;
  e.arch = spec.arch;
  e.architecture = spec.describe();
  e.accuracy = report.accuracy;
  e.loss = report.loss;
  e.test_examples = report.examples;
  e.parameters = spec.parameter_count();
  e.nonzero_parameters = nn::count_nonzero(checkpoint.net);
  e.size_bytes = file_size(path);
  e.macs_per_inference = spec.macs();
  e.batch = options.batch;
  e.precision = options.precision;
  e.threads = torch::get_num_threads();
  e.inferences_per_s = inferences / seconds;
  e.per_1000 = track::per_thousand_inferences(energy, kg, inferences);
  e.hardware = hardware::detect();
  e.provenance = track::Provenance::of(tracker.info());
  return e;
}

Json BenchReport::to_json() const {
  Json results = Json::array();
  for (const auto& row : rows) results.push(row.to_json());
  return Json::object()
      .set("results", results)
      .set("hardware", hardware.to_json())
      .set("provenance", provenance.to_json());
}

namespace {}  // namespace

std::string CheckpointEvaluation::to_text() const {
  std::string text;
  util::appendf(
      text,
      "%s (%s): test accuracy %.2f %%, loss %.4f, %lld parameters (%lld non-zero), %lld "
      "bytes on disk; %.0f inferences/s at batch %lld; 1,000 inferences: %s\n",
      model.c_str(), architecture.c_str(), 100 * accuracy, loss, static_cast<long long>(parameters),
      static_cast<long long>(nonzero_parameters), static_cast<long long>(size_bytes),
      inferences_per_s, static_cast<long long>(batch),
      track::energy_text(per_1000.energy, per_1000.emissions_kg, provenance.energy).c_str());
  return text;
}

std::string BenchReport::to_text() const {
  std::string table =
      "model                          runtime                  batch     p50 us     p99 us  "
      "inferences/s  energy per 1,000 inferences\n";
  for (const track::BenchRow& row : rows) {
    util::appendf(table, "%-30s %-24s %5d %10.1f %10.1f %13.0f  %.4g J, %.3g kg\n",
                  row.model.c_str(), row.runtime.c_str(), row.batch, row.p50_us, row.p99_us,
                  row.inferences_per_s, row.energy.energy.total_j(), row.energy.emissions_kg);
  }
  // Every figure above is this CPU's: its model, features and the edge kernels that ran.
  return table + "hardware: " + hardware.summary() + "\nenergy: " + provenance.energy + "\n";
}

BenchReport bench_models(const std::vector<std::string>& paths, const std::vector<int>& batches,
                         double seconds, track::Tracker& tracker,
                         const std::vector<uint32_t>& input_shape, nn::Precision precision) {
  const int max_batch = *std::max_element(batches.begin(), batches.end());
  BenchReport report;
  tracker.start();
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> uniform(0, 1);
  for (const std::string& path : paths) {
    internal::BenchModel model(path, max_batch, input_shape);
    for (int batch : batches) {
      std::vector<float> input(model.input_size() * batch);
      for (float& v : input) v = uniform(rng);
      const std::string phase = path + " batch " + std::to_string(batch);
      tracker.begin_phase(phase);
      const track::CallTimes t = model.time(batch, input, seconds, precision);
      tracker.end_phase();
      track::BenchRow row{path,
                          model.runtime(precision),
                          batch,
                          static_cast<double>(t.micros.size()),
                          t.percentile(0.5),
                          t.percentile(0.99)};
      const double inferences = row.calls * batch;
      row.inferences_per_s = inferences / t.seconds;
      row.energy = phase_per_1000(tracker, phase, inferences);
      report.rows.push_back(row);
    }
  }
  tracker.stop();
  report.hardware = hardware::detect();
  report.provenance = track::Provenance::of(tracker.info());
  return report;
}

}  // namespace greenai::jobs
