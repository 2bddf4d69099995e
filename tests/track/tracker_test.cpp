#include "greenai/track/tracker.h"

#include <gtest/gtest.h>

#include <thread>

#include "greenai/error.h"
#include "support/burn_cpu.h"
#include "track/fakes.h"

namespace greenai::track {
namespace {

using namespace std::chrono_literals;
using testing::FakeProc;
using testing::FakeSensor;
using testing::FakeUsage;

class RecordingSink final : public Sink {
 public:
  void begin(const RunInfo&) override { ++begins; }
  void interval(const RunInfo&, const Record& interval, const Record& cumulative) override {
    intervals.push_back(interval);
    cumulatives.push_back(cumulative);
  }
  void finish(const RunInfo&, const Record& t, const std::vector<Record>& p) override {
    total = t;
    phases = p;
    ++finishes;
  }
  int begins = 0, finishes = 0;
  std::vector<Record> intervals, cumulatives, phases;
  Record total;
};

struct Harness {
  explicit Harness(double interval_s = 3600, bool background = false, double pue = 1.0,
                   meter::Provenance provenance = meter::Provenance::kMeasured) {
    auto sensor_ptr = std::make_unique<FakeSensor>(provenance);
    auto usage_ptr = std::make_unique<FakeUsage>();
    sensor = sensor_ptr.get();
    usage = usage_ptr.get();
    meter::SensorSet set;
    set.sensors.push_back(std::move(sensor_ptr));
    TrackerOptions options;
    options.interval_s = interval_s;
    options.background_sampler = background;
    options.pue = pue;
    options.intensity = carbon::resolve_intensity({.g_per_kwh = 400});
    options.proc_root = proc.path();
    tracker = std::make_unique<Tracker>(std::move(set), std::move(usage_ptr), options);
    sink = std::make_shared<RecordingSink>();
    tracker->add_sink(sink);
  }
  FakeProc proc;
  FakeSensor* sensor;
  FakeUsage* usage;
  std::unique_ptr<Tracker> tracker;
  std::shared_ptr<RecordingSink> sink;
};

TEST(Tracker, SharesMachineEnergyByCpuTimeAndMemory) {
  Harness h;
  h.tracker->start();
  h.sensor->joules[0] = 10;            // cpu
  h.sensor->joules[1] = 4;             // ram
  h.sensor->joules[2] = 30;            // gpu
  h.sensor->joules[3] = 999;           // an uncounted sub-domain never adds up
  h.usage->usage = {1.0, 1ULL << 30};  // 1 CPU-second, 1 GiB resident
  h.proc.set(4.0, 4.0);                // machine: 4 busy CPU-seconds, 4 GiB in use
  StepEnergy step = h.tracker->step();
  EXPECT_NEAR(step.tree[Component::kCpu], 10 * 0.25, 1e-9);
  EXPECT_NEAR(step.tree[Component::kRam], 4 * 0.25, 1e-9);
  EXPECT_NEAR(step.tree[Component::kGpu], 30, 1e-9);
  // (2.5 + 1 + 30) J = 33.5 J = 9.3056e-6 kWh x 400 g/kWh
  EXPECT_NEAR(step.emissions_kg, 33.5 / 3.6e6 * 400 / 1000, 1e-15);
  Record total = h.tracker->stop();
  EXPECT_NEAR(total.machine.total_j(), 44, 1e-9);
  EXPECT_NEAR(total.tree.total_j(), 33.5, 1e-9);
  EXPECT_DOUBLE_EQ(total.intensity_g_per_kwh, 400);
  EXPECT_EQ(h.tracker->info().provenance(), "measured");
}

TEST(Tracker, ShareIsCappedAtTheWholeMachine) {
  Harness h;
  h.tracker->start();
  h.sensor->joules[0] = 10;
  h.usage->usage.cpu_s = 3;  // tick rounding can make the tree look busier than the machine
  h.proc.set(2.0, 0);
  EXPECT_NEAR(h.tracker->step().tree[Component::kCpu], 10, 1e-9);
}

TEST(Tracker, PueScalesEmissionsNotEnergy) {
  Harness h(3600, false, /*pue=*/1.5);
  h.tracker->start();
  h.sensor->joules[2] = 3.6e6;  // 1 kWh of GPU energy
  StepEnergy step = h.tracker->step();
  EXPECT_NEAR(step.tree.total_j(), 3.6e6, 1e-3);
  EXPECT_NEAR(step.emissions_kg, 1 * 1.5 * 400 / 1000.0, 1e-9);
}

TEST(Tracker, StepsReturnEnergySinceThePreviousStep) {
  Harness h;
  h.tracker->start();
  h.sensor->joules[2] = 5;
  EXPECT_NEAR(h.tracker->step().tree.total_j(), 5, 1e-9);
  h.sensor->joules[2] = 12;
  EXPECT_NEAR(h.tracker->step().tree.total_j(), 7, 1e-9);
  EXPECT_NEAR(h.tracker->cumulative().tree.total_j(), 12, 1e-9);
}

TEST(Tracker, PhasesGetTheirOwnTotalsAndCloseIntervals) {
  Harness h;
  h.tracker->start();
  h.tracker->begin_phase("epoch 1");
  h.sensor->joules[2] = 5;
  h.tracker->begin_phase("epoch 2");
  h.sensor->joules[2] = 8;
  {
    PhaseScope scope(*h.tracker, "epoch 1");  // a phase used again adds to its total
    h.sensor->joules[2] = 10;
  }
  h.sensor->joules[2] = 11;  // outside any phase
  Record total = h.tracker->stop();
  ASSERT_EQ(h.sink->phases.size(), 2u);
  EXPECT_EQ(h.sink->phases[0].phase, "epoch 1");
  EXPECT_NEAR(h.sink->phases[0].tree.total_j(), 5 + 2, 1e-9);
  EXPECT_EQ(h.sink->phases[1].phase, "epoch 2");
  EXPECT_NEAR(h.sink->phases[1].tree.total_j(), 3, 1e-9);
  EXPECT_NEAR(total.tree.total_j(), 11, 1e-9);
  // Intervals never straddle a phase: one per phase change (the first is the instant between
  // start() and the first phase), plus the final one.
  ASSERT_EQ(h.sink->intervals.size(), 5u);
  EXPECT_EQ(h.sink->intervals[0].phase, "");
  EXPECT_EQ(h.sink->intervals[1].phase, "epoch 1");
  EXPECT_EQ(h.sink->intervals[2].phase, "epoch 2");
  EXPECT_EQ(h.sink->intervals[3].phase, "epoch 1");
  EXPECT_EQ(h.sink->intervals[4].phase, "");
  EXPECT_NEAR(h.sink->cumulatives.back().tree.total_j(), 11, 1e-9);
  EXPECT_EQ(h.sink->begins, 1);
  EXPECT_EQ(h.sink->finishes, 1);
}

TEST(Tracker, BackgroundSamplerClosesIntervalsOnTime) {
  Harness h(/*interval_s=*/0.05, /*background=*/true);
  h.tracker->start();
  std::this_thread::sleep_for(280ms);
  h.tracker->stop();
  // Scheduling delays on a loaded machine can stretch an interval, never shorten one.
  EXPECT_GE(h.sink->intervals.size(), 2u);
  EXPECT_LE(h.sink->intervals.size(), 7u);
  double sum = 0;
  for (size_t i = 0; i < h.sink->intervals.size(); ++i) {
    if (i + 1 < h.sink->intervals.size()) {
      EXPECT_GE(h.sink->intervals[i].duration_s, 0.049);
    }
    sum += h.sink->intervals[i].duration_s;
  }
  EXPECT_NEAR(sum, h.sink->total.duration_s, 1e-9);
}

TEST(Tracker, EstimatedSensorsAreLabelledEstimated) {
  Harness h(3600, false, 1.0, meter::Provenance::kEstimated);
  EXPECT_EQ(h.tracker->info().provenance(), "estimated");
  EXPECT_EQ(h.tracker->info().sources[0].sensor, "fake");
}

TEST(Tracker, RejectsBadIntervalAndPue) {
  TrackerOptions bad_interval;
  bad_interval.interval_s = 0;
  EXPECT_THROW(Tracker(meter::SensorSet{}, std::make_unique<FakeUsage>(), bad_interval), Error);
  TrackerOptions bad_pue;
  bad_pue.pue = 0.9;
  try {
    Tracker(meter::SensorSet{}, std::make_unique<FakeUsage>(), bad_pue);
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "cannot track (--pue=0.900000): a power usage effectiveness is at least 1.0");
  }
}

TEST(Tracker, ForThisProcessMeasuresSomethingHere) {
  auto tracker = Tracker::for_this_process({.background_sampler = false});
  tracker->start();
  greenai::testing::burn_cpu(0.1);
  Record total = tracker->stop();
  EXPECT_GT(total.tree_cpu_s, 0.05);
  EXPECT_GT(total.tree[Component::kCpu], 0);
}

TEST(FormatSummary, NamesProvenanceAndIntensitySource) {
  Harness h;
  h.tracker->start();
  h.sensor->joules[0] = 2;
  h.usage->usage.cpu_s = 1;
  h.proc.set(1, 0);
  Record total = h.tracker->stop();
  std::string text = format_summary(h.tracker->info(), total, {});
  EXPECT_NE(text.find("measured"), std::string::npos);
  EXPECT_NE(text.find("explicit --intensity 400.00 g/kWh"), std::string::npos);
  EXPECT_NE(text.find("fake counters"), std::string::npos);
}

TEST(RandomUuid, IsVersion4) {
  std::string id = random_uuid();
  ASSERT_EQ(id.size(), 36u);
  EXPECT_EQ(id[14], '4');
  EXPECT_NE(id, random_uuid());
}

}  // namespace
}  // namespace greenai::track
