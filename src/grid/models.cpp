#include "greenai/grid/models.h"

#include <algorithm>
#include <cmath>

#include "greenai/error.h"

namespace greenai::grid {

std::pair<int, int> default_seasons(const Series& series) {
  const int day = std::max(1, static_cast<int>(std::lround(86400 / series.step_s)));
  return {day, 7 * day};
}

LstmAnchor parse_anchor(const std::string& name) {
  if (name == "week") return LstmAnchor::kWeek;
  if (name == "day") return LstmAnchor::kDay;
  if (name == "none") return LstmAnchor::kNone;
  throw Error("cannot read the LSTM's anchor (--lstm-anchor=" + name + ")", "unknown anchor",
              "use week, day or none");
}

std::vector<std::unique_ptr<Forecaster>> make_forecasters(const ModelChoice& choice,
                                                          const Series& series, int horizon,
                                                          const LstmFactory& lstm,
                                                          std::vector<std::string>& skipped) {
  const auto [m1, m2] = choice.seasons;
  const std::string& which = choice.which;
  std::vector<std::unique_ptr<Forecaster>> models;
  for (auto& m : baseline_models(m1, m2))
    if (which == "all" || m->name() == which ||
        (which == "seasonal-naive" && m->name().rfind("seasonal-naive", 0) == 0))
      models.push_back(std::move(m));
  if (which == "all" || which == "lstm") {
    if (!lstm) {
      if (which == "lstm")
        throw Error("cannot forecast (--model=lstm)", "this greenai was built without LibTorch",
                    "install libtorch-dev (scripts/setup) and build with GREENAI_WITH_TORCH=ON");
      skipped.push_back("lstm: this greenai was built without LibTorch");
    } else {
      LstmOptions o = choice.lstm;
      o.horizon = horizon;
      o.start_unix_s = series.times.front();
      o.step_s = series.step_s;
      o.anchor_period = choice.anchor == LstmAnchor::kWeek  ? m2
                        : choice.anchor == LstmAnchor::kDay ? m1
                                                            : 0;
      models.push_back(lstm(o));
    }
  }
  if (models.empty())
    throw Error("cannot forecast (--model=" + which + ")", "unknown model",
                "use naive, seasonal-naive, seasonal-naive-" + std::to_string(m1) +
                    ", holt-winters, lstm or all");
  return models;
}

}  // namespace greenai::grid
