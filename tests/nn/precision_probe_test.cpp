#include "greenai/nn/precision_probe.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "greenai/error.h"
#include "support/temp_dir.h"

namespace greenai::nn {
namespace {

PrecisionProbe probe_of(double fp32_s, double bf16_s) {
  PrecisionProbe p;
  p.fp32_step_s = fp32_s;
  p.bf16_step_s = bf16_s;
  p.torch_version = "1.13.1";
  p.source = "measured";
  return p;
}

TEST(PrecisionAdvice, Bf16ThatIsMuchSlowerIsNotChosenAndTheRatioIsSaid) {
  // What an AVX2-only CPU measures: bf16 55x slower.
  const PrecisionAdvice a = advise_precision(probe_of(0.002, 0.110));
  EXPECT_EQ(a.fastest, Precision::kFp32);
  EXPECT_FALSE(a.bf16_accelerated);
  EXPECT_NEAR(a.bf16_speedup, 0.002 / 0.110, 1e-12);
  EXPECT_NE(a.reason.find("55.0x slower than fp32"), std::string::npos) << a.reason;
  EXPECT_NE(a.reason.find("no fast bf16 arithmetic"), std::string::npos) << a.reason;
}

TEST(PrecisionAdvice, Bf16ThatIsClearlyFasterIsChosen) {
  const PrecisionAdvice a = advise_precision(probe_of(0.004, 0.002));
  EXPECT_EQ(a.fastest, Precision::kBf16);
  EXPECT_TRUE(a.bf16_accelerated);
  EXPECT_NE(a.reason.find("2.00x faster"), std::string::npos) << a.reason;
}

TEST(PrecisionAdvice, ATieKeepsFp32) {
  // 5 % faster: within the noise of step times, not worth fp32's exactness.
  const PrecisionAdvice a = advise_precision(probe_of(0.00105, 0.001));
  EXPECT_EQ(a.fastest, Precision::kFp32);
  EXPECT_FALSE(a.bf16_accelerated);
  EXPECT_NE(a.reason.find("less than the 1.1x"), std::string::npos) << a.reason;
  // Exactly at the threshold it is chosen.
  EXPECT_EQ(advise_precision(probe_of(kBf16MinSpeedup * 0.001, 0.001)).fastest, Precision::kBf16);
}

TEST(PrecisionAdvice, Bf16ThatCouldNotRunKeepsFp32WithTheError) {
  PrecisionProbe p = probe_of(0.002, 0);
  p.bf16_error = "no kernel";
  const PrecisionAdvice a = advise_precision(p);
  EXPECT_EQ(a.fastest, Precision::kFp32);
  EXPECT_NE(a.reason.find("could not be measured here: no kernel"), std::string::npos);
}

TEST(PrecisionChoice, NamedPrecisionsNeverRunTheProbe) {
  int probes = 0;
  auto probe = [&] {
    ++probes;
    return probe_of(0.002, 0.001);
  };
  EXPECT_EQ(choose_precision("fp32", probe).precision, Precision::kFp32);
  const PrecisionChoice fp16 = choose_precision("fp16", probe);
  EXPECT_EQ(fp16.precision, Precision::kFp16);
  EXPECT_TRUE(fp16.message.empty());
  EXPECT_TRUE(fp16.note.is_null());
  EXPECT_EQ(probes, 0);
  EXPECT_THROW(choose_precision("int4", probe), Error);
}

TEST(PrecisionChoice, AutoTakesTheFasterAndSaysWhy) {
  const PrecisionChoice fast = choose_precision("auto", [] { return probe_of(0.004, 0.002); });
  EXPECT_EQ(fast.precision, Precision::kBf16);
  EXPECT_NE(fast.message.find("training in bf16"), std::string::npos) << fast.message;
  EXPECT_EQ(fast.note.at("requested").string(), "auto");
  const PrecisionChoice slow = choose_precision("auto", [] { return probe_of(0.002, 0.110); });
  EXPECT_EQ(slow.precision, Precision::kFp32);
  EXPECT_NE(slow.message.find("55.0x slower"), std::string::npos) << slow.message;
}

TEST(PrecisionChoice, ExplicitBf16RunsAsAskedWithAWarningOnlyWhereSlower) {
  const PrecisionChoice slow = choose_precision("bf16", [] { return probe_of(0.002, 0.110); });
  EXPECT_EQ(slow.precision, Precision::kBf16);
  EXPECT_EQ(slow.message.rfind("warning: ", 0), 0u) << slow.message;
  EXPECT_NE(slow.message.find("55.0x slower"), std::string::npos) << slow.message;
  const PrecisionChoice fast = choose_precision("bf16", [] { return probe_of(0.004, 0.002); });
  EXPECT_EQ(fast.precision, Precision::kBf16);
  EXPECT_TRUE(fast.message.empty()) << fast.message;
  EXPECT_EQ(fast.note.at("requested").string(), "bf16");
}

TEST(PrecisionProbe, RoundTripsThroughJson) {
  PrecisionProbe p = probe_of(0.0021, 0.0017);
  p.fp16_error = "no fp16 on CPU";
  p.threads = 2;
  p.fp32_steps = 5;
  p.bf16_steps = 0;
  const PrecisionProbe back = PrecisionProbe::from_json(util::Json::parse(p.to_json().dump()));
  EXPECT_EQ(back.fp32_step_s, p.fp32_step_s);
  EXPECT_EQ(back.bf16_step_s, p.bf16_step_s);
  EXPECT_EQ(back.fp16_error, p.fp16_error);
  EXPECT_EQ(back.threads, 2);
  EXPECT_EQ(back.fp32_steps, 5);
  EXPECT_EQ(back.bf16_steps, 0);
}

// The real measurement, once: both precisions timed, fp16 refused on CPU with the reason; then
// the same machine reads its cache, and a damaged cache file is measured over.
TEST(PrecisionProbe, MeasuresOnceThenReadsTheCacheAndSurvivesADamagedOne) {
  greenai::testing::TempDir dir;
  ::setenv("GREENAI_CACHE_DIR", dir.path().c_str(), 1);
  hardware::Hardware here = hardware::detect();
  const PrecisionProbe first = probe_precision(here, 1);
  EXPECT_EQ(first.source, "measured");
  EXPECT_GT(first.fp32_step_s, 0);
  EXPECT_TRUE(first.bf16_step_s > 0 || !first.bf16_error.empty());
  EXPECT_NE(first.fp16_error.find("fp16"), std::string::npos);
  // fp32 is timed (its give-up threshold is a second); bf16 at most 7 times, or not at all when
  // its warm-up was 10x slower than fp32 (on a busy machine, too).
  EXPECT_GE(first.fp32_steps, 1);
  EXPECT_LE(first.bf16_steps, 7);
  const PrecisionProbe second = probe_precision(here, 1);
  EXPECT_EQ(second.source.rfind("cached (", 0), 0u) << second.source;
  EXPECT_EQ(second.fp32_step_s, first.fp32_step_s);
  // Another CPU has another key: measured again.
  hardware::Hardware other = here;
  other.cpu.model += " (another)";
  EXPECT_EQ(probe_precision(other, 1).source, "measured");
  // A damaged file is measured over, not an error.
  for (const auto& entry : std::filesystem::directory_iterator(dir.path()))
    std::ofstream(entry.path()) << "{\"fp32_step_s\": ";
  EXPECT_EQ(probe_precision(here, 1).source, "measured");
  EXPECT_EQ(probe_precision(here, 1).source.rfind("cached (", 0), 0u);
  ::unsetenv("GREENAI_CACHE_DIR");
}

}  // namespace
}  // namespace greenai::nn
