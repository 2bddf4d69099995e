#include "greenai/nn/precision.h"

#include <ATen/autocast_mode.h>

#include <fstream>

#include "greenai/error.h"

namespace greenai::nn {

const char* to_string(Precision precision) {
  switch (precision) {
    case Precision::kFp32:
      return "fp32";
    case Precision::kBf16:
      return "bf16";
    case Precision::kFp16:
      return "fp16";
  }
  return "?";
}

Precision parse_precision(const std::string& text) {
  if (text == "fp32") return Precision::kFp32;
  if (text == "bf16") return Precision::kBf16;
  if (text == "fp16") return Precision::kFp16;
  throw Error("cannot use precision (--precision=" + text + ")", "unknown precision",
              "use fp32, bf16 or fp16");
}

void check_precision_supported(Precision precision, const torch::Device& device) {
  if (precision == Precision::kFp16 && device.is_cpu())
    throw Error(
        "cannot train in fp16 on CPU (--precision=fp16)",
        "LibTorch 1.13 has no CPU kernels for fp16 matrix products or for loss scaling",
        "use --precision bf16 on CPU; fp16 needs a CUDA build of LibTorch and an NVIDIA GPU");
}

AutocastScope::AutocastScope(Precision precision, torch::DeviceType device) {
  if (precision == Precision::kFp32) return;
  active_ = true;
  cuda_ = device == torch::kCUDA;
  const at::ScalarType dtype = precision == Precision::kBf16 ? at::kBFloat16 : at::kHalf;
  if (cuda_) {
    previous_enabled_ = at::autocast::is_enabled();
    previous_dtype_ = at::autocast::get_autocast_gpu_dtype();
    at::autocast::set_autocast_gpu_dtype(dtype);
    at::autocast::set_enabled(true);
  } else {
    previous_enabled_ = at::autocast::is_cpu_enabled();
    previous_dtype_ = at::autocast::get_autocast_cpu_dtype();
    at::autocast::set_autocast_cpu_dtype(dtype);
    at::autocast::set_cpu_enabled(true);
  }
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  // Leaving the outermost scope drops the cached casts of the weights.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  if (cuda_) {
    at::autocast::set_enabled(previous_enabled_);
    at::autocast::set_autocast_gpu_dtype(previous_dtype_);
  } else {
    at::autocast::set_cpu_enabled(previous_enabled_);
    at::autocast::set_autocast_cpu_dtype(previous_dtype_);
  }
}

LossScaler::LossScaler(Options options) : options_(options), scale_(options.init_scale) {}

torch::Tensor LossScaler::scale(const torch::Tensor& loss) const { return loss * scale_; }

bool LossScaler::unscale(const std::vector<torch::Tensor>& parameters) {
  bool finite = true;
  torch::NoGradGuard no_grad;
  for (const auto& p : parameters) {
    if (!p.grad().defined()) continue;
    torch::Tensor grad = p.grad();
    grad.mul_(1.0 / scale_);
    if (!torch::isfinite(grad).all().item<bool>()) finite = false;
  }
  return finite;
}

bool LossScaler::step(torch::optim::Optimizer& optimizer,
                      const std::vector<torch::Tensor>& parameters) {
  bool finite = unscale(parameters);
  if (finite) optimizer.step();
  update(!finite);
  return finite;
}

void LossScaler::update(bool found_inf) {
  if (found_inf) {
    scale_ *= options_.backoff_factor;
    clean_steps_ = 0;
    ++skipped_;
    return;
  }
  if (++clean_steps_ == options_.growth_interval) {
    scale_ *= options_.growth_factor;
    clean_steps_ = 0;
  }
}

std::string loaded_blas() {
  std::ifstream maps("/proc/self/maps");
  std::string line, found;
  while (std::getline(maps, line)) {
    size_t slash = line.find('/');
    if (slash == std::string::npos) continue;
    std::string path = line.substr(slash);
    if (path.find("openblas") != std::string::npos) return path;  // The one that matters.
    if (found.empty() &&
        (path.find("libblas") != std::string::npos || path.find("mkl") != std::string::npos))
      found = path;
  }
  return found;
}

}  // namespace greenai::nn
