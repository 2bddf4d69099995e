// The traces published with Zeus (You, Chung and Chowdhury, "Zeus: Understanding and Optimizing
// GPU Energy Consumption of DNN Training", NSDI 2023; ml-energy/zeus, Apache-2.0): for six
// training workloads, the epochs each run (seed) took to reach a target validation metric at each
// batch size (the train trace), and the seconds per epoch and average GPU power at each batch size
// and GPU power limit (one power trace per GPU). Together they let a tuner of batch size and power
// limit be replayed over recurring jobs without a GPU.
//
//   const auto traces = tune::load_zeus_traces("/data/zeus_nsdi23", "v100");
//   for (const tune::WorkloadTrace& t : traces) ...
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace greenai::tune {

/// A training workload and the setup Zeus's recurring-job experiments give it (its repository's
/// examples/research_reproducibility/zeus_nsdi23/run_alibaba.py): the target of the validation
/// metric, the epoch cap, and the default batch size.
struct Workload {
  std::string dataset, network, optimizer;
  double target_metric = 0;
  int max_epochs = 0;
  int default_batch_size = 0;
  std::string name() const { return dataset + "/" + network; }
};

/// Zeus's six workloads with that setup.
std::vector<Workload> zeus_workloads();

/// The runs at one batch size: the epoch at which each reached the target, 0 for a run that never
/// did (within the trace's epochs).
struct BatchSizeRuns {
  int batch_size = 0;
  std::vector<int> epochs_to_target;
};

/// One point of the power trace.
struct PowerPoint {
  int batch_size = 0;
  int power_limit_w = 0;
  double seconds_per_epoch = 0;
  double average_power_w = 0;
};

/// A workload's traces on one GPU: the batch sizes present in both traces (ascending), their
/// runs, and the power points of those batch sizes.
struct WorkloadTrace {
  Workload workload;
  std::vector<BatchSizeRuns> runs;
  std::vector<PowerPoint> power;
  std::vector<int> power_limits_w;  ///< ascending
  int max_power_limit_w = 0;
  /// The power point of (batch size, limit); throws greenai::Error when the trace lacks it.
  const PowerPoint& at(int batch_size, int power_limit_w) const;
};

/// Builds one workload's trace from the two CSV texts (headers as Zeus writes them; the optimizer
/// matched case-insensitively). Throws greenai::Error naming the file, the line and the problem
/// for malformed rows, and when the workload has no batch size in both traces. `train_name` and
/// `power_name` name the texts in messages.
WorkloadTrace parse_workload_trace(std::string_view train_csv, std::string_view power_csv,
                                   const Workload& workload, const std::string& train_name,
                                   const std::string& power_name);

/// Reads `dir`/summary_train.csv and `dir`/summary_power_`gpu`.csv for Zeus's six workloads.
std::vector<WorkloadTrace> load_zeus_traces(const std::string& dir, const std::string& gpu);

}  // namespace greenai::tune
