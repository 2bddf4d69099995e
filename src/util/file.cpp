#include "greenai/util/file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "greenai/error.h"

namespace greenai::util {

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error("cannot read (path=" + path + ")", std::strerror(errno));
  std::ostringstream text;
  text << f.rdbuf();
  return text.str();
}

void write_file_atomic(const std::string& path, const std::string& text) {
  const std::string partial = path + ".partial";
  {
    std::ofstream f(partial, std::ios::binary);
    f << text;
    if (!f.flush())
      throw Error("cannot write (path=" + path + ")", std::strerror(errno),
                  "check that its folder exists and can be written");
  }
  if (std::rename(partial.c_str(), path.c_str()) != 0)
    throw Error("cannot write (path=" + path + ")", std::strerror(errno));
}

}  // namespace greenai::util
