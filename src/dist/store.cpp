// c10d's TCPStore behind greenai::dist::Store (store.h).
#include "greenai/dist/store.h"

#include <chrono>
#include <cstdio>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "greenai/error.h"

namespace greenai::dist {
namespace {

std::chrono::milliseconds ms(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
}

std::string first_line(const std::exception& e) {
  std::string reason = e.what();
  return reason.substr(0, reason.find('\n'));
}

}  // namespace

struct Store::Impl {
  std::string addr;
  int port = 0;
  c10::intrusive_ptr<c10d::TCPStore> store;
  std::string where() const { return addr + ":" + std::to_string(port); }
  [[noreturn]] void fail(const std::string& what, const std::exception& e) const {
    throw Error("cannot " + what + " at the store " + where(), first_line(e),
                "check the process hosting it is still running");
  }
};

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

std::unique_ptr<Store> Store::host(int port, double timeout_s) {
  auto impl = std::make_unique<Impl>();
  impl->addr = "127.0.0.1";
  impl->port = port;
  c10d::TCPStoreOptions o;
  o.port = static_cast<std::uint16_t>(port);
  o.isServer = true;
  o.waitWorkers = false;
  o.timeout = ms(timeout_s);
  try {
    impl->store = c10::make_intrusive<c10d::TCPStore>(impl->addr, o);
  } catch (const std::exception& e) {
    throw Error("cannot host a store on port " + std::to_string(port), first_line(e),
                "choose a free port");
  }
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

std::unique_ptr<Store> Store::connect(const std::string& addr, int port, double timeout_s) {
  auto impl = std::make_unique<Impl>();
  impl->addr = addr;
  impl->port = port;
  c10d::TCPStoreOptions o;
  o.port = static_cast<std::uint16_t>(port);
  o.isServer = false;
  o.waitWorkers = false;
  o.timeout = ms(timeout_s);
  try {
    impl->store = c10::make_intrusive<c10d::TCPStore>(addr, o);
  } catch (const std::exception& e) {
    throw Error("cannot reach the store at " + impl->where(),
                "nothing answered within " + std::to_string(static_cast<int>(timeout_s)) +
                    " s: " + first_line(e),
                "start the server first and check the address and port");
  }
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

std::string Store::address() const { return impl_->where(); }

void Store::set(const std::string& key, const Bytes& value) {
  try {
    impl_->store->set(key, value);
  } catch (const std::exception& e) {
    impl_->fail("set " + key, e);
  }
}

Store::Bytes Store::get(const std::string& key) {
  try {
    return impl_->store->get(key);
  } catch (const std::exception& e) {
    impl_->fail("get " + key, e);
  }
}

bool Store::check(const std::vector<std::string>& keys) {
  try {
    return impl_->store->check(keys);
  } catch (const std::exception& e) {
    impl_->fail("check " + (keys.empty() ? std::string() : keys[0]), e);
  }
}

bool Store::wait(const std::vector<std::string>& keys, double timeout_s) {
  // TCPStore reports a timeout and a lost connection alike (c10::Error): tell them apart by asking
  // again, which fails only when the store is gone.
  try {
    impl_->store->wait(keys, ms(timeout_s));
    return true;
  } catch (const std::exception&) {
    check(keys);
    return false;
  }
}

int64_t Store::add(const std::string& key, int64_t delta) {
  try {
    return impl_->store->add(key, delta);
  } catch (const std::exception& e) {
    impl_->fail("add to " + key, e);
  }
}

void Store::erase(const std::string& key) {
  try {
    impl_->store->deleteKey(key);
  } catch (const std::exception& e) {
    impl_->fail("erase " + key, e);
  }
}

}  // namespace greenai::dist
