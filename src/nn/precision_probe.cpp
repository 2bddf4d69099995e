#include "greenai/nn/precision_probe.h"

#include <torch/torch.h>
#include <torch/version.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "greenai/error.h"
#include "greenai/util/text.h"

namespace greenai::nn {
namespace {

namespace fs = std::filesystem;
using util::Json;

// The fastest of a few timed steps (the least disturbed by the rest of the machine): after two
// warm-up steps (the first creates oneDNN's kernels for the shapes, 10x a step), steps until 7
// are timed or 0.2 s has passed. A precision whose second warm-up step took more than
// `give_up_s` is not timed further: that step stands for it (a bf16 step 50x slower than fp32 is
// no closer call for being timed again), so the probe stays well under a second on every CPU.
double time_step(Precision precision, double give_up_s, int* steps) {
  torch::manual_seed(0);
  // The teacher's shape in small: 784 inputs, a 512-wide hidden layer, 10 classes, batch 64.
  torch::nn::Sequential net(torch::nn::Linear(784, 512), torch::nn::ReLU(),
                            torch::nn::Linear(512, 10));
  const torch::Tensor x = torch::rand({64, 784});
  const torch::Tensor labels = torch::randint(0, 10, {64});
  auto step = [&] {
    const auto t0 = std::chrono::steady_clock::now();
    net->zero_grad();
    torch::Tensor loss;
    {
      AutocastScope autocast(precision, torch::kCPU);
      loss = torch::nn::functional::cross_entropy(net->forward(x), labels);
    }
    loss.backward();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  step();
  const double warm_up = step();
  *steps = 0;
  if (warm_up > give_up_s) return warm_up;
  double best = warm_up;
  const auto begin = std::chrono::steady_clock::now();
  while (*steps < 7 &&
         std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count() < 0.2) {
    best = std::min(best, step());
    ++*steps;
  }
  return best;
}

fs::path cache_dir() {
  if (const char* dir = std::getenv("GREENAI_CACHE_DIR"); dir && *dir) return dir;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
    return fs::path(xdg) / "greenai";
  if (const char* home = std::getenv("HOME"); home && *home)
    return fs::path(home) / ".cache" / "greenai";
  return {};
}

}  // namespace

Json PrecisionProbe::to_json() const {
  return Json::object()
      .set("fp32_step_s", fp32_step_s)
      .set("bf16_step_s", bf16_step_s)
      .set("bf16_error", bf16_error)
      .set("fp16_error", fp16_error)
      .set("torch_version", torch_version)
      .set("threads", threads)
      .set("fp32_steps", fp32_steps)
      .set("bf16_steps", bf16_steps)
      .set("source", source);
}

PrecisionProbe PrecisionProbe::from_json(const Json& json) {
  PrecisionProbe p;
  p.fp32_step_s = json.at("fp32_step_s").number();
  p.bf16_step_s = json.at("bf16_step_s").number();
  p.bf16_error = json.at("bf16_error").string();
  p.fp16_error = json.at("fp16_error").string();
  p.torch_version = json.at("torch_version").string();
  p.threads = static_cast<int>(json.at("threads").number());
  p.fp32_steps = static_cast<int>(json.at("fp32_steps").number());
  p.bf16_steps = static_cast<int>(json.at("bf16_steps").number());
  p.source = json.at("source").string();
  return p;
}

Json PrecisionAdvice::to_json() const {
  return Json::object()
      .set("fastest", to_string(fastest))
      .set("bf16_accelerated", bf16_accelerated)
      .set("bf16_speedup", bf16_speedup)
      .set("reason", reason);
}

PrecisionProbe measure_precision(int threads) {
  PrecisionProbe p;
  const int previous = torch::get_num_threads();
  if (threads > 0) torch::set_num_threads(threads);
  p.threads = torch::get_num_threads();
  p.torch_version = TORCH_VERSION;
  p.source = "measured";
  p.fp32_step_s = time_step(Precision::kFp32, 1.0, &p.fp32_steps);
  try {
    p.bf16_step_s = time_step(Precision::kBf16, 10 * p.fp32_step_s, &p.bf16_steps);
  } catch (const std::exception& e) {
    p.bf16_error = e.what();
    const size_t newline = p.bf16_error.find('\n');
    if (newline != std::string::npos) p.bf16_error.resize(newline);
  }
  try {
    check_precision_supported(Precision::kFp16, torch::kCPU);
  } catch (const Error& e) {
    p.fp16_error = e.what();
  }
  torch::set_num_threads(previous);
  return p;
}

PrecisionProbe probe_precision(const hardware::Hardware& here, int threads, bool refresh) {
  if (const char* given = std::getenv("GREENAI_PRECISION_PROBE"); given && *given) {
    std::ifstream in(given);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in)
      throw Error(
          "cannot read precision probe (GREENAI_PRECISION_PROBE=" + std::string(given) + ")",
          "no such file", "unset it to measure the probe here");
    PrecisionProbe probe;
    try {
      probe = PrecisionProbe::from_json(Json::parse(text.str()));
    } catch (const Error& e) {
      throw Error(
          "cannot read precision probe (GREENAI_PRECISION_PROBE=" + std::string(given) + ")",
          e.what(), "write it as `greenai hardware --json` writes precision_probe");
    }
    probe.source = "given (" + std::string(given) + ")";
    return probe;
  }
  const int count = threads > 0 ? threads : torch::get_num_threads();
  const fs::path dir = cache_dir();
  // The hardware key covers oneDNN's ISA cap too (ONEDNN_MAX_CPU_ISA=AVX2 takes its bf16 kernels
  // away).
  const fs::path file = dir.empty() ? fs::path()
                                    : dir / ("precision-" + here.key() + "-torch" + TORCH_VERSION +
                                             "-threads" + std::to_string(count) + ".json");
  if (!refresh && !file.empty()) {
    std::ifstream in(file);
    std::ostringstream text;
    text << in.rdbuf();
    if (in) {
      try {
        PrecisionProbe cached = PrecisionProbe::from_json(Json::parse(text.str()));
        cached.source = "cached (" + file.string() + ")";
        return cached;
      } catch (const Error&) {
        // A damaged cache file: measure again and overwrite it.
      }
    }
  }
  PrecisionProbe probe = measure_precision(count);
  if (!file.empty()) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    const fs::path partial = file.string() + ".partial";
    std::ofstream out(partial);
    out << probe.to_json().dump(2) << "\n";
    if (out.flush()) fs::rename(partial, file, ec);
  }
  return probe;
}

std::string PrecisionProbe::to_text() const {
  const PrecisionAdvice advice = advise_precision(*this);
  std::string text;
  char bf16[64] = "did not run";
  if (bf16_step_s > 0) std::snprintf(bf16, sizeof bf16, "%.3g ms", bf16_step_s * 1e3);
  util::appendf(text,
                "training:      LibTorch %s, %d thread(s): one step fp32 %.3g ms, bf16 %s (%s)\n",
                torch_version.c_str(), threads, fp32_step_s * 1e3, bf16, source.c_str());
  util::appendf(text, "               %s\n", advice.reason.c_str());
  util::appendf(text, "               fp16: %s\n",
                fp16_error.empty() ? "runs" : fp16_error.c_str());
  util::appendf(text, "precision:     --precision auto trains in %s\n", to_string(advice.fastest));
  return text;
}

PrecisionAdvice advise_precision(const PrecisionProbe& probe) {
  PrecisionAdvice a;
  char text[256];
  if (!probe.bf16_error.empty() || !(probe.bf16_step_s > 0) || !(probe.fp32_step_s > 0)) {
    a.reason = "bf16 autocast could not be measured here" +
               (probe.bf16_error.empty() ? std::string() : ": " + probe.bf16_error);
    return a;
  }
  a.bf16_speedup = probe.fp32_step_s / probe.bf16_step_s;
  a.bf16_accelerated = a.bf16_speedup >= kBf16MinSpeedup;
  a.fastest = a.bf16_accelerated ? Precision::kBf16 : Precision::kFp32;
  const double ms32 = probe.fp32_step_s * 1e3, ms16 = probe.bf16_step_s * 1e3;
  if (a.bf16_speedup >= 1)
    std::snprintf(text, sizeof text,
                  "bf16 autocast measured %.2fx faster than fp32 here (%.3g ms against %.3g ms a "
                  "step)%s",
                  a.bf16_speedup, ms16, ms32,
                  a.bf16_accelerated ? "" : ", less than the 1.1x that is worth fp32's exactness");
  else
    std::snprintf(text, sizeof text,
                  "bf16 autocast measured %.1fx slower than fp32 here (%.3g ms against %.3g ms a "
                  "step): this CPU has no fast bf16 arithmetic",
                  1 / a.bf16_speedup, ms16, ms32);
  a.reason = text;
  return a;
}

PrecisionChoice choose_precision(const std::string& asked,
                                 const std::function<PrecisionProbe()>& probe) {
  PrecisionChoice c;
  if (asked != "auto" && asked != "bf16") {
    c.precision = parse_precision(asked);
    return c;
  }
  const PrecisionProbe measured = probe();
  const PrecisionAdvice advice = advise_precision(measured);
  c.note = util::Json::object()
               .set("requested", asked)
               .set("advice", advice.to_json())
               .set("probe", measured.to_json());
  if (asked == "auto") {
    c.precision = advice.fastest;
    c.message = std::string("--precision auto: training in ") + to_string(advice.fastest) + " (" +
                advice.reason + ")";
    return c;
  }
  c.precision = Precision::kBf16;
  if (advice.bf16_speedup > 0 && advice.bf16_speedup < 1)
    c.message = "warning: " + advice.reason +
                "; training in bf16 as asked (--precision auto takes the faster)";
  return c;
}

}  // namespace greenai::nn
