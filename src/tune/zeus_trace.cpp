// Reading Zeus's train and power traces (include/greenai/tune/zeus_trace.h).
#include "greenai/tune/zeus_trace.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include "greenai/error.h"
#include "greenai/util/csv.h"
#include "greenai/util/file.h"

namespace greenai::tune {
namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The columns of a header, by name; throws when one is missing.
std::map<std::string, size_t> columns(const std::vector<std::string>& header,
                                      const std::vector<std::string>& needed,
                                      const std::string& name) {
  std::map<std::string, size_t> at;
  for (size_t i = 0; i < header.size(); ++i) at[header[i]] = i;
  for (const std::string& column : needed)
    if (!at.count(column))
      throw Error("cannot read Zeus trace (path=" + name + ")", "no column `" + column + "`",
                  "use the summary_train.csv and summary_power_GPU.csv files Zeus publishes");
  return at;
}

double number(const std::string& field, const std::string& name, size_t line,
              const std::string& column) {
  try {
    size_t used = 0;
    const double v = std::stod(field, &used);
    if (used == field.size() && std::isfinite(v)) return v;
  } catch (const std::exception&) {
  }
  throw Error("cannot read Zeus trace (path=" + name + ")",
              "line " + std::to_string(line) + ": " + column + " `" + field + "` is not a number");
}

// Calls on_row(line, fields) for each data row, after checking the header.
template <typename F>
void rows(std::string_view text, const std::vector<std::string>& needed, const std::string& name,
          F&& on_row) {
  std::vector<std::string> fields;
  std::map<std::string, size_t> at;
  bool header = true;
  util::for_each_line(text, [&](size_t line, std::string_view raw) {
    if (raw.empty()) return;
    if (!util::split_csv_line(raw, fields))
      throw Error("cannot read Zeus trace (path=" + name + ")",
                  "line " + std::to_string(line) + ": unterminated quote");
    if (header) {
      at = columns(fields, needed, name);
      header = false;
      return;
    }
    for (const auto& [column, index] : at)
      if (index >= fields.size())
        throw Error("cannot read Zeus trace (path=" + name + ")",
                    "line " + std::to_string(line) + ": no field for column `" + column + "`");
    on_row(line, fields, at);
  });
  if (header) throw Error("cannot read Zeus trace (path=" + name + ")", "the file is empty");
}

}  // namespace

std::vector<Workload> zeus_workloads() {
  return {{"cifar100", "shufflenetv2", "adadelta", 0.6, 100, 1024},
          {"imagenet", "resnet50", "adadelta", 0.65, 100, 256},
          {"librispeech", "deepspeech2", "adamw", 40, 16, 192},
          {"movielens-1m", "ncf", "adam", 0.41, 100, 1024},
          {"squad", "bert_base_uncased", "adamw", 84, 6, 32},
          {"sentiment140", "bert_base_uncased", "adamw", 0.84, 10, 128}};
}

const PowerPoint& WorkloadTrace::at(int batch_size, int power_limit_w) const {
  for (const PowerPoint& p : power)
    if (p.batch_size == batch_size && p.power_limit_w == power_limit_w) return p;
  throw Error("cannot replay " + workload.name() + " (batch_size=" + std::to_string(batch_size) +
                  ", power_limit=" + std::to_string(power_limit_w) + " W)",
              "the power trace has no such point");
}

WorkloadTrace parse_workload_trace(std::string_view train_csv, std::string_view power_csv,
                                   const Workload& workload, const std::string& train_name,
                                   const std::string& power_name) {
  const std::string optimizer = lower(workload.optimizer);
  auto same_workload = [&](const std::vector<std::string>& f,
                           const std::map<std::string, size_t>& at) {
    return f[at.at("dataset")] == workload.dataset && f[at.at("network")] == workload.network &&
           lower(f[at.at("optimizer")]) == optimizer;
  };
  // Train trace: per batch size, per run, the epoch the target was reached (0 if never).
  std::map<int, std::map<int, int>> epochs;  // batch size -> run -> epoch
  rows(train_csv,
       {"dataset", "network", "batch_size", "optimizer", "run", "target_metric", "target_epoch"},
       train_name, [&](size_t line, const std::vector<std::string>& f, const auto& at) {
         if (!same_workload(f, at)) return;
         const int batch =
             static_cast<int>(number(f[at.at("batch_size")], train_name, line, "batch_size"));
         const int run = static_cast<int>(number(f[at.at("run")], train_name, line, "run"));
         const double metric = number(f[at.at("target_metric")], train_name, line, "target_metric");
         // `nan`: the run never reached that metric.
         const std::string& epoch_field = f[at.at("target_epoch")];
         const double epoch = lower(epoch_field) == "nan"
                                  ? 0
                                  : number(epoch_field, train_name, line, "target_epoch");
         if (batch <= 0 || (epoch < 1 && lower(epoch_field) != "nan"))
           throw Error("cannot read Zeus trace (path=" + train_name + ")",
                       "line " + std::to_string(line) + ": batch size and epoch must be positive");
         int& slot = epochs[batch][run];  // a run seen at any target exists
         if (std::fabs(metric - workload.target_metric) <= 1e-9 * std::fabs(workload.target_metric))
           slot = static_cast<int>(epoch);
       });
  WorkloadTrace trace;
  trace.workload = workload;
  std::set<int> limits;
  rows(power_csv,
       {"dataset", "network", "batch_size", "optimizer", "power_limit", "time_per_epoch",
        "average_power"},
       power_name, [&](size_t line, const std::vector<std::string>& f, const auto& at) {
         if (!same_workload(f, at)) return;
         PowerPoint p;
         p.batch_size =
             static_cast<int>(number(f[at.at("batch_size")], power_name, line, "batch_size"));
         p.power_limit_w =
             static_cast<int>(number(f[at.at("power_limit")], power_name, line, "power_limit"));
         p.seconds_per_epoch =
             number(f[at.at("time_per_epoch")], power_name, line, "time_per_epoch");
         p.average_power_w = number(f[at.at("average_power")], power_name, line, "average_power");
         if (p.batch_size <= 0 || p.power_limit_w <= 0 || !(p.seconds_per_epoch > 0) ||
             !(p.average_power_w > 0))
           throw Error("cannot read Zeus trace (path=" + power_name + ")",
                       "line " + std::to_string(line) + ": every value must be positive");
         trace.power.push_back(p);
         limits.insert(p.power_limit_w);
       });
  trace.power_limits_w.assign(limits.begin(), limits.end());
  if (!limits.empty()) trace.max_power_limit_w = *limits.rbegin();
  // Batch sizes in both traces, with a power point at every limit.
  for (const auto& [batch, by_run] : epochs) {
    if (limits.empty()) break;
    bool complete = true;
    for (int limit : trace.power_limits_w)
      complete =
          complete && std::any_of(trace.power.begin(), trace.power.end(), [&](const PowerPoint& p) {
            return p.batch_size == batch && p.power_limit_w == limit;
          });
    if (!complete) continue;
    BatchSizeRuns runs{batch, {}};
    for (const auto& [run, epoch] : by_run) runs.epochs_to_target.push_back(epoch);
    trace.runs.push_back(std::move(runs));
  }
  if (trace.runs.empty())
    throw Error("cannot replay " + workload.name() + " (train=" + train_name +
                    ", power=" + power_name + ")",
                "no batch size of the workload is in both traces with every power limit");
  return trace;
}

std::vector<WorkloadTrace> load_zeus_traces(const std::string& dir, const std::string& gpu) {
  const std::string train = (std::filesystem::path(dir) / "summary_train.csv").string();
  const std::string power =
      (std::filesystem::path(dir) / ("summary_power_" + gpu + ".csv")).string();
  const std::string train_text = util::read_file(train), power_text = util::read_file(power);
  std::vector<WorkloadTrace> traces;
  for (const Workload& w : zeus_workloads())
    traces.push_back(parse_workload_trace(train_text, power_text, w, train, power));
  return traces;
}

}  // namespace greenai::tune
