// Federated learning with carbon-aware client selection: FedAvg (McMahan et al., 2017) over
// LibTorch models, non-IID client shards from a Dirichlet split by label (Hsu et al., 2019),
// clients on grids of their own (an hourly carbon-intensity series each), and a selection
// strategy per round: random (FedAvg's), or carbon-aware (the clients and hour, within a
// deferral window, with the least forecast intensity, cheaper for clients left out longer).
//
// The server's loop (run_federated) talks to its clients through a ClientPool: LocalClients
// trains them in this process, one after another (a simulation, as Flower's is);
// fl::RemoteClients (remote.h) sends each round to client processes over c10d's store. Either
// way each client's local training is metered by its Tracker (its energy as the meter gives it,
// measured or estimated), and its carbon is that energy at its own grid's intensity in the
// round's hour of a simulated clock (one round an hour; deferral skips hours). A client that
// fails in a round (gone, or a model of another shape) is left out of that round's average and
// the report says why.
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
#include "greenai/nn/model.h"
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
  /// Hours a day each client is online (24: always), in one daily window whose start is drawn per
  /// client (seeded), as phones train only while idle and charging. A round takes its clients
  /// among those online in its hour, and waits for the next hour when none is.
  int online_hours = 24;
  size_t start_hour = 0;  ///< where the simulated clock starts in the grids' series
  uint64_t seed = 0;
  util::Json to_json() const;
  /// Reads to_json()'s fields (missing ones keep their defaults); throws greenai::Error for a
  /// field of the wrong type.
  static FlOptions from_json(const util::Json& json);
};

/// What one client's local training of a round gave back, or why it gave nothing.
struct ClientResult {
  int client = 0;
  std::vector<torch::Tensor> weights;  ///< the trained parameters (empty when it failed)
  int64_t samples = 0;                 ///< FedAvg's weight
  double energy_j = 0;                 ///< as its meter gave it
  double pue = 1;                      ///< of the client's site
  std::string provenance;              ///< its meter's: measured, estimated or mixed
  std::string failure;                 ///< why it is left out of the round ("" when it trained)
};

/// The server's view of its clients.
class ClientPool {
 public:
  virtual ~ClientPool() = default;
  /// Whether `client` can still be chosen (a client that died is not).
  virtual bool available(int client) const = 0;
  /// Trains each of `clients` from `weights` for round `round`: one result per client, in order.
  virtual std::vector<ClientResult> train_round(int round, const std::vector<int>& clients,
                                                const std::vector<torch::Tensor>& weights) = 0;
};

/// Whether `client` is online in `hour` of the simulated clock (FlOptions::online_hours).
bool online(const FlOptions& options, int client, size_t hour);

/// One client's local training: `epochs` of SGD on `shard` from `weights`, metered by `tracker`
/// (started). Shared by LocalClients and the client process (serve_client).
ClientResult train_client(int client, int round, const std::vector<torch::Tensor>& weights,
                          const nn::Dataset& shard, const FlOptions& options, int64_t hidden,
                          track::Tracker& tracker);

/// Clients trained in this process, one after another, each on its shard of `train`.
class LocalClients : public ClientPool {
 public:
  LocalClients(const nn::Dataset& train, const FlOptions& options, track::Tracker& tracker);
  bool available(int) const override { return true; }
  std::vector<ClientResult> train_round(int round, const std::vector<int>& clients,
                                        const std::vector<torch::Tensor>& weights) override;

 private:
  std::vector<nn::Dataset> shards_;
  FlOptions options_;
  track::Tracker& tracker_;
};

struct DroppedClient {
  int client = 0;
  std::string reason;
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
  std::vector<ClientRound> clients;    ///< those whose update was averaged
  std::vector<DroppedClient> dropped;  ///< chosen, but left out of the average, and why
  double accuracy = 0;                 ///< the global model's test accuracy after the round
  double energy_j = 0, emissions_kg = 0;
};
struct FlReport {
  Selection selection = Selection::kRandom;
  std::vector<RoundReport> rounds;
  double accuracy = 0;  ///< final test accuracy
  double energy_j = 0, emissions_kg = 0;
  std::vector<double> client_energy_j, client_emissions_kg;  ///< per client, whole run
  std::string provenance;                ///< the meter's: measured, estimated or mixed
  std::string transport = "in-process";  ///< how the server reached its clients
  std::vector<std::string> notes;        ///< what befell clients outside any round
  /// {"selection", "accuracy", "emissions_kg", "energy_j", "rounds": [...], "clients": [...],
  /// "provenance", "transport", "notes"}
  util::Json to_json() const;
};

/// Runs FedAvg over the `options.clients` clients of `pool` (client i on grid i mod
/// grids.size()), the global model tested on `test` after each round. `on_round` sees each round
/// as it ends. Throws greenai::Error for options out of range, grids too short for the rounds, or
/// no client left to choose.
FlReport run_federated(ClientPool& pool, const nn::Dataset& test, const std::vector<Grid>& grids,
                       const FlOptions& options, Selection selection,
                       const std::function<void(const RoundReport&)>& on_round = {});

/// The same with LocalClients on `train`, metered by `tracker` (started).
FlReport run_federated(const nn::Dataset& train, const nn::Dataset& test,
                       const std::vector<Grid>& grids, const FlOptions& options,
                       Selection selection, track::Tracker& tracker,
                       const std::function<void(const RoundReport&)>& on_round = {});

/// Throws greenai::Error when `options` are out of range or a grid is too short for the rounds.
void check_options(const FlOptions& options, const std::vector<Grid>& grids);

}  // namespace greenai::fl
