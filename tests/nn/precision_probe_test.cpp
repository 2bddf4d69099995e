#include "greenai/nn/precision_probe.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

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
