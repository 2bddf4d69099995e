#include "greenai/track/sinks.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include "greenai/error.h"
#include "support/temp_dir.h"
#include "track/fakes.h"

namespace greenai::track {
namespace {

using greenai::testing::TempDir;

// CodeCarbon 3.3's emissions.csv header, verbatim.
constexpr const char* kCodeCarbonHeader =
    "timestamp,project_name,run_id,experiment_id,duration,emissions,emissions_rate,cpu_power,gpu_"
    "power,"
    "ram_power,cpu_energy,gpu_energy,ram_energy,energy_consumed,water_consumed,country_name,"
    "country_iso_code,"
    "region,cloud_provider,cloud_region,os,python_version,codecarbon_version,cpu_count,cpu_model,"
    "gpu_count,"
    "gpu_model,longitude,latitude,ram_total_size,tracking_mode,cpu_utilization_percent,gpu_"
    "utilization_percent,"
    "ram_utilization_percent,ram_used_gb,on_cloud,pue,wue";

// Splits CSV text into rows of fields (RFC 4180 quoting).
std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows(1);
  std::string field;
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"')
        field += '"', ++i;
      else if (c == '"')
        quoted = false;
      else
        field += c;
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      rows.back().push_back(field), field.clear();
    } else if (c == '\n') {
      rows.back().push_back(field), field.clear();
      rows.emplace_back();
    } else {
      field += c;
    }
  }
  if (rows.back().empty()) rows.pop_back();
  return rows;
}

RunInfo sample_info() {
  RunInfo info;
  info.run_id = "00000000-0000-4000-8000-000000000000";
  info.project_name = "proj";
  info.sources[0] = {true, meter::Provenance::kEstimated, "estimator", "model, with a comma"};
  info.intensity_source = "country FRA (France): 44.18 g/kWh, \"quoted\"";
  info.country_code = "FRA";
  info.country_name = "France";
  info.cpu_count = 2;
  info.cpu_model = "Test CPU";
  return info;
}

Record sample_record(double cpu_j, double duration_s) {
  Record r;
  r.start_unix_s = 1'700'000'000;
  r.end_unix_s = r.start_unix_s + duration_s;
  r.duration_s = duration_s;
  r.tree[Component::kCpu] = cpu_j;
  r.machine[Component::kCpu] = cpu_j * 2;
  r.intensity_g_per_kwh = 44.18;
  r.emissions_kg = cpu_j / 3.6e6 * 44.18 / 1000;
  return r;
}

TEST(CsvColumns, StartWithCodeCarbonsHeaderVerbatim) {
  std::string header;
  for (size_t i = 0; i < kCodeCarbonColumnCount; ++i) header += (i ? "," : "") + csv_columns()[i];
  EXPECT_EQ(header, kCodeCarbonHeader);
}

TEST(CsvSink, WritesCumulativeRowsWithUnitsAndProvenance) {
  TempDir dir;
  const std::string path = dir.file("emissions.csv");
  {
    CsvSink sink(path);
    RunInfo info = sample_info();
    sink.begin(info);
    sink.interval(info, sample_record(3.6e6, 10), sample_record(3.6e6, 10));
    sink.finish(info, sample_record(7.2e6, 20), {});
  }
  auto rows = parse_csv(TempDir::read(path));
  ASSERT_EQ(rows.size(), 3u);
  const auto& cols = csv_columns();
  for (const auto& row : rows) ASSERT_EQ(row.size(), cols.size());
  auto at = [&](size_t row, const std::string& column) {
    return rows[row][std::find(cols.begin(), cols.end(), column) - cols.begin()];
  };
  EXPECT_EQ(at(1, "cpu_energy"), "1");      // kWh
  EXPECT_EQ(at(1, "cpu_power"), "360000");  // W = 3.6 MJ / 10 s
  EXPECT_EQ(at(1, "duration"), "10");
  EXPECT_EQ(at(1, "row_kind"), "interval");
  EXPECT_EQ(at(2, "energy_consumed"), "2");
  EXPECT_EQ(at(2, "machine_energy_consumed"), "4");
  EXPECT_EQ(at(2, "row_kind"), "final");
  EXPECT_EQ(at(2, "emissions"), "0.08836");  // 2 kWh x 44.18 g/kWh
  EXPECT_EQ(at(2, "country_iso_code"), "FRA");
  EXPECT_EQ(at(2, "energy_provenance"), "estimated");
  EXPECT_EQ(at(2, "cpu_source"), "estimated:estimator");
  EXPECT_EQ(at(2, "gpu_source"), "none");
  EXPECT_EQ(at(2, "intensity_source"), "country FRA (France): 44.18 g/kWh, \"quoted\"");
  EXPECT_EQ(at(2, "tracking_mode"), "process");
  EXPECT_EQ(at(2, "timestamp"), "2023-11-14T22:13:40.000000+00:00");
}

TEST(CsvSink, AppendingKeepsEarlierRowsAndWritesOneHeader) {
  TempDir dir;
  const std::string path = dir.file("emissions.csv");
  for (int run = 0; run < 2; ++run) {
    CsvSink sink(path);
    RunInfo info = sample_info();
    sink.begin(info);
    sink.finish(info, sample_record(1, 1), {});
  }
  auto rows = parse_csv(TempDir::read(path));
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0][0], "timestamp");
  EXPECT_EQ(rows[2][0].substr(0, 4), "2023");
}

TEST(CsvSink, RefusesAForeignFileAndLeavesItUntouched) {
  TempDir dir;
  const std::string path = dir.write("other.csv", "a,b,c\n1,2,3\n");
  try {
    CsvSink sink(path);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "cannot append to CSV (path=" + path +
                  "): the file's header is not GreenAI's emissions.csv header");
  }
  EXPECT_EQ(TempDir::read(path), "a,b,c\n1,2,3\n");
}

TEST(CsvSink, UnwritablePathIsAClearError) {
  try {
    CsvSink sink("/nonexistent-dir/emissions.csv");
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(
        e.what(),
        "cannot write CSV (path=/nonexistent-dir/emissions.csv): No such file or directory");
    EXPECT_EQ(e.hint(), "choose a path in a writable folder");
  }
}

TEST(JsonLinesSink, OneLinePerIntervalAndASummary) {
  TempDir dir;
  const std::string path = dir.file("run.jsonl");
  {
    JsonLinesSink sink(path);
    RunInfo info = sample_info();
    Record phase = sample_record(1, 1);
    phase.phase = "epoch \"1\"";
    sink.interval(info, sample_record(1, 1), sample_record(1, 1));
    sink.finish(info, sample_record(2, 2), {phase});
  }
  std::string text = TempDir::read(path);
  size_t newline = text.find('\n');
  std::string first = text.substr(0, newline), second = text.substr(newline + 1);
  EXPECT_EQ(first.rfind("{\"type\":\"interval\",\"record\":{\"run_id\":", 0), 0u);
  EXPECT_EQ(second.rfind("{\"type\":\"summary\"", 0), 0u);
  EXPECT_NE(second.find("\"phases\":[{"), std::string::npos);
  EXPECT_NE(second.find("\"phase\":\"epoch \\\"1\\\"\""), std::string::npos);
  EXPECT_NE(
      second.find(
          "\"provenance\":{\"cpu\":\"estimated:estimator\",\"ram\":\"none\",\"gpu\":\"none\"}"),
      std::string::npos);
  EXPECT_EQ(second.back(), '\n');
  // Balanced braces on every line: each line is one complete object.
  for (const std::string& line : {first, second.substr(0, second.size() - 1)}) {
    int depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < line.size(); ++i) {
      if (line[i] == '\\') {
        ++i;
        continue;
      }
      if (line[i] == '"') in_string = !in_string;
      if (!in_string) depth += line[i] == '{' ? 1 : line[i] == '}' ? -1 : 0;
      if (i + 1 < line.size()) {
        ASSERT_GT(depth, 0) << line;
      }
    }
    EXPECT_EQ(depth, 0);
  }
}

std::string http_get(int port, const std::string& target) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return "";
  }
  std::string request = "GET " + target + " HTTP/1.1\r\nHost: localhost\r\n\r\n";
  [[maybe_unused]] ssize_t sent = ::send(fd, request.data(), request.size(), 0);
  std::string response;
  char buffer[4096];
  for (ssize_t n; (n = ::recv(fd, buffer, sizeof buffer, 0)) > 0;) response.append(buffer, n);
  ::close(fd);
  return response;
}

TEST(PrometheusExporter, ServesTheTextFormatOnMetrics) {
  PrometheusExporter exporter("127.0.0.1:0");
  ASSERT_GT(exporter.port(), 0);
  RunInfo info = sample_info();
  exporter.begin(info);
  exporter.interval(info, sample_record(5, 1), sample_record(50, 10));
  std::string response = http_get(exporter.port(), "/metrics");
  EXPECT_EQ(response.rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  EXPECT_NE(response.find("Content-Type: text/plain; version=0.0.4"), std::string::npos);
  EXPECT_NE(response.find("# TYPE greenai_energy_joules_total counter"), std::string::npos);
  EXPECT_NE(response.find(
                "greenai_energy_joules_total{run_id=\"00000000-0000-4000-8000-000000000000\","
                "project=\"proj\",scope=\"workload\",component=\"cpu\",provenance=\"estimated\","
                "sensor=\"estimator\"} 50\n"),
            std::string::npos);
  EXPECT_NE(response.find("scope=\"workload\",component=\"cpu\",provenance=\"estimated\",sensor="
                          "\"estimator\"} 5\n"),
            std::string::npos);  // power: 5 J over 1 s
  EXPECT_NE(response.find("intensity_source=\"country FRA (France): 44.18 g/kWh, \\\"quoted\\\"\""),
            std::string::npos);
  EXPECT_NE(response.find("greenai_run_finished{"), std::string::npos);
  EXPECT_EQ(http_get(exporter.port(), "/other").rfind("HTTP/1.1 404", 0), 0u);
}

TEST(PrometheusExporter, BadAddressesAreClearErrors) {
  EXPECT_THROW(PrometheusExporter("9464"), Error);
  PrometheusExporter taken("127.0.0.1:0");
  try {
    PrometheusExporter clash("127.0.0.1:" + std::to_string(taken.port()));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Address already in use"), std::string::npos);
  }
}

}  // namespace
}  // namespace greenai::track
