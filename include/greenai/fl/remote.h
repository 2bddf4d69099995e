// Federated learning across processes: the server hosts c10d's store (dist::Store) and its
// clients connect to it, on this machine or others. Why the store and not a Gloo process group
// (which data-parallel training uses): a process group is a fixed set of ranks, and a collective
// fails for all when one member dies; a federated server must go on without a client that dies
// mid-round. Over the store every message is a key, each client has its own connection, and a
// client that stops beating its heartbeat is simply left out. gRPC would do as well, at the
// price of a second RPC stack and code generation; the store comes with LibTorch.
//
// Keys (all under "fl/"): config (the server's FlOptions, JSON); hello/K (client K joined: its
// samples, pid, host); alive/K (K's heartbeat counter); task/K/N (K's N-th order: a round number,
// or "stop"); weights/R (round R's global model); update/R/K (K's trained model and its meter's
// figures, fl/wire.h).
//
//   server:  auto store = dist::Store::host(29400, 60);
//            auto report = fl::run_federated(*store, test, grids, options, selection, {});
//   client:  fl::serve_client("10.0.0.1", 29400, 3, train, {}, *tracker);
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "greenai/dist/store.h"
#include "greenai/fl/federated.h"

namespace greenai::fl {

struct RemoteOptions {
  double join_timeout_s = 60;     ///< how long the server waits for every client to say hello
  double silence_timeout_s = 10;  ///< a chosen client whose heartbeat stops this long is dropped
  double round_timeout_s = 3600;  ///< and one that has not answered by then, beating or not
  /// Where the server started the clients itself: how client K's process ended, such as "exit
  /// status 137" ("" while it runs), so that it is not waited for (null: only heartbeats tell).
  std::function<std::string(int client)> gone;
};

/// The server's side: clients in other processes, reached through `store` (hosted by this
/// process). The constructor publishes the options and waits for the clients' hellos; a client
/// that never says hello is unavailable from the start (see notes()). Throws greenai::Error when
/// none joins.
class RemoteClients : public ClientPool {
 public:
  RemoteClients(dist::Store& store, const FlOptions& options, const RemoteOptions& remote);
  /// Tells every client that joined to stop.
  ~RemoteClients() override;
  bool available(int client) const override;
  std::vector<ClientResult> train_round(int round, const std::vector<int>& clients,
                                        const std::vector<torch::Tensor>& weights) override;
  /// What happened to clients outside any round: those that never joined.
  const std::vector<std::string>& notes() const { return notes_; }
  void stop();

 private:
  dist::Store& store_;
  FlOptions options_;
  RemoteOptions remote_;
  std::vector<bool> alive_;
  std::vector<int> orders_;  ///< per client: the index of its next task key
  std::vector<std::string> notes_;
  bool stopped_ = false;
};

/// FedAvg (run_federated) with the clients reached through `store`, hosted by this process: the
/// pool opened, the rounds run, the clients told to stop. The report's transport is "c10d
/// store" and its notes name the clients that never joined. Throws greenai::Error as
/// RemoteClients and run_federated do.
FlReport run_federated(dist::Store& store, const nn::Dataset& test, const std::vector<Grid>& grids,
                       const FlOptions& options, Selection selection, const RemoteOptions& remote,
                       const std::function<void(const RoundReport&)>& on_round = {});

/// One client process per client on this machine, client K started as `argv_of(K)`. Those still
/// running when it is destroyed unwaited are terminated and reaped.
class LocalClientProcesses {
 public:
  LocalClientProcesses(int clients, const std::function<std::vector<std::string>(int)>& argv_of);
  ~LocalClientProcesses();
  LocalClientProcesses(const LocalClientProcesses&) = delete;
  LocalClientProcesses& operator=(const LocalClientProcesses&) = delete;
  /// How client K's process ended ("exit status 137"), "" while it runs: RemoteOptions::gone.
  std::string gone(int client);
  /// Waits for every process; a note for each that did not exit with 0.
  std::vector<std::string> wait();
  /// Each process's exit status once wait() returned (-1 before).
  const std::vector<int>& exit_codes() const { return codes_; }

 private:
  void terminate_running();
  std::vector<int> pids_, codes_;
};

struct ClientOptions {
  /// The width of this client's model (0: the server's). Another width than the server's makes
  /// every update of this client useless; the server says so and leaves it out.
  int64_t hidden = 0;
  double heartbeat_s = 0.2;
  double timeout_s = 60;  ///< to reach the server, and for each of its answers
};

/// What one client process did over the run.
struct ClientSummary {
  int rounds = 0;
  int64_t samples = 0;
  double energy_j = 0;
};

/// A client's side: connects to the server's store at addr:port as client `id`, takes its shard
/// of `train` (the Dirichlet split the server's options define: the same data file and options
/// give every client the same split), then trains each round it is sent, metered by `tracker`
/// (started), until told to stop. `on_round` is called as each round starts. Throws greenai::Error
/// when the server cannot be reached or goes away, or `id` is not one of its clients.
ClientSummary serve_client(const std::string& addr, int port, int id, const nn::Dataset& train,
                           const ClientOptions& options, track::Tracker& tracker,
                           const std::function<void(int round)>& on_round = {});

/// "HOST:PORT" split; throws greenai::Error naming `text` when it is not that.
std::pair<std::string, int> parse_address(const std::string& text);

}  // namespace greenai::fl
