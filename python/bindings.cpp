// greenai._greenai: the C++ meter and tracker for Python (pybind11). The Python package
// (python/greenai/) builds CodeCarbon's API and GreenAI's own on this. The tracker's sampler is a
// C++ thread that never takes the GIL; calls that wait on it (stop, step, flush) release the GIL.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <optional>
#include <string>

#include "greenai/carbon/intensity.h"
#include "greenai/error.h"
#include "greenai/meter/sensor.h"
#include "greenai/meter/sensors.h"
#include "greenai/track/measurements.h"
#include "greenai/track/sinks.h"
#include "greenai/track/tracker.h"
#include "greenai/version.h"

namespace py = pybind11;

namespace greenai::python {
namespace {

using track::Component;

py::dict energy_dict(const track::Energy& e) {
  py::dict d;
  d["cpu"] = e[Component::kCpu];
  d["ram"] = e[Component::kRam];
  d["gpu"] = e[Component::kGpu];
  d["total"] = e.total_j();
  return d;
}

py::dict record_dict(const track::Record& r) {
  py::dict d;
  d["phase"] = r.phase;
  d["start_unix_s"] = r.start_unix_s;
  d["end_unix_s"] = r.end_unix_s;
  d["duration_s"] = r.duration_s;
  d["energy_j"] = energy_dict(r.tree);
  d["machine_energy_j"] = energy_dict(r.machine);
  d["emissions_kg"] = r.emissions_kg;
  d["intensity_g_per_kwh"] = r.intensity_g_per_kwh;
  d["cpu_seconds"] = r.tree_cpu_s;
  d["machine_busy_cpu_seconds"] = r.machine_busy_cpu_s;
  d["rss_peak_bytes"] = r.tree_rss_peak_bytes;
  d["machine_memory_used_bytes"] = r.machine_mem_used_bytes;
  return d;
}

py::dict info_dict(const track::RunInfo& info) {
  py::dict d;
  d["run_id"] = info.run_id;
  d["project_name"] = info.project_name;
  d["experiment_id"] = info.experiment_id;
  d["provenance"] = info.provenance();
  py::dict sources;
  const char* names[] = {"cpu", "ram", "gpu"};
  for (size_t c = 0; c < 3; ++c) {
    const track::ComponentSource& s = info.sources[c];
    if (!s.present) continue;
    py::dict one;
    one["provenance"] = std::string(meter::to_string(s.provenance));
    one["sensor"] = s.sensor;
    one["detail"] = s.detail;
    sources[names[c]] = one;
  }
  d["sources"] = sources;
  d["workload"] = info.workload;
  d["intensity_source"] = info.intensity_source;
  d["country_iso_code"] = info.country_code;
  d["country_name"] = info.country_name;
  d["pue"] = info.pue;
  d["cpu_count"] = info.cpu_count;
  d["cpu_model"] = info.cpu_model;
  d["gpu_names"] = info.gpu_names;
  d["ram_total_bytes"] = info.ram_total_bytes;
  return d;
}

// One tracker of this process, with its CSV file and Prometheus endpoint when asked for.
class PyTracker {
 public:
  PyTracker(const std::string& project_name, const std::string& experiment_id, double interval_s,
            double pue, std::optional<std::string> country, std::optional<double> intensity,
            std::optional<std::string> intensity_series, std::optional<std::string> csv_path,
            bool csv_every_interval, bool whole_machine, std::optional<std::string> prometheus,
            std::optional<double> cpu_tdp_w, const std::string& python_version) {
    track::TrackerOptions options;
    options.interval_s = interval_s;
    options.pue = pue;
    options.project_name = project_name;
    options.experiment_id = experiment_id;
    options.intensity = carbon::resolve_intensity({intensity, intensity_series, country});
    meter::SensorOptions sensors;
    sensors.cpu_tdp_w = cpu_tdp_w;
    tracker_ = track::Tracker::for_this_process(std::move(options), sensors);
    if (csv_path) {
      track::CsvOptions csv;
      csv.every_interval = csv_every_interval;
      csv.whole_machine = whole_machine;
      csv.python_version = python_version;
      csv_ = std::make_shared<track::CsvSink>(*csv_path, csv);
      tracker_->add_sink(csv_);
    }
    if (prometheus) {
      prometheus_ = std::make_shared<track::PrometheusExporter>(*prometheus);
      tracker_->add_sink(prometheus_);
    }
  }
  track::Tracker& tracker() {
    if (abandoned_)
      throw Error("cannot use the tracker", "it was started in the parent of this forked process",
                  "start a tracker in the child");
    return *tracker_;
  }
  void start() { tracker().start(); }
  py::dict stop() {
    track::Record total;
    {
      py::gil_scoped_release release;
      total = tracker().stop();
    }
    return record_dict(total);
  }
  py::dict flush() {
    track::Record now;
    {
      py::gil_scoped_release release;
      tracker().poll();
      now = tracker().cumulative();
      if (csv_) csv_->write_now(tracker().info(), now);
    }
    return record_dict(now);
  }
  py::dict step() {
    track::StepEnergy s;
    {
      py::gil_scoped_release release;
      s = tracker().step();
    }
    py::dict d;
    d["energy_j"] = energy_dict(s.tree);
    d["emissions_kg"] = s.emissions_kg;
    d["duration_s"] = s.duration_s;
    return d;
  }
  py::dict cumulative() {
    track::Record r;
    {
      py::gil_scoped_release release;
      tracker().poll();
      r = tracker().cumulative();
    }
    return record_dict(r);
  }
  py::list phases() {
    py::list list;
    for (const track::Record& r : tracker().phases()) list.append(record_dict(r));
    return list;
  }
  void begin_phase(const std::string& name) { tracker().begin_phase(name); }
  void end_phase() { tracker().end_phase(); }
  py::dict info() { return info_dict(tracker().info()); }
  int prometheus_port() const { return prometheus_ ? prometheus_->port() : 0; }
  /// In a forked child: this copy's sampler thread and server belong to the parent. The tracker
  /// (which holds the sinks too) is leaked, never joined or closed from here.
  void abandon() {
    abandoned_ = true;
    (void)tracker_.release();
  }

 private:
  std::unique_ptr<track::Tracker> tracker_;
  std::shared_ptr<track::CsvSink> csv_;
  std::shared_ptr<track::PrometheusExporter> prometheus_;
  bool abandoned_ = false;
};

}  // namespace
}  // namespace greenai::python

PYBIND11_MODULE(_greenai, m) {
  using greenai::python::PyTracker;
  m.doc() = "GreenAI's C++ meter and tracker (use the greenai package, not this module)";
  m.attr("__version__") = GREENAI_VERSION;
  static py::exception<greenai::Error> error(m, "Error", PyExc_RuntimeError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const greenai::Error& e) {
      std::string text = e.what();
      if (!e.hint().empty()) text += " (" + e.hint() + ")";
      PyErr_SetString(error.ptr(), text.c_str());
    }
  });
  m.def("csv_columns", [] { return greenai::track::csv_columns(); });
  m.attr("CODECARBON_COLUMN_COUNT") = greenai::track::kCodeCarbonColumnCount;
  py::class_<PyTracker>(m, "Tracker")
      .def(py::init<const std::string&, const std::string&, double, double,
                    std::optional<std::string>, std::optional<double>, std::optional<std::string>,
                    std::optional<std::string>, bool, bool, std::optional<std::string>,
                    std::optional<double>, const std::string&>(),
           py::arg("project_name"), py::arg("experiment_id"), py::arg("interval_s"), py::arg("pue"),
           py::arg("country") = py::none(), py::arg("intensity") = py::none(),
           py::arg("intensity_series") = py::none(), py::arg("csv_path") = py::none(),
           py::arg("csv_every_interval") = false, py::arg("whole_machine") = false,
           py::arg("prometheus") = py::none(), py::arg("cpu_tdp_w") = py::none(),
           py::arg("python_version") = "")
      .def("start", &PyTracker::start)
      .def("stop", &PyTracker::stop)
      .def("flush", &PyTracker::flush)
      .def("step", &PyTracker::step)
      .def("cumulative", &PyTracker::cumulative)
      .def("phases", &PyTracker::phases)
      .def("begin_phase", &PyTracker::begin_phase)
      .def("end_phase", &PyTracker::end_phase)
      .def("info", &PyTracker::info)
      .def_property_readonly("prometheus_port", &PyTracker::prometheus_port)
      .def("abandon", &PyTracker::abandon);
}
