// `greenai schedule`: when to run a job so that it emits the least (grid module).
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>

#include "cli/args.h"
#include "cli/commands.h"
#include "greenai/carbon/intensity.h"
#include "greenai/error.h"
#include "greenai/grid/schedule.h"
#include "greenai/util/json.h"

namespace greenai::cli {
namespace {

using util::Json;

std::string iso_utc(double unix_s) {
  const auto t = static_cast<std::time_t>(unix_s);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return text;
}

// "300W", "1.5kW" or plain watts.
double parse_power(const std::string& text) {
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  const std::string unit = end ? std::string(end) : "";
  const double scale = unit.empty() || unit == "W" ? 1 : unit == "kW" ? 1000 : 0;
  if (end == text.c_str() || scale == 0 || !(value > 0) || !std::isfinite(value))
    throw Error("cannot read power (--power=" + text + ")", "not a positive power",
                "write it as 300W or 1.5kW");
  return value * scale;
}

const char* kScheduleHelp =
    "usage: greenai schedule --intensity-series FILE --duration D [--window W] [--now TIME]\n"
    "                        [--interruptible] [--power P] [--json]\n\n"
    "When to run a job of length D (90m, 3h, ...) within the window W after TIME (default 24h\n"
    "after now) so that it emits the least: the start whose run has the least mean carbon\n"
    "intensity (for --interruptible jobs, the cleanest stretches that add up to D), the mean\n"
    "against starting at once, and with --power the kg CO2eq of both. FILE is a series of\n"
    "`timestamp,g_per_kwh` (or an Electricity Maps CSV export), history to replay (give --now,\n"
    "ISO 8601 or Unix seconds) or a forecast; it must cover the window.\n";

}  // namespace

int schedule_command(int argc, char** argv) {
  ParsedArgs args = ArgParser("schedule", {{"intensity-series", true},
                                           {"duration", true},
                                           {"window", true},
                                           {"now", true},
                                           {"interruptible", false},
                                           {"power", true},
                                           {"json", false},
                                           {"help", false}})
                        .parse(argc, argv, 2);
  if (args.has("help")) {
    std::cout << kScheduleHelp;
    return 0;
  }
  auto path = args.get("intensity-series");
  if (!path) throw UsageError("missing --intensity-series FILE");
  auto duration_text = args.get("duration");
  if (!duration_text) throw UsageError("missing --duration (such as 3h)");
  grid::ScheduleRequest request;
  request.duration_s = grid::parse_duration(*duration_text, "--duration");
  request.window_s = grid::parse_duration(args.get("window").value_or("24h"), "--window");
  request.interruptible = args.has("interruptible");
  request.now = static_cast<double>(std::time(nullptr));
  if (auto now = args.get("now")) {
    auto t = carbon::parse_timestamp(*now);
    if (!t)
      throw Error("cannot read time (--now=" + *now + ")", "not a timestamp",
                  "use ISO 8601 (2022-07-01T06:00:00Z) or Unix seconds");
    request.now = *t;
  }
  const double watts = args.get("power") ? parse_power(*args.get("power")) : 0;  // 0: not given
  const carbon::IntensitySeries series = carbon::IntensitySeries::load(*path);
  const grid::Schedule s = grid::best_schedule(series, request);

  const double saving = s.now_mean_g_per_kwh > 0 ? 1 - s.mean_g_per_kwh / s.now_mean_g_per_kwh : 0;
  const double kwh = watts * request.duration_s / carbon::kJoulesPerKwh;
  Json runs = Json::array();
  for (const auto& [start, end] : s.runs)
    runs.push(Json::object().set("start", iso_utc(start)).set("end", iso_utc(end)));
  Json result = Json::object()
                    .set("series", *path)
                    .set("now", iso_utc(request.now))
                    .set("duration_s", request.duration_s)
                    .set("window_s", request.window_s)
                    .set("interruptible", request.interruptible)
                    .set("runs", runs)
                    .set("mean_g_per_kwh", s.mean_g_per_kwh)
                    .set("now_mean_g_per_kwh", s.now_mean_g_per_kwh)
                    .set("saving_fraction", saving);
  if (watts > 0)
    result.set("power_w", watts)
        .set("kg", carbon::emissions_kg(kwh, 1.0, s.mean_g_per_kwh))
        .set("now_kg", carbon::emissions_kg(kwh, 1.0, s.now_mean_g_per_kwh));
  if (args.has("json")) {
    std::cout << result.dump(2) << "\n";
    return 0;
  }
  if (request.interruptible) {
    std::printf("run in %zu stretch(es):\n", s.runs.size());
    for (const auto& [start, end] : s.runs)
      std::printf("  %s to %s\n", iso_utc(start).c_str(), iso_utc(end).c_str());
  } else {
    std::printf("best start: %s (%.1f h after %s), until %s\n", iso_utc(s.runs[0].first).c_str(),
                (s.runs[0].first - request.now) / 3600, iso_utc(request.now).c_str(),
                iso_utc(s.runs[0].second).c_str());
  }
  std::printf(
      "mean intensity %.1f g/kWh, against %.1f g/kWh starting at once: %.1f %% less carbon\n",
      s.mean_g_per_kwh, s.now_mean_g_per_kwh, 100 * saving);
  if (watts > 0)
    std::printf("at %.0f W: %.4g kg CO2eq instead of %.4g (%.4g kg avoided)\n", watts,
                result.at("kg").number(), result.at("now_kg").number(),
                result.at("now_kg").number() - result.at("kg").number());
  return 0;
}

}  // namespace greenai::cli
