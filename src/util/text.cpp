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

}  // namespace greenai::util
