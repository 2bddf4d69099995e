#include "cli/tracking_flags.h"

#include <unistd.h>

#include <filesystem>

#include "greenai/track/measurements.h"
#include "greenai/track/sinks.h"

namespace greenai::cli {

std::vector<OptionSpec> tracking_option_specs(bool json_is_log) {
  return {{"interval", true},
          {"output", true},
          {json_is_log ? "json" : "json-log", true},
          {"prometheus", true},
          {"project", true},
          {"intensity", true},
          {"intensity-series", true},
          {"country", true},
          {"pue", true},
          {"cpu-tdp", true},
          {"cpu-watts-per-core", true}};
}

meter::SensorOptions sensor_options(const ParsedArgs& args) {
  meter::SensorOptions options;
  options.cpu_tdp_w = args.number("cpu-tdp");
  options.cpu_watts_per_core = args.number("cpu-watts-per-core");
  return options;
}

track::TrackerOptions tracker_options(const ParsedArgs& args) {
  track::TrackerOptions options;
  options.interval_s = args.number("interval", 1.0);
  options.pue = args.number("pue", 1.0);
  if (auto project = args.get("project")) options.project_name = *project;
  carbon::IntensityRequest request;
  request.g_per_kwh = args.number("intensity");
  request.series = args.get("intensity-series");
  request.country = args.get("country");
  options.intensity = carbon::resolve_intensity(request);
  return options;
}

std::vector<std::shared_ptr<track::Sink>> open_sinks(const ParsedArgs& args) {
  // Files this call creates are removed again if a later sink fails, so bad input leaves
  // nothing behind.
  std::vector<std::string> created;
  auto note_new = [&](const std::optional<std::string>& path) {
    if (path && !std::filesystem::exists(*path)) created.push_back(*path);
  };
  std::vector<std::shared_ptr<track::Sink>> sinks;
  try {
    if (auto address = args.get("prometheus"))
      sinks.push_back(std::make_shared<track::PrometheusExporter>(*address));
    note_new(args.get("output"));
    if (auto path = args.get("output")) sinks.push_back(std::make_shared<track::CsvSink>(*path));
    // `greenai run --json FILE`; the training commands print results with --json and take
    // the record file as --json-log FILE.
    std::optional<std::string> json_log = args.get("json-log");
    if (!json_log && args.values.count("json")) json_log = args.get("json");
    note_new(json_log);
    if (json_log) sinks.push_back(std::make_shared<track::JsonLinesSink>(*json_log));
  } catch (...) {
    std::error_code ignored;
    for (const std::string& path : created)
      if (std::filesystem::exists(path, ignored) && std::filesystem::file_size(path, ignored) == 0)
        std::filesystem::remove(path, ignored);
    throw;
  }
  return sinks;
}

std::unique_ptr<track::Tracker> tracker_for_this_process(const ParsedArgs& args) {
  auto tracker = track::Tracker::for_this_process(tracker_options(args), sensor_options(args));
  for (auto& sink : open_sinks(args)) tracker->add_sink(sink);
  return tracker;
}

TreeTracker tracker_for_descendants(const ParsedArgs& args, const track::TrackerOptions& options) {
  auto usage = std::make_unique<meter::DescendantsUsage>(::getpid());
  meter::DescendantsUsage* tree = usage.get();
  auto tracker = std::make_unique<track::Tracker>(meter::open_sensors(sensor_options(args)),
                                                  std::move(usage), options);
  for (auto& sink : open_sinks(args)) tracker->add_sink(sink);
  return {std::move(tracker), tree};
}

util::Json provenance_json(const track::Tracker& tracker) {
  return track::Provenance::of(tracker.info()).to_json();
}

}  // namespace greenai::cli
