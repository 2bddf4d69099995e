#include "greenai/util/text.h"

#include <cstdarg>
#include <cstdio>

namespace greenai::util {

void appendf(std::string& text, const char* format, ...) {
  char line[1024];
  va_list args;
  va_start(args, format);
  std::vsnprintf(line, sizeof line, format, args);
  va_end(args);
  text += line;
}

std::string format_duration(double seconds) {
  char text[32];
  const long s = seconds > 0 ? static_cast<long>(seconds + 0.5) : 0;
  if (s < 60)
    std::snprintf(text, sizeof text, "%ld s", s);
  else if (s < 3600)
    std::snprintf(text, sizeof text, "%ld min %02ld s", s / 60, s % 60);
  else
    std::snprintf(text, sizeof text, "%ld h %02ld min", s / 3600, s / 60 % 60);
  return text;
}

}  // namespace greenai::util
