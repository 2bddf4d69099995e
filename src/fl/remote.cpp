// Federated learning across processes over c10d's store (remote.h).
#include "greenai/fl/remote.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "greenai/dist/process_group.h"
#include "greenai/error.h"
#include "greenai/fl/wire.h"

namespace greenai::fl {
namespace {

using Clock = std::chrono::steady_clock;
using Bytes = dist::Store::Bytes;

Bytes bytes(const std::string& text) { return Bytes(text.begin(), text.end()); }
std::string text(const Bytes& b) { return std::string(b.begin(), b.end()); }
std::string key(const std::string& what, int a) { return "fl/" + what + "/" + std::to_string(a); }
std::string key(const std::string& what, int a, int b) {
  return key(what, a) + "/" + std::to_string(b);
}
double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}
std::string seconds_text(double s) {
  char t[32];
  std::snprintf(t, sizeof t, "%g s", s);
  return t;
}

// Beats the client's heartbeat counter on a connection of its own until destroyed.
class Heartbeat {
 public:
  Heartbeat(const std::string& addr, int port, int id, double period_s, double timeout_s)
      : store_(dist::Store::connect(addr, port, timeout_s)), thread_([this, id, period_s] {
          while (!stop_) {
            try {
              store_->add(key("alive", id), 1);
            } catch (const Error&) {
              return;  // the server is gone: the main loop finds out and says so
            }
            std::this_thread::sleep_for(std::chrono::duration<double>(period_s));
          }
        }) {}
  ~Heartbeat() {
    stop_ = true;
    thread_.join();
  }

 private:
  std::unique_ptr<dist::Store> store_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace

std::pair<std::string, int> parse_address(const std::string& address) {
  const size_t colon = address.rfind(':');
  char* end = nullptr;
  const long port = colon == std::string::npos ? 0 : std::strtol(&address[colon + 1], &end, 10);
  if (colon == std::string::npos || colon == 0 || !end || *end != '\0' || port < 1 || port > 65535)
    throw Error("cannot use the address (address=" + address + ")", "it is not HOST:PORT",
                "give the server's host and port, such as 127.0.0.1:29400");
  return {address.substr(0, colon), static_cast<int>(port)};
}

RemoteClients::RemoteClients(dist::Store& store, const FlOptions& options,
                             const RemoteOptions& remote)
    : store_(store),
      options_(options),
      remote_(remote),
      alive_(static_cast<size_t>(options.clients), false),
      orders_(static_cast<size_t>(options.clients), 0) {
  store_.set("fl/config", bytes(options.to_json().dump()));
  // Every client's hello, polled; a client whose process ended is not waited for.
  const auto started = Clock::now();
  std::vector<bool> waiting(alive_.size(), true);
  int joined = 0;
  for (size_t left = waiting.size(); left > 0;) {
    const bool late = seconds_since(started) > remote.join_timeout_s;
    for (int c = 0; c < options.clients; ++c) {
      if (!waiting[c]) continue;
      std::string why;
      if (store_.check({key("hello", c)})) {
        alive_[c] = true;
        ++joined;
      } else if (remote.gone && !(why = remote.gone(c)).empty()) {
        notes_.push_back("client " + std::to_string(c) + " never joined (its process ended: " +
                         why + "): it is left out of every round");
      } else if (late) {
        notes_.push_back("client " + std::to_string(c) + " never joined (waited " +
                         seconds_text(remote.join_timeout_s) + " at " + store_.address() +
                         "): it is left out of every round");
      } else {
        continue;
      }
      waiting[c] = false;
      --left;
    }
    if (left > 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (joined == 0)
    throw Error("cannot start federated learning at " + store_.address(),
                "no client joined within " + seconds_text(remote.join_timeout_s),
                "start the clients with --server " + store_.address());
}

RemoteClients::~RemoteClients() {
  try {
    stop();
  } catch (const Error&) {  // the store is gone: nobody is left to tell
  }
}

void RemoteClients::stop() {
  if (stopped_) return;
  stopped_ = true;
  for (int c = 0; c < options_.clients; ++c)
    if (store_.check({key("hello", c)})) store_.set(key("task", c, orders_[c]++), bytes("stop"));
}

bool RemoteClients::available(int client) const { return alive_.at(static_cast<size_t>(client)); }

std::vector<ClientResult> RemoteClients::train_round(int round, const std::vector<int>& clients,
                                                     const std::vector<torch::Tensor>& weights) {
  ModelMessage global;
  global.header.set("round", round);
  global.tensors = weights;
  store_.set(key("weights", round), encode(global));
  struct Pending {
    int64_t beats = -1;
    Clock::time_point last_beat = Clock::now();
    bool done = false;
  };
  std::vector<Pending> pending(clients.size());
  std::vector<ClientResult> results(clients.size());
  for (size_t i = 0; i < clients.size(); ++i) {
    const int c = clients[i];
    results[i].client = c;
    pending[i].beats = store_.add(key("alive", c), 0);
    store_.set(key("task", c, orders_[c]++), bytes(std::to_string(round)));
  }
  const auto started = Clock::now();
  for (size_t left = clients.size(); left > 0;) {
    for (size_t i = 0; i < clients.size(); ++i) {
      if (pending[i].done) continue;
      const int c = clients[i];
      ClientResult& r = results[i];
      const std::string update = key("update", round, c);
      if (store_.check({update})) {
        try {
          ModelMessage m = decode(store_.get(update), "client " + std::to_string(c));
          const util::Json& h = m.header;
          r.samples = static_cast<int64_t>(h.at("samples").number());
          r.energy_j = h.at("energy_j").number();
          r.pue = h.at("pue").number();
          r.provenance = h.at("provenance").string();
          r.failure = h.at("failure").string();
          r.weights = std::move(m.tensors);
        } catch (const std::exception& e) {
          r.failure = std::string("its update could not be read: ") + e.what();
        }
        store_.erase(update);
        pending[i].done = true;
      } else if (const std::string why = remote_.gone ? remote_.gone(c) : std::string();
                 !why.empty()) {
        r.failure =
            "its process ended (" + why + "): the round goes on without it, and so do the next";
        alive_[static_cast<size_t>(c)] = false;
        pending[i].done = true;
      } else if (const int64_t beats = store_.add(key("alive", c), 0); beats != pending[i].beats) {
        pending[i].beats = beats;
        pending[i].last_beat = Clock::now();
      } else if (seconds_since(pending[i].last_beat) > remote_.silence_timeout_s) {
        r.failure = "it stopped answering mid-round (no heartbeat for " +
                    seconds_text(remote_.silence_timeout_s) +
                    "): the round goes on without it, and so do the next";
        alive_[static_cast<size_t>(c)] = false;
        pending[i].done = true;
      }
      if (!pending[i].done && seconds_since(started) > remote_.round_timeout_s) {
        r.failure = "it did not answer within the round's " +
                    seconds_text(remote_.round_timeout_s) + ": the round goes on without it";
        pending[i].done = true;
      }
      if (pending[i].done) --left;
    }
    if (left > 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  store_.erase(key("weights", round));
  return results;
}

FlReport run_federated(dist::Store& store, const nn::Dataset& test, const std::vector<Grid>& grids,
                       const FlOptions& options, Selection selection, const RemoteOptions& remote,
                       const std::function<void(const RoundReport&)>& on_round) {
  RemoteClients pool(store, options, remote);
  FlReport report = run_federated(pool, test, grids, options, selection, on_round);
  pool.stop();
  report.transport = "c10d store";
  report.notes = pool.notes();
  return report;
}

LocalClientProcesses::LocalClientProcesses(
    int clients, const std::function<std::vector<std::string>(int)>& argv_of) {
  try {
    for (int c = 0; c < clients; ++c) {
      pids_.push_back(dist::spawn_process(argv_of(c), {}));
      codes_.push_back(-1);
    }
  } catch (const Error&) {
    terminate_running();  // those started are stopped
    throw;
  }
}

LocalClientProcesses::~LocalClientProcesses() { terminate_running(); }

void LocalClientProcesses::terminate_running() {
  for (size_t c = 0; c < pids_.size(); ++c)
    if (codes_[c] < 0) {
      ::kill(pids_[c], SIGTERM);
      codes_[c] = dist::wait_process(pids_[c]);
    }
}

std::string LocalClientProcesses::gone(int client) {
  int& code = codes_.at(static_cast<size_t>(client));
  if (code < 0) code = dist::poll_process(pids_[static_cast<size_t>(client)]);
  return code < 0 ? std::string() : "exit status " + std::to_string(code);
}

std::vector<std::string> LocalClientProcesses::wait() {
  std::vector<std::string> notes;
  for (size_t c = 0; c < pids_.size(); ++c) {
    if (codes_[c] < 0) codes_[c] = dist::wait_process(pids_[c]);
    if (codes_[c] != 0)
      notes.push_back("client process " + std::to_string(c) + " exited with status " +
                      std::to_string(codes_[c]));
  }
  return notes;
}

ClientSummary serve_client(const std::string& addr, int port, int id, const nn::Dataset& train,
                           const ClientOptions& options, track::Tracker& tracker,
                           const std::function<void(int round)>& on_round) {
  auto store = dist::Store::connect(addr, port, options.timeout_s);
  const FlOptions server = FlOptions::from_json(util::Json::parse(text(store->get("fl/config"))));
  if (id < 0 || id >= server.clients)
    throw Error("cannot serve as client " + std::to_string(id) + " of " + store->address(),
                "the server has clients 0 to " + std::to_string(server.clients - 1),
                "give --client in that range");
  const nn::Dataset shard =
      dirichlet_split(train, server.clients, server.alpha, server.seed)[static_cast<size_t>(id)];
  const int64_t hidden = options.hidden > 0 ? options.hidden : server.hidden;
  Heartbeat heartbeat(addr, port, id, options.heartbeat_s, options.timeout_s);
  char host[256] = "";
  ::gethostname(host, sizeof host - 1);
  store->set(key("hello", id), bytes(util::Json::object()
                                         .set("samples", static_cast<double>(shard.size()))
                                         .set("pid", static_cast<double>(::getpid()))
                                         .set("host", host)
                                         .dump()));
  ClientSummary summary;
  summary.samples = shard.size();
  for (int order = 0;; ++order) {
    const std::string task = key("task", id, order);
    while (!store->wait({task}, 1.0)) {
    }
    const std::string what = text(store->get(task));
    store->erase(task);
    if (what == "stop") return summary;
    const int round = std::stoi(what);
    if (on_round) on_round(round);
    const ModelMessage global = decode(store->get(key("weights", round)), "the server");
    ClientResult r = train_client(id, round, global.tensors, shard, server, hidden, tracker);
    ModelMessage update;
    update.header.set("round", round)
        .set("samples", static_cast<double>(r.samples))
        .set("energy_j", r.energy_j)
        .set("pue", r.pue)
        .set("provenance", r.provenance)
        .set("failure", r.failure);
    update.tensors = std::move(r.weights);
    store->set(key("update", round, id), encode(update));
    ++summary.rounds;
    summary.energy_j += r.energy_j;
  }
}

}  // namespace greenai::fl
