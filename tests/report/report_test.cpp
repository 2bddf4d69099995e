#include "greenai/report/report.h"

#include <gtest/gtest.h>

#include <cmath>

#include "greenai/error.h"

namespace greenai::report {
namespace {

using util::Json;

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(Report, EscapesMarkup) {
  EXPECT_EQ(escape("<a href=\"x\">R&D's</a>"),
            "&lt;a href=&quot;x&quot;&gt;R&amp;D&#39;s&lt;/a&gt;");
}

TEST(Report, ParetoFrontKeepsWhatNothingBeatsOnBothAxes) {
  const std::vector<Point> points{{"teacher", 1e-3, 0.894}, {"int8", 3e-5, 0.894},
                                  {"student", 1e-6, 0.86},  {"pruned", 2e-5, 0.885},
                                  {"bf16", 7e-4, 0.893},    {"student8", 1e-6, 0.859}};
  // int8 beats teacher and bf16 (cheaper, as accurate); pruned is cheaper than int8 but less
  // accurate; student8 ties the student's energy with less accuracy.
  EXPECT_EQ(pareto_front(points), (std::vector<size_t>{2, 3, 1}));
  EXPECT_TRUE(pareto_front({}).empty());
}

TEST(Report, ChartsDrawEveryPointAndBar) {
  const std::vector<Point> points{{"a<b", 1e-4, 0.9, true}, {"c", 1e-6, 0.8}};
  const std::string svg = pareto_svg(points, "J", "accuracy");
  EXPECT_EQ(svg.rfind("<svg class=\"chart pareto\"", 0), 0u);
  EXPECT_EQ(count(svg, "<circle"), 2u);
  EXPECT_EQ(count(svg, "class=\"point best\""), 1u);
  EXPECT_NE(svg.find("a&lt;b"), std::string::npos);
  EXPECT_EQ(svg.find("a<b"), std::string::npos);
  EXPECT_NE(svg.find("<polyline class=\"front\""), std::string::npos);
  const std::string bars = bars_svg({{"train", 300, ""}, {"eval", 0, "cached"}}, "J");
  EXPECT_EQ(count(bars, "<rect"), 2u);
  EXPECT_NE(bars.find("(cached)"), std::string::npos);
}

TEST(Report, LinesLeaveGapsAtMissingValues) {
  const double gap = std::nan("");
  const std::string svg =
      lines_svg({{"actual", {1, 2, 3, 4}}, {"model <a>", {1, gap, 3, 4}}}, "step", "MW");
  EXPECT_EQ(svg.rfind("<svg class=\"chart lines\"", 0), 0u);
  size_t polylines = 0;
  for (size_t at = svg.find("<polyline"); at != std::string::npos;
       at = svg.find("<polyline", at + 1))
    ++polylines;
  EXPECT_EQ(polylines, 3u);  // the actual line, and the model's in two pieces
  EXPECT_NE(svg.find("model &lt;a&gt;"), std::string::npos);
}

pipeline::VariantResult variant(const std::string& name, double accuracy, double energy,
                                double ratio) {
  pipeline::VariantResult v;
  v.name = name, v.technique = "t", v.runtime = "r", v.accuracy = accuracy, v.parameters = 100;
  v.size_bytes = 1000, v.batch1_p50_us = 1, v.batch64_p50_us = 10;
  v.energy_per_1000_j = energy, v.kg_per_million = 1e-5, v.produce_energy_j = 5;
  v.energy_ratio = ratio, v.size_ratio = 4, v.accuracy_drop_points = 0.5;
  return v;
}

TEST(Report, PageIsSelfContained) {
  pipeline::PipelineResults results;
  results.version = "0.1.0";
  results.created = "2026-11-26T21:00:00Z";
  results.dataset = "Fashion-MNIST";
  results.quick = true;
  results.test_examples = 10000;
  results.variants = {variant("teacher", 0.89, 1.0, 1.0),
                      variant("teacher int8", 0.889, 0.05, 20.0)};
  results.stages = {{"train", 0, 100, 0, false}};
  results.recommendation = pipeline::Recommendation{"teacher int8", 1.0};
  results.provenance = {"estimated", {{"cpu", "estimated: model"}}, "FR: 56 g/kWh", 1.0};
  const std::string page = render_html(results);
  EXPECT_EQ(page.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_EQ(count(page, "<svg"), 2u);
  EXPECT_EQ(page.find("<script"), std::string::npos);
  EXPECT_EQ(page.find("http://"),
            page.find("http://www.w3.org/2000/svg"));  // only the SVG namespace
  EXPECT_EQ(page.find("https://"), std::string::npos);
  EXPECT_NE(page.find("20.0x less energy per inference"), std::string::npos);
  EXPECT_NE(page.find("<tr class=\"best\"><td>teacher int8</td>"), std::string::npos);
  EXPECT_NE(page.find("--quick"), std::string::npos);
}

TEST(Report, ShowsTheHardwareAndWhatWasSkipped) {
  pipeline::PipelineResults results;
  results.variants = {variant("teacher", 0.89, 1.0, 1.0)};
  results.hardware.cpu_model = "AMD EPYC <7B13>";
  results.hardware.architecture = "x86_64";
  results.hardware.features = {"avx2", "fma"};
  results.hardware.edge_kernels = "avx2";
  results.hardware.caps = {{"ONEDNN_MAX_CPU_ISA", "AVX2"}};
  results.skipped = {{"teacher-bf16", "bf16 mixed-precision training", "55x slower", 0.018}};
  const std::string page = render_html(results);
  EXPECT_NE(page.find("Measured on <b>AMD EPYC &lt;7B13&gt;</b> (x86_64; avx2 fma; edge kernels "
                      "<b>avx2</b>; capped by <code>ONEDNN_MAX_CPU_ISA=AVX2</code>)"),
            std::string::npos);
  EXPECT_NE(page.find("<b>teacher-bf16</b> (bf16 mixed-precision training) was not made: 55x "
                      "slower."),
            std::string::npos);
  EXPECT_NE(page.find("No variant stays within the accuracy budget."), std::string::npos);
}

TEST(StandaloneSvg, EmbedsTheChartStylesAfterTheOpeningTag) {
  const std::string chart = bars_svg({{"a", 1, ""}}, "J");
  const std::string file = standalone_svg(chart);
  const size_t open_end = chart.find('>') + 1;
  EXPECT_EQ(file.substr(0, open_end), chart.substr(0, open_end));
  EXPECT_EQ(file.find("<style>"), open_end);
  EXPECT_NE(file.find(".chart .bar{fill:"), std::string::npos);
  EXPECT_EQ(file.substr(file.find("</style>") + 8), chart.substr(open_end));
  EXPECT_EQ(standalone_svg("not a chart"), "not a chart");
}

}  // namespace
}  // namespace greenai::report
