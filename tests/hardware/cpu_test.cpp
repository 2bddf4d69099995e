#include "greenai/hardware/cpu.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "support/temp_dir.h"

namespace greenai::hardware {
namespace {

std::string fixture(const std::string& name) {
  std::ifstream f(std::string(GREENAI_TEST_DATA) + "/hardware/" + name);
  std::ostringstream text;
  text << f.rdbuf();
  return text.str();
}

TEST(CpuInfo, AnAvx2OnlyEpycHasNoAvx512) {
  const CpuInfo cpu = parse_cpuinfo(fixture("epyc_avx2.cpuinfo"), "x86_64");
  EXPECT_EQ(cpu.model, "AMD EPYC 7B12");
  EXPECT_EQ(cpu.logical_cpus, 2);
  EXPECT_EQ(cpu.features, (std::vector<std::string>{"avx2", "fma"}));
  EXPECT_TRUE(cpu.has("avx2"));
  EXPECT_FALSE(cpu.has("avx512_vnni"));
  EXPECT_FALSE(cpu.has("avx"));  // present, but not a feature GreenAI decides by
  EXPECT_EQ(cpu.features.size() + cpu.missing.size(), relevant_features("x86_64").size());
}

TEST(CpuInfo, SapphireRapidsHasAmxAndBf16) {
  const CpuInfo cpu = parse_cpuinfo(fixture("sapphire_rapids.cpuinfo"), "x86_64");
  EXPECT_EQ(cpu.model, "Intel(R) Xeon(R) Platinum 8488C");
  for (const char* f : {"avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8"})
    EXPECT_TRUE(cpu.has(f)) << f;
  EXPECT_TRUE(cpu.missing.empty());
}

TEST(CpuInfo, ARaspberryPi5IsACortexA76WithDotProduct) {
  const CpuInfo cpu = parse_cpuinfo(fixture("raspberry_pi5.cpuinfo"), "aarch64");
  EXPECT_EQ(cpu.model, "Cortex-A76");
  EXPECT_EQ(cpu.logical_cpus, 2);
  EXPECT_EQ(cpu.features, (std::vector<std::string>{"asimd", "asimddp", "asimdhp"}));
  EXPECT_FALSE(cpu.has("i8mm"));
}

TEST(CpuInfo, AnUnknownArmCoreIsNamedByItsNumbers) {
  const CpuInfo cpu =
      parse_cpuinfo("processor : 0\nCPU implementer : 0x61\nCPU part : 0x022\n", "aarch64");
  EXPECT_EQ(cpu.model, "implementer 0x61 part 0x022");
}

// Whatever the bytes, parsing returns (no throw, no crash), and every relevant feature is either
// present or missing, once.
TEST(CpuInfo, ArbitraryTextNeverBreaksTheParser) {
  std::mt19937 rng(5);
  const std::string alphabet = "abcx: \t\n0123456789flagsFeaturesmodel nameCPU part";
  for (int trial = 0; trial < 500; ++trial) {
    std::string text(rng() % 400, ' ');
    for (char& c : text) c = alphabet[rng() % alphabet.size()];
    for (const char* arch : {"x86_64", "aarch64", "riscv64"}) {
      const CpuInfo cpu = parse_cpuinfo(text, arch);
      EXPECT_EQ(cpu.features.size() + cpu.missing.size(), relevant_features(arch).size());
    }
  }
}

// A cpuinfo of this build's architecture: detect() takes the architecture from uname.
#if defined(__aarch64__)
constexpr const char* kHostFixture = "raspberry_pi5.cpuinfo";
constexpr const char* kHostModel = "Cortex-A76";
constexpr const char* kHostFeatures = "asimd asimddp asimdhp";
#else
constexpr const char* kHostFixture = "epyc_avx2.cpuinfo";
constexpr const char* kHostModel = "AMD EPYC 7B12";
constexpr const char* kHostFeatures = "avx2 fma";
#endif

TEST(Hardware, DetectReadsTheCpuinfoItIsPointedAt) {
  greenai::testing::TempDir dir;
  dir.write("cpuinfo", fixture(kHostFixture));
  ::setenv("GREENAI_PROC_ROOT", dir.path().c_str(), 1);
  const Hardware here = detect();
  ::unsetenv("GREENAI_PROC_ROOT");
  EXPECT_EQ(here.cpu.model, kHostModel);
  ASSERT_FALSE(here.edge.runnable.empty());
  EXPECT_EQ(here.edge.runnable.back(), "reference");
  EXPECT_EQ(here.edge.selected, here.edge.runnable.front());
  const util::Json json = here.to_json();
  EXPECT_EQ(json.at("cpu_model").string(), kHostModel);
  EXPECT_EQ(json.at("edge_kernels").string(), here.edge.selected);
  EXPECT_EQ(json.at("features").items().size(), here.cpu.features.size());
  EXPECT_NE(here.summary().find(std::string(kHostModel) + " (" + here.cpu.architecture + "; " +
                                kHostFeatures + "; edge kernels"),
            std::string::npos)
      << here.summary();
}

TEST(Hardware, TheKeyChangesWithTheFeaturesAndTheModel) {
  Hardware a;
  a.cpu = parse_cpuinfo(fixture("epyc_avx2.cpuinfo"), "x86_64");
  Hardware b = a;
  EXPECT_EQ(a.key(), b.key());
  EXPECT_EQ(a.key().size(), 16u);
  b.cpu.features.push_back("avx512f");
  EXPECT_NE(a.key(), b.key());
  b = a;
  b.cpu.model = "AMD EPYC 9R14";
  EXPECT_NE(a.key(), b.key());
  b = a;
  b.edge.selected = "reference";
  EXPECT_NE(a.key(), b.key());
  b = a;
  b.caps.emplace_back("ONEDNN_MAX_CPU_ISA", "AVX2");
  EXPECT_NE(a.key(), b.key());
}

// With AVX-512 capped away, what was measured must say so.
TEST(Hardware, CapsFromTheEnvironmentAreRecordedAndShown) {
  ::setenv("ONEDNN_MAX_CPU_ISA", "AVX2", 1);
  const Hardware capped = detect();
  ::unsetenv("ONEDNN_MAX_CPU_ISA");
  const Hardware free = detect();
  ASSERT_FALSE(capped.caps.empty());
  EXPECT_NE(capped.key(), free.key());
  EXPECT_NE(capped.summary().find("; capped: ONEDNN_MAX_CPU_ISA=AVX2"), std::string::npos)
      << capped.summary();
  EXPECT_EQ(capped.to_json().at("caps").at("ONEDNN_MAX_CPU_ISA").string(), "AVX2");
}

TEST(Hardware, ForcingAKernelSetShowsInTheSelection) {
  ::setenv("GREENAI_EDGE_KERNELS", "reference", 1);
  EXPECT_EQ(detect().edge.selected, "reference");
  ::setenv("GREENAI_EDGE_KERNELS", "no-such-set", 1);
  EXPECT_EQ(detect().edge.selected, "");
  ::unsetenv("GREENAI_EDGE_KERNELS");
}

}  // namespace
}  // namespace greenai::hardware
