#include "greenai/pipeline/results.h"

#include "greenai/error.h"
#include "greenai/hardware/cpu.h"

namespace greenai::pipeline {
namespace {

using util::array_field;
using util::bool_field;
using util::Json;
using util::number_field;
using util::object_field;
using util::string_field;

template <typename T>
Json array_of(const std::vector<T>& values) {
  Json array = Json::array();
  for (const T& v : values) array.push(v.to_json());
  return array;
}

template <typename T>
std::vector<T> read_array(const Json& json, const std::string& key, const std::string& what) {
  std::vector<T> values;
  for (const Json& item : array_field(json, key, what).items())
    values.push_back(T::from_json(item));
  return values;
}

}  // namespace

std::string MeasuredOn::summary() const {
  hardware::Hardware h;
  h.cpu.architecture = architecture;
  h.cpu.model = cpu_model;
  h.cpu.features = features;
  h.edge.selected = edge_kernels;
  h.caps = caps;
  return h.summary();
}

Json MeasuredOn::to_json() const {
  return Json::object()
      .set("architecture", architecture)
      .set("cpu_model", cpu_model)
      .set("logical_cpus", logical_cpus)
      .set("features", util::string_array(features))
      .set("missing_features", util::string_array(missing_features))
      .set("edge_kernels", edge_kernels)
      .set("edge_kernels_runnable", util::string_array(edge_kernels_runnable))
      .set("caps", util::string_object(caps));
}

MeasuredOn MeasuredOn::from_json(const Json& json) {
  const std::string what = "the hardware";
  MeasuredOn m;
  m.architecture = string_field(json, "architecture", what);
  m.cpu_model = string_field(json, "cpu_model", what);
  m.logical_cpus = number_field(json, "logical_cpus", what);
  m.features = util::string_items(json, "features", what);
  m.missing_features = util::string_items(json, "missing_features", what);
  m.edge_kernels = string_field(json, "edge_kernels", what);
  m.edge_kernels_runnable = util::string_items(json, "edge_kernels_runnable", what);
  m.caps = util::string_members(json, "caps", what);
  return m;
}

Json PrecisionDecision::to_json() const {
  return Json::object()
      .set("fastest", fastest)
      .set("bf16_accelerated", bf16_accelerated)
      .set("bf16_speedup", bf16_speedup)
      .set("reason", reason);
}

PrecisionDecision PrecisionDecision::from_json(const Json& json) {
  const std::string what = "the precision advice";
  return {string_field(json, "fastest", what), bool_field(json, "bf16_accelerated", what),
          number_field(json, "bf16_speedup", what), string_field(json, "reason", what)};
}

Json VariantResult::to_json() const {
  return Json::object()
      .set("name", name)
      .set("technique", technique)
      .set("runtime", runtime)
      .set("file", file)
      .set("accuracy", accuracy)
      .set("parameters", parameters)
      .set("size_bytes", size_bytes)
      .set("latency_us", Json::object()
                             .set("batch1_p50", batch1_p50_us)
                             .set("batch1_p99", batch1_p99_us)
                             .set("batch64_p50", batch64_p50_us)
                             .set("batch64_p99", batch64_p99_us))
      .set("energy_per_1000_j", energy_per_1000_j)
      .set("kg_per_million", kg_per_million)
      .set("produce_energy_j", produce_energy_j)
      .set("produce_kg", produce_kg)
      .set("vs_teacher", Json::object()
                             .set("energy_ratio", energy_ratio)
                             .set("size_ratio", size_ratio)
                             .set("accuracy_drop_points", accuracy_drop_points));
}

VariantResult VariantResult::from_json(const Json& json) {
  const std::string what = "a variant";
  VariantResult v;
  v.name = string_field(json, "name", what);
  const std::string named = "variant " + v.name;
  v.technique = string_field(json, "technique", named);
  v.runtime = string_field(json, "runtime", named);
  v.file = string_field(json, "file", named);
  v.accuracy = number_field(json, "accuracy", named);
  v.parameters = number_field(json, "parameters", named);
  v.size_bytes = number_field(json, "size_bytes", named);
  const Json& latency = object_field(json, "latency_us", named);
  v.batch1_p50_us = number_field(latency, "batch1_p50", named + " latency");
  v.batch1_p99_us = number_field(latency, "batch1_p99", named + " latency");
  v.batch64_p50_us = number_field(latency, "batch64_p50", named + " latency");
  v.batch64_p99_us = number_field(latency, "batch64_p99", named + " latency");
  v.energy_per_1000_j = number_field(json, "energy_per_1000_j", named);
  v.kg_per_million = number_field(json, "kg_per_million", named);
  v.produce_energy_j = number_field(json, "produce_energy_j", named);
  v.produce_kg = number_field(json, "produce_kg", named);
  const Json& vs = object_field(json, "vs_teacher", named);
  v.energy_ratio = number_field(vs, "energy_ratio", named + " vs_teacher");
  v.size_ratio = number_field(vs, "size_ratio", named + " vs_teacher");
  v.accuracy_drop_points = number_field(vs, "accuracy_drop_points", named + " vs_teacher");
  return v;
}

Json SkippedVariant::to_json() const {
  return Json::object()
      .set("name", name)
      .set("technique", technique)
      .set("reason", reason)
      .set("bf16_speedup", bf16_speedup);
}

SkippedVariant SkippedVariant::from_json(const Json& json) {
  const std::string what = "a skipped variant";
  return {string_field(json, "name", what), string_field(json, "technique", what),
          string_field(json, "reason", what), number_field(json, "bf16_speedup", what)};
}

Json StageCost::to_json() const {
  return Json::object()
      .set("label", label)
      .set("seconds", seconds)
      .set("energy_j", energy_j)
      .set("kg", kg)
      .set("cached", cached);
}

StageCost StageCost::from_json(const Json& json) {
  const std::string what = "a stage";
  return {string_field(json, "label", what), number_field(json, "seconds", what),
          number_field(json, "energy_j", what), number_field(json, "kg", what),
          bool_field(json, "cached", what)};
}

const VariantResult* PipelineResults::variant(const std::string& name) const {
  for (const VariantResult& v : variants)
    if (v.name == name) return &v;
  return nullptr;
}

Json PipelineResults::to_json() const {
  return Json::object()
      .set("schema", kSchema)
      .set("version", version)
      .set("created", created)
      .set("dataset", dataset)
      .set("quick", quick)
      .set("test_examples", test_examples)
      .set("teacher", teacher)
      .set("hardware", hardware.to_json())
      .set("precision_advice", precision_advice.to_json())
      .set("variants", array_of(variants))
      .set("skipped", array_of(skipped))
      .set("stages", array_of(stages))
      .set("recommendation", recommendation
                                 ? Json::object()
                                       .set("variant", recommendation->variant)
                                       .set("budget_points", recommendation->budget_points)
                                 : Json())
      .set("pipeline_energy", Json::object()
                                  .set("total_j", total_j)
                                  .set("emissions_kg", emissions_kg)
                                  .set("seconds", seconds))
      .set("provenance", provenance.to_json());
}

PipelineResults PipelineResults::from_json(const Json& json) {
  const std::string what = "pipeline results";
  if (string_field(json, "schema", what) != kSchema)
    throw Error("cannot read pipeline results (schema=" + json.at("schema").string() + ")",
                std::string("expected ") + kSchema,
                "rerun `greenai pipeline` with this version to write them anew");
  PipelineResults r;
  r.version = string_field(json, "version", what);
  r.created = string_field(json, "created", what);
  r.dataset = string_field(json, "dataset", what);
  r.quick = bool_field(json, "quick", what);
  r.test_examples = number_field(json, "test_examples", what);
  r.teacher = string_field(json, "teacher", what);
  r.hardware = MeasuredOn::from_json(object_field(json, "hardware", what));
  r.precision_advice = PrecisionDecision::from_json(object_field(json, "precision_advice", what));
  r.variants = read_array<VariantResult>(json, "variants", what);
  r.skipped = read_array<SkippedVariant>(json, "skipped", what);
  r.stages = read_array<StageCost>(json, "stages", what);
  if (const Json* best = json.find("recommendation"); best && !best->is_null())
    r.recommendation = Recommendation{string_field(*best, "variant", "the recommendation"),
                                      number_field(*best, "budget_points", "the recommendation")};
  const Json& energy = object_field(json, "pipeline_energy", what);
  r.total_j = number_field(energy, "total_j", "the pipeline's energy");
  r.emissions_kg = number_field(energy, "emissions_kg", "the pipeline's energy");
  r.seconds = number_field(energy, "seconds", "the pipeline's energy");
  r.provenance = Provenance::from_json(object_field(json, "provenance", what));
  if (!r.variant(r.teacher))
    throw Error("cannot read pipeline results (teacher=" + r.teacher + ")",
                "no variant of that name");
  return r;
}

std::optional<std::string> least_energy_within(const std::vector<VariantResult>& variants,
                                               double budget_points) {
  // 1e-9 points: a drop computed as exactly the budget is within it despite rounding.
  const VariantResult* best = nullptr;
  for (const VariantResult& v : variants)
    if (v.accuracy_drop_points <= budget_points + 1e-9 &&
        (!best || v.energy_per_1000_j < best->energy_per_1000_j))
      best = &v;
  if (!best) return std::nullopt;
  return best->name;
}

void compare_with_teacher(std::vector<VariantResult>& variants, const std::string& teacher) {
  const VariantResult* t = nullptr;
  for (const VariantResult& v : variants)
    if (v.name == teacher) t = &v;
  if (!t)
    throw Error("cannot compare variants (teacher=" + teacher + ")", "no variant of that name");
  const double energy = t->energy_per_1000_j, size = t->size_bytes, accuracy = t->accuracy;
  for (VariantResult& v : variants) {
    v.energy_ratio = v.energy_per_1000_j > 0 ? energy / v.energy_per_1000_j : 0;
    v.size_ratio = v.size_bytes > 0 ? size / v.size_bytes : 0;
    v.accuracy_drop_points = 100 * (accuracy - v.accuracy);
  }
}

}  // namespace greenai::pipeline
