// Side-by-side inference benchmark (bench/edge/README.md): the edge runtime fp32 and int8,
// LibTorch fp32 and LibTorch int8 (its oneDNN quantized engine), and ONNX Runtime fp32 and int8
// on our ONNX exports, on the same models, one thread, batch 1 and 64, in one run. Prints median
// microseconds per call and ratios; never fails on timing.
//
//   greenai_edge_side_by_side [--seconds S] [--ort-dir bench/edge/ort] [--keep DIR]
//
// The models have random weights (seeded); int8 models are calibrated on random inputs in
// [0, 1). LibTorch int8 runs the very graph of our int8 file (the same scales and zero points,
// activations quint8 = our int8 + 128). ONNX Runtime runs through onnxruntime-node when
// bench/edge/ort has it installed (`npm install --ignore-scripts` there); the Node binding's
// per-call cost is measured on a one-operator graph and reported, and ORT's figures are given
// both raw and net of it.
#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "greenai/compress/quantize.h"
#include "greenai/edge/format.h"
#include "greenai/edge/greenai_edge.h"
#include "greenai/hardware/cpu.h"
#include "greenai/interop/onnx.h"
#include "greenai/nn/model.h"

namespace {

using namespace greenai;
using clock_type = std::chrono::steady_clock;

template <typename Run>
double median_us(Run&& run, double seconds) {
  for (auto end = clock_type::now() + std::chrono::milliseconds(100); clock_type::now() < end;)
    run();
  std::vector<double> t;
  const auto begin = clock_type::now();
  while (t.size() < 20 ||
         std::chrono::duration<double>(clock_type::now() - begin).count() < seconds) {
    const auto t0 = clock_type::now();
    run();
    t.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - t0).count());
  }
  std::nth_element(t.begin(), t.begin() + t.size() / 2, t.end());
  return t[t.size() / 2];
}

struct EdgeModel {
  explicit EdgeModel(const std::vector<uint8_t>& bytes, int max_batch) : storage(bytes) {
    char why[256];
    if (greenai_edge_load_memory(storage.data(), storage.size(), max_batch, &model, why,
                                 sizeof why) != GREENAI_EDGE_OK) {
      std::fprintf(stderr, "cannot load: %s\n", why);
      std::exit(1);
    }
  }
  ~EdgeModel() { greenai_edge_free(model); }
  edge::AlignedBytes storage;
  greenai_edge_model* model = nullptr;
};

// Calls a registered LibTorch operator by name through the dispatcher (boxed: no need for the
// C++ types of its packed-weight classes, which Debian's headers do not ship).
c10::IValue call(const char* name, const char* overload, std::vector<c10::IValue> args) {
  auto op = c10::Dispatcher::singleton().findSchemaOrThrow(name, overload);
  torch::jit::Stack stack(std::move(args));
  op.callBoxed(&stack);
  return stack.at(0);
}

// The int8 edge file's graph, run by LibTorch's quantized operators.
class TorchInt8 {
 public:
  explicit TorchInt8(const std::vector<uint8_t>& bytes) {
    if (std::string why = edge::view_file(bytes, &view_); !why.empty())
      throw std::runtime_error(why);
    float scale = 0;
    for (const edge::OpRecord& op : view_.ops) {
      Step s{op};
      if (op.kind == edge::OpKind::kQuantize) scale = op.scale;
      if (op.kind == edge::OpKind::kQLinear || op.kind == edge::OpKind::kQConv2d) {
        const bool conv = op.kind == edge::OpKind::kQConv2d;
        std::vector<int64_t> dims{op.out, op.in};
        if (conv) dims = {op.out, op.in, op.kernel, op.kernel};
        auto codes =
            torch::from_blob(const_cast<void*>(view_.tensor(op.weight)), dims, torch::kInt8);
        auto w_scale = torch::from_blob(const_cast<void*>(view_.tensor(op.weight_scale)), {op.out},
                                        torch::kFloat32)
                           .to(torch::kDouble);
        auto qw = torch::_make_per_channel_quantized_tensor(
            codes.clone(), w_scale, torch::zeros({op.out}, torch::kLong), 0);
        auto bias =
            torch::from_blob(const_cast<void*>(view_.tensor(op.bias)), {op.out}, torch::kInt32)
                .to(torch::kFloat32) *
            (w_scale.to(torch::kFloat32) * scale);
        if (conv)
          s.packed = call("quantized::conv2d_prepack", "",
                          {qw, bias, std::vector<int64_t>{op.stride, op.stride},
                           std::vector<int64_t>{op.padding, op.padding}, std::vector<int64_t>{1, 1},
                           int64_t{1}});
        else
          s.packed = call("quantized::linear_prepack", "", {qw, bias});
        scale = op.scale;
      }
      steps_.push_back(s);
    }
  }

  torch::Tensor forward(torch::Tensor x) const {
    for (const Step& s : steps_) {
      const edge::OpRecord& op = s.op;
      const bool relu = op.flags & edge::kFlagFusedReLU;
      switch (op.kind) {
        case edge::OpKind::kQuantize:
          x = torch::quantize_per_tensor(x, op.scale, op.output_zero_point + 128, torch::kQUInt8);
          break;
        case edge::OpKind::kQLinear:
          x = call(relu ? "quantized::linear_relu" : "quantized::linear", "",
                   {x, s.packed, double{op.scale}, int64_t{op.output_zero_point + 128}})
                  .toTensor();
          break;
        case edge::OpKind::kQConv2d:
          x = call(relu ? "quantized::conv2d_relu" : "quantized::conv2d", "new",
                   {x, s.packed, double{op.scale}, int64_t{op.output_zero_point + 128}})
                  .toTensor();
          break;
        case edge::OpKind::kMaxPool2d:
          x = torch::max_pool2d(x, op.kernel, op.stride, op.padding);
          break;
        case edge::OpKind::kFlatten:
          x = x.reshape({x.size(0), -1});
          break;
        case edge::OpKind::kDequantize:
          x = x.dequantize();
          break;
        case edge::OpKind::kSoftmax:
          x = torch::softmax(x, 1);
          break;
        default:
          throw std::runtime_error("operator not in this benchmark");
      }
    }
    return x;
  }

 private:
  struct Step {
    edge::OpRecord op;
    c10::IValue packed;
  };
  edge::FileView view_;
  std::vector<Step> steps_;
};

// ONNX Runtime through node: {median us} for (file, batch), or -1 when unavailable.
double ort_us(const std::string& ort_dir, const std::string& file, int batch, double seconds) {
  const std::string command = "cd '" + ort_dir + "' && node ort_bench.mjs time '" + file + "' " +
                              std::to_string(batch) + " " + std::to_string(seconds) +
                              " 2>/dev/null";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return -1;
  char line[1024] = "";
  std::string out;
  while (std::fgets(line, sizeof line, pipe)) out += line;
  if (::pclose(pipe) != 0) return -1;
  const size_t at = out.find("\"p50_us\":");
  return at == std::string::npos ? -1 : std::atof(out.c_str() + at + 9);
}

double cpu_ghz() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("cpu MHz", 0) == 0) return std::atof(line.c_str() + line.find(':') + 1) / 1000;
  return 0;
}

struct Case {
  std::string name;
  nn::ModelSpec spec;
};

}  // namespace

int main(int argc, char** argv) {
  double seconds = 1.0;
  std::string ort_dir = GREENAI_ORT_DIR, keep;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--seconds") seconds = std::atof(argv[i + 1]);
    if (flag == "--ort-dir") ort_dir = argv[i + 1];
    if (flag == "--keep") keep = argv[i + 1];
  }
  torch::manual_seed(0);
  torch::set_num_threads(1);
  at::globalContext().setQEngine(at::kONEDNN);
  const bool have_ort = std::filesystem::exists(ort_dir + "/node_modules/onnxruntime-node") &&
                        std::system("node --version > /dev/null 2>&1") == 0;
  std::filesystem::path dir = keep.empty() ? std::filesystem::temp_directory_path() /
                                                 ("greenai-sbs-" + std::to_string(::getpid()))
                                           : std::filesystem::path(keep);
  std::filesystem::create_directories(dir);
  const double ghz = cpu_ghz();
  std::printf("one thread; median microseconds per call; kernels: ");
  {
    EdgeModel probe(compress::export_edge_fp32(nn::Net(nn::student_spec())), 1);
    std::printf("%s; LibTorch int8 engine: %s; CPU %.2f GHz\n", greenai_edge_kernels(probe.model),
                c10::toString(at::globalContext().qEngine()).c_str(), ghz);
  }
  // The figures are this CPU's; the caps below make an AVX-512 machine stand in for AVX2 only.
  std::printf("hardware: %s\n", greenai::hardware::detect().summary().c_str());
  for (const char* cap : {"GREENAI_EDGE_KERNELS", "ONEDNN_MAX_CPU_ISA", "OPENBLAS_CORETYPE"})
    if (const char* value = std::getenv(cap)) std::printf("%s=%s\n", cap, value);

  // The Node binding's floor: a one-operator graph (Softmax over 10 values).
  std::map<int, double> floor;
  if (have_ort) {
    edge::FileBuilder b({10});
    edge::OpRecord op{};
    op.kind = edge::OpKind::kSoftmax;
    op.weight = op.bias = op.multiplier = op.shift = op.weight_scale = edge::kNoTensor;
    b.add_op(op);
    const std::string file = (dir / "one_op.onnx").string();
    std::ofstream(file, std::ios::binary) << interop::edge_to_onnx(b.finish());
    for (int batch : {1, 64}) floor[batch] = ort_us(ort_dir, file, batch, seconds);
    std::printf(
        "ONNX Runtime through Node, one-op graph (the binding's floor): %.1f us at batch 1, "
        "%.1f us at batch 64\n",
        floor[1], floor[64]);
  } else {
    std::printf("ONNX Runtime: not installed (cd %s && npm install --ignore-scripts)\n",
                ort_dir.c_str());
  }
  std::printf("\n%-8s %5s | %9s %9s | %9s %9s | %9s %9s %9s %9s | %8s | %s\n", "model", "batch",
              "edge fp32", "edge int8", "LT fp32", "LT int8", "ORT fp32", "net", "ORT int8", "net",
              "bound", "edge int8 speed-up vs LT fp32 / LT int8 / ORT int8 (net)");

  const std::vector<Case> cases{
      {"student", nn::student_spec()}, {"teacher", nn::teacher_spec()}, {"cnn", nn::cnn_spec()}};
  for (const Case& c : cases) {
    nn::Net net(c.spec);
    net->eval();
    torch::NoGradGuard no_grad;
    std::vector<int64_t> shape{256};
    for (int64_t d : c.spec.input_shape) shape.push_back(d);
    torch::Tensor calibration = torch::rand(shape);
    const std::vector<uint8_t> fp32 = compress::export_edge_fp32(net);
    const std::vector<uint8_t> int8 = compress::quantize_to_edge(net, calibration);
    const std::string fp32_onnx = (dir / (c.name + ".fp32.onnx")).string();
    const std::string int8_onnx = (dir / (c.name + ".int8.onnx")).string();
    std::ofstream(fp32_onnx, std::ios::binary) << interop::edge_to_onnx(fp32);
    std::ofstream(int8_onnx, std::ios::binary) << interop::edge_to_onnx(int8);
    TorchInt8 torch_int8(int8);
    EdgeModel edge_fp32(fp32, 64), edge_int8(int8, 64);
    // Ideal bound: int8 weights streamed from L2 at 64 bytes per cycle, or the MACs at 128 int8
    // MACs per cycle (two 512-bit VNNI instructions), whichever is longer.
    int64_t weight_bytes = 0;
    for (const auto& l : c.spec.layers)
      if (l.kind == nn::LayerKind::kLinear)
        weight_bytes += l.in * l.out;
      else if (l.kind == nn::LayerKind::kConv2d)
        weight_bytes += l.in * l.out * l.kernel * l.kernel;
    for (int batch : {1, 64}) {
      shape[0] = batch;
      torch::Tensor x = torch::rand(shape);
      std::vector<float> in(x.data_ptr<float>(), x.data_ptr<float>() + x.numel());
      std::vector<float> out(10 * batch);
      auto run_edge = [&](greenai_edge_model* m) {
        return median_us(
            [&] { greenai_edge_infer(m, batch, in.data(), in.size(), out.data(), out.size()); },
            seconds);
      };
      const double e32 = run_edge(edge_fp32.model), e8 = run_edge(edge_int8.model);
      const double t32 = median_us([&] { net->forward(x); }, seconds);
      const double t8 = median_us([&] { torch_int8.forward(x); }, seconds);
      double o32 = -1, o8 = -1;
      if (have_ort) {
        o32 = ort_us(ort_dir, fp32_onnx, batch, seconds);
        o8 = ort_us(ort_dir, int8_onnx, batch, seconds);
      }
      const double bound = ghz > 0 ? std::max(static_cast<double>(weight_bytes) / 64,
                                              static_cast<double>(c.spec.macs()) * batch / 128) /
                                         (ghz * 1e3)
                                   : 0;
      const double o32_net = o32 > 0 ? o32 - floor[batch] : -1,
                   o8_net = o8 > 0 ? o8 - floor[batch] : -1;
      std::printf(
          "%-8s %5d | %9.1f %9.1f | %9.1f %9.1f | %9.1f %9.1f %9.1f %9.1f | %8.1f | %.2fx / %.2fx "
          "/ %.2fx (%.2fx)\n",
          c.name.c_str(), batch, e32, e8, t32, t8, o32, o32_net, o8, o8_net, bound, t32 / e8,
          t8 / e8, o8 > 0 ? o8 / e8 : 0.0, o8_net > 0 ? o8_net / e8 : 0.0);
      std::fflush(stdout);
    }
  }
  if (keep.empty()) std::filesystem::remove_all(dir);
  std::printf(
      "\nbound: max(int8 weight bytes / 64 B per cycle, MACs / 128 per cycle) at the "
      "clock above; ratios above 1 mean the edge runtime's int8 is faster.\n");
  return 0;
}
