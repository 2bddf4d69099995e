// `greenai quantize`, `export`, `eval` and `bench`: turning checkpoints into deployable models
// (edge files, ONNX) and measuring them: accuracy, latency, and energy per 1,000 inferences.
// `greenai train`, `distill`, `prune` and `eval`: the training side of the green techniques,
// each run tracked by the meter (energy and kg CO2eq per epoch and in total).
#include <torch/torch.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <random>
#include <sstream>
#include <thread>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/torch_common.h"
#include "cli/tracking_flags.h"
#include "greenai/compress/distill.h"
#include "greenai/compress/prune.h"
#include "greenai/compress/quantize.h"
#include "greenai/edge/format.h"
#include "greenai/edge/greenai_edge.h"
#include "greenai/error.h"
#include "greenai/hardware/cpu.h"
#include "greenai/interop/onnx.h"
#include "greenai/interop/runtime_model.h"
#include "greenai/nn/checkpoint.h"
#include "greenai/nn/dataset.h"
#include "greenai/nn/trainer.h"
#include "greenai/track/measurements.h"
#include "greenai/util/file.h"

namespace greenai::cli {
namespace {

using util::Json;

// Accuracy, size and energy per 1,000 inferences of an edge or ONNX file, run by the edge
// runtime (single-threaded, as on a small device).
int eval_edge(const ParsedArgs& args, const std::string& path) {
  const int64_t batch = integer(args, "batch", 64, 1);
  const int64_t repeat = integer(args, "repeat", 3, 1);
  interop::RuntimeModel loaded(path, static_cast<int>(batch));
  greenai_edge_model* model = loaded.get();
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
  track::PerThousandInferences per_1000;
  for (const auto& p : phases)
    if (p.phase == "edge inference") per_1000 = track::per_thousand_inferences(p, inferences);
  if (auto file = args.get("predictions")) {
    std::ofstream out(*file);
    for (int64_t i = 0; i < n && out; ++i) {
      const float* row = logits.data() + i * classes;
      out << std::max_element(row, row + classes) - row << "\n";
    }
    if (!out) throw Error("cannot write predictions (path=" + *file + ")", std::strerror(errno));
  }
  const double accuracy = static_cast<double>(correct) / n;
  const std::string provenance = tracker->info().provenance();
  Json result =
      Json::object()
          .set("model", path)
          .set("format", loaded.format())
          .set("runtime", std::string("greenai edge (") + greenai_edge_kernels(model) + ")")
          .set("accuracy", accuracy)
          .set("test_examples", n)
          .set("size_bytes", static_cast<double>(std::filesystem::file_size(path)))
          .set("arena_bytes", static_cast<double>(greenai_edge_arena_bytes(model)))
          .set("batch", batch)
          .set("inferences_per_s", inferences / seconds)
          .set("energy_per_1000_inferences", per_1000.to_json())
          .set("hardware", hardware::detect().to_json())
          .set("provenance", provenance_json(*tracker));
  char headline[512];
  std::snprintf(headline, sizeof headline,
                "%s (edge runtime, %s kernels): test accuracy %.2f %%, %.0f bytes; %.0f "
                "inferences/s at batch %lld; "
                "1,000 inferences: %s\n",
                path.c_str(), greenai_edge_kernels(model), 100 * accuracy,
                result.at("size_bytes").number(), inferences / seconds,
                static_cast<long long>(batch),
                energy_text(per_1000.energy, per_1000.emissions_kg, provenance).c_str());
  return print_result(args, result, headline);
}

}  // namespace

namespace {

const char* kConvertHelp =
    "MODEL is a checkpoint (FILE + FILE.json) or, to change only the format, an edge file.\n"
    "--precision:\n"
    "  int8     static post-training quantization calibrated on the first N training examples\n"
    "           (--calibration, default 1000): per-channel symmetric int8 weights, asymmetric\n"
    "           int8 activations (range by --observer, default minmax), int32 bias, fixed-point\n"
    "           requantization, Linear/Conv2d + ReLU fused.\n"
    "  dynamic  int8 weights for Linear layers, each example's input quantized at run time:\n"
    "           no calibration data needed (edge format only).\n"
    "  fp32     the weights as trained.\n"
    "--weight-bits 7 quantizes the weights to [-63, 63] instead of [-127, 127]: half the\n"
    "resolution, but on AVX2 CPUs without VNNI the edge runtime multiplies them with one\n"
    "instruction fewer (as ONNX Runtime's reduce_range); check the accuracy it costs. auto:\n"
    "7 where this CPU runs the avx2 edge kernels, else 8.\n"
    "--keep-fp32 LAYER[,LAYER] leaves the Linear/Conv2d layers with those indices (in the\n"
    "checkpoint's spec, FILE.json) in fp32 inside an int8 model; auto tries each layer on 2,000\n"
    "held-out training examples and keeps the one that helps most, if any helps by more than\n"
    "0.1 points.\n"
    "--format edge writes the edge format (docs/edge-format.md), for greenai's standalone\n"
    "runtime; onnx writes ONNX opset 13 (int8 in QDQ form with uint8 activations), checked by\n"
    "the ONNX checker before it is written. Default: onnx if FILE ends in .onnx, else edge.\n\n";

// The parsed --keep-fp32 list of layer indices (not "auto").
std::vector<size_t> parse_layers(const std::string& list) {
  std::vector<size_t> layers;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    std::string item =
        list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    char* end = nullptr;
    const long index = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || index < 0)
      throw UsageError("--keep-fp32 takes layer indices such as 1,4, or auto");
    layers.push_back(static_cast<size_t>(index));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return layers;
}

// A checkpoint as edge bytes at `precision`; --keep-fp32 (auto: the layer that helps most on
// held-out training examples) chooses the layers an int8 model keeps in fp32.
std::vector<uint8_t> checkpoint_bytes(const ParsedArgs& args, const std::string& model_path,
                                      const std::string& precision, int64_t calibration,
                                      compress::QuantizeOptions& options, Json& sensitivity) {
  nn::Checkpoint checkpoint = nn::load_checkpoint(model_path);
  std::string dir = args.get("data").value_or(nn::default_fashion_mnist_dir());
  if (auto kept = args.get("keep-fp32"); kept && *kept == "auto" && precision == "int8") {
    // Try each layer in fp32 on 2,000 training examples after the calibration ones (the test
    // set stays unseen); keep the one that helps most, if it helps by more than 0.1 points.
    constexpr int64_t kValidation = 2000;
    constexpr double kMinimumGain = 0.001;
    nn::Dataset train_set = nn::load_fashion_mnist(nn::Split::kTrain, dir);
    nn::Dataset validation{train_set.images.narrow(0, calibration, kValidation),
                           train_set.labels.narrow(0, calibration, kValidation)};
    const compress::Fp32LayerChoice choice =
        compress::choose_fp32_layer(checkpoint.net, train_set.head(calibration).images,
                                    validation.images, validation.labels, options, kMinimumGain);
    for (const auto& t : choice.trials)
      sensitivity.push(
          Json::object()
              .set("kept_fp32_layer", t.layer == compress::kNoLayer ? Json() : Json(t.layer))
              .set("validation_accuracy", t.accuracy));
    if (choice.layer) options.keep_fp32 = {*choice.layer};
  } else if (kept && precision == "int8") {
    options.keep_fp32 = parse_layers(*kept);
  } else if (kept) {
    throw UsageError("--keep-fp32 applies to --precision int8 only");
  }
  if (precision == "fp32") return compress::export_edge_fp32(checkpoint.net);
  if (precision == "dynamic") return compress::quantize_dynamic_to_edge(checkpoint.net);
  nn::Dataset train_set = nn::load_fashion_mnist(nn::Split::kTrain, dir).head(calibration);
  return compress::quantize_to_edge(checkpoint.net, train_set.images, options);
}

// Writes edge bytes as an edge file or (checked) ONNX; returns the bytes written.
size_t write_model(const std::vector<uint8_t>& bytes, const std::string& format,
                   const std::string& out) {
  if (format == "onnx") {
    const std::string onnx = interop::edge_to_onnx(bytes);
    interop::check_onnx(onnx);
    std::ofstream f(out, std::ios::binary);
    f.write(onnx.data(), static_cast<std::streamsize>(onnx.size()));
    if (!f.flush()) throw Error("cannot write ONNX file (path=" + out + ")", std::strerror(errno));
    return onnx.size();
  }
  if (std::string why = edge::write_file(out, bytes); !why.empty())
    throw Error("cannot write edge file (path=" + out + ")", why);
  return bytes.size();
}

// quantize and export: a checkpoint (or edge file) to an edge or ONNX file.
int convert_command(int argc, char** argv, const std::string& command) {
  ParsedArgs args = ArgParser(command, common_specs({{"calibration", true},
                                                     {"observer", true},
                                                     {"weight-bits", true},
                                                     {"keep-fp32", true},
                                                     {"precision", true},
                                                     {"format", true},
                                                     {"out", true}}))
                        .parse(argc, argv, 2);
  const std::string default_precision = command == "quantize" ? "int8" : "fp32";
  if (args.has("help")) {
    std::cout << "usage: greenai " << command
              << " MODEL [--precision int8|dynamic|fp32] [--format edge|onnx]\n"
                 "           [--calibration N] [--observer minmax|percentile|histogram]\n"
                 "           [--weight-bits 8|7|auto]\n"
                 "           [--keep-fp32 LAYER[,LAYER]|auto] --out FILE\n\n"
                 "Writes MODEL for deployment; the default precision is "
              << default_precision << ".\n"
              << kConvertHelp << kCommonHelp << kTrackingHelp;
    return 0;
  }
  if (args.positionals.size() != 1) throw UsageError("expected one MODEL");
  const std::string model_path = args.positionals[0];
  auto out = args.get("out");
  if (!out) throw UsageError("missing --out FILE");
  const bool onnx_name = out->size() > 5 && out->substr(out->size() - 5) == ".onnx";
  const std::string format = args.get("format").value_or(onnx_name ? "onnx" : "edge");
  if (format != "edge" && format != "onnx")
    throw Error("cannot " + command + " (--format=" + format + ")", "unknown format",
                "use edge or onnx");
  const bool from_edge = is_edge_file(model_path);
  std::string precision = args.get("precision").value_or(default_precision);
  if (precision != "int8" && precision != "fp32" && precision != "dynamic")
    throw Error("cannot " + command + " (--precision=" + precision + ")", "unknown precision",
                "use int8, dynamic or fp32");
  if (from_edge && args.get("precision"))
    throw Error("cannot " + command + " (--precision=" + precision + ")",
                "MODEL is an edge file already; its precision is fixed",
                "give the checkpoint it came from to change the precision");
  if (precision == "dynamic" && format == "onnx")
    throw Error("cannot " + command + " (--precision=dynamic --format=onnx)",
                "dynamic quantization is written to the edge format only",
                "use --precision int8 for ONNX, or --format edge");
  configure_threads(args);

  std::vector<uint8_t> bytes;
  compress::QuantizeOptions options{
      compress::parse_observer(args.get("observer").value_or("minmax")), {}};
  // auto: 7 bits where this CPU's edge kernels multiply them faster (AVX2 without VNNI).
  const bool auto_bits = args.get("weight-bits") == "auto";
  options.weight_bits = auto_bits ? (std::string(greenai_edge_selected_kernels()) == "avx2" ? 7 : 8)
                                  : static_cast<int>(integer(args, "weight-bits", 8, 7, 8));
  if (args.has("weight-bits") && precision != "int8")
    throw UsageError("--weight-bits applies to --precision int8 only");
  const int64_t calibration = integer(args, "calibration", 1000, 1);
  Json sensitivity = Json::array();
  if (from_edge) {
    const std::string raw = util::read_file(model_path);
    bytes.assign(raw.begin(), raw.end());
    precision = "unchanged";
  } else {
    bytes = checkpoint_bytes(args, model_path, precision, calibration, options, sensitivity);
  }
  const size_t written = write_model(bytes, format, *out);
  const double source_bytes = static_cast<double>(std::filesystem::file_size(model_path));
  const bool calibrated = precision == "int8";
  Json result = Json::object()
                    .set("model", model_path)
                    .set("out", *out)
                    .set("format", format)
                    .set("precision", precision)
                    .set("observer", calibrated ? compress::to_string(options.observer) : "")
                    .set("calibration_examples", calibrated ? calibration : 0)
                    .set("weight_bits", calibrated ? options.weight_bits : 8)
                    .set("size_bytes", static_cast<double>(written))
                    .set("source_bytes", source_bytes)
                    .set("onnx_checker", format == "onnx" ? "passed" : "");
  Json kept_layers = Json::array();
  for (size_t layer : options.keep_fp32) kept_layers.push(layer);
  result.set("kept_fp32_layers", kept_layers);
  if (!sensitivity.items().empty()) result.set("layer_sensitivity", sensitivity);
  std::string kept_text;
  for (size_t layer : options.keep_fp32)
    kept_text += (kept_text.empty() ? "; layers kept in fp32: " : ", ") + std::to_string(layer);
  char headline[768];
  std::snprintf(headline, sizeof headline,
                "wrote %s: %s %s model, %zu bytes (%s %.0f bytes, %.1fx smaller)%s%s\n",
                out->c_str(), precision.c_str(), format.c_str(), written,
                from_edge ? "edge file" : "checkpoint", source_bytes, source_bytes / written,
                kept_text.c_str(), format == "onnx" ? "; passes the ONNX checker" : "");
  return print_result(args, result, headline);
}

}  // namespace

int quantize_command(int argc, char** argv) { return convert_command(argc, argv, "quantize"); }
int export_command(int argc, char** argv) { return convert_command(argc, argv, "export"); }

int eval_command(int argc, char** argv) {
  ParsedArgs args =
      ArgParser(
          "eval",
          common_specs(
              {{"batch", true}, {"precision", true}, {"repeat", true}, {"predictions", true}}))
          .parse(argc, argv, 2);
  if (args.has("help")) {
    std::cout
        << "usage: greenai eval MODEL [--batch N] [--precision fp32|bf16] [--repeat R]\n"
           "                    [--predictions FILE]\n\n"
           "MODEL is a checkpoint (run by LibTorch), an edge file or an ONNX file (both run by\n"
           "the edge runtime; ONNX files are imported into its graph). Test accuracy, size on\n"
           "disk, and the energy of 1,000 test inferences (the test set is run R times, default\n"
           "3, at batch N, default 1000 for checkpoints and 64 for the edge runtime, and the\n"
           "energy divided by the inferences made); for checkpoints also the loss, parameter\n"
           "count and non-zero parameters. --predictions writes each test example's predicted\n"
           "class, one per line (edge and ONNX files).\n\n"
        << kCommonHelp << kTrackingHelp;
    return 0;
  }
  if (args.positionals.size() != 1)
    throw UsageError("expected one MODEL: a checkpoint, an edge file or an ONNX file");
  configure_threads(args);
  const std::string path = args.positionals[0];
  if (is_edge_file(path) || interop::looks_like_onnx(path)) return eval_edge(args, path);
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
  const track::PerThousandInferences per_1000 =
      track::per_thousand_inferences(energy, kg, inferences);
  const std::string provenance = tracker->info().provenance();
  const nn::ModelSpec& spec = checkpoint.net->spec();
  Json result = Json::object()
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
                    .set("energy_per_1000_inferences", per_1000.to_json())
                    .set("hardware", hardware::detect().to_json())
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
                energy_text(per_1000.energy, per_1000.emissions_kg, provenance).c_str());
  return print_result(args, result, headline);
}

namespace {

// The --batch list, e.g. "1,64".
std::vector<int> parse_batches(const std::string& list) {
  std::vector<int> batches;
  std::stringstream in(list);
  std::string item;
  while (std::getline(in, item, ',')) {
    char* end = nullptr;
    const long b = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || b < 1 || b > 65536)
      throw UsageError("--batch takes batch sizes from 1 to 65536, such as 1,64");
    batches.push_back(static_cast<int>(b));
  }
  if (batches.empty()) throw UsageError("--batch takes batch sizes such as 1,64");
  return batches;
}

}  // namespace

int bench_command(int argc, char** argv) {
  ParsedArgs args =
      ArgParser("bench", common_specs({{"batch", true}, {"seconds", true}})).parse(argc, argv, 2);
  if (args.has("help")) {
    std::cout
        << "usage: greenai bench FILE... [--batch 1,64] [--threads N] [--seconds S]\n\n"
           "Latency (p50, p99), throughput, and energy and kg CO2eq per 1,000 inferences of each\n"
           "model at each batch size, one after the other in one process. Edge and ONNX files run\n"
           "on the edge runtime (one thread); checkpoints on LibTorch fp32 with --threads\n"
           "threads (default 1 here, to compare like with like). Each case warms up for 0.2 s,\n"
           "then runs for S seconds (default 2) and at least 20 calls on fixed pseudo-random\n"
           "inputs in [0, 1). Energy comes from the meter over the timed calls, divided by the\n"
           "inferences made; it says whether it was measured or estimated.\n\n"
        << kCommonHelp << kTrackingHelp;
    return 0;
  }
  if (args.positionals.empty()) throw UsageError("expected one or more model files");
  const std::vector<int> batches = parse_batches(args.get("batch").value_or("1,64"));
  const double seconds = args.number("seconds", 2.0);
  if (!(seconds > 0) || seconds > 3600) throw UsageError("--seconds must be in (0, 3600]");
  torch::set_num_threads(static_cast<int>(integer(args, "threads", 1, 1)));
  const int max_batch = *std::max_element(batches.begin(), batches.end());

  auto tracker = tracker_for_this_process(args);
  tracker->start();
  Json rows = Json::array();
  std::ostringstream table;
  table << "model                          runtime                  batch     p50 us     p99 us  "
           "inferences/s  energy per 1,000 inferences\n";
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> uniform(0, 1);
  for (const std::string& path : args.positionals) {
    std::unique_ptr<interop::RuntimeModel> edge_model;
    std::optional<nn::Checkpoint> checkpoint;
    std::string runtime;
    size_t input_size = 0;
    if (is_edge_file(path) || interop::looks_like_onnx(path)) {
      edge_model = std::make_unique<interop::RuntimeModel>(path, max_batch);
      input_size = greenai_edge_input_size(edge_model->get());
      runtime = std::string("edge ") + greenai_edge_kernels(edge_model->get()) +
                (edge_model->format() == "onnx" ? " (onnx)" : "");
    } else {
      checkpoint = nn::load_checkpoint(path);
      checkpoint->net->eval();
      input_size = 1;
      for (int64_t d : checkpoint->net->spec().input_shape) input_size *= d;
      runtime = "libtorch fp32 x" + std::to_string(torch::get_num_threads());
    }
    for (int batch : batches) {
      std::vector<float> input(input_size * batch);
      for (float& v : input) v = uniform(rng);
      const std::string phase = path + " batch " + std::to_string(batch);
      tracker->begin_phase(phase);
      track::CallTimes t;
      if (edge_model) {
        std::vector<float> output(greenai_edge_output_size(edge_model->get()) * batch);
        greenai_edge_model* m = edge_model->get();
        t = track::time_calls(
            [&] {
              if (greenai_edge_infer(m, batch, input.data(), input.size(), output.data(),
                                     output.size()) != GREENAI_EDGE_OK)
                throw Error("cannot run model (path=" + path + ")", greenai_edge_last_error(m));
            },
            seconds);
      } else {
        std::vector<int64_t> shape{batch};
        for (int64_t d : checkpoint->net->spec().input_shape) shape.push_back(d);
        torch::Tensor x = torch::from_blob(input.data(), shape, torch::kFloat32);
        torch::NoGradGuard no_grad;
        t = track::time_calls([&] { checkpoint->net->forward(x); }, seconds);
      }
      tracker->end_phase();
      track::BenchRow row{path,
                          runtime,
                          batch,
                          static_cast<double>(t.micros.size()),
                          t.percentile(0.5),
                          t.percentile(0.99)};
      const double inferences = row.calls * batch;
      row.inferences_per_s = inferences / t.seconds;
      for (const auto& p : tracker->phases())
        if (p.phase == phase) row.energy = track::per_thousand_inferences(p, inferences);
      rows.push(row.to_json());
      char line[512];
      std::snprintf(line, sizeof line, "%-30s %-24s %5d %10.1f %10.1f %13.0f  %.4g J, %.3g kg\n",
                    path.c_str(), runtime.c_str(), batch, row.p50_us, row.p99_us,
                    row.inferences_per_s, row.energy.energy.total_j(), row.energy.emissions_kg);
      table << line;
    }
  }
  tracker->stop();
  const std::string provenance = tracker->info().provenance();
  const hardware::Hardware here = hardware::detect();
  table << "hardware: " << here.summary() << "\n";
  table << "energy: " << provenance << "\n";
  // Every figure above is this CPU's: its model, features and the edge kernels that ran.
  Json result = Json::object()
                    .set("results", rows)
                    .set("hardware", here.to_json())
                    .set("provenance", provenance_json(*tracker));
  return print_result(args, result, table.str());
}

}  // namespace greenai::cli
