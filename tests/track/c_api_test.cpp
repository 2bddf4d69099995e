#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <string>

#include "greenai/greenai.h"
#include "support/burn_cpu.h"
#include "support/temp_dir.h"

namespace {

TEST(CApi, BadCountryIsAnErrorWithAMessage) {
  greenai_tracker_options options;
  greenai_tracker_options_init(&options);
  options.country = "XX";
  greenai_tracker* tracker = nullptr;
  EXPECT_EQ(greenai_tracker_create(&options, &tracker), GREENAI_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(tracker, nullptr);
  EXPECT_NE(std::string(greenai_last_error()).find("cannot find country (--country=XX)"),
            std::string::npos);
}

TEST(CApi, StepBeforeStartIsAStateError) {
  greenai_tracker_options options;
  greenai_tracker_options_init(&options);
  greenai_tracker* tracker = nullptr;
  ASSERT_EQ(greenai_tracker_create(&options, &tracker), GREENAI_OK) << greenai_last_error();
  greenai_energy energy;
  EXPECT_EQ(greenai_tracker_step(tracker, &energy), GREENAI_ERROR_STATE);
  EXPECT_STREQ(greenai_last_error(), "greenai_tracker_step: call greenai_tracker_start first");
  greenai_tracker_destroy(tracker);
}

TEST(CApi, TracksThisProcessIntoACsv) {
  greenai::testing::TempDir dir;
  const std::string csv = dir.file("emissions.csv");
  greenai_tracker_options options;
  greenai_tracker_options_init(&options);
  options.intensity_g_per_kwh = 500;
  options.csv_path = csv.c_str();
  options.background_sampler = 0;
  // No counters, whatever machine runs the test: the figures must then say "estimated".
  ::setenv("GREENAI_POWERCAP_ROOT", "/nonexistent", 1);
  ::setenv("GREENAI_NVML_LIBRARY", "/nonexistent/libnvidia-ml.so.1", 1);
  greenai_tracker* tracker = nullptr;
  ASSERT_EQ(greenai_tracker_create(&options, &tracker), GREENAI_OK) << greenai_last_error();
  ::unsetenv("GREENAI_POWERCAP_ROOT");
  ::unsetenv("GREENAI_NVML_LIBRARY");
  ASSERT_EQ(greenai_tracker_start(tracker), GREENAI_OK);
  ASSERT_EQ(greenai_tracker_begin_phase(tracker, "work"), GREENAI_OK);
  greenai::testing::burn_cpu(0.06);
  greenai_energy step;
  ASSERT_EQ(greenai_tracker_step(tracker, &step), GREENAI_OK);
  EXPECT_GT(step.cpu_j, 0);
  ASSERT_EQ(greenai_tracker_end_phase(tracker), GREENAI_OK);
  greenai_energy total;
  ASSERT_EQ(greenai_tracker_stop(tracker, &total), GREENAI_OK);
  EXPECT_GE(total.total_j, step.total_j);
  EXPECT_NEAR(total.emissions_kg, total.total_j / 3.6e6 * 500 / 1000, 1e-12);
  EXPECT_EQ(total.estimated, 1);
  greenai_tracker_destroy(tracker);
  std::string text = greenai::testing::TempDir::read(csv);
  EXPECT_EQ(text.rfind("timestamp,project_name,", 0), 0u);
  EXPECT_NE(text.find(",final,"), std::string::npos);
}

// What `greenai tune MODEL --write FILE` saved, read back through the C API; a bad file is an
// error that names the field and the fix.
TEST(CApi, ReadsATunedConfiguration) {
  greenai::testing::TempDir dir;
  const std::string good =
      dir.write("tuned.json", R"({"model": "teacher.int8.edge", "precision": "int8", )"
                              R"("runtime": "edge", "threads": 1, "batch": 8})");
  greenai_tuned_config c;
  ASSERT_EQ(greenai_tuned_config_load(good.c_str(), &c), GREENAI_OK) << greenai_last_error();
  EXPECT_STREQ(c.model, "teacher.int8.edge");
  EXPECT_STREQ(c.precision, "int8");
  EXPECT_STREQ(c.runtime, "edge");
  EXPECT_EQ(c.threads, 1);
  EXPECT_EQ(c.batch, 8);
  const std::string bad = dir.write(
      "bad.json", R"({"model": "m.pt", "precision": "fp32", "runtime": "libtorch", "batch": 8})");
  EXPECT_EQ(greenai_tuned_config_load(bad.c_str(), &c), GREENAI_ERROR_INVALID_ARGUMENT);
  const std::string why = greenai_last_error();
  EXPECT_NE(why.find("\"threads\" is missing"), std::string::npos) << why;
  EXPECT_NE(why.find("hint: write it again with greenai tune MODEL --write"), std::string::npos)
      << why;
  EXPECT_EQ(greenai_tuned_config_load(nullptr, &c), GREENAI_ERROR_INVALID_ARGUMENT);
}

}  // namespace
