#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <string>

#include "greenai/error.h"
#include "greenai/greenai.h"
#include "greenai/track/sinks.h"
#include "greenai/track/tracker.h"
#include "greenai/tune/inference.h"

struct greenai_tracker {
  std::unique_ptr<greenai::track::Tracker> tracker;
  bool started = false;
};

namespace {

thread_local std::string last_error;

template <typename F>
int guarded(F&& body) {
  try {
    last_error.clear();
    return body();
  } catch (const greenai::Error& e) {
    last_error = e.what();
    if (!e.hint().empty()) last_error += " (hint: " + e.hint() + ")";
    return GREENAI_ERROR_INVALID_ARGUMENT;
  } catch (const std::exception& e) {
    last_error = e.what();
    return GREENAI_ERROR_INTERNAL;
  } catch (...) {
    last_error = "unknown error";
    return GREENAI_ERROR_INTERNAL;
  }
}

int state_error(const char* message) {
  last_error = message;
  return GREENAI_ERROR_STATE;
}

void fill(const greenai::track::Tracker& tracker, const greenai::track::Energy& e,
          double duration_s, double kg, greenai_energy* out) {
  using greenai::meter::Component;
  out->duration_s = duration_s;
  out->cpu_j = e[Component::kCpu];
  out->ram_j = e[Component::kRam];
  out->gpu_j = e[Component::kGpu];
  out->total_j = e.total_j();
  out->emissions_kg = kg;
  out->estimated = tracker.info().provenance() != "measured";
}

}  // namespace

extern "C" {

void greenai_tracker_options_init(greenai_tracker_options* options) {
  *options =
      greenai_tracker_options{1.0, 1.0, -1.0, nullptr, nullptr, "greenai", nullptr, nullptr, 1};
}

int greenai_tracker_create(const greenai_tracker_options* options, greenai_tracker** tracker) {
  return guarded([&]() -> int {
    if (!options || !tracker) return state_error("greenai_tracker_create: null argument");
    greenai::carbon::IntensityRequest request;
    if (options->intensity_g_per_kwh >= 0) request.g_per_kwh = options->intensity_g_per_kwh;
    if (options->intensity_series) request.series = options->intensity_series;
    if (options->country) request.country = options->country;
    greenai::track::TrackerOptions tracker_options;
    tracker_options.interval_s = options->interval_s;
    tracker_options.pue = options->pue;
    tracker_options.background_sampler = options->background_sampler != 0;
    if (options->project_name) tracker_options.project_name = options->project_name;
    tracker_options.intensity = greenai::carbon::resolve_intensity(request);
    auto handle = std::make_unique<greenai_tracker>();
    handle->tracker = greenai::track::Tracker::for_this_process(std::move(tracker_options));
    if (options->csv_path)
      handle->tracker->add_sink(std::make_shared<greenai::track::CsvSink>(options->csv_path));
    if (options->json_path)
      handle->tracker->add_sink(
          std::make_shared<greenai::track::JsonLinesSink>(options->json_path));
    *tracker = handle.release();
    return GREENAI_OK;
  });
}

int greenai_tracker_start(greenai_tracker* t) {
  return guarded([&]() -> int {
    if (!t) return state_error("greenai_tracker_start: null tracker");
    t->tracker->start();
    t->started = true;
    return GREENAI_OK;
  });
}

int greenai_tracker_begin_phase(greenai_tracker* t, const char* name) {
  return guarded([&]() -> int {
    if (!t || !name) return state_error("greenai_tracker_begin_phase: null argument");
    t->tracker->begin_phase(name);
    return GREENAI_OK;
  });
}

int greenai_tracker_end_phase(greenai_tracker* t) {
  return guarded([&]() -> int {
    if (!t) return state_error("greenai_tracker_end_phase: null tracker");
    t->tracker->end_phase();
    return GREENAI_OK;
  });
}

int greenai_tracker_step(greenai_tracker* t, greenai_energy* energy) {
  return guarded([&]() -> int {
    if (!t || !energy) return state_error("greenai_tracker_step: null argument");
    if (!t->started) return state_error("greenai_tracker_step: call greenai_tracker_start first");
    auto step = t->tracker->step();
    fill(*t->tracker, step.tree, step.duration_s, step.emissions_kg, energy);
    return GREENAI_OK;
  });
}

int greenai_tracker_stop(greenai_tracker* t, greenai_energy* total) {
  return guarded([&]() -> int {
    if (!t) return state_error("greenai_tracker_stop: null tracker");
    if (!t->started) return state_error("greenai_tracker_stop: the tracker was not started");
    auto record = t->tracker->stop();
    t->started = false;
    if (total) fill(*t->tracker, record.tree, record.duration_s, record.emissions_kg, total);
    return GREENAI_OK;
  });
}

void greenai_tracker_destroy(greenai_tracker* t) {
  try {
    delete t;
  } catch (...) {
  }
}

namespace {
// The tuner's pipes (GREENAI_TUNE_FD="STEP,ADVICE", tune/command_tuner.h), found once.
struct TuneChannel {
  std::mutex mutex;
  bool parsed = false;
  int step_fd = -1, advice_fd = -1;
  int threads = 0;  // the latest advice
};
TuneChannel& tune_channel() {
  static TuneChannel channel;
  return channel;
}
}  // namespace

int greenai_step(void) {
  TuneChannel& c = tune_channel();
  std::lock_guard lock(c.mutex);
  if (!c.parsed) {
    c.parsed = true;
    const char* fds = std::getenv("GREENAI_TUNE_FD");
    int step = -1, advice = -1;
    if (fds && std::sscanf(fds, "%d,%d", &step, &advice) == 2 && step >= 0 && advice >= 0 &&
        ::fcntl(step, F_GETFD) != -1 && ::fcntl(advice, F_GETFD) != -1) {
      // Never block the job: a step the tuner has no room for is dropped.
      ::fcntl(step, F_SETFL, ::fcntl(step, F_GETFL) | O_NONBLOCK);
      ::fcntl(advice, F_SETFL, ::fcntl(advice, F_GETFL) | O_NONBLOCK);
      c.step_fd = step;
      c.advice_fd = advice;
    }
  }
  if (c.step_fd < 0) return 0;
  const char byte = 's';
  [[maybe_unused]] const ssize_t written = ::write(c.step_fd, &byte, 1);
  int advice[16];
  for (ssize_t n;
       (n = ::read(c.advice_fd, advice, sizeof advice)) >= static_cast<ssize_t>(sizeof(int));)
    c.threads = advice[n / static_cast<ssize_t>(sizeof(int)) - 1];
  return c.threads;
}

int greenai_tuned_config_load(const char* path, greenai_tuned_config* config) {
  return guarded([&]() -> int {
    if (!path || !config)
      throw greenai::Error("cannot read tuned configuration", "the path or the config is null");
    const greenai::tune::InferenceConfig c = greenai::tune::load_inference_config(path);
    if (c.model.size() >= sizeof config->model)
      throw greenai::Error(std::string("cannot read tuned configuration (path=") + path + ")",
                           "the model's path is longer than greenai_tuned_config holds (4095)",
                           "move the model to a shorter path and tune again");
    *config = {};
    std::snprintf(config->model, sizeof config->model, "%s", c.model.c_str());
    std::snprintf(config->precision, sizeof config->precision, "%s", c.precision.c_str());
    std::snprintf(config->runtime, sizeof config->runtime, "%s", c.runtime.c_str());
    config->threads = c.threads;
    config->batch = c.batch;
    return GREENAI_OK;
  });
}

const char* greenai_last_error(void) { return last_error.c_str(); }

}  // extern "C"
