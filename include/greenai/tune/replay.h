// Replaying recurring training jobs over Zeus's traces (zeus_trace.h): each recurrence trains a
// workload to its target with a batch size and a GPU power limit a tuner chooses, its epochs
// sampled from the train trace's runs and each epoch's seconds and watts from the power trace.
// The cost is Zeus's: eta x energy + (1 - eta) x max power limit x time (joules).
//
//   const tune::WorkloadTrace trace = ...;
//   const tune::ReplayComparison c = tune::compare_tuners(trace, {}, 7);
//   // c.runs: default, oracle, zeus-like, greenai; cumulative energy, time, cost each
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "greenai/tune/zeus_trace.h"

namespace greenai::tune {

/// Zeus's knobs: eta weighs energy against time in the cost; a job whose cost passes beta x the
/// best cost seen is stopped early.
struct CostModel {
  double eta = 0.5;
  double beta = 2.0;
};

/// One epoch's energy, time and cost at (batch size, power limit).
struct EpochCost {
  double energy_j = 0, time_s = 0, cost = 0;
};
EpochCost epoch_cost(const WorkloadTrace& trace, int batch_size, int power_limit_w,
                     const CostModel& model);

/// The outcome of one recurrence.
struct JobOutcome {
  int batch_size = 0;
  int power_limit_w = 0;  ///< the limit after profiling (0 while profiling took every epoch)
  int epochs = 0;         ///< epochs run
  bool reached = false;   ///< the target was reached (not stopped early, not over the cap)
  bool profiled = false;  ///< its first epoch profiled the power limits
  double energy_j = 0, time_s = 0, cost = 0;
};

/// How a tuner chooses: the batch size of the next job, whether it profiles power limits just in
/// time (Zeus: the first epoch at a batch size not profiled yet runs a window at every limit,
/// after which the job keeps the limit of least cost), and the cost past which a job is stopped.
class Tuner {
 public:
  virtual ~Tuner() = default;
  virtual std::string name() const = 0;
  virtual int next_batch_size(std::mt19937_64& rng) = 0;
  /// 0: profile just in time; otherwise the fixed power limit (W).
  virtual int power_limit_w(int batch_size) const = 0;
  /// The cost bound of the next job (infinity: none), given the least cost of a recurrence so
  /// far (retries included; infinity before one ended).
  virtual double stop_cost(double cheapest_recurrence) const = 0;
  /// `epoch` is the cost of one epoch at the job's batch size and chosen limit.
  virtual void observe(const JobOutcome& job, const EpochCost& epoch) = 0;
};

/// One tuner over a workload's recurrences.
struct ReplayRun {
  std::string tuner;
  std::vector<JobOutcome> jobs;
  double energy_j = 0, time_s = 0, cost = 0;
  int reached = 0;
};

/// Runs `recurrences` recurrences with `tuner`, as Zeus's trace-driven simulator defines them: a
/// recurrence runs its job until it reaches the target (at most 20 attempts, each a job of its
/// own); each job's run (seed) is drawn uniformly from the train trace's runs at its batch size
/// with `rng`; a job stops before the epoch that would take it past the tuner's bound (a job
/// that cannot run one epoch does not run, and the tuner is told it cost 100 x the bound); the
/// first job at a batch size profiles the limits in its first epoch, which then costs the mean of
/// their epochs (the epoch's time spread evenly over them).
ReplayRun replay(const WorkloadTrace& trace, Tuner& tuner, const CostModel& model, int recurrences,
                 std::mt19937_64& rng);

/// The workload's default: its default batch size at the maximum power limit.
std::unique_ptr<Tuner> default_tuner(const WorkloadTrace& trace);
/// The best single configuration in expectation (mean epochs of the runs x epoch cost, over
/// batch sizes whose every run reaches the target within the cap), fixed for every job.
std::unique_ptr<Tuner> oracle_tuner(const WorkloadTrace& trace, const CostModel& model);
/// Zeus's batch-size optimizer as its paper describes it: exploration from the default batch
/// size down, then up, pruning a size whose job fails, twice; then Gaussian Thompson sampling on
/// the job costs of the sizes left; power limits profiled just in time; jobs stopped at beta x
/// the cheapest recurrence. Our reimplementation, the baseline our tuner is measured against here.
std::unique_ptr<Tuner> zeus_like_tuner(const WorkloadTrace& trace, const CostModel& model);
/// GreenAI's: the same exploration, once, then Thompson sampling on each size's expected job
/// cost, factored as its epochs to target (the random part) times its epoch cost (known exactly
/// once profiled): the epochs' spread is pooled over sizes in relative terms, and each size's mean
/// epochs is shrunk toward the others' as far as the sizes are seen to agree (empirical Bayes);
/// early stopping at beta x the best expected job cost rather than the best single job.
std::unique_ptr<Tuner> greenai_tuner(const WorkloadTrace& trace, const CostModel& model);

/// Every tuner above over the same number of recurrences, 2 x batch sizes x power limits as in
/// Zeus's paper, each with its own generator seeded with `seed`.
struct ReplayComparison {
  Workload workload;
  int recurrences = 0;
  int seeds = 1;                 ///< replays averaged (compare_tuners_over_seeds)
  int greenai_at_most_zeus = 0;  ///< seeds where greenai's cost was at most zeus-like's
  std::vector<ReplayRun> runs;   ///< default, oracle, zeus-like, greenai
  const ReplayRun& run(const std::string& tuner) const;
};
ReplayComparison compare_tuners(const WorkloadTrace& trace, const CostModel& model, uint64_t seed);

/// compare_tuners for seeds first_seed .. first_seed + seeds - 1: each run's energy, time and cost
/// are the means over the seeds, its reached count and jobs those of all seeds together (jobs
/// holds every job); a single replay's luck is not a tuner's merit.
ReplayComparison compare_tuners_over_seeds(const WorkloadTrace& trace, const CostModel& model,
                                           uint64_t first_seed, int seeds);

}  // namespace greenai::tune
