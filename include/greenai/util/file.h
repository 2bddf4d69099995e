// Whole-file reads and atomic writes, for results and caches that must be whole or absent.
#pragma once

#include <string>

namespace greenai::util {

/// The file's bytes. Throws greenai::Error naming the path when it cannot be read.
std::string read_file(const std::string& path);

/// Writes `text` to path + ".partial", then renames it over `path`: a reader sees the old file
/// or the whole new one, never a part. Throws greenai::Error naming the path when it cannot.
void write_file_atomic(const std::string& path, const std::string& text);

}  // namespace greenai::util
