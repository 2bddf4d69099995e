/* A fake libnvidia-ml.so.1 for the tests: the NVML entry points the meter uses, backed by
 * state the tests set through fake_nvml_* functions (found with dlsym on the same handle). */
#include <stdio.h>
#include <string.h>

#define FAKE_MAX_GPUS 8
#define NVML_SUCCESS 0
#define NVML_ERROR_UNINITIALIZED 1
#define NVML_ERROR_INVALID_ARGUMENT 2
#define NVML_ERROR_NOT_SUPPORTED 3
#define NVML_ERROR_NO_PERMISSION 4
#define NVML_ERROR_DRIVER_NOT_LOADED 9

typedef struct fake_device {
  int index;
} fake_device;

static fake_device devices[FAKE_MAX_GPUS];
static unsigned gpu_count = 1;
static int energy_supported = 1;
static int init_fails = 0;
static int initialised = 0;
static unsigned long long energy_mj[FAKE_MAX_GPUS];
static unsigned power_mw[FAKE_MAX_GPUS];
/* Power limits (mW): the current one and the constraints; setting may be refused as without
 * root (NVML_ERROR_NO_PERMISSION). */
static unsigned limit_mw[FAKE_MAX_GPUS], limit_min_mw[FAKE_MAX_GPUS], limit_max_mw[FAKE_MAX_GPUS];
static int limit_needs_root = 0;
static unsigned limit_sets = 0;

void fake_nvml_configure(unsigned count, int has_energy_counter, int fail_init) {
  gpu_count = count;
  energy_supported = has_energy_counter;
  init_fails = fail_init;
  memset(energy_mj, 0, sizeof energy_mj);
  memset(power_mw, 0, sizeof power_mw);
  for (unsigned i = 0; i < FAKE_MAX_GPUS; ++i) {
    limit_mw[i] = 300000;
    limit_min_mw[i] = 100000;
    limit_max_mw[i] = 300000;
  }
  limit_needs_root = 0;
  limit_sets = 0;
}
void fake_nvml_configure_limits(unsigned min_mw, unsigned max_mw, unsigned now_mw, int needs_root) {
  for (unsigned i = 0; i < FAKE_MAX_GPUS; ++i) {
    limit_min_mw[i] = min_mw;
    limit_max_mw[i] = max_mw;
    limit_mw[i] = now_mw;
  }
  limit_needs_root = needs_root;
}
unsigned fake_nvml_limit_mw(unsigned gpu) { return limit_mw[gpu]; }
unsigned fake_nvml_limit_sets(void) { return limit_sets; }
void fake_nvml_set_energy_mj(unsigned gpu, unsigned long long mj) { energy_mj[gpu] = mj; }
void fake_nvml_set_power_mw(unsigned gpu, unsigned mw) { power_mw[gpu] = mw; }
int fake_nvml_initialised(void) { return initialised; }

int nvmlInit_v2(void) {
  if (init_fails) return NVML_ERROR_DRIVER_NOT_LOADED;
  initialised = 1;
  return NVML_SUCCESS;
}
int nvmlShutdown(void) {
  initialised = 0;
  return NVML_SUCCESS;
}
const char* nvmlErrorString(int result) {
  switch (result) {
    case NVML_SUCCESS:
      return "Success";
    case NVML_ERROR_NOT_SUPPORTED:
      return "Not Supported";
    case NVML_ERROR_NO_PERMISSION:
      return "Insufficient Permissions";
    case NVML_ERROR_DRIVER_NOT_LOADED:
      return "Driver Not Loaded";
    default:
      return "Unknown Error";
  }
}
int nvmlDeviceGetCount_v2(unsigned* count) {
  if (!initialised) return NVML_ERROR_UNINITIALIZED;
  *count = gpu_count;
  return NVML_SUCCESS;
}
int nvmlDeviceGetHandleByIndex_v2(unsigned index, fake_device** device) {
  if (index >= gpu_count) return NVML_ERROR_INVALID_ARGUMENT;
  devices[index].index = (int)index;
  *device = &devices[index];
  return NVML_SUCCESS;
}
int nvmlDeviceGetName(fake_device* device, char* name, unsigned length) {
  snprintf(name, length, "Fake GPU %d", device->index);
  return NVML_SUCCESS;
}
int nvmlDeviceGetTotalEnergyConsumption(fake_device* device, unsigned long long* mj) {
  if (!energy_supported) return NVML_ERROR_NOT_SUPPORTED;
  *mj = energy_mj[device->index];
  return NVML_SUCCESS;
}
int nvmlDeviceGetPowerUsage(fake_device* device, unsigned* mw) {
  *mw = power_mw[device->index];
  return NVML_SUCCESS;
}
int nvmlDeviceGetPowerManagementLimitConstraints(fake_device* device, unsigned* min_mw,
                                                 unsigned* max_mw) {
  *min_mw = limit_min_mw[device->index];
  *max_mw = limit_max_mw[device->index];
  return NVML_SUCCESS;
}
int nvmlDeviceGetPowerManagementLimit(fake_device* device, unsigned* mw) {
  *mw = limit_mw[device->index];
  return NVML_SUCCESS;
}
int nvmlDeviceSetPowerManagementLimit(fake_device* device, unsigned mw) {
  if (limit_needs_root) return NVML_ERROR_NO_PERMISSION;
  if (mw < limit_min_mw[device->index] || mw > limit_max_mw[device->index])
    return NVML_ERROR_INVALID_ARGUMENT;
  limit_mw[device->index] = mw;
  ++limit_sets;
  return NVML_SUCCESS;
}
