// Experience replay for the DQN agents (CartPole's and the site's): transitions in preallocated
// tensors, overwritten oldest first, sampled uniformly with replacement.
//
//   rl::ReplayBuffer buffer(100000, /*state_size=*/13);
//   buffer.add(state, action, reward, next_state, /*terminal=*/false);
//   rl::ReplayBuffer::Batch b = buffer.sample(128, rng);   // b.states: [128, 13]
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <random>

namespace greenai::rl {

class ReplayBuffer {
 public:
  ReplayBuffer(int64_t capacity, int64_t state_size);
  /// `state` and `next` hold state_size values each.
  void add(const float* state, int64_t action, double reward, const float* next, bool terminal);
  int64_t size() const { return size_; }

  struct Batch {
    torch::Tensor states, actions, rewards, next, terminal;  ///< terminal: 1 or 0 (float)
  };
  /// `n` transitions drawn uniformly, with replacement, from those held.
  Batch sample(int64_t n, std::mt19937_64& rng) const;

 private:
  torch::Tensor states_, next_, actions_, rewards_, terminal_;
  int64_t capacity_, state_size_, at_ = 0, size_ = 0;
};

}  // namespace greenai::rl
