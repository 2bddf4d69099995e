// Experience replay (replay_buffer.h).
#include "greenai/rl/replay_buffer.h"

#include <algorithm>
#include <vector>

namespace greenai::rl {

ReplayBuffer::ReplayBuffer(int64_t capacity, int64_t state_size)
    : states_(torch::zeros({capacity, state_size})),
      next_(torch::zeros({capacity, state_size})),
      actions_(torch::zeros({capacity}, torch::kLong)),
      rewards_(torch::zeros({capacity})),
      terminal_(torch::zeros({capacity})),
      capacity_(capacity),
      state_size_(state_size) {}

void ReplayBuffer::add(const float* state, int64_t action, double reward, const float* next,
                       bool terminal) {
  std::copy(state, state + state_size_, states_.data_ptr<float>() + at_ * state_size_);
  std::copy(next, next + state_size_, next_.data_ptr<float>() + at_ * state_size_);
  actions_.data_ptr<int64_t>()[at_] = action;
  rewards_.data_ptr<float>()[at_] = static_cast<float>(reward);
  terminal_.data_ptr<float>()[at_] = terminal ? 1.0f : 0.0f;
  at_ = (at_ + 1) % capacity_;
  size_ = std::min(size_ + 1, capacity_);
}

ReplayBuffer::Batch ReplayBuffer::sample(int64_t n, std::mt19937_64& rng) const {
  std::vector<int64_t> index(static_cast<size_t>(n));
  std::uniform_int_distribution<int64_t> pick(0, size_ - 1);
  for (auto& i : index) i = pick(rng);
  const auto idx = torch::tensor(index);
  return {states_.index_select(0, idx), actions_.index_select(0, idx),
          rewards_.index_select(0, idx), next_.index_select(0, idx),
          terminal_.index_select(0, idx)};
}

}  // namespace greenai::rl
