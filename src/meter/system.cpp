#include "greenai/meter/system.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <unordered_map>
#include <vector>

#include "meter/internal/sysfs.h"

namespace greenai::meter {
namespace {

double seconds(const timeval& tv) { return static_cast<double>(tv.tv_sec) + tv.tv_usec / 1e6; }

// Value in kB of a "Key:   123 kB" line of /proc/meminfo, or 0.
uint64_t meminfo_kb(const std::string& text, const char* key) {
  size_t pos = text.find(key);
  if (pos == std::string::npos) return 0;
  return std::strtoull(text.c_str() + pos + std::strlen(key), nullptr, 10);
}

}  // namespace

SystemStats::SystemStats(std::string proc_root)
    : proc_root_(std::move(proc_root)), ticks_per_s_(static_cast<double>(::sysconf(_SC_CLK_TCK))) {
  auto stat = internal::read_small_file(proc_root_ + "/stat");
  if (stat.text) {
    int cpus = 0;
    std::istringstream lines(*stat.text);
    for (std::string line; std::getline(lines, line);)
      if (line.size() > 3 && line.compare(0, 3, "cpu") == 0 && std::isdigit(line[3])) ++cpus;
    cpu_count_ = std::max(cpus, 1);
  }
  cpu_model_ = "unknown CPU";
  auto cpuinfo = internal::read_small_file(proc_root_ + "/cpuinfo");
  if (cpuinfo.text) {
    size_t pos = cpuinfo.text->find("model name");
    if (pos != std::string::npos) {
      size_t colon = cpuinfo.text->find(':', pos);
      size_t end = cpuinfo.text->find('\n', pos);
      if (colon != std::string::npos && colon < end)
        cpu_model_ = internal::trim(cpuinfo.text->substr(colon + 1, end - colon - 1));
    }
  }
}

SystemSnapshot SystemStats::read() const {
  SystemSnapshot snapshot;
  auto stat = internal::read_small_file(proc_root_ + "/stat");
  if (stat.text && stat.text->compare(0, 4, "cpu ") == 0) {
    // cpu user nice system idle iowait irq softirq steal ...: busy = all but idle, iowait, steal.
    std::istringstream fields(stat.text->substr(4, stat.text->find('\n') - 4));
    uint64_t v[8] = {};
    for (uint64_t& x : v) fields >> x;
    uint64_t busy = v[0] + v[1] + v[2] + v[5] + v[6];
    snapshot.busy_cpu_s = static_cast<double>(busy) / ticks_per_s_;
  }
  auto meminfo = internal::read_small_file(proc_root_ + "/meminfo");
  if (meminfo.text) {
    uint64_t total_kb = meminfo_kb(*meminfo.text, "MemTotal:");
    uint64_t available_kb = meminfo_kb(*meminfo.text, "MemAvailable:");
    snapshot.mem_total_bytes = total_kb * 1024;
    snapshot.mem_used_bytes = (total_kb - std::min(total_kb, available_kb)) * 1024;
  }
  return snapshot;
}

TreeUsage SelfUsage::read() {
  rusage self{}, children{};
  ::getrusage(RUSAGE_SELF, &self);
  ::getrusage(RUSAGE_CHILDREN, &children);
  TreeUsage usage;
  usage.cpu_s = seconds(self.ru_utime) + seconds(self.ru_stime) + seconds(children.ru_utime) +
                seconds(children.ru_stime);
  auto statm = internal::read_small_file("/proc/self/statm");
  if (statm.text) {
    unsigned long size = 0, resident = 0;
    std::istringstream(*statm.text) >> size >> resident;
    usage.rss_bytes = resident * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  }
  return usage;
}

DescendantsUsage::DescendantsUsage(pid_t ancestor, std::string proc_root)
    : ancestor_(ancestor),
      proc_root_(std::move(proc_root)),
      ticks_per_s_(static_cast<double>(::sysconf(_SC_CLK_TCK))),
      page_bytes_(::sysconf(_SC_PAGESIZE)) {}

std::string DescendantsUsage::describe() const {
  return "every descendant of pid " + std::to_string(ancestor_) + ", exited ones included";
}

void DescendantsUsage::add_reaped(const struct rusage& usage) {
  reaped_cpu_s_.fetch_add(seconds(usage.ru_utime) + seconds(usage.ru_stime));
}

TreeUsage DescendantsUsage::read() {
  struct Proc {
    pid_t ppid;
    uint64_t ticks;  // utime + stime + cutime + cstime
    uint64_t rss_pages;
  };
  std::unordered_map<pid_t, Proc> procs;
  if (DIR* dir = ::opendir(proc_root_.c_str())) {
    while (dirent* entry = ::readdir(dir)) {
      if (!std::isdigit(static_cast<unsigned char>(entry->d_name[0]))) continue;
      auto stat = internal::read_small_file(proc_root_ + "/" + entry->d_name + "/stat");
      if (!stat.text) continue;  // The process exited meanwhile.
      // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so parse after the
      // last ')'. Fields after it start at field 3 (state).
      size_t close = stat.text->rfind(')');
      if (close == std::string::npos) continue;
      std::istringstream fields(stat.text->substr(close + 2));
      std::string state;
      long long f[22] = {};  // fields 4..25
      fields >> state;
      for (long long& x : f) fields >> x;
      Proc proc{static_cast<pid_t>(f[0]),
                static_cast<uint64_t>(f[10] + f[11] + f[12] + f[13]),  // fields 14-17
                static_cast<uint64_t>(std::max(0LL, f[20]))};          // field 24: rss
      procs.emplace(static_cast<pid_t>(std::atoi(entry->d_name)), proc);
    }
    ::closedir(dir);
  }
  // Walk down from the ancestor.
  std::unordered_map<pid_t, std::vector<pid_t>> children;
  for (const auto& [pid, proc] : procs) children[proc.ppid].push_back(pid);
  uint64_t ticks = 0, rss_pages = 0;
  std::vector<pid_t> stack{ancestor_};
  while (!stack.empty()) {
    pid_t pid = stack.back();
    stack.pop_back();
    auto it = children.find(pid);
    if (it == children.end()) continue;
    for (pid_t child : it->second) {
      const Proc& proc = procs[child];
      ticks += proc.ticks;
      rss_pages += proc.rss_pages;
      stack.push_back(child);
    }
  }
  TreeUsage usage;
  usage.cpu_s =
      std::max(last_cpu_s_, reaped_cpu_s_.load() + static_cast<double>(ticks) / ticks_per_s_);
  last_cpu_s_ = usage.cpu_s;
  usage.rss_bytes = rss_pages * static_cast<uint64_t>(page_bytes_);
  return usage;
}

}  // namespace greenai::meter
