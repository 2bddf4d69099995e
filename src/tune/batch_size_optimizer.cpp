// GreenAI's batch-size optimizer for recurring jobs (batch_size_optimizer.h).
#include "greenai/tune/batch_size_optimizer.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include "greenai/error.h"
#include "greenai/util/file.h"
#include "tune/internal/exploration.h"

namespace greenai::tune {

using internal::kNever;
using internal::Stats;

struct BatchSizeOptimizer::Impl {
  std::vector<int> sizes;
  double beta = 2, max_epochs = 0;
  int runs = 0;
  internal::Exploration explore;
  std::map<int, Stats> epochs, reached_epochs;
  std::map<int, double> epoch_cost;

  // The spread of epochs to target relative to the size's mean, pooled over sizes (training runs
  // that differ only in seed scatter alike whatever the batch size), under a prior of kPriorDof
  // pseudo-observations at kPriorRelativeSd (Zeus's traces: runs of one configuration differ by
  // 0 to 10 % in epochs): as narrow as the runs show once there are several (none at all in a
  // trace whose runs always take 3 epochs). The two constants were chosen on Zeus's traces
  // (replays of seeds 0 to 49 on V100 and A40).
  double pooled_relative_variance() const {
    constexpr double kPriorRelativeSd = 0.05, kPriorDof = 2;
    double squares = kPriorDof * kPriorRelativeSd * kPriorRelativeSd, dof = kPriorDof;
    for (const auto& [b, s] : epochs) {
      if (s.n < 2 || s.mean() <= 0) continue;
      squares += s.variance() * (s.n - 1) / (s.mean() * s.mean());
      dof += s.n - 1;
    }
    return squares / dof;
  }
};

BatchSizeOptimizer::BatchSizeOptimizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BatchSizeOptimizer::~BatchSizeOptimizer() = default;
BatchSizeOptimizer::BatchSizeOptimizer(BatchSizeOptimizer&&) noexcept = default;
BatchSizeOptimizer& BatchSizeOptimizer::operator=(BatchSizeOptimizer&&) noexcept = default;

BatchSizeOptimizer::BatchSizeOptimizer(std::vector<int> sizes, int default_size, double beta,
                                       double max_epochs)
    : impl_(std::make_unique<Impl>()) {
  std::sort(sizes.begin(), sizes.end());
  if (sizes.empty() || sizes.front() < 1 ||
      std::adjacent_find(sizes.begin(), sizes.end()) != sizes.end())
    throw Error("cannot optimise the batch size", "give distinct positive batch sizes");
  if (std::find(sizes.begin(), sizes.end(), default_size) == sizes.end())
    throw Error("cannot optimise the batch size (default=" + std::to_string(default_size) + ")",
                "the default must be one of the batch sizes");
  if (!(beta > 1)) throw Error("cannot optimise the batch size", "beta must be above 1");
  if (!(max_epochs > 0)) throw Error("cannot optimise the batch size", "the epoch cap must be > 0");
  impl_->sizes = sizes;
  impl_->beta = beta;
  impl_->max_epochs = max_epochs;
  impl_->explore = internal::Exploration(sizes, default_size, 1);
}

bool BatchSizeOptimizer::exploring() const { return impl_->explore.exploring(); }
std::vector<int> BatchSizeOptimizer::survivors() const { return impl_->explore.survivors(); }
int BatchSizeOptimizer::runs() const { return impl_->runs; }

double BatchSizeOptimizer::mean_epochs(int batch_size) const {
  const auto it = impl_->epochs.find(batch_size);
  return it == impl_->epochs.end() || it->second.n == 0 ? 0 : it->second.mean();
}

double BatchSizeOptimizer::cost_per_epoch(int batch_size) const {
  const auto it = impl_->epoch_cost.find(batch_size);
  return it == impl_->epoch_cost.end() ? 0 : it->second;
}

int BatchSizeOptimizer::next(std::mt19937_64& rng) {
  Impl& m = *impl_;
  if (m.explore.exploring()) return m.explore.next();
  const std::vector<int> arms = m.explore.survivors();
  for (int b : arms)
    if (m.epochs[b].n == 0 || !m.epoch_cost.count(b)) return b;
  // Empirical Bayes over the sizes' mean epochs (a normal prior N(grand mean, between^2) whose
  // spread the arms' own means estimate, net of their sampling noise): a size seen once is
  // pulled toward what the others take, as far as the sizes are seen to agree.
  const double relative_var = m.pooled_relative_variance();
  double grand = 0, noise = 0;
  for (int b : arms) {
    const Stats& s = m.epochs[b];
    grand += s.mean();
    noise += relative_var * s.mean() * s.mean() / s.n;
  }
  grand /= static_cast<double>(arms.size());
  noise /= static_cast<double>(arms.size());
  double spread = 0;
  for (int b : arms) spread += (m.epochs[b].mean() - grand) * (m.epochs[b].mean() - grand);
  spread = arms.size() > 1 ? spread / static_cast<double>(arms.size() - 1) : 0;
  // A floor on the sizes' disagreement (2 % of the mean), so that no size is written off unseen.
  constexpr double kMinBetweenRelativeSd = 0.02;
  const double between = std::max(spread - noise, std::pow(kMinBetweenRelativeSd * grand, 2));
  int best = arms.front();
  double best_draw = kNever;
  for (int b : arms) {
    const Stats& s = m.epochs[b];
    const double within = std::max(relative_var * s.mean() * s.mean() / s.n, 1e-12);
    const double precision = 1 / between + 1 / within;
    const double mean = (grand / between + s.mean() / within) / precision;
    std::normal_distribution<double> normal(mean, std::sqrt(1 / precision));
    const double draw = normal(rng) * m.epoch_cost[b];
    if (draw < best_draw) {
      best_draw = draw;
      best = b;
    }
  }
  return best;
}

double BatchSizeOptimizer::stop_cost() const {
  double best = kNever;
  for (const auto& [b, s] : impl_->reached_epochs)
    if (s.n && impl_->epoch_cost.count(b))
      best = std::min(best, s.mean() * impl_->epoch_cost.at(b));
  return impl_->beta * best;
}

void BatchSizeOptimizer::observe(const BatchSizeRun& run) {
  Impl& m = *impl_;
  if (std::find(m.sizes.begin(), m.sizes.end(), run.batch_size) == m.sizes.end())
    throw Error("cannot record a run (batch_size=" + std::to_string(run.batch_size) + ")",
                "it is not one of the optimizer's batch sizes");
  if (!(run.epochs >= 0) || !(run.cost >= 0) || !std::isfinite(run.cost) ||
      !(run.cost_per_epoch >= 0) || (run.reached && !(run.epochs > 0)))
    throw Error("cannot record a run (batch_size=" + std::to_string(run.batch_size) + ")",
                "its epochs and cost must be finite and not negative (a run that reached the "
                "target ran at least part of an epoch)");
  ++m.runs;
  if (run.cost_per_epoch > 0)
    m.epoch_cost[run.batch_size] = run.cost_per_epoch;
  else if (run.epochs > 0)
    m.epoch_cost[run.batch_size] = run.cost / run.epochs;
  m.epochs[run.batch_size].add(run.reached ? run.epochs : m.max_epochs);
  if (run.reached) m.reached_epochs[run.batch_size].add(run.epochs);
  if (m.explore.exploring() && m.explore.next() == run.batch_size)
    m.explore.done(!run.reached, run.cost);
}

util::Json BatchSizeOptimizer::to_json() const {
  const Impl& m = *impl_;
  util::Json sizes = util::Json::array(), arms = util::Json::array();
  for (int b : m.sizes) {
    sizes.push(b);
    util::Json arm = util::Json::object().set("batch_size", b);
    if (auto it = m.epochs.find(b); it != m.epochs.end()) arm.set("epochs", it->second.to_json());
    if (auto it = m.reached_epochs.find(b); it != m.reached_epochs.end())
      arm.set("reached_epochs", it->second.to_json());
    if (auto it = m.epoch_cost.find(b); it != m.epoch_cost.end())
      arm.set("cost_per_epoch", it->second);
    arms.push(arm);
  }
  return util::Json::object()
      .set("version", 1)
      .set("sizes", sizes)
      .set("beta", m.beta)
      .set("max_epochs", m.max_epochs)
      .set("runs", m.runs)
      .set("exploration", m.explore.to_json())
      .set("arms", arms);
}

BatchSizeOptimizer BatchSizeOptimizer::from_json(const util::Json& json,
                                                 const std::string& source) {
  const auto fail = [&](const std::string& what) {
    return Error("cannot read batch-size optimizer state (path=" + source + ")", what,
                 "delete it to start the optimizer afresh");
  };
  try {
    auto m = std::make_unique<Impl>();
    if (json.at("version").number() != 1) throw fail("unknown version");
    for (const util::Json& v : json.at("sizes").items())
      m->sizes.push_back(static_cast<int>(v.number()));
    m->beta = json.at("beta").number();
    m->max_epochs = json.at("max_epochs").number();
    m->runs = static_cast<int>(json.at("runs").number());
    if (!(m->beta > 1) || !(m->max_epochs > 0) || m->runs < 0)
      throw fail("beta, cap or runs out of range");
    m->explore = internal::Exploration::from_json(json.at("exploration"), fail);
    if (m->explore.sizes() != m->sizes)
      throw fail("the exploration's sizes are not the optimizer's");
    for (const util::Json& a : json.at("arms").items()) {
      const int b = static_cast<int>(a.at("batch_size").number());
      if (std::find(m->sizes.begin(), m->sizes.end(), b) == m->sizes.end())
        throw fail("an arm of an unknown batch size");
      if (const util::Json* e = a.find("epochs")) m->epochs[b] = Stats::from_json(*e);
      if (const util::Json* e = a.find("reached_epochs"))
        m->reached_epochs[b] = Stats::from_json(*e);
      if (const util::Json* c = a.find("cost_per_epoch")) m->epoch_cost[b] = c->number();
    }
    for (const auto& [b, s] : m->epochs)
      if (s.n < 0 || (s.n > 0 && !(s.mean() > 0))) throw fail("an arm's epochs are not positive");
    return BatchSizeOptimizer(std::move(m));
  } catch (const Error& e) {
    if (std::string(e.what()).rfind("cannot read batch-size optimizer state", 0) == 0) throw;
    throw fail(e.what());
  }
}

BatchSizeOptimizer BatchSizeOptimizer::load_or_create(const std::string& path,
                                                      std::vector<int> sizes, int default_size,
                                                      double beta, double max_epochs) {
  if (!std::filesystem::exists(path))
    return BatchSizeOptimizer(std::move(sizes), default_size, beta, max_epochs);
  std::string text = util::read_file(path);
  util::Json json;
  try {
    json = util::Json::parse(text);
  } catch (const Error& e) {
    throw Error("cannot read batch-size optimizer state (path=" + path + ")",
                std::string("not JSON: ") + e.what(), "delete it to start the optimizer afresh");
  }
  BatchSizeOptimizer opt = from_json(json, path);
  std::sort(sizes.begin(), sizes.end());
  if (!sizes.empty() && sizes != opt.impl_->sizes)
    throw Error("cannot use batch-size optimizer state (path=" + path + ")",
                "it was made for other batch sizes",
                "give the same --batch-sizes, or another state file for these");
  return opt;
}

void BatchSizeOptimizer::save(const std::string& path) const {
  util::write_file_atomic(path, to_json().dump(2) + "\n");
}

}  // namespace greenai::tune
