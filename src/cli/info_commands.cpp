// `greenai sensors`, `greenai co2` and `greenai workload`.
#include <cstdio>
#include <iostream>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/help.h"
#include "cli/tracking_flags.h"
#include "greenai/carbon/intensity.h"
#include "greenai/error.h"
#include "greenai/meter/sensors.h"
#include "greenai/track/workload.h"
#include "greenai/util/json.h"

namespace greenai::cli {
int sensors_command(int argc, char** argv) {
  ParsedArgs args =
      ArgParser("sensors",
                {{"json", false}, {"help", false}, {"cpu-tdp", true}, {"cpu-watts-per-core", true}})
          .parse(argc, argv, 2);
  if (args.has("help")) return print_help({"sensors"});
  meter::SensorSet set = meter::open_sensors(sensor_options(args));
  if (args.has("json")) {
    util::Json list = util::Json::array();
    for (const auto& r : set.report)
      list.push(util::Json::object()
                    .set("sensor", r.sensor)
                    .set("usable", r.usable)
                    .set("detail", r.detail)
                    .set("hint", r.hint));
    std::cout << list.dump() << "\n";
    return 0;
  }
  for (const auto& r : set.report) {
    std::cout << (r.usable ? "[ok]   " : "[no]   ") << r.sensor << ": " << r.detail << "\n";
    if (!r.hint.empty()) std::cout << "       fix: " << r.hint << "\n";
  }
  return 0;
}

int co2_command(int argc, char** argv) {
  ParsedArgs args = ArgParser("co2", {{"kwh", true},
                                      {"intensity", true},
                                      {"country", true},
                                      {"pue", true},
                                      {"list-countries", false},
                                      {"json", false},
                                      {"help", false}})
                        .parse(argc, argv, 2);
  if (args.has("help")) return print_help({"co2"});
  if (args.has("list-countries")) {
    for (const auto& row : carbon::country_table())
      std::printf("%-7s %-3s %8.2f g/kWh  %s\n", std::string(row.code).c_str(),
                  std::string(row.alpha2).c_str(), row.g_per_kwh, std::string(row.name).c_str());
    std::printf("source: %s\n", std::string(carbon::country_table_source()).c_str());
    return 0;
  }
  auto kwh = args.number("kwh");
  if (!kwh) throw UsageError("missing --kwh ENERGY");
  if (*kwh < 0)
    throw Error("cannot compute emissions (--kwh=" + *args.get("kwh") + ")",
                "energy must not be negative");
  double pue = args.number("pue", 1.0);
  if (pue < 1.0)
    throw Error("cannot compute emissions (--pue=" + *args.get("pue") + ")",
                "a PUE is at least 1.0");
  carbon::IntensityRequest request;
  request.g_per_kwh = args.number("intensity");
  request.country = args.get("country");
  carbon::IntensitySource source = carbon::resolve_intensity(request);
  double g_per_kwh = source.average_over(0, 0);
  double kg = carbon::emissions_kg(*kwh, pue, g_per_kwh);
  if (args.has("json")) {
    std::cout << util::Json::object()
                     .set("kwh", *kwh)
                     .set("pue", pue)
                     .set("intensity_g_per_kwh", g_per_kwh)
                     .set("emissions_kg", kg)
                     .set("intensity_source", source.description())
                     .dump()
              << "\n";
  } else {
    std::printf("%.6g kg CO2eq  (%.6g kWh x PUE %.2f x %.2f g/kWh)\nintensity: %s\n", kg, *kwh, pue,
                g_per_kwh, source.description().c_str());
  }
  return 0;
}

int workload_command(int argc, char** argv) {
  ParsedArgs args = ArgParser("workload", {{"seconds", true}, {"products", true}, {"help", false}})
                        .parse(argc, argv, 2);
  if (args.has("help")) return print_help({"workload"});
  const double products = args.number("products", 0);
  if (products < 0) throw UsageError("--seconds and --products must not be negative");
  std::cout
      << track::run_workload({args.number("seconds", 2.0), static_cast<long>(products)}).to_text();
  return 0;
}

}  // namespace greenai::cli
