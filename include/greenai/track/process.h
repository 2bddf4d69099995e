// Process supervision for tracked workloads: find a program as execvp would, spawn it, pass on
// the signals sent to us, and reap every process of its tree into the meter's usage, so that
// the CPU time of short-lived and orphaned descendants is counted and none is left behind.
// `greenai run` supervises one command; `greenai pipeline` one stage after another.
//
//   meter::DescendantsUsage& tree = ...;  // the tracker's usage source
//   track::Supervisor supervisor(tree, {SIGINT, SIGTERM, SIGHUP});
//   int status = supervisor.run({"/usr/bin/python3", "train.py"});  // 128+N if killed by N
//   if (supervisor.received_signal()) { ... }  // a forwarded signal came while it ran
#pragma once

#include <signal.h>

#include <string>
#include <vector>

#include "greenai/meter/system.h"

namespace greenai::track {

/// Finds `program` as execvp would (a name with no '/' is looked up in PATH; an empty PATH entry
/// is the current folder). Returns 0 when it can be executed, else ENOENT (not found) or
/// EACCES (found, but a folder or not executable).
int resolve_program(const std::string& program);

/// The path of the running executable (/proc/self/exe), or "" when it cannot be read.
std::string self_executable();

/// Where a spawned program's standard output and error go: a file (truncated), or "" to share
/// ours.
struct Redirect {
  std::string stdout_path;
  std::string stderr_path;
  /// NAME=VALUE pairs added to (or replacing in) the child's environment.
  std::vector<std::string> environment;
};

/// Supervises one child at a time. While it exists, the process is a child subreaper (orphans
/// of the child's tree are re-parented to it and reaped into `tree`), and each signal in
/// `forwarded` is passed on to the running child, unless it came from the terminal (which
/// delivers it to the whole foreground process group, the child included). A signal that comes
/// while no child runs is only recorded (received_signal), so that a caller running children
/// one after another can stop before the next. The forwarded signals are blocked across the
/// spawn, so none is lost between the child's start and its pid being known. One Supervisor may
/// exist at a time; the previous signal dispositions come back when it is destroyed.
class Supervisor {
 public:
  Supervisor(meter::DescendantsUsage& tree, std::vector<int> forwarded);
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  /// Starts argv (argv[0] resolved as execvp would) with the default disposition of the
  /// forwarded signals, waits for it and reaps its tree. Returns its exit status, or 128+N
  /// when signal N ended it. Throws greenai::Error when it cannot be started (message from the
  /// system; resolve_program tells not-found from not-executable beforehand).
  int run(const std::vector<std::string>& argv, const Redirect& redirect = {});

  /// The last forwarded signal received since construction (0 if none).
  int received_signal() const;

 private:
  meter::DescendantsUsage& tree_;
  std::vector<int> forwarded_;
  std::vector<struct sigaction> saved_;  // the dispositions to restore, one per forwarded
  int was_subreaper_ = 0;
};

}  // namespace greenai::track
