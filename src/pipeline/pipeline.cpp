#include "greenai/pipeline/pipeline.h"

#include <ctime>
#include <map>

#include "greenai/carbon/intensity.h"
#include "greenai/error.h"
#include "greenai/hardware/cpu.h"
#include "greenai/track/measurements.h"
#include "greenai/version.h"

namespace greenai::pipeline {
namespace {

using Args = std::vector<std::string>;

Args join(Args a, const Args& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::string file_of(const std::string& stage, const char* name) {
  return "{stage:" + stage + "}/" + name;
}

// The data slice: --quick's unless given.
std::string limit_train(const PipelineOptions& o) {
  return !o.limit_train.empty() ? o.limit_train : o.quick ? "10000" : "";
}
std::string limit_test(const PipelineOptions& o) {
  return !o.limit_test.empty() ? o.limit_test : o.quick ? "2000" : "";
}

Args slice_args(const PipelineOptions& o) {
  Args slice;
  if (!limit_train(o).empty()) slice = join(slice, {"--limit-train", limit_train(o)});
  if (!limit_test(o).empty()) slice = join(slice, {"--limit-test", limit_test(o)});
  return slice;
}

// Evaluates every variant of the recipe (`eval FILE` and `eval_args`, reading the file and
// `eval_inputs`), then benchmarks them all in one stage.
void add_measurements(Recipe& recipe, const PipelineOptions& o, const Args& eval_args,
                      const Args& eval_inputs) {
  const std::string evaluations =
      "evaluate the " + std::to_string(recipe.variants.size()) + " variants";
  Args bench{"bench"}, files;
  for (const VariantSpec& v : recipe.variants) {
    recipe.stages.push_back({{"eval-" + v.name, "evaluate " + v.name,
                              join(join({"eval", v.file}, eval_args), {"--repeat", "1", "--json"}),
                              join({v.file}, eval_inputs)},
                             evaluations});
    bench.push_back(v.file);
    files.push_back(v.file);
  }
  bench = join(bench,
               {"--batch", "1,64", "--threads", "1", "--json", "--seconds", o.quick ? "0.3" : "2"});
  recipe.stages.push_back(
      {{"bench", "benchmark every variant (1 thread)", bench, files}, "benchmark"});
}

// A user's ONNX model: imported (fp32), quantized statically on its calibration inputs, and
// with the fp32 fallback chosen on them; each evaluated on the user's labelled data.
Recipe model_recipe(const PipelineOptions& o) {
  Recipe recipe;
  recipe.baseline = "fp32";
  const Args inputs{o.model, o.calibration};
  const std::string count = o.quick ? "200" : "1000";
  auto convert = [&](const std::string& name, const std::string& title, const Args& args,
                     const std::string& technique, const std::string& runtime) {
    recipe.stages.push_back(
        {{name, title, join(args, {"--out", "{dir}/model.edge", "--json"}), inputs},
         "import and quantize"});
    recipe.variants.push_back({name, technique, runtime, name, file_of(name, "model.edge"), ""});
  };
  convert("fp32", "import the ONNX model (fp32)", {"export", o.model, "--format", "edge"},
          "as trained (imported from ONNX)", "greenai edge runtime fp32");
  const Args quantize{
      "quantize", o.model,         "--calibration", o.calibration, "--calibration-count",
      count,      "--weight-bits", "auto"};
  convert("int8", "quantize to int8 (static, calibrated)", quantize,
          "int8 post-training quantization", "greenai edge runtime int8");
  convert("int8-fallback", "quantize to int8 with an automatic fp32 fallback",
          join(quantize, {"--keep-fp32", "auto"}), "int8 with the fp32 fallback measured",
          "greenai edge runtime int8 + fp32");
  recipe.skipped.push_back({"dynamic-int8", "dynamic int8 quantization",
                            "dynamic quantization covers the Linear layers of greenai's own "
                            "checkpoints; an imported graph is quantized statically"});
  Args data{"--data", o.eval_data, "--labels", o.labels};
  if (!limit_test(o).empty()) data = join(data, {"--limit-test", limit_test(o)});
  add_measurements(recipe, o, data, {o.eval_data, o.labels});
  return recipe;
}

}  // namespace

StageSpec probe_stage() {
  return {"hardware", "probe the hardware (bf16 against fp32)", {"hardware", "--json"}, {}, false};
}

Recipe make_recipe(const PipelineOptions& o, const PrecisionDecision& precision) {
  if (!o.model.empty()) return model_recipe(o);
  Recipe recipe;
  const Args slice = slice_args(o);
  const std::string teacher_epochs = o.quick ? "3" : "20", student_epochs = o.quick ? "5" : "20";
  auto train = [&](const std::string& name, const std::string& label, const std::string& chart,
                   const Args& args, Args inputs = {}) {
    recipe.stages.push_back(
        {{name, label, join(join(args, slice), {"--seed", "1", "--json"}), std::move(inputs)},
         chart});
  };
  const std::string teacher_pt = file_of("teacher", "model.pt");
  const Args teacher_inputs{teacher_pt, teacher_pt + ".json"};
  train("teacher", "train the teacher (fp32)", "train the teacher (fp32)",
        {"train", "--model", "teacher", "--epochs", teacher_epochs, "--out", "{dir}/model.pt"});
  recipe.variants.push_back(
      {"teacher", "fp32 training", "LibTorch fp32", "teacher", teacher_pt, ""});
  if (precision.bf16_accelerated) {
    train("teacher-bf16", "train the teacher (bf16 mixed precision)", "train the teacher (bf16)",
          {"train", "--model", "teacher", "--precision", "bf16", "--epochs", teacher_epochs,
           "--out", "{dir}/model.pt"});
    recipe.variants.push_back({"teacher-bf16", "bf16 mixed-precision training", "LibTorch fp32",
                               "teacher-bf16", file_of("teacher-bf16", "model.pt"), ""});
  } else {
    recipe.skipped.push_back({"teacher-bf16", "bf16 mixed-precision training", precision.reason,
                              precision.bf16_speedup});
  }
  train("student", "distill the student (784-20-10)", "distill the student",
        {"distill", "--teacher", teacher_pt, "--hidden", "20", "--epochs", student_epochs, "--out",
         "{dir}/model.pt"},
        teacher_inputs);
  recipe.variants.push_back({"student", "knowledge distillation", "LibTorch fp32", "student",
                             file_of("student", "model.pt"), "teacher"});
  train("pruned", "prune the teacher (structured, 90 %)", "prune the teacher",
        {"prune", teacher_pt, "--sparsity", "0.9", "--structured", "--finetune-epochs",
         o.quick ? "2" : "5", "--out", "{dir}/model.pt"},
        teacher_inputs);
  recipe.variants.push_back({"pruned", "structured pruning + fine-tuning", "LibTorch fp32",
                             "pruned", file_of("pruned", "model.pt"), "teacher"});
  for (const char* parent : {"teacher", "pruned", "student"}) {
    const std::string name = std::string(parent) + "-int8", from = file_of(parent, "model.pt");
    recipe.stages.push_back({{name,
                              "quantize " + std::string(parent) + " to int8",
                              {"quantize", from, "--calibration", o.quick ? "500" : "1000",
                               "--weight-bits", "auto", "--out", "{dir}/model.edge", "--json"},
                              {from, from + ".json"}},
                             "quantize " + name});
    recipe.variants.push_back({name, "int8 post-training quantization", "greenai edge runtime int8",
                               name, file_of(name, "model.edge"), parent});
  }
  add_measurements(recipe, o, slice, {});
  return recipe;
}

std::vector<VariantResult> variant_results(const Recipe& recipe, const StageRunner& runner) {
  std::vector<track::BenchRow> rows;
  for (const util::Json& row :
       util::array_field(runner.result("bench").output, "results", "the benchmark").items())
    rows.push_back(track::BenchRow::from_json(row));
  std::map<std::string, track::EvalSummary> evals;
  std::vector<VariantResult> results;
  for (const VariantSpec& spec : recipe.variants) {
    const track::EvalSummary eval =
        track::EvalSummary::from_json(runner.result("eval-" + spec.name).output);
    evals[spec.name] = eval;
    const std::string file = runner.resolve(spec.file);
    const track::BenchRow* at1 = nullptr;
    const track::BenchRow* at64 = nullptr;
    for (const track::BenchRow& row : rows)
      if (row.model == file) (row.batch == 64 ? at64 : at1) = &row;
    if (!at1 || !at64)
      throw Error("cannot read the benchmark (model=" + file + ")",
                  "no row at batch 1 or 64 for variant " + spec.name);
    VariantResult v;
    v.name = spec.name;
    v.technique = spec.technique;
    v.runtime = spec.runtime;
    v.file = file;
    v.accuracy = eval.accuracy;
    v.size_bytes = eval.size_bytes;
    // An edge file has the parameters of the checkpoint it was quantized from.
    v.parameters = eval.parameters > 0 || spec.made_from.empty()
                       ? eval.parameters
                       : evals.at(spec.made_from).parameters;
    v.batch1_p50_us = at1->p50_us, v.batch1_p99_us = at1->p99_us;
    v.batch64_p50_us = at64->p50_us, v.batch64_p99_us = at64->p99_us;
    v.energy_per_1000_j = at64->energy.energy.total_j();
    v.kg_per_million = at64->energy.emissions_kg * 1000;
    const StageResult& made = runner.result(spec.stage);
    v.produce_energy_j = made.energy_j;
    v.produce_kg = made.kg;
    if (!spec.made_from.empty())
      for (const VariantResult& parent : results)
        if (parent.name == spec.made_from) {
          v.produce_energy_j += parent.produce_energy_j;
          v.produce_kg += parent.produce_kg;
        }
    results.push_back(std::move(v));
  }
  compare_with_teacher(results, recipe.baseline);
  return results;
}

PipelineResults run(const PipelineOptions& options, track::Tracker& tracker,
                    track::Supervisor& supervisor, const Progress& progress) {
  // Timings, energy and the precision decision depend on the CPU: a folder carried to another
  // machine is not reused there.
  StageRunner runner({options.out, options.fresh, options.program, options.tracking_args,
                      hardware::detect().key()},
                     tracker, supervisor, progress);
  tracker.start();
  const StageResult probe = runner.run(probe_stage(), 1, 0);
  PipelineResults r;
  r.hardware =
      MeasuredOn::from_json(util::object_field(probe.output, "hardware", "the hardware stage"));
  r.precision_advice = PrecisionDecision::from_json(
      util::object_field(probe.output, "precision_advice", "the hardware stage"));
  const Recipe recipe = make_recipe(options, r.precision_advice);
  const size_t total = 1 + recipe.stages.size();
  for (size_t i = 0; i < recipe.stages.size(); ++i) runner.run(recipe.stages[i].spec, i + 2, total);
  const track::Record whole = tracker.stop();

  r.version = GREENAI_VERSION;
  r.created = carbon::format_timestamp(carbon::now_unix_s());
  const std::string train = limit_train(options), test = limit_test(options);
  r.dataset = "Fashion-MNIST (" + (train.empty() ? std::string("60000") : train) + " training, " +
              (test.empty() ? std::string("10000") : test) + " test examples)";
  if (!options.model.empty())
    r.dataset = options.model + ", evaluated on " + options.eval_data + " and " + options.labels +
                ", calibrated on " + options.calibration;
  r.quick = options.quick;
  r.teacher = recipe.baseline;
  r.variants = variant_results(recipe, runner);
  r.test_examples = util::number_field(runner.result("eval-" + recipe.baseline).output,
                                       "test_examples", "an evaluation");
  r.skipped = recipe.skipped;
  // The per-stage chart: a bar per chart label, in order, from this run or the one that made it.
  r.stages.push_back({"probe the hardware", probe.seconds, probe.energy_j, probe.kg, probe.cached});
  for (const RecipeStage& stage : recipe.stages) {
    const StageResult& s = runner.result(stage.spec.name);
    if (r.stages.back().label != stage.chart_label) {
      r.stages.push_back({stage.chart_label, 0, 0, 0, true});
    }
    StageCost& bar = r.stages.back();
    bar.seconds += s.seconds, bar.energy_j += s.energy_j, bar.kg += s.kg;
    bar.cached = bar.cached && s.cached;
  }
  if (auto best = least_energy_within(r.variants, options.budget_points))
    r.recommendation = Recommendation{*best, options.budget_points};
  r.total_j = whole.tree.total_j();
  r.emissions_kg = whole.emissions_kg;
  r.seconds = whole.end_unix_s - whole.start_unix_s;
  r.provenance = track::Provenance::of(tracker.info());
  return r;
}

}  // namespace greenai::pipeline
