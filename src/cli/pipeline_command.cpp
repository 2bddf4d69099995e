// `greenai pipeline`: the green techniques end to end (docs/pipeline.md). Each stage is a
// greenai-torch command run as a child process; the pipeline tracks the whole process tree with
// the meter (a phase per stage), caches every stage by content, and writes results.json, a table
// and report.html.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/tracking_flags.h"
#include "greenai/carbon/intensity.h"
#include "greenai/error.h"
#include "greenai/hardware/cpu.h"
#include "greenai/meter/system.h"
#include "greenai/report/report.h"
#include "greenai/util/json.h"
#include "greenai/version.h"

extern char** environ;

namespace greenai::cli {
namespace {

using util::Json;
namespace fs = std::filesystem;

// SIGINT, SIGTERM and SIGHUP stop the pipeline: the running stage gets the signal, the pipeline
// waits for it (and reaps it), writes nothing more and exits 128+N; the stage, unfinished, has no
// stage.json, so a rerun redoes it and reuses the stages before it. A terminal's Ctrl-C reaches
// the stage itself (same process group); a signal sent to the pipeline alone is passed on.
constexpr int kStopSignals[] = {SIGINT, SIGTERM, SIGHUP};
volatile sig_atomic_t g_stop_signal = 0;
volatile sig_atomic_t g_stage_pid = 0;

void on_stop_signal(int signal, siginfo_t* info, void*) {
  g_stop_signal = signal;
  if (info->si_code != SI_KERNEL && g_stage_pid > 0) ::kill(g_stage_pid, signal);
}

// Thrown when a stop signal ended the run; pipeline_command turns it into the exit status.
struct Stopped {
  int signal;
  std::string stage;
};

const char* kHelp =
    "usage: greenai pipeline [--quick] [--fresh] [--out DIR] [--country CODE]\n"
    "                        [--budget-accuracy-drop POINTS] [--json]\n\n"
    "Runs the green techniques end to end on Fashion-MNIST and measures what each saves:\n"
    "  1. train the teacher (784-1200-1200-10) in fp32 and in bf16 mixed precision\n"
    "  2. distill a student (784-20-10) from it\n"
    "  3. prune the teacher structurally (90 % of its weights) and fine-tune\n"
    "  4. quantize teacher, pruned teacher and student to int8 edge files\n"
    "  5. evaluate every variant (test accuracy) and benchmark it (latency, energy per inference)\n"
    "  6. write DIR/results.json, DIR/report.html and a table\n"
    "Every stage runs as its own process under the meter (energy and kg CO2eq per stage). Stages\n"
    "are cached by content in DIR/stages (their command, options and input files): a second run\n"
    "reuses them and an interrupted one resumes; --fresh ignores the cache.\n\n"
    "  --quick                   10,000 training and 2,000 test examples, few epochs: a first\n"
    "                            look in a minute or two, not the figures to quote\n"
    "  --limit-train N, --limit-test N   the data slice (overrides --quick's)\n"
    "  --out DIR                 where to write (default greenai-pipeline)\n"
    "  --budget-accuracy-drop P  name the variant with the least energy per inference within P\n"
    "                            points of the teacher's accuracy (default 1.0)\n"
    "  --json                    print results.json on stdout instead of the table\n"
    "                            (the tracking record file is --json-log FILE here)\n\n";

// FNV-1a, 64 bits: the cache key of a stage.
struct Hasher {
  uint64_t h = 1469598103934665603ULL;
  void add(const void* data, size_t size) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < size; ++i) h = (h ^ p[i]) * 1099511628211ULL;
  }
  void add(const std::string& s) { add(s.data(), s.size() + 1); }  // with the terminator
  void add_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw Error("cannot run pipeline (input=" + path + ")", "missing stage input");
    char buffer[1 << 16];
    while (f.read(buffer, sizeof buffer) || f.gcount() > 0)
      add(buffer, static_cast<size_t>(f.gcount()));
  }
  std::string hex() const {
    char text[17];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(h));
    return text;
  }
};

struct Stage {
  std::string name, label;
  std::vector<std::string> args;    // greenai-torch arguments; "{dir}" is the stage's folder
  std::vector<std::string> inputs;  // files whose content the result depends on
  bool takes_tracking = true;       // whether the command takes the carbon-intensity flags
};

struct StageResult {
  std::string dir;
  Json result;  // the command's --json output
  double seconds = 0, energy_j = 0, kg = 0;
  bool cached = false;
};

std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream text;
  text << f.rdbuf();
  return text.str();
}

void write_text(const std::string& path, const std::string& text) {
  const std::string partial = path + ".partial";
  {
    std::ofstream f(partial, std::ios::binary);
    f << text;
    if (!f.flush())
      throw Error("cannot write (path=" + path + ")", std::strerror(errno),
                  "check the --out folder");
  }
  fs::rename(partial, path);  // whole or not at all
}

std::string replace_dir(std::string s, const std::string& dir) {
  for (size_t at = s.find("{dir}"); at != std::string::npos; at = s.find("{dir}"))
    s.replace(at, 5, dir);
  return s;
}

std::string sibling_torch() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return (self.parent_path() / "greenai-torch").string();
}

// Prints "[i/n] label ... 12 s" on a terminal, refreshed each second until stopped.
class Ticker {
 public:
  Ticker(std::string prefix, bool live) : prefix_(std::move(prefix)), live_(live) {
    std::cerr << prefix_ << std::flush;
    if (live_) thread_ = std::thread([this] { loop(); });
  }
  ~Ticker() { stop(); }
  void stop() {
    if (!live_) return;
    live_ = false;
    done_ = true;
    thread_.join();
    std::cerr << "\r\033[K" << prefix_ << std::flush;
  }

 private:
  void loop() {
    const auto begin = std::chrono::steady_clock::now();
    while (!done_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      const double s =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
      std::cerr << "\r\033[K" << prefix_ << " " << static_cast<int>(s) << " s" << std::flush;
    }
  }
  std::string prefix_;
  bool live_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

class Runner {
 public:
  Runner(fs::path out, bool fresh, track::Tracker& tracker, meter::DescendantsUsage& tree,
         std::vector<std::string> tracking, std::string hardware_key)
      : out_(std::move(out)),
        fresh_(fresh),
        tracker_(tracker),
        tree_(tree),
        tracking_(std::move(tracking)),
        torch_(sibling_torch()),
        hardware_key_(std::move(hardware_key)) {}

  StageResult run(const Stage& stage, size_t index, size_t total) {
    Hasher key;
    key.add(GREENAI_VERSION);
    // Timings, energy and the precision decision depend on the CPU: a folder carried to another
    // machine is not reused there.
    key.add(hardware_key_);
    key.add(stage.name);
    for (const auto& a : stage.args) key.add(a);
    for (const auto& in : stage.inputs) key.add_file(in);
    const fs::path dir = out_ / "stages" / (stage.name + "-" + key.hex());
    const fs::path marker = dir / "stage.json";
    char prefix[160];
    if (total)
      std::snprintf(prefix, sizeof prefix, "[%2zu/%zu] %-44s", index, total, stage.label.c_str());
    else  // the count is not known yet
      std::snprintf(prefix, sizeof prefix, "[%2zu/..] %-44s", index, stage.label.c_str());
    StageResult r;
    r.dir = dir.string();
    if (!fresh_ && fs::exists(marker)) {
      Json m = Json::parse(read_text(marker.string()));
      r.result = Json::parse(read_text((dir / "result.json").string()));
      r.seconds = m.at("seconds").number();
      r.energy_j = m.at("energy_j").number();
      r.kg = m.at("kg").number();
      r.cached = true;
      std::cerr << prefix << " cached (" << dir.filename().string() << ")\n";
      return r;
    }
    if (g_stop_signal) throw Stopped{g_stop_signal, stage.name};
    fs::remove_all(dir);
    fs::create_directories(dir);
    std::vector<std::string> argv{torch_};
    for (const auto& a : stage.args) argv.push_back(replace_dir(a, dir.string()));
    if (stage.takes_tracking)
      for (const auto& a : tracking_) argv.push_back(a);
    Ticker ticker(prefix, ::isatty(2));
    tracker_.begin_phase(stage.label);
    const auto begin = std::chrono::steady_clock::now();
    const int status =
        spawn_and_wait(argv, (dir / "result.json").string(), (dir / "log.txt").string());
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    tracker_.end_phase();
    ticker.stop();
    for (const auto& p : tracker_.phases())
      if (p.phase == stage.label) r.energy_j = p.tree.total_j(), r.kg = p.emissions_kg;
    if (g_stop_signal) {
      std::cerr << " stopped\n";
      throw Stopped{g_stop_signal, stage.name};
    }
    if (status != 0) {
      std::cerr << " failed\n";
      std::string log = read_text((dir / "log.txt").string());
      while (!log.empty() && log.back() == '\n') log.pop_back();
      const size_t last = log.rfind('\n');
      throw Error("cannot run pipeline stage (stage=" + stage.name + ")",
                  "exit status " + std::to_string(status) + ": " +
                      (last == std::string::npos ? log : log.substr(last + 1)),
                  "the whole log is " + (dir / "log.txt").string());
    }
    r.result = Json::parse(read_text((dir / "result.json").string()));
    Json m = Json::object()
                 .set("name", stage.name)
                 .set("key", key.hex())
                 .set("seconds", r.seconds)
                 .set("energy_j", r.energy_j)
                 .set("kg", r.kg);
    Json command = Json::array();
    for (const auto& a : argv) command.push(a);
    m.set("command", command);
    write_text(marker.string(), m.dump(2) + "\n");
    char done[96];
    std::snprintf(done, sizeof done, " %6.1f s, %8.4g J\n", r.seconds, r.energy_j);
    std::cerr << done;
    return r;
  }

 private:
  // Runs argv with stdout and stderr to files; reaps it (and any orphan) into the meter's tree.
  int spawn_and_wait(std::vector<std::string> argv, const std::string& out,
                     const std::string& log) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 2, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    pid_t child = 0;
    const int rc = ::posix_spawn(&child, argv[0].c_str(), &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc == 0) {
      g_stage_pid = child;
      if (g_stop_signal) ::kill(child, g_stop_signal);  // a signal that came during the spawn
    }
    if (rc != 0)
      throw Error("cannot run pipeline stage (program=" + argv[0] + ")", std::strerror(rc),
                  "greenai-torch is built beside greenai when LibTorch is present");
    for (;;) {
      int status = 0;
      struct rusage usage {};
      const pid_t pid = ::wait4(-1, &status, 0, &usage);
      if (pid < 0 && errno == EINTR) continue;
      if (pid < 0) return 1;
      tree_.add_reaped(usage);
      if (pid == child) {
        g_stage_pid = 0;
        return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
      }
    }
  }

  fs::path out_;
  bool fresh_;
  track::Tracker& tracker_;
  meter::DescendantsUsage& tree_;
  std::vector<std::string> tracking_;
  std::string torch_;
  std::string hardware_key_;
};

}  // namespace

static int run_pipeline(const ParsedArgs& args, const fs::path& out, bool quick, double budget,
                        track::Tracker& tracker, meter::DescendantsUsage& tree);

int pipeline_command(int argc, char** argv) {
  auto specs = tracking_option_specs(/*json_is_log=*/false);
  for (auto s : std::vector<OptionSpec>{{"quick", false},
                                        {"fresh", false},
                                        {"out", true},
                                        {"budget-accuracy-drop", true},
                                        {"limit-train", true},
                                        {"limit-test", true},
                                        {"json", false},
                                        {"help", false}})
    specs.push_back(s);
  ParsedArgs args = ArgParser("pipeline", specs).parse(argc, argv, 2);
  if (args.has("help")) {
    std::cout << kHelp << kTrackingHelp;
    return 0;
  }
  if (!args.positionals.empty()) throw UsageError("pipeline takes no positional arguments");
  const bool quick = args.has("quick");
  const double budget = args.number("budget-accuracy-drop", 1.0);
  if (!(budget >= 0) || budget > 100)
    throw UsageError("--budget-accuracy-drop must be in [0, 100]");
  const fs::path out = args.get("out").value_or("greenai-pipeline");
  fs::create_directories(out);

  // The pipeline's own meter: every stage's process tree, a phase per stage.
  track::TrackerOptions options = tracker_options(args);
  auto usage = std::make_unique<meter::DescendantsUsage>(::getpid());
  meter::DescendantsUsage* tree = usage.get();
  track::Tracker tracker(meter::open_sensors(sensor_options(args)), std::move(usage), options);
  for (auto& sink : open_sinks(args)) tracker.add_sink(sink);
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  struct sigaction stop_action {};
  stop_action.sa_sigaction = on_stop_signal;
  stop_action.sa_flags = SA_SIGINFO;  // no SA_RESTART: the stage's wait4 returns, and waits again
  for (int s : kStopSignals) ::sigaction(s, &stop_action, nullptr);
  try {
    return run_pipeline(args, out, quick, budget, tracker, *tree);
  } catch (const Stopped& stopped) {
    tracker.stop();
    std::cerr << "greenai: pipeline stopped by signal " << stopped.signal << " ("
              << strsignal(stopped.signal) << ") in stage " << stopped.stage
              << "; the stages before it are cached: a rerun resumes there\n";
    return 128 + stopped.signal;
  }
}

static int run_pipeline(const ParsedArgs& args, const fs::path& out, bool quick, double budget,
                        track::Tracker& tracker, meter::DescendantsUsage& tree) {
  // The carbon intensity the stages use: the pipeline's own tracking flags, passed on.
  std::vector<std::string> tracking;
  for (const char* flag :
       {"country", "intensity", "intensity-series", "pue", "cpu-tdp", "cpu-watts-per-core"})
    if (auto v = args.get(flag)) tracking.insert(tracking.end(), {"--" + std::string(flag), *v});

  // --quick: a slice of the data and few epochs. --limit-train/--limit-test override the slice
  // (the test suite runs the pipeline on a few hundred examples).
  std::vector<std::string> slice;
  const std::string limit_train = args.get("limit-train").value_or(quick ? "10000" : "");
  const std::string limit_test = args.get("limit-test").value_or(quick ? "2000" : "");
  if (!limit_train.empty()) slice.insert(slice.end(), {"--limit-train", limit_train});
  if (!limit_test.empty()) slice.insert(slice.end(), {"--limit-test", limit_test});
  auto with = [&](std::vector<std::string> a, std::vector<std::string> b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  };
  const std::string teacher_epochs = quick ? "3" : "20", student_epochs = quick ? "5" : "20";
  const hardware::Hardware here = hardware::detect();
  Runner runner(out, args.has("fresh"), tracker, tree, tracking, here.key());
  tracker.start();
  // What this CPU runs fast: the precision probe decides whether the bf16 teacher is made.
  size_t index = 0;
  const StageResult probe = runner.run(
      {"hardware", "probe the hardware (bf16 against fp32)", {"hardware", "--json"}, {}, false},
      ++index, 0);
  const Json& advice = probe.result.at("precision_advice");
  const bool bf16 = advice.at("bf16_accelerated").boolean();
  // hardware, train x4 (x3 without bf16), quantize x3, evaluate every variant, bench
  const size_t total = 1 + (bf16 ? 4 : 3) + 3 + (bf16 ? 7 : 6) + 1;
  auto train = [&](const std::string& name, const std::string& label, std::vector<std::string> a,
                   std::vector<std::string> inputs = {}) {
    return runner.run({name, label, with(with(a, slice), {"--seed", "1", "--json"}), inputs},
                      ++index, total);
  };
  StageResult teacher =
      train("teacher", "train the teacher (fp32)",
            {"train", "--model", "teacher", "--epochs", teacher_epochs, "--out", "{dir}/model.pt"});
  const std::string teacher_pt = teacher.dir + "/model.pt";
  StageResult teacher_bf16;
  Json skipped = Json::array();
  if (bf16) {
    teacher_bf16 = train("teacher-bf16", "train the teacher (bf16 mixed precision)",
                         {"train", "--model", "teacher", "--precision", "bf16", "--epochs",
                          teacher_epochs, "--out", "{dir}/model.pt"});
  } else {
    std::cerr << "         teacher-bf16 skipped: " << advice.at("reason").string() << "\n";
    skipped.push(Json::object()
                     .set("name", "teacher-bf16")
                     .set("technique", "bf16 mixed-precision training")
                     .set("reason", advice.at("reason").string())
                     .set("bf16_speedup", advice.at("bf16_speedup").number()));
  }
  StageResult student = train("student", "distill the student (784-20-10)",
                              {"distill", "--teacher", teacher_pt, "--hidden", "20", "--epochs",
                               student_epochs, "--out", "{dir}/model.pt"},
                              {teacher_pt, teacher_pt + ".json"});
  StageResult pruned = train("pruned", "prune the teacher (structured, 90 %)",
                             {"prune", teacher_pt, "--sparsity", "0.9", "--structured",
                              "--finetune-epochs", quick ? "2" : "5", "--out", "{dir}/model.pt"},
                             {teacher_pt, teacher_pt + ".json"});
  // The variants: each a file, what made it, and the metered energy of the stages that made it
  // and the models it came from. An int8 variant names the one it was quantized from.
  struct Variant {
    std::string name, technique, runtime, file;
    double produce_j, produce_kg;
    std::string parent;
    Json eval, bench64, bench1;
  };
  std::vector<Variant> variants{
      {"teacher", "fp32 training", "LibTorch fp32", teacher_pt, teacher.energy_j, teacher.kg}};
  if (bf16)
    variants.push_back({"teacher-bf16", "bf16 mixed-precision training", "LibTorch fp32",
                        teacher_bf16.dir + "/model.pt", teacher_bf16.energy_j, teacher_bf16.kg});
  variants.push_back({"student", "knowledge distillation", "LibTorch fp32",
                      student.dir + "/model.pt", teacher.energy_j + student.energy_j,
                      teacher.kg + student.kg});
  variants.push_back({"pruned", "structured pruning + fine-tuning", "LibTorch fp32",
                      pruned.dir + "/model.pt", teacher.energy_j + pruned.energy_j,
                      teacher.kg + pruned.kg});
  auto variant = [&](const std::string& name) -> Variant& {
    for (Variant& v : variants)
      if (v.name == name) return v;
    throw std::logic_error("pipeline: no variant " + name);
  };
  std::vector<std::pair<std::string, StageResult>> quantized;  // for the per-stage chart
  for (const char* parent : {"teacher", "pruned", "student"}) {
    const Variant from = variant(parent);
    StageResult q = runner.run({from.name + "-int8",
                                "quantize " + from.name + " to int8",
                                {"quantize", from.file, "--calibration", quick ? "500" : "1000",
                                 "--out", "{dir}/model.edge", "--json"},
                                {from.file, from.file + ".json"}},
                               ++index, total);
    variants.push_back({from.name + "-int8", "int8 post-training quantization",
                        "greenai edge runtime int8", q.dir + "/model.edge",
                        from.produce_j + q.energy_j, from.produce_kg + q.kg, from.name});
    quantized.emplace_back(from.name + "-int8", q);
  }
  StageResult evaluation;  // the evaluations together, for the per-stage chart
  evaluation.cached = true;
  for (Variant& v : variants) {
    StageResult e = runner.run({"eval-" + v.name,
                                "evaluate " + v.name,
                                with({"eval", v.file, "--repeat", "1", "--json"}, slice),
                                {v.file}},
                               ++index, total);
    v.eval = e.result;
    evaluation.seconds += e.seconds;
    evaluation.energy_j += e.energy_j;
    evaluation.kg += e.kg;
    evaluation.cached = evaluation.cached && e.cached;
  }
  std::vector<std::string> bench_args{"bench"};
  std::vector<std::string> files;
  for (const Variant& v : variants) bench_args.push_back(v.file), files.push_back(v.file);
  for (const char* a : {"--batch", "1,64", "--threads", "1", "--json", "--seconds"})
    bench_args.push_back(a);
  bench_args.push_back(quick ? "0.3" : "2");
  StageResult bench = runner.run({"bench", "benchmark every variant (1 thread)", bench_args, files},
                                 ++index, total);
  track::Record whole = tracker.stop();

  for (const Json& row : bench.result.at("results").items())
    for (Variant& v : variants)
      if (row.at("model").string() == v.file)
        (row.at("batch").number() == 64 ? v.bench64 : v.bench1) = row;

  // results.json
  const Variant& t = variants[0];
  const double teacher_energy = t.bench64.at("energy_per_1000_inferences").at("total_j").number();
  const double teacher_size = t.eval.at("size_bytes").number();
  const double teacher_accuracy = t.eval.at("accuracy").number();
  Json rows = Json::array();
  std::string best;
  double best_energy = 0;
  for (const Variant& v : variants) {
    const Json& e = v.bench64.at("energy_per_1000_inferences");
    const double energy = e.at("total_j").number();
    const double accuracy = v.eval.at("accuracy").number();
    const double size = v.eval.at("size_bytes").number();
    // An edge file has the parameters of the checkpoint it was quantized from.
    const Json& counted = v.parent.empty() ? v.eval : variant(v.parent).eval;
    const double params = counted.at("parameters").number();
    const double drop = 100 * (teacher_accuracy - accuracy);
    if (drop <= budget + 1e-9 && (best.empty() || energy < best_energy)) {
      best = v.name;
      best_energy = energy;
    }
    rows.push(
        Json::object()
            .set("name", v.name)
            .set("technique", v.technique)
            .set("runtime", v.runtime)
            .set("file", v.file)
            .set("accuracy", accuracy)
            .set("parameters", params)
            .set("size_bytes", size)
            .set("latency_us", Json::object()
                                   .set("batch1_p50", v.bench1.at("p50_us").number())
                                   .set("batch1_p99", v.bench1.at("p99_us").number())
                                   .set("batch64_p50", v.bench64.at("p50_us").number())
                                   .set("batch64_p99", v.bench64.at("p99_us").number()))
            .set("energy_per_1000_j", energy)
            .set("kg_per_million", e.at("emissions_kg").number() * 1000)
            .set("produce_energy_j", v.produce_j)
            .set("produce_kg", v.produce_kg)
            .set("vs_teacher", Json::object()
                                   .set("energy_ratio", energy > 0 ? teacher_energy / energy : 0)
                                   .set("size_ratio", size > 0 ? teacher_size / size : 0)
                                   .set("accuracy_drop_points", drop)));
  }
  Json stage_rows = Json::array();
  {
    // Every stage in order, with its energy (from this run, or from the run that made it).
    std::vector<std::pair<std::string, const StageResult*>> all{
        {"probe the hardware", &probe}, {"train the teacher (fp32)", &teacher}};
    if (bf16) all.push_back({"train the teacher (bf16)", &teacher_bf16});
    all.push_back({"distill the student", &student});
    all.push_back({"prune the teacher", &pruned});
    for (const auto& [name, q] : quantized) all.push_back({"quantize " + name, &q});
    all.push_back({"evaluate the " + std::to_string(variants.size()) + " variants", &evaluation});
    all.push_back({"benchmark", &bench});
    for (const auto& [label, s] : all)
      stage_rows.push(Json::object()
                          .set("label", label)
                          .set("seconds", s->seconds)
                          .set("energy_j", s->energy_j)
                          .set("kg", s->kg)
                          .set("cached", s->cached));
  }
  const track::RunInfo& info = tracker.info();
  Json results =
      Json::object()
          .set("schema", "greenai.pipeline/1")
          .set("version", GREENAI_VERSION)
          .set("created", carbon::format_timestamp(static_cast<double>(std::time(nullptr))))
          .set("dataset",
               "Fashion-MNIST (" + (limit_train.empty() ? std::string("60000") : limit_train) +
                   " training, " + (limit_test.empty() ? std::string("10000") : limit_test) +
                   " test examples)")
          .set("quick", quick)
          .set("test_examples", t.eval.at("test_examples").number())
          .set("teacher", "teacher")
          .set("hardware", probe.result.at("hardware"))
          .set("precision_advice", advice)
          .set("variants", rows)
          .set("skipped", skipped)
          .set("stages", stage_rows)
          .set("recommendation",
               best.empty() ? Json()
                            : Json::object().set("variant", best).set("budget_points", budget))
          .set("pipeline_energy", Json::object()
                                      .set("total_j", whole.tree.total_j())
                                      .set("emissions_kg", whole.emissions_kg)
                                      .set("seconds", whole.end_unix_s - whole.start_unix_s))
          .set("provenance", provenance_json(tracker));
  write_text((out / "results.json").string(), results.dump(2) + "\n");
  write_text((out / "report.html").string(), report::render_html(results));

  if (args.has("json")) {
    std::cout << results.dump(2) << "\n";
    return 0;
  }
  std::printf("\n%-14s %8s %7s %10s %9s %9s %10s %12s %8s %10s\n", "variant", "accuracy", "drop",
              "file", "p50 b1", "p50 b64", "J/1000", "kg/10^6 inf", "energy", "J to make");
  for (const Json& r : rows.items()) {
    const Json& vs = r.at("vs_teacher");
    std::printf("%-14s %7.2f%% %+7.2f %8.1fkB %7.1fus %7.0fus %10.4g %12.3g %7.1fx %10.4g%s\n",
                r.at("name").string().c_str(), 100 * r.at("accuracy").number(),
                -vs.at("accuracy_drop_points").number(), r.at("size_bytes").number() / 1e3,
                r.at("latency_us").at("batch1_p50").number(),
                r.at("latency_us").at("batch64_p50").number(), r.at("energy_per_1000_j").number(),
                r.at("kg_per_million").number(), vs.at("energy_ratio").number(),
                r.at("produce_energy_j").number(),
                r.at("name").string() == best ? "  <- best" : "");
  }
  for (const Json& k : skipped.items())
    std::printf("%-14s skipped: %s\n", k.at("name").string().c_str(),
                k.at("reason").string().c_str());
  std::printf("\nhardware: %s\nenergy: %s; intensity: %s\n", here.summary().c_str(),
              info.provenance().c_str(), info.intensity_source.c_str());
  if (!best.empty())
    std::printf(
        "within %.2g point(s) of the teacher's accuracy, the least energy per inference: %s\n",
        budget, best.c_str());
  else
    std::printf("no variant within %.2g point(s) of the teacher's accuracy\n", budget);
  std::printf("the whole pipeline: %.0f s, %.4g J, %.3g kg CO2eq; wrote %s and %s\n",
              whole.end_unix_s - whole.start_unix_s, whole.tree.total_j(), whole.emissions_kg,
              (out / "results.json").string().c_str(), (out / "report.html").string().c_str());
  return 0;
}

}  // namespace greenai::cli
