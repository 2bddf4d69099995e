// greenai site train --controller rl: the site's RL agents trained on LibTorch with their energy
// metered (library: greenai/site/rl.h); and the loader `greenai site simulate --controller rl`
// uses. greenai-torch only.
#include <torch/torch.h>

#include <cstdio>
#include <iostream>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/help.h"
#include "cli/site_args.h"
#include "cli/torch_common.h"
#include "cli/tracking_flags.h"
#include "greenai/error.h"
#include "greenai/site/rl.h"

namespace greenai::cli {

LoadedSiteAgent load_site_rl(const std::string& path) {
  auto agent = site::RlController::load(path);
  util::Json training = agent->training();
  return {std::move(agent), std::move(training)};
}

int site_train_command(int argc, char** argv) {
  std::vector<OptionSpec> specs{{"data", true},    {"controller", true}, {"buildings", true},
                                {"battery", true}, {"episodes", true},   {"seed", true},
                                {"hidden", true},  {"gamma", true},      {"out", true},
                                {"threads", true}, {"json", false},      {"help", false}};
  for (auto s : tracking_option_specs(/*json_is_log=*/false)) specs.push_back(s);
  ParsedArgs args = ArgParser("site train", specs).parse(argc, argv, 3);
  if (args.has("help")) return print_help({"site"});
  const std::string controller = args.get("controller").value_or("rl");
  if (controller != "rl")
    throw UsageError("greenai site train trains --controller rl (rbc and mpc need no training)");
  site::RlOptions options;
  options.episodes = static_cast<int>(integer(args, "episodes", options.episodes, 1, 10000));
  options.seed = static_cast<uint64_t>(integer(args, "seed", 0, 0));
  options.gamma = args.number("gamma", options.gamma);
  if (!(options.gamma >= 0 && options.gamma < 1)) throw UsageError("--gamma takes 0 to 0.999");
  if (auto hidden = args.get("hidden")) {
    options.hidden.clear();
    for (double w : number_list(*hidden, "--hidden takes layer widths, such as 128,128", 1, 65536,
                                /*whole=*/true))
      options.hidden.push_back(static_cast<int64_t>(w));
  }
  // One thread by default: the network is small, and more threads only wait on each other
  // (and slow to a crawl on a loaded machine, spinning in OpenMP).
  if (args.has("threads"))
    configure_threads(args);
  else
    torch::set_num_threads(1);
  const std::string out = args.get("out").value_or("site_agent.pt");
  const site::SiteData data = load_site(args);
  auto tracker = tracker_for_this_process(args);
  tracker->start();
  const bool json = args.has("json");
  const site::RlTraining t =
      site::train_rl_tracked(data, options, *tracker, [&](const site::RlEpisode& e) {
        if (!json)
          std::printf("  episode %3d  epsilon %.3f  greedy score %.4f  (%.1f s)\n", e.episode,
                      e.epsilon, e.score, e.seconds);
        std::fflush(stdout);
      });
  tracker->stop();
  t.controller->save(out);
  if (json) {
    std::cout << t.to_json(options, data.source,
                           site::to_string(data.buildings[0].battery.accounting))
                     .set("command", "site train")
                     .set("out", out)
                     .dump()
              << "\n";
    return 0;
  }
  const site::RlEpisode& best = t.report.episodes[static_cast<size_t>(t.report.best_episode - 1)];
  std::printf(
      "site agent (Double DQN, %zu buildings sharing one network) trained on %s: %d episodes, "
      "%.1f s, %lld updates\n",
      data.buildings.size(), data.source.c_str(), options.episodes, t.seconds,
      static_cast<long long>(t.report.updates));
  std::printf("kept the weights of episode %d: district score %.4f on the training data\n",
              best.episode, best.score);
  std::printf("training energy %.1f J, %.3g kg CO2eq (%s)\n", t.energy.total_j(), t.emissions_kg,
              t.provenance.energy.c_str());
  std::printf("wrote %s (greenai site simulate --controller rl --model %s --data DIR)\n",
              out.c_str(), out.c_str());
  return 0;
}

}  // namespace greenai::cli
