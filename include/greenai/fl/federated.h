// Federated learning with carbon-aware client selection: FedAvg (McMahan et al., 2017) over
// LibTorch models, non-IID client shards from a Dirichlet split by label (Hsu et al., 2019),
// clients on grids of their own (an hourly carbon-intensity series each), and a selection
// strategy per round: random (FedAvg's), or carbon-aware (the clients and hour, within a
// deferral window, with the least forecast intensity, cheaper for clients left out longer).
//
// Clients here run in this process, one after another (a simulation, as Flower's is): each
// client's local training is metered by the Tracker (its energy as the meter gives it, measured or
// estimated), and its carbon is that energy at its own grid's intensity in the round's hour of a
// simulated clock (one round an hour; deferral skips hours).
//
//   fl::FlOptions o;            // 10 clients, 3 per round, 30 rounds
//   auto r = fl::run_federated(train, test, grids, o, fl::Selection::kCarbonAware, *tracker);
//   r.accuracy; r.emissions_kg;
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "greenai/nn/dataset.h"
#include "greenai/track/tracker.h"
#include "greenai/util/json.h"

namespace greenai::fl {

/// Splits `data` among `clients`: for each class, its examples are dealt in proportions drawn
/// from Dirichlet(alpha) (small alpha: each client sees few classes). Every example goes to
/// exactly one client; deterministic for a seed. Throws greenai::Error for alpha <= 0 or clients
/// < 1.
std::vector<nn::Dataset> dirichlet_split(const nn::Dataset& data, int clients, double alpha,
                                         uint64_t seed);

/// FedAvg: the clients' parameters averaged, each weighted by its sample count. Throws
/// greenai::Error for mismatched shapes or counts, or no samples.
std::vector<torch::Tensor> fedavg(const std::vector<std::vector<torch::Tensor>>& client_weights,
                                  const std::vector<int64_t>& samples);

/// A client's grid: carbon intensity (g/kWh) per hour of the simulated clock.
struct Grid {
  std::string name;
  std::vector<double> g_per_kwh;
};

enum class Selection { kRandom, kCarbonAware };
Selection parse_selection(const std::string& name);  ///< "random" or "carbon-aware"
const char* to_string(Selection s);

/// What a selection sees of each client at a candidate hour.
struct Candidate {
  int client = 0;
  double forecast_g_per_kwh = 0;  ///< its grid's day-ahead forecast for the hour
  int rounds_left_out = 0;        ///< rounds since it last trained
};

/// Carbon-aware choice among `candidates` (one hour): the `k` with the least
/// forecast / (1 + rounds_left_out / patience): low intensity first, a client left out for
/// `patience` rounds costs half. Returns client ids.
std::vector<int> pick_clean(std::vector<Candidate> candidates, int k, double patience);

struct FlOptions {
  int clients = 10;
  int per_round = 3;
  int rounds = 30;
  int local_epochs = 1;
  int64_t batch_size = 32;
  double learning_rate = 0.05;  ///< local SGD
  double alpha = 0.5;           ///< Dirichlet concentration of the split
  int64_t hidden = 64;          ///< the student MLP's width
  int max_defer_h = 12;         ///< carbon-aware: how long a round may wait for cleaner hours
  size_t start_hour = 0;        ///< where the simulated clock starts in the grids' series
  uint64_t seed = 0;
  util::Json to_json() const;
};

struct ClientRound {
  int client = 0;
  std::string grid;
  int64_t samples = 0;
  double energy_j = 0;
  double g_per_kwh = 0;  ///< its grid's real intensity in the round's hour
  double emissions_kg = 0;
};
struct RoundReport {
  int round = 0;
  size_t hour = 0;  ///< on the simulated clock
  int deferred_h = 0;
  std::vector<ClientRound> clients;
  double accuracy = 0;  ///< the global model's test accuracy after the round
  double energy_j = 0, emissions_kg = 0;
};
struct FlReport {
  Selection selection = Selection::kRandom;
  std::vector<RoundReport> rounds;
  double accuracy = 0;  ///< final test accuracy
  double energy_j = 0, emissions_kg = 0;
  std::vector<double> client_energy_j, client_emissions_kg;  ///< per client, whole run
  std::string provenance;  ///< the meter's: measured, estimated or mixed
  /// {"selection", "accuracy", "emissions_kg", "energy_j", "rounds": [...], "clients": [...],
  /// "provenance"}
  util::Json to_json() const;
};

/// Runs FedAvg over `options.clients` clients (client i on grid i mod grids.size()), metering
/// each client's local training with `tracker` (started). `on_round` sees each round as it ends.
/// Throws greenai::Error for options out of range or grids too short for the rounds.
FlReport run_federated(const nn::Dataset& train, const nn::Dataset& test,
                       const std::vector<Grid>& grids, const FlOptions& options,
                       Selection selection, track::Tracker& tracker,
                       const std::function<void(const RoundReport&)>& on_round = {});

}  // namespace greenai::fl
