// Federated learning across processes: the wire format (round trip, truncation and corruption),
// the server leaving out a client whose model has another shape, and client processes over
// c10d's store: the same rounds as in-process, and a client killed mid-round, another of the
// wrong width, the rounds going on without them.
#include "greenai/fl/remote.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <random>

#include "fl/synthetic.h"
#include "greenai/dist/process_group.h"
#include "greenai/error.h"
#include "greenai/fl/wire.h"

namespace greenai::fl {
namespace {

using testing::synthetic;

ModelMessage sample_message() {
  ModelMessage m;
  m.header.set("round", 3).set("provenance", "estimated");
  m.tensors = {torch::arange(6, torch::kFloat32).reshape({2, 3}), torch::tensor({-1.5f}),
               torch::zeros({0, 4})};
  return m;
}

TEST(FlWire, RoundTripsTensorsAndHeader) {
  const ModelMessage m = sample_message();
  const ModelMessage back = decode(encode(m), "a test");
  EXPECT_EQ(back.header.at("round").number(), 3);
  EXPECT_EQ(back.header.at("provenance").string(), "estimated");
  ASSERT_EQ(back.tensors.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_TRUE(torch::equal(back.tensors[i], m.tensors[i])) << i;
  EXPECT_EQ(shape_mismatch(back.tensors, m.tensors), "");
  EXPECT_EQ(shape_mismatch({torch::zeros({3, 2})}, {torch::zeros({2, 3})}),
            "tensor 0 is [3, 2] where the model's is [2, 3]");
  EXPECT_EQ(shape_mismatch({}, m.tensors), "0 tensors where the model has 3");
}

// Every prefix of a message, and random corruptions of it, is refused with greenai::Error or read
// as some message; nothing crashes or reads past the end.
TEST(FlWire, TruncatedOrCorruptMessagesAreRefusedCleanly) {
  const std::vector<uint8_t> good = encode(sample_message());
  for (size_t n = 0; n < good.size(); ++n) {
    const std::vector<uint8_t> cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_THROW(decode(cut, "a test"), Error) << n << " bytes";
  }
  std::vector<uint8_t> longer = good;
  longer.push_back(0);
  EXPECT_THROW(decode(longer, "a test"), Error);
  std::mt19937 rng(5);
  for (int trial = 0; trial < 3000; ++trial) {
    std::vector<uint8_t> bad = good;
    for (int flips = 1 + static_cast<int>(rng() % 4); flips > 0; --flips)
      bad[rng() % bad.size()] = static_cast<uint8_t>(rng());
    try {
      const ModelMessage m = decode(bad, "a test");
      for (const auto& t : m.tensors) EXPECT_LE(t.numel(), 64);
    } catch (const Error&) {
    }
  }
  try {
    std::vector<uint8_t> version = good;
    version[4] = 9;
    decode(version, "client 4");
    FAIL() << "version 9 read";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("client 4"), std::string::npos) << e.what();
  }
}

// A pool whose client 1 sends a model of another shape: the server leaves it out, says why, and
// still counts the energy it spent.
class MisshapenPool : public ClientPool {
 public:
  bool available(int) const override { return true; }
  std::vector<ClientResult> train_round(int, const std::vector<int>& clients,
                                        const std::vector<torch::Tensor>& weights) override {
    std::vector<ClientResult> out;
    for (int c : clients) {
      ClientResult r;
      r.client = c;
      r.samples = 10;
      r.energy_j = 2;
      r.provenance = "estimated";
      for (const auto& w : weights) r.weights.push_back(w.clone());
      if (c == 1) r.weights[0] = torch::zeros({3, 3});
      out.push_back(r);
    }
    return out;
  }
};

TEST(FlRemote, AServerLeavesOutAModelOfAnotherShape) {
  FlOptions o;
  o.clients = 2;
  o.per_round = 2;
  o.rounds = 2;
  o.hidden = 8;
  o.max_defer_h = 0;
  MisshapenPool pool;
  const FlReport r = run_federated(pool, synthetic(50, 4), {{"flat", std::vector<double>(10, 100)}},
                                   o, Selection::kRandom);
  ASSERT_EQ(r.rounds.size(), 2u);
  for (const RoundReport& round : r.rounds) {
    ASSERT_EQ(round.dropped.size(), 1u);
    EXPECT_EQ(round.dropped[0].client, 1);
    EXPECT_NE(round.dropped[0].reason.find("another shape (tensor 0 is [3, 3]"), std::string::npos)
        << round.dropped[0].reason;
    EXPECT_DOUBLE_EQ(round.energy_j, 4);  // both clients' energy counted
  }
  EXPECT_EQ(r.to_json().at("rounds").items()[0].at("dropped").items()[0].at("client").number(), 1);
}

// A server in this process and one client process per mode.
struct RemoteRun {
  FlReport report;
  std::vector<int> exit_codes;
};

RemoteRun run_remote(const std::vector<std::string>& modes, const FlOptions& o,
                     const std::vector<Grid>& grids, const nn::Dataset& test) {
  const int port = dist::free_loopback_port();
  auto store = dist::Store::host(port, 30);
  LocalClientProcesses clients(static_cast<int>(modes.size()), [&](int c) {
    return std::vector<std::string>{FL_WORKER, modes[static_cast<size_t>(c)], std::to_string(port),
                                    std::to_string(c)};
  });
  RemoteOptions remote;
  remote.join_timeout_s = 30;
  remote.silence_timeout_s = 1;  // the heartbeat, not the process's end, must tell
  RemoteRun run;
  run.report = run_federated(*store, test, grids, o, Selection::kRandom, remote);
  clients.wait();
  run.exit_codes = clients.exit_codes();
  return run;
}

FlOptions small_options(int clients) {
  FlOptions o;
  o.clients = clients;
  o.per_round = clients;
  o.rounds = 3;
  o.hidden = 8;
  o.max_defer_h = 0;
  o.seed = 2;
  return o;
}

// The same rounds over the store as in this process: the same global model after each.
TEST(FlRemote, ClientProcessesMatchInProcessClients) {
  const FlOptions o = small_options(2);
  const std::vector<Grid> grids{{"flat", std::vector<double>(10, 100)}};
  const nn::Dataset test = synthetic(200, 12);
  const RemoteRun remote = run_remote({"good", "good"}, o, grids, test);
  EXPECT_EQ(remote.exit_codes, (std::vector<int>{0, 0}));
  auto tracker = track::Tracker::for_this_process({.background_sampler = false});
  tracker->start();
  const FlReport local =
      run_federated(synthetic(600, 11), test, grids, o, Selection::kRandom, *tracker);
  tracker->stop();
  ASSERT_EQ(remote.report.rounds.size(), local.rounds.size());
  for (size_t i = 0; i < local.rounds.size(); ++i) {
    EXPECT_DOUBLE_EQ(remote.report.rounds[i].accuracy, local.rounds[i].accuracy) << i;
    EXPECT_TRUE(remote.report.rounds[i].dropped.empty());
    for (const ClientRound& c : remote.report.rounds[i].clients) EXPECT_GT(c.energy_j, 0);
  }
  EXPECT_EQ(remote.report.provenance, "estimated");
  EXPECT_EQ(remote.report.transport, "c10d store");
  EXPECT_TRUE(remote.report.notes.empty());
}

TEST(FlRemote, ARoundGoesOnWithoutAClientKilledMidRoundOrOfAnotherWidth) {
  const FlOptions o = small_options(3);
  const RemoteRun run = run_remote({"good", "die", "wide"}, o,
                                   {{"flat", std::vector<double>(10, 100)}}, synthetic(200, 12));
  const auto& rounds = run.report.rounds;
  ASSERT_EQ(rounds.size(), 3u);
  const auto reason = [](const RoundReport& r, int client) {
    for (const DroppedClient& d : r.dropped)
      if (d.client == client) return d.reason;
    return std::string();
  };
  // Round 1: the wide client's model does not fit; the two others are averaged.
  EXPECT_NE(reason(rounds[0], 2).find("does not fit"), std::string::npos) << reason(rounds[0], 2);
  EXPECT_EQ(rounds[0].dropped.size(), 1u);
  // Round 2: client 1 dies as it starts; the round goes on.
  EXPECT_NE(reason(rounds[1], 1).find("stopped answering mid-round"), std::string::npos)
      << reason(rounds[1], 1);
  // Round 3: client 1 is no longer chosen.
  for (const ClientRound& c : rounds[2].clients) EXPECT_NE(c.client, 1);
  EXPECT_TRUE(reason(rounds[2], 1).empty());
  EXPECT_GT(run.report.accuracy, 0.3);
  EXPECT_EQ(run.exit_codes[0], 0);
  EXPECT_EQ(run.exit_codes[1], 128 + SIGKILL);
  EXPECT_EQ(run.exit_codes[2], 0);
}

TEST(FlRemote, AServerNoClientJoinsAndABadAddressAreClearErrors) {
  const int port = dist::free_loopback_port();
  auto store = dist::Store::host(port, 5);
  FlOptions o = small_options(2);
  RemoteOptions remote;
  remote.join_timeout_s = 0.3;
  try {
    RemoteClients pool(*store, o, remote);
    FAIL() << "no client joined, yet the pool started";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(store->address()), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_address("localhost"), Error);
  EXPECT_THROW(parse_address("host:99999"), Error);
  EXPECT_EQ(parse_address("10.0.0.1:29400"), (std::pair<std::string, int>{"10.0.0.1", 29400}));
}

}  // namespace
}  // namespace greenai::fl
