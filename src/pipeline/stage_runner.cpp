#include "greenai/pipeline/stage_runner.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "greenai/error.h"
#include "greenai/util/file.h"
#include "greenai/version.h"

namespace greenai::pipeline {

std::string StageEvent::heading() const {
  char text[160];
  if (total)
    std::snprintf(text, sizeof text, "[%2zu/%zu] %-44s", index, total, stage.label.c_str());
  else
    std::snprintf(text, sizeof text, "[%2zu/..] %-44s", index, stage.label.c_str());
  return text;
}

std::string StageEvent::outcome() const {
  char text[96] = "";
  switch (kind) {
    case Kind::kCached:
      return " cached (" + std::filesystem::path(result->dir).filename().string() + ")\n";
    case Kind::kStarted:
      return "";
    case Kind::kFinished:
      std::snprintf(text, sizeof text, " %6.1f s, %8.4g J\n", result->seconds, result->energy_j);
      return text;
    case Kind::kFailed:
      return " failed\n";
    case Kind::kStopped:
      return " stopped\n";
  }
  return text;
}
namespace {

namespace fs = std::filesystem;
using util::Json;

void replace_all(std::string& text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
}

std::string last_line(std::string text) {
  while (!text.empty() && text.back() == '\n') text.pop_back();
  const size_t last = text.rfind('\n');
  return last == std::string::npos ? text : text.substr(last + 1);
}

}  // namespace

void ContentHash::add(const void* data, size_t size) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < size; ++i) hash_ = (hash_ ^ p[i]) * 1099511628211ULL;
}

void ContentHash::add(const std::string& text) { add(text.data(), text.size() + 1); }

void ContentHash::add_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error("cannot run pipeline (input=" + path + ")", "missing stage input");
  char buffer[1 << 16];
  while (f.read(buffer, sizeof buffer) || f.gcount() > 0)
    add(buffer, static_cast<size_t>(f.gcount()));
}

std::string ContentHash::hex() const {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash_));
  return text;
}

Stopped::Stopped(int signal_number, std::string stage_name)
    : std::runtime_error("stopped by signal " + std::to_string(signal_number) + " in stage " +
                         stage_name),
      signal(signal_number),
      stage(std::move(stage_name)) {}

StageRunner::StageRunner(RunnerOptions options, track::Tracker& tracker,
                         track::Supervisor& supervisor, Progress progress)
    : options_(std::move(options)),
      tracker_(tracker),
      supervisor_(supervisor),
      progress_(std::move(progress)) {}

const StageResult& StageRunner::result(const std::string& name) const {
  auto it = done_.find(name);
  if (it == done_.end())
    throw Error("cannot run pipeline (stage=" + name + ")", "no stage of that name ran before");
  return it->second;
}

std::string StageRunner::resolve(std::string text, const std::string& dir) const {
  for (size_t at = text.find("{stage:"); at != std::string::npos; at = text.find("{stage:", at)) {
    const size_t end = text.find('}', at);
    if (end == std::string::npos) break;
    const std::string folder = result(text.substr(at + 7, end - at - 7)).dir;
    text.replace(at, end + 1 - at, folder);
    at += folder.size();
  }
  if (!dir.empty()) replace_all(text, "{dir}", dir);
  return text;
}

StageResult StageRunner::run(const StageSpec& stage, size_t index, size_t total) {
  ContentHash key;
  key.add(GREENAI_VERSION);
  key.add(options_.cache_salt);
  key.add(stage.name);
  for (const auto& a : stage.args) key.add(resolve(a));
  for (const auto& in : stage.inputs) key.add_file(resolve(in));
  const fs::path dir = fs::path(options_.out) / "stages" / (stage.name + "-" + key.hex());
  const fs::path marker = dir / "stage.json";
  StageResult r;
  r.name = stage.name;
  r.dir = dir.string();
  if (!options_.fresh && fs::exists(marker)) {
    const Json m = Json::parse(util::read_file(marker.string()));
    r.output = Json::parse(util::read_file((dir / "result.json").string()));
    r.seconds = util::number_field(m, "seconds", "a stage marker");
    r.energy_j = util::number_field(m, "energy_j", "a stage marker");
    r.kg = util::number_field(m, "kg", "a stage marker");
    r.cached = true;
    if (progress_) progress_({StageEvent::Kind::kCached, stage, index, total, &r});
    return done_[stage.name] = r;
  }
  return done_[stage.name] = run_now(stage, std::move(r), key.hex(), index, total);
}

StageResult StageRunner::run_now(const StageSpec& stage, StageResult r, const std::string& key,
                                 size_t index, size_t total) {
  if (int s = supervisor_.received_signal()) throw Stopped(s, stage.name);
  const fs::path dir = r.dir;
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::vector<std::string> argv{options_.program};
  for (const auto& a : stage.args) argv.push_back(resolve(a, dir.string()));
  if (stage.takes_tracking)
    argv.insert(argv.end(), options_.tracking_args.begin(), options_.tracking_args.end());
  if (progress_) progress_({StageEvent::Kind::kStarted, stage, index, total, &r});
  tracker_.begin_phase(stage.label);
  const auto begin = std::chrono::steady_clock::now();
  int status = 0;
  try {
    // The stage writes "progress: ..." lines to its log for the pipeline to show.
    status = supervisor_.run(
        argv,
        {(dir / "result.json").string(), (dir / "log.txt").string(), {"GREENAI_PROGRESS=lines"}});
  } catch (const Error& e) {
    tracker_.end_phase();
    throw Error("cannot run pipeline stage (program=" + options_.program + ")", e.what(),
                "greenai-torch is built beside greenai when LibTorch is present");
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  tracker_.end_phase();
  for (const auto& p : tracker_.phases())
    if (p.phase == stage.label) r.energy_j = p.tree.total_j(), r.kg = p.emissions_kg;
  if (int s = supervisor_.received_signal()) {
    if (progress_) progress_({StageEvent::Kind::kStopped, stage, index, total, nullptr});
    throw Stopped(s, stage.name);
  }
  if (status != 0) {
    if (progress_) progress_({StageEvent::Kind::kFailed, stage, index, total, nullptr});
    throw Error("cannot run pipeline stage (stage=" + stage.name + ")",
                "exit status " + std::to_string(status) + ": " +
                    last_line(util::read_file((dir / "log.txt").string())),
                "the whole log is " + (dir / "log.txt").string());
  }
  r.output = Json::parse(util::read_file((dir / "result.json").string()));
  Json command = Json::array();
  for (const auto& a : argv) command.push(a);
  const Json m = Json::object()
                     .set("name", stage.name)
                     .set("key", key)
                     .set("seconds", r.seconds)
                     .set("energy_j", r.energy_j)
                     .set("kg", r.kg)
                     .set("command", command);
  util::write_file_atomic((dir / "stage.json").string(), m.dump(2) + "\n");
  if (progress_) progress_({StageEvent::Kind::kFinished, stage, index, total, &r});
  return r;
}

}  // namespace greenai::pipeline
