// Where records go: a CodeCarbon-compatible CSV, JSON lines, and a Prometheus /metrics endpoint.
//
// Files are opened for appending (earlier rows are kept) and each row is written with a single
// write(2) as soon as its interval closes, so killing the process at any moment leaves a valid
// file holding every completed interval. CSV rows are cumulative, like CodeCarbon's: each row is
// the run so far, so the last row of a run_id is its total (row_kind says interval or final).
//
//   auto csv = std::make_shared<greenai::track::CsvSink>("emissions.csv");   // throws if unusable
//   tracker.add_sink(csv);
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "greenai/track/tracker.h"

namespace greenai::track {

/// CodeCarbon 3.3's emissions.csv columns, in order, followed by GreenAI's provenance columns.
const std::vector<std::string>& csv_columns();
/// How many of csv_columns() are CodeCarbon's own.
inline constexpr size_t kCodeCarbonColumnCount = 38;

struct CsvOptions {
  /// A row per interval (cumulative); false: rows only from write_now() and at the end, as
  /// CodeCarbon writes them (a row per flush() and per stop()).
  bool every_interval = true;
  /// CodeCarbon's tracking_mode "machine": the machine's energy and its emissions, not the
  /// tracked tree's share ("process").
  bool whole_machine = false;
  std::string python_version;  ///< CodeCarbon's python_version column (the Python package's)
};

/// Appends one row per interval (cumulative) and a final row to a CSV file.
class CsvSink final : public Sink {
 public:
  /// Opens `path` for appending. Throws greenai::Error if it cannot be written, or if it
  /// already holds rows whose header is not GreenAI's (appending would corrupt it).
  explicit CsvSink(const std::string& path, CsvOptions options = {});
  /// Writes a row of the run so far now (row_kind "flush"); safe beside the sampler.
  void write_now(const RunInfo& info, const Record& cumulative);
  ~CsvSink() override;
  void begin(const RunInfo& info) override;
  void interval(const RunInfo& info, const Record& interval, const Record& cumulative) override;
  void finish(const RunInfo& info, const Record& total, const std::vector<Record>& phases) override;

 private:
  void write_row(const RunInfo& info, const Record& cumulative, const Record& last,
                 const char* kind);
  std::string path_;
  CsvOptions options_;
  int fd_ = -1;
  bool needs_header_ = false;
  std::mutex write_mutex_;
};

/// Appends JSON lines: {"type":"interval",...} per interval and {"type":"summary",...} at the end.
class JsonLinesSink final : public Sink {
 public:
  explicit JsonLinesSink(const std::string& path);
  ~JsonLinesSink() override;
  void interval(const RunInfo& info, const Record& interval, const Record& cumulative) override;
  void finish(const RunInfo& info, const Record& total, const std::vector<Record>& phases) override;

 private:
  int fd_ = -1;
};

/// Serves the live figures on http://HOST:PORT/metrics in the Prometheus text format (0.0.4).
class PrometheusExporter final : public Sink {
 public:
  /// Binds "HOST:PORT" (port 0 picks a free one). Throws greenai::Error if it cannot.
  explicit PrometheusExporter(const std::string& host_port);
  ~PrometheusExporter() override;
  /// The bound port.
  int port() const { return port_; }
  void begin(const RunInfo& info) override;
  void interval(const RunInfo& info, const Record& interval, const Record& cumulative) override;
  void finish(const RunInfo& info, const Record& total, const std::vector<Record>& phases) override;
  /// The exposition text as served now.
  std::string render() const;

 private:
  void serve();
  int listen_fd_ = -1, port_ = 0;
  int stop_pipe_[2] = {-1, -1};
  std::thread server_;
  mutable std::mutex mutex_;
  RunInfo info_;
  Record cumulative_, last_interval_;
  bool finished_ = false;
};

/// JSON text of a record (used by the JSON sink and by `--json` outputs).
std::string record_json(const RunInfo& info, const Record& record);

}  // namespace greenai::track
