// A reinforcement-learning battery controller for a site: Double DQN on LibTorch over discrete
// charge and discharge levels. Every building has its own agent, and the agents share one network
// (each sees its own building: what CityLearn calls decentralised agents with shared weights, so a
// policy trained on some buildings runs on others). It learns online inside site::simulate, the
// same simulator that scores it: one episode is one pass over the data's year, batteries empty.
//
//   site::RlOptions o;                      // 10 episodes, seed 0
//   auto tracker = track::Tracker::for_this_process();
//   site::RlTraining t = site::train_rl_tracked(data, o, *tracker);
//   t.controller->save("site_agent.pt");    // greenai site simulate --controller rl --model ...
//   site::SiteRun run = site::simulate(other_data, *site::RlController::load("site_agent.pt"));
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "greenai/site/simulator.h"
#include "greenai/track/measurements.h"
#include "greenai/track/tracker.h"
#include "greenai/util/json.h"

namespace greenai::site {

/// What a building's agent observes at the start of hour t: the observations CityLearn 2022's
/// schema makes active, each scaled to about [-1, 1]:
///   [0, 5)   hour of day and month (sine and cosine), weekend or holiday;
///   [5, 21)  weather.csv: outdoor temperature (/40 C), relative humidity (/100 %), diffuse and
///            direct solar irradiance (/1000 W/m2), each now, then each one's predictions 6, 12
///            and 24 h on (zeros where the folder has no weather.csv);
///   21       the grid's carbon intensity now (over the training data's highest);
///   [22, 26) this hour's non-shiftable load and PV generation, the battery's state of charge,
///            last hour's net grid electricity (energies over the battery's capacity);
///   [26, 30) the tariff now and pricing.csv's predictions 6, 12 and 24 h on (over the training
///            data's highest tariff).
inline constexpr int kRlObservations = 30;
struct ObservationScales {
  double price_per_kwh = 1;  ///< the training data's highest tariff
  double carbon_kg_per_kwh = 1;
};
void rl_observation(const SiteState& state, size_t building, const ObservationScales& scales,
                    std::span<float> out);

/// The charge (> 0) and discharge (< 0) levels the agents choose from, fractions of capacity an
/// hour (finer near zero, where a home's hourly load lies).
const std::vector<double>& rl_action_levels();

struct RlOptions {
  int episodes = 10;                      ///< passes over the year
  std::vector<int64_t> hidden{128, 128};  ///< hidden layer widths (ReLU)
  int64_t batch_size = 128;
  double learning_rate = 1e-3;  ///< Adam
  double gamma = 0.9;           ///< discount per hour
  int64_t buffer_size = 100000;
  int64_t learning_starts = 2000;     ///< transitions before the first update
  int64_t target_update_every = 500;  ///< updates between copies to the target network
  double epsilon_start = 1.0, epsilon_end = 0.02;
  double epsilon_decay_fraction = 0.5;  ///< linear decay over this share of the hours
  uint64_t seed = 0;
  /// {"episodes", "hidden", "batch_size", "learning_rate", "gamma", "buffer_size",
  /// "learning_starts", "target_update_every", "epsilon_start", "epsilon_end",
  /// "epsilon_decay_fraction", "seed"}
  util::Json to_json() const;
};

/// One episode of training: its exploration rate at the end and the greedy policy's district
/// score on the training data after it.
struct RlEpisode {
  int episode = 0;
  double epsilon = 0;
  double score = 0;
  double seconds = 0;
};
struct RlTrainReport {
  std::vector<RlEpisode> episodes;
  int best_episode = 0;  ///< the weights kept: the best greedy score
  int64_t updates = 0;
  double seconds = 0;
  util::Json to_json() const;  ///< {"episodes": [...], "best_episode", "updates", "seconds"}
};

/// The trained agents as a controller (greedy).
class RlController : public Controller {
 public:
  ~RlController() override;
  std::string name() const override { return "rl"; }
  void act(const SiteState& state, std::span<double> actions) override;
  /// A LibTorch archive: the weights, the observation scales and `training` (what the CLI
  /// records of the run: options, report, energy). Throws greenai::Error naming the path.
  void save(const std::string& path) const;
  /// Throws greenai::Error naming the path for a missing, unreadable or foreign file.
  static std::unique_ptr<RlController> load(const std::string& path);
  const util::Json& training() const;
  void set_training(util::Json training);

 private:
  struct Impl;
  explicit RlController(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  friend std::unique_ptr<RlController> train_rl(const SiteData&, const RlOptions&, RlTrainReport*,
                                                const std::function<void(const RlEpisode&)>&);
};

/// Trains the agents on `data` (its jobs, if any, run as soon as released). The reward of a
/// building's hour is minus the score's terms for that building, each over the no-battery
/// building's hourly mean: 1/3 cost + 1/3 emissions (import only) + 1/6 |change of net|.
/// Deterministic for a seed and a thread count. Throws greenai::Error for options out of range.
std::unique_ptr<RlController> train_rl(
    const SiteData& data, const RlOptions& options, RlTrainReport* report = nullptr,
    const std::function<void(const RlEpisode&)>& on_episode = {});

/// train_rl with its energy metered: the span of `tracker` (started) over the call.
struct RlTraining {
  std::unique_ptr<RlController> controller;
  RlTrainReport report;
  track::Energy energy;
  double emissions_kg = 0;
  double seconds = 0;
  track::Provenance provenance;
  /// {"options", "report", "energy", "seconds", "provenance", "data", "battery"}: what the model
  /// file keeps (`battery`: the accounting it was trained under).
  util::Json to_json(const RlOptions& options, const std::string& data,
                     const std::string& battery) const;
};
RlTraining train_rl_tracked(const SiteData& data, const RlOptions& options, track::Tracker& tracker,
                            const std::function<void(const RlEpisode&)>& on_episode = {});

}  // namespace greenai::site
