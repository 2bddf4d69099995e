// greenai site: a site's buildings, PV and batteries run under a controller and scored as the
// CityLearn Challenge 2022 scored them (library: greenai/site/).
#include <cstdio>
#include <iostream>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/help.h"
#include "greenai/error.h"
#include "greenai/site/controllers.h"
#include "greenai/util/json.h"

namespace greenai::cli {

int site_command(int argc, char** argv) {
  if (argc < 3 || std::string(argv[2]) == "--help" || std::string(argv[2]) == "-h")
    return print_help({"site"});
  const std::string action = argv[2];
  if (action != "simulate")
    throw UsageError("unknown site action '" + action + "': use greenai site simulate");
  ParsedArgs args = ArgParser("site simulate", {{"data", true},
                                                {"controller", true},
                                                {"buildings", true},
                                                {"horizon", true},
                                                {"json", false},
                                                {"help", false}})
                        .parse(argc, argv, 3);
  if (args.has("help")) return print_help({"site"});
  const auto dir = args.get("data");
  if (!dir) throw UsageError("missing --data DIR (a CityLearn 2022 phase folder)");
  std::vector<int> buildings;
  if (auto list = args.get("buildings"))
    for (double b : number_list(*list, "--buildings takes building numbers, such as 1,2,3", 1,
                                100000, /*whole=*/true))
      buildings.push_back(static_cast<int>(b));
  const site::SiteData data = site::load_citylearn(*dir, buildings);
  site::MpcOptions mpc;
  mpc.horizon_h = static_cast<int>(integer(args, "horizon", 24, 1, 168));
  auto controller = site::make_controller(args.get("controller").value_or("rbc"), &data, mpc);
  const site::SiteRun base = site::baseline(data);
  const site::SiteRun run = site::simulate(data, *controller);
  const site::Scores scores = site::score(data, run, base);
  if (args.has("json")) {
    std::cout << scores.to_json(data)
                     .set("controller", run.controller)
                     .set("data", data.source)
                     .set("hours", static_cast<double>(data.hours()))
                     .set("seconds", run.seconds)
                     .dump()
              << "\n";
    return 0;
  }
  std::printf(
      "site %s: %zu buildings, %zu hours, controller %s (%.3f s); KPIs over the same site "
      "without batteries (lower is better, 1 = no battery)\n",
      data.source.c_str(), data.buildings.size(), data.hours(), run.controller.c_str(),
      run.seconds);
  std::printf("  %-12s %8s %10s %8s %14s %8s\n", "", "cost", "emissions", "ramping",
              "1-load factor", "score");
  const auto row = [](const std::string& name, const site::Kpis& k) {
    std::printf("  %-12s %8.4f %10.4f %8.4f %14.4f %8.4f\n", name.c_str(), k.cost, k.emissions,
                k.ramping, k.one_minus_load_factor, k.score());
  };
  for (size_t i = 0; i < data.buildings.size(); ++i)
    row(data.buildings[i].name, scores.buildings[i]);
  row("district", scores.district);
  std::printf(
      "score = 1/3 cost + 1/3 emissions + 1/6 ramping + 1/6 (1 - load factor), the "
      "CityLearn Challenge 2022's\n");
  return 0;
}

}  // namespace greenai::cli
