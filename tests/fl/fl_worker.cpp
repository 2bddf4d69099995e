// One client process of the remote fl tests: serve_client on synthetic data. Modes:
//   good   trains every round it is sent
//   die    kills itself (SIGKILL) as round 2 starts: a client gone mid-round
//   wide   trains a model twice the server's width: its updates do not fit
// usage: fl_worker MODE PORT CLIENT
#include <torch/torch.h>

#include <csignal>
#include <iostream>
#include <string>

#include "fl/synthetic.h"
#include "greenai/error.h"
#include "greenai/fl/remote.h"

using namespace greenai;

int main(int argc, char** argv) {
  if (argc != 4) return 2;
  const std::string mode = argv[1];
  torch::set_num_threads(1);
  try {
    const nn::Dataset train = fl::testing::synthetic(600, 11);
    auto tracker = track::Tracker::for_this_process({.background_sampler = false});
    tracker->start();
    fl::ClientOptions o;
    o.timeout_s = 20;
    o.heartbeat_s = 0.05;
    if (mode == "wide") o.hidden = 64;
    fl::serve_client("127.0.0.1", std::stoi(argv[2]), std::stoi(argv[3]), train, o, *tracker,
                     [&](int round) {
                       if (mode == "die" && round == 2) std::raise(SIGKILL);
                     });
    tracker->stop();
  } catch (const Error& e) {
    std::cerr << e.what() << " (" << e.hint() << ")\n";
    return 3;
  }
  return 0;
}
