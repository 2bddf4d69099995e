// One rank of the dist tests, started by dist_test with torchrun's variables. Modes:
//   allreduce OUT   (each rank writes OUT<rank>) sums [rank + 1, 10 (rank + 1)] and gathers rank
//   x 1.5; writes both train OUT       three SGD steps of a small MLP on its shard of a fixed
//   global batch of 8,
//                   gradients averaged with allreduce_gradients; writes the final parameters
//   join            joins and leaves (for the timeout test: run alone as rank 1)
#include <torch/torch.h>

#include <cstdio>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <string>

#include "greenai/dist/process_group.h"
#include "greenai/error.h"

using namespace greenai;

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  const std::string mode = argv[1];
  torch::set_num_threads(1);
  try {
    dist::Rendezvous r = dist::Rendezvous::from_env();
    if (const char* t = std::getenv("GREENAI_DIST_TIMEOUT_S")) r.timeout_s = std::atof(t);
    auto group = dist::Group::join(r);
    std::ofstream out(argc > 2 ? argv[2] + std::to_string(r.rank) : std::string("/dev/null"));
    out << std::setprecision(17);
    if (mode == "allreduce") {
      std::vector<torch::Tensor> t{torch::tensor({1.0f * (r.rank + 1), 10.0f * (r.rank + 1)})};
      group->allreduce_sum(t);
      out << t[0][0].item<float>() << " " << t[0][1].item<float>() << "\n";
      for (double v : group->allgather(1.5 * r.rank)) out << v << " ";
      out << "\n";
    } else if (mode == "train") {
      torch::manual_seed(static_cast<uint64_t>(r.rank) + 7);  // different on purpose: the
      torch::nn::Sequential net(torch::nn::Linear(4, 8), torch::nn::Tanh(),
                                torch::nn::Linear(8, 3));
      dist::broadcast_parameters(*group, net->parameters());  // start from rank 0's
      torch::manual_seed(123);
      const torch::Tensor x = torch::randn({8, 4});
      const torch::Tensor y = torch::randint(0, 3, {8});
      const int64_t shard = 8 / r.world_size;
      torch::optim::SGD sgd(net->parameters(), torch::optim::SGDOptions(0.1));
      for (int step = 0; step < 3; ++step) {
        sgd.zero_grad();
        const auto xs = x.narrow(0, r.rank * shard, shard), ys = y.narrow(0, r.rank * shard, shard);
        torch::nn::functional::cross_entropy(net->forward(xs), ys).backward();
        // Two buckets of a few parameters each, to exercise the bucketing.
        dist::allreduce_gradients(*group, net->parameters(), 100);
        sgd.step();
      }
      for (const auto& p : net->parameters()) {
        const auto flat = p.detach().reshape({-1});
        for (int64_t i = 0; i < flat.numel(); ++i) out << flat[i].item<float>() << "\n";
      }
    }
    group->barrier();
  } catch (const Error& e) {
    std::cerr << e.what() << " (" << e.hint() << ")\n";
    return 3;
  }
  return 0;
}
