// bf16 against fp32 training of the teacher, measured side by side in one run:
//  1. step time at several batch sizes, fp32 and bf16 alternating, median of the repeats;
//  2. the trainer end to end (same seed, same data, same epochs) in fp32 then bf16:
//     examples per second and test accuracy.
//
//   build/release/bench/greenai_precision_bench [--threads N] [--epochs E] [--batch B]
// Reports ratios; never fails on timing.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "greenai/nn/trainer.h"

namespace {

using namespace greenai::nn;
using Clock = std::chrono::steady_clock;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Milliseconds per optimizer step of the teacher at `batch`, each precision alternately.
std::pair<double, double> step_ms(int64_t batch, int repeats) {
  torch::manual_seed(0);
  Net net(teacher_spec());
  net->train();
  torch::optim::Adam adam(net->parameters(), torch::optim::AdamOptions(1e-3));
  torch::Tensor x = torch::rand({batch, 1, 28, 28}), y = torch::randint(0, 10, {batch});
  auto one = [&](Precision p) {
    auto start = Clock::now();
    torch::Tensor loss;
    {
      AutocastScope autocast(p, torch::kCPU);
      loss = torch::nn::functional::cross_entropy(net->forward(x).to(torch::kFloat32), y);
    }
    adam.zero_grad();
    loss.backward();
    adam.step();
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  };
  for (int i = 0; i < 3; ++i) one(Precision::kFp32), one(Precision::kBf16);  // warm-up
  std::vector<double> fp32, bf16;
  for (int i = 0; i < repeats; ++i) {
    fp32.push_back(one(Precision::kFp32));
    bf16.push_back(one(Precision::kBf16));
  }
  return {median(fp32), median(bf16)};
}

}  // namespace

int main(int argc, char** argv) {
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  int epochs = 3;
  int64_t batch = 256;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--epochs")) epochs = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--batch")) batch = std::atoll(argv[i + 1]);
  }
  torch::set_num_threads(threads);
  std::printf("teacher 784-1200-1200-10, Adam, %d thread(s), BLAS %s\n", threads,
              loaded_blas().c_str());
  std::printf(
      "1. step time, median of 20 alternating steps\n   batch   fp32 ms   bf16 ms   bf16 "
      "speed-up\n");
  for (int64_t b : {64, 128, 256, 512}) {
    auto [fp32, bf16] = step_ms(b, 20);
    std::printf("   %5lld  %8.2f  %8.2f   %.2fx\n", static_cast<long long>(b), fp32, bf16,
                fp32 / bf16);
  }
  Dataset train_set = load_fashion_mnist(Split::kTrain),
          test_set = load_fashion_mnist(Split::kTest);
  std::printf("2. trainer, %d epochs at batch %lld, seed 1, full Fashion-MNIST\n", epochs,
              static_cast<long long>(batch));
  double fp32_rate = 0, fp32_accuracy = 0;
  for (Precision p : {Precision::kFp32, Precision::kBf16}) {
    torch::manual_seed(1);
    Net net(teacher_spec());
    TrainReport r = train(net, train_set, test_set, cross_entropy_loss(),
                          {.epochs = epochs,
                           .batch_size = batch,
                           .precision = p,
                           .seed = 1,
                           .evaluate_every_epoch = false});
    std::printf("   %s: %8.0f examples/s, test accuracy %.2f %%", to_string(p), r.examples_per_s,
                100 * r.final_test.accuracy);
    if (p == Precision::kFp32) {
      fp32_rate = r.examples_per_s;
      fp32_accuracy = r.final_test.accuracy;
      std::printf("\n");
    } else {
      std::printf("  -> throughput %.2fx fp32, accuracy %+.2f points\n",
                  r.examples_per_s / fp32_rate, 100 * (r.final_test.accuracy - fp32_accuracy));
    }
  }
  return 0;
}
