// Does reduced precision pay here? A short measured probe of one representative training step
// (a 784-512-10 MLP, batch 64, forward, loss and backward) in fp32 and under bf16 autocast,
// cached per CPU (model and features), LibTorch version and thread count, and the decision drawn
// from it. bf16 is a green technique only where the CPU has bf16 arithmetic (AVX-512 BF16, AMX,
// ARMv8.6 BF16): on an AVX2-only CPU LibTorch 1.13 runs bf16 matrix products some 55x slower
// than fp32, and the "green" run burns more energy.
//
//   greenai::nn::PrecisionProbe probe = greenai::nn::probe_precision(greenai::hardware::detect());
//   greenai::nn::PrecisionAdvice advice = greenai::nn::advise_precision(probe);
//   if (advice.fastest == Precision::kBf16) ...;   // advice.reason says why, with the ratio
#pragma once

#include <functional>
#include <string>

#include "greenai/hardware/cpu.h"
#include "greenai/nn/precision.h"
#include "greenai/util/json.h"

namespace greenai::nn {

/// The measured step times. A precision that could not run has its error and a time of 0.
struct PrecisionProbe {
  double fp32_step_s = 0;  ///< seconds of one training step in fp32 (the fastest timed)
  double bf16_step_s = 0;  ///< the same step under bf16 autocast (fp32 master weights)
  std::string bf16_error;  ///< why bf16 could not run, or ""
  std::string fp16_error;  ///< why fp16 cannot run here (always set on CPU with LibTorch 1.13)
  std::string torch_version;
  int threads = 1;
  int fp32_steps = 0;  ///< steps timed in fp32 (0: its second warm-up step stands for it)
  int bf16_steps = 0;  ///< steps timed in bf16 (0: its second warm-up step stands for it,
                       ///< as for a bf16 10x slower than fp32)
  std::string source;  ///< "measured" or "cached (PATH)"
  /// Lines for people, as `greenai hardware` prints them: the step times, the advice drawn from
  /// them (advise_precision) and what --precision auto trains in.
  std::string to_text() const;

  util::Json to_json() const;
  /// Throws greenai::Error on a missing or mistyped field.
  static PrecisionProbe from_json(const util::Json& json);
};

/// bf16 is chosen only when at least this much faster than fp32: step times move by a few per
/// cent between runs, and a tie is no reason to give up fp32's exactness.
constexpr double kBf16MinSpeedup = 1.10;

/// What to train in, and why.
struct PrecisionAdvice {
  Precision fastest = Precision::kFp32;  ///< the faster of fp32 and bf16 at equal accuracy
  bool bf16_accelerated = false;         ///< bf16 at least kBf16MinSpeedup x faster than fp32
  double bf16_speedup = 0;               ///< fp32 step / bf16 step (below 1: bf16 is slower)
  std::string reason;  ///< "bf16 autocast measured 55.1x slower than fp32 here (...)"

  util::Json to_json() const;
};

/// Measures the probe now on `threads` threads (LibTorch's current count if 0): well under a
/// second, even where bf16 is slow (timing stops after 0.2 s, or after the warm-up steps of a
/// precision 10x slower than fp32).
PrecisionProbe measure_precision(int threads = 0);

/// The probe for this machine: read from the cache when it was measured on the same CPU,
/// LibTorch version and thread count, else measured and cached. The cache folder is
/// GREENAI_CACHE_DIR, else $XDG_CACHE_HOME/greenai, else ~/.cache/greenai; one that cannot be
/// written only costs a new measurement next time. `refresh` measures anew. GREENAI_PRECISION_PROBE
/// names a probe file (precision_probe of `greenai hardware --json`) to use instead, to reproduce
/// another machine's decision; throws greenai::Error if it cannot be read.
PrecisionProbe probe_precision(const hardware::Hardware& here, int threads = 0,
                               bool refresh = false);

/// The decision, from the probe alone (no measurement): bf16 when it is accelerated, else fp32.
PrecisionAdvice advise_precision(const PrecisionProbe& probe);

/// What a training command runs in when asked for a precision by name.
struct PrecisionChoice {
  Precision precision = Precision::kFp32;
  /// One line for the user, or "": what auto chose and why, or the warning for a bf16 that the
  /// probe found slower than fp32 (it runs as asked).
  std::string message;
  /// {"requested", "advice", "probe"} where the probe was consulted (auto, bf16), else null.
  util::Json note;
};

/// Resolves --precision: fp32, bf16, fp16 or auto. auto and bf16 consult `probe` (called only
/// for them): auto takes the faster of fp32 and bf16; bf16 runs as asked, with a warning and the
/// measured ratio where the probe found it slower. Throws greenai::Error on an unknown name.
PrecisionChoice choose_precision(const std::string& asked,
                                 const std::function<PrecisionProbe()>& probe);

}  // namespace greenai::nn
