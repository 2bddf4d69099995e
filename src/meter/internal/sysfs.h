// Small readers for sysfs and procfs files (private to the meter module).
#pragma once

#include <cerrno>
#include <cstdint>
#include <optional>
#include <string>

namespace greenai::meter::internal {

/// Result of reading a small text file: the content, or the errno that stopped it.
struct FileRead {
  std::optional<std::string> text;
  int error = 0;
};

/// Reads a whole small file (sysfs attributes, /proc entries) with one open/read/close.
FileRead read_small_file(const std::string& path);

/// Parses a decimal unsigned integer with optional surrounding whitespace.
std::optional<uint64_t> parse_u64(const std::string& text);

/// Trims ASCII whitespace at both ends.
std::string trim(const std::string& text);

}  // namespace greenai::meter::internal
