#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sstream>

#include "greenai/error.h"
#include "greenai/track/sinks.h"

namespace greenai::track {
namespace {

constexpr int kRequestTimeoutMs = 2000;
constexpr size_t kMaxRequestBytes = 8192;

std::string label_value(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

void send_all(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::send(fd, text.data() + done, text.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

}  // namespace

PrometheusExporter::PrometheusExporter(const std::string& host_port) {
  const std::string action = "cannot serve Prometheus metrics (--prometheus=" + host_port + ")";
  size_t colon = host_port.rfind(':');
  if (colon == std::string::npos)
    throw Error(action, "expected HOST:PORT", "for example 127.0.0.1:9464 or 0.0.0.0:9464");
  std::string host = host_port.substr(0, colon), port = host_port.substr(colon + 1);
  if (host.size() > 1 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  addrinfo hints{}, *found = nullptr;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  if (int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &found);
      rc != 0)
    throw Error(action, ::gai_strerror(rc));
  int last_errno = 0;
  for (addrinfo* a = found; a && listen_fd_ < 0; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, 16) == 0) {
      listen_fd_ = fd;
    } else {
      last_errno = errno;
      ::close(fd);
    }
  }
  ::freeaddrinfo(found);
  if (listen_fd_ < 0) throw Error(action, std::strerror(last_errno), "pick a free port");
  sockaddr_storage bound{};
  socklen_t length = sizeof bound;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&bound), &length);
  port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                            : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  if (::pipe2(stop_pipe_, O_CLOEXEC) != 0) {
    ::close(listen_fd_);
    throw Error(action, std::strerror(errno));
  }
  server_ = std::thread([this] { serve(); });
}

PrometheusExporter::~PrometheusExporter() {
  if (stop_pipe_[1] >= 0) {
    char byte = 1;
    [[maybe_unused]] ssize_t n = ::write(stop_pipe_[1], &byte, 1);
  }
  if (server_.joinable()) server_.join();
  for (int fd : {listen_fd_, stop_pipe_[0], stop_pipe_[1]})
    if (fd >= 0) ::close(fd);
}

void PrometheusExporter::begin(const RunInfo& info) {
  std::lock_guard lock(mutex_);
  info_ = info;
}

void PrometheusExporter::interval(const RunInfo&, const Record& interval,
                                  const Record& cumulative) {
  std::lock_guard lock(mutex_);
  last_interval_ = interval;
  cumulative_ = cumulative;
}

void PrometheusExporter::finish(const RunInfo&, const Record& total, const std::vector<Record>&) {
  std::lock_guard lock(mutex_);
  cumulative_ = total;
  finished_ = true;
}

std::string PrometheusExporter::render() const {
  std::lock_guard lock(mutex_);
  std::ostringstream out;
  out.precision(10);
  const std::string run = "run_id=\"" + label_value(info_.run_id) + "\",project=\"" +
                          label_value(info_.project_name) + "\"";
  auto component_labels = [&](const char* scope, Component c) {
    const ComponentSource& s = info_.sources[static_cast<size_t>(c)];
    return "{" + run + ",scope=\"" + scope + "\",component=\"" + std::string(meter::to_string(c)) +
           "\",provenance=\"" + std::string(meter::to_string(s.provenance)) + "\",sensor=\"" +
           label_value(s.sensor) + "\"}";
  };
  out << "# HELP greenai_energy_joules_total Energy since the run started; scope=workload is the "
         "tracked process tree's share, scope=machine what the sensors see.\n"
         "# TYPE greenai_energy_joules_total counter\n";
  for (Component c : meter::kAllComponents) {
    if (!info_.sources[static_cast<size_t>(c)].present) continue;
    out << "greenai_energy_joules_total" << component_labels("workload", c) << " "
        << cumulative_.tree[c] << "\n";
    out << "greenai_energy_joules_total" << component_labels("machine", c) << " "
        << cumulative_.machine[c] << "\n";
  }
  out << "# HELP greenai_power_watts Mean power over the last completed interval.\n"
         "# TYPE greenai_power_watts gauge\n";
  for (Component c : meter::kAllComponents) {
    if (!info_.sources[static_cast<size_t>(c)].present) continue;
    double d = last_interval_.duration_s;
    out << "greenai_power_watts" << component_labels("workload", c) << " "
        << (d > 0 ? last_interval_.tree[c] / d : 0) << "\n";
    out << "greenai_power_watts" << component_labels("machine", c) << " "
        << (d > 0 ? last_interval_.machine[c] / d : 0) << "\n";
  }
  out << "# HELP greenai_emissions_kg_total Carbon emitted by the workload's energy, kg CO2eq (PUE "
         "included).\n"
         "# TYPE greenai_emissions_kg_total counter\n"
      << "greenai_emissions_kg_total{" << run << ",intensity_source=\""
      << label_value(info_.intensity_source) << "\"} " << cumulative_.emissions_kg << "\n"
      << "# HELP greenai_carbon_intensity_g_per_kwh Grid carbon intensity applied, g CO2eq/kWh.\n"
         "# TYPE greenai_carbon_intensity_g_per_kwh gauge\n"
      << "greenai_carbon_intensity_g_per_kwh{" << run << "} " << last_interval_.intensity_g_per_kwh
      << "\n"
      << "# HELP greenai_tracked_cpu_seconds_total CPU time of the tracked workload.\n"
         "# TYPE greenai_tracked_cpu_seconds_total counter\n"
      << "greenai_tracked_cpu_seconds_total{" << run << "} " << cumulative_.tree_cpu_s << "\n"
      << "# HELP greenai_run_duration_seconds Time since the run started.\n"
         "# TYPE greenai_run_duration_seconds gauge\n"
      << "greenai_run_duration_seconds{" << run << "} " << cumulative_.duration_s << "\n"
      << "# HELP greenai_run_finished 1 once the tracked run has ended.\n"
         "# TYPE greenai_run_finished gauge\n"
      << "greenai_run_finished{" << run << "} " << (finished_ ? 1 : 0) << "\n";
  return out.str();
}

void PrometheusExporter::serve() {
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents) return;
    if (!(fds[0].revents & POLLIN)) continue;
    int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    // Read the request head (bounded in size and time), then answer and close.
    std::string request;
    char buffer[1024];
    while (request.find("\r\n\r\n") == std::string::npos && request.size() < kMaxRequestBytes) {
      pollfd p{client, POLLIN, 0};
      if (::poll(&p, 1, kRequestTimeoutMs) <= 0) break;
      ssize_t n = ::recv(client, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      request.append(buffer, static_cast<size_t>(n));
    }
    std::string response;
    if (request.rfind("GET /metrics", 0) == 0 || request.rfind("GET / ", 0) == 0) {
      std::string body = render();
      response =
          "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
          "Content-Length: " +
          std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    } else {
      std::string body = "greenai serves /metrics only\n";
      response = "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: " +
                 std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    }
    send_all(client, response);
    ::close(client);
  }
}

}  // namespace greenai::track
