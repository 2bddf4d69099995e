// `greenai quantize`, `export`, `eval` and `bench`: turning checkpoints into deployable models
// (edge files, ONNX) and measuring them (accuracy, latency, energy per 1,000 inferences). The
// work is the jobs module's; this parses the options and prints.

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/help.h"
#include "cli/torch_common.h"
#include "cli/tracking_flags.h"
#include "greenai/compress/quantize.h"
#include "greenai/edge/format.h"
#include "greenai/interop/runtime_model.h"
#include "greenai/jobs/convert.h"
#include "greenai/jobs/measure.h"
#include "greenai/nn/dataset.h"
#include "greenai/tune/inference.h"
#include "greenai/util/file.h"
#include "greenai/util/npy.h"

namespace greenai::cli {
namespace {

// The data set's test split (--data DIR, --limit-test), or NumPy arrays (--data x.npy
// [--labels y.npy]).
nn::Dataset test_data(const ParsedArgs& args) {
  const std::string data = args.get("data").value_or("");
  if (nn::is_array_file(data))
    return nn::load_arrays(data, args.get("labels").value_or(""))
        .head(integer(args, "limit-test", 0, 0));
  if (args.has("labels"))
    throw UsageError("--labels goes with --data FILE.npy (a directory holds its own labels)");
  return load_data(args, /*need_train=*/false).test;
}

jobs::EvalOptions eval_options(const ParsedArgs& args, int64_t default_batch) {
  jobs::EvalOptions o;
  o.batch = integer(args, "batch", default_batch, 1);
  o.repeat = integer(args, "repeat", 3, 1);
  o.precision = nn::parse_precision(args.get("precision").value_or("fp32"));
  return o;
}

// Accuracy, size and energy per 1,000 inferences of an edge or ONNX file, run by the edge
// runtime (single-threaded, as on a small device).
int eval_edge(const ParsedArgs& args, const std::string& path) {
  auto tracker = tracker_for_this_process(args);
  jobs::EvalOptions options = eval_options(args, 64);
  options.keep_outputs = args.has("outputs");
  const jobs::EdgeEvaluation e = jobs::evaluate_edge(path, test_data(args), options, *tracker);
  if (auto file = args.get("outputs"))
    util::write_npy(
        *file, e.outputs,
        {static_cast<uint64_t>(e.test_examples), static_cast<uint64_t>(e.outputs_per_example)});
  if (auto file = args.get("predictions")) {
    std::string lines;
    for (int64_t p : e.predictions) lines += std::to_string(p) + "\n";
    util::write_file_atomic(*file, lines);
  }
  return print_result(args, e.to_json(), e.to_text());
}

// quantize and export: a checkpoint (or edge file) to an edge or ONNX file.
int convert_command(int argc, char** argv, const std::string& command) {
  ParsedArgs args = ArgParser(command, common_specs({{"calibration", true},
                                                     {"calibration-count", true},
                                                     {"observer", true},
                                                     {"weight-bits", true},
                                                     {"keep-fp32", true},
                                                     {"precision", true},
                                                     {"format", true},
                                                     {"out", true}}))
                        .parse(argc, argv, 2);
  const std::string default_precision = command == "quantize" ? "int8" : "fp32";
  if (args.has("help")) return print_help({command.c_str(), "convert", "common", "tracking"});
  if (args.positionals.size() != 1) throw UsageError("expected one MODEL");
  const std::string model_path = args.positionals[0];
  auto out = args.get("out");
  if (!out) throw UsageError("missing --out FILE");
  const bool onnx_name = out->size() > 5 && out->substr(out->size() - 5) == ".onnx";
  jobs::ConvertRequest r;
  r.model = model_path;
  r.out = *out;
  r.format = args.get("format").value_or(onnx_name ? "onnx" : "edge");
  r.precision =
      args.get("precision").value_or(edge::is_edge_file(model_path) ? "" : default_precision);
  r.quantize.observer = compress::parse_observer(args.get("observer").value_or("minmax"));
  if (args.has("weight-bits") && r.precision != "int8")
    throw UsageError("--weight-bits applies to --precision int8 only");
  r.quantize.weight_bits = args.get("weight-bits") == "auto"
                               ? jobs::weight_bits_for_this_cpu()
                               : static_cast<int>(integer(args, "weight-bits", 8, 7, 8));
  if (auto kept = args.get("keep-fp32")) {
    r.keep_fp32_auto = *kept == "auto";
    if (!r.keep_fp32_auto)
      for (double layer : number_list(*kept, "--keep-fp32 takes layer indices such as 1,4, or auto",
                                      0, 1e6, /*whole=*/true))
        r.quantize.keep_fp32.push_back(static_cast<size_t>(layer));
  }
  // --calibration N (Fashion-MNIST examples, for checkpoints) or --calibration x.npy (an ONNX
  // model's inputs, the first --calibration-count of them).
  const std::string calibration = args.get("calibration").value_or("");
  if (nn::is_array_file(calibration)) {
    r.calibration_file = calibration;
    r.calibration = integer(args, "calibration-count", 1000, 1);
  } else {
    r.calibration = integer(args, "calibration", 1000, 1);
  }
  r.data_dir = args.get("data").value_or(nn::default_fashion_mnist_dir());
  configure_threads(args);
  const jobs::ConvertResult done = jobs::convert_model(r);
  return print_result(args, done.to_json(), done.to_text());
}

}  // namespace

int quantize_command(int argc, char** argv) { return convert_command(argc, argv, "quantize"); }
int export_command(int argc, char** argv) { return convert_command(argc, argv, "export"); }

int eval_command(int argc, char** argv) {
  ParsedArgs args = ArgParser("eval", common_specs({{"batch", true},
                                                    {"precision", true},
                                                    {"repeat", true},
                                                    {"predictions", true},
                                                    {"labels", true},
                                                    {"outputs", true}}))
                        .parse(argc, argv, 2);
  if (args.has("help")) return print_help({"eval", "common", "tracking"});
  if (args.positionals.size() != 1)
    throw UsageError("expected one MODEL: a checkpoint, an edge file or an ONNX file");
  configure_threads(args);
  const std::string path = args.positionals[0];
  if (interop::RuntimeModel::loads(path)) return eval_edge(args, path);
  const nn::Dataset test = test_data(args);
  if (!test.labeled())
    throw UsageError("a checkpoint is evaluated on labelled data: add --labels FILE.npy");
  auto tracker = tracker_for_this_process(args);
  const jobs::CheckpointEvaluation e =
      jobs::evaluate_checkpoint(path, test, eval_options(args, 1000), *tracker);
  return print_result(args, e.to_json(), e.to_text());
}

int bench_command(int argc, char** argv) {
  ParsedArgs args =
      ArgParser("bench",
                common_specs(
                    {{"batch", true}, {"seconds", true}, {"input-shape", true}, {"config", true}}))
          .parse(argc, argv, 2);
  if (args.has("help")) return print_help({"bench", "common", "tracking"});
  std::vector<std::string> models = args.positionals;
  std::vector<int> batches;
  nn::Precision precision = nn::Precision::kFp32;
  int threads = static_cast<int>(integer(args, "threads", 1, 1));
  if (auto file = args.get("config")) {  // what `greenai tune MODEL --write FILE` recommended
    if (!models.empty() || args.has("batch") || args.has("threads"))
      throw UsageError("--config FILE gives the model, batch and threads: drop the others");
    const tune::InferenceConfig c = tune::load_inference_config(*file);
    models = {c.model};
    batches = {c.batch};
    threads = c.threads;
    precision = nn::parse_precision(c.precision == "int8" ? "fp32" : c.precision);
  }
  if (models.empty()) throw UsageError("expected one or more model files, or --config FILE");
  if (batches.empty())
    for (double b : number_list(args.get("batch").value_or("1,64"),
                                "--batch takes batch sizes from 1 to 65536, such as 1,64", 1, 65536,
                                /*whole=*/true))
      batches.push_back(static_cast<int>(b));
  const double seconds = args.number("seconds", 2.0);
  if (!(seconds > 0) || seconds > 3600) throw UsageError("--seconds must be in (0, 3600]");
  torch::set_num_threads(threads);
  auto tracker = tracker_for_this_process(args);
  std::vector<uint32_t> input_shape;  // --input-shape 3,224,224: an ONNX input's dimensions
  if (auto shape = args.get("input-shape"))
    for (double d : number_list(*shape,
                                "--input-shape takes the dimensions after the batch, such "
                                "as 3,224,224",
                                1, 1 << 20, /*whole=*/true))
      input_shape.push_back(static_cast<uint32_t>(d));
  if (!input_shape.empty() && input_shape.size() != 1 && input_shape.size() != 3)
    throw UsageError("--input-shape takes N or C,H,W (the dimensions after the batch)");
  const jobs::BenchReport report =
      jobs::bench_models(models, batches, seconds, *tracker, input_shape, precision);
  return print_result(args, report.to_json(), report.to_text());
}

}  // namespace greenai::cli
