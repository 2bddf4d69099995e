// The Q-network of the DQN agents (CartPole's and the site's): an MLP of ReLU hidden layers, one
// output per action; and the copy of one network's weights into another of the same shape (the
// target network's refresh, the best weights kept).
//
//   torch::nn::Sequential online = rl::make_q_network(13, {128, 128}, 11);
//   rl::copy_parameters(online, target);
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace greenai::rl {

torch::nn::Sequential make_q_network(int64_t inputs, const std::vector<int64_t>& hidden,
                                     int64_t actions);
/// `from`'s parameters copied into `to`'s (no gradient recorded).
void copy_parameters(const torch::nn::Sequential& from, torch::nn::Sequential& to);

}  // namespace greenai::rl
