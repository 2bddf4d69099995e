// Replaying recurring jobs over Zeus's traces, and the tuners compared there (replay.h).
#include "greenai/tune/replay.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "greenai/error.h"
#include "greenai/tune/batch_size_optimizer.h"
#include "tune/internal/exploration.h"

namespace greenai::tune {
namespace {

using internal::Exploration;
using internal::kNever;
using internal::Stats;
// A recurrence runs its job again until it reaches the target, at most this many times (Zeus's
// simulator's bound).
constexpr int kMaxAttempts = 20;

std::vector<int> batch_sizes(const WorkloadTrace& trace) {
  std::vector<int> sizes;
  for (const BatchSizeRuns& r : trace.runs) sizes.push_back(r.batch_size);
  return sizes;
}

const BatchSizeRuns& runs_at(const WorkloadTrace& trace, int batch_size) {
  for (const BatchSizeRuns& r : trace.runs)
    if (r.batch_size == batch_size) return r;
  throw Error(
      "cannot replay " + trace.workload.name() + " (batch_size=" + std::to_string(batch_size) + ")",
      "the train trace has no run at that batch size");
}

// The limit of least epoch cost at a batch size: what just-in-time profiling finds.
int best_limit(const WorkloadTrace& trace, int batch_size, const CostModel& model) {
  int best = trace.max_power_limit_w;
  double best_cost = kNever;
  for (int limit : trace.power_limits_w) {
    const double c = epoch_cost(trace, batch_size, limit, model).cost;
    if (c < best_cost) {
      best_cost = c;
      best = limit;
    }
  }
  return best;
}

// A fixed batch size and power limit: the default and the oracle.
class FixedTuner : public Tuner {
 public:
  FixedTuner(std::string name, int batch_size, int power_limit_w)
      : name_(std::move(name)), batch_size_(batch_size), power_limit_w_(power_limit_w) {}
  std::string name() const override { return name_; }
  int next_batch_size(std::mt19937_64&) override { return batch_size_; }
  int power_limit_w(int) const override { return power_limit_w_; }
  double stop_cost(double) const override { return kNever; }
  void observe(const JobOutcome&, const EpochCost&) override {}

 private:
  std::string name_;
  int batch_size_, power_limit_w_;
};

// A normal draw of an arm's mean: N(mean, sd^2 / n).
double draw_mean(const Stats& s, double sd, std::mt19937_64& rng) {
  std::normal_distribution<double> normal(s.mean(), sd / std::sqrt(static_cast<double>(s.n)));
  return normal(rng);
}

// Zeus's optimizer, reimplemented from its paper: two rounds of pruning exploration, then
// Gaussian Thompson sampling on each size's job costs; early stopping at beta x the cheapest job
// that reached the target.
class ZeusLikeTuner : public Tuner {
 public:
  ZeusLikeTuner(const WorkloadTrace& trace, const CostModel& model)
      : model_(model), explore_(batch_sizes(trace), trace.workload.default_batch_size, 2) {}
  std::string name() const override { return "zeus-like"; }
  int next_batch_size(std::mt19937_64& rng) override {
    if (explore_.exploring()) return explore_.next();
    int best = 0;
    double best_draw = kNever;
    for (int b : explore_.survivors()) {
      const Stats& s = costs_[b];
      if (s.n == 0) return b;
      // The arm's spread: its own, or a tenth of its mean while it has one observation.
      const double sd = s.n > 1 ? std::sqrt(s.variance()) : 0.1 * s.mean();
      const double draw = draw_mean(s, sd, rng);
      if (draw < best_draw) {
        best_draw = draw;
        best = b;
      }
    }
    return best;
  }
  int power_limit_w(int) const override { return 0; }
  double stop_cost(double cheapest) const override { return model_.beta * cheapest; }
  void observe(const JobOutcome& job, const EpochCost&) override {
    costs_[job.batch_size].add(job.cost);
    if (job.reached) best_reached_ = std::min(best_reached_, job.cost);
    if (explore_.exploring() && explore_.next() == job.batch_size)
      explore_.done(!job.reached, job.cost);
  }

 private:
  CostModel model_;
  Exploration explore_;
  std::map<int, Stats> costs_;
  double best_reached_ = kNever;
};

// GreenAI's: the batch-size optimizer of recurring jobs (batch_size_optimizer.h) as a tuner, its
// epoch cost the steady one that profiling gave exactly.
class GreenAITuner : public Tuner {
 public:
  GreenAITuner(const WorkloadTrace& trace, const CostModel& model)
      : optimizer_(batch_sizes(trace), trace.workload.default_batch_size, model.beta,
                   trace.workload.max_epochs) {}
  std::string name() const override { return "greenai"; }
  int next_batch_size(std::mt19937_64& rng) override { return optimizer_.next(rng); }
  int power_limit_w(int) const override { return 0; }
  double stop_cost(double) const override { return optimizer_.stop_cost(); }
  void observe(const JobOutcome& job, const EpochCost& epoch) override {
    optimizer_.observe(
        {job.batch_size, static_cast<double>(job.epochs), job.cost, job.reached, epoch.cost});
  }

 private:
  BatchSizeOptimizer optimizer_;
};

}  // namespace

EpochCost epoch_cost(const WorkloadTrace& trace, int batch_size, int power_limit_w,
                     const CostModel& model) {
  const PowerPoint& p = trace.at(batch_size, power_limit_w);
  EpochCost e;
  e.time_s = p.seconds_per_epoch;
  e.energy_j = p.seconds_per_epoch * p.average_power_w;
  e.cost = model.eta * e.energy_j + (1 - model.eta) * trace.max_power_limit_w * e.time_s;
  return e;
}

ReplayRun replay(const WorkloadTrace& trace, Tuner& tuner, const CostModel& model, int recurrences,
                 std::mt19937_64& rng) {
  ReplayRun run;
  run.tuner = tuner.name();
  std::map<int, int> profiled;  // batch size -> the limit profiling chose
  const int cap = trace.workload.max_epochs;
  double cheapest = kNever;  // the least cost of a recurrence so far, retries included
  for (int r = 0; r < recurrences; ++r) {
    double recurrence_cost = 0;
    for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
      JobOutcome job;
      job.batch_size = tuner.next_batch_size(rng);
      int limit = tuner.power_limit_w(job.batch_size);
      job.profiled = limit == 0 && !profiled.count(job.batch_size);
      if (job.profiled) profiled[job.batch_size] = best_limit(trace, job.batch_size, model);
      if (limit == 0) limit = profiled[job.batch_size];
      job.power_limit_w = limit;
      const EpochCost steady = epoch_cost(trace, job.batch_size, limit, model);
      // Stopped before the epoch that would take the job past the bound; a job that cannot run
      // one epoch does not run: the tuner is told it cost 100 x the bound, and it chooses again.
      const double bound = tuner.stop_cost(cheapest);
      const int epochs_allowed =
          bound == kNever
              ? cap
              : static_cast<int>(std::min<double>(cap, std::floor(bound / steady.cost)));
      if (epochs_allowed <= 0) {
        JobOutcome never = job;
        never.cost = 100 * bound;
        tuner.observe(never, steady);
        continue;
      }
      const std::vector<int>& epochs = runs_at(trace, job.batch_size).epochs_to_target;
      std::uniform_int_distribution<size_t> pick(0, epochs.size() - 1);
      const int target = epochs[pick(rng)];  // 0: this run never reached it
      job.reached = target > 0 && target <= epochs_allowed;
      job.epochs = job.reached ? target : epochs_allowed;
      EpochCost first = steady;
      if (job.profiled) {  // the first epoch runs a slice at every limit, evenly
        first = {};
        const double share = 1.0 / static_cast<double>(trace.power_limits_w.size());
        for (int l : trace.power_limits_w) {
          const EpochCost c = epoch_cost(trace, job.batch_size, l, model);
          first.energy_j += share * c.energy_j;
          first.time_s += share * c.time_s;
          first.cost += share * c.cost;
        }
      }
      job.energy_j = first.energy_j + (job.epochs - 1) * steady.energy_j;
      job.time_s = first.time_s + (job.epochs - 1) * steady.time_s;
      job.cost = model.eta * job.energy_j + (1 - model.eta) * trace.max_power_limit_w * job.time_s;
      tuner.observe(job, steady);
      run.energy_j += job.energy_j;
      run.time_s += job.time_s;
      run.cost += job.cost;
      run.jobs.push_back(job);
      recurrence_cost += job.cost;
      if (job.reached) {
        ++run.reached;
        cheapest = std::min(cheapest, recurrence_cost);
        break;
      }
    }
  }
  return run;
}

std::unique_ptr<Tuner> default_tuner(const WorkloadTrace& trace) {
  runs_at(trace, trace.workload.default_batch_size);  // throws when the trace lacks it
  return std::make_unique<FixedTuner>("default", trace.workload.default_batch_size,
                                      trace.max_power_limit_w);
}

std::unique_ptr<Tuner> oracle_tuner(const WorkloadTrace& trace, const CostModel& model) {
  int best_batch = 0, best_limit_w = 0;
  double best = kNever;
  for (const BatchSizeRuns& r : trace.runs) {
    const bool always = std::all_of(r.epochs_to_target.begin(), r.epochs_to_target.end(),
                                    [&](int e) { return e > 0 && e <= trace.workload.max_epochs; });
    if (!always || r.epochs_to_target.empty()) continue;
    double mean = 0;
    for (int e : r.epochs_to_target) mean += e;
    mean /= static_cast<double>(r.epochs_to_target.size());
    for (int limit : trace.power_limits_w) {
      const double cost = mean * epoch_cost(trace, r.batch_size, limit, model).cost;
      if (cost < best) {
        best = cost;
        best_batch = r.batch_size;
        best_limit_w = limit;
      }
    }
  }
  if (!best_batch)
    throw Error("cannot replay " + trace.workload.name(),
                "no batch size reaches the target in every run within " +
                    std::to_string(trace.workload.max_epochs) + " epochs");
  return std::make_unique<FixedTuner>("oracle", best_batch, best_limit_w);
}

std::unique_ptr<Tuner> zeus_like_tuner(const WorkloadTrace& trace, const CostModel& model) {
  return std::make_unique<ZeusLikeTuner>(trace, model);
}

std::unique_ptr<Tuner> greenai_tuner(const WorkloadTrace& trace, const CostModel& model) {
  return std::make_unique<GreenAITuner>(trace, model);
}

const ReplayRun& ReplayComparison::run(const std::string& tuner) const {
  for (const ReplayRun& r : runs)
    if (r.tuner == tuner) return r;
  throw Error("cannot report replay (tuner=" + tuner + ")", "no such tuner was replayed");
}

ReplayComparison compare_tuners(const WorkloadTrace& trace, const CostModel& model, uint64_t seed) {
  ReplayComparison c;
  c.workload = trace.workload;
  c.recurrences = 2 * static_cast<int>(trace.runs.size() * trace.power_limits_w.size());
  std::vector<std::unique_ptr<Tuner>> tuners;
  tuners.push_back(default_tuner(trace));
  tuners.push_back(oracle_tuner(trace, model));
  tuners.push_back(zeus_like_tuner(trace, model));
  tuners.push_back(greenai_tuner(trace, model));
  for (auto& t : tuners) {
    std::mt19937_64 rng(seed);
    c.runs.push_back(replay(trace, *t, model, c.recurrences, rng));
  }
  c.greenai_at_most_zeus = c.run("greenai").cost <= c.run("zeus-like").cost;
  return c;
}

ReplayComparison compare_tuners_over_seeds(const WorkloadTrace& trace, const CostModel& model,
                                           uint64_t first_seed, int seeds) {
  if (seeds < 1)
    throw Error("cannot replay " + trace.workload.name() + " (seeds=" + std::to_string(seeds) + ")",
                "replay at least one seed");
  ReplayComparison sum = compare_tuners(trace, model, first_seed);
  for (int k = 1; k < seeds; ++k) {
    const ReplayComparison c = compare_tuners(trace, model, first_seed + k);
    for (size_t i = 0; i < sum.runs.size(); ++i) {
      ReplayRun& s = sum.runs[i];
      const ReplayRun& r = c.runs[i];
      s.energy_j += r.energy_j;
      s.time_s += r.time_s;
      s.cost += r.cost;
      s.reached += r.reached;
      s.jobs.insert(s.jobs.end(), r.jobs.begin(), r.jobs.end());
    }
    sum.greenai_at_most_zeus += c.greenai_at_most_zeus;
  }
  sum.seeds = seeds;
  for (ReplayRun& s : sum.runs) {
    s.energy_j /= seeds;
    s.time_s /= seeds;
    s.cost /= seeds;
  }
  return sum;
}

}  // namespace greenai::tune
