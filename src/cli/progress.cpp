#include "cli/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>

namespace greenai::cli {

ProgressMode progress_mode(bool quiet) {
  if (quiet) return ProgressMode::kOff;
  if (const char* env = std::getenv("GREENAI_PROGRESS"); env && !std::strcmp(env, "lines"))
    return ProgressMode::kLines;
  return ::isatty(2) ? ProgressMode::kTerminal : ProgressMode::kOff;
}

void ProgressLine::show(const std::string& text, bool force) {
  if (mode_ == ProgressMode::kOff) return;
  const auto now = std::chrono::steady_clock::now();
  const auto every = mode_ == ProgressMode::kTerminal ? std::chrono::milliseconds(100)
                                                      : std::chrono::milliseconds(1000);
  if (!force && shown_ && now - last_ < every) return;
  last_ = now;
  shown_ = true;
  if (mode_ == ProgressMode::kTerminal)
    std::fprintf(stderr, "\r\033[K%s", fit_to_terminal(text).c_str());
  else
    std::fprintf(stderr, "%s%s\n", kProgressPrefix, text.c_str());
  std::fflush(stderr);
}

void ProgressLine::clear() {
  if (mode_ != ProgressMode::kTerminal || !shown_) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
  shown_ = false;
}

std::string fit_to_terminal(std::string line) {
  winsize size{};
  const size_t columns = ::ioctl(2, TIOCGWINSZ, &size) == 0 && size.ws_col ? size.ws_col : 100;
  if (line.size() >= columns) line.resize(columns - 1);
  return line;
}

std::string last_progress(const std::string& log_path) {
  std::ifstream f(log_path, std::ios::binary);
  if (!f) return "";
  // Only the log's tail: a training log may be long.
  f.seekg(0, std::ios::end);
  const std::streamoff size = f.tellg();
  const std::streamoff start = size > 4096 ? size - 4096 : 0;
  f.seekg(start);
  std::string tail(static_cast<size_t>(size - start), '\0');
  f.read(tail.data(), static_cast<std::streamsize>(tail.size()));
  tail.resize(tail.rfind('\n') + 1);  // whole lines only: the last may be being written
  const size_t at = tail.rfind(kProgressPrefix);
  if (at == std::string::npos) return "";
  const size_t end = tail.find('\n', at);
  const size_t from = at + std::strlen(kProgressPrefix);
  return tail.substr(from, end - from);
}

}  // namespace greenai::cli
