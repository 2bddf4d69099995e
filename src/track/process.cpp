#include "greenai/track/process.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cassert>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "greenai/error.h"

extern char** environ;

namespace greenai::track {
namespace {

// What the signal handler needs; a handler can reach nothing else. Owned by the one live
// Supervisor (asserted). Lock-free atomics, so the handler may use them.
std::atomic<int> g_child_pid{0};
std::atomic<int> g_received{0};
// A signal to pass on to the child not yet passed on. The handler may run on another thread of
// the process (one that does not block the signal) while run() is still spawning the child: both
// sides write their own variable and then read the other's (the handler: g_pending, then
// g_child_pid; run(): g_child_pid, then g_pending), so one of them at least sees the child and
// the signal, and whichever takes g_pending first sends it, once.
std::atomic<int> g_pending{0};
std::atomic<bool> g_supervising{false};
static_assert(std::atomic<int>::is_always_lock_free);

void pass_on_pending() {
  const int child = g_child_pid.load();
  if (child <= 0) return;
  if (const int signal = g_pending.exchange(0); signal != 0) ::kill(child, signal);
}

void on_signal(int signal, siginfo_t* info, void*) {
  g_received = signal;
  // SI_KERNEL: the terminal sent it to the whole foreground group, the child already has it.
  if (info->si_code == SI_KERNEL) return;
  g_pending = signal;
  pass_on_pending();
}

int runnable(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return ENOENT;
  if (S_ISDIR(st.st_mode) || ::access(path.c_str(), X_OK) != 0) return EACCES;
  return 0;
}

// Blocks the given signals for its lifetime.
class BlockSignals {
 public:
  explicit BlockSignals(const std::vector<int>& signals) {
    sigset_t set;
    sigemptyset(&set);
    for (int s : signals) sigaddset(&set, s);
    ::sigprocmask(SIG_BLOCK, &set, &previous_);
  }
  ~BlockSignals() { ::sigprocmask(SIG_SETMASK, &previous_, nullptr); }

 private:
  sigset_t previous_;
};

}  // namespace

int resolve_program(const std::string& program) {
  if (program.find('/') != std::string::npos) return runnable(program);
  const char* path = std::getenv("PATH");
  const std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  int best = ENOENT;
  for (size_t start = 0; start <= dirs.size();) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    const std::string dir = dirs.substr(start, end - start);
    const int rc = runnable((dir.empty() ? "." : dir) + "/" + program);
    if (rc == 0) return 0;
    if (rc == EACCES) best = EACCES;
    start = end + 1;
  }
  return best;
}

std::string self_executable() {
  char self[4096];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  return n > 0 ? std::string(self, static_cast<size_t>(n)) : std::string();
}

Supervisor::Supervisor(meter::DescendantsUsage& tree, std::vector<int> forwarded)
    : tree_(tree), forwarded_(std::move(forwarded)), saved_(forwarded_.size()) {
  [[maybe_unused]] const bool was = g_supervising.exchange(true);
  assert(!was && "one Supervisor at a time");
  g_received = 0;
  g_child_pid = 0;
  g_pending = 0;
  ::prctl(PR_GET_CHILD_SUBREAPER, &was_subreaper_);
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  struct sigaction action {};
  action.sa_sigaction = on_signal;
  action.sa_flags = SA_RESTART | SA_SIGINFO;
  sigemptyset(&action.sa_mask);
  for (size_t i = 0; i < forwarded_.size(); ++i) ::sigaction(forwarded_[i], &action, &saved_[i]);
}

Supervisor::~Supervisor() {
  for (size_t i = 0; i < forwarded_.size(); ++i) ::sigaction(forwarded_[i], &saved_[i], nullptr);
  ::prctl(PR_SET_CHILD_SUBREAPER, was_subreaper_);
  g_supervising = false;
}

int Supervisor::received_signal() const { return g_received; }

int Supervisor::run(const std::vector<std::string>& argv, const Redirect& redirect) {
  assert(!argv.empty());
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t defaults, empty;
  sigemptyset(&defaults);
  sigemptyset(&empty);
  for (int s : forwarded_) sigaddset(&defaults, s);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  posix_spawnattr_setsigmask(&attributes, &empty);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  const int flags = O_WRONLY | O_CREAT | O_TRUNC;
  if (!redirect.stdout_path.empty())
    posix_spawn_file_actions_addopen(&actions, 1, redirect.stdout_path.c_str(), flags, 0644);
  if (!redirect.stderr_path.empty())
    posix_spawn_file_actions_addopen(&actions, 2, redirect.stderr_path.c_str(), flags, 0644);
  // The environment: ours, with the redirect's NAME=VALUE pairs added or replacing.
  std::vector<std::string> env_copy;
  for (char** e = environ; *e; ++e) {
    const std::string entry = *e;
    bool replaced = false;
    for (const std::string& extra : redirect.environment)
      replaced |= entry.compare(0, extra.find('=') + 1, extra, 0, extra.find('=') + 1) == 0;
    if (!replaced) env_copy.push_back(entry);
  }
  for (const std::string& extra : redirect.environment) env_copy.push_back(extra);
  std::vector<char*> envp;
  for (std::string& e : env_copy) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> copy = argv;
  std::vector<char*> args;
  for (std::string& a : copy) args.push_back(a.data());
  args.push_back(nullptr);
  pid_t child = 0;
  int rc = 0;
  g_pending = 0;  // signals before this run are not this child's (received_signal() has them)
  {
    // A signal that comes during the spawn is delivered once the child's pid is known.
    BlockSignals block(forwarded_);
    rc = ::posix_spawnp(&child, args[0], &actions, &attributes, args.data(), envp.data());
    if (rc == 0) g_child_pid = child;
  }
  pass_on_pending();  // a signal another thread took while the child's pid was unknown
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (rc != 0)
    throw Error("cannot run program (program=" + argv[0] + ")", std::strerror(rc),
                "check that it exists and is executable");
  for (;;) {
    int status = 0;
    struct rusage usage {};
    const pid_t pid = ::wait4(-1, &status, 0, &usage);
    if (pid < 0 && errno == EINTR) continue;
    if (pid < 0) {  // ECHILD: cannot happen while the child is ours
      g_child_pid = 0;
      return 1;
    }
    tree_.add_reaped(usage);  // the child's, or an orphan's of its tree
    if (pid == child) {
      g_child_pid = 0;
      return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
    }
  }
}

}  // namespace greenai::track
