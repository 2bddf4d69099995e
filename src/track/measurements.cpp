#include "greenai/track/measurements.h"

#include "greenai/error.h"

namespace greenai::track {
namespace {

using util::Json;
using util::number_field;
using util::string_field;

}  // namespace

Json PerThousandInferences::to_json() const {
  return Json::object()
      .set("cpu_j", energy[meter::Component::kCpu])
      .set("ram_j", energy[meter::Component::kRam])
      .set("gpu_j", energy[meter::Component::kGpu])
      .set("total_j", energy.total_j())
      .set("emissions_kg", emissions_kg);
}

PerThousandInferences PerThousandInferences::from_json(const Json& json) {
  const char* what = "energy per 1,000 inferences";
  PerThousandInferences e;
  e.energy[meter::Component::kCpu] = number_field(json, "cpu_j", what);
  e.energy[meter::Component::kRam] = number_field(json, "ram_j", what);
  e.energy[meter::Component::kGpu] = number_field(json, "gpu_j", what);
  e.emissions_kg = number_field(json, "emissions_kg", what);
  return e;
}

PerThousandInferences per_thousand_inferences(const Record& span, double inferences) {
  PerThousandInferences e;
  if (!(inferences > 0)) return e;
  for (size_t c = 0; c < e.energy.joules.size(); ++c)
    e.energy.joules[c] = span.tree.joules[c] / inferences * 1000;
  e.emissions_kg = span.emissions_kg / inferences * 1000;
  return e;
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

}  // namespace greenai::track
