// The site's controllers (controllers.h).
#include "greenai/site/controllers.h"

#include <algorithm>

#include "greenai/error.h"

namespace greenai::site {

void RuleBasedController::act(const SiteState& state, std::span<double> actions) {
  for (size_t i = 0; i < actions.size(); ++i) {
    const int hour = state.data->buildings[i].hour[state.t];  // 1..24
    actions[i] = hour >= 6 && hour <= 14 ? 0.11 : -0.067;
  }
}

void NoController::act(const SiteState&, std::span<double> actions) {
  std::fill(actions.begin(), actions.end(), 0.0);
}

std::unique_ptr<Controller> make_controller(const std::string& name, const SiteData* data,
                                            MpcOptions mpc) {
  if (name == "rbc") return std::make_unique<RuleBasedController>();
  if (name == "none") return std::make_unique<NoController>();
  if ((name == "mpc" || name == "mpc-oracle") && data) {
    mpc.oracle = name == "mpc-oracle";
    return std::make_unique<MpcController>(*data, mpc);
  }
  throw Error("cannot run the site (controller=" + name + ")", "no such controller",
              "use rbc, mpc, mpc-oracle, none, or rl with a trained agent (greenai site train)");
}

}  // namespace greenai::site
