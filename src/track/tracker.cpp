#include "greenai/track/tracker.h"

#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>

#include "greenai/error.h"

namespace greenai::track {
namespace {}  // namespace

Energy& Energy::operator+=(const Energy& other) {
  for (size_t i = 0; i < joules.size(); ++i) joules[i] += other.joules[i];
  return *this;
}

void Record::extend(const Record& later) {
  if (duration_s == 0 && start_unix_s == 0) start_unix_s = later.start_unix_s;
  // Energy-weighted intensity; time-weighted while no energy has been seen.
  double w0 = tree.total_j(), w1 = later.tree.total_j();
  if (w0 + w1 <= 0) w0 = duration_s, w1 = later.duration_s;
  if (w0 + w1 > 0)
    intensity_g_per_kwh = (intensity_g_per_kwh * w0 + later.intensity_g_per_kwh * w1) / (w0 + w1);
  end_unix_s = later.end_unix_s;
  duration_s += later.duration_s;
  machine += later.machine;
  tree += later.tree;
  tree_cpu_s += later.tree_cpu_s;
  machine_busy_cpu_s += later.machine_busy_cpu_s;
  tree_rss_peak_bytes = std::max(tree_rss_peak_bytes, later.tree_rss_peak_bytes);
  machine_mem_used_bytes = later.machine_mem_used_bytes;
  emissions_kg += later.emissions_kg;
}

std::string RunInfo::provenance() const {
  bool measured = false, estimated = false;
  for (const ComponentSource& s : sources) {
    if (!s.present) continue;
    (s.provenance == meter::Provenance::kMeasured ? measured : estimated) = true;
  }
  return measured && estimated ? "mixed" : measured ? "measured" : "estimated";
}

std::string random_uuid() {
  std::random_device device;
  std::array<uint8_t, 16> bytes;
  for (size_t i = 0; i < bytes.size(); i += 4) {
    uint32_t r = device();
    for (size_t k = 0; k < 4; ++k) bytes[i + k] = static_cast<uint8_t>(r >> (8 * k));
  }
  bytes[6] = static_cast<uint8_t>((bytes[6] & 0x0F) | 0x40);  // version 4
  bytes[8] = static_cast<uint8_t>((bytes[8] & 0x3F) | 0x80);  // RFC 4122 variant
  char text[37];
  std::snprintf(text, sizeof text,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", bytes[0],
                bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7], bytes[8],
                bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]);
  return text;
}

struct Tracker::Sample {
  meter::Clock::time_point time;
  double unix_s = 0;
  std::vector<std::vector<uint64_t>> energy_uj;  // Per sensor, per channel.
  meter::TreeUsage usage;
  meter::SystemSnapshot system;
};

Tracker::Tracker(meter::SensorSet sensors, std::unique_ptr<meter::UsageSource> usage,
                 TrackerOptions options)
    : sensors_(std::move(sensors)),
      usage_(std::move(usage)),
      system_(options.proc_root),
      options_(std::move(options)) {
  if (!(std::isfinite(options_.interval_s) && options_.interval_s > 0))
    throw Error("cannot track (--interval=" + std::to_string(options_.interval_s) + ")",
                "the interval must be a positive number of seconds");
  if (!(std::isfinite(options_.pue) && options_.pue >= 1.0))
    throw Error("cannot track (--pue=" + std::to_string(options_.pue) + ")",
                "a power usage effectiveness is at least 1.0",
                "1.0 counts IT energy only; "
                "typical data centres are 1.1 to 1.6");
  poll_interval_s_ = options_.interval_s;
  for (const auto& sensor : sensors_.sensors) {
    poll_interval_s_ = std::min(poll_interval_s_, sensor->max_poll_interval_s());
    for (const meter::Channel& channel : sensor->channels()) {
      if (!channel.counted) continue;
      ComponentSource& source = info_.sources[static_cast<size_t>(channel.component)];
      source = {true, sensor->provenance(), std::string(sensor->name()),
                sensor->describe(channel.component)};
      if (channel.component == Component::kGpu) info_.gpu_names.push_back(channel.name);
    }
  }
  info_.run_id = random_uuid();
  info_.project_name = options_.project_name;
  info_.experiment_id = options_.experiment_id;
  info_.workload = usage_->describe();
  info_.intensity_source = options_.intensity.description();
  info_.country_code = options_.intensity.country_code;
  info_.country_name = options_.intensity.country_name;
  info_.pue = options_.pue;
  info_.cpu_count = system_.cpu_count();
  info_.cpu_model = system_.cpu_model();
  info_.ram_total_bytes = static_cast<double>(system_.read().mem_total_bytes);
}

std::unique_ptr<Tracker> Tracker::for_this_process(TrackerOptions options,
                                                   const meter::SensorOptions& sensors) {
  return std::make_unique<Tracker>(meter::open_sensors(sensors),
                                   std::make_unique<meter::SelfUsage>(), std::move(options));
}

Tracker::~Tracker() {
  bool running;
  {
    std::lock_guard lock(mutex_);
    running = running_;
  }
  if (running) stop();
}

void Tracker::add_sink(std::shared_ptr<Sink> sink) {
  std::lock_guard lock(mutex_);
  assert(!running_);
  sinks_.push_back(std::move(sink));
}

Tracker::Sample Tracker::take_sample() {
  Sample sample;
  sample.time = meter::Clock::now();
  sample.unix_s = carbon::now_unix_s();
  for (const auto& sensor : sensors_.sensors) {
    sample.energy_uj.emplace_back(sensor->channels().size());
    sensor->sample(sample.time, sample.energy_uj.back());
  }
  sample.usage = usage_->read();
  sample.system = system_.read();
  return sample;
}

Record Tracker::difference(const Sample& from, const Sample& to) const {
  Record piece;
  piece.phase = phase_;
  piece.start_unix_s = from.unix_s;
  piece.end_unix_s = to.unix_s;
  piece.duration_s = std::chrono::duration<double>(to.time - from.time).count();
  for (size_t s = 0; s < sensors_.sensors.size(); ++s) {
    const auto& channels = sensors_.sensors[s]->channels();
    for (size_t c = 0; c < channels.size(); ++c) {
      if (!channels[c].counted) continue;
      piece.machine[channels[c].component] +=
          static_cast<double>(to.energy_uj[s][c] - from.energy_uj[s][c]) / 1e6;
    }
  }
  piece.tree_cpu_s = std::max(0.0, to.usage.cpu_s - from.usage.cpu_s);
  piece.machine_busy_cpu_s = std::max(0.0, to.system.busy_cpu_s - from.system.busy_cpu_s);
  piece.tree_rss_peak_bytes = static_cast<double>(to.usage.rss_bytes);
  piece.machine_mem_used_bytes = static_cast<double>(to.system.mem_used_bytes);

  // CPU: share by CPU time. Both counts tick at 1/USER_HZ, so over a short step the tree can
  // show more than the machine; the share is capped at the whole.
  double cpu_share = piece.machine_busy_cpu_s > 0
                         ? std::min(1.0, piece.tree_cpu_s / piece.machine_busy_cpu_s)
                         : (piece.tree_cpu_s > 0 ? 1.0 : 0.0);
  double ram_share = piece.machine_mem_used_bytes > 0
                         ? std::min(1.0, piece.tree_rss_peak_bytes / piece.machine_mem_used_bytes)
                         : 0.0;
  piece.tree[Component::kCpu] = piece.machine[Component::kCpu] * cpu_share;
  piece.tree[Component::kRam] = piece.machine[Component::kRam] * ram_share;
  piece.tree[Component::kGpu] = piece.machine[Component::kGpu];
  piece.intensity_g_per_kwh = options_.intensity.average_over(from.unix_s, to.unix_s);
  piece.emissions_kg = carbon::emissions_kg(piece.tree.total_j() / carbon::kJoulesPerKwh,
                                            options_.pue, piece.intensity_g_per_kwh);
  return piece;
}

void Tracker::start() {
  std::unique_lock lock(mutex_);
  if (running_) return;
  running_ = true;
  stopping_ = false;
  last_ = std::make_unique<Sample>(take_sample());
  interval_started_ = last_->time;
  interval_ = total_ = step_ = Record{};
  interval_.start_unix_s = total_.start_unix_s = step_.start_unix_s = last_->unix_s;
  phases_.clear();
  for (const auto& sink : sinks_) sink->begin(info_);
  if (options_.background_sampler) sampler_ = std::thread([this] { sampler_loop(); });
}

void Tracker::sample_locked() {
  Sample now = take_sample();
  Record piece = difference(*last_, now);
  *last_ = std::move(now);
  interval_.extend(piece);
  total_.extend(piece);
  step_.extend(piece);
  if (!phase_.empty()) {
    auto it = std::find_if(phases_.begin(), phases_.end(),
                           [&](const Record& r) { return r.phase == phase_; });
    if (it == phases_.end()) {
      phases_.push_back(Record{});
      phases_.back().phase = phase_;
      it = phases_.end() - 1;
    }
    it->extend(piece);
  }
}

void Tracker::close_interval_locked() {
  if (interval_.duration_s <= 0) return;
  interval_.phase = phase_;
  for (const auto& sink : sinks_) sink->interval(info_, interval_, total_);
  interval_ = Record{};
  interval_started_ = last_->time;
}

void Tracker::sampler_loop() {
  std::unique_lock lock(mutex_);
  const auto poll = std::chrono::duration_cast<meter::Clock::duration>(
      std::chrono::duration<double>(poll_interval_s_));
  const auto interval = std::chrono::duration_cast<meter::Clock::duration>(
      std::chrono::duration<double>(options_.interval_s));
  auto next = last_->time + poll;
  while (!stopping_) {
    if (wake_.wait_until(lock, next, [this] { return stopping_; })) break;
    sample_locked();
    // Tolerate timer slack of a millisecond when deciding that an interval is complete.
    if (last_->time - interval_started_ + std::chrono::milliseconds(1) >= interval)
      close_interval_locked();
    next += poll;
    if (next < last_->time) next = last_->time + poll;  // Fell behind (suspended): skip ahead.
  }
}

void Tracker::begin_phase(const std::string& name) {
  std::lock_guard lock(mutex_);
  if (!running_) {
    phase_ = name;
    return;
  }
  sample_locked();
  close_interval_locked();
  phase_ = name;
}

void Tracker::end_phase() { begin_phase(""); }

StepEnergy Tracker::step() {
  std::lock_guard lock(mutex_);
  if (!running_) return {};
  sample_locked();
  StepEnergy energy{step_.tree, step_.emissions_kg, step_.duration_s};
  step_ = Record{};
  return energy;
}

void Tracker::poll() {
  std::lock_guard lock(mutex_);
  if (!running_) return;
  sample_locked();
  if (last_->time - interval_started_ >= std::chrono::duration<double>(options_.interval_s))
    close_interval_locked();
}

Record Tracker::stop() {
  {
    std::lock_guard lock(mutex_);
    if (!running_) return total_;
    stopping_ = true;
  }
  wake_.notify_all();
  if (sampler_.joinable()) sampler_.join();
  std::lock_guard lock(mutex_);
  sample_locked();
  close_interval_locked();
  running_ = false;
  for (const auto& sink : sinks_) sink->finish(info_, total_, phases_);
  return total_;
}

Record Tracker::cumulative() const {
  std::lock_guard lock(mutex_);
  return total_;
}

std::vector<Record> Tracker::phases() const {
  std::lock_guard lock(mutex_);
  return phases_;
}

}  // namespace greenai::track
