// greenai fl: federated learning over Fashion-MNIST with random or carbon-aware client selection,
// each client's energy metered and its carbon at its own grid's intensity (library:
// greenai/fl/federated.h). greenai-torch only.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <optional>
#include <sstream>
#include <thread>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/help.h"
#include "cli/torch_common.h"
#include "cli/tracking_flags.h"
#include "greenai/dist/process_group.h"
#include "greenai/dist/store.h"
#include "greenai/error.h"
#include "greenai/fl/federated.h"
#include "greenai/fl/remote.h"
#include "greenai/grid/forecast.h"
#include "greenai/report/report.h"
#include "greenai/util/file.h"

namespace greenai::cli {
namespace {

// The intensity column of a series file: --column, else the first of g_per_kwh,
// carbon_intensity, avg_CI (EIA's grids) the header names, else the second column.
std::string intensity_column(const std::string& path, const std::string& asked) {
  if (!asked.empty()) return asked;
  const std::string text = util::read_file(path);
  const std::string header = text.substr(0, text.find('\n'));
  for (const char* name : {"g_per_kwh", "carbon_intensity", "avg_CI"}) {
    std::istringstream fields(header);
    for (std::string f; std::getline(fields, f, ',');)
      if (f == name) return name;
  }
  return "";
}

std::vector<fl::Grid> load_grids(const ParsedArgs& args) {
  const auto list = args.get("intensity-series");
  if (!list)
    throw UsageError(
        "missing --intensity-series F1,F2,... (hourly carbon intensity per grid, such as the EIA "
        "2022 grids of ../shared/data/grid/eia2022/)");
  std::vector<fl::Grid> grids;
  std::istringstream files(*list);
  for (std::string path; std::getline(files, path, ',');) {
    const carbon::Series s =
        grid::load_series(path, intensity_column(path, args.get("column").value_or("")),
                          static_cast<int>(integer(args, "max-fill", 3, 0, 168)));
    if (s.step_s != 3600)
      throw Error("cannot use the series (file=" + path + ")", "it is not hourly",
                  "give hourly carbon intensity");
    std::string name = path.substr(path.find_last_of('/') + 1);
    grids.push_back({name.substr(0, name.rfind('.')), s.values});
  }
  return grids;
}

// `greenai fl client --server HOST:PORT --client K`: one client process.
int fl_client_command(int argc, char** argv) {
  ParsedArgs args =
      ArgParser(
          "fl client",
          common_specs({{"server", true}, {"client", true}, {"hidden", true}, {"timeout", true}}))
          .parse(argc, argv, 3);
  if (args.has("help")) return print_help({"fl", "common", "tracking"});
  const auto server = args.get("server");
  if (!server) throw UsageError("missing --server HOST:PORT (where `greenai fl --listen` runs)");
  const auto [addr, port] = fl::parse_address(*server);
  const int id = static_cast<int>(integer(args, "client", -1, 0, 9999));
  if (id < 0) throw UsageError("missing --client K (this client's number, from 0)");
  fl::ClientOptions o;
  o.hidden = integer(args, "hidden", 0, 0);
  o.timeout_s = args.number("timeout", o.timeout_s);
  configure_threads(args);
  const nn::Dataset train = load_data(args).train;
  auto tracker = tracker_for_this_process(args);
  tracker->start();
  const bool quiet = args.has("quiet");
  const fl::ClientSummary s = fl::serve_client(addr, port, id, train, o, *tracker, [&](int round) {
    if (!quiet) std::fprintf(stderr, "client %d: round %d\n", id, round);
  });
  tracker->stop();
  if (!quiet)
    std::printf("client %d: %d rounds on %lld examples, %.2f J (%s)\n", id, s.rounds,
                static_cast<long long>(s.samples), s.energy_j,
                tracker->info().provenance().c_str());
  return 0;
}

// The federated options from the command's flags (FlOptions' defaults where not given).
fl::FlOptions fl_options(const ParsedArgs& args) {
  fl::FlOptions o;
  o.clients = static_cast<int>(integer(args, "clients", o.clients, 1, 10000));
  o.per_round = static_cast<int>(integer(args, "per-round", o.per_round, 1, o.clients));
  o.rounds = static_cast<int>(integer(args, "rounds", o.rounds, 1, 100000));
  o.local_epochs = static_cast<int>(integer(args, "local-epochs", o.local_epochs, 1, 1000));
  o.alpha = args.number("alpha", o.alpha);
  o.max_defer_h = static_cast<int>(integer(args, "max-defer", o.max_defer_h, 0, 168));
  o.online_hours = static_cast<int>(integer(args, "online-hours", o.online_hours, 1, 24));
  o.start_hour = static_cast<size_t>(integer(args, "start-hour", 0, 0));
  o.seed = static_cast<uint64_t>(integer(args, "seed", 0, 0));
  return o;
}

// The cumulative emissions and the test accuracy, round by round, as an SVG chart.
void write_chart(const std::string& path, const fl::FlReport& r) {
  std::vector<report::Line> lines{{"cumulative emissions, mg CO2eq", {}}, {"test accuracy, %", {}}};
  double cumulative = 0;
  for (const auto& round : r.rounds) {
    cumulative += round.emissions_kg;
    lines[0].y.push_back(cumulative * 1e6);
    lines[1].y.push_back(100 * round.accuracy);
  }
  util::write_file_atomic(path, report::standalone_svg(report::lines_svg(lines, "round", "")));
}

// Client K's command line for --processes: `greenai fl client` with this command's data flags,
// the machine's threads shared among the clients of a round.
std::vector<std::string> local_client_argv(const ParsedArgs& args, int port, const fl::FlOptions& o,
                                           int client) {
  const int threads =
      std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / o.per_round);
  std::vector<std::string> argv{"/proc/self/exe",
                                "fl",
                                "client",
                                "--server",
                                "127.0.0.1:" + std::to_string(port),
                                "--client",
                                std::to_string(client),
                                "--threads",
                                std::to_string(threads),
                                "--quiet"};
  for (const char* flag : {"data", "limit-train"})
    if (auto v = args.get(flag)) argv.insert(argv.end(), {std::string("--") + flag, *v});
  return argv;
}

}  // namespace

int fl_command(int argc, char** argv) {
  if (argc > 2 && std::string(argv[2]) == "client") return fl_client_command(argc, argv);
  ParsedArgs args = ArgParser("fl", common_specs({{"clients", true},
                                                  {"per-round", true},
                                                  {"selection", true},
                                                  {"intensity-series", true},
                                                  {"column", true},
                                                  {"max-fill", true},
                                                  {"rounds", true},
                                                  {"local-epochs", true},
                                                  {"alpha", true},
                                                  {"max-defer", true},
                                                  {"start-hour", true},
                                                  {"online-hours", true},
                                                  {"svg", true},
                                                  {"processes", false},
                                                  {"listen", true},
                                                  {"join-timeout", true},
                                                  {"client-timeout", true}}))
                        .parse(argc, argv, 2);
  if (args.has("help")) return print_help({"fl", "common", "tracking"});
  const fl::FlOptions o = fl_options(args);
  const fl::Selection selection =
      fl::parse_selection(args.get("selection").value_or("carbon-aware"));
  const std::vector<fl::Grid> grids = load_grids(args);
  configure_threads(args);
  // Client processes load their own training data.
  const jobs::TrainData data =
      load_data(args, /*need_train=*/!args.has("processes") && !args.has("listen"));
  // --intensity-series is the clients' grids here, not the tracker's: the clients' carbon is
  // computed per grid; the tracker keeps its own intensity (--intensity, --country) for the
  // provenance of the run.
  ParsedArgs tracking = args;
  tracking.values.erase("intensity-series");
  auto tracker = tracker_for_this_process(tracking);
  tracker->start();
  const bool json = args.has("json");
  const auto on_round = [&](const fl::RoundReport& round) {
    if (json || args.has("quiet")) return;
    std::fprintf(stderr, "  round %3d  hour %5zu (deferred %2d h)  clients", round.round,
                 round.hour, round.deferred_h);
    for (const auto& c : round.clients) std::fprintf(stderr, " %d", c.client);
    std::fprintf(stderr, "  accuracy %.2f %%  %.2e kg\n", 100 * round.accuracy, round.emissions_kg);
    for (const auto& d : round.dropped)
      std::fprintf(stderr, "    client %d left out of round %d: %s\n", d.client, round.round,
                   d.reason.c_str());
  };
  // In this process (the default), or client processes over c10d's store: started here
  // (--processes) or anywhere that reaches --listen's port.
  const bool processes = args.has("processes");
  const auto listen = args.get("listen");
  if (processes && listen) throw UsageError("give --processes or --listen PORT, not both");
  fl::FlReport r;
  if (processes || listen) {
    const int port = listen ? static_cast<int>(integer(args, "listen", 0, 1, 65535))
                            : dist::free_loopback_port();
    fl::RemoteOptions remote;
    remote.join_timeout_s = args.number("join-timeout", listen ? 600.0 : 120.0);
    remote.silence_timeout_s = args.number("client-timeout", remote.silence_timeout_s);
    auto store = dist::Store::host(port, remote.join_timeout_s);
    if (listen && !json)
      std::fprintf(stderr,
                   "waiting for %d clients: greenai fl client --server HOST:%d --client K "
                   "(K = 0..%d)\n",
                   o.clients, port, o.clients - 1);
    std::optional<fl::LocalClientProcesses> local;
    if (processes) {
      local.emplace(o.clients, [&](int c) { return local_client_argv(args, port, o, c); });
      remote.gone = [&local](int c) { return local->gone(c); };
    }
    r = fl::run_federated(*store, data.test, grids, o, selection, remote, on_round);
    if (local) {
      for (std::string& note : local->wait()) r.notes.push_back(std::move(note));
      r.transport += ", local client processes";
    } else {
      r.transport += ", remote clients";
    }
  } else {
    r = fl::run_federated(data.train, data.test, grids, o, selection, *tracker, on_round);
  }
  tracker->stop();
  if (auto svg = args.get("svg")) write_chart(*svg, r);
  if (json) {
    std::cout << r.to_json()
                     .set("command", "fl")
                     .set("options", o.to_json())
                     .set("provenance_detail", provenance_json(*tracker))
                     .dump()
              << "\n";
    return 0;
  }
  std::printf(
      "federated learning, %d clients (Dirichlet alpha %.2f), %d per round, %d rounds, %s "
      "selection: test accuracy %.2f %%, %.1f J, %.3g kg CO2eq (energy %s; carbon at each "
      "client's grid in the round's hour)\n",
      o.clients, o.alpha, o.per_round, o.rounds, fl::to_string(selection), 100 * r.accuracy,
      r.energy_j, r.emissions_kg, r.provenance.c_str());
  for (const std::string& note : r.notes) std::printf("  note: %s\n", note.c_str());
  for (size_t c = 0; c < r.client_energy_j.size(); ++c)
    std::printf("  client %2zu (%s): %.2f J, %.3g kg\n", c, grids[c % grids.size()].name.c_str(),
                r.client_energy_j[c], r.client_emissions_kg[c]);
  return 0;
}

}  // namespace greenai::cli
