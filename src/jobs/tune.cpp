// `greenai tune MODEL`: configurations of serving a model, measured with the meter (tune.h).
#include "greenai/jobs/tune.h"

#include <torch/torch.h>

#include <algorithm>
#include <map>
#include <memory>
#include <random>

#include "greenai/error.h"
#include "greenai/util/text.h"
#include "jobs/internal/bench_model.h"

namespace greenai::jobs {
namespace {

using util::Json;

// The models, loaded once each, and their inputs, made once per batch size.
class Bench {
 public:
  Bench(const std::vector<std::string>& paths, int max_batch,
        const std::vector<uint32_t>& input_shape) {
    for (const std::string& p : paths)
      models_.emplace(p, std::make_unique<internal::BenchModel>(p, max_batch, input_shape));
  }
  internal::BenchModel& model(const std::string& path) { return *models_.at(path); }
  std::vector<float>& input(const std::string& path, int batch) {
    std::vector<float>& in = inputs_[{path, batch}];
    if (in.empty()) {
      std::mt19937 rng(42);
      std::uniform_real_distribution<float> uniform(0, 1);
      in.resize(model(path).input_size() * batch);
      for (float& v : in) v = uniform(rng);
    }
    return in;
  }

 private:
  std::map<std::string, std::unique_ptr<internal::BenchModel>> models_;
  std::map<std::pair<std::string, int>, std::vector<float>> inputs_;
};

}  // namespace

InferenceTuneReport tune_model(const InferenceTuneRequest& request, track::Tracker& tracker) {
  if (request.model.empty()) throw Error("cannot tune", "no model given");
  if (request.batches.empty()) throw Error("cannot tune", "no batch size given");
  for (int b : request.batches)
    if (b < 1 || b > 65536)
      throw Error("cannot tune (batch=" + std::to_string(b) + ")", "batch sizes lie in 1..65536");
  InferenceTuneReport report;
  report.hardware = hardware::detect();
  std::vector<int> threads = request.threads;
  if (threads.empty())
    for (int t = 1; t <= std::max(1, report.hardware.cpu.logical_cpus); ++t) threads.push_back(t);
  for (int t : threads)
    if (t < 1 || t > 4096)
      throw Error("cannot tune (threads=" + std::to_string(t) + ")",
                  "thread counts lie in 1..4096");
  const int all_threads = *std::max_element(threads.begin(), threads.end());
  const int max_batch = *std::max_element(request.batches.begin(), request.batches.end());

  std::vector<std::string> paths{request.model};
  for (const std::string& v : request.variants)
    if (std::find(paths.begin(), paths.end(), v) == paths.end()) paths.push_back(v);
  Bench bench(paths, max_batch, request.input_shape);
  const size_t input_size = bench.model(request.model).input_size();
  for (const std::string& p : paths)
    if (bench.model(p).input_size() != input_size)
      throw Error("cannot tune (variant=" + p + ")",
                  "it takes " + std::to_string(bench.model(p).input_size()) +
                      " inputs per example where " + request.model + " takes " +
                      std::to_string(input_size) + ": variants must do the same task");

  const bool bf16_here =
      report.hardware.cpu.has("avx512_bf16") || report.hardware.cpu.has("amx_bf16");
  // The default first: the model as given, all threads, batch 1, fp32.
  std::vector<tune::InferenceConfig> configs;
  bool bf16_skipped = false;
  for (const std::string& p : paths) {
    internal::BenchModel& m = bench.model(p);
    std::vector<std::string> precisions{m.file_precision()};
    if (!m.on_edge() && request.bf16) {
      if (bf16_here)
        precisions.push_back("bf16");
      else
        bf16_skipped = true;
    }
    for (const std::string& precision : precisions)
      for (int t : m.on_edge() ? std::vector<int>{1} : threads)
        for (int b : request.batches)
          configs.push_back({p, precision, m.on_edge() ? "edge" : "libtorch", t, b});
  }
  tune::InferenceConfig base{request.model, bench.model(request.model).file_precision(),
                             bench.model(request.model).on_edge() ? "edge" : "libtorch",
                             bench.model(request.model).on_edge() ? 1 : all_threads, 1};
  auto at = std::find(configs.begin(), configs.end(), base);
  if (at == configs.end()) at = configs.insert(configs.begin(), base);
  std::rotate(configs.begin(), at, at + 1);
  if (bf16_skipped)
    report.notes.push_back(
        "bf16 not tried: this CPU has neither AVX-512 BF16 nor AMX, where LibTorch's bf16 runs "
        "far slower than fp32 (greenai hardware measures it)");
  if (std::any_of(paths.begin(), paths.end(),
                  [&](const std::string& p) { return bench.model(p).on_edge(); }))
    report.notes.push_back("edge files run on the edge runtime's one thread");

  int phase_count = 0;
  const tune::MeasureInference measure = [&](const tune::InferenceConfig& c, double seconds) {
    internal::BenchModel& m = bench.model(c.model);
    if (!m.on_edge()) torch::set_num_threads(c.threads);
    std::vector<float>& input = bench.input(c.model, c.batch);
    const std::string phase = "tune " + std::to_string(++phase_count) + " " + c.label();
    tracker.begin_phase(phase);
    const track::CallTimes t =
        m.time(c.batch, input, seconds,
               c.precision == "bf16" ? nn::Precision::kBf16 : nn::Precision::kFp32);
    tracker.end_phase();
    tune::InferenceSample s;
    const double inferences = static_cast<double>(t.micros.size()) * c.batch;
    for (const track::Record& r : tracker.phases())
      if (r.phase == phase) {
        s.energy_j_per_1000 = track::per_thousand_inferences(r, inferences).energy.total_j();
        s.average_power_w = r.duration_s > 0 ? r.tree.total_j() / r.duration_s : 0;
      }
    s.p50_ms = t.percentile(0.5) / 1000;
    s.p99_ms = t.percentile(0.99) / 1000;
    s.inferences_per_s = inferences / t.seconds;
    s.seconds = t.seconds;
    return s;
  };
  const int previous_threads = torch::get_num_threads();
  tracker.start();
  try {
    report.result = tune::tune_inference(configs, 0, measure, request.options);
  } catch (...) {
    tracker.stop();
    torch::set_num_threads(previous_threads);
    throw;
  }
  tracker.stop();
  torch::set_num_threads(previous_threads);  // the thread knob, put back
  report.provenance = track::Provenance::of(tracker.info());
  return report;
}

Json InferenceTuneReport::to_json() const {
  Json out = result.to_json();
  Json list = Json::array();
  for (const std::string& n : notes) list.push(n);
  return out.set("notes", list)
      .set("hardware", hardware.to_json())
      .set("provenance", provenance.to_json());
}

std::string InferenceTuneReport::to_text() const {
  std::string t = result.to_text();
  for (const std::string& n : notes) t += "note: " + n + "\n";
  // Every figure above is this CPU's: its model, features and the edge kernels that ran.
  return t + "hardware: " + hardware.summary() + "\nenergy: " + provenance.energy + "\n";
}

}  // namespace greenai::jobs
