// Formatting text for people: printf-style appending, for the to_text() of results.
//
//   std::string text;
//   util::appendf(text, "%.2f %% accuracy\n", 100 * accuracy);
#pragma once

#include <string>

namespace greenai::util {

/// printf onto the end of `text` (a line of up to 1,023 characters; longer is cut).
__attribute__((format(printf, 2, 3))) void appendf(std::string& text, const char* format, ...);

/// "45 s", "3 min 20 s", "2 h 05 min": a duration for people, to the second below an hour.
std::string format_duration(double seconds);

}  // namespace greenai::util
