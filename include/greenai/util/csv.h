// Splitting CSV text (RFC 4180 quoting): what every series reader of greenai shares.
//
//   std::vector<std::string> fields;
//   for_each_line(text, [&](size_t n, std::string_view line) { split_csv_line(line, fields); });
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace greenai::util {

/// Splits one CSV record into fields; quoted fields may hold commas and "" escapes.
/// Returns false on an unterminated quote.
bool split_csv_line(std::string_view line, std::vector<std::string>& fields);

/// Calls `on_line(line_number, line)` for each line (1-based), with '\r' stripped.
template <typename F>
void for_each_line(std::string_view text, F&& on_line) {
  size_t number = 0, start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    on_line(++number, line);
    start = end + 1;
  }
}

}  // namespace greenai::util
