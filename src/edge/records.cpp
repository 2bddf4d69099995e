// The parts of the format the runtime needs: element sizes, the CRC-32, the multiplier split.
// C library only (see records.h).
#include "greenai/edge/records.h"

#include "edge/internal/fixed_point.h"

namespace greenai::edge {
namespace {

struct CrcTable {
  uint32_t entry[256];
};

// Built at compile time: no static initialization at run time.
constexpr CrcTable make_crc_table() {
  CrcTable table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table.entry[i] = c;
  }
  return table;
}
constexpr CrcTable kCrcTable = make_crc_table();

}  // namespace

size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return 4;
    case DType::kI8:
      return 1;
    case DType::kI32:
      return 4;
  }
  return 0;
}

void quantize_multiplier(double multiplier, int32_t* q, int32_t* shift) {
  internal::quantize_multiplier(multiplier, q, shift);
}

uint32_t crc32(const void* data, size_t size, uint32_t crc) {
  const auto* p = static_cast<const uint8_t*>(data);
  crc = ~crc;
  for (size_t i = 0; i < size; ++i) crc = kCrcTable.entry[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

}  // namespace greenai::edge
