// `greenai hardware`: what this CPU offers, the edge kernels that run on it, and whether reduced
// precision pays for training here (the precision probe).
#include <torch/torch.h>

#include <cstdio>
#include <iostream>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/help.h"
#include "cli/torch_common.h"
#include "greenai/hardware/cpu.h"
#include "greenai/nn/precision_probe.h"
#include "greenai/util/json.h"

namespace greenai::cli {
namespace {

std::string joined(const std::vector<std::string>& words, const char* separator) {
  std::string text;
  for (const auto& w : words) text += (text.empty() ? "" : separator) + w;
  return text.empty() ? "none" : text;
}

}  // namespace

int hardware_command(int argc, char** argv) {
  ParsedArgs args =
      ArgParser("hardware",
                {{"json", false}, {"refresh", false}, {"threads", true}, {"help", false}})
          .parse(argc, argv, 2);
  if (args.has("help")) return print_help({"hardware"});
  if (!args.positionals.empty()) throw UsageError("hardware takes no positional arguments");
  configure_threads(args);
  const hardware::Hardware here = hardware::detect();
  const nn::PrecisionProbe probe = nn::probe_precision(here, 0, args.has("refresh"));
  const nn::PrecisionAdvice advice = nn::advise_precision(probe);
  if (args.has("json")) {
    std::cout << util::Json::object()
                     .set("hardware", here.to_json())
                     .set("precision_probe", probe.to_json())
                     .set("precision_advice", advice.to_json())
                     .dump(2)
              << "\n";
    return 0;
  }
  std::printf("cpu:           %s (%s, %d logical CPUs)\n", here.cpu.model.c_str(),
              here.cpu.architecture.c_str(), here.cpu.logical_cpus);
  std::printf("features:      %s\n", joined(here.cpu.features, " ").c_str());
  std::printf("missing:       %s\n", joined(here.cpu.missing, " ").c_str());
  std::printf("edge kernels:  %s (this CPU runs: %s)\n",
              here.edge.selected.empty() ? "none: GREENAI_EDGE_KERNELS names a set it cannot run"
                                         : here.edge.selected.c_str(),
              joined(here.edge.runnable, ", ").c_str());
  std::vector<std::string> caps;
  for (const auto& [name, value] : here.caps) caps.push_back(name + "=" + value);
  if (!caps.empty()) std::printf("capped by:     %s\n", joined(caps, " ").c_str());
  char bf16[64] = "did not run";
  if (probe.bf16_step_s > 0) std::snprintf(bf16, sizeof bf16, "%.3g ms", probe.bf16_step_s * 1e3);
  std::printf("training:      LibTorch %s, %d thread(s): one step fp32 %.3g ms, bf16 %s (%s)\n",
              probe.torch_version.c_str(), probe.threads, probe.fp32_step_s * 1e3, bf16,
              probe.source.c_str());
  std::printf("               %s\n", advice.reason.c_str());
  std::printf("               fp16: %s\n",
              probe.fp16_error.empty() ? "runs" : probe.fp16_error.c_str());
  std::printf("precision:     --precision auto trains in %s\n", nn::to_string(advice.fastest));
  return 0;
}

}  // namespace greenai::cli
