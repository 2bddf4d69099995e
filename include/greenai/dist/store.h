// c10d's key-value store (TCPStore) as a typed mailbox between processes that come and go: one
// process hosts it, the others connect to it by address. Unlike a process group, the store
// carries on when a connected process dies: that is why federated learning's server and clients
// talk through it (fl/remote.h), while data-parallel ranks, which live and die together, use a
// Gloo process group (process_group.h).
//
//   auto store = dist::Store::host(29400, 60);                 // the server
//   auto peer = dist::Store::connect("10.0.0.5", 29400, 60);   // a client elsewhere
//   peer->set("hello", {1, 2, 3});
//   store->wait({"hello"}, 5.0);   // true once it is there
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace greenai::dist {

class Store {
 public:
  using Bytes = std::vector<uint8_t>;
  /// Hosts a store on `port` (all interfaces) and connects to it. Throws greenai::Error naming the
  /// port when it is taken.
  static std::unique_ptr<Store> host(int port, double timeout_s);
  /// Connects to a store hosted at addr:port, waiting up to `timeout_s` for it to be up. Throws
  /// greenai::Error naming the address when nothing answers.
  static std::unique_ptr<Store> connect(const std::string& addr, int port, double timeout_s);
  ~Store();

  std::string address() const;  ///< "addr:port"
  void set(const std::string& key, const Bytes& value);
  /// The value of `key`, waiting up to the store's timeout for it. Throws greenai::Error when
  /// it does not come or the store is gone.
  Bytes get(const std::string& key);
  /// Whether every key is there now.
  bool check(const std::vector<std::string>& keys);
  /// Waits up to `timeout_s` for every key; false when the time ran out. Throws greenai::Error when
  /// the store is gone.
  bool wait(const std::vector<std::string>& keys, double timeout_s);
  /// Adds `delta` to a counter (0 reads it); returns the new value.
  int64_t add(const std::string& key, int64_t delta);
  void erase(const std::string& key);

 private:
  struct Impl;
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace greenai::dist
