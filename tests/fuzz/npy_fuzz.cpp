// libFuzzer target: any bytes given to the NumPy reader parse into an array whose data matches its
// shape, or are refused with greenai::Error; never another exception, a crash or an overread.
// Build and run: `make fuzz-check`; seeds in tests/fuzz/corpus/npy/.
#include <cstdint>
#include <vector>

#include "greenai/error.h"
#include "greenai/util/npy.h"

namespace {

void convert(const greenai::util::NpyArray& a) {
  try {
    (void)a.to_float32();
    (void)a.to_int64();
  } catch (const greenai::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<uint8_t> bytes(data, data + size);
  try {
    convert(greenai::util::parse_npy(bytes, "fuzz.npy"));
  } catch (const greenai::Error&) {
  }
  try {
    for (const auto& [name, array] : greenai::util::parse_npz(bytes, "fuzz.npz")) convert(array);
  } catch (const greenai::Error&) {
  }
  return 0;
}
