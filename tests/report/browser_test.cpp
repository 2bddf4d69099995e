// The report in a real browser: headless Chromium (Debian's `chromium`, installed by
// scripts/setup for the test suite) loads the page, which must show both charts and log no
// console error; a screenshot is left in the build folder (report-screenshot.png) for a person.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "greenai/report/report.h"
#include "support/temp_dir.h"

namespace greenai::report {
namespace {

using util::Json;

std::string chromium() {
  for (const char* candidate : {"/usr/bin/chromium", "/usr/bin/chromium-browser"})
    if (std::filesystem::exists(candidate)) return candidate;
  return "";
}

struct Output {
  int code;
  std::string out, err;
};

Output run_chromium(const std::string& args, const std::string& dir) {
  const std::string out = dir + "/stdout.txt", err = dir + "/stderr.txt";
  const std::string command = "timeout 60 " + chromium() +
                              " --headless=new --no-sandbox --disable-gpu --no-first-run "
                              "--enable-logging=stderr --v=0 " +
                              args + " > " + out + " 2> " + err;
  const int status = std::system(command.c_str());
  auto read = [](const std::string& path) {
    std::ifstream f(path);
    std::ostringstream text;
    text << f.rdbuf();
    return text.str();
  };
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read(out), read(err)};
}

// Console messages Chromium logs: `...:CONSOLE(line)] "text", source: ...`.
std::vector<std::string> console_lines(const std::string& log) {
  std::vector<std::string> lines;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);)
    if (line.find(":CONSOLE") != std::string::npos) lines.push_back(line);
  return lines;
}

pipeline::PipelineResults sample_results() {
  auto variant = [](const std::string& name, double accuracy, double energy, double ratio) {
    pipeline::VariantResult v;
    v.name = name, v.technique = "technique of " + name, v.runtime = "runtime";
    v.accuracy = accuracy, v.parameters = 1000, v.size_bytes = 40000.0 / ratio;
    v.batch1_p50_us = 10, v.batch64_p50_us = 300, v.energy_per_1000_j = energy;
    v.kg_per_million = energy * 1e-4, v.produce_energy_j = 100;
    v.energy_ratio = ratio, v.size_ratio = ratio, v.accuracy_drop_points = 0.3;
    return v;
  };
  pipeline::PipelineResults r;
  r.version = "test";
  r.created = "2026-11-26T00:00:00Z";
  r.dataset = "Fashion-MNIST";
  r.test_examples = 10000;
  r.variants = {variant("teacher", 0.894, 0.38, 1), variant("teacher-int8", 0.893, 0.07, 5.4),
                variant("pruned-int8", 0.885, 0.009, 43),
                variant("student-int8", 0.86, 0.0016, 230)};
  r.stages = {{"train", 0, 1000, 0, false}, {"quantize", 0, 4, 0, true}};
  r.recommendation = pipeline::Recommendation{"teacher-int8", 1.0};
  r.provenance = {"estimated", {{"cpu", "estimated: a model"}}, "FR: 56 g/kWh", 1.0};
  return r;
}

TEST(ReportInBrowser, ChartsRenderWithoutConsoleErrors) {
  if (chromium().empty()) GTEST_SKIP() << "chromium is not installed (scripts/setup installs it)";
  greenai::testing::TempDir dir;
  const std::string page = dir.write("report.html", render_html(sample_results()));
  Output dom = run_chromium("--dump-dom file://" + page, dir.path());
  ASSERT_EQ(dom.code, 0) << dom.err;
  EXPECT_NE(dom.out.find("<svg class=\"chart pareto\""), std::string::npos);
  EXPECT_NE(dom.out.find("<svg class=\"chart bars\""), std::string::npos);
  size_t circles = 0;
  for (size_t at = dom.out.find("<circle"); at != std::string::npos;
       at = dom.out.find("<circle", at + 1))
    ++circles;
  EXPECT_EQ(circles, 4u);
  EXPECT_TRUE(console_lines(dom.err).empty()) << dom.err;

  Output shot = run_chromium(
      "--hide-scrollbars --window-size=1200,2000 --screenshot=" + std::string(GREENAI_BUILD_DIR) +
          "/report-screenshot.png file://" + page,
      dir.path());
  EXPECT_EQ(shot.code, 0) << shot.err;
  EXPECT_TRUE(std::filesystem::exists(std::string(GREENAI_BUILD_DIR) + "/report-screenshot.png"));
}

// The check above can fail: a page that logs an error is caught.
TEST(ReportInBrowser, AConsoleErrorIsCaught) {
  if (chromium().empty()) GTEST_SKIP() << "chromium is not installed (scripts/setup installs it)";
  greenai::testing::TempDir dir;
  const std::string page =
      dir.write("bad.html",
                "<!DOCTYPE html><html><body><script>console.error('broken chart')</script>"
                "</body></html>");
  Output dom = run_chromium("--dump-dom file://" + page, dir.path());
  ASSERT_EQ(dom.code, 0) << dom.err;
  const auto lines = console_lines(dom.err);
  ASSERT_EQ(lines.size(), 1u) << dom.err;
  EXPECT_NE(lines[0].find("broken chart"), std::string::npos);
}

}  // namespace
}  // namespace greenai::report
