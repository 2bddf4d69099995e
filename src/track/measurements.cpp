#include "greenai/track/measurements.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "greenai/error.h"

namespace greenai::track {
namespace {

using util::Json;
using util::number_field;
using util::string_field;

}  // namespace

Provenance Provenance::of(const RunInfo& info) {
  Provenance p;
  p.energy = info.provenance();
  for (meter::Component c : meter::kAllComponents) {
    const auto& source = info.sources[static_cast<size_t>(c)];
    if (source.present)
      p.sources.emplace_back(std::string(meter::to_string(c)),
                             std::string(meter::to_string(source.provenance)) + ": " +
                                 source.sensor + " (" + source.detail + ")");
  }
  p.intensity = info.intensity_source;
  p.pue = info.pue;
  return p;
}

Json Provenance::to_json() const {
  return Json::object()
      .set("energy", energy)
      .set("sources", util::string_object(sources))
      .set("intensity", intensity)
      .set("pue", pue);
}

Provenance Provenance::from_json(const Json& json) {
  const std::string what = "the provenance";
  Provenance p;
  p.energy = string_field(json, "energy", what);
  p.sources = util::string_members(json, "sources", what);
  p.intensity = string_field(json, "intensity", what);
  p.pue = number_field(json, "pue", what);
  return p;
}

Json energy_to_json(const Energy& energy, double emissions_kg) {
  return Json::object()
      .set("cpu_j", energy[meter::Component::kCpu])
      .set("ram_j", energy[meter::Component::kRam])
      .set("gpu_j", energy[meter::Component::kGpu])
      .set("total_j", energy.total_j())
      .set("emissions_kg", emissions_kg);
}

Json PerThousandInferences::to_json() const { return energy_to_json(energy, emissions_kg); }

PerThousandInferences PerThousandInferences::from_json(const Json& json) {
  const char* what = "energy per 1,000 inferences";
  PerThousandInferences e;
  e.energy[meter::Component::kCpu] = number_field(json, "cpu_j", what);
  e.energy[meter::Component::kRam] = number_field(json, "ram_j", what);
  e.energy[meter::Component::kGpu] = number_field(json, "gpu_j", what);
  e.emissions_kg = number_field(json, "emissions_kg", what);
  return e;
}

PerThousandInferences per_thousand_inferences(const Energy& energy, double emissions_kg,
                                              double inferences) {
  PerThousandInferences e;
  if (!(inferences > 0)) return e;
  for (size_t c = 0; c < e.energy.joules.size(); ++c)
    e.energy.joules[c] = energy.joules[c] / inferences * 1000;
  e.emissions_kg = emissions_kg / inferences * 1000;
  return e;
}

PerThousandInferences per_thousand_inferences(const Record& span, double inferences) {
  return per_thousand_inferences(span.tree, span.emissions_kg, inferences);
}

double CallTimes::percentile(double p) const {
  const size_t i = std::min(micros.size() - 1, static_cast<size_t>(p * micros.size()));
  return micros[i];
}

CallTimes time_calls(const std::function<void()>& call, double seconds, size_t min_calls,
                     double warm_up_s) {
  using clock = std::chrono::steady_clock;
  for (auto end = clock::now() + std::chrono::duration<double>(warm_up_s); clock::now() < end;)
    call();
  CallTimes t;
  const auto begin = clock::now();
  while (t.micros.size() < min_calls ||
         std::chrono::duration<double>(clock::now() - begin).count() < seconds) {
    const auto t0 = clock::now();
    call();
    t.micros.push_back(std::chrono::duration<double, std::micro>(clock::now() - t0).count());
  }
  t.seconds = std::chrono::duration<double>(clock::now() - begin).count();
  std::sort(t.micros.begin(), t.micros.end());
  return t;
}

EvalSummary EvalSummary::from_json(const Json& json) {
  const char* what = "an evaluation";
  EvalSummary e;
  e.model = string_field(json, "model", what);
  e.accuracy = number_field(json, "accuracy", what);
  e.test_examples = number_field(json, "test_examples", what);
  e.size_bytes = number_field(json, "size_bytes", what);
  if (json.find("parameters")) e.parameters = number_field(json, "parameters", what);
  return e;
}

Json BenchRow::to_json() const {
  return Json::object()
      .set("model", model)
      .set("runtime", runtime)
      .set("batch", batch)
      .set("calls", calls)
      .set("p50_us", p50_us)
      .set("p99_us", p99_us)
      .set("inferences_per_s", inferences_per_s)
      .set("energy_per_1000_inferences", energy.to_json());
}

BenchRow BenchRow::from_json(const Json& json) {
  const char* what = "a benchmark row";
  BenchRow r;
  r.model = string_field(json, "model", what);
  r.runtime = string_field(json, "runtime", what);
  r.batch = static_cast<int>(number_field(json, "batch", what));
  r.calls = number_field(json, "calls", what);
  r.p50_us = number_field(json, "p50_us", what);
  r.p99_us = number_field(json, "p99_us", what);
  r.inferences_per_s = number_field(json, "inferences_per_s", what);
  r.energy = PerThousandInferences::from_json(
      util::object_field(json, "energy_per_1000_inferences", what));
  return r;
}

std::string energy_text(const Energy& energy, double emissions_kg, const std::string& provenance) {
  char text[128];
  std::snprintf(text, sizeof text, "%.4g J, %.3g kg CO2eq (%s)", energy.total_j(), emissions_kg,
                provenance.c_str());
  return text;
}

}  // namespace greenai::track
