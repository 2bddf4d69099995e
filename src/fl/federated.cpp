// Federated learning with carbon-aware selection (federated.h).
#include "greenai/fl/federated.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <set>

#include "greenai/carbon/intensity.h"
#include "greenai/error.h"
#include "greenai/fl/wire.h"
#include "greenai/nn/model.h"
#include "greenai/nn/trainer.h"

namespace greenai::fl {
namespace {

// Gamma(alpha, 1) draws normalised: a Dirichlet(alpha, ..., alpha) sample.
std::vector<double> dirichlet(int n, double alpha, std::mt19937_64& rng) {
  std::gamma_distribution<double> gamma(alpha, 1.0);
  std::vector<double> p(static_cast<size_t>(n));
  double sum = 0;
  for (double& x : p) sum += x = gamma(rng);
  for (double& x : p) x = sum > 0 ? x / sum : 1.0 / n;
  return p;
}

std::vector<torch::Tensor> clone_parameters(const nn::Net& net) {
  std::vector<torch::Tensor> out;
  for (const auto& p : net->parameters()) out.push_back(p.detach().clone());
  return out;
}

void load_parameters(nn::Net& net, const std::vector<torch::Tensor>& weights) {
  torch::NoGradGuard no_grad;
  auto params = net->parameters();
  for (size_t i = 0; i < params.size(); ++i) params[i].copy_(weights[i]);
}

// The model every client trains: the student MLP 784-hidden-10, seeded.
nn::Net client_model(int64_t hidden, uint64_t seed) {
  torch::manual_seed(seed);
  return nn::Net(nn::student_spec(hidden));
}

// The day-ahead forecast a client's grid operator would publish: the same hour yesterday
// (seasonal naive), or the first hour's value before a day has passed.
double forecast(const Grid& g, size_t hour) { return g.g_per_kwh[hour >= 24 ? hour - 24 : 0]; }

}  // namespace

void check_options(const FlOptions& o, const std::vector<Grid>& grids) {
  const auto bad = [](const std::string& what) {
    throw Error("cannot run federated learning", what);
  };
  if (o.clients < 1 || o.clients > 10000) bad("clients must be 1 to 10000");
  if (o.per_round < 1 || o.per_round > o.clients) bad("per_round must be 1 to clients");
  if (o.rounds < 1 || o.local_epochs < 1 || o.batch_size < 1)
    bad("rounds, local epochs, batch >= 1");
  if (!(o.alpha > 0) || !(o.learning_rate > 0)) bad("alpha and the learning rate must be > 0");
  if (o.max_defer_h < 0) bad("max_defer_h must be >= 0");
  if (o.online_hours < 1 || o.online_hours > 24) bad("online_hours must be 1 to 24");
  if (grids.empty()) bad("give at least one grid (an intensity series)");
  // Each round may wait up to 23 hours more for a client to come online.
  const int most_wait = o.max_defer_h + (o.online_hours < 24 ? 23 : 0);
  const size_t need = o.start_hour + static_cast<size_t>(o.rounds) * (1 + most_wait) + 1;
  for (const Grid& g : grids)
    if (g.g_per_kwh.size() < need)
      throw Error("cannot run federated learning (grid=" + g.name + ")",
                  std::to_string(g.g_per_kwh.size()) + " hours where the rounds may need " +
                      std::to_string(need),
                  "give a longer series or fewer rounds");
}

std::vector<nn::Dataset> dirichlet_split(const nn::Dataset& data, int clients, double alpha,
                                         uint64_t seed) {
  if (clients < 1 || !(alpha > 0))
    throw Error("cannot split the data (clients=" + std::to_string(clients) +
                    ", alpha=" + std::to_string(alpha) + ")",
                "needs clients >= 1 and alpha > 0");
  std::mt19937_64 rng(seed);
  const auto labels = data.labels.contiguous();
  const int64_t* y = labels.data_ptr<int64_t>();
  const int64_t classes = data.labels.max().item<int64_t>() + 1;
  std::vector<std::vector<int64_t>> owned(static_cast<size_t>(clients));
  for (int64_t c = 0; c < classes; ++c) {
    std::vector<int64_t> members;
    for (int64_t i = 0; i < data.size(); ++i)
      if (y[i] == c) members.push_back(i);
    std::shuffle(members.begin(), members.end(), rng);
    const std::vector<double> p = dirichlet(clients, alpha, rng);
    size_t at = 0;
    double cumulative = 0;
    for (int k = 0; k < clients; ++k) {
      cumulative += p[static_cast<size_t>(k)];
      const size_t end =
          k + 1 == clients
              ? members.size()
              : std::min(members.size(),
                         static_cast<size_t>(std::llround(cumulative * members.size())));
      for (; at < end; ++at) owned[static_cast<size_t>(k)].push_back(members[at]);
    }
  }
  std::vector<nn::Dataset> shards;
  for (auto& idx : owned) {
    std::sort(idx.begin(), idx.end());
    const auto index = torch::tensor(idx, torch::kInt64);
    shards.push_back({data.images.index_select(0, index), data.labels.index_select(0, index)});
  }
  return shards;
}

std::vector<torch::Tensor> fedavg(const std::vector<std::vector<torch::Tensor>>& weights,
                                  const std::vector<int64_t>& samples) {
  if (weights.empty() || weights.size() != samples.size())
    throw Error("cannot average the clients' models", "one sample count per client is needed");
  const int64_t total = std::accumulate(samples.begin(), samples.end(), int64_t{0});
  if (total <= 0) throw Error("cannot average the clients' models", "they hold no samples");
  std::vector<torch::Tensor> mean;
  for (const auto& w : weights[0]) mean.push_back(torch::zeros_like(w));
  for (size_t c = 0; c < weights.size(); ++c) {
    if (weights[c].size() != mean.size())
      throw Error("cannot average the clients' models",
                  "client " + std::to_string(c) + " sent " + std::to_string(weights[c].size()) +
                      " tensors where the first sent " + std::to_string(mean.size()),
                  "every client must train the same model");
    for (size_t i = 0; i < mean.size(); ++i) {
      if (!weights[c][i].sizes().equals(mean[i].sizes()))
        throw Error(
            "cannot average the clients' models",
            "client " + std::to_string(c) + "'s tensor " + std::to_string(i) + " has another shape",
            "every client must train the same model");
      mean[i].add_(weights[c][i], static_cast<double>(samples[c]) / total);
    }
  }
  return mean;
}

Selection parse_selection(const std::string& name) {
  if (name == "random") return Selection::kRandom;
  if (name == "carbon-aware") return Selection::kCarbonAware;
  throw Error("cannot select clients (selection=" + name + ")", "no such strategy",
              "use random or carbon-aware");
}

const char* to_string(Selection s) { return s == Selection::kRandom ? "random" : "carbon-aware"; }

std::vector<int> pick_clean(std::vector<Candidate> candidates, int k, double patience) {
  const auto cost = [patience](const Candidate& c) {
    return c.forecast_g_per_kwh / (1 + c.rounds_left_out / patience);
  };
  std::stable_sort(candidates.begin(), candidates.end(),
                   [&](const Candidate& a, const Candidate& b) { return cost(a) < cost(b); });
  std::vector<int> chosen;
  for (int i = 0; i < k && i < static_cast<int>(candidates.size()); ++i)
    chosen.push_back(candidates[static_cast<size_t>(i)].client);
  return chosen;
}

util::Json FlOptions::to_json() const {
  return util::Json::object()
      .set("clients", clients)
      .set("per_round", per_round)
      .set("rounds", rounds)
      .set("local_epochs", local_epochs)
      .set("batch_size", static_cast<double>(batch_size))
      .set("learning_rate", learning_rate)
      .set("alpha", alpha)
      .set("hidden", static_cast<double>(hidden))
      .set("max_defer_h", max_defer_h)
      .set("online_hours", online_hours)
      .set("start_hour", static_cast<double>(start_hour))
      .set("seed", static_cast<double>(seed));
}

FlOptions FlOptions::from_json(const util::Json& j) {
  FlOptions o;
  const auto read = [&j](const char* name, auto& field) {
    if (!j.find(name)) return;
    const double v = util::number_field(j, name, "the federated options");
    field = static_cast<std::remove_reference_t<decltype(field)>>(v);
  };
  read("clients", o.clients);
  read("per_round", o.per_round);
  read("rounds", o.rounds);
  read("local_epochs", o.local_epochs);
  read("batch_size", o.batch_size);
  read("learning_rate", o.learning_rate);
  read("alpha", o.alpha);
  read("hidden", o.hidden);
  read("max_defer_h", o.max_defer_h);
  read("online_hours", o.online_hours);
  read("start_hour", o.start_hour);
  read("seed", o.seed);
  return o;
}

util::Json FlReport::to_json() const {
  util::Json rounds_json = util::Json::array();
  for (const RoundReport& r : rounds) {
    util::Json clients = util::Json::array();
    for (const ClientRound& c : r.clients)
      clients.push(util::Json::object()
                       .set("client", c.client)
                       .set("grid", c.grid)
                       .set("samples", static_cast<double>(c.samples))
                       .set("energy_j", c.energy_j)
                       .set("g_per_kwh", c.g_per_kwh)
                       .set("emissions_kg", c.emissions_kg));
    util::Json dropped = util::Json::array();
    for (const DroppedClient& d : r.dropped)
      dropped.push(util::Json::object().set("client", d.client).set("reason", d.reason));
    rounds_json.push(util::Json::object()
                         .set("round", r.round)
                         .set("hour", static_cast<double>(r.hour))
                         .set("deferred_h", r.deferred_h)
                         .set("accuracy", r.accuracy)
                         .set("energy_j", r.energy_j)
                         .set("emissions_kg", r.emissions_kg)
                         .set("clients", clients)
                         .set("dropped", dropped));
  }
  util::Json per_client = util::Json::array();
  for (size_t c = 0; c < client_energy_j.size(); ++c)
    per_client.push(util::Json::object()
                        .set("client", static_cast<double>(c))
                        .set("energy_j", client_energy_j[c])
                        .set("emissions_kg", client_emissions_kg[c]));
  util::Json notes_json = util::Json::array();
  for (const std::string& n : notes) notes_json.push(n);
  return util::Json::object()
      .set("selection", to_string(selection))
      .set("accuracy", accuracy)
      .set("emissions_kg", emissions_kg)
      .set("energy_j", energy_j)
      .set("provenance", provenance)
      .set("rounds", rounds_json)
      .set("clients", per_client)
      .set("transport", transport)
      .set("notes", notes_json);
}

bool online(const FlOptions& o, int client, size_t hour) {
  if (o.online_hours >= 24) return true;
  // The client's window starts at a seeded hour of the day (a hash, so each client's is its own
  // whatever the number of clients).
  uint64_t x = o.seed * 0x9e3779b97f4a7c15ULL + static_cast<uint64_t>(client) + 1;
  x ^= x >> 31;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 29;
  const size_t start = static_cast<size_t>(x % 24);
  return (hour + 24 - start) % 24 < static_cast<size_t>(o.online_hours);
}

ClientResult train_client(int client, int round, const std::vector<torch::Tensor>& weights,
                          const nn::Dataset& shard, const FlOptions& o, int64_t hidden,
                          track::Tracker& tracker) {
  ClientResult r;
  r.client = client;
  r.pue = tracker.info().pue;
  r.provenance = tracker.info().provenance();
  nn::Net local(nn::student_spec(hidden));
  const std::string mismatch = shape_mismatch(clone_parameters(local), weights);
  if (!mismatch.empty()) {
    r.failure = "the server's model does not fit this client's: " + mismatch;
    return r;
  }
  if (shard.size() == 0) {
    r.failure = "it holds no examples";
    return r;
  }
  load_parameters(local, weights);
  nn::TrainOptions t;
  t.epochs = o.local_epochs;
  t.batch_size = o.batch_size;
  t.learning_rate = o.learning_rate;
  t.optimizer = "sgd";
  t.schedule = "constant";
  t.seed = o.seed + static_cast<uint64_t>(round) * 1000 + static_cast<uint64_t>(client);
  t.evaluate_every_epoch = false;
  tracker.step();  // from here: this client's local training
  nn::train(local, shard, shard.head(1), nn::cross_entropy_loss(), t);
  r.energy_j = tracker.step().tree.total_j();
  r.samples = shard.size();
  r.weights = clone_parameters(local);
  return r;
}

LocalClients::LocalClients(const nn::Dataset& train, const FlOptions& options,
                           track::Tracker& tracker)
    : shards_(dirichlet_split(train, options.clients, options.alpha, options.seed)),
      options_(options),
      tracker_(tracker) {}

std::vector<ClientResult> LocalClients::train_round(int round, const std::vector<int>& clients,
                                                    const std::vector<torch::Tensor>& weights) {
  std::vector<ClientResult> results;
  for (int c : clients)
    results.push_back(train_client(c, round, weights, shards_.at(static_cast<size_t>(c)), options_,
                                   options_.hidden, tracker_));
  return results;
}

FlReport run_federated(ClientPool& pool, const nn::Dataset& test, const std::vector<Grid>& grids,
                       const FlOptions& o, Selection selection,
                       const std::function<void(const RoundReport&)>& on_round) {
  check_options(o, grids);
  nn::Net global = client_model(o.hidden, o.seed);
  std::vector<torch::Tensor> weights = clone_parameters(global);
  std::mt19937_64 rng(o.seed ^ 0x9e3779b97f4a7c15ULL);
  FlReport report;
  report.selection = selection;
  report.client_energy_j.assign(static_cast<size_t>(o.clients), 0);
  report.client_emissions_kg.assign(static_cast<size_t>(o.clients), 0);
  std::vector<int> left_out(static_cast<size_t>(o.clients), 0);
  std::set<std::string> provenances;
  const auto grid_of = [&](int c) -> const Grid& {
    return grids[static_cast<size_t>(c) % grids.size()];
  };
  size_t hour = o.start_hour;
  const double patience = static_cast<double>(o.clients) / o.per_round;
  for (int round = 1; round <= o.rounds; ++round) {
    RoundReport r;
    r.round = round;
    const auto available_at = [&](size_t h) {
      std::vector<int> out;
      for (int c = 0; c < o.clients; ++c)
        if (pool.available(c) && online(o, c, h)) out.push_back(c);
      return out;
    };
    bool anyone = false;
    for (int c = 0; c < o.clients; ++c) anyone = anyone || pool.available(c);
    if (!anyone)
      throw Error("cannot run round " + std::to_string(round) + " of federated learning",
                  "no client is left", "check why the clients stopped (see the rounds before)");
    std::vector<int> chosen;
    if (selection == Selection::kRandom) {
      // The first hour with a client online (every hour when all are always online).
      std::vector<int> available = available_at(hour);
      for (; available.empty() && r.deferred_h < 24; available = available_at(hour)) {
        ++r.deferred_h;
        ++hour;
      }
      const int k = std::min(o.per_round, static_cast<int>(available.size()));
      std::shuffle(available.begin(), available.end(), rng);
      chosen.assign(available.begin(), available.begin() + k);
    } else {
      // The hour within the deferral window whose chosen clients' mean forecast is least (the
      // window stretched, when nobody is online in it, to the first hour someone is).
      double best = INFINITY;
      for (int wait = 0; wait <= o.max_defer_h || (chosen.empty() && wait < o.max_defer_h + 24);
           ++wait) {
        std::vector<Candidate> candidates;
        for (int c : available_at(hour + wait))
          candidates.push_back({c, forecast(grid_of(c), hour + wait), left_out[c]});
        if (candidates.empty()) continue;
        const int k = std::min(o.per_round, static_cast<int>(candidates.size()));
        const std::vector<int> pick = pick_clean(candidates, k, patience);
        double sum = 0;
        for (int c : pick) sum += forecast(grid_of(c), hour + wait);
        if (sum / k < best - 1e-9) {
          best = sum / k;
          chosen = pick;
          r.deferred_h = wait;
        }
      }
      hour += static_cast<size_t>(r.deferred_h);
    }
    if (chosen.empty())
      throw Error("cannot run round " + std::to_string(round) + " of federated learning",
                  "no client was online in a whole day", "raise --online-hours");
    r.hour = hour;
    for (int c = 0; c < o.clients; ++c) ++left_out[c];
    for (int c : chosen) left_out[c] = 0;
    std::vector<std::vector<torch::Tensor>> updates;
    std::vector<int64_t> samples;
    for (ClientResult& result : pool.train_round(round, chosen, weights)) {
      const int c = result.client;
      // Energy spent counts even when the update is of no use.
      if (result.failure.empty()) {
        const std::string mismatch = shape_mismatch(result.weights, weights);
        if (!mismatch.empty())
          result.failure = "it sent a model of another shape (" + mismatch +
                           "): every client must train the server's model";
      }
      ClientRound cr;
      cr.client = c;
      cr.grid = grid_of(c).name;
      cr.samples = result.failure.empty() ? result.samples : 0;
      cr.energy_j = result.energy_j;
      cr.g_per_kwh = grid_of(c).g_per_kwh[hour];
      cr.emissions_kg =
          carbon::emissions_kg(cr.energy_j / carbon::kJoulesPerKwh, result.pue, cr.g_per_kwh);
      r.energy_j += cr.energy_j;
      r.emissions_kg += cr.emissions_kg;
      report.client_energy_j[static_cast<size_t>(c)] += cr.energy_j;
      report.client_emissions_kg[static_cast<size_t>(c)] += cr.emissions_kg;
      if (!result.provenance.empty()) provenances.insert(result.provenance);
      if (!result.failure.empty()) {
        r.dropped.push_back({c, result.failure});
        if (cr.energy_j > 0) r.clients.push_back(cr);  // it spent energy: account for it
        continue;
      }
      r.clients.push_back(cr);
      updates.push_back(std::move(result.weights));
      samples.push_back(result.samples);
    }
    if (!updates.empty()) weights = fedavg(updates, samples);
    load_parameters(global, weights);
    r.accuracy = nn::evaluate(global, test).accuracy;
    report.energy_j += r.energy_j;
    report.emissions_kg += r.emissions_kg;
    report.rounds.push_back(r);
    if (on_round) on_round(r);
    ++hour;  // a round takes an hour of the simulated clock
  }
  report.accuracy = report.rounds.back().accuracy;
  report.provenance = provenances.size() == 1 ? *provenances.begin()
                      : provenances.empty()   ? "estimated"
                                              : "mixed";
  return report;
}

FlReport run_federated(const nn::Dataset& train, const nn::Dataset& test,
                       const std::vector<Grid>& grids, const FlOptions& o, Selection selection,
                       track::Tracker& tracker,
                       const std::function<void(const RoundReport&)>& on_round) {
  check_options(o, grids);
  LocalClients clients(train, o, tracker);
  FlReport report = run_federated(clients, test, grids, o, selection, on_round);
  report.provenance = tracker.info().provenance();
  return report;
}

}  // namespace greenai::fl
