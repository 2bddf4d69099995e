// End-to-end tests of the greenai executable: exit codes, bad input, signals, crash safety.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "greenai/util/json.h"
#include "greenai/util/npy.h"
#include "support/temp_dir.h"

extern char** environ;

namespace {

using greenai::testing::TempDir;
using namespace std::chrono_literals;

// Environment for the child: no counters, so figures are the estimator's everywhere.
struct HermeticEnv {
  HermeticEnv() {
    ::setenv("GREENAI_POWERCAP_ROOT", "/nonexistent", 1);
    ::setenv("GREENAI_NVML_LIBRARY", "/nonexistent/libnvidia-ml.so.1", 1);
  }
};
const HermeticEnv kEnv;

struct Result {
  int code = -1;
  std::string out, err;
};

// Starts greenai with `args`; stdout and stderr go to files in `dir`.
pid_t start(const std::vector<std::string>& args, const TempDir& dir) {
  std::vector<std::string> argv = {GREENAI_EXE};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> raw;
  for (auto& a : argv) raw.push_back(a.data());
  raw.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, dir.file("stdout").c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, dir.file("stderr").c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setpgroup(&attributes, 0);  // own group: signals from the test reach greenai only
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
  pid_t pid = 0;
  EXPECT_EQ(::posix_spawn(&pid, GREENAI_EXE, &actions, &attributes, raw.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  return pid;
}

Result finish(pid_t pid, const TempDir& dir) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  Result r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = TempDir::read(dir.file("stdout"));
  r.err = TempDir::read(dir.file("stderr"));
  return r;
}

Result run(const std::vector<std::string>& args) {
  TempDir dir;
  return finish(start(args, dir), dir);
}

int count_lines(const std::string& text) {
  return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

TEST(Cli, HelpVersionAndUsageErrors) {
  EXPECT_EQ(run({"--help"}).code, 0);
  Result version = run({"--version"});
  EXPECT_EQ(version.code, 0);
  EXPECT_EQ(version.out.rfind("greenai ", 0), 0u);
  EXPECT_EQ(run({}).code, 2);
  Result unknown = run({"fly"});
  EXPECT_EQ(unknown.code, 2);
  EXPECT_EQ(unknown.err, "greenai: unknown command 'fly'\nTry `greenai --help`.\n");
  Result bad_option = run({"run", "--colour", "x", "--", "true"});
  EXPECT_EQ(bad_option.code, 2);
  EXPECT_EQ(bad_option.err,
            "greenai run: unknown option --colour for `greenai run`\nTry `greenai run --help`.\n");
  for (const char* command : {"run", "sensors", "co2", "workload"}) {
    Result help = run({command, "--help"});
    EXPECT_EQ(help.code, 0) << command;
    EXPECT_EQ(help.out.rfind("usage: greenai ", 0), 0u) << command;
  }
}

TEST(Cli, Co2CalculatorMatchesTheMissionsExample) {
  Result r = run({"co2", "--kwh", "1000", "--intensity", "500"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out.rfind("500 kg CO2eq", 0), 0u) << r.out;
  Result fr = run({"co2", "--kwh", "1000", "--country", "FR", "--json"});
  EXPECT_EQ(fr.code, 0);
  EXPECT_NE(fr.out.find("\"intensity_source\":\"country FRA (France)"), std::string::npos)
      << fr.out;
  Result bad = run({"co2", "--kwh", "ten"});
  EXPECT_EQ(bad.code, 2);
  EXPECT_EQ(bad.err,
            "greenai co2: cannot parse --kwh=ten: not a number\nTry `greenai co2 --help`.\n");
}

TEST(Cli, TuneReplaysOnlyWhatItIsGiven) {
  Result help = run({"tune", "--help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_EQ(help.out.rfind("usage: greenai tune MODEL", 0), 0u) << help.out;
  EXPECT_NE(help.out.find("greenai tune --replay DIR"), std::string::npos) << help.out;
  Result missing = run({"tune"});
  EXPECT_EQ(missing.code, 2);
  EXPECT_EQ(missing.err.rfind("greenai tune: expected MODEL (a checkpoint, edge or ONNX file", 0),
            0u)
      << missing.err;
  Result both = run({"tune", "m.pt", "--replay", "/nonexistent"});
  EXPECT_EQ(both.code, 2);
  EXPECT_NE(both.err.find("give either MODEL"), std::string::npos) << both.err;
  Result no_dir = run({"tune", "--replay", "/nonexistent"});
  EXPECT_EQ(no_dir.code, 2);
  EXPECT_NE(no_dir.err.find("/nonexistent/summary_train.csv"), std::string::npos) << no_dir.err;
  Result eta = run({"tune", "--replay", "/nonexistent", "--eta", "2"});
  EXPECT_EQ(eta.code, 2);
  EXPECT_EQ(eta.err, "greenai: cannot replay (--eta=2): eta must lie in [0, 1]\n");
}

TEST(Cli, TuneRecurringKeepsTheOptimizerInAFile) {
  TempDir dir;
  const std::string state = dir.file("bs.json");
  Result fresh = run({"tune", "--recurring", state});
  EXPECT_EQ(fresh.code, 2);
  EXPECT_NE(fresh.err.find("needs --batch-sizes LIST and --default-batch B"), std::string::npos)
      << fresh.err;
  Result first = run({"tune", "--recurring", state, "--batch-sizes", "32,64,128", "--default-batch",
                      "64", "--max-epochs", "20", "--json"});
  ASSERT_EQ(first.code, 0) << first.err;
  EXPECT_NE(first.out.find("\"batch_size\":64"), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("\"stop_cost\":null"), std::string::npos) << first.out;
  Result record = run({"tune", "--recurring", state, "--observe", "64", "--epochs", "8", "--cost",
                       "200", "--reached", "yes"});
  ASSERT_EQ(record.code, 0) << record.err;
  Result second = run({"tune", "--recurring", state});
  ASSERT_EQ(second.code, 0) << second.err;
  EXPECT_EQ(second.out,
            "next run: batch size 32 (exploring, 1 runs recorded)\n"
            "stop it once its cost passes 400 (beta x the best expected run)\n");
  Result unknown = run({"tune", "--recurring", state, "--observe", "48", "--epochs", "8", "--cost",
                        "200", "--reached", "yes"});
  EXPECT_EQ(unknown.code, 2);
  EXPECT_NE(unknown.err.find("not one of the optimizer's batch sizes"), std::string::npos);
  Result no_outcome = run({"tune", "--recurring", state, "--observe", "64"});
  EXPECT_EQ(no_outcome.code, 2);
  dir.write("bs.json", "{ broken");
  Result broken = run({"tune", "--recurring", state});
  EXPECT_EQ(broken.code, 2);
  EXPECT_NE(broken.err.find("delete it to start the optimizer afresh"), std::string::npos)
      << broken.err;
}

TEST(Cli, SiteSimulatesATinyDistrict) {
  TempDir dir;
  const std::string header =
      "month,hour,day_type,daylight_savings_status,indoor_dry_bulb_temperature,"
      "average_unmet_cooling_setpoint_difference,indoor_relative_humidity,non_shiftable_load,"
      "dhw_demand,cooling_demand,heating_demand,solar_generation\n";
  std::string b1 = header, prices = "electricity_pricing\n", carbon = "carbon_intensity\n";
  for (int day = 0; day < 3; ++day)
    for (int hour = 1; hour <= 24; ++hour) {
      b1 += "1," + std::to_string(hour) + ",1,0,,,," + (hour >= 17 ? "2" : "0.5") + ",0,0,0," +
            (hour >= 9 && hour <= 15 ? "900" : "0") + "\n";
      prices += hour >= 17 ? "0.5\n" : "0.2\n";
      carbon += "0.4\n";
    }
  dir.write("site/Building_1.csv", b1);
  dir.write("site/pricing.csv", prices);
  dir.write("site/carbon_intensity.csv", carbon);
  dir.write("site/schema.json",
            R"({"buildings": {"Building_1": {"include": true, "energy_simulation": "Building_1.csv",
               "electrical_storage": {"attributes": {"capacity": 6, "nominal_power": 3}},
               "pv": {"attributes": {"nominal_power": 2}}}}})");
  Result rbc = run({"site", "simulate", "--data", dir.file("site")});
  ASSERT_EQ(rbc.code, 0) << rbc.err;
  EXPECT_NE(rbc.out.find("controller rbc"), std::string::npos) << rbc.out;
  EXPECT_NE(rbc.out.find("district"), std::string::npos) << rbc.out;
  Result mpc = run({"site", "simulate", "--data", dir.file("site"), "--controller", "mpc-oracle",
                    "--json", "--svg", dir.file("week.svg")});
  ASSERT_EQ(mpc.code, 0) << mpc.err;
  const greenai::util::Json j = greenai::util::Json::parse(mpc.out);
  EXPECT_EQ(j.at("controller").string(), "mpc-oracle");
  EXPECT_LT(j.at("district").at("score").number(), 1.0) << mpc.out;
  EXPECT_EQ(j.at("hours").number(), 72);
  const std::string svg = TempDir::read(dir.file("week.svg"));
  EXPECT_NE(svg.find("<svg"), std::string::npos);
  EXPECT_NE(svg.find("battery charge"), std::string::npos);
#ifndef GREENAI_NO_TORCH
  // The RL agents: trained (metered), written, and run from the file by greenai.
  Result train =
      run({"site", "train", "--controller", "rl", "--data", dir.file("site"), "--episodes", "2",
           "--hidden", "16", "--out", dir.file("agent.pt"), "--json"});
  ASSERT_EQ(train.code, 0) << train.err;
  const greenai::util::Json t = greenai::util::Json::parse(train.out);
  EXPECT_EQ(t.at("report").at("episodes").items().size(), 2u);
  EXPECT_GT(t.at("energy").at("total_j").number(), 0);
  EXPECT_NE(t.at("provenance").at("energy").string().find("estimated"), std::string::npos)
      << train.out;  // no counters in the tests' sandbox: labelled as the estimate it is
  Result rl = run({"site", "simulate", "--data", dir.file("site"), "--controller", "rl", "--model",
                   dir.file("agent.pt"), "--json"});
  ASSERT_EQ(rl.code, 0) << rl.err;
  const greenai::util::Json r = greenai::util::Json::parse(rl.out);
  EXPECT_EQ(r.at("controller").string(), "rl");
  EXPECT_EQ(r.at("training").at("options").at("episodes").number(), 2);
  Result no_model = run({"site", "simulate", "--data", dir.file("site"), "--controller", "rl"});
  EXPECT_EQ(no_model.code, 2);
  EXPECT_NE(no_model.err.find("--model FILE"), std::string::npos) << no_model.err;
#endif
  Result bad = run({"site", "simulate", "--data", dir.file("site"), "--controller", "magic"});
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("use rbc, mpc, mpc-oracle, none, or rl"), std::string::npos) << bad.err;
  Result missing = run({"site", "simulate", "--data", dir.file("nowhere")});
  EXPECT_EQ(missing.code, 2);
  EXPECT_NE(missing.err.find("schema.json): no such file"), std::string::npos) << missing.err;
  Result action = run({"site", "fly"});
  EXPECT_EQ(action.code, 2);
}

TEST(Cli, SensorsExplainsWhatIsMissingAndHow) {
  Result r = run({"sensors"});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("[no]   rapl: no intel-rapl:* domains under /nonexistent"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("[no]   nvml: cannot load /nonexistent/libnvidia-ml.so.1"),
            std::string::npos);
  EXPECT_NE(r.out.find("[ok]   estimator: estimated:"), std::string::npos);
  EXPECT_NE(r.out.find("fix: "), std::string::npos);
}

TEST(Cli, SensorsSeesAFakeGpu) {
  ::setenv("GREENAI_NVML_LIBRARY", GREENAI_FAKE_NVML, 1);
  Result r = run({"sensors", "--json"});
  ::setenv("GREENAI_NVML_LIBRARY", "/nonexistent/libnvidia-ml.so.1", 1);
  EXPECT_NE(
      r.out.find(
          "{\"sensor\":\"nvml\",\"usable\":true,\"detail\":\"measured: NVML (gpu0 Fake GPU 0: "
          "total-energy counter)\""),
      std::string::npos)
      << r.out;
}

TEST(Cli, RunReturnsTheCommandsExitCode) {
  EXPECT_EQ(run({"run", "--", "sh", "-c", "exit 7"}).code, 7);
  EXPECT_EQ(run({"run", "true"}).code, 0);  // "--" is optional
  EXPECT_EQ(run({"run", "--", "sh", "-c", "kill -TERM $$"}).code, 128 + SIGTERM);
  Result missing = run({"run", "--", "no-such-command-xyz"});
  EXPECT_EQ(missing.code, 127);
  EXPECT_EQ(missing.err, "greenai: cannot run 'no-such-command-xyz': command not found\n");
  TempDir dir;
  std::string script = dir.write("not-executable.sh", "exit 0\n");
  EXPECT_EQ(run({"run", "--", script}).code, 126);
}

TEST(Cli, BadInputExitsTwoBeforeStartingAndWritesNothing) {
  TempDir dir;
  const std::string csv = dir.file("out.csv"), marker = dir.file("started");
  const std::vector<std::string> command = {"--", "touch", marker};
  auto check = [&](std::vector<std::string> flags, const std::string& message) {
    flags.insert(flags.begin(), "run");
    flags.insert(flags.end(), command.begin(), command.end());
    Result r = run(flags);
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_EQ(r.err.substr(0, r.err.find('\n')), message);
    EXPECT_FALSE(std::filesystem::exists(marker)) << "the command must not start";
    EXPECT_FALSE(std::filesystem::exists(csv)) << "nothing may be written";
  };
  check({"--output", csv, "--country", "XX"},
        "greenai: cannot find country (--country=XX): not an ISO 3166-1 alpha-2 or alpha-3 code in "
        "the embedded table");
  check({"--output", csv, "--intensity", "-3"},
        "greenai: cannot use intensity (--intensity=-3.000000): must be a non-negative number of g "
        "CO2eq/kWh");
  std::string series =
      dir.write("series.csv", "timestamp,g_per_kwh\n2024-01-01T00:00Z,100\n2024-01-01T01:00Z,x\n");
  check({"--output", csv, "--intensity-series", series},
        "greenai: cannot read intensity series (path=" + series +
            "): line 3: intensity 'x' is not a number");
  check({"--output", "/nonexistent-dir/out.csv"},
        "greenai: cannot write CSV (path=/nonexistent-dir/out.csv): No such file or directory");
  check({"--output", csv, "--interval", "0"},
        "greenai: cannot track (--interval=0.000000): the interval must be a positive number of "
        "seconds");
  check({"--output", csv, "--interval", "fast"},
        "greenai run: cannot parse --interval=fast: not a number");
  check({"--output", csv, "--cpu-tdp", "0"},
        "greenai: cannot use CPU power model (--cpu-tdp=0.000000): must be a positive number of "
        "watts");
}

TEST(Cli, ForwardsSigtermToTheCommand) {
  TempDir dir;
  std::string ready = dir.file("ready");
  pid_t pid = start({"run", "--interval", "0.1", "--", "sh", "-c",
                     "trap 'exit 42' TERM; touch " + ready + "; while :; do sleep 0.05; done"},
                    dir);
  for (int i = 0; i < 200 && !std::filesystem::exists(ready); ++i)
    std::this_thread::sleep_for(10ms);
  ASSERT_TRUE(std::filesystem::exists(ready));
  ::kill(pid, SIGTERM);
  Result r = finish(pid, dir);
  EXPECT_EQ(r.code, 42) << r.err;
  EXPECT_NE(r.err.find("greenai: "), std::string::npos) << "the summary is still printed";
}

// SIGTERM to `greenai tune --knob power-cap` mid-run: passed on to the command, and the cap it
// set is put back before greenai exits.
TEST(Cli, TuneKnobPutsTheCapBackOnSigterm) {
  TempDir dir;
  const std::string cap =
      dir.write("powercap/intel-rapl:0/constraint_0_power_limit_uw", "100000000\n");
  dir.write("powercap/intel-rapl:0/constraint_0_max_power_uw", "200000000\n");
  const std::string ready = dir.file("ready");
  const char* saved = std::getenv("GREENAI_POWERCAP_ROOT");
  const std::string previous = saved ? saved : "";
  ::setenv("GREENAI_POWERCAP_ROOT", dir.file("powercap").c_str(), 1);
  pid_t pid = start({"tune", "--knob", "power-cap", "--values", "80,60", "--no-cache", "--", "sh",
                     "-c", "touch " + ready + "; while :; do sleep 0.05; done"},
                    dir);
  if (saved)
    ::setenv("GREENAI_POWERCAP_ROOT", previous.c_str(), 1);
  else
    ::unsetenv("GREENAI_POWERCAP_ROOT");
  for (int i = 0; i < 300 && !std::filesystem::exists(ready); ++i)
    std::this_thread::sleep_for(10ms);
  ASSERT_TRUE(std::filesystem::exists(ready));
  EXPECT_EQ(TempDir::read(cap), "80000000");  // the first value, set before the command started
  ::kill(pid, SIGTERM);
  Result r = finish(pid, dir);
  EXPECT_EQ(r.code, 128 + SIGTERM) << r.err;
  EXPECT_EQ(TempDir::read(cap), "100000000");
  EXPECT_NE(r.err.find("power-cap: nothing chosen"), std::string::npos) << r.err;
}

TEST(Cli, KillNineLeavesAValidCsvWithEveryCompletedInterval) {
  TempDir dir;
  const std::string csv = dir.file("emissions.csv"), child_pid = dir.file("child.pid");
  pid_t pid = start({"run", "--interval", "0.1", "--output", csv, "--json", dir.file("run.jsonl"),
                     "--", "sh", "-c", "echo $$ > " + child_pid + "; exec sleep 5"},
                    dir);
  // Wait until the command runs (start-up is slow on a loaded machine), then for 5.5 intervals.
  for (int i = 0; i < 500 && TempDir::read(child_pid).empty(); ++i)
    std::this_thread::sleep_for(10ms);
  std::this_thread::sleep_for(550ms);
  ::kill(pid, SIGKILL);
  finish(pid, dir);
  std::string orphan = TempDir::read(child_pid);
  if (!orphan.empty()) ::kill(std::stoi(orphan), SIGKILL);

  std::string text = TempDir::read(csv);
  ASSERT_FALSE(text.empty());
  ASSERT_EQ(text.back(), '\n') << "no half-written row";
  int rows = count_lines(text) - 1;
  EXPECT_GE(rows, 3);
  EXPECT_LE(rows, 8);
  size_t header_commas = std::count(text.begin(), text.begin() + text.find('\n'), ',');
  std::istringstream lines(text);
  std::string line;
  std::getline(lines, line);
  double previous_duration = 0;
  while (std::getline(lines, line)) {
    // Quoted fields hold commas; count commas outside quotes.
    size_t commas = 0;
    bool quoted = false;
    for (char c : line) {
      if (c == '"') quoted = !quoted;
      if (c == ',' && !quoted) ++commas;
    }
    EXPECT_EQ(commas, header_commas) << line;
    EXPECT_NE(line.find(",interval,"), std::string::npos);
    double duration = std::stod(line.substr(
        line.find(',', line.find(',', line.find(',', line.find(',') + 1) + 1) + 1) + 1));
    EXPECT_GT(duration, previous_duration) << "rows are cumulative";
    previous_duration = duration;
  }
  std::string json = TempDir::read(dir.file("run.jsonl"));
  EXPECT_EQ(count_lines(json), rows);
}

// CPU seconds the tracked tree used, from the summary line of a JSON-lines record file.
double tracked_cpu_s(const std::string& json_lines) {
  size_t summary = json_lines.find("{\"type\":\"summary\"");
  if (summary == std::string::npos) return -1;
  size_t at = json_lines.find("\"tracked_cpu_s\":", summary);
  return std::stod(json_lines.substr(at + 16));
}

TEST(Cli, TracksShortLivedAndOrphanedDescendants) {
  TempDir dir;
  const std::string exe = GREENAI_EXE;
  // Fixed amounts of work, so CPU times do not depend on how loaded the machine is. `unit` is
  // measured alone first; the tree then does 1 + 1 units in children the shell reaps and 8 in an
  // orphan: 10 units if every process is counted, 2 if the orphan were lost. (CPU time for a fixed
  // amount of work still varies when the sibling hyperthread is busy, hence the wide bounds.)
  auto work = [&](int products) {
    return exe + " workload --products " + std::to_string(products) + " >/dev/null";
  };
  Result one = run({"run", "--json", dir.file("one.jsonl"), "--", "sh", "-c", work(40)});
  ASSERT_EQ(one.code, 0) << one.err;
  const double unit = tracked_cpu_s(TempDir::read(dir.file("one.jsonl")));
  ASSERT_GT(unit, 0.02);
  // The root waits until greenai has reaped the orphan (kill -0 still finds a zombie), so the
  // run cannot end before the orphan's CPU time is collected.
  const std::string pid_file = dir.file("orphan.pid");
  std::string script = work(40) + "; " + work(40) + "; (sh -c 'echo $$ > " + pid_file + "; exec " +
                       work(320) + "' &); " + "while [ ! -s " + pid_file +
                       " ]; do sleep 0.02; done; " + "while kill -0 $(cat " + pid_file +
                       ") 2>/dev/null; do sleep 0.02; done";
  Result r =
      run({"run", "--interval", "0.2", "--json", dir.file("tree.jsonl"), "--", "sh", "-c", script});
  ASSERT_EQ(r.code, 0) << r.err;
  std::string text = TempDir::read(dir.file("tree.jsonl"));
  const double tree = tracked_cpu_s(text);
  EXPECT_GT(tree, 5 * unit) << "10 units of work expected, unit " << unit;
  EXPECT_LT(tree, 20 * unit) << "unit " << unit;
  EXPECT_NE(text.find("\"energy_provenance\":\"estimated\""), std::string::npos);
}

TEST(Cli, ScheduleFindsTheCleanestStart) {
  TempDir dir;
  // Hourly, 2022-07-01: dirty at night, clean from 10:00 to 13:00.
  std::string csv = "timestamp,g_per_kwh\n";
  for (int h = 0; h < 24; ++h)
    csv += "2022-07-01T" + std::string(h < 10 ? "0" : "") + std::to_string(h) + ":00:00Z," +
           (h >= 10 && h < 13 ? "100" : "400") + "\n";
  const std::string series = dir.write("grid.csv", csv);
  Result r = run({"schedule", "--intensity-series", series, "--duration", "3h", "--window", "20h",
                  "--now", "2022-07-01T00:00:00Z", "--power", "1kW"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("best start: 2022-07-01T10:00:00Z (10.0 h after"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("mean intensity 100.0 g/kWh, against 400.0 g/kWh starting at once: 75.0 %"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("at 1000 W: 0.3 kg CO2eq instead of 1.2"), std::string::npos) << r.out;
  Result late = run({"schedule", "--intensity-series", series, "--duration", "3h", "--window",
                     "30h", "--now", "2022-07-01T00:00:00Z"});
  EXPECT_EQ(late.code, 2);
  EXPECT_NE(late.err.find("the series does not cover the window"), std::string::npos) << late.err;
  Result bad = run({"schedule", "--intensity-series", series, "--duration", "3 hours"});
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("cannot read duration (--duration=3 hours)"), std::string::npos);
}

// --when-green with the cleanest hours starting now runs at once, and says so.
TEST(Cli, WhenGreenRunsAtOnceWhenNowIsCleanest) {
  TempDir dir;
  const long long hour = std::time(nullptr) / 3600 * 3600;
  std::string csv = "timestamp,g_per_kwh\n";
  for (int h = -1; h < 12; ++h)
    csv += std::to_string(hour + 3600LL * h) + "," + (h == 0 || h == 1 ? "100" : "500") + "\n";
  const std::string series = dir.write("forecast.csv", csv);
  const auto begin = std::chrono::steady_clock::now();
  Result r = run({"run", "--when-green", "--duration", "30m", "--window", "3h",
                  "--intensity-series", series, "--", "true"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(10));
  EXPECT_NE(r.err.find("greenai: when green: starting now, the cleanest start within 3h (100.0 "
                       "g/kWh over 30m)"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("  when green: ran at 100.0 g/kWh"), std::string::npos) << r.err;
  Result missing = run({"run", "--when-green", "--intensity-series", series, "--", "true"});
  EXPECT_EQ(missing.code, 2);
  EXPECT_NE(missing.err.find("--when-green needs --duration"), std::string::npos);
}

TEST(Cli, ForecastComparesTheBaselines) {
  TempDir dir;
  // Four weeks of hourly values with a daily cycle: the daily seasonal naive forecast is exact.
  std::string csv = "timestamp,load\n";
  for (int t = 0; t < 28 * 24; ++t)
    csv += std::to_string(946684800 + 3600 * t) + "," + std::to_string(100 + (t % 24) * 5) + "\n";
  const std::string series = dir.write("load.csv", csv);
  Result r = run({"forecast", series, "--out", dir.file("f.csv"), "--svg", dir.file("f.svg"),
                  "--lstm-epochs", "2", "--lstm-hidden", "8"});
  ASSERT_EQ(r.code, 0) << r.err;
#ifdef GREENAI_NO_TORCH
  EXPECT_NE(r.out.find("skipped lstm: this greenai was built without LibTorch"), std::string::npos)
      << r.out;
#else
  EXPECT_NE(r.out.find("\nlstm "), std::string::npos) << r.out;
#endif
  EXPECT_NE(r.out.find("energy of fitting and forecasting each model: estimated"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("672 values every 3600 s; trained on 336, 14 origins every 24 steps"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("seasonal-naive-24        0.00"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("holt-winters"), std::string::npos);
  EXPECT_EQ(TempDir::read(dir.file("f.csv")).rfind("origin,step,timestamp,actual,naive,", 0), 0u);
  const std::string chart = TempDir::read(dir.file("f.svg"));
  EXPECT_EQ(chart.rfind("<svg class=\"chart lines\"", 0), 0u);
  EXPECT_GE(std::count(chart.begin(), chart.end(), '\n'), 5);
  EXPECT_NE(chart.find(">holt-winters</text>"), std::string::npos);
  const std::string gap = dir.write("gap.csv", "timestamp,load\n0,1\n3600,2\n10800,3\n");
  Result bad = run({"forecast", gap});
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("line 4: gap: 7200"), std::string::npos) << bad.err;
}

// The Carbon Aware SDK's forecast JSON is read as it comes.
TEST(Cli, ScheduleReadsCarbonAwareSdkForecast) {
  TempDir dir;
  std::string points;
  for (int h = 0; h < 6; ++h)
    points += std::string(h ? "," : "") + "{\"location\":\"westus\",\"timestamp\":\"2022-07-01T0" +
              std::to_string(h) + ":00:00Z\",\"duration\":60,\"value\":" + (h == 3 ? "50" : "300") +
              "}";
  const std::string json =
      dir.write("forecast.json", "[{\"location\":\"westus\",\"forecastData\":[" + points + "]}]");
  Result r = run({"schedule", "--intensity-series", json, "--duration", "1h", "--window", "6h",
                  "--now", "2022-07-01T00:00:00Z"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("best start: 2022-07-01T03:00:00Z"), std::string::npos) << r.out;
  const std::string broken = dir.write("broken.json", "[{\"forecastData\": [{\"value\": 1}]}]");
  Result bad = run({"schedule", "--intensity-series", broken, "--duration", "1h"});
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("point 0: needs a timestamp and a numeric value"), std::string::npos)
      << bad.err;
}

// Hourly history with the same clean hours every day: yesterday's values forecast today's
// exactly, so scheduling on the daily seasonal naive forecast is as good as perfect foresight.
std::string daily_history(TempDir& dir, int days, const std::string& missing_line = "") {
  std::string csv = "timestamp,WND,avg_CI\n";
  for (int t = 0; t < days * 24; ++t) {
    const int hour = t % 24;
    const std::string line = std::to_string(1656633600 + 3600 * t) + ",1," +
                             std::to_string(hour >= 10 && hour < 14 ? 100 + hour : 400 + hour);
    csv += (line.substr(0, 10) == missing_line ? line.substr(0, 13) : line) + "\n";
  }
  return dir.write("history.csv", csv);
}

TEST(Cli, ScheduleOnAForecastFromHistory) {
  TempDir dir;
  const std::string history = daily_history(dir, 4);
  Result r = run({"schedule", "--intensity-series", history, "--column", "avg_CI", "--forecaster",
                  "seasonal-naive-24", "--duration", "2h", "--window", "24h", "--now",
                  "2022-07-03T00:00:00Z", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("\"forecaster\": \"seasonal-naive-24\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"start\": \"2022-07-03T10:00:00Z\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"perfect_mean_g_per_kwh\": 110.5"), std::string::npos) << r.out;
  Result early =
      run({"schedule", "--intensity-series", history, "--column", "avg_CI", "--forecaster",
           "holt-winters", "--duration", "2h", "--now", "2022-06-01T00:00:00Z"});
  EXPECT_EQ(early.code, 2);
  EXPECT_NE(early.err.find("--now must fall after the history's first value"), std::string::npos)
      << early.err;
}

TEST(Cli, ScheduleReplayMeasuresWhatForecastsCapture) {
  TempDir dir;
  // One hour of the fifth day is missing: refused, then interpolated with --fill-gaps.
  const std::string history = daily_history(dir, 8, std::to_string(1656633600 + 3600 * 100));
  const std::vector<std::string> replay{"schedule",      "--replay", "--intensity-series", history,
                                        "--column",      "avg_CI",   "--durations",        "1h,3h",
                                        "--window",      "12h",      "--warm-up",          "3d",
                                        "--refit-every", "1d",       "--forecaster"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = replay;
    args.insert(args.end(), extra.begin(), extra.end());
    return run(args);
  };
  Result refused = with({"seasonal-naive-24"});
  EXPECT_EQ(refused.code, 2);
  EXPECT_NE(refused.err.find("line 102: missing value"), std::string::npos) << refused.err;
  Result r = with({"seasonal-naive-24", "--fill-gaps", "2", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("\"filled\": [\n    \"2022-07-05T04:00:00Z\""), std::string::npos) << r.out;
  // 5 days less 11 h at the end = 109 arrivals; the 12 whose window holds 04:00 are not scored.
  EXPECT_NE(r.out.find("\"arrivals\": 97,\n  \"unscored_arrivals\": 12"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("\"captured\": 1,"), std::string::npos) << r.out;
  Result naive = with({"naive", "--fill-gaps", "2"});
  ASSERT_EQ(naive.code, 0) << naive.err;
  EXPECT_NE(naive.out.find("perfect foresight saves"), std::string::npos) << naive.out;
  // A flat forecast starts every job at once: no saving captured.
  EXPECT_NE(naive.out.find("naive                      "), std::string::npos) << naive.out;
  EXPECT_NE(naive.out.find("0.0%       0.0%"), std::string::npos) << naive.out;
  Result stray = with({"naive", "--fill-gaps", "2", "--duration", "3h"});
  EXPECT_EQ(stray.code, 2);
  EXPECT_NE(stray.err.find("--duration is not for --replay"), std::string::npos) << stray.err;
  Result odd = with({"naive", "--fill-gaps", "2", "--durations", "90m"});
  EXPECT_EQ(odd.code, 2);
  EXPECT_NE(odd.err.find("not a whole number of the series' 3600"), std::string::npos) << odd.err;
}

TEST(Cli, ServesPrometheusWhileRunning) {
  TempDir dir;
  // Find a free port, then let greenai bind it.
  int probe = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(probe, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  ::getsockname(probe, reinterpret_cast<sockaddr*>(&address), &length);
  int port = ntohs(address.sin_port);
  ::close(probe);
  pid_t pid = start({"run", "--interval", "0.1", "--prometheus",
                     "127.0.0.1:" + std::to_string(port), "--", "sleep", "1"},
                    dir);
  std::string response;
  for (int attempt = 0; attempt < 50 && response.find("scope=\"workload\"") == std::string::npos;
       ++attempt) {
    std::this_thread::sleep_for(50ms);
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
      const char* request = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
      [[maybe_unused]] ssize_t n = ::send(fd, request, std::strlen(request), 0);
      char buffer[8192];
      response.clear();
      for (ssize_t got; (got = ::recv(fd, buffer, sizeof buffer, 0)) > 0;)
        response.append(buffer, got);
    }
    ::close(fd);
  }
  Result r = finish(pid, dir);
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(response.find("greenai_energy_joules_total{"), std::string::npos) << response;
  EXPECT_NE(response.find("provenance=\"estimated\",sensor=\"estimator\""), std::string::npos);
}

}  // namespace

#ifndef GREENAI_NO_TORCH
namespace {

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream text;
  text << f.rdbuf();
  return text.str();
}

// Data-parallel training: two local ranks over c10d's Gloo group, each on half the slice; rank
// 0 writes the checkpoint with both ranks' energy, and the weights were checked identical.
TEST(CliTraining, TrainsDataParallelOverTwoRanks) {
  TempDir dir;
  const std::string out = dir.file("dp.pt");
  Result r =
      run({"train", "--model", "student", "--epochs", "1", "--limit-train", "600", "--limit-test",
           "300", "--threads", "1", "--world-size", "2", "--out", out, "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  const greenai::util::Json j = greenai::util::Json::parse(r.out);
  const greenai::util::Json& dp = j.at("data_parallel");
  EXPECT_EQ(dp.at("world_size").number(), 2);
  EXPECT_TRUE(dp.at("weights_identical").boolean());
  ASSERT_EQ(dp.at("ranks").items().size(), 2u);
  double total = 0;
  for (const auto& rank : dp.at("ranks").items()) {
    EXPECT_EQ(rank.at("examples").number(), 300);
    EXPECT_GT(rank.at("energy_j").number(), 0);
    total += rank.at("energy_j").number();
  }
  EXPECT_NEAR(dp.at("total_energy_j").number(), total, 1e-9 * total);
  EXPECT_TRUE(std::filesystem::exists(out));
  ::setenv("RANK", "0", 1);
  ::setenv("WORLD_SIZE", "2", 1);
  Result mismatch = run({"train", "--model", "student", "--world-size", "3"});
  ::unsetenv("RANK");
  ::unsetenv("WORLD_SIZE");
  EXPECT_EQ(mismatch.code, 2);
  EXPECT_NE(mismatch.err.find("differs from WORLD_SIZE=2"), std::string::npos) << mismatch.err;
}

// Federated learning from the command line: clients on two grids given as series files.
TEST(CliTraining, FederatedLearningReportsAccuracyAndEmissions) {
  TempDir dir;
  std::string a = "timestamp,g_per_kwh\n", b = a;
  for (int h = 0; h < 200; ++h) {
    const std::string t = std::to_string(1640995200 + 3600 * h);
    a += t + "," + (h % 24 < 12 ? "100" : "400") + "\n";
    b += t + ",300\n";
  }
  dir.write("a.csv", a);
  dir.write("b.csv", b);
  Result r = run({"fl", "--intensity-series", dir.file("a.csv") + "," + dir.file("b.csv"),
                  "--clients", "4", "--per-round", "2", "--rounds", "2", "--limit-train", "600",
                  "--limit-test", "200", "--threads", "1", "--json", "--svg", dir.file("fl.svg")});
  ASSERT_EQ(r.code, 0) << r.err;
  const greenai::util::Json j = greenai::util::Json::parse(r.out);
  EXPECT_GT(j.at("accuracy").number(), 0.1);
  EXPECT_GT(j.at("emissions_kg").number(), 0);
  EXPECT_EQ(j.at("selection").string(), "carbon-aware");
  EXPECT_EQ(j.at("rounds").items().size(), 2u);
  EXPECT_NE(j.at("provenance").string().find("estimated"), std::string::npos) << r.out;
  EXPECT_TRUE(std::filesystem::exists(dir.file("fl.svg")));
  EXPECT_EQ(j.at("transport").string(), "in-process");
  // The same run with each client its own process over c10d's store: the same global models.
  Result processes = run({"fl", "--intensity-series", dir.file("a.csv") + "," + dir.file("b.csv"),
                          "--clients", "4", "--per-round", "2", "--rounds", "2", "--limit-train",
                          "600", "--limit-test", "200", "--threads", "1", "--json", "--processes"});
  ASSERT_EQ(processes.code, 0) << processes.err;
  const greenai::util::Json p = greenai::util::Json::parse(processes.out);
  EXPECT_EQ(p.at("transport").string(), "c10d store, local client processes");
  EXPECT_EQ(p.at("accuracy").number(), j.at("accuracy").number());
  EXPECT_TRUE(p.at("notes").items().empty()) << processes.out;
  Result both =
      run({"fl", "--intensity-series", dir.file("a.csv"), "--processes", "--listen", "29999"});
  EXPECT_EQ(both.code, 2);
  Result client = run({"fl", "client", "--server", "nowhere", "--client", "0"});
  EXPECT_EQ(client.code, 2);
  EXPECT_NE(client.err.find("HOST:PORT"), std::string::npos) << client.err;
  Result bad = run({"fl", "--intensity-series", dir.file("a.csv"), "--selection", "greedy"});
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("use random or carbon-aware"), std::string::npos) << bad.err;
}

// The training commands end to end, on slices small enough for a test.
TEST(CliTraining, TrainEvalDistillPruneOnASlice) {
  TempDir dir;
  const std::vector<std::string> slice = {"--limit-train", "600",       "--limit-test",
                                          "300",           "--threads", "1"};
  auto with_slice = [&](std::vector<std::string> args) {
    args.insert(args.end(), slice.begin(), slice.end());
    return args;
  };
  const std::string teacher = dir.file("t.pt"), student = dir.file("s.pt"),
                    pruned = dir.file("p.pt");
  Result train = run(with_slice({"train", "--model", "student", "--hidden", "64", "--epochs", "2",
                                 "--seed", "3", "--out", teacher, "--json"}));
  ASSERT_EQ(train.code, 0) << train.err;
  EXPECT_NE(train.out.find("\"command\": \"train\""), std::string::npos) << train.out;
  EXPECT_NE(train.out.find("\"energy\": \"estimated\""), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(teacher + ".json"));

  Result eval = run(with_slice({"eval", teacher}));
  ASSERT_EQ(eval.code, 0) << eval.err;
  EXPECT_NE(eval.out.find("test accuracy"), std::string::npos);
  EXPECT_NE(eval.out.find("1,000 inferences:"), std::string::npos);
  EXPECT_NE(eval.out.find("(estimated)"), std::string::npos);

  Result distill = run(with_slice(
      {"distill", "--teacher", teacher, "--hidden", "8", "--epochs", "1", "--out", student}));
  ASSERT_EQ(distill.code, 0) << distill.err;
  EXPECT_NE(distill.out.find("student 784-8-10 distilled (T=1, alpha=0.9)"), std::string::npos)
      << distill.out;

  // Distillation and pruning data-parallel: two ranks, each on its shard (the teacher's logits of
  // its own half), rank 0 reporting both.
  for (const std::vector<std::string>& command :
       {std::vector<std::string>{"distill", "--teacher", teacher, "--hidden", "8", "--epochs", "1"},
        std::vector<std::string>{"prune", teacher, "--sparsity", "0.5", "--finetune-epochs",
                                 "1"}}) {
    std::vector<std::string> args = with_slice(command);
    args.insert(args.end(), {"--world-size", "2", "--out", dir.file("dp.pt"), "--json"});
    Result parallel = run(args);
    ASSERT_EQ(parallel.code, 0) << command[0] << ": " << parallel.err;
    const greenai::util::Json dp = greenai::util::Json::parse(parallel.out).at("data_parallel");
    EXPECT_TRUE(dp.at("weights_identical").boolean()) << command[0];
    ASSERT_EQ(dp.at("ranks").items().size(), 2u);
    EXPECT_EQ(dp.at("ranks").items()[1].at("examples").number(), 300) << command[0];
  }

  const std::string edge_file = dir.file("t.edge");
  Result quantize =
      run(with_slice({"quantize", teacher, "--calibration", "200", "--out", edge_file}));
  ASSERT_EQ(quantize.code, 0) << quantize.err;
  EXPECT_NE(quantize.out.find("int8 edge model"), std::string::npos) << quantize.out;
  Result eval_edge = run(with_slice({"eval", edge_file, "--json"}));
  ASSERT_EQ(eval_edge.code, 0) << eval_edge.err;
  EXPECT_NE(eval_edge.out.find("\"runtime\": \"greenai edge ("), std::string::npos)
      << eval_edge.out;

  Result prune = run(with_slice({"prune", teacher, "--sparsity", "0.5", "--structured",
                                 "--finetune-epochs", "1", "--out", pruned}));
  ASSERT_EQ(prune.code, 0) << prune.err;
  EXPECT_NE(prune.out.find("structured pruning of 784-64-10 -> 784-32-10"), std::string::npos)
      << prune.out;
}

// Deployment: export to edge and ONNX, evaluate both through the edge runtime, bench them.
TEST(CliTraining, ExportEvalAndBenchEdgeAndOnnx) {
  TempDir dir;
  const std::vector<std::string> slice = {"--limit-train", "400",       "--limit-test",
                                          "200",           "--threads", "1"};
  auto with_slice = [&](std::vector<std::string> args) {
    args.insert(args.end(), slice.begin(), slice.end());
    return args;
  };
  const std::string model = dir.file("m.pt");
  ASSERT_EQ(run(with_slice({"train", "--model", "student", "--epochs", "1", "--out", model})).code,
            0);
  const std::string onnx = dir.file("m.onnx"), edge_file = dir.file("m.edge"),
                    dynamic = dir.file("d.edge");
  Result to_onnx = run(
      with_slice({"export", model, "--precision", "int8", "--calibration", "100", "--out", onnx}));
  ASSERT_EQ(to_onnx.code, 0) << to_onnx.err;
  EXPECT_NE(to_onnx.out.find("int8 onnx model"), std::string::npos) << to_onnx.out;
  EXPECT_NE(to_onnx.out.find("passes the ONNX checker"), std::string::npos);
  Result to_edge = run(with_slice({"quantize", model, "--calibration", "100", "--out", edge_file}));
  ASSERT_EQ(to_edge.code, 0) << to_edge.err;
  Result to_dynamic = run({"quantize", model, "--precision", "dynamic", "--out", dynamic});
  ASSERT_EQ(to_dynamic.code, 0) << to_dynamic.err;
  EXPECT_NE(to_dynamic.out.find("dynamic edge model"), std::string::npos) << to_dynamic.out;

  // The ONNX file and the edge file hold the same int8 model: the same predictions.
  const std::string p_onnx = dir.file("onnx.txt"), p_edge = dir.file("edge.txt");
  Result eval_onnx = run(with_slice({"eval", onnx, "--predictions", p_onnx, "--json"}));
  ASSERT_EQ(eval_onnx.code, 0) << eval_onnx.err;
  EXPECT_NE(eval_onnx.out.find("\"format\": \"onnx\""), std::string::npos) << eval_onnx.out;
  ASSERT_EQ(run(with_slice({"eval", edge_file, "--predictions", p_edge})).code, 0);
  const std::string predictions = read_file(p_onnx);
  EXPECT_EQ(std::count(predictions.begin(), predictions.end(), '\n'), 200);
  EXPECT_EQ(predictions, read_file(p_edge));
  EXPECT_EQ(run(with_slice({"eval", dynamic})).code, 0);

  // Edge -> ONNX without the checkpoint.
  Result reexport = run({"export", edge_file, "--format", "onnx", "--out", dir.file("e.onnx")});
  EXPECT_EQ(reexport.code, 0) << reexport.err;

  Result bench = run({"bench", onnx, dynamic, model, "--batch", "1,4", "--seconds", "0.05"});
  ASSERT_EQ(bench.code, 0) << bench.err;
  EXPECT_NE(bench.out.find(" (onnx)"), std::string::npos) << bench.out;
  EXPECT_NE(bench.out.find("libtorch fp32 x1"), std::string::npos) << bench.out;
  EXPECT_NE(bench.out.find("energy: estimated"), std::string::npos) << bench.out;
  EXPECT_NE(bench.out.find("hardware: "), std::string::npos) << bench.out;
  EXPECT_EQ(std::count(bench.out.begin(), bench.out.end(), '\n'), 1 + 6 + 2) << bench.out;

  Result bad_batch = run({"bench", onnx, "--batch", "0"});
  EXPECT_EQ(bad_batch.code, 2);

  // Tuning the checkpoint with the int8 edge file as a variant: 2 batch sizes each, one thread;
  // the recommendation written, then benchmarked from the file.
  const std::string tuned = dir.file("tuned.json");
  Result tune = run({"tune", model, "--variants", edge_file, "--batches", "1,4", "--threads", "1",
                     "--window", "0.02", "--rounds", "2", "--no-bf16", "--max-p99-ratio", "2",
                     "--write", tuned, "--json"});
  ASSERT_EQ(tune.code, 0) << tune.err;
  const greenai::util::Json t = greenai::util::Json::parse(tune.out);
  EXPECT_EQ(t.at("rows").items().size(), 4u) << tune.out;
  EXPECT_EQ(t.at("default").at("threads").number(), 1);
  EXPECT_EQ(t.at("default").at("batch").number(), 1);
  EXPECT_EQ(t.at("default").at("precision").string(), "fp32");
  ASSERT_TRUE(t.at("recommended").is_object()) << tune.out;
  EXPECT_EQ(t.at("provenance").at("energy").string().rfind("estimated", 0), 0u) << tune.out;
  EXPECT_EQ(greenai::util::Json::parse(read_file(tuned)).dump(), t.at("recommended").dump());
  Result from_config = run({"bench", "--config", tuned, "--seconds", "0.05"});
  ASSERT_EQ(from_config.code, 0) << from_config.err;
  EXPECT_EQ(std::count(from_config.out.begin(), from_config.out.end(), '\n'), 1 + 1 + 2)
      << from_config.out;
  Result config_and_model = run({"bench", model, "--config", tuned});
  EXPECT_EQ(config_and_model.code, 2);
  Result replay_flag = run({"tune", model, "--gpu", "v100"});
  EXPECT_EQ(replay_flag.code, 2);
  EXPECT_NE(replay_flag.err.find("--gpu is for --replay"), std::string::npos) << replay_flag.err;
  // The thread count profiled over a training run's first steps: the trainer reports each step
  // with greenai_step() and applies the count asked of it.
  Result knob = run({"tune",
                     "--knob",
                     "threads",
                     "--values",
                     "2,1",
                     "--warmup-steps",
                     "1",
                     "--steps-per-value",
                     "2",
                     "--no-cache",
                     "--json",
                     "--",
                     GREENAI_EXE,
                     "train",
                     "--model",
                     "student",
                     "--epochs",
                     "1",
                     "--limit-train",
                     "800",
                     "--limit-test",
                     "100",
                     "--batch",
                     "50",
                     "--out",
                     dir.file("k.pt")});
  ASSERT_EQ(knob.code, 0) << knob.err;
  const std::string knob_json = knob.out.substr(knob.out.rfind("\n{") + 1);
  const greenai::util::Json k = greenai::util::Json::parse(knob_json);
  EXPECT_EQ(k.at("steps").number(), 16) << knob_json;  // 800 / 50
  EXPECT_EQ(k.at("profiling_steps").number(), 2 * (1 + 2));
  EXPECT_EQ(k.at("profile").items().size(), 2u);
  EXPECT_TRUE(k.at("chosen").number() == 1 || k.at("chosen").number() == 2) << knob_json;
  Result no_command = run({"tune", "--knob", "threads"});
  EXPECT_EQ(no_command.code, 2);
  EXPECT_NE(no_command.err.find("give it after --"), std::string::npos) << no_command.err;
  Result bad_knob = run({"tune", "--knob", "voltage", "--", "true"});
  EXPECT_EQ(bad_knob.code, 2);
  EXPECT_NE(bad_knob.err.find("no such knob"), std::string::npos) << bad_knob.err;
  Result bad_objective = run({"tune", model, "--objective", "speed"});
  EXPECT_EQ(bad_objective.code, 2);
  EXPECT_NE(bad_objective.err.find("use energy, edp, or cost:ETA"), std::string::npos)
      << bad_objective.err;
  Result onnx_dynamic =
      run({"export", model, "--precision", "dynamic", "--format", "onnx", "--out", onnx});
  EXPECT_EQ(onnx_dynamic.code, 2);
  EXPECT_NE(onnx_dynamic.err.find("dynamic quantization is written to the edge format only"),
            std::string::npos)
      << onnx_dynamic.err;
  std::string garbage = dir.write("g.onnx", std::string("\x08\x07garbage"));
  Result bad_onnx = run({"eval", garbage});
  EXPECT_EQ(bad_onnx.code, 2);
  EXPECT_NE(bad_onnx.err.find("cannot import ONNX model"), std::string::npos) << bad_onnx.err;
}

// A precision probe as `greenai hardware --json` writes it, for GREENAI_PRECISION_PROBE: the
// decision of a CPU with fast bf16 (2x) or of an AVX2-only one (55x slower), on any machine.
std::string probe_file(const TempDir& dir, double bf16_step_s) {
  return dir.write("probe-" + std::to_string(bf16_step_s) + ".json",
                   "{\"fp32_step_s\": 0.002, \"bf16_step_s\": " + std::to_string(bf16_step_s) +
                       ", \"bf16_error\": \"\", \"fp16_error\": \"no fp16 on CPU\", "
                       "\"torch_version\": \"1.13.0\", \"threads\": 2, \"fp32_steps\": 7, "
                       "\"bf16_steps\": 7, "
                       "\"source\": \"measured\"}\n");
}

// GREENAI_PRECISION_PROBE for the life of the object.
class GivenProbe {
 public:
  explicit GivenProbe(const std::string& file) {
    ::setenv("GREENAI_PRECISION_PROBE", file.c_str(), 1);
  }
  ~GivenProbe() { ::unsetenv("GREENAI_PRECISION_PROBE"); }
};

// The pipeline end to end on a few hundred examples, on a CPU whose bf16 is fast: every stage,
// the results and the report; a second run is all cache; --fresh redoes it.
TEST(CliPipeline, RunsEveryStageThenReusesThem) {
  TempDir dir;
  GivenProbe fast_bf16(probe_file(dir, 0.001));
  const std::string out = dir.file("p");
  const std::vector<std::string> args = {"pipeline",     "--quick", "--limit-train", "400",
                                         "--limit-test", "200",     "--out",         out};
  Result first = run(args);
  ASSERT_EQ(first.code, 0) << first.err;
  EXPECT_NE(first.out.find("teacher-int8"), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("energy: estimated"), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("the least energy per inference: "), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("hardware: "), std::string::npos) << first.out;
  EXPECT_NE(first.err.find("[ 1/..] probe the hardware"), std::string::npos) << first.err;
  EXPECT_NE(first.err.find("[16/16] benchmark every variant"), std::string::npos) << first.err;
  const std::string results = read_file(out + "/results.json");
  EXPECT_NE(results.find("\"schema\": \"greenai.pipeline/1\""), std::string::npos);
  for (const char* name : {"teacher", "teacher-bf16", "student", "pruned", "teacher-int8",
                           "pruned-int8", "student-int8"})
    EXPECT_NE(results.find("\"name\": \"" + std::string(name) + "\""), std::string::npos) << name;
  EXPECT_NE(results.find("\"cpu_model\": "), std::string::npos);
  EXPECT_NE(results.find("\"edge_kernels\": "), std::string::npos);
  EXPECT_NE(results.find("\"skipped\": []"), std::string::npos);
  const std::string page = read_file(out + "/report.html");
  EXPECT_EQ(page.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(page.find("<svg class=\"chart pareto\""), std::string::npos);
  EXPECT_NE(page.find("Measured on <b>"), std::string::npos);

  Result second = run(args);
  ASSERT_EQ(second.code, 0) << second.err;
  size_t cached = 0;
  for (size_t at = second.err.find(" cached ("); at != std::string::npos;
       at = second.err.find(" cached (", at + 1))
    ++cached;
  EXPECT_EQ(cached, 16u) << second.err;

  // A stricter budget can only name a variant at least as accurate.
  Result strict = run({"pipeline", "--quick", "--limit-train", "400", "--limit-test", "200",
                       "--out", out, "--budget-accuracy-drop", "0", "--json"});
  ASSERT_EQ(strict.code, 0) << strict.err;
  EXPECT_NE(strict.out.find("\"budget_points\": 0"), std::string::npos) << strict.out;

  Result bad = run({"pipeline", "--budget-accuracy-drop", "-1", "--out", out});
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("--budget-accuracy-drop must be in [0, 100]"), std::string::npos);
}

// On a CPU whose bf16 is slower than fp32 the bf16 teacher is not made: the table, results.json
// and the report say so, with the measured ratio, and every other variant is there.
TEST(CliPipeline, SkipsTheBf16TeacherWhereBf16IsSlower) {
  TempDir dir;
  GivenProbe slow_bf16(probe_file(dir, 0.110));
  const std::string out = dir.file("p");
  Result r =
      run({"pipeline", "--quick", "--limit-train", "300", "--limit-test", "100", "--out", out});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("[14/14] benchmark every variant"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("train the teacher (bf16"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("teacher-bf16   skipped: bf16 autocast measured 55.0x slower than fp32"),
            std::string::npos)
      << r.out;
  const std::string results = read_file(out + "/results.json");
  EXPECT_EQ(results.find("\"name\": \"teacher-bf16\",\n      \"technique\": \"bf16 mixed-precision "
                         "training\",\n      \"runtime\""),
            std::string::npos);
  EXPECT_NE(results.find("\"reason\": \"bf16 autocast measured 55.0x slower than fp32"),
            std::string::npos)
      << results;
  for (const char* name :
       {"teacher", "student", "pruned", "teacher-int8", "pruned-int8", "student-int8"})
    EXPECT_NE(results.find("\"name\": \"" + std::string(name) + "\""), std::string::npos) << name;
  const std::string page = read_file(out + "/report.html");
  EXPECT_NE(page.find("<b>teacher-bf16</b> (bf16 mixed-precision training) was not made: bf16 "
                      "autocast measured 55.0x slower"),
            std::string::npos);
}

// The processes whose command line mentions `text` (a folder only this test uses).
std::vector<std::string> processes_mentioning(const std::string& text) {
  std::vector<std::string> found;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream f(entry.path() / "cmdline");
    std::string cmdline((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    if (cmdline.find(text) != std::string::npos) found.push_back(name + ": " + cmdline);
  }
  return found;
}

// SIGTERM or SIGINT to the pipeline alone, while a stage trains: the stage gets it too, the
// pipeline waits for it and exits 128+N, no process of its tree is left, and a rerun reuses the
// stage before.
TEST(CliPipeline, ASignalStopsTheRunningStageAndLeavesNoProcess) {
  TempDir dir;
  GivenProbe slow_bf16(probe_file(dir, 0.110));
  const std::string out = dir.file("p");
  // Enough training data that the teacher's stage runs for many seconds if nothing stops it.
  const std::vector<std::string> args = {"pipeline",     "--quick", "--limit-train", "30000",
                                         "--limit-test", "100",     "--out",         out};
  for (int signal : {SIGTERM, SIGINT}) {
    TempDir logs;
    const pid_t pid = start(args, logs);
    // Wait until the teacher's training has started (its folder has a log).
    bool training = false;
    for (int i = 0; i < 600 && !training; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      std::error_code ec;  // the folder appears with the first stage
      for (std::filesystem::directory_iterator it(out + "/stages", ec), end; !ec && it != end;
           it.increment(ec))
        training |= it->path().filename().string().rfind("teacher-", 0) == 0 &&
                    std::filesystem::exists(it->path() / "log.txt");
    }
    ASSERT_TRUE(training);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    EXPECT_FALSE(processes_mentioning(out + "/stages/teacher-").empty());
    ::kill(pid, signal);
    const auto begin = std::chrono::steady_clock::now();
    Result r = finish(pid, logs);
    EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(3));
    EXPECT_EQ(r.code, 128 + signal) << r.err;
    EXPECT_NE(r.err.find("pipeline stopped by signal " + std::to_string(signal)), std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("in stage teacher"), std::string::npos) << r.err;
    EXPECT_EQ(processes_mentioning(out + "/"), std::vector<std::string>{});
    // The probe stage finished before the signal: the second run took it from the cache.
    if (signal == SIGINT) {
      const std::string first_line = r.err.substr(0, r.err.find('\n'));
      EXPECT_NE(first_line.find("probe the hardware"), std::string::npos) << r.err;
      EXPECT_NE(first_line.find(" cached ("), std::string::npos) << r.err;
    }
  }
}

// --precision auto takes what the probe found faster; an explicit bf16 where it is slower runs
// with one warning that gives the ratio; a probe file that cannot be read is one line, exit 2.
TEST(CliTraining, PrecisionAutoFollowsTheProbe) {
  TempDir dir;
  const std::vector<std::string> train = {"train", "--model",       "student", "--epochs",
                                          "1",     "--limit-train", "256",     "--limit-test",
                                          "64",    "--json"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> a = train;
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  {
    GivenProbe slow(probe_file(dir, 0.110));
    Result r = run(with({"--precision", "auto", "--out", dir.file("a.pt")}));
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.err.find("--precision auto: training in fp32 (bf16 autocast measured 55.0x slower"),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.out.find("\"precision\": \"fp32\""), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\"requested\": \"auto\""), std::string::npos) << r.out;
    Result forced = run(with({"--precision", "bf16", "--out", dir.file("b.pt")}));
    ASSERT_EQ(forced.code, 0) << forced.err;
    EXPECT_NE(forced.err.find("greenai: warning: bf16 autocast measured 55.0x slower than fp32"),
              std::string::npos)
        << forced.err;
    EXPECT_NE(forced.out.find("\"precision\": \"bf16\""), std::string::npos);
  }
  {
    GivenProbe fast(probe_file(dir, 0.001));
    Result r = run(with({"--precision", "auto", "--out", dir.file("c.pt")}));
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.err.find("--precision auto: training in bf16 (bf16 autocast measured 2.00x faster"),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.out.find("\"precision\": \"bf16\""), std::string::npos) << r.out;
    Result forced = run(with({"--precision", "bf16", "--out", dir.file("d.pt")}));
    EXPECT_EQ(forced.err.find("warning"), std::string::npos) << forced.err;
  }
  {
    GivenProbe missing(dir.file("no-such-probe.json"));
    Result r = run(with({"--precision", "auto", "--out", dir.file("e.pt")}));
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.err.find("greenai: cannot read precision probe (GREENAI_PRECISION_PROBE="),
              std::string::npos)
        << r.err;
  }
}

TEST(CliHardware, SaysTheCpuTheKernelsAndThePrecisionDecision) {
  TempDir dir;
  GivenProbe slow(probe_file(dir, 0.110));
  Result text = run({"hardware"});
  ASSERT_EQ(text.code, 0) << text.err;
  for (const char* line : {"cpu:", "features:", "edge kernels:", "training:", "precision:"})
    EXPECT_NE(text.out.find(line), std::string::npos) << line << "\n" << text.out;
  EXPECT_NE(text.out.find("--precision auto trains in fp32"), std::string::npos) << text.out;
  Result json = run({"hardware", "--json"});
  ASSERT_EQ(json.code, 0) << json.err;
  const greenai::util::Json parsed = greenai::util::Json::parse(json.out);
  EXPECT_FALSE(parsed.at("hardware").at("edge_kernels").string().empty());
  EXPECT_FALSE(parsed.at("precision_advice").at("bf16_accelerated").boolean());
  ::setenv("GREENAI_EDGE_KERNELS", "reference", 1);
  Result forced = run({"hardware", "--json"});
  ::unsetenv("GREENAI_EDGE_KERNELS");
  EXPECT_EQ(greenai::util::Json::parse(forced.out).at("hardware").at("edge_kernels").string(),
            "reference");
  Result bad = run({"hardware", "--frobnicate"});
  EXPECT_EQ(bad.code, 2);
}

TEST(CliTraining, BadInputIsOneLineAndExitTwo) {
  TempDir dir;
  Result fp16 = run({"train", "--precision", "fp16", "--out", dir.file("x.pt")});
  EXPECT_EQ(fp16.code, 2);
  EXPECT_EQ(fp16.err.substr(0, fp16.err.find('\n')),
            "greenai: cannot train in fp16 on CPU (--precision=fp16): LibTorch 1.13 has no CPU "
            "kernels for fp16 "
            "matrix products or for loss scaling");
  Result model = run({"train", "--model", "giant"});
  EXPECT_EQ(model.code, 2);
  EXPECT_EQ(model.err.substr(0, model.err.find('\n')),
            "greenai: cannot build model (--model=giant): unknown model");
  Result missing = run({"eval", dir.file("none.pt")});
  EXPECT_EQ(missing.code, 2);
  EXPECT_EQ(missing.err,
            "greenai: cannot load checkpoint (path=" + dir.file("none.pt") + "): no such file\n");
  std::string fake = dir.write("fake.pt", "not a checkpoint");
  Result orphan = run({"eval", fake});
  EXPECT_EQ(orphan.code, 2);
  EXPECT_NE(orphan.err.find("its metadata " + fake + ".json is missing"), std::string::npos);
  Result data = run({"train", "--data", "/nonexistent", "--out", dir.file("y.pt")});
  EXPECT_EQ(data.code, 2);
  EXPECT_NE(
      data.err.find("hint: install the data set with `sudo apt-get install dataset-fashion-mnist`"),
      std::string::npos)
      << data.err;
}

}  // namespace
TEST(CliRl, TrainsEvaluatesAndSweepsQLearning) {
  TempDir dir;
  const std::string agent = dir.file("q.json");
  Result r = run({"rl", "train", "--agent", "q", "--episodes", "3000", "--out", agent, "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("\"solved\": true"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"energy\": \"estimated\""), std::string::npos) << r.out;
  Result e = run({"rl", "eval", agent, "--episodes", "20"});
  ASSERT_EQ(e.code, 0) << e.err;
  EXPECT_NE(e.out.find("q: mean return 500.0 over 20 episodes (solved)"), std::string::npos)
      << e.out;
  EXPECT_NE(e.out.find("J per decision"), std::string::npos) << e.out;
  EXPECT_NE(e.out.find("training (as recorded): "), std::string::npos) << e.out;
  Result sweep = run({"rl", "sweep", "--agent", "q", "--episodes", "3000", "--penalties", "0,2",
                      "--svg", dir.file("sweep.svg")});
  ASSERT_EQ(sweep.code, 0) << sweep.err;
  EXPECT_NE(sweep.out.find("penalty   return   steps"), std::string::npos) << sweep.out;
  EXPECT_NE(TempDir::read(dir.file("sweep.svg")).find(">L=2</text>"), std::string::npos);
  const std::string junk = dir.write("junk.json", "{\"format\": \"something else\"}");
  Result bad = run({"rl", "eval", junk});
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("cannot read agent (path=" + junk + "): not a greenai agent file"),
            std::string::npos)
      << bad.err;
  Result mixed = run({"rl", "train", "--agent", "dqn", "--episodes", "500"});
  EXPECT_EQ(mixed.code, 2);
  EXPECT_NE(mixed.err.find("--episodes is for --agent q; DQN trains for --steps"),
            std::string::npos)
      << mixed.err;
  Result stray = run({"rl", "eval", agent, "--penalties", "0,1"});
  EXPECT_EQ(stray.code, 2);
  EXPECT_NE(stray.err.find("--penalties is not an option of rl eval"), std::string::npos)
      << stray.err;
  Result unknown = run({"rl", "train", "--agent", "sarsa"});
  EXPECT_EQ(unknown.code, 2);
  EXPECT_NE(unknown.err.find("--agent takes q or dqn"), std::string::npos) << unknown.err;
}

TEST(CliRl, TrainsAndEvaluatesDqn) {
  TempDir dir;
  const std::string agent = dir.file("dqn.pt");
  Result r = run({"rl", "train", "--agent", "dqn", "--env", "cartpole-energy", "--energy-penalty",
                  "1", "--steps", "1500", "--precision", "bf16", "--threads", "1", "--out", agent});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("dqn on cartpole-energy (penalty 1)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("training: 1500 steps"), std::string::npos) << r.out;
  Result e = run({"rl", "eval", agent, "--episodes", "5", "--json"});
  ASSERT_EQ(e.code, 0) << e.err;
  EXPECT_NE(e.out.find("\"agent\": \"dqn\""), std::string::npos) << e.out;
  EXPECT_NE(e.out.find("\"j_per_decision\""), std::string::npos) << e.out;
}

// An int64 .npy of `values` (labels), written byte by byte: the greenai writer is float-only.
void write_labels(const std::string& path, const std::vector<int64_t>& values) {
  std::string header = "{'descr': '<i8', 'fortran_order': False, 'shape': (" +
                       std::to_string(values.size()) + ",), }";
  header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::string bytes("\x93NUMPY\x01\x00", 8);
  bytes += static_cast<char>(header.size() & 0xFF);
  bytes += static_cast<char>(header.size() >> 8);
  bytes += header;
  bytes.append(reinterpret_cast<const char*>(values.data()), values.size() * 8);
  std::ofstream(path, std::ios::binary) << bytes;
}

// A user's own model (a ResNet trained in PyTorch, exported to ONNX) with NumPy data: eval with
// labels, quantize with calibration inputs, and the pipeline on it.
TEST(CliOwnModel, EvalQuantizeAndPipelineOnAnOnnxModel) {
  TempDir dir;
  const std::string model = std::string(GREENAI_TEST_DATA) + "/onnx/fashion_resnet.onnx";
  std::vector<float> images(64 * 784);
  for (size_t i = 0; i < images.size(); ++i) images[i] = static_cast<float>((i * 7919) % 256) / 255;
  std::vector<int64_t> labels(64);
  for (size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<int64_t>(i % 10);
  const std::string x = dir.file("x.npy"), y = dir.file("y.npy"), out = dir.file("out.npy");
  greenai::util::write_npy(x, images, {64, 1, 28, 28});
  write_labels(y, labels);

  Result eval = run({"eval", model, "--data", x, "--labels", y, "--outputs", out, "--json"});
  ASSERT_EQ(eval.code, 0) << eval.err;
  const greenai::util::Json e = greenai::util::Json::parse(eval.out);
  EXPECT_TRUE(e.at("labeled").boolean());
  EXPECT_EQ(e.at("test_examples").number(), 64);
  EXPECT_EQ(e.at("outputs_per_example").number(), 10);
  EXPECT_GE(e.at("top5_accuracy").number(), e.at("accuracy").number());
  EXPECT_EQ(greenai::util::read_array(out).shape, (std::vector<uint64_t>{64, 10}));

  const std::string int8 = dir.file("m.int8.edge");
  Result quantize = run({"quantize", model, "--calibration", x, "--calibration-count", "32",
                         "--observer", "entropy", "--out", int8});
  ASSERT_EQ(quantize.code, 0) << quantize.err;
  EXPECT_NE(quantize.out.find("calibrated on 32 examples (observer entropy"), std::string::npos)
      << quantize.out;
  EXPECT_EQ(run({"eval", int8, "--data", x, "--labels", y}).code, 0);
  Result qdq = run({"export", int8, "--format", "onnx", "--out", dir.file("m.int8.onnx")});
  EXPECT_EQ(qdq.code, 0) << qdq.err;

  Result no_calibration = run({"quantize", model, "--out", dir.file("bad.edge")});
  EXPECT_EQ(no_calibration.code, 2);
  EXPECT_NE(no_calibration.err.find("calibrated on inputs of your own"), std::string::npos)
      << no_calibration.err;
  Result no_labels = run({"pipeline", "--model", model, "--calibration", x, "--eval", x});
  EXPECT_EQ(no_labels.code, 2);
  EXPECT_NE(no_labels.err.find("--labels"), std::string::npos) << no_labels.err;

  const std::string pipe = dir.file("pipe");
  Result pipeline = run({"pipeline", "--model", model, "--calibration", x, "--eval", x, "--labels",
                         y, "--quick", "--quiet", "--out", pipe});
  ASSERT_EQ(pipeline.code, 0) << pipeline.err;
  const greenai::util::Json results = greenai::util::Json::parse(read_file(pipe + "/results.json"));
  std::vector<std::string> names;
  for (const auto& v : results.at("variants").items()) names.push_back(v.at("name").string());
  EXPECT_EQ(names, (std::vector<std::string>{"fp32", "int8", "int8-fallback"}));
  EXPECT_EQ(results.at("teacher").string(), "fp32");
  EXPECT_EQ(results.at("skipped").items().at(0).at("name").string(), "dynamic-int8");
}

#endif  // GREENAI_NO_TORCH
