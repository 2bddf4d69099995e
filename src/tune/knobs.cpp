// Knobs and their guaranteed restore (include/greenai/tune/knobs.h). The saved values live in
// fixed arrays so that the signal handler can write them back with open/write/close only (all
// async-signal-safe), then re-raise the signal with the handler that was there before.
#include "greenai/tune/knobs.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "greenai/error.h"

namespace greenai::tune {
namespace {

constexpr size_t kMaxFiles = 1024;  // a knob per CPU of a large server, and then some
constexpr size_t kMaxPath = 512, kMaxValue = 64;

struct Saved {
  char path[kMaxPath];
  char value[kMaxValue];
  size_t length;
};
Saved g_saved[kMaxFiles];
std::atomic<size_t> g_count{0};
std::atomic<bool> g_alive{false};
// Settings that are not files, undone by restore_all() (never from a signal handler).
std::vector<std::pair<std::string, std::function<std::string()>>> g_undo;
struct sigaction g_previous_int, g_previous_term;

// Writes `length` bytes to `path`; async-signal-safe. Returns errno, or 0.
int put(const char* path, const char* value, size_t length) {
  const int fd = ::open(path, O_WRONLY | O_TRUNC);
  if (fd < 0) return errno;
  const ssize_t n = ::write(fd, value, length);
  const int error = n == static_cast<ssize_t>(length) ? 0 : (n < 0 ? errno : EIO);
  ::close(fd);
  return error;
}

void restore_from_signal(int signal) {
  for (size_t i = g_count.load(); i-- > 0;)
    put(g_saved[i].path, g_saved[i].value, g_saved[i].length);
  g_count.store(0);
  ::sigaction(SIGINT, &g_previous_int, nullptr);
  ::sigaction(SIGTERM, &g_previous_term, nullptr);
  ::raise(signal);
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

std::string read_value(const std::string& path) {
  std::ifstream f(path);
  if (!f) return {};
  std::stringstream text;
  text << f.rdbuf();
  return trimmed(text.str());
}

std::string fix_for(int error, const std::string& path) {
  if (error == EACCES || error == EPERM || error == EROFS)
    return "run as root, or let this user write it: sudo chmod o+w " + path;
  if (error == ENOENT) return "this machine does not have that setting";
  return "";
}

// Files `dir`/ENTRY/`file` for the entries `keep` accepts, sorted.
template <typename Keep>
std::vector<std::string> files_under(const std::string& dir, const std::string& file, Keep keep) {
  std::vector<std::string> found;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    const std::string name = entry.path().filename().string();
    const std::string path = (entry.path() / file).string();
    if (keep(name) && std::filesystem::exists(path, error)) found.push_back(path);
  }
  std::sort(found.begin(), found.end());
  return found;
}

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string joined_values(const std::vector<std::string>& files, double divisor,
                          const std::string& unit) {
  std::vector<std::string> values;
  for (const std::string& f : files) {
    const std::string v = read_value(f);
    char text[64];
    std::snprintf(text, sizeof text, "%g %s", all_digits(v) ? std::stod(v) / divisor : NAN,
                  unit.c_str());
    if (std::find(values.begin(), values.end(), text) == values.end()) values.push_back(text);
  }
  std::string out;
  for (const std::string& v : values) out += (out.empty() ? "" : ", ") + v;
  return out;
}

}  // namespace

KnobRestorer::KnobRestorer() {
  if (g_alive.exchange(true))
    throw Error("cannot guard knobs", "another KnobRestorer exists in this process",
                "change knobs through one restorer");
  g_count.store(0);
  struct sigaction action {};
  action.sa_handler = restore_from_signal;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, &g_previous_int);
  ::sigaction(SIGTERM, &action, &g_previous_term);
}

KnobRestorer::~KnobRestorer() {
  restore_all();
  ::sigaction(SIGINT, &g_previous_int, nullptr);
  ::sigaction(SIGTERM, &g_previous_term, nullptr);
  g_alive.store(false);
}

void KnobRestorer::write(const std::string& path, const std::string& text) {
  const size_t count = g_count.load();
  bool saved = false;
  for (size_t i = 0; i < count; ++i) saved = saved || path == g_saved[i].path;
  if (!saved) {
    if (path.size() >= kMaxPath || count == kMaxFiles)
      throw Error("cannot set knob (path=" + path + ")", "too many files or too long a path");
    if (::access(path.c_str(), F_OK) != 0)
      throw Error("cannot set knob (path=" + path + ")", std::strerror(errno),
                  fix_for(errno, path));
    const std::string before = read_value(path);
    if (before.size() >= kMaxValue)
      throw Error("cannot set knob (path=" + path + ")", "its value is too long to keep");
    Saved& s = g_saved[count];
    std::memcpy(s.path, path.c_str(), path.size() + 1);
    std::memcpy(s.value, before.c_str(), before.size());
    s.length = before.size();
    g_count.store(count + 1);  // saved before it is changed: a signal now restores it
  }
  if (const int error = put(path.c_str(), text.c_str(), text.size()); error != 0) {
    if (!saved) g_count.store(count);  // nothing changed
    throw Error("cannot set knob (path=" + path + ")", std::strerror(error), fix_for(error, path));
  }
}

std::vector<std::string> KnobRestorer::restore_all() {
  std::vector<std::string> failed;
  for (size_t i = g_count.load(); i-- > 0;) {
    if (put(g_saved[i].path, g_saved[i].value, g_saved[i].length) != 0)
      failed.push_back(g_saved[i].path);
    g_count.store(i);
  }
  while (!g_undo.empty()) {
    auto [what, undo] = std::move(g_undo.back());
    g_undo.pop_back();
    if (const std::string why = undo(); !why.empty()) failed.push_back(what + ": " + why);
  }
  return failed;
}

size_t KnobRestorer::pending() const { return g_count.load() + g_undo.size(); }

void KnobRestorer::on_restore(std::string what, std::function<std::string()> undo) {
  g_undo.emplace_back(std::move(what), std::move(undo));
}

PowerCapKnob::PowerCapKnob(std::string powercap_root, KnobRestorer& restorer)
    : restorer_(restorer) {
  // Package domains are intel-rapl:N; their subzones (intel-rapl:N:M) are left alone.
  files_ = files_under(powercap_root, "constraint_0_power_limit_uw", [](const std::string& n) {
    return n.rfind("intel-rapl:", 0) == 0 && all_digits(n.substr(11));
  });
  if (files_.empty())
    throw Error("cannot use the power-cap knob (powercap root=" + powercap_root + ")",
                "no RAPL package domain with constraint_0_power_limit_uw",
                "this machine has no RAPL, or the intel_rapl (powercap) driver is not loaded");
}

std::string PowerCapKnob::read() const { return joined_values(files_, 1e6, "W"); }

void PowerCapKnob::set(double watts) {
  if (!(watts > 0 && watts < 1e5))
    throw Error("cannot set the power cap (watts=" + std::to_string(watts) + ")",
                "give a positive number of watts");
  for (const std::string& f : files_) {
    const std::string max = read_value(f.substr(0, f.rfind('/')) + "/constraint_0_max_power_uw");
    if (all_digits(max) && std::stod(max) > 0 && watts * 1e6 > std::stod(max))
      throw Error("cannot set the power cap (watts=" + std::to_string(watts) + ")",
                  "above the package's maximum of " + std::to_string(std::stod(max) / 1e6) + " W");
    restorer_.write(f, std::to_string(std::llround(watts * 1e6)));
  }
}

namespace {
// `top`, then 90 % ... 50 % of it, none below `floor`.
std::vector<double> tenths_down(double top, double floor) {
  std::vector<double> values;
  for (int tenths = 10; tenths >= 5; --tenths) {
    const double v = std::round(top * tenths / 10);
    if (v >= floor && v > 0) values.push_back(v);
  }
  return values;
}
}  // namespace

std::vector<double> PowerCapKnob::profile_values() const {
  const std::string now = read_value(files_[0]);
  if (!all_digits(now) || std::stod(now) <= 0)
    throw Error("cannot profile the power cap (path=" + files_[0] + ")",
                "it holds no power limit in microwatts");
  return tenths_down(std::stod(now) / 1e6, 0);
}

CpuFreqKnob::CpuFreqKnob(std::string cpu_root, KnobRestorer& restorer) : restorer_(restorer) {
  files_ = files_under(cpu_root, "cpufreq/scaling_max_freq", [](const std::string& n) {
    return n.rfind("cpu", 0) == 0 && all_digits(n.substr(3));
  });
  if (files_.empty())
    throw Error("cannot use the cpu-freq knob (cpu root=" + cpu_root + ")",
                "no cpuN/cpufreq/scaling_max_freq",
                "this machine (or its virtual machine) exposes no cpufreq driver");
}

std::string CpuFreqKnob::read() const { return joined_values(files_, 1, "kHz"); }

void CpuFreqKnob::set(double khz) {
  for (const std::string& f : files_) {
    const std::string dir = f.substr(0, f.rfind('/'));
    const std::string lo = read_value(dir + "/cpuinfo_min_freq");
    const std::string hi = read_value(dir + "/cpuinfo_max_freq");
    if ((all_digits(lo) && khz < std::stod(lo)) || (all_digits(hi) && khz > std::stod(hi)))
      throw Error("cannot set the CPU frequency (khz=" + std::to_string(khz) + ")",
                  "outside the CPU's range " + lo + " to " + hi + " kHz");
    restorer_.write(f, std::to_string(std::llround(khz)));
  }
}

std::vector<double> CpuFreqKnob::profile_values() const {
  const std::string dir = files_[0].substr(0, files_[0].rfind('/'));
  const std::string hi = read_value(dir + "/cpuinfo_max_freq");
  const std::string lo = read_value(dir + "/cpuinfo_min_freq");
  if (!all_digits(hi) || std::stod(hi) <= 0)
    throw Error("cannot profile the CPU frequency (path=" + dir + "/cpuinfo_max_freq)",
                "it holds no frequency in kHz");
  return tenths_down(std::stod(hi), all_digits(lo) ? std::stod(lo) : 0);
}

// NVML's power-limit entry points, declared from its documented C ABI.
struct GpuPowerLimitKnob::Nvml {
  using Device = struct NvmlDeviceOpaque*;
  void* handle = nullptr;
  int (*init)() = nullptr;
  int (*shutdown)() = nullptr;
  int (*count)(unsigned*) = nullptr;
  int (*device)(unsigned, Device*) = nullptr;
  int (*constraints)(Device, unsigned*, unsigned*) = nullptr;
  int (*get_limit)(Device, unsigned*) = nullptr;
  int (*set_limit)(Device, unsigned) = nullptr;
  const char* (*error_string)(int) = nullptr;
  std::vector<Device> gpus;
  std::vector<unsigned> min_mw, max_mw, saved_mw;
  bool initialised = false;
  std::string error(int code) const {
    const char* text = error_string ? error_string(code) : nullptr;
    return text ? text : "NVML error " + std::to_string(code);
  }
  ~Nvml() {
    if (initialised) shutdown();
    if (handle) ::dlclose(handle);
  }
};

namespace {
template <typename F>
bool bind(void* handle, const char* symbol, F& out) {
  out = reinterpret_cast<F>(::dlsym(handle, symbol));
  return out != nullptr;
}
constexpr int kNvmlNoPermission = 4;
}  // namespace

GpuPowerLimitKnob::GpuPowerLimitKnob(const std::string& library, KnobRestorer& restorer)
    : nvml_(std::make_shared<Nvml>()), restorer_(restorer) {
  const std::string action = "cannot use the gpu-power-limit knob (library=" + library + ")";
  Nvml& n = *nvml_;
  n.handle = ::dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!n.handle) throw Error(action, "NVML cannot be loaded", "this machine has no NVIDIA driver");
  if (!(bind(n.handle, "nvmlInit_v2", n.init) && bind(n.handle, "nvmlShutdown", n.shutdown) &&
        bind(n.handle, "nvmlDeviceGetCount_v2", n.count) &&
        bind(n.handle, "nvmlDeviceGetHandleByIndex_v2", n.device) &&
        bind(n.handle, "nvmlDeviceGetPowerManagementLimitConstraints", n.constraints) &&
        bind(n.handle, "nvmlDeviceGetPowerManagementLimit", n.get_limit) &&
        bind(n.handle, "nvmlDeviceSetPowerManagementLimit", n.set_limit)))
    throw Error(action, "the library lacks NVML's power-limit calls", "update the NVIDIA driver");
  bind(n.handle, "nvmlErrorString", n.error_string);
  if (int rc = n.init(); rc != 0) throw Error(action, "nvmlInit: " + n.error(rc));
  n.initialised = true;
  unsigned count = 0;
  if (int rc = n.count(&count); rc != 0 || count == 0)
    throw Error(action, rc ? n.error(rc) : "no GPU", "this machine has no NVIDIA GPU");
  for (unsigned i = 0; i < count; ++i) {
    Nvml::Device d = nullptr;
    unsigned lo = 0, hi = 0, now = 0;
    if (int rc = n.device(i, &d); rc != 0)
      throw Error(action, "GPU " + std::to_string(i) + ": " + n.error(rc));
    if (int rc = n.constraints(d, &lo, &hi); rc != 0)
      throw Error(action, "GPU " + std::to_string(i) + " power-limit constraints: " + n.error(rc),
                  "this GPU does not allow power management");
    if (int rc = n.get_limit(d, &now); rc != 0)
      throw Error(action, "GPU " + std::to_string(i) + " power limit: " + n.error(rc));
    n.gpus.push_back(d);
    n.min_mw.push_back(lo);
    n.max_mw.push_back(hi);
    n.saved_mw.push_back(now);
  }
}

GpuPowerLimitKnob::~GpuPowerLimitKnob() = default;

std::string GpuPowerLimitKnob::read() const {
  std::string out;
  for (size_t i = 0; i < nvml_->gpus.size(); ++i) {
    unsigned mw = 0;
    nvml_->get_limit(nvml_->gpus[i], &mw);
    char text[32];
    std::snprintf(text, sizeof text, "%g W", mw / 1000.0);
    if (out.find(text) == std::string::npos) out += (out.empty() ? "" : ", ") + std::string(text);
  }
  return out;
}

void GpuPowerLimitKnob::set(double watts) {
  Nvml& n = *nvml_;
  const auto mw = static_cast<unsigned>(std::llround(watts * 1000));
  for (size_t i = 0; i < n.gpus.size(); ++i)
    if (!(watts > 0) || mw < n.min_mw[i] || mw > n.max_mw[i])
      throw Error("cannot set the GPU power limit (watts=" + std::to_string(watts) + ")",
                  "outside GPU " + std::to_string(i) + "'s range " +
                      std::to_string(n.min_mw[i] / 1000) + " to " +
                      std::to_string(n.max_mw[i] / 1000) + " W");
  if (!registered_) {  // the limits read at construction are what is put back
    registered_ = true;
    std::shared_ptr<Nvml> keep = nvml_;
    restorer_.on_restore("the GPU power limits", [keep] {
      std::string why;
      for (size_t i = 0; i < keep->gpus.size(); ++i)
        if (int rc = keep->set_limit(keep->gpus[i], keep->saved_mw[i]); rc != 0)
          why += "GPU " + std::to_string(i) + ": " + keep->error(rc) + "; ";
      return why;
    });
  }
  for (size_t i = 0; i < n.gpus.size(); ++i)
    if (int rc = n.set_limit(n.gpus[i], mw); rc != 0)
      throw Error("cannot set the GPU power limit (watts=" + std::to_string(watts) + ")",
                  "GPU " + std::to_string(i) + ": " + n.error(rc),
                  rc == kNvmlNoPermission ? "setting a GPU's power limit needs root: run greenai "
                                            "tune with sudo"
                                          : "");
}

std::vector<double> GpuPowerLimitKnob::profile_values() const {
  const Nvml& n = *nvml_;
  const unsigned hi = *std::max_element(n.max_mw.begin(), n.max_mw.end());
  const unsigned lo = *std::min_element(n.min_mw.begin(), n.min_mw.end());
  std::vector<double> values;
  for (double w = hi / 1000.0; w * 1000 >= lo; w -= 25) values.push_back(w);
  return values;
}

}  // namespace greenai::tune
