#include "greenai/meter/nvml.h"

#include <dlfcn.h>

#include <cassert>
#include <cstdlib>
#include <limits>

namespace greenai::meter {
namespace {

// The few NVML entry points used, declared from NVML's documented C ABI.
using NvmlReturn = int;
using NvmlDevice = struct NvmlDeviceOpaque*;
constexpr NvmlReturn kNvmlSuccess = 0;
constexpr unsigned kNvmlNameBufferSize = 96;

}  // namespace

struct NvmlSensor::Library {
  void* handle = nullptr;
  NvmlReturn (*init)() = nullptr;
  NvmlReturn (*shutdown)() = nullptr;
  NvmlReturn (*get_count)(unsigned*) = nullptr;
  NvmlReturn (*get_handle)(unsigned, NvmlDevice*) = nullptr;
  NvmlReturn (*get_name)(NvmlDevice, char*, unsigned) = nullptr;
  NvmlReturn (*get_energy_mj)(NvmlDevice, unsigned long long*) = nullptr;
  NvmlReturn (*get_power_mw)(NvmlDevice, unsigned*) = nullptr;
  const char* (*error_string)(NvmlReturn) = nullptr;
  bool initialised = false;

  std::string error(NvmlReturn code) const {
    const char* text = error_string ? error_string(code) : nullptr;
    return text ? text : "NVML error " + std::to_string(code);
  }
};

struct NvmlSensor::Gpu {
  NvmlDevice device = nullptr;
  GpuEnergyMode mode = GpuEnergyMode::kEnergyCounter;
  unsigned long long first_energy_mj = 0;
  unsigned last_power_mw = 0;
  Clock::time_point last_time{};
  bool has_last = false;
  double integrated_uj = 0;
  uint64_t total_uj = 0;
};

std::string default_nvml_library() {
  const char* env = std::getenv("GREENAI_NVML_LIBRARY");
  return env && *env ? env : "libnvidia-ml.so.1";
}

template <typename F>
static bool bind(void* handle, const char* symbol, F& out) {
  out = reinterpret_cast<F>(::dlsym(handle, symbol));
  return out != nullptr;
}

NvmlSensor::NvmlSensor(const std::string& library) : lib_(std::make_unique<Library>()) {
  lib_->handle = ::dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib_->handle) {
    const char* why = ::dlerror();
    status_ = "cannot load " + library + (why ? std::string(": ") + why : "") +
              " (no NVIDIA driver here; GPU energy is not counted)";
    return;
  }
  bool ok = bind(lib_->handle, "nvmlInit_v2", lib_->init) &&
            bind(lib_->handle, "nvmlShutdown", lib_->shutdown) &&
            bind(lib_->handle, "nvmlDeviceGetCount_v2", lib_->get_count) &&
            bind(lib_->handle, "nvmlDeviceGetHandleByIndex_v2", lib_->get_handle) &&
            bind(lib_->handle, "nvmlDeviceGetName", lib_->get_name) &&
            bind(lib_->handle, "nvmlDeviceGetTotalEnergyConsumption", lib_->get_energy_mj) &&
            bind(lib_->handle, "nvmlDeviceGetPowerUsage", lib_->get_power_mw);
  bind(lib_->handle, "nvmlErrorString", lib_->error_string);
  if (!ok) {
    status_ = library + " lacks an NVML entry point (driver too old?)";
    return;
  }
  if (NvmlReturn rc = lib_->init(); rc != kNvmlSuccess) {
    status_ = "nvmlInit failed: " + lib_->error(rc);
    return;
  }
  lib_->initialised = true;
  unsigned count = 0;
  if (NvmlReturn rc = lib_->get_count(&count); rc != kNvmlSuccess) {
    status_ = "nvmlDeviceGetCount failed: " + lib_->error(rc);
    return;
  }
  for (unsigned i = 0; i < count; ++i) {
    Gpu gpu;
    if (lib_->get_handle(i, &gpu.device) != kNvmlSuccess) continue;
    char name[kNvmlNameBufferSize] = {};
    if (lib_->get_name(gpu.device, name, sizeof name) != kNvmlSuccess) name[0] = '\0';
    if (lib_->get_energy_mj(gpu.device, &gpu.first_energy_mj) == kNvmlSuccess) {
      gpu.mode = GpuEnergyMode::kEnergyCounter;
    } else if (lib_->get_power_mw(gpu.device, &gpu.last_power_mw) == kNvmlSuccess) {
      gpu.mode = GpuEnergyMode::kPowerIntegration;
    } else {
      continue;  // Neither energy nor power readable: nothing to measure on this GPU.
    }
    channels_.push_back({"gpu" + std::to_string(i) + (name[0] ? std::string(" ") + name : ""),
                         Component::kGpu, true});
    gpus_.push_back(gpu);
  }
  if (gpus_.empty()) status_ = "NVML found no GPU with a readable energy or power figure";
}

NvmlSensor::~NvmlSensor() {
  if (lib_->initialised) lib_->shutdown();
  if (lib_->handle) ::dlclose(lib_->handle);
}

std::string NvmlSensor::describe() const {
  std::string text = "NVML";
  for (size_t i = 0; i < gpus_.size(); ++i) {
    text += i == 0 ? " (" : ", ";
    text += channels_[i].name + ": " +
            (gpus_[i].mode == GpuEnergyMode::kEnergyCounter ? "total-energy counter"
                                                            : "power sampled and integrated");
  }
  return gpus_.empty() ? text : text + ")";
}

GpuEnergyMode NvmlSensor::mode(size_t index) const { return gpus_.at(index).mode; }

double NvmlSensor::max_poll_interval_s() const {
  for (const Gpu& gpu : gpus_)
    if (gpu.mode == GpuEnergyMode::kPowerIntegration) return kPowerSamplingIntervalS;
  return std::numeric_limits<double>::infinity();  // A 64-bit mJ counter does not wrap.
}

void NvmlSensor::sample(Clock::time_point now, std::span<uint64_t> energy_uj) {
  assert(energy_uj.size() == gpus_.size());
  for (size_t i = 0; i < gpus_.size(); ++i) {
    Gpu& gpu = gpus_[i];
    if (gpu.mode == GpuEnergyMode::kEnergyCounter) {
      unsigned long long mj = 0;
      if (lib_->get_energy_mj(gpu.device, &mj) == kNvmlSuccess && mj >= gpu.first_energy_mj)
        gpu.total_uj = (mj - gpu.first_energy_mj) * 1000ULL;
    } else {
      unsigned mw = 0;
      if (lib_->get_power_mw(gpu.device, &mw) == kNvmlSuccess) {
        if (gpu.has_last) {
          double dt_s = std::chrono::duration<double>(now - gpu.last_time).count();
          // Trapezoid rule: mean of the two power readings (mW -> W) times the step, in uJ.
          gpu.integrated_uj += (gpu.last_power_mw + mw) / 2.0 / 1000.0 * dt_s * 1e6;
        }
        gpu.last_power_mw = mw;
        gpu.last_time = now;
        gpu.has_last = true;
        gpu.total_uj = static_cast<uint64_t>(gpu.integrated_uj);
      }
    }
    energy_uj[i] = gpu.total_uj;
  }
}

}  // namespace greenai::meter
