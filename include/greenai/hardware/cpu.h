// What the CPU offers that GreenAI's kernels and LibTorch's training use: the model, the ISA
// features that decide speed here (x86: AVX2, FMA, AVX-512, VNNI, BF16, AMX; ARM64: NEON, dot
// product, i8mm, BF16, SVE), and the edge runtime's kernel set. Every figure GreenAI writes
// (results.json, eval and bench JSON, the report) carries this next to it, because the same
// technique can save energy on one CPU and cost energy on another.
//
//   greenai::hardware::Hardware here = greenai::hardware::detect();
//   if (!here.cpu.has("avx512_bf16")) ...;
//   std::string json = here.to_json().dump();
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "greenai/util/json.h"

namespace greenai::hardware {

/// The CPU, as /proc/cpuinfo describes it.
struct CpuInfo {
  std::string architecture;           ///< "x86_64", "aarch64", ... (uname's machine)
  std::string model;                  ///< "AMD EPYC 9R14 96-Core Processor", "Cortex-A76", ...
  int logical_cpus = 0;               ///< processors listed
  std::vector<std::string> features;  ///< the relevant features present, in relevant_features order
  std::vector<std::string> missing;   ///< the relevant features absent

  /// Whether `feature` (spelled as /proc/cpuinfo spells it) is present.
  bool has(std::string_view feature) const;
};

/// The features looked for on `architecture`, spelled as Linux's /proc/cpuinfo spells them.
const std::vector<std::string>& relevant_features(std::string_view architecture);

/// Parses the text of /proc/cpuinfo: x86's `model name` and `flags`, ARM64's `Features`,
/// `CPU implementer` and `CPU part` (named from a table of common cores, else given in hex).
/// Never throws: what is missing stays empty.
CpuInfo parse_cpuinfo(std::string_view text, std::string_view architecture);

/// The edge runtime's kernel sets on this CPU.
struct EdgeKernels {
  std::string selected;               ///< what a model loaded now runs on ("" if
                                      ///< GREENAI_EDGE_KERNELS names a set this CPU cannot run)
  std::vector<std::string> runnable;  ///< every set this CPU runs, best first, "reference" last
};

/// This machine: the CPU and the edge kernels.
struct Hardware {
  CpuInfo cpu;
  EdgeKernels edge;
  /// The environment's caps on what runs (GREENAI_EDGE_KERNELS and kIsaCaps), name and value,
  /// for those set: with them an AVX-512 machine stands in for an AVX2-only one, and every
  /// figure measured so must say it.
  std::vector<std::pair<std::string, std::string>> caps;

  /// {"architecture", "cpu_model", "logical_cpus", "features", "missing_features",
  ///  "edge_kernels", "edge_kernels_runnable", "caps"}: what results files record.
  util::Json to_json() const;
  /// "AMD EPYC 9R14 (x86_64; avx2 fma avx512f ...; edge kernels avx512-vnni)", and
  /// "; capped: ONEDNN_MAX_CPU_ISA=AVX2 ..." when caps are set.
  std::string summary() const;
  /// Lines for people, as `greenai hardware` prints them: cpu, features, missing, edge kernels
  /// (and those runnable), caps.
  std::string to_text() const;
  /// A short, stable key of what decides measured speed here (model, architecture, features,
  /// the edge kernel set, and the caps): the name under which per-CPU measurements are cached.
  /// 16 hex digits.
  std::string key() const;
};

/// Environment variables that cap the ISA LibTorch's libraries use (oneDNN, OpenBLAS): part of
/// Hardware::key(), since they change what is measured.
extern const char* const kIsaCaps[3];

/// Reads /proc/cpuinfo (or GREENAI_PROC_ROOT/cpuinfo) and asks the edge runtime.
Hardware detect();

}  // namespace greenai::hardware
