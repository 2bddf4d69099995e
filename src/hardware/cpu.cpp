// CPU detection from /proc/cpuinfo, and the edge runtime's kernel choice.
#include "greenai/hardware/cpu.h"

#include <sys/utsname.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "greenai/edge/greenai_edge.h"
#include "greenai/util/text.h"

namespace greenai::hardware {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// ARM's part numbers (MIDR_EL1.PartNum) of common cores, for implementer 0x41 (Arm Ltd), as
// Linux's arch/arm64/include/asm/cputype.h lists them.
const char* arm_core_name(unsigned part) {
  switch (part) {
    case 0xd03:
      return "Cortex-A53";
    case 0xd04:
      return "Cortex-A35";
    case 0xd05:
      return "Cortex-A55";
    case 0xd07:
      return "Cortex-A57";
    case 0xd08:
      return "Cortex-A72";
    case 0xd09:
      return "Cortex-A73";
    case 0xd0a:
      return "Cortex-A75";
    case 0xd0b:
      return "Cortex-A76";
    case 0xd0c:
      return "Neoverse-N1";
    case 0xd0d:
      return "Cortex-A77";
    case 0xd40:
      return "Neoverse-V1";
    case 0xd41:
      return "Cortex-A78";
    case 0xd46:
      return "Cortex-A510";
    case 0xd47:
      return "Cortex-A710";
    case 0xd49:
      return "Neoverse-N2";
    case 0xd4f:
      return "Neoverse-V2";
    default:
      return nullptr;
  }
}

// FNV-1a, 64 bits.
uint64_t fnv1a(std::string_view text) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ULL;
  return h;
}

}  // namespace

const char* const kIsaCaps[3] = {"ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA", "OPENBLAS_CORETYPE"};

bool CpuInfo::has(std::string_view feature) const {
  return std::find(features.begin(), features.end(), feature) != features.end();
}

const std::vector<std::string>& relevant_features(std::string_view architecture) {
  static const std::vector<std::string> x86{"avx2",        "fma",         "avx512f",  "avx512bw",
                                            "avx512vl",    "avx512_vnni", "avx_vnni", "avx512_bf16",
                                            "avx512_fp16", "amx_tile",    "amx_bf16", "amx_int8"};
  static const std::vector<std::string> arm64{"asimd",   "asimddp", "i8mm", "bf16",
                                              "asimdhp", "sve",     "sve2"};
  static const std::vector<std::string> none;
  if (architecture == "x86_64") return x86;
  if (architecture == "aarch64") return arm64;
  return none;
}

CpuInfo parse_cpuinfo(std::string_view text, std::string_view architecture) {
  CpuInfo cpu;
  cpu.architecture = std::string(architecture);
  std::set<std::string, std::less<>> present;
  bool have_flags = false;
  std::string implementer, part;
  while (!text.empty()) {
    const size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view key = trim(line.substr(0, colon));
    const std::string_view value = trim(line.substr(colon + 1));
    if (key == "processor") ++cpu.logical_cpus;
    if (key == "model name" && cpu.model.empty()) cpu.model = std::string(value);
    if (key == "CPU implementer" && implementer.empty()) implementer = std::string(value);
    if (key == "CPU part" && part.empty()) part = std::string(value);
    // The first processor's flags stand for all (Linux lists the same set for each).
    if ((key == "flags" || key == "Features") && !have_flags) {
      have_flags = true;
      std::istringstream words{std::string(value)};
      for (std::string word; words >> word;) present.insert(word);
    }
  }
  if (cpu.model.empty() && !part.empty()) {
    const unsigned part_number = static_cast<unsigned>(std::strtoul(part.c_str(), nullptr, 16));
    const char* name = implementer == "0x41" ? arm_core_name(part_number) : nullptr;
    cpu.model = name ? name : "implementer " + implementer + " part " + part;
  }
  for (const std::string& f : relevant_features(architecture))
    (present.count(f) ? cpu.features : cpu.missing).push_back(f);
  return cpu;
}

util::Json Hardware::to_json() const {
  util::Json features = util::Json::array(), missing_features = util::Json::array(),
             runnable = util::Json::array();
  for (const auto& f : cpu.features) features.push(f);
  for (const auto& f : cpu.missing) missing_features.push(f);
  for (const auto& k : edge.runnable) runnable.push(k);
  util::Json capped = util::Json::object();
  for (const auto& [name, value] : caps) capped.set(name, value);
  return util::Json::object()
      .set("architecture", cpu.architecture)
      .set("cpu_model", cpu.model)
      .set("logical_cpus", cpu.logical_cpus)
      .set("features", features)
      .set("missing_features", missing_features)
      .set("edge_kernels", edge.selected)
      .set("edge_kernels_runnable", runnable)
      .set("caps", capped);
}

std::string Hardware::summary() const {
  std::string text =
      (cpu.model.empty() ? std::string("unknown CPU") : cpu.model) + " (" + cpu.architecture + ";";
  for (const auto& f : cpu.features) text += " " + f;
  if (cpu.features.empty()) text += " none of the features GreenAI's kernels use";
  text += "; edge kernels " + (edge.selected.empty() ? "?" : edge.selected);
  if (!caps.empty()) {
    text += "; capped:";
    for (const auto& [name, value] : caps) text += " " + name + "=" + value;
  }
  return text + ")";
}

std::string Hardware::to_text() const {
  auto joined = [](const std::vector<std::string>& words, const char* separator) {
    std::string text;
    for (const auto& w : words) text += (text.empty() ? "" : separator) + w;
    return text.empty() ? std::string("none") : text;
  };
  std::string text;
  util::appendf(text, "cpu:           %s (%s, %d logical CPUs)\n", cpu.model.c_str(),
                cpu.architecture.c_str(), cpu.logical_cpus);
  util::appendf(text, "features:      %s\n", joined(cpu.features, " ").c_str());
  util::appendf(text, "missing:       %s\n", joined(cpu.missing, " ").c_str());
  util::appendf(text, "edge kernels:  %s (this CPU runs: %s)\n",
                edge.selected.empty() ? "none: GREENAI_EDGE_KERNELS names a set it cannot run"
                                      : edge.selected.c_str(),
                joined(edge.runnable, ", ").c_str());
  std::vector<std::string> capped;
  for (const auto& [name, value] : caps) capped.push_back(name + "=" + value);
  if (!capped.empty()) util::appendf(text, "capped by:     %s\n", joined(capped, " ").c_str());
  return text;
}

std::string Hardware::key() const {
  std::string identity = cpu.architecture + "|" + cpu.model;
  for (const auto& f : cpu.features) identity += "|" + f;
  identity += "|edge:" + edge.selected;
  for (const auto& [name, value] : caps) identity += "|" + name + "=" + value;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(fnv1a(identity)));
  return hex;
}

Hardware detect() {
  const char* root = std::getenv("GREENAI_PROC_ROOT");
  std::ifstream file(std::string(root && *root ? root : "/proc") + "/cpuinfo");
  std::ostringstream text;
  text << file.rdbuf();
  struct utsname name {};
  const std::string machine = ::uname(&name) == 0 ? name.machine : "";
  Hardware here;
  here.cpu = parse_cpuinfo(text.str(), machine);
  here.edge.selected = greenai_edge_selected_kernels();
  for (const char* cap : {"GREENAI_EDGE_KERNELS", kIsaCaps[0], kIsaCaps[1], kIsaCaps[2]})
    if (const char* value = std::getenv(cap); value && *value) here.caps.emplace_back(cap, value);
  char names[256];
  greenai_edge_runnable_kernels(names, sizeof names);
  std::string_view rest = names;
  while (!rest.empty()) {
    const size_t comma = rest.find(", ");
    here.edge.runnable.emplace_back(rest.substr(0, comma));
    rest.remove_prefix(comma == std::string_view::npos ? rest.size() : comma + 2);
  }
  return here;
}

}  // namespace greenai::hardware
