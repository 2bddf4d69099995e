// The pipeline's report: one self-contained HTML page (no network, no scripts) with inline SVG
// charts drawn here, from the results.json that `greenai pipeline` writes (docs/pipeline.md).
//
//   std::string page = greenai::report::render_html(results);   // a pipeline::PipelineResults
#pragma once

#include <string>
#include <vector>

#include "greenai/pipeline/results.h"

namespace greenai::report {

/// A chart made by the functions below as a file of its own: its styles embedded.
std::string standalone_svg(const std::string& chart);

/// Text made safe for HTML and SVG element content and attribute values.
std::string escape(const std::string& text);

struct Point {
  std::string label;
  double x = 0;  ///< Energy per inference (J): drawn on a log scale, must be > 0.
  double y = 0;  ///< Accuracy (0..1).
  bool highlight = false;
};

/// Indices of the points no other point beats on both axes (lower x and higher y), by x.
std::vector<size_t> pareto_front(const std::vector<Point>& points);

/// A scatter chart (log x) with the Pareto front drawn as a line; an <svg> element.
std::string pareto_svg(const std::vector<Point>& points, const std::string& x_label,
                       const std::string& y_label);

struct Bar {
  std::string label;
  double value = 0;  ///< >= 0
  std::string note;  ///< Shown after the value, e.g. "cached".
};

/// A horizontal bar chart; an <svg> element.
std::string bars_svg(const std::vector<Bar>& bars, const std::string& unit);

struct Line {
  std::string label;
  std::vector<double> y;  ///< One value per x position; NaN leaves a gap.
};

/// A line chart of several series over the same x positions (the first drawn solid, the others
/// dashed), with a legend; an <svg> element.
std::string lines_svg(const std::vector<Line>& lines, const std::string& x_label,
                      const std::string& y_label);

/// The whole page from the pipeline's results.
std::string render_html(const pipeline::PipelineResults& results);

/// The same results as a text table for a terminal: a row per variant (accuracy and its drop,
/// size, latency, energy and kg per inference, the ratio to the teacher, the energy to make it),
/// the skipped variants with why, the hardware, the provenance and the recommendation; `out` is
/// the folder the files were written to.
std::string render_table(const pipeline::PipelineResults& results, const std::string& out);

}  // namespace greenai::report
