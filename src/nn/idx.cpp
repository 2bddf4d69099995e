#include "greenai/nn/idx.h"

#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "greenai/error.h"

namespace greenai::nn {

IdxArray parse_idx(const std::vector<uint8_t>& bytes, const std::string& origin) {
  const std::string action = "cannot read IDX file (path=" + origin + ")";
  if (bytes.size() < 4) throw Error(action, "truncated: shorter than the 4-byte magic number");
  if (bytes[0] != 0 || bytes[1] != 0) {
    char magic[16];
    std::snprintf(magic, sizeof magic, "0x%02x%02x%02x%02x", bytes[0], bytes[1], bytes[2],
                  bytes[3]);
    throw Error(action, std::string("wrong magic number ") + magic + ": not an IDX file");
  }
  if (bytes[2] != 0x08) {
    char type[8];
    std::snprintf(type, sizeof type, "0x%02x", bytes[2]);
    throw Error(action,
                std::string("unsupported element type ") + type + " (only 0x08, unsigned byte)");
  }
  const size_t ndims = bytes[3];
  if (ndims == 0) throw Error(action, "zero dimensions");
  const size_t header = 4 + 4 * ndims;
  if (bytes.size() < header) throw Error(action, "truncated inside the header");
  IdxArray array;
  uint64_t count = 1;
  for (size_t d = 0; d < ndims; ++d) {
    const uint8_t* p = &bytes[4 + 4 * d];
    uint32_t dim = (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
    array.dims.push_back(dim);
    count *= dim;
    if (count > kMaxIdxElements) throw Error(action, "dimensions multiply past the size limit");
  }
  const uint64_t available = bytes.size() - header;
  if (available < count)
    throw Error(action, "truncated: header promises " + std::to_string(count) +
                            " bytes of data, file has " + std::to_string(available));
  if (available > count)
    throw Error(action,
                std::to_string(available - count) + " bytes after the data the header describes");
  array.data.assign(bytes.begin() + static_cast<std::ptrdiff_t>(header), bytes.end());
  return array;
}

IdxArray read_idx(const std::string& path) {
  const std::string action = "cannot read IDX file (path=" + path + ")";
  gzFile file = ::gzopen(path.c_str(), "rb");
  if (!file) throw Error(action, errno ? std::strerror(errno) : "cannot open");
  std::vector<uint8_t> bytes;
  uint8_t buffer[1 << 16];
  for (;;) {
    int n = ::gzread(file, buffer, sizeof buffer);
    if (n < 0) {
      int code = 0;
      std::string message = ::gzerror(file, &code);
      ::gzclose(file);
      throw Error(action, "corrupt gzip stream: " + message);
    }
    if (n == 0) break;
    bytes.insert(bytes.end(), buffer, buffer + n);
    if (bytes.size() > kMaxIdxElements + 1024) {
      ::gzclose(file);
      throw Error(action, "larger than any IDX data set this reader accepts");
    }
  }
  // A gzip stream cut short reads as a clean end in zlib unless the error is checked.
  int code = Z_OK;
  const char* message = ::gzerror(file, &code);
  std::string error_text = message ? message : "";
  ::gzclose(file);
  if (code != Z_OK && code != Z_STREAM_END)
    throw Error(action, "corrupt gzip stream: " + error_text);
  return parse_idx(bytes, path);
}

}  // namespace greenai::nn
