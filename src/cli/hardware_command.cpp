// `greenai hardware`: what this CPU offers, the edge kernels that run on it, and whether reduced
// precision pays for training here (the precision probe).

#include <iostream>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/help.h"
#include "cli/torch_common.h"
#include "greenai/hardware/cpu.h"
#include "greenai/nn/precision_probe.h"
#include "greenai/util/json.h"

namespace greenai::cli {
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
  std::cout << here.to_text() << probe.to_text();
  return 0;
}

}  // namespace greenai::cli
