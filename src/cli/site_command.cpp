// greenai site: a site's buildings, PV and batteries run under a controller and scored as the
// CityLearn Challenge 2022 scored them (library: greenai/site/).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/help.h"
#include "cli/site_args.h"
#include "greenai/error.h"
#include "greenai/report/report.h"
#include "greenai/site/controllers.h"
#include "greenai/util/file.h"
#include "greenai/util/json.h"

namespace greenai::cli {
namespace {

// One line on how an RL agent was trained, from what its file keeps: "trained on DIR, N episodes
// (best E), S s, J J estimated (...)".
std::string site_rl_training_line(const util::Json& training) {
  const auto number = [](const util::Json* j, const char* key) {
    const util::Json* v = j ? j->find(key) : nullptr;
    return v && v->type() == util::Json::Type::kNumber ? v->number() : NAN;
  };
  const auto text = [](const util::Json* j, const char* key) -> std::string {
    const util::Json* v = j ? j->find(key) : nullptr;
    return v && v->type() == util::Json::Type::kString ? v->string() : "?";
  };
  const util::Json* report = training.find("report");
  const util::Json* episodes = report ? report->find("episodes") : nullptr;
  char line[512];
  std::snprintf(line, sizeof line,
                "agent trained on %s: %zu episodes (weights of episode %.0f kept), %.1f s, "
                "%.1f J, %.3g kg CO2eq (energy %s)",
                text(&training, "data").c_str(),
                episodes && episodes->is_array() ? episodes->items().size() : size_t{0},
                number(report, "best_episode"), number(&training, "seconds"),
                number(training.find("energy"), "total_j"),
                number(training.find("energy"), "emissions_kg"),
                text(training.find("provenance"), "energy").c_str());
  return line;
}

// The controller --controller names: rbc, none, mpc, mpc-oracle from the library; rl from the
// agent file --model (through greenai-torch's hooks), its training record into `training`.
std::unique_ptr<site::Controller> site_controller(const ParsedArgs& args, const std::string& name,
                                                  const site::SiteData& data, const SiteRlHooks& rl,
                                                  util::Json& training) {
  if (name != "rl") {
    if (args.has("model")) throw UsageError("--model is for --controller rl");
    site::MpcOptions mpc;
    mpc.horizon_h = static_cast<int>(integer(args, "horizon", 24, 1, 168));
    return site::make_controller(name, &data, mpc);
  }
  const auto model = args.get("model");
  if (!model)
    throw UsageError(
        "--controller rl needs --model FILE (written by greenai site train --controller rl)");
  if (!rl.load)
    throw Error("cannot run the rl controller", "this greenai was built without LibTorch",
                "build with LibTorch (scripts/setup installs libtorch-dev)");
  LoadedSiteAgent agent = rl.load(*model);
  training = std::move(agent.training);
  return std::move(agent.controller);
}

// The KPI table: a row per building and the district's.
void print_scores(const site::SiteData& data, const site::SiteRun& run, const site::Scores& scores,
                  site::BatteryAccounting battery) {
  std::printf(
      "site %s: %zu buildings, %zu hours, controller %s (%.3f s), batteries credited as %s; "
      "KPIs over the same site without batteries (lower is better, 1 = no battery)\n",
      data.source.c_str(), data.buildings.size(), data.hours(), run.controller.c_str(), run.seconds,
      site::to_string(battery));
  std::printf("  %-12s %8s %10s %8s %14s %8s\n", "", "cost", "emissions", "ramping",
              "1-load factor", "score");
  const auto row = [](const std::string& name, const site::Kpis& k) {
    std::printf("  %-12s %8.4f %10.4f %8.4f %14.4f %8.4f\n", name.c_str(), k.cost, k.emissions,
                k.ramping, k.one_minus_load_factor, k.score());
  };
  for (size_t i = 0; i < data.buildings.size(); ++i)
    row(data.buildings[i].name, scores.buildings[i]);
  row("district", scores.district);
}

}  // namespace

site::SiteData load_site(const ParsedArgs& args) {
  const auto dir = args.get("data");
  if (!dir) throw UsageError("missing --data DIR (a CityLearn 2022 phase folder)");
  std::vector<int> buildings;
  if (auto list = args.get("buildings"))
    for (double b : number_list(*list, "--buildings takes building numbers, such as 1,2,3", 1,
                                100000, /*whole=*/true))
      buildings.push_back(static_cast<int>(b));
  site::SiteData data = site::load_citylearn(*dir, buildings);
  if (data.buildings.empty())
    throw Error("cannot run the site (data=" + *dir + ")", "it has no buildings",
                "check schema.json's buildings and --buildings");
  site::set_battery_accounting(
      data, site::parse_battery_accounting(args.get("battery").value_or("citylearn")));
  return data;
}

int site_main(int argc, char** argv, const SiteRlHooks& rl) {
  if (argc < 3 || std::string(argv[2]) == "--help" || std::string(argv[2]) == "-h")
    return print_help({"site"});
  const std::string action = argv[2];
  if (action == "train") {
    if (!rl.train)
      throw Error("cannot run greenai site train", "this greenai was built without LibTorch",
                  "build with LibTorch (scripts/setup installs libtorch-dev)");
    return rl.train(argc, argv);
  }
  if (action != "simulate")
    throw UsageError("unknown site action '" + action +
                     "': use greenai site simulate or greenai site train");
  ParsedArgs args = ArgParser("site simulate", {{"data", true},
                                                {"controller", true},
                                                {"model", true},
                                                {"battery", true},
                                                {"buildings", true},
                                                {"horizon", true},
                                                {"jobs", true},
                                                {"jobs-building", true},
                                                {"svg", true},
                                                {"week", true},
                                                {"json", false},
                                                {"help", false}})
                        .parse(argc, argv, 3);
  if (args.has("help")) return print_help({"site"});
  site::SiteData data = load_site(args);
  const site::BatteryAccounting battery = data.buildings.front().battery.accounting;
  if (auto jobs = args.get("jobs")) {
    data.jobs = site::parse_jobs(util::read_file(*jobs), *jobs, data.hours());
    const int64_t at =
        integer(args, "jobs-building", 1, 1, static_cast<int64_t>(data.buildings.size()));
    data.jobs_building = static_cast<size_t>(at - 1);
  }
  const std::string controller_name = args.get("controller").value_or("rbc");
  util::Json training;  // what the RL agent's file says of its training
  const std::unique_ptr<site::Controller> controller =
      site_controller(args, controller_name, data, rl, training);
  const site::SiteRun base = site::baseline(data);
  const site::SiteRun run = site::simulate(data, *controller);
  const site::Scores scores = site::score(data, run, base);
  if (auto svg = args.get("svg")) {
    const site::DistrictWeek w =
        site::district_week(data, run, base,
                            static_cast<size_t>(integer(
                                args, "week", 1, 1, static_cast<int64_t>(site::weeks_of(data)))));
    const std::vector<report::Line> lines{{"grid net, " + run.controller, w.net_kwh},
                                          {"grid net, no battery", w.baseline_net_kwh},
                                          {"load", w.load_kwh},
                                          {"PV", w.pv_kwh},
                                          {"battery charge", w.charge_kwh}};
    util::write_file_atomic(*svg, report::standalone_svg(report::lines_svg(
                                      lines, "hours of week " + std::to_string(w.week), "kWh")));
  }
  double job_kwh = 0;
  for (double e : run.job_kwh) job_kwh += e;
  if (args.has("json")) {
    util::Json out = scores.to_json(data);
    if (controller_name == "rl") out.set("training", training);
    std::cout << out.set("jobs", static_cast<double>(data.jobs.size()))
                     .set("job_kwh", job_kwh)
                     .set("controller", run.controller)
                     .set("data", data.source)
                     .set("battery", site::to_string(battery))
                     .set("hours", static_cast<double>(data.hours()))
                     .set("seconds", run.seconds)
                     .dump()
              << "\n";
    return 0;
  }
  print_scores(data, run, scores, battery);
  if (!data.jobs.empty())
    std::printf(
        "%zu deferrable jobs (%.1f kWh) in %s, scheduled by %s (the baseline runs them as "
        "soon as released)\n",
        data.jobs.size(), job_kwh, data.buildings[data.jobs_building].name.c_str(),
        run.controller.rfind("mpc", 0) == 0 ? "the MPC" : "release time");
  if (controller_name == "rl") std::printf("%s\n", site_rl_training_line(training).c_str());
  std::printf(
      "score = 1/3 cost + 1/3 emissions + 1/6 ramping + 1/6 (1 - load factor), the "
      "CityLearn Challenge 2022's\n");
  return 0;
}

}  // namespace greenai::cli
