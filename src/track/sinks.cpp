#include "greenai/track/sinks.h"

#include <fcntl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <sstream>

#include "greenai/error.h"
#include "greenai/util/json.h"
#include "greenai/version.h"

namespace greenai::track {
namespace {

constexpr double kBytesPerGib = 1024.0 * 1024.0 * 1024.0;

std::string format_double(double value) {
  if (!std::isfinite(value)) return "";
  char text[40];
  std::snprintf(text, sizeof text, "%.10g", value);
  return text;
}

std::string csv_field(const std::string& value) {
  if (value.find_first_of(",\"\n\r") == std::string::npos) return value;
  std::string quoted = "\"";
  for (char c : value) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

std::string json_string(const std::string& value) { return util::Json(value).dump(); }

std::string json_number(double value) {
  std::string text = format_double(value);
  return text.empty() ? "null" : text;
}

// ISO 8601 in UTC with microseconds, as Python's datetime.isoformat() writes an aware time.
std::string iso_utc(double unix_s) {
  time_t seconds = static_cast<time_t>(std::floor(unix_s));
  int micros = static_cast<int>((unix_s - std::floor(unix_s)) * 1e6);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[64];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%06d+00:00", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, micros);
  return text;
}

std::string os_name() {
  utsname u{};
  if (::uname(&u) != 0) return "Linux";
  return std::string(u.sysname) + "-" + u.release + "-" + u.machine;
}

int open_append(const std::string& path, const char* what) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0)
    throw Error(std::string("cannot write ") + what + " (path=" + path + ")", std::strerror(errno),
                "choose a path in a writable folder");
  return fd;
}

void write_all(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // Disk full or the like: records are lost, the workload goes on.
    done += static_cast<size_t>(n);
  }
}

std::string source_text(const RunInfo& info, Component c) {
  const ComponentSource& s = info.sources[static_cast<size_t>(c)];
  if (!s.present) return "none";
  return std::string(meter::to_string(s.provenance)) + ":" + s.sensor;
}

}  // namespace

const std::vector<std::string>& csv_columns() {
  static const std::vector<std::string> columns = {
      // CodeCarbon 3.3 (energies kWh, powers W, emissions kg CO2eq).
      "timestamp", "project_name", "run_id", "experiment_id", "duration", "emissions",
      "emissions_rate", "cpu_power", "gpu_power", "ram_power", "cpu_energy", "gpu_energy",
      "ram_energy", "energy_consumed", "water_consumed", "country_name", "country_iso_code",
      "region", "cloud_provider", "cloud_region", "os", "python_version", "codecarbon_version",
      "cpu_count", "cpu_model", "gpu_count", "gpu_model", "longitude", "latitude", "ram_total_size",
      "tracking_mode", "cpu_utilization_percent", "gpu_utilization_percent",
      "ram_utilization_percent", "ram_used_gb", "on_cloud", "pue", "wue",
      // GreenAI's provenance columns.
      "greenai_version", "row_kind", "phase", "energy_provenance", "cpu_source", "gpu_source",
      "ram_source", "intensity_g_per_kwh", "intensity_source", "machine_energy_consumed",
      "tracked_workload", "tracked_cpu_seconds"};
  return columns;
}

CsvSink::CsvSink(const std::string& path, CsvOptions options)
    : path_(path), options_(std::move(options)) {
  // Check an existing file's header before anything is written to it.
  std::string header;
  for (size_t i = 0; i < csv_columns().size(); ++i) header += (i ? "," : "") + csv_columns()[i];
  if (FILE* existing = std::fopen(path.c_str(), "r")) {
    char line[4096] = {};
    bool empty = !std::fgets(line, sizeof line, existing);
    std::fclose(existing);
    std::string first = line;
    while (!first.empty() && (first.back() == '\n' || first.back() == '\r')) first.pop_back();
    if (!empty && first != header)
      throw Error("cannot append to CSV (path=" + path + ")",
                  "the file's header is not GreenAI's emissions.csv header",
                  "write to a new file; this one was left untouched");
    needs_header_ = empty;
  } else {
    needs_header_ = true;
  }
  fd_ = open_append(path, "CSV");
}

CsvSink::~CsvSink() {
  if (fd_ >= 0) ::close(fd_);
}

void CsvSink::begin(const RunInfo&) {
  if (!needs_header_) return;
  std::string header;
  for (size_t i = 0; i < csv_columns().size(); ++i) header += (i ? "," : "") + csv_columns()[i];
  write_all(fd_, header + "\n");
  needs_header_ = false;
}

void CsvSink::write_row(const RunInfo& info, const Record& total, const Record& last,
                        const char* kind) {
  auto kwh = [](double j) { return j / carbon::kJoulesPerKwh; };
  // The tracked tree's share, or (tracking_mode machine) the whole machine's energy.
  const Energy& energy = options_.whole_machine ? total.machine : total.tree;
  const Energy& last_energy = options_.whole_machine ? last.machine : last.tree;
  const double emissions =
      options_.whole_machine
          ? carbon::emissions_kg(kwh(total.machine.total_j()), info.pue, total.intensity_g_per_kwh)
          : total.emissions_kg;
  auto watts = [&](Component c) {
    return last.duration_s > 0 ? last_energy[c] / last.duration_s : 0;
  };
  std::string gpus;
  for (const std::string& g : info.gpu_names) gpus += (gpus.empty() ? "" : "; ") + g;
  double cpu_util = total.duration_s > 0
                        ? 100.0 * total.machine_busy_cpu_s / (total.duration_s * info.cpu_count)
                        : 0;
  std::vector<std::string> values = {
      iso_utc(total.end_unix_s),
      info.project_name,
      info.run_id,
      info.experiment_id,
      format_double(total.duration_s),
      format_double(emissions),
      format_double(total.duration_s > 0 ? emissions / total.duration_s : 0),
      format_double(watts(Component::kCpu)),
      format_double(watts(Component::kGpu)),
      format_double(watts(Component::kRam)),
      format_double(kwh(energy[Component::kCpu])),
      format_double(kwh(energy[Component::kGpu])),
      format_double(kwh(energy[Component::kRam])),
      format_double(kwh(energy.total_j())),
      "0",
      info.country_name,
      info.country_code,
      "",
      "",
      "",
      os_name(),
      options_.python_version,
      "",
      std::to_string(info.cpu_count),
      info.cpu_model,
      std::to_string(info.gpu_names.size()),
      gpus,
      "",
      "",
      format_double(info.ram_total_bytes / kBytesPerGib),
      options_.whole_machine ? "machine" : "process",
      format_double(cpu_util),
      "",
      format_double(info.ram_total_bytes > 0
                        ? 100.0 * total.machine_mem_used_bytes / info.ram_total_bytes
                        : 0),
      format_double(total.machine_mem_used_bytes / kBytesPerGib),
      "N",
      format_double(info.pue),
      "0",
      GREENAI_VERSION,
      kind,
      last.phase,
      info.provenance(),
      source_text(info, Component::kCpu),
      source_text(info, Component::kGpu),
      source_text(info, Component::kRam),
      format_double(total.intensity_g_per_kwh),
      info.intensity_source,
      format_double(kwh(total.machine.total_j())),
      info.workload,
      format_double(total.tree_cpu_s)};
  std::string row;
  for (size_t i = 0; i < values.size(); ++i) row += (i ? "," : "") + csv_field(values[i]);
  std::lock_guard lock(write_mutex_);
  write_all(fd_, row + "\n");
}

void CsvSink::interval(const RunInfo& info, const Record& interval, const Record& cumulative) {
  if (options_.every_interval) write_row(info, cumulative, interval, "interval");
}

void CsvSink::write_now(const RunInfo& info, const Record& cumulative) {
  write_row(info, cumulative, cumulative, "flush");
}

void CsvSink::finish(const RunInfo& info, const Record& total, const std::vector<Record>&) {
  write_row(info, total, total, "final");
}

std::string record_json(const RunInfo& info, const Record& r) {
  std::ostringstream out;
  auto energy = [&](const Energy& e) {
    std::ostringstream o;
    o << "{\"cpu_j\":" << json_number(e[Component::kCpu])
      << ",\"ram_j\":" << json_number(e[Component::kRam])
      << ",\"gpu_j\":" << json_number(e[Component::kGpu])
      << ",\"total_j\":" << json_number(e.total_j()) << "}";
    return o.str();
  };
  out << "{\"run_id\":" << json_string(info.run_id) << ",\"phase\":" << json_string(r.phase)
      << ",\"start\":" << json_string(iso_utc(r.start_unix_s))
      << ",\"end\":" << json_string(iso_utc(r.end_unix_s))
      << ",\"duration_s\":" << json_number(r.duration_s) << ",\"energy\":" << energy(r.tree)
      << ",\"machine_energy\":" << energy(r.machine) << ",\"provenance\":{";
  for (Component c : meter::kAllComponents) {
    out << (c == Component::kCpu ? "" : ",") << json_string(std::string(meter::to_string(c))) << ":"
        << json_string(source_text(info, c));
  }
  out << "},\"tracked_cpu_s\":" << json_number(r.tree_cpu_s)
      << ",\"machine_busy_cpu_s\":" << json_number(r.machine_busy_cpu_s)
      << ",\"tracked_rss_peak_bytes\":" << json_number(r.tree_rss_peak_bytes)
      << ",\"intensity_g_per_kwh\":" << json_number(r.intensity_g_per_kwh)
      << ",\"intensity_source\":" << json_string(info.intensity_source)
      << ",\"pue\":" << json_number(info.pue) << ",\"emissions_kg\":" << json_number(r.emissions_kg)
      << "}";
  return out.str();
}

JsonLinesSink::JsonLinesSink(const std::string& path) : fd_(open_append(path, "JSON lines")) {}

JsonLinesSink::~JsonLinesSink() {
  if (fd_ >= 0) ::close(fd_);
}

void JsonLinesSink::interval(const RunInfo& info, const Record& interval, const Record&) {
  write_all(fd_, "{\"type\":\"interval\",\"record\":" + record_json(info, interval) + "}\n");
}

void JsonLinesSink::finish(const RunInfo& info, const Record& total,
                           const std::vector<Record>& phases) {
  std::string line =
      "{\"type\":\"summary\",\"greenai_version\":\"" GREENAI_VERSION "\",\"project_name\":" +
      json_string(info.project_name) + ",\"workload\":" + json_string(info.workload) +
      ",\"energy_provenance\":" + json_string(info.provenance()) +
      ",\"total\":" + record_json(info, total) + ",\"phases\":[";
  for (size_t i = 0; i < phases.size(); ++i) line += (i ? "," : "") + record_json(info, phases[i]);
  write_all(fd_, line + "]}\n");
}

std::string format_summary(const RunInfo& info, const Record& total,
                           const std::vector<Record>& phases) {
  std::ostringstream out;
  char line[160];
  std::snprintf(line, sizeof line,
                "greenai: %.3f s, %.3f J (%.3g kWh) attributed to the workload, ", total.duration_s,
                total.tree.total_j(), total.tree.total_j() / carbon::kJoulesPerKwh);
  out << line << info.provenance() << "\n";
  for (Component c : meter::kAllComponents) {
    const ComponentSource& s = info.sources[static_cast<size_t>(c)];
    if (!s.present) continue;
    std::snprintf(line, sizeof line, "  %-3s %10.3f J (machine %.3f J) ",
                  std::string(meter::to_string(c)).c_str(), total.tree[c], total.machine[c]);
    out << line << meter::to_string(s.provenance) << ": " << s.detail << "\n";
  }
  for (const Record& p : phases) {
    std::snprintf(line, sizeof line, " %10.3f s %10.3f J %.3g kg CO2eq", p.duration_s,
                  p.tree.total_j(), p.emissions_kg);
    out << "  phase " << p.phase << line << "\n";
  }
  std::snprintf(line, sizeof line, "  carbon %.6g kg CO2eq at %.2f g/kWh x PUE %.2f\n",
                total.emissions_kg, total.intensity_g_per_kwh, info.pue);
  out << line << "  intensity: " << info.intensity_source << "\n"
      << "  workload: " << info.workload << " (CPU time " << format_double(total.tree_cpu_s)
      << " s)\n";
  return out.str();
}

}  // namespace greenai::track
