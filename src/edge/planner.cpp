// Planning a validated model: the kernel set, weights packed in its layout (64-byte aligned),
// biases folded for its unsigned or signed inputs, and one arena sized for the largest batch.
#include <stdlib.h>
#include <string.h>

#include "edge/internal/model.h"
#include "edge/internal/scalar.h"

namespace greenai::edge::internal {
namespace {

constexpr LoadError kOk{GREENAI_EDGE_OK, {}};

LoadError no_memory(const char* what) {
  return fail(GREENAI_EDGE_ERROR_MEMORY, "cannot allocate %s", what);
}

// Packed copies start on a 64-byte boundary: a vector load that straddles two cache lines costs
// two (measured 2x on the teacher).
uint8_t* aligned(void* storage) {
  auto* bytes = static_cast<uint8_t*>(storage);
  return bytes + (kAlignment - reinterpret_cast<uintptr_t>(bytes) % kAlignment) % kAlignment;
}

// What the planner keeps across steps: the largest scratch one example needs.
struct Sizes {
  size_t scratch = 0;     // per example, for the kernels' converted inputs
  size_t conv_bytes = 0;  // im2col rows and a [pixels, channels] output, for one example
};

// (Q)Conv2d -> Flatten -> (Q)Linear on a fast set: the conv leaves [pixels, channels] and the
// linear layer's weight columns are permuted to match (no transpose at run time).
void mark_hwc_chains(greenai_edge_model* m) {
  if (m->kernels == &reference_kernels()) return;
  for (size_t i = 0; i + 2 < m->step_count; ++i) {
    const OpKind conv = m->steps[i].op.kind, linear = m->steps[i + 2].op.kind;
    const bool int8 = conv == OpKind::kQConv2d && linear == OpKind::kQLinear;
    const bool fp32 = conv == OpKind::kConv2d && linear == OpKind::kLinear &&
                      m->kernels->pack_linear_f32;  // the fp32 conv runs through im2col rows
    if ((int8 || fp32) && m->steps[i + 1].op.kind == OpKind::kFlatten) {
      m->steps[i].hwc_output = true;
      m->steps[i + 2].hwc_channels = m->steps[i].op.out;
    }
  }
}

// The weight columns of a linear layer whose input is [pixels, channels] (a conv's hwc output)
// in that order, from the (C, H, W) order they were trained in.
template <typename T>
void permute_columns(const T* w, uint64_t row, uint64_t out, uint64_t channels, T* permuted) {
  const uint64_t pixels = row / channels;
  for (uint64_t o = 0; o < out; ++o)
    for (uint64_t c = 0; c < channels; ++c)
      for (uint64_t p = 0; p < pixels; ++p)
        permuted[o * row + p * channels + c] = w[o * row + c * pixels + p];
}

// fp32 Linear/Conv2d on a set with a packed GEMM; a convolution through im2col rows.
LoadError plan_f32(Step& s, const KernelSet& k, Sizes& sizes) {
  const bool conv = s.op.kind == OpKind::kConv2d;
  const uint64_t row = conv ? uint64_t{s.op.in} * s.op.kernel * s.op.kernel : s.op.in;
  if (conv) {
    s.conv_as_gemm = true;
    const uint64_t pixels = uint64_t{static_cast<uint32_t>(s.conv.out_h)} * s.conv.out_w;
    sizes.conv_bytes =
        max_of<size_t>(sizes.conv_bytes, (pixels * row + pixels * s.op.out) * sizeof(float) + 64);
  }
  const int inputs = static_cast<int>(row), outputs = static_cast<int>(s.op.out);
  const auto* w = static_cast<const float*>(s.weight);
  float* permuted = nullptr;  // weight columns in [pixels, channels] order
  if (s.hwc_channels) {
    permuted = static_cast<float*>(malloc(row * s.op.out * sizeof(float)));
    if (!permuted) return no_memory("permuted weights");
    permute_columns(w, row, s.op.out, s.hwc_channels, permuted);
  }
  const size_t bytes = k.pack_linear_f32(nullptr, inputs, outputs, nullptr);
  s.packed_f32_storage = static_cast<float*>(malloc(bytes + kAlignment));
  if (!s.packed_f32_storage) {
    free(permuted);
    return no_memory("packed weights");
  }
  auto* packed = reinterpret_cast<float*>(aligned(s.packed_f32_storage));
  k.pack_linear_f32(permuted ? permuted : w, inputs, outputs, packed);
  s.packed_f32 = packed;
  free(permuted);
  return kOk;
}

// DynamicLinear: each channel's weight sum, and packed weights where the set has its GEMM.
LoadError plan_dynamic(Step& s, const KernelSet& k, Sizes& sizes) {
  // Rows padded to groups of 4 (and a second copy, such as |q|, for kernels that need it), and a
  // scale and offset per example.
  sizes.scratch = max_of<size_t>(sizes.scratch, kQLinearScratchPerInput * (s.in_elems + 4) + 8);
  const auto* w = static_cast<const int8_t*>(s.weight);
  s.row_sums = static_cast<int64_t*>(calloc(s.op.out, sizeof(int64_t)));
  if (!s.row_sums) return no_memory("weight sums");
  for (uint32_t c = 0; c < s.op.out; ++c)
    for (uint32_t i = 0; i < s.op.in; ++i) s.row_sums[c] += w[uint64_t{c} * s.op.in + i];
  // The kernel set's GEMM on packed weights (its int32 sums are exact up to 65536 inputs); a
  // -128 weight on a set that needs them in [-127, 127] keeps the reference.
  if (!k.dynamic_linear || !k.pack_qlinear || s.op.in > 65536) return kOk;
  if (k.qlinear_needs_symmetric_weights)
    for (uint64_t i = 0; i < uint64_t{s.op.in} * s.op.out; ++i)
      if (w[i] == -128) return kOk;
  const int inputs = static_cast<int>(s.op.in), outputs = static_cast<int>(s.op.out);
  const size_t bytes = k.pack_qlinear(nullptr, inputs, outputs, nullptr);
  s.packed_storage = static_cast<int8_t*>(malloc(bytes + kAlignment));
  if (!s.packed_storage) return no_memory("packed weights");
  auto* packed = reinterpret_cast<int8_t*>(aligned(s.packed_storage));
  k.pack_qlinear(w, inputs, outputs, packed);
  s.packed = packed;
  return kOk;
}

// QLinear/QConv2d weights in the set's layout (columns permuted for an hwc input first).
LoadError pack_int8(Step& s, uint64_t row) {
  const KernelSet& k = *s.kernels;
  const auto* w = static_cast<const int8_t*>(s.weight);
  if (s.qconv2d_direct) {  // a convolution's own layout (never permuted: that is its successor's)
    const size_t bytes = k.pack_qconv2d(nullptr, s.conv, nullptr);
    s.packed_storage = static_cast<int8_t*>(malloc(bytes + kAlignment));
    if (!s.packed_storage) return no_memory("packed weights");
    auto* packed = reinterpret_cast<int8_t*>(aligned(s.packed_storage));
    k.pack_qconv2d(w, s.conv, packed);
    s.packed = packed;
    return kOk;
  }
  int8_t* permuted = nullptr;  // weight columns in [pixels, channels] order
  if (s.hwc_channels) {
    permuted = static_cast<int8_t*>(malloc(row * s.op.out));
    if (!permuted) return no_memory("permuted weights");
    permute_columns(w, row, s.op.out, s.hwc_channels, permuted);
  }
  if (!k.pack_qlinear && !permuted) return kOk;
  const int inputs = static_cast<int>(row), outputs = static_cast<int>(s.op.out);
  const int8_t* source = permuted ? permuted : w;
  const size_t bytes =
      k.pack_qlinear ? k.pack_qlinear(nullptr, inputs, outputs, nullptr) : row * s.op.out;
  s.packed_storage = static_cast<int8_t*>(malloc(bytes + kAlignment));
  if (!s.packed_storage) {
    free(permuted);
    return no_memory("packed weights");
  }
  auto* packed = reinterpret_cast<int8_t*>(aligned(s.packed_storage));
  if (k.pack_qlinear)
    k.pack_qlinear(source, inputs, outputs, packed);
  else
    memcpy(packed, source, bytes);
  s.packed = packed;
  free(permuted);
  return kOk;
}

// QLinear/QConv2d: a convolution runs on the fast sets directly on its image where the set has
// that kernel and the shape suits it (direct_conv_pays), else as a GEMM over im2col rows (one per
// output pixel, kernel x kernel x in_channels wide); the reference keeps the textbook loops. A
// layer with a -128 weight on a set that needs them in [-127, 127] runs on the reference. The bias
// is folded with the input zero point for unsigned (x + 128) and signed inputs (Requant).
LoadError plan_int8(Step& s, greenai_edge_model* m, Sizes& sizes) {
  const bool conv = s.op.kind == OpKind::kQConv2d;
  if (conv && m->kernels == &reference_kernels()) return kOk;
  const uint64_t row = conv ? uint64_t{s.op.in} * s.op.kernel * s.op.kernel : s.op.in;
  const auto* w = static_cast<const int8_t*>(s.weight);
  int8_t largest = 0;  // the largest weight magnitude but for a -128
  bool has_minus_128 = false;
  for (uint64_t i = 0; i < row * s.op.out; ++i) {
    if (w[i] == -128)
      has_minus_128 = true;
    else
      largest = max_of<int8_t>(largest, w[i] < 0 ? static_cast<int8_t>(-w[i]) : w[i]);
  }
  if (has_minus_128 && m->kernels->qlinear_needs_symmetric_weights)
    s.kernels = &reference_kernels();
  const bool small = !has_minus_128 && largest <= 63;
  s.qlinear = s.kernels->qlinear_small_weights && small ? s.kernels->qlinear_small_weights
                                                        : s.kernels->qlinear;
  if (conv && s.kernels->qconv2d_direct && direct_conv_pays(s.conv))
    s.qconv2d_direct = s.kernels->qconv2d_direct_small_weights && small
                           ? s.kernels->qconv2d_direct_small_weights
                           : s.kernels->qconv2d_direct;
  s.conv_as_gemm = conv && !s.qconv2d_direct;
  if (s.qconv2d_direct) {  // the example's image, then its [padded pixels, channels] result
    const ConvImage image = conv_image(s.conv);
    sizes.conv_bytes = max_of<size_t>(
        sizes.conv_bytes,
        image.scratch_bytes + static_cast<size_t>(image.padded_pixels) * s.op.out + 64);
  } else if (conv) {  // im2col rows, the kernel's scratch for them, the [pixels, channels] result
    const uint64_t pixels = uint64_t{static_cast<uint32_t>(s.conv.out_h)} * s.conv.out_w;
    sizes.conv_bytes = max_of<size_t>(
        sizes.conv_bytes,
        pixels * row + pixels * kQLinearScratchPerInput * (row + 4) + pixels * s.op.out + 64);
  } else {
    sizes.scratch = max_of<size_t>(sizes.scratch, kQLinearScratchPerInput * (s.in_elems + 4));
  }
  if (LoadError e = pack_int8(s, row); e.status != GREENAI_EDGE_OK) return e;
  const auto* bias = static_cast<const int32_t*>(s.bias);
  s.bias_unsigned = static_cast<int32_t*>(malloc(2 * s.op.out * sizeof(int32_t)));
  if (!s.bias_unsigned) return no_memory("biases");
  int32_t* bias_signed = s.bias_unsigned + s.op.out;
  s.bias_signed = bias_signed;
  for (uint32_t c = 0; c < s.op.out; ++c) {
    int64_t row_sum = 0;
    for (uint64_t i = 0; i < row; ++i) row_sum += w[c * row + i];
    s.bias_unsigned[c] =
        static_cast<int32_t>(bias[c] - (128 + int64_t{s.op.input_zero_point}) * row_sum);
    bias_signed[c] = static_cast<int32_t>(bias[c] - int64_t{s.op.input_zero_point} * row_sum);
  }
  return kOk;
}

}  // namespace

LoadError prepare(greenai_edge_model* m, int max_batch) {
  m->kernels = select_kernels();
  if (!m->kernels) {
    char names[128];
    runnable_kernel_names(names, sizeof names);
    return fail(GREENAI_EDGE_ERROR_ARGUMENT,
                "GREENAI_EDGE_KERNELS=%s is not a kernel set this CPU runs (it runs: %s)",
                getenv("GREENAI_EDGE_KERNELS"), names);
  }
  mark_hwc_chains(m);
  Sizes sizes;
  size_t largest = 0;  // bytes of the largest activation of one example
  for (size_t step = 0; step < m->step_count; ++step) {
    Step& s = m->steps[step];
    s.kernels = m->kernels;
    largest = max_of<size_t>(largest, s.out_elems * dtype_size(s.out_type));
    LoadError e = kOk;
    if ((s.op.kind == OpKind::kLinear || s.op.kind == OpKind::kConv2d) &&
        m->kernels->pack_linear_f32)
      e = plan_f32(s, *m->kernels, sizes);
    else if (s.op.kind == OpKind::kDynamicLinear)
      e = plan_dynamic(s, *m->kernels, sizes);
    else if (s.op.kind == OpKind::kQLinear || s.op.kind == OpKind::kQConv2d)
      e = plan_int8(s, m, sizes);
    if (e.status != GREENAI_EDGE_OK) return e;
  }
  // Two ping-pong buffers, each large enough for the largest activation of the batch, and a
  // scratch area for the kernels' converted inputs and the convolutions' im2col rows.
  auto round_up = [](size_t n) { return (n + kAlignment - 1) / kAlignment * kAlignment; };
  m->conv_bytes = sizes.conv_bytes;
  m->max_batch = max_batch;
  m->buffer_bytes = round_up(largest * static_cast<size_t>(max_batch));
  m->scratch_bytes =
      max_of(round_up(sizes.scratch * static_cast<size_t>(max_batch)), round_up(m->conv_bytes));
  m->arena_bytes = 2 * m->buffer_bytes + m->scratch_bytes;
  m->arena = static_cast<uint8_t*>(malloc(m->arena_bytes + kAlignment));
  if (!m->arena)
    return fail(GREENAI_EDGE_ERROR_MEMORY, "cannot allocate the %zu-byte arena", m->arena_bytes);
  return kOk;
}

}  // namespace greenai::edge::internal
