// c10d's TCPStore and Gloo process group behind greenai::dist (process_group.h).
#include "greenai/dist/process_group.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "greenai/error.h"

extern "C" char** environ;

namespace greenai::dist {
namespace {

int env_int(const char* name, int fallback, int low, int high) {
  const char* text = std::getenv(name);
  if (!text || !*text) return fallback;
  char* end = nullptr;
  const long v = std::strtol(text, &end, 10);
  if (*end != '\0' || v < low || v > high)
    throw Error(std::string("cannot join the job (") + name + "=" + text + ")",
                "not a whole number in " + std::to_string(low) + ".." + std::to_string(high),
                std::string("set ") + name + " as torchrun does");
  return static_cast<int>(v);
}

std::string seconds(double s) {
  char text[32];
  std::snprintf(text, sizeof text, "%g s", s);
  return text;
}

std::string address(const Rendezvous& r) {
  return r.master_addr + ":" + std::to_string(r.master_port);
}

// Waits on a collective; its failure (a rank gone, mismatched shapes) as greenai::Error.
void finish(const c10::intrusive_ptr<c10d::Work>& work, const std::string& what) {
  try {
    work->wait();
  } catch (const std::exception& e) {
    std::string reason = e.what();
    reason = reason.substr(0, reason.find('\n'));
    throw Error("cannot " + what + " over the process group", reason,
                "check every rank runs the same model and is still alive");
  }
}

}  // namespace

Rendezvous Rendezvous::from_env() {
  Rendezvous r;
  if (const char* addr = std::getenv("MASTER_ADDR"); addr && *addr) r.master_addr = addr;
  r.master_port = env_int("MASTER_PORT", r.master_port, 1, 65535);
  r.world_size = env_int("WORLD_SIZE", r.world_size, 1, 65536);
  r.rank = env_int("RANK", r.rank, 0, r.world_size - 1);
  return r;
}

struct Group::Impl {
  Rendezvous rendezvous;
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
};

Group::Group(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Group::~Group() = default;

std::unique_ptr<Group> Group::join(const Rendezvous& r) {
  if (r.world_size < 1 || r.rank < 0 || r.rank >= r.world_size)
    throw Error("cannot join the job (rank=" + std::to_string(r.rank) +
                    ", world_size=" + std::to_string(r.world_size) + ")",
                "the rank must lie in 0..world_size-1");
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(r.timeout_s * 1000));
  auto impl = std::make_unique<Impl>();
  impl->rendezvous = r;
  c10d::TCPStoreOptions options;
  options.port = static_cast<std::uint16_t>(r.master_port);
  options.isServer = r.rank == 0;
  options.numWorkers = static_cast<size_t>(r.world_size);
  options.waitWorkers = true;
  options.timeout = timeout;
  try {
    impl->store = c10::make_intrusive<c10d::TCPStore>(r.master_addr, options);
    auto gloo = c10d::ProcessGroupGloo::Options::create(timeout);
    gloo->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(r.master_addr));
    impl->group = c10::make_intrusive<c10d::ProcessGroupGloo>(
        c10::make_intrusive<c10d::PrefixStore>("greenai", impl->store), r.rank, r.world_size, gloo);
  } catch (const std::exception& e) {
    std::string reason = e.what();
    reason = reason.substr(0, reason.find('\n'));
    throw Error("cannot join the job at " + address(r) + " (rank=" + std::to_string(r.rank) +
                    ", world_size=" + std::to_string(r.world_size) + ")",
                "the ranks did not all meet within " + seconds(r.timeout_s) + ": " + reason,
                "start every rank with the same MASTER_ADDR, MASTER_PORT and WORLD_SIZE");
  }
  return std::unique_ptr<Group>(new Group(std::move(impl)));
}

int Group::rank() const { return impl_->rendezvous.rank; }
int Group::size() const { return impl_->rendezvous.world_size; }

void Group::allreduce_sum(std::vector<torch::Tensor>& tensors) {
  for (auto& t : tensors) {
    std::vector<torch::Tensor> one{t};
    finish(impl_->group->allreduce(one), "all-reduce");
  }
}

std::vector<double> Group::allgather(double value) {
  std::vector<torch::Tensor> in{torch::tensor({value}, torch::kFloat64)};
  std::vector<std::vector<torch::Tensor>> out(1);
  for (int r = 0; r < size(); ++r) out[0].push_back(torch::zeros({1}, torch::kFloat64));
  finish(impl_->group->allgather(out, in), "gather");
  std::vector<double> values;
  for (const auto& t : out[0]) values.push_back(t.item<double>());
  return values;
}

void Group::barrier() { finish(impl_->group->barrier(), "wait at the barrier"); }

void Group::broadcast(std::vector<torch::Tensor>& tensors, int root) {
  c10d::BroadcastOptions options;
  options.rootRank = root;
  for (auto& t : tensors) {
    std::vector<torch::Tensor> one{t};
    finish(impl_->group->broadcast(one, options), "broadcast");
  }
}

void allreduce_gradients(Group& group, const std::vector<torch::Tensor>& parameters,
                         size_t bucket_bytes) {
  if (group.size() == 1) return;
  torch::NoGradGuard no_grad;
  struct Bucket {
    std::vector<size_t> members;
    torch::Tensor flat;
    c10::intrusive_ptr<c10d::Work> work;
  };
  std::vector<Bucket> buckets;
  Bucket current;
  size_t bytes = 0;
  const auto launch = [&] {
    if (current.members.empty()) return;
    std::vector<torch::Tensor> parts;
    for (size_t i : current.members) {
      const torch::Tensor& p = parameters[i];
      parts.push_back(p.grad().defined() ? p.grad().reshape({-1})
                                         : torch::zeros({p.numel()}, p.options()));
    }
    current.flat = torch::cat(parts);
    std::vector<torch::Tensor> one{current.flat};
    current.work = group.impl_->group->allreduce(one);  // travels while the next is packed
    buckets.push_back(std::move(current));
    current = Bucket{};
    bytes = 0;
  };
  for (size_t i = 0; i < parameters.size(); ++i) {
    const size_t size = static_cast<size_t>(parameters[i].numel()) * parameters[i].element_size();
    if (bytes > 0 && bytes + size > bucket_bytes) launch();
    current.members.push_back(i);
    bytes += size;
  }
  launch();
  const double inverse = 1.0 / group.size();
  for (Bucket& b : buckets) {
    finish(b.work, "all-reduce the gradients");
    b.flat.mul_(inverse);
    int64_t offset = 0;
    for (size_t i : b.members) {
      const torch::Tensor& p = parameters[i];
      torch::Tensor slice = b.flat.narrow(0, offset, p.numel()).view(p.sizes());
      if (p.grad().defined())
        p.grad().copy_(slice);
      else
        p.mutable_grad() = slice.clone();
      offset += p.numel();
    }
  }
}

void broadcast_parameters(Group& group, const std::vector<torch::Tensor>& parameters) {
  if (group.size() == 1) return;
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> data;
  for (const auto& p : parameters) data.push_back(p.detach());
  group.broadcast(data, 0);
}

double allreduce_bandwidth_gbps(Group& group, size_t bytes, int repeats) {
  std::vector<torch::Tensor> t{torch::ones({static_cast<int64_t>(bytes / 4)})};
  group.allreduce_sum(t);  // warm-up
  std::vector<double> seconds;
  for (int i = 0; i < repeats; ++i) {
    group.barrier();
    const auto start = std::chrono::steady_clock::now();
    group.allreduce_sum(t);
    seconds.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(seconds.begin(), seconds.end());
  const double median = seconds[seconds.size() / 2];
  const double n = group.size();
  return static_cast<double>(bytes) * 2 * (n - 1) / n / median / 1e9;
}

int free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t n = sizeof a;
  const bool ok = fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n) == 0;
  if (fd >= 0) ::close(fd);
  if (!ok)
    throw Error("cannot start local ranks", "no free loopback port",
                "check the loopback interface is up");
  return ntohs(a.sin_port);
}

int spawn_process(const std::vector<std::string>& argv_in,
                  const std::vector<std::string>& extra_env, const std::string& stdout_path,
                  const std::string& stderr_path) {
  if (argv_in.empty()) throw Error("cannot start a process", "no program given");
  std::vector<std::string> env = extra_env, args = argv_in;
  for (char** e = environ; *e; ++e) env.emplace_back(*e);
  std::vector<char*> envp, argv;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  const auto redirect = [&](const std::string& path, int fd) {
    if (!path.empty())
      posix_spawn_file_actions_addopen(&actions, fd, path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                       0644);
  };
  redirect(stdout_path, 1);
  redirect(stderr_path, 2);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, args[0].c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0)
    throw Error("cannot start a process (program=" + args[0] + ")", std::strerror(rc),
                "check the program exists and is executable");
  return pid;
}

int wait_process(int pid) {
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return 128;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int poll_process(int pid) {
  int status = 0;
  if (::waitpid(pid, &status, WNOHANG) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::vector<int> run_local_job(const LocalJob& job) {
  if (job.argv.empty() || job.world < 1)
    throw Error("cannot start local ranks", "give a program and a world size of at least 1");
  const int port = free_loopback_port();
  std::vector<int> pids;
  const auto path = [](const std::vector<std::string>& paths, int r) {
    return static_cast<size_t>(r) < paths.size() ? paths[static_cast<size_t>(r)] : std::string();
  };
  for (int r = 0; r < job.world; ++r) {
    // extra_env first: it wins over torchrun's, which win over the parent's.
    std::vector<std::string> env = job.extra_env;
    for (std::string v :
         {std::string("MASTER_ADDR=127.0.0.1"), "MASTER_PORT=" + std::to_string(port),
          "RANK=" + std::to_string(r), "LOCAL_RANK=" + std::to_string(r),
          "WORLD_SIZE=" + std::to_string(job.world)})
      env.push_back(v);
    try {
      pids.push_back(
          spawn_process(job.argv, env, path(job.stdout_paths, r), path(job.stderr_paths, r)));
    } catch (const Error&) {
      for (int p : pids) wait_process(p);
      throw;
    }
  }
  std::vector<int> codes;
  for (int pid : pids) codes.push_back(wait_process(pid));
  return codes;
}

}  // namespace greenai::dist
