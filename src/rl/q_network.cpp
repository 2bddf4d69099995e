// The DQN agents' Q-network (q_network.h).
#include "greenai/rl/q_network.h"

namespace greenai::rl {

torch::nn::Sequential make_q_network(int64_t inputs, const std::vector<int64_t>& hidden,
                                     int64_t actions) {
  torch::nn::Sequential net;
  for (int64_t width : hidden) {
    net->push_back(torch::nn::Linear(inputs, width));
    net->push_back(torch::nn::ReLU());
    inputs = width;
  }
  net->push_back(torch::nn::Linear(inputs, actions));
  return net;
}

void copy_parameters(const torch::nn::Sequential& from, torch::nn::Sequential& to) {
  torch::NoGradGuard no_grad;
  const auto src = from->parameters();
  auto dst = to->parameters();
  for (size_t i = 0; i < src.size(); ++i) dst[i].copy_(src[i]);
}

}  // namespace greenai::rl
