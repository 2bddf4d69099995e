// Helpers shared by the LibTorch commands of greenai-torch.
#include "cli/torch_common.h"

#include <thread>

#include "cli/tracking_flags.h"
#include "greenai/edge/format.h"

namespace greenai::cli {

using util::Json;

std::vector<OptionSpec> common_specs(std::vector<OptionSpec> own) {
  for (auto s : tracking_option_specs(/*json_is_log=*/false)) own.push_back(s);
  for (const char* name : {"data", "limit-train", "limit-test", "threads", "seed"})
    own.push_back({name, true});
  own.push_back({"json", false});
  own.push_back({"quiet", false});
  own.push_back({"help", false});
  return own;
}

// Threads first: fp32 and bf16 figures are only comparable with the same, deliberate count.
void configure_threads(const ParsedArgs& args) {
  int64_t threads = integer(args, "threads", std::max(1u, std::thread::hardware_concurrency()), 1);
  torch::set_num_threads(static_cast<int>(threads));
}

jobs::TrainData load_data(const ParsedArgs& args, bool need_train) {
  std::string dir = args.get("data").value_or(nn::default_fashion_mnist_dir());
  jobs::TrainData data;
  if (need_train)
    data.train =
        nn::load_fashion_mnist(nn::Split::kTrain, dir).head(integer(args, "limit-train", 0, 0));
  data.test = nn::load_fashion_mnist(nn::Split::kTest, dir).head(integer(args, "limit-test", 0, 0));
  return data;
}

int print_result(const ParsedArgs& args, const Json& result, const std::string& headline) {
  if (args.has("json"))
    std::cout << result.dump(2) << "\n";
  else
    std::cout << headline;
  return 0;
}

}  // namespace greenai::cli
