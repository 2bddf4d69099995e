// Flags shared by every command that tracks energy (run now; train, distill, bench later):
// --interval, --country/--intensity/--intensity-series, --pue, --cpu-tdp,
// --cpu-watts-per-core, --output, --json, --prometheus, --project.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cli/args.h"
#include "greenai/meter/sensors.h"
#include "greenai/meter/system.h"
#include "greenai/track/tracker.h"
#include "greenai/util/json.h"

namespace greenai::cli {

/// The option specs of the shared flags, to append to a command's own. Commands whose --json
/// prints results on stdout take the JSON-lines record file as --json-log instead.
std::vector<OptionSpec> tracking_option_specs(bool json_is_log = true);

meter::SensorOptions sensor_options(const ParsedArgs& args);
/// Validates and resolves everything (intensity source included); throws before any work.
track::TrackerOptions tracker_options(const ParsedArgs& args);
/// Opens the sinks asked for (CSV, JSON lines, Prometheus); throws greenai::Error if one cannot
/// be opened, before anything has been written.
std::vector<std::shared_ptr<track::Sink>> open_sinks(const ParsedArgs& args);
/// A tracker of this process's tree of descendants (what a track::Supervisor runs) with the shared
/// flags applied (`options`, as tracker_options gave them) and its sinks attached; `tree` is its
/// usage source, for the Supervisor.
struct TreeTracker {
  std::unique_ptr<track::Tracker> tracker;
  meter::DescendantsUsage* tree;
};
TreeTracker tracker_for_descendants(const ParsedArgs& args, const track::TrackerOptions& options);
/// Where a tracker's figures come from: "energy" (measured, estimated or mixed), "sources" (the
/// sensor or model of each component), "intensity" (the g/kWh source) and "pue".
util::Json provenance_json(const track::Tracker& tracker);
/// A tracker of this process with the shared flags applied and its sinks attached (not started).
std::unique_ptr<track::Tracker> tracker_for_this_process(const ParsedArgs& args);

}  // namespace greenai::cli
