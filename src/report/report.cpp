#include "greenai/report/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "greenai/error.h"
#include "greenai/util/text.h"

namespace greenai::report {
namespace {

std::string num(double v, const char* format = "%.3g") {
  char text[64];
  std::snprintf(text, sizeof text, format, v);
  return text;
}

constexpr const char* kStyle = R"(
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;max-width:1100px;
color:#1d2a21;padding:0 1rem;line-height:1.45}
h1{font-size:1.7rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #cfd8d0}
.meta{color:#55645a;font-size:.9rem}.finding{background:#eef6ef;border-left:4px solid #2e7d32;
padding:.7rem 1rem;margin:1rem 0}
table{border-collapse:collapse;width:100%;font-size:.86rem}th,td{padding:.35rem .5rem;text-align:right;
border-bottom:1px solid #e3e8e4}th{background:#f4f7f4;font-weight:600}td:first-child,th:first-child,
td:nth-child(2),th:nth-child(2){text-align:left}tr.best td{background:#f1f8e9;font-weight:600}
.chart{display:block;margin:1rem 0;max-width:100%;height:auto}.note{color:#55645a;font-size:.85rem}.skipped{background:#fff6e5;border-left:4px solid #c98a1b;padding:.4rem .8rem}
code{background:#f4f7f4;padding:0 .2rem}
)";
// The charts' own rules: in the page, and embedded in a chart written as a file of its own.
constexpr const char* kChartStyle = R"(
.chart text{font-size:12px;fill:#1d2a21;font-family:system-ui,sans-serif}
.chart .axis{stroke:#55645a}.chart .grid{stroke:#e3e8e4}.chart .front{fill:none;stroke:#2e7d32;
stroke-width:2;stroke-dasharray:5 3}.chart .point{fill:#1565c0}.chart .point.best{fill:#2e7d32}
.chart .bar{fill:#81c784}.chart .bar.cached{fill:#c8e6c9}
)";

}  // namespace

std::string standalone_svg(const std::string& chart) {
  const size_t open = chart.find("<svg");
  const size_t end = open == std::string::npos ? open : chart.find('>', open);
  if (end == std::string::npos) return chart;
  return chart.substr(0, end + 1) + "<style>" + kChartStyle + "</style>" + chart.substr(end + 1);
}

std::string escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::vector<size_t> pareto_front(const std::vector<Point>& points) {
  std::vector<size_t> order(points.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return points[a].x != points[b].x ? points[a].x < points[b].x : points[a].y > points[b].y;
  });
  std::vector<size_t> front;
  double best_y = -std::numeric_limits<double>::infinity();
  for (size_t i : order)
    if (points[i].y > best_y) {  // cheaper than everything after it, better than everything before
      front.push_back(i);
      best_y = points[i].y;
    }
  return front;
}

std::string pareto_svg(const std::vector<Point>& points, const std::string& x_label,
                       const std::string& y_label) {
  constexpr double kWidth = 720, kHeight = 400, kLeft = 70, kRight = 30, kTop = 20, kBottom = 55;
  double x_min = std::numeric_limits<double>::infinity(), x_max = 0, y_min = 1, y_max = 0;
  for (const Point& p : points) {
    if (!(p.x > 0)) continue;
    x_min = std::min(x_min, p.x);
    x_max = std::max(x_max, p.x);
    y_min = std::min(y_min, p.y);
    y_max = std::max(y_max, p.y);
  }
  if (!(x_max > 0)) x_min = 1e-6, x_max = 1e-3;
  const double lx0 = std::floor(std::log10(x_min)),
               lx1 = std::max(lx0 + 1, std::ceil(std::log10(x_max)));
  // y in whole percents around the data
  const double y0 = std::floor(std::max(0.0, y_min - 0.005) * 100) / 100;
  const double y1 = std::max(y0 + 0.01, std::ceil(std::min(1.0, y_max + 0.005) * 100) / 100);
  auto sx = [&](double x) {
    return kLeft + (std::log10(x) - lx0) / (lx1 - lx0) * (kWidth - kLeft - kRight);
  };
  auto sy = [&](double y) { return kTop + (y1 - y) / (y1 - y0) * (kHeight - kTop - kBottom); };
  std::string svg =
      "<svg class=\"chart pareto\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " +
      num(kWidth, "%.0f") + " " + num(kHeight, "%.0f") + "\" role=\"img\" aria-label=\"" +
      escape(y_label + " against " + x_label) + "\">\n";
  for (double d = lx0; d <= lx1 + 1e-9; d += 1) {  // decades
    const double x = sx(std::pow(10, d));
    svg += "<line class=\"grid\" x1=\"" + num(x, "%.1f") + "\" y1=\"" + num(kTop, "%.0f") +
           "\" x2=\"" + num(x, "%.1f") + "\" y2=\"" + num(kHeight - kBottom, "%.0f") + "\"/>";
    svg += "<text x=\"" + num(x, "%.1f") + "\" y=\"" + num(kHeight - kBottom + 18, "%.0f") +
           "\" text-anchor=\"middle\">" + escape(num(std::pow(10, d), "%g")) + "</text>\n";
  }
  const double y_step = (y1 - y0) > 0.06 ? 0.02 : 0.01;
  for (double y = y0; y <= y1 + 1e-9; y += y_step) {
    svg += "<line class=\"grid\" x1=\"" + num(kLeft, "%.0f") + "\" y1=\"" + num(sy(y), "%.1f") +
           "\" x2=\"" + num(kWidth - kRight, "%.0f") + "\" y2=\"" + num(sy(y), "%.1f") + "\"/>";
    svg += "<text x=\"" + num(kLeft - 8, "%.0f") + "\" y=\"" + num(sy(y) + 4, "%.1f") +
           "\" text-anchor=\"end\">" + num(100 * y, "%.0f") + " %</text>\n";
  }
  svg += "<line class=\"axis\" x1=\"" + num(kLeft, "%.0f") + "\" y1=\"" +
         num(kHeight - kBottom, "%.0f") + "\" x2=\"" + num(kWidth - kRight, "%.0f") + "\" y2=\"" +
         num(kHeight - kBottom, "%.0f") + "\"/>";
  svg += "<line class=\"axis\" x1=\"" + num(kLeft, "%.0f") + "\" y1=\"" + num(kTop, "%.0f") +
         "\" x2=\"" + num(kLeft, "%.0f") + "\" y2=\"" + num(kHeight - kBottom, "%.0f") + "\"/>\n";
  svg += "<text x=\"" + num((kLeft + kWidth - kRight) / 2, "%.0f") + "\" y=\"" +
         num(kHeight - 12, "%.0f") + "\" text-anchor=\"middle\">" + escape(x_label) + "</text>";
  svg += "<text transform=\"translate(16 " + num((kTop + kHeight - kBottom) / 2, "%.0f") +
         ") rotate(-90)\" text-anchor=\"middle\">" + escape(y_label) + "</text>\n";
  const std::vector<size_t> front = pareto_front(points);
  std::string line;
  for (size_t i : front)
    if (points[i].x > 0)
      line += num(sx(points[i].x), "%.1f") + "," + num(sy(points[i].y), "%.1f") + " ";
  if (!line.empty()) svg += "<polyline class=\"front\" points=\"" + line + "\"/>\n";
  // Labels beside their points, moved down or up where they would overlap one already placed.
  struct Box {
    double x0, y0, x1, y1;
  };
  std::vector<Box> placed;
  for (const Point& p : points) {
    if (!(p.x > 0)) continue;
    const double x = sx(p.x), y = sy(p.y);
    svg += "<circle class=\"point" + std::string(p.highlight ? " best" : "") + "\" cx=\"" +
           num(x, "%.1f") + "\" cy=\"" + num(y, "%.1f") + "\" r=\"5\"><title>" +
           escape(p.label + ": " + num(100 * p.y, "%.2f") + " %, " + num(p.x) + " J") +
           "</title></circle>";
    const double width = 7.0 * static_cast<double>(p.label.size());
    // Right of the point, or left of it where the label would leave the chart.
    const double label_x = x + 8 + width > kWidth - kRight ? x - 8 - width : x + 8;
    double label_y = y - 7;
    for (double offset : {-7.0, 17.0, -21.0, 31.0, -35.0, 45.0}) {
      label_y = y + offset;
      const Box box{label_x, label_y - 12, label_x + width, label_y + 2};
      bool overlaps = false;
      for (const Box& o : placed)
        overlaps = overlaps || (box.x0 < o.x1 && o.x0 < box.x1 && box.y0 < o.y1 && o.y0 < box.y1);
      if (!overlaps) break;
    }
    placed.push_back({label_x, label_y - 12, label_x + width, label_y + 2});
    svg += "<text x=\"" + num(label_x, "%.1f") + "\" y=\"" + num(label_y, "%.1f") + "\">" +
           escape(p.label) + "</text>\n";
  }
  return svg + "</svg>\n";
}

std::string bars_svg(const std::vector<Bar>& bars, const std::string& unit) {
  constexpr double kWidth = 720, kLabel = 190, kRow = 26, kTop = 10, kValue = 150;
  const double height = kTop * 2 + kRow * static_cast<double>(bars.size());
  double largest = 0;
  for (const Bar& b : bars) largest = std::max(largest, b.value);
  std::string svg =
      "<svg class=\"chart bars\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " +
      num(kWidth, "%.0f") + " " + num(height, "%.0f") + "\" role=\"img\" aria-label=\"" +
      escape(unit) + " per stage\">\n";
  for (size_t i = 0; i < bars.size(); ++i) {
    const Bar& b = bars[i];
    const double y = kTop + kRow * static_cast<double>(i);
    const double w = largest > 0 ? (kWidth - kLabel - kValue) * b.value / largest : 0;
    svg += "<text x=\"" + num(kLabel - 8, "%.0f") + "\" y=\"" + num(y + 17, "%.0f") +
           "\" text-anchor=\"end\">" + escape(b.label) + "</text>";
    svg += "<rect class=\"bar" + std::string(b.note == "cached" ? " cached" : "") + "\" x=\"" +
           num(kLabel, "%.0f") + "\" y=\"" + num(y + 4, "%.0f") + "\" width=\"" +
           num(std::max(w, 1.0), "%.1f") + "\" height=\"" + num(kRow - 8, "%.0f") + "\"><title>" +
           escape(b.label + ": " + num(b.value, "%.4g") + " " + unit) + "</title></rect>";
    svg += "<text x=\"" + num(kLabel + std::max(w, 1.0) + 6, "%.1f") + "\" y=\"" +
           num(y + 17, "%.0f") + "\">" + escape(num(b.value, "%.4g") + " " + unit) +
           (b.note.empty() ? "" : " (" + escape(b.note) + ")") + "</text>\n";
  }
  return svg + "</svg>\n";
}

std::string lines_svg(const std::vector<Line>& lines, const std::string& x_label,
                      const std::string& y_label) {
  constexpr double kWidth = 900, kHeight = 360, kLeft = 70, kRight = 20, kTop = 36, kBottom = 45;
  constexpr const char* kColours[] = {"#1d2a21", "#1565c0", "#ef6c00",
                                      "#2e7d32", "#8e24aa", "#c62828"};
  size_t n = 0;
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const Line& l : lines) {
    n = std::max(n, l.y.size());
    for (double v : l.y)
      if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  }
  if (!(hi > lo)) lo = 0, hi = 1;
  const double pad = (hi - lo) * 0.05;
  lo -= pad;
  hi += pad;
  auto sx = [&](size_t i) {
    return kLeft + (n > 1 ? static_cast<double>(i) / static_cast<double>(n - 1) : 0) *
                       (kWidth - kLeft - kRight);
  };
  auto sy = [&](double v) { return kTop + (hi - v) / (hi - lo) * (kHeight - kTop - kBottom); };
  std::string svg =
      "<svg class=\"chart lines\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " +
      num(kWidth, "%.0f") + " " + num(kHeight, "%.0f") + "\" role=\"img\" aria-label=\"" +
      escape(y_label + " against " + x_label) + "\">\n";
  for (int k = 0; k <= 4; ++k) {
    const double v = lo + (hi - lo) * k / 4;
    svg += "<line class=\"grid\" x1=\"" + num(kLeft, "%.0f") + "\" y1=\"" + num(sy(v), "%.1f") +
           "\" x2=\"" + num(kWidth - kRight, "%.0f") + "\" y2=\"" + num(sy(v), "%.1f") +
           "\" stroke=\"#e3e8e4\"/><text x=\"" + num(kLeft - 6, "%.0f") + "\" y=\"" +
           num(sy(v) + 4, "%.1f") + "\" text-anchor=\"end\" font-size=\"11\">" +
           escape(num(v, "%.6g")) + "</text>\n";
  }
  svg += "<text x=\"" + num((kLeft + kWidth - kRight) / 2, "%.0f") + "\" y=\"" +
         num(kHeight - 10, "%.0f") + "\" text-anchor=\"middle\" font-size=\"12\">" +
         escape(x_label) + "</text><text transform=\"translate(14 " +
         num((kTop + kHeight - kBottom) / 2, "%.0f") +
         ") rotate(-90)\" text-anchor=\"middle\" font-size=\"12\">" + escape(y_label) + "</text>\n";
  for (size_t li = 0; li < lines.size(); ++li) {
    const std::string colour = kColours[li % (sizeof kColours / sizeof kColours[0])];
    std::string points;
    auto flush = [&] {
      if (!points.empty())
        svg += "<polyline fill=\"none\" stroke=\"" + colour + "\" stroke-width=\"" +
               (li == 0 ? "2" : "1.3") + "\"" + (li == 0 ? "" : " stroke-dasharray=\"4 2\"") +
               " points=\"" + points + "\"/>\n";
      points.clear();
    };
    for (size_t i = 0; i < lines[li].y.size(); ++i) {
      if (!std::isfinite(lines[li].y[i])) {
        flush();
        continue;
      }
      points += num(sx(i), "%.1f") + "," + num(sy(lines[li].y[i]), "%.1f") + " ";
    }
    flush();
    const double lx = kLeft + 150.0 * static_cast<double>(li);
    svg += "<line x1=\"" + num(lx, "%.0f") + "\" y1=\"16\" x2=\"" + num(lx + 24, "%.0f") +
           "\" y2=\"16\" stroke=\"" + colour + "\" stroke-width=\"2\"/><text x=\"" +
           num(lx + 30, "%.0f") + "\" y=\"20\" font-size=\"12\">" + escape(lines[li].label) +
           "</text>\n";
  }
  return svg + "</svg>\n";
}

std::string render_html(const pipeline::PipelineResults& results) {
  const std::string best = results.recommendation ? results.recommendation->variant : "";
  std::string html =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<title>GreenAI pipeline report</title><style>" +
      std::string(kStyle) + kChartStyle + "</style></head><body>\n";
  html += "<h1>GreenAI pipeline report</h1>\n<p class=\"meta\">" + escape(results.created) +
          " &middot; " + escape(results.dataset) +
          (results.quick
               ? " &middot; <b>--quick</b> (a slice of the data, few epochs: a first look, not the "
                 "figures to quote)"
               : "") +
          " &middot; greenai " + escape(results.version) + "</p>\n";
  // Every figure below was measured on this CPU; another CPU class gives other figures.
  const pipeline::MeasuredOn& hw = results.hardware;
  std::string features;
  for (const std::string& name : hw.features) features += (features.empty() ? "" : " ") + name;
  html += "<p class=\"meta\">Measured on <b>" + escape(hw.cpu_model) + "</b> (" +
          escape(hw.architecture) + "; " +
          escape(features.empty() ? std::string("no AVX2 or NEON features") : features) +
          "; edge kernels <b>" + escape(hw.edge_kernels) + "</b>";
  if (!hw.caps.empty()) {
    html += "; capped by";
    for (const auto& [name, value] : hw.caps)
      html += " <code>" + escape(name) + "=" + escape(value) + "</code>";
  }
  html += ")</p>\n";

  // The finding in one paragraph.
  const pipeline::VariantResult* teacher = results.variant(results.teacher);
  const pipeline::VariantResult* row = results.variant(best);
  html += "<div class=\"finding\">";
  if (results.recommendation && teacher && row) {
    html += "Within " + num(results.recommendation->budget_points, "%.2g") +
            " point(s) of the accuracy of " + escape(results.teacher) + " (the baseline), <b>" +
            escape(best) + "</b> (" + escape(row->technique) + ") spends <b>" +
            num(row->energy_ratio, "%.1f") + "x less energy per inference</b> in a <b>" +
            num(row->size_ratio, "%.1f") + "x smaller</b> file, at " +
            num(100 * row->accuracy, "%.2f") + " % accuracy (" + escape(results.teacher) + " " +
            num(100 * teacher->accuracy, "%.2f") + " %).";
  } else {
    html += "No variant stays within the accuracy budget.";
  }
  html += " Energy figures are <b>" + escape(results.provenance.energy) +
          "</b>; see the provenance below.</div>\n";

  // The table.
  html +=
      "<h2>Variants</h2>\n<table><thead><tr><th>variant</th><th>technique / runtime</th>"
      "<th>accuracy</th><th>&Delta; vs " +
      escape(results.teacher) +
      "</th><th>parameters</th><th>file</th>"
      "<th>p50 batch 1</th><th>p50 batch 64</th><th>J per 1,000 inferences</th>"
      "<th>energy ratio</th><th>kg CO<sub>2</sub>eq per 10<sup>6</sup> inferences</th>"
      "<th>J to produce</th></tr></thead><tbody>\n";
  std::vector<Point> points;
  for (const pipeline::VariantResult& v : results.variants) {
    html += "<tr" + std::string(v.name == best ? " class=\"best\"" : "") + "><td>" +
            escape(v.name) + "</td><td>" + escape(v.technique) + "<br><span class=\"note\">" +
            escape(v.runtime) + "</span></td><td>" + num(100 * v.accuracy, "%.2f") + " %</td><td>" +
            num(-v.accuracy_drop_points, "%+.2f") + "</td><td>" + num(v.parameters, "%.0f") +
            "</td><td>" + num(v.size_bytes / 1e3, "%.1f") + " kB</td><td>" +
            num(v.batch1_p50_us, "%.1f") + " &micro;s</td><td>" + num(v.batch64_p50_us, "%.0f") +
            " &micro;s</td><td>" + num(v.energy_per_1000_j, "%.4g") + "</td><td>" +
            num(v.energy_ratio, "%.1f") + "x</td><td>" + num(v.kg_per_million, "%.3g") +
            "</td><td>" + num(v.produce_energy_j, "%.4g") + "</td></tr>\n";
    points.push_back({v.name, v.energy_per_1000_j / 1000, v.accuracy, v.name == best});
  }
  html += "</tbody></table>\n";
  for (const pipeline::SkippedVariant& k : results.skipped)
    html += "<p class=\"skipped\"><b>" + escape(k.name) + "</b> (" + escape(k.technique) +
            ") was not made: " + escape(k.reason) + ".</p>\n";
  html +=
      "<p class=\"note\">Latency: median of timed calls on one thread "
      "(`greenai bench`); energy per inference from the meter over those calls at batch 64, "
      "divided by the inferences made; energy ratio = the baseline's (" +
      escape(results.teacher) +
      ") energy per inference over the variant's; J to produce: the metered energy of the stages "
      "that made the variant "
      "and the models it came from.</p>\n";

  html +=
      "<h2>Accuracy against energy per inference</h2>\n" +
      pareto_svg(points, "energy per inference (J, log scale, batch 64)", "test accuracy") +
      "<p class=\"note\">The dashed line joins the Pareto front: the variants no other beats on "
      "both accuracy and energy.</p>\n";

  std::vector<Bar> bars;
  for (const pipeline::StageCost& s : results.stages)
    bars.push_back({s.label, s.energy_j, s.cached ? "cached" : ""});
  html += "<h2>Energy spent per stage</h2>\n" + bars_svg(bars, "J") +
          "<p class=\"note\">Stages reused from the cache show the energy of the run that made "
          "them.</p>\n";

  const pipeline::Provenance& provenance = results.provenance;
  html += "<h2>Provenance</h2>\n<ul>\n<li>Energy: <b>" + escape(provenance.energy) + "</b></li>\n";
  for (const auto& [component, text] : provenance.sources)
    html += "<li>" + escape(component) + ": " + escape(text) + "</li>\n";
  html += "<li>Carbon intensity: " + escape(provenance.intensity) + "</li>\n";
  html += "<li>PUE: " + num(provenance.pue, "%.3g") + "</li>\n";
  html += "<li>Accuracy: the Fashion-MNIST test set (" + num(results.test_examples, "%.0f") +
          " examples), `greenai eval`.</li>\n";
  html +=
      "</ul>\n<p class=\"note\">Written by <code>greenai pipeline</code>; the numbers are in "
      "<code>results.json</code> beside this page (docs/pipeline.md).</p>\n</body></html>\n";
  return html;
}

std::string render_table(const pipeline::PipelineResults& r, const std::string& out) {
  std::string text;
  util::appendf(text, "\n%-14s %8s %7s %10s %9s %9s %10s %12s %8s %10s\n", "variant", "accuracy",
                "drop", "file", "p50 b1", "p50 b64", "J/1000", "kg/10^6 inf", "energy",
                "J to make");
  const std::string best = r.recommendation ? r.recommendation->variant : "";
  for (const pipeline::VariantResult& v : r.variants)
    util::appendf(text,
                  "%-14s %7.2f%% %+7.2f %8.1fkB %7.1fus %7.0fus %10.4g %12.3g %7.1fx %10.4g%s\n",
                  v.name.c_str(), 100 * v.accuracy, -v.accuracy_drop_points, v.size_bytes / 1e3,
                  v.batch1_p50_us, v.batch64_p50_us, v.energy_per_1000_j, v.kg_per_million,
                  v.energy_ratio, v.produce_energy_j, v.name == best ? "  <- best" : "");
  for (const pipeline::SkippedVariant& k : r.skipped)
    util::appendf(text, "%-14s skipped: %s\n", k.name.c_str(), k.reason.c_str());
  util::appendf(text, "\nhardware: %s\nenergy: %s; intensity: %s\n", r.hardware.summary().c_str(),
                r.provenance.energy.c_str(), r.provenance.intensity.c_str());
  if (r.recommendation)
    util::appendf(text,
                  "within %.2g point(s) of %s's accuracy, the least energy per inference: %s\n",
                  r.recommendation->budget_points, r.teacher.c_str(), best.c_str());
  util::appendf(text,
                "the whole pipeline: %.0f s, %.4g J, %.3g kg CO2eq; wrote %s/results.json and "
                "%s/report.html\n",
                r.seconds, r.total_j, r.emissions_kg, out.c_str(), out.c_str());
  return text;
}

}  // namespace greenai::report
