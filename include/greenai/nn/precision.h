// Mixed precision: autocast scopes and a dynamic loss scaler with PyTorch GradScaler's rules.
//
// bf16 runs through LibTorch's CPU autocast (fast on CPUs with AMX or AVX-512 BF16); master
// weights stay fp32 because autocast only casts the inputs of eligible ops. fp16 needs a CUDA
// build of LibTorch (1.13 has no CPU kernels for fp16 matmul) and is paired with LossScaler,
// since fp16 gradients underflow without scaling.
//
//   greenai::nn::LossScaler scaler;
//   { greenai::nn::AutocastScope autocast(Precision::kFp16, torch::kCUDA); loss = ...; }
//   scaler.scale(loss).backward();
//   bool stepped = scaler.step(optimizer, parameters);   // skipped on inf/NaN gradients
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

namespace greenai::nn {

enum class Precision { kFp32, kBf16, kFp16 };
const char* to_string(Precision precision);
/// "fp32", "bf16" or "fp16"; throws greenai::Error otherwise.
Precision parse_precision(const std::string& text);
/// Throws greenai::Error (with the fix) when `precision` cannot run on `device` here.
void check_precision_supported(Precision precision, const torch::Device& device);

/// Enables autocast to bf16 or fp16 for its lifetime (nothing for fp32).
class AutocastScope {
 public:
  AutocastScope(Precision precision, torch::DeviceType device);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool active_ = false;
  bool cuda_ = false;
  bool previous_enabled_ = false;
  at::ScalarType previous_dtype_ = at::kBFloat16;
};

/// Dynamic loss scaling as torch.cuda.amp.GradScaler: start at 2^16; on a step whose gradients
/// hold inf or NaN, skip the optimizer step and halve the scale; after `growth_interval`
/// consecutive clean steps, double it.
class LossScaler {
 public:
  struct Options {
    double init_scale = 65536.0;
    double growth_factor = 2.0;
    double backoff_factor = 0.5;
    int growth_interval = 2000;
  };
  LossScaler() : LossScaler(Options{}) {}
  explicit LossScaler(Options options);

  /// loss x scale, to call backward() on.
  torch::Tensor scale(const torch::Tensor& loss) const;
  /// Divides every gradient by the scale in place; returns false if any is inf or NaN.
  bool unscale(const std::vector<torch::Tensor>& parameters);
  /// Unscales, steps the optimizer if the gradients are finite, updates the scale. Returns
  /// whether the optimizer stepped.
  bool step(torch::optim::Optimizer& optimizer, const std::vector<torch::Tensor>& parameters);
  /// Applies the scale rule for a step that did or did not find inf/NaN.
  void update(bool found_inf);

  double scale_value() const { return scale_; }
  int clean_steps() const { return clean_steps_; }
  int64_t skipped_steps() const { return skipped_; }

 private:
  Options options_;
  double scale_;
  int clean_steps_ = 0;
  int64_t skipped_ = 0;
};

/// The BLAS library LibTorch loaded (path from /proc/self/maps), or "" if none is mapped.
std::string loaded_blas();

}  // namespace greenai::nn
