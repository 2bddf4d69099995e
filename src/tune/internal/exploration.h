// Pieces of the batch-size optimizers shared by the replay (replay.cpp) and the persistent
// optimizer of recurring jobs (batch_size_optimizer.cpp): Zeus's pruning exploration and running
// sums, each with its state as JSON for the optimizer's file.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "greenai/error.h"
#include "greenai/util/json.h"

namespace greenai::tune::internal {

inline constexpr double kNever = std::numeric_limits<double>::infinity();

// Zeus's pruning exploration: rounds of the default batch size, then smaller sizes in decreasing
// order until one fails, then larger ones in increasing order until one fails; a failed size and
// those past it in its direction are pruned. Each round after the first starts from the size of
// least cost that reached the target in the round before (as Zeus's PruningExploreManager).
class Exploration {
 public:
  Exploration() = default;
  Exploration(std::vector<int> sizes, int default_size, int rounds)
      : sizes_(std::move(sizes)), pruned_(sizes_.size(), false), rounds_(rounds) {
    default_ =
        static_cast<int>(std::find(sizes_.begin(), sizes_.end(), default_size) - sizes_.begin());
    if (default_ == static_cast<int>(sizes_.size())) default_ = static_cast<int>(sizes_.size()) / 2;
    start_round();
  }
  bool exploring() const { return !queue_.empty(); }
  int next() const { return sizes_[queue_.front()]; }
  // The outcome of the size next() gave.
  void done(bool failed, double cost) {
    const int i = queue_.front();
    queue_.erase(queue_.begin());
    if (!failed && cost < round_best_cost_) {
      round_best_cost_ = cost;
      round_best_ = i;
    }
    if (failed) {
      pruned_[i] = true;
      // Past it in its direction (the default leads the way down): pruned, and off this round's
      // queue.
      for (size_t j = 0; j < sizes_.size(); ++j)
        if ((i <= default_ && static_cast<int>(j) < i) || (i > default_ && static_cast<int>(j) > i))
          pruned_[j] = true;
      queue_.erase(std::remove_if(queue_.begin(), queue_.end(), [&](int j) { return pruned_[j]; }),
                   queue_.end());
    }
    if (queue_.empty()) start_round();
  }
  const std::vector<int>& sizes() const { return sizes_; }
  /// {"sizes", "pruned", "queue", "default", "rounds", "round_best", "round_best_cost"}.
  util::Json to_json() const {
    util::Json sizes = util::Json::array(), pruned = util::Json::array(),
               queue = util::Json::array();
    for (size_t i = 0; i < sizes_.size(); ++i) {
      sizes.push(sizes_[i]);
      pruned.push(static_cast<bool>(pruned_[i]));
    }
    for (int q : queue_) queue.push(q);
    return util::Json::object()
        .set("sizes", sizes)
        .set("pruned", pruned)
        .set("queue", queue)
        .set("default", default_)
        .set("rounds", rounds_)
        .set("round_best", round_best_)
        .set("round_best_cost",
             std::isfinite(round_best_cost_) ? util::Json(round_best_cost_) : util::Json());
  }
  /// Throws greenai::Error (from `fail`) when the state does not hold together.
  template <typename Fail>
  static Exploration from_json(const util::Json& j, Fail fail) {
    Exploration e;
    const auto whole = [&](const util::Json& v, int lo, int hi) {
      if (v.type() != util::Json::Type::kNumber || v.number() != std::floor(v.number()) ||
          v.number() < lo || v.number() > hi)
        throw fail("exploration: a count is not a whole number in range");
      return static_cast<int>(v.number());
    };
    for (const util::Json& v : j.at("sizes").items()) e.sizes_.push_back(whole(v, 1, 1 << 30));
    const int n = static_cast<int>(e.sizes_.size());
    if (n == 0) throw fail("exploration: no batch size");
    for (const util::Json& v : j.at("pruned").items()) e.pruned_.push_back(v.boolean());
    if (static_cast<int>(e.pruned_.size()) != n) throw fail("exploration: pruned flags per size");
    for (const util::Json& v : j.at("queue").items()) e.queue_.push_back(whole(v, 0, n - 1));
    e.default_ = whole(j.at("default"), 0, n - 1);
    e.rounds_ = whole(j.at("rounds"), -1000, 1000);
    e.round_best_ = whole(j.at("round_best"), -1, n - 1);
    const util::Json& c = j.at("round_best_cost");
    e.round_best_cost_ = c.is_null() ? kNever : c.number();
    return e;
  }
  std::vector<int> survivors() const {
    std::vector<int> s;
    for (size_t i = 0; i < sizes_.size(); ++i)
      if (!pruned_[i]) s.push_back(sizes_[i]);
    if (s.empty()) s.push_back(sizes_[default_]);  // nothing survived: keep the default
    return s;
  }

 private:
  void start_round() {
    if (rounds_-- <= 0) return;
    if (round_best_ >= 0) default_ = round_best_;
    round_best_ = -1;
    round_best_cost_ = kNever;
    if (!pruned_[default_]) queue_.push_back(default_);
    for (int i = default_ - 1; i >= 0; --i)
      if (!pruned_[i]) queue_.push_back(i);
    for (int i = default_ + 1; i < static_cast<int>(sizes_.size()); ++i)
      if (!pruned_[i]) queue_.push_back(i);
  }
  std::vector<int> sizes_;
  std::vector<bool> pruned_;
  std::vector<int> queue_;
  int default_ = 0;
  int rounds_;
  int round_best_ = -1;  // the reached size of least cost this round
  double round_best_cost_ = kNever;
};

struct Stats {  // running sums of one batch size's observations
  int n = 0;
  double sum = 0, sum_sq = 0;
  void add(double v) {
    ++n;
    sum += v;
    sum_sq += v * v;
  }
  double mean() const { return sum / n; }
  double variance() const { return n > 1 ? std::max(0.0, (sum_sq - sum * sum / n) / (n - 1)) : 0; }
  util::Json to_json() const {
    return util::Json::object().set("n", n).set("sum", sum).set("sum_sq", sum_sq);
  }
  static Stats from_json(const util::Json& j) {
    Stats s;
    s.n = static_cast<int>(j.at("n").number());
    s.sum = j.at("sum").number();
    s.sum_sq = j.at("sum_sq").number();
    return s;
  }
};

}  // namespace greenai::tune::internal
