// Checkpoints to deployable files: compress's quantizer and exporter, interop's ONNX writer.
#include "greenai/jobs/convert.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "greenai/edge/format.h"
#include "greenai/edge/greenai_edge.h"
#include "greenai/error.h"
#include "greenai/interop/onnx.h"
#include "greenai/jobs/measure.h"
#include "greenai/nn/checkpoint.h"
#include "greenai/nn/dataset.h"
#include "greenai/util/file.h"
#include "greenai/util/text.h"

namespace greenai::jobs {
namespace {

using util::Json;

void check(const ConvertRequest& r, bool from_edge) {
  const std::string what = "cannot convert (path=" + r.model + ")";
  if (r.format != "edge" && r.format != "onnx")
    throw Error("cannot convert (--format=" + r.format + ")", "unknown format", "use edge or onnx");
  const bool keeps_its_own = from_edge && r.precision.empty();
  if (!keeps_its_own && r.precision != "int8" && r.precision != "fp32" && r.precision != "dynamic")
    throw Error("cannot convert (--precision=" + r.precision + ")", "unknown precision",
                "use int8, dynamic or fp32");
  if (from_edge && !r.precision.empty())
    throw Error("cannot convert (--precision=" + r.precision + ")",
                "MODEL is an edge file already; its precision is fixed",
                "give the checkpoint it came from to change the precision");
  if (r.precision == "dynamic" && r.format == "onnx")
    throw Error("cannot convert (--precision=dynamic --format=onnx)",
                "dynamic quantization is written to the edge format only",
                "use --precision int8 for ONNX, or --format edge");
  if (r.precision != "int8" && (r.keep_fp32_auto || !r.quantize.keep_fp32.empty()))
    throw Error(what, "layers kept in fp32 (--keep-fp32) apply to --precision int8 only",
                "drop --keep-fp32, or quantize to int8");
  if (r.quantize.weight_bits != 7 && r.quantize.weight_bits != 8)
    throw Error(what, "weight bits must be 7 or 8");
}

// The checkpoint as edge bytes at the request's precision; keep_fp32_auto measures each layer.
std::vector<uint8_t> checkpoint_bytes(const ConvertRequest& r, compress::QuantizeOptions& options,
                                      std::vector<compress::LayerSensitivity>& sensitivity) {
  nn::Checkpoint checkpoint = nn::load_checkpoint(r.model);
  if (r.precision == "fp32") return compress::export_edge_fp32(checkpoint.net);
  if (r.precision == "dynamic") return compress::quantize_dynamic_to_edge(checkpoint.net);
  nn::Dataset train_set = nn::load_fashion_mnist(nn::Split::kTrain, r.data_dir);
  if (r.keep_fp32_auto) {
    // The held-out examples follow the calibration ones; the test set stays unseen.
    const nn::Dataset held_out{train_set.images.narrow(0, r.calibration, kHeldOutExamples),
                               train_set.labels.narrow(0, r.calibration, kHeldOutExamples)};
    const compress::Fp32LayerChoice choice =
        compress::choose_fp32_layer(checkpoint.net, train_set.head(r.calibration).images,
                                    held_out.images, held_out.labels, options, kMinimumGain);
    sensitivity = choice.trials;
    if (choice.layer) options.keep_fp32 = {*choice.layer};
  }
  return compress::quantize_to_edge(checkpoint.net, train_set.head(r.calibration).images, options);
}

// An ONNX model as edge bytes: imported, and for int8 calibrated on the request's NumPy inputs,
// with the operators kept in fp32 asked for or (keep_fp32_auto) measured on those inputs.
std::vector<uint8_t> onnx_bytes(const ConvertRequest& r, ConvertResult& result) {
  const std::string what = "cannot quantize (path=" + r.model + ")";
  const std::string raw = util::read_file(r.model);
  std::vector<uint8_t> fp32 = interop::onnx_to_edge(raw);
  if (r.precision == "fp32") return fp32;
  if (r.precision != "int8")
    throw Error(what, "an ONNX model is quantized statically (int8) only",
                "use --precision int8 with --calibration x.npy");
  if (r.calibration_file.empty())
    throw Error(what, "an ONNX model is calibrated on inputs of your own",
                "add --calibration x.npy: float32 [N, ...] inputs, as np.save writes them");
  const nn::Dataset data = nn::load_arrays(r.calibration_file, "").head(r.calibration);
  const torch::Tensor inputs = data.images.reshape({data.size(), -1}).contiguous();
  edge::FileView view;
  if (std::string why = edge::view_file(fp32, &view); !why.empty()) throw Error(what, why);
  const size_t examples = static_cast<size_t>(data.size());
  uint64_t per_example = 1;
  for (uint32_t d : view.header.input_shape) per_example *= d ? d : 1;
  if (static_cast<uint64_t>(inputs.size(1)) != per_example)
    throw Error("cannot calibrate (path=" + r.calibration_file + ")",
                "the model takes " + std::to_string(per_example) +
                    " values per example, the calibration inputs have " +
                    std::to_string(inputs.size(1)));
  compress::GraphQuantizeOptions options;
  options.observer = r.quantize.observer;
  options.weight_bits = r.quantize.weight_bits;
  for (size_t k : r.quantize.keep_fp32) options.keep_fp32.push_back(static_cast<uint32_t>(k));
  const float* x = inputs.data_ptr<float>();
  const compress::GraphCalibration calibration =
      compress::calibrate_graph(fp32, x, examples, options);
  if (r.keep_fp32_auto) {
    result.fallback =
        compress::choose_fp32_fallback(fp32, calibration, x, examples, options, kMinimumGain);
    for (uint32_t k : result.fallback->kept) options.keep_fp32.push_back(k);
  }
  const compress::QuantizedGraph q = compress::quantize_graph(fp32, calibration, options);
  for (uint32_t k : q.kept_fp32)
    result.kept_fp32_operators.push_back(compress::describe_operator(fp32, k));
  result.int8_operators = q.int8_operators;
  result.graph_operators = view.ops.size();
  result.calibration_examples = static_cast<int64_t>(examples);
  result.request.quantize.keep_fp32.assign(options.keep_fp32.begin(), options.keep_fp32.end());
  return q.bytes;
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

}  // namespace

int weight_bits_for_this_cpu() {
  return std::string(greenai_edge_selected_kernels()) == "avx2" ? 7 : 8;
}

ConvertResult convert_model(const ConvertRequest& request) {
  ConvertResult result;
  result.request = request;
  result.from_edge = edge::is_edge_file(request.model);
  result.from_onnx = !result.from_edge && interop::looks_like_onnx(request.model);
  check(request, result.from_edge);
  std::vector<uint8_t> bytes;
  if (result.from_onnx) {
    bytes = onnx_bytes(request, result);
    result.precision = request.precision;
  } else if (result.from_edge) {
    const std::string raw = util::read_file(request.model);
    bytes.assign(raw.begin(), raw.end());
    result.precision = "unchanged";
  } else {
    bytes = checkpoint_bytes(request, result.request.quantize, result.sensitivity);
    result.precision = request.precision;
  }
  result.size_bytes = write_model(bytes, request.format, request.out);
  result.source_bytes = static_cast<double>(std::filesystem::file_size(request.model));
  return result;
}

std::string ConvertResult::to_text() const {
  std::string kept;
  if (from_onnx) {
    for (const std::string& op : kept_fp32_operators)
      kept += (kept.empty() ? "; kept in fp32: " : ", ") + op;
  } else {
    for (size_t layer : request.quantize.keep_fp32)
      kept += (kept.empty() ? "; layers kept in fp32: " : ", ") + std::to_string(layer);
  }
  std::string text;
  // An edge file keeps its precision (its int8 graph exported as QDQ, say); the size against
  // the source as "smaller" or "larger", never a ratio below 1.
  const std::string what = precision == "unchanged"
                               ? "the edge file's graph as an " + request.format + " model"
                               : precision + " " + request.format + " model";
  const double ratio = source_bytes / static_cast<double>(size_bytes);
  util::appendf(text, "wrote %s: %s, %zu bytes (%s %.0f bytes, %.1fx %s)%s%s\n",
                request.out.c_str(), what.c_str(), size_bytes,
                from_edge   ? "edge file"
                : from_onnx ? "ONNX model"
                            : "checkpoint",
                source_bytes, ratio >= 1 ? ratio : 1 / ratio, ratio >= 1 ? "smaller" : "larger",
                kept.c_str(), request.format == "onnx" ? "; passes the ONNX checker" : "");
  if (from_onnx && precision == "int8")
    util::appendf(text,
                  "  %zu of %zu operators int8, calibrated on %lld examples (observer %s, %d-bit "
                  "weights)\n",
                  int8_operators, graph_operators, static_cast<long long>(calibration_examples),
                  compress::to_string(request.quantize.observer), request.quantize.weight_bits);
  if (fallback)
    util::appendf(text,
                  "  automatic fp32 fallback, on the calibration inputs: top-1 agreement with "
                  "fp32 %.2f %% all int8, %.2f %% as written\n",
                  100 * fallback->all_int8.top1, 100 * fallback->chosen.top1);
  return text;
}

Json ConvertResult::to_json() const {
  const bool calibrated = precision == "int8";
  Json result =
      Json::object()
          .set("model", request.model)
          .set("out", request.out)
          .set("format", request.format)
          .set("precision", precision)
          .set("observer", calibrated ? compress::to_string(request.quantize.observer) : "")
          .set("calibration_examples",
               calibrated ? (from_onnx ? calibration_examples : request.calibration) : 0)
          .set("source", from_edge   ? "edge"
                         : from_onnx ? "onnx"
                                     : "checkpoint")
          .set("weight_bits", calibrated ? request.quantize.weight_bits : 8)
          .set("size_bytes", static_cast<double>(size_bytes))
          .set("source_bytes", source_bytes)
          .set("onnx_checker", request.format == "onnx" ? "passed" : "");
  Json kept = Json::array();
  for (size_t layer : request.quantize.keep_fp32) kept.push(layer);
  result.set("kept_fp32_layers", kept);
  if (from_onnx) {
    Json described = Json::array();
    for (const std::string& op : kept_fp32_operators) described.push(op);
    result.set("kept_fp32_operators", described)
        .set("int8_operators", static_cast<double>(int8_operators))
        .set("graph_operators", static_cast<double>(graph_operators));
  }
  if (fallback) {
    Json trials = Json::array();
    for (const auto& t : fallback->trials)
      trials.push(Json::object()
                      .set("kept_fp32_operator", static_cast<double>(t.op))
                      .set("top1_agreement", t.agreement.top1)
                      .set("relative_error", t.agreement.relative_error));
    result.set("fp32_fallback", Json::object()
                                    .set("measured_on", "calibration inputs")
                                    .set("all_int8_top1_agreement", fallback->all_int8.top1)
                                    .set("chosen_top1_agreement", fallback->chosen.top1)
                                    .set("trials", trials));
  }
  if (!sensitivity.empty()) {
    Json trials = Json::array();
    for (const auto& t : sensitivity)
      trials.push(
          Json::object()
              .set("kept_fp32_layer", t.layer == compress::kNoLayer ? Json() : Json(t.layer))
              .set("validation_accuracy", t.accuracy));
    result.set("layer_sensitivity", trials);
  }
  return result;
}

}  // namespace greenai::jobs
