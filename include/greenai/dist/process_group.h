// Ranks of one job joined through PyTorch's own distributed engine (c10d): a TCPStore rendezvous
// with torchrun's variables (MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE) and a Gloo process group
// over which gradients are averaged, as DistributedDataParallel averages them.
//
//   auto group = dist::Group::join(dist::Rendezvous::from_env());
//   loss.backward();
//   dist::allreduce_gradients(*group, model->parameters());   // the mean over ranks
//   optimizer.step();
#pragma once

#include <torch/torch.h>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace greenai::dist {

struct Rendezvous {
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  int rank = 0;
  int world_size = 1;
  double timeout_s = 60;  ///< how long to wait for the others to join, and for a collective
  /// torchrun's MASTER_ADDR, MASTER_PORT, RANK and WORLD_SIZE (defaults where unset); throws
  /// greenai::Error naming a malformed one.
  static Rendezvous from_env();
};

/// A Gloo process group of `size()` ranks.
class Group {
 public:
  /// Joins (rank 0 hosts the store). Throws greenai::Error naming the address waited on when the
  /// others do not join within the timeout, or for a rank outside [0, world_size).
  static std::unique_ptr<Group> join(const Rendezvous& rendezvous);
  ~Group();
  int rank() const;
  int size() const;
  /// Sums each tensor over the ranks, in place (blocking).
  void allreduce_sum(std::vector<torch::Tensor>& tensors);
  /// One double from every rank, in rank order (on every rank).
  std::vector<double> allgather(double value);
  void barrier();
  /// Rank `root`'s tensors copied into everyone's, in place.
  void broadcast(std::vector<torch::Tensor>& tensors, int root = 0);

 private:
  struct Impl;
  explicit Group(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  friend void allreduce_gradients(Group&, const std::vector<torch::Tensor>&, size_t);
};

/// Averages the gradients of `parameters` over the group: flattened into buckets of at most
/// `bucket_bytes` (DDP's 25 MiB by default), each bucket's all-reduce started as soon as it is
/// packed so that it travels while the next is packed, then divided by the group size and
/// unpacked. Parameters without a gradient count as zeros. Throws greenai::Error when a rank's
/// parameters differ in count or shape from the others' (the collective fails).
void allreduce_gradients(Group& group, const std::vector<torch::Tensor>& parameters,
                         size_t bucket_bytes = 25u << 20);

/// Every rank's parameters made rank 0's (the start of data-parallel training).
void broadcast_parameters(Group& group, const std::vector<torch::Tensor>& parameters);

/// A job of local ranks: `argv` (argv[0] the program; "/proc/self/exe" for this one) started
/// `world` times with torchrun's variables added to the environment (MASTER_ADDR 127.0.0.1, a
/// free loopback port, RANK, LOCAL_RANK, WORLD_SIZE; `extra_env` wins over them). A rank's stdout
/// and stderr go to stdout_paths[r] / stderr_paths[r] when given ("" keeps the parent's).
struct LocalJob {
  std::vector<std::string> argv;
  int world = 2;
  std::vector<std::string> extra_env;
  std::vector<std::string> stdout_paths, stderr_paths;
};
/// Starts the ranks and waits for them all; returns each one's exit status (128 + the signal
/// when killed). Throws greenai::Error when a rank cannot be started or no port is free.
std::vector<int> run_local_job(const LocalJob& job);
/// Starts `argv` (argv[0] the program's path) with `extra_env` ahead of this process's
/// environment (the first of a name wins), stdout and stderr to the given files ("" keeps the
/// parent's). Returns its pid; throws greenai::Error when it cannot be started.
int spawn_process(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env,
                  const std::string& stdout_path = "", const std::string& stderr_path = "");
/// Waits for a spawned process; its exit status (128 + the signal when killed).
int wait_process(int pid);
/// Its exit status when the spawned process has ended (reaped: do not wait for it again), else
/// -1 at once.
int poll_process(int pid);
/// A loopback port free now.
int free_loopback_port();

/// The all-reduce bus bandwidth over the group (GB/s), as NCCL's tests define it: bytes x 2 (n -
/// 1) / n over the median time of `repeats` all-reduces of `bytes` of fp32.
double allreduce_bandwidth_gbps(Group& group, size_t bytes, int repeats);

}  // namespace greenai::dist
