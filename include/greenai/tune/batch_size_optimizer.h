// GreenAI's batch-size optimizer for a recurring training job: which batch size the next run
// should use, and past what cost it should stop. One round of Zeus's pruning exploration from the
// default size (down until a run fails to reach the target, then up), then Thompson sampling on
// each surviving size's expected cost, factored as epochs to target (random: its spread pooled
// over sizes, each size's mean shrunk toward the others' by empirical Bayes) times the size's
// cost per epoch (steady, so known from its runs). A run is stopped once its cost passes beta x
// the best expected run. The state is JSON, kept in a file between runs.
//
//   auto opt = tune::BatchSizeOptimizer::load_or_create("bs.json", {32, 64, 128}, 64, {}, 100);
//   std::mt19937_64 rng(seed);
//   const int batch = opt.next(rng);                 // train with it, stop past opt.stop_cost()
//   opt.observe({batch, epochs, cost, reached});
//   opt.save("bs.json");
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "greenai/util/json.h"

namespace greenai::tune {

/// One finished (or stopped) run of the job.
struct BatchSizeRun {
  int batch_size = 0;
  double epochs = 0;  ///< epochs run
  double cost = 0;    ///< its cost (Zeus's, or energy in J: any consistent unit)
  bool reached = false;
  /// The steady cost of one epoch when known (a run whose first epoch profiled costs more than
  /// the others); 0: cost / epochs.
  double cost_per_epoch = 0;
};

class BatchSizeOptimizer {
 public:
  /// Throws greenai::Error when `sizes` is empty, not positive or not distinct, or beta <= 1.
  BatchSizeOptimizer(std::vector<int> sizes, int default_size, double beta, double max_epochs);
  ~BatchSizeOptimizer();
  BatchSizeOptimizer(BatchSizeOptimizer&&) noexcept;
  BatchSizeOptimizer& operator=(BatchSizeOptimizer&&) noexcept;

  /// The batch size of the next run: the exploration's next, then a Thompson draw.
  int next(std::mt19937_64& rng);
  /// The cost past which the next run should stop (infinity before any run reached the target).
  double stop_cost() const;
  void observe(const BatchSizeRun& run);
  bool exploring() const;
  /// The sizes left after pruning.
  std::vector<int> survivors() const;
  int runs() const;
  /// Mean epochs (unreached runs counted at max_epochs) and cost per epoch of a size; 0 unseen.
  double mean_epochs(int batch_size) const;
  double cost_per_epoch(int batch_size) const;

  /// {"version": 1, "sizes", "beta", "max_epochs", "runs", "exploration", "arms"}.
  util::Json to_json() const;
  /// Throws greenai::Error naming `source` when the state is malformed.
  static BatchSizeOptimizer from_json(const util::Json& json, const std::string& source);
  /// Reads `path` when it exists (it must then hold these sizes), else a new optimizer.
  static BatchSizeOptimizer load_or_create(const std::string& path, std::vector<int> sizes,
                                           int default_size, double beta, double max_epochs);
  /// Writes the state atomically.
  void save(const std::string& path) const;

 private:
  struct Impl;
  explicit BatchSizeOptimizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace greenai::tune
