// Machine-wide CPU time and memory, and the CPU time and memory of a tracked process tree.
//
// These are the inputs of the estimator and of the attribution of whole-machine counters to the
// tracked tree. Paths are configurable so that tests can use a fake procfs.
//
//   greenai::meter::SystemStats stats;             // reads /proc
//   auto snapshot = stats.read();                  // busy CPU seconds, memory in use
//   greenai::meter::DescendantsUsage tree(::getpid());
//   auto usage = tree.read();                      // CPU seconds and RSS of every descendant
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <string>

namespace greenai::meter {

/// Machine-wide figures at one instant.
struct SystemSnapshot {
  double busy_cpu_s = 0;         ///< Cumulative non-idle CPU time over all CPUs (steal excluded).
  uint64_t mem_total_bytes = 0;  ///< MemTotal.
  uint64_t mem_used_bytes = 0;   ///< MemTotal - MemAvailable.
};

/// Reads /proc/stat and /proc/meminfo under `proc_root`.
class SystemStats {
 public:
  explicit SystemStats(std::string proc_root = "/proc");
  /// Number of logical CPUs listed in /proc/stat (at least 1).
  int cpu_count() const { return cpu_count_; }
  /// "model name" of /proc/cpuinfo, or "unknown CPU".
  const std::string& cpu_model() const { return cpu_model_; }
  SystemSnapshot read() const;

 private:
  std::string proc_root_;
  int cpu_count_ = 1;
  std::string cpu_model_;
  double ticks_per_s_;
};

/// CPU time and resident memory of the tracked workload.
struct TreeUsage {
  double cpu_s = 0;        ///< Cumulative user + system CPU time, exited processes included.
  uint64_t rss_bytes = 0;  ///< Resident memory now.
};

/// A source of TreeUsage.
class UsageSource {
 public:
  virtual ~UsageSource() = default;
  virtual TreeUsage read() = 0;
  /// How the tree is delimited, for reports ("this process", "descendants of pid 42").
  virtual std::string describe() const = 0;
};

/// The calling process itself (all threads) plus the children it has waited for.
class SelfUsage final : public UsageSource {
 public:
  TreeUsage read() override;
  std::string describe() const override { return "this process and its waited-for children"; }
};

/// Every descendant of `ancestor` (not the ancestor itself), read from procfs, plus the
/// resource usage of the children the ancestor reaped, reported with add_reaped(). Make the
/// ancestor a child subreaper (prctl PR_SET_CHILD_SUBREAPER) so that orphaned grandchildren
/// stay in the tree and their CPU time is never lost, however short-lived they are.
class DescendantsUsage final : public UsageSource {
 public:
  explicit DescendantsUsage(pid_t ancestor, std::string proc_root = "/proc");
  TreeUsage read() override;
  std::string describe() const override;
  /// Adds a reaped child's usage (from wait4), which includes its own reaped descendants. May be
  /// called from another thread than read() (greenai run reaps on its main thread while the
  /// tracker samples on its own).
  void add_reaped(const struct rusage& usage);

 private:
  pid_t ancestor_;
  std::string proc_root_;
  std::atomic<double> reaped_cpu_s_{0};
  double ticks_per_s_;
  long page_bytes_;
  double last_cpu_s_ = 0;  // Keeps the total monotonic across races with exiting processes.
};

}  // namespace greenai::meter
