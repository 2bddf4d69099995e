// Planning a validated model: the kernel set, weights packed in its layout (64-byte aligned),
// biases folded for its unsigned or signed inputs, and one arena sized for the largest batch.
#include <math.h>
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

// How many steps read each value (step_count + 1 counts, calloc'd), or null.
uint32_t* count_readers(const greenai_edge_model* m) {
  auto* readers = static_cast<uint32_t*>(calloc(m->step_count + 1, sizeof(uint32_t)));
  if (!readers) return nullptr;
  for (size_t i = 0; i < m->step_count; ++i)
    for (uint32_t v : m->steps[i].graph.input)
      if (v != kNoValue) ++readers[v];
  return readers;
}

// Whether a step writes its output channels last where asked (hwc_output): the fast
// convolutions (int8 and fp32) write [pixels, channels] anyway, and the operators that keep their
// input's layout (keeps_layout: pooling, the elementwise ones, Concat) take either, int8 or fp32.
bool keeps_layout(const Step& s) {
  switch (s.op.kind) {
    case OpKind::kMaxPool2d:
    case OpKind::kAvgPool2d:
    case OpKind::kReLU:
    case OpKind::kClip:
    case OpKind::kSigmoid:
    case OpKind::kHardSigmoid:
    case OpKind::kHardSwish:
    case OpKind::kAdd:
    case OpKind::kMul:
    case OpKind::kConcat:
      return true;
    default:
      return false;
  }
}
bool writes_hwc(const Step& s) {
  if (s.op.kind == OpKind::kQConv2d) return s.qconv2d_direct || s.depthwise || s.conv_as_gemm;
  if (s.op.kind == OpKind::kConv2d) return s.conv_as_gemm || s.depthwise;
  return keeps_layout(s);
}

// The one step reading value v (after step v - 1), or -1 when none or several do.
long only_reader(const greenai_edge_model* m, const uint32_t* readers, size_t v) {
  if (readers[v] != 1) return -1;
  for (size_t j = v; j < m->step_count; ++j)
    for (uint32_t u : m->steps[j].graph.input)
      if (u == v) return static_cast<long>(j);
  return -1;
}

// A Flatten whose one reader is a (Q)Linear that can take its input as [pixels, channels] (its
// weight columns permuted at load).
bool flatten_into_linear(const greenai_edge_model* m, const uint32_t* readers, size_t step) {
  if (m->steps[step].op.kind != OpKind::kFlatten) return false;
  const long j = only_reader(m, readers, step + 1);
  if (j < 0 || m->steps[j].graph.input[0] != step + 1) return false;
  const OpKind kind = m->steps[j].op.kind;
  return kind == OpKind::kQLinear || (kind == OpKind::kLinear && m->kernels->pack_linear_f32);
}

bool reads_hwc(const greenai_edge_model* m, const uint32_t* readers, size_t step) {
  const Step& s = m->steps[step];
  if (s.op.kind == OpKind::kQConv2d) return s.qconv2d_direct || s.depthwise;
  // fp32: im2col rows from (H, W, C) (weights permuted to match at load), or none for 1x1.
  if (s.op.kind == OpKind::kConv2d) return s.conv_as_gemm || s.depthwise;
  return keeps_layout(s) || flatten_into_linear(m, readers, step);
}

// A (C, H, W) value of one pixel: its bytes are the same in either layout.
bool one_pixel(const Step& producer) {
  return producer.out_dims == 3 && producer.out_shape[1] * producer.out_shape[2] == 1;
}

// The layout of every value (Step::in_hwc, hwc_output), once the kernels are chosen: a
// value lies channels last when its producer writes it so and each of its readers reads it so,
// and the operators that keep their layout (keeps_layout: pooling, the int8 unary operators,
// Add, Mul, Concat) have their output in the layout of their inputs. The input and the output
// of the model stay (C, H, W), as every value does on the reference set and for
// greenai_edge_load_memory_keeping_values (whose values the caller reads).
LoadError plan_layouts(greenai_edge_model* m) {
  if (m->kernels == &reference_kernels() || m->keep_values) return kOk;
  const size_t count = m->step_count + 1;
  uint32_t* readers = count_readers(m);
  auto* hwc = static_cast<bool*>(calloc(count, sizeof(bool)));
  if (!readers || !hwc) {
    free(readers);
    free(hwc);
    return no_memory("the value layouts");
  }
  for (size_t v = 1; v + 1 < count; ++v) {
    const Step& s = m->steps[v - 1];
    hwc[v] = s.out_dims == 3 && !one_pixel(s) && writes_hwc(s);
  }
  auto either = [&](uint32_t v) { return v > 0 && one_pixel(m->steps[v - 1]); };
  for (bool changed = true; changed;) {  // only ever true -> false: it ends
    changed = false;
    for (size_t i = 0; i < m->step_count; ++i) {
      const Step& s = m->steps[i];
      const uint32_t a = s.graph.input[0], b = s.graph.input[1];
      if (keeps_layout(s)) {
        // Its output, its first input, and a second input of the same shape share one layout
        // (a value of one pixel has both).
        const bool same_b = b != kNoValue && (s.op.kind == OpKind::kConcat ||
                                              s.binary.broadcast == Broadcast::kSame);
        const uint32_t linked[3] = {a, static_cast<uint32_t>(i + 1), same_b ? b : kNoValue};
        bool all = true;
        for (uint32_t v : linked)
          if (v != kNoValue && !either(v)) all = all && hwc[v];
        if (all) continue;
        for (uint32_t v : linked)
          if (v != kNoValue && hwc[v]) {
            hwc[v] = false;
            changed = true;
          }
        continue;
      }
      if (reads_hwc(m, readers, i)) continue;
      for (uint32_t v : s.graph.input)
        if (v != kNoValue && hwc[v]) {
          hwc[v] = false;
          changed = true;
        }
    }
  }
  for (size_t i = 0; i < m->step_count; ++i) {
    Step& s = m->steps[i];
    s.in_hwc = hwc[s.graph.input[0]];
    s.hwc_output = hwc[i + 1];
    s.conv.input_hwc = s.in_hwc;
    s.binary.channels_last = s.in_hwc;
    if (s.in_hwc && s.op.kind == OpKind::kFlatten)
      m->steps[only_reader(m, readers, i + 1)].hwc_channels = s.in_shape[0];
  }
  free(readers);
  free(hwc);
  return kOk;
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

// The im2col row of a dense convolution: in_channels x kernel height x kernel width.
uint64_t conv_row(const Conv2dShape& c) {
  return uint64_t{static_cast<uint32_t>(c.in_channels / c.groups)} *
         static_cast<uint32_t>(c.kernel) * static_cast<uint32_t>(c.kernel_w);
}

// fp32 Linear/Conv2d on a set with a packed GEMM; a convolution through im2col rows (grouped
// ones keep the reference's loops).
LoadError plan_f32(Step& s, const KernelSet& k, Sizes& sizes) {
  const bool conv = s.op.kind == OpKind::kConv2d;
  if (conv && s.depthwise) {  // the image, then a [pixels, channels] result; weights by tap
    const uint64_t pixels = uint64_t{static_cast<uint32_t>(s.conv.out_h)} * s.conv.out_w;
    sizes.conv_bytes = max_of<size_t>(sizes.conv_bytes, depthwise_image_f32_bytes(s.conv) +
                                                            pixels * s.op.out * sizeof(float) + 64);
    const size_t bytes = pack_depthwise_f32(nullptr, s.conv, nullptr);
    s.packed_f32_storage = static_cast<float*>(malloc(bytes + kAlignment));
    if (!s.packed_f32_storage) return no_memory("packed weights");
    auto* packed = reinterpret_cast<float*>(aligned(s.packed_f32_storage));
    pack_depthwise_f32(static_cast<const float*>(s.weight), s.conv, packed);
    s.packed_f32 = packed;
    return kOk;
  }
  if (conv && !s.conv_as_gemm) return kOk;  // grouped: the reference's loops
  const uint64_t row = conv ? conv_row(s.conv) : s.op.in;
  if (conv) {
    const uint64_t pixels = uint64_t{static_cast<uint32_t>(s.conv.out_h)} * s.conv.out_w;
    sizes.conv_bytes =
        max_of<size_t>(sizes.conv_bytes, (pixels * row + pixels * s.op.out) * sizeof(float) + 64);
  }
  const int inputs = static_cast<int>(row), outputs = static_cast<int>(s.op.out);
  const auto* w = static_cast<const float*>(s.weight);
  // Weight columns in [pixels, channels] order (a linear layer after a channels-last Flatten),
  // or in (ky, kx, c) order (a convolution on a channels-last input: its im2col rows' order).
  float* permuted = nullptr;
  const uint64_t channels = s.hwc_channels ? s.hwc_channels : conv && s.in_hwc ? s.op.in : 0;
  if (channels) {
    permuted = static_cast<float*>(malloc(row * s.op.out * sizeof(float)));
    if (!permuted) return no_memory("permuted weights");
    permute_columns(w, row, s.op.out, channels, permuted);
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

// The kernels of a step, chosen before the layouts (which depend on them): fp32 convolutions
// through im2col rows where the set has an fp32 GEMM (grouped ones keep the reference's loops);
// int8 ones on the fast sets directly on their image where the set has that kernel and the shape
// suits it (direct_conv_pays), depthwise ones through the set's depthwise kernel, others as a
// GEMM over im2col rows (one per output pixel, kernel x kernel x in_channels wide); the reference
// keeps the textbook loops. A layer with a -128 weight on a set that needs them in [-127, 127]
// runs on the reference (the depthwise kernel takes any).
void choose_kernels(Step& s, const greenai_edge_model* m) {
  const OpKind kind = s.op.kind;
  if (kind == OpKind::kConv2d) {
    s.conv_as_gemm = m->kernels->pack_linear_f32 && s.conv.groups == 1;
    s.depthwise = s.conv.groups > 1 && m->kernels->depthwise_f32 && is_depthwise(s.conv);
    return;
  }
  if (kind != OpKind::kQLinear && kind != OpKind::kQConv2d) return;
  const bool conv = kind == OpKind::kQConv2d;
  if (conv && m->kernels == &reference_kernels()) return;
  if (conv && s.conv.groups > 1) {
    s.depthwise = m->kernels->qdepthwise && is_depthwise(s.conv);
    return;
  }
  const uint64_t row = conv ? conv_row(s.conv) : s.op.in;
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
  if (conv && s.kernels->qconv2d_direct && is_square_dense(s.conv) && direct_conv_pays(s.conv))
    s.qconv2d_direct = s.kernels->qconv2d_direct_small_weights && small
                           ? s.kernels->qconv2d_direct_small_weights
                           : s.kernels->qconv2d_direct;
  s.conv_as_gemm = conv && !s.qconv2d_direct;
}

// QLinear/QConv2d on the kernels choose_kernels chose: the scratch they need, their weights
// packed, and the bias folded with the input zero point for unsigned (x + 128) and signed inputs
// (Requant).
LoadError plan_int8(Step& s, greenai_edge_model* m, Sizes& sizes) {
  const bool conv = s.op.kind == OpKind::kQConv2d;
  if (conv && m->kernels == &reference_kernels()) return kOk;
  if (conv && s.conv.groups > 1 && !s.depthwise) return kOk;
  const uint64_t row = conv ? conv_row(s.conv) : s.op.in;
  const auto* w = static_cast<const int8_t*>(s.weight);
  if (s.depthwise) {  // the example's image and sums, then its [pixels, channels] result
    const uint64_t pixels = uint64_t{static_cast<uint32_t>(s.conv.out_h)} * s.conv.out_w;
    sizes.conv_bytes = max_of<size_t>(
        sizes.conv_bytes, depthwise_image(s.conv).scratch_bytes + pixels * s.op.out + 64);
    const size_t bytes = pack_qdepthwise(nullptr, s.conv, nullptr);
    s.packed_storage = static_cast<int8_t*>(malloc(bytes + kAlignment));
    if (!s.packed_storage) return no_memory("packed weights");
    auto* packed = reinterpret_cast<int8_t*>(aligned(s.packed_storage));
    pack_qdepthwise(w, s.conv, packed);
    s.packed = packed;
  } else if (s.qconv2d_direct) {  // the example's image, then its [padded pixels, channels] result
    const ConvImage image = conv_image(s.conv);
    if (s.hwc_output)
      s.output_slack =
          static_cast<size_t>(image.padded_pixels - s.conv.out_h * s.conv.out_w) * s.op.out;
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
  if (!s.depthwise)
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

// The real function of an int8 unary operator.
float unary_real(const Step& s, float x) {
  switch (s.op.kind) {
    case OpKind::kClip:
      return min_of(max_of(x, s.graph.alpha), s.graph.beta);
    case OpKind::kSigmoid:
      return 1.0f / (1.0f + expf(-x));
    case OpKind::kHardSigmoid:
      return max_of(0.0f, min_of(1.0f, s.graph.alpha * x + s.graph.beta));
    case OpKind::kHardSwish:
      return x * max_of(0.0f, min_of(1.0f, x * (1.0f / 6.0f) + 0.5f));
    default:
      return x;  // Concat: a rescaling
  }
}

// The 256 output codes of code q + 128 at (scale, zero_point) through the step's function, at
// the output's scale (round half away from zero, as ref::quantize).
void fill_table(const Step& s, float scale, int32_t zero_point, int8_t* table) {
  for (int code = -128; code <= 127; ++code) {
    const float real = unary_real(s, scale * static_cast<float>(code - zero_point));
    const float q = roundf(real / s.op.scale) + static_cast<float>(s.op.output_zero_point);
    table[code + 128] = isnan(q) ? static_cast<int8_t>(s.op.output_zero_point)
                                 : static_cast<int8_t>(clamp_of(q, -128.0f, 127.0f));
  }
}

// int8 Clip, Sigmoid, HardSigmoid, HardSwish: one table; int8 Concat: one per input.
LoadError plan_table(Step& s) {
  const bool concat = s.op.kind == OpKind::kConcat;
  s.table = static_cast<int8_t*>(malloc(concat ? 512 : 256));
  if (!s.table) return no_memory("a lookup table");
  fill_table(s, s.graph.input_scale, s.op.input_zero_point, s.table);
  if (concat) fill_table(s, s.graph.input_scale_b, s.graph.input_zero_point_b, s.table + 256);
  return kOk;
}

// Where each value lies: its whole batch at value_offset in the arena's first values_bytes,
// placed first-fit among the values still to be read when it is written (so a step's output never
// overlaps its inputs). Flatten and Reshape write nothing: their value is their input's
// (value_root). The input and the last value are the caller's buffers.
struct Placed {
  size_t offset, bytes;
};
int by_offset(const void* a, const void* b) {
  const size_t x = static_cast<const Placed*>(a)->offset, y = static_cast<const Placed*>(b)->offset;
  return x < y ? -1 : x > y ? 1 : 0;
}

LoadError place_values(greenai_edge_model* m, int max_batch) {
  const size_t count = m->step_count + 1;
  m->value_offset = static_cast<size_t*>(calloc(count, sizeof(size_t)));
  m->value_root = static_cast<uint32_t*>(calloc(count, sizeof(uint32_t)));
  auto* last_read = static_cast<size_t*>(calloc(count, sizeof(size_t)));
  auto* bytes = static_cast<size_t*>(calloc(count, sizeof(size_t)));
  auto* live = static_cast<Placed*>(calloc(count, sizeof(Placed)));
  LoadError e = kOk;
  if (!m->value_offset || !m->value_root || !last_read || !bytes || !live)
    e = no_memory("the value plan");
  for (size_t v = 0; e.status == GREENAI_EDGE_OK && v < count; ++v) {
    m->value_root[v] = static_cast<uint32_t>(v);
    if (v == 0) continue;
    const Step& s = m->steps[v - 1];
    const bool alias = (s.op.kind == OpKind::kFlatten || s.op.kind == OpKind::kReshape) &&
                       v + 1 < count;          // the last value is the caller's output either way
    if (m->keep_values) last_read[v] = count;  // read until the end: no place is reused
    if (alias) m->value_root[v] = m->value_root[s.graph.input[0]];
    if (!m->keep_values) last_read[v] = v - 1;  // a value no step reads needs room while written
    bytes[v] = alias ? 0
                     : (s.out_elems * dtype_size(s.out_type) * static_cast<size_t>(max_batch) +
                        s.output_slack + kAlignment - 1) /
                           kAlignment * kAlignment;
  }
  for (size_t i = 0; e.status == GREENAI_EDGE_OK && i < m->step_count; ++i)
    for (uint32_t v : m->steps[i].graph.input)
      if (v != kNoValue) last_read[m->value_root[v]] = max_of(last_read[m->value_root[v]], i);
  size_t end = 0;
  for (size_t v = 1; e.status == GREENAI_EDGE_OK && v + 1 < count; ++v) {
    if (bytes[v] == 0) continue;
    size_t n = 0;  // the values placed before v and read at or after v's step
    for (size_t u = 1; u < v; ++u)
      if (bytes[u] && last_read[u] >= v - 1) live[n++] = {m->value_offset[u], bytes[u]};
    qsort(live, n, sizeof(Placed), by_offset);
    size_t at = 0;
    for (size_t j = 0; j < n && live[j].offset < at + bytes[v]; ++j)
      at = max_of(at, live[j].offset + live[j].bytes);
    m->value_offset[v] = at;
    end = max_of(end, at + bytes[v]);
  }
  m->values_bytes = end;
  free(last_read);
  free(bytes);
  free(live);
  return e;
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
  for (size_t step = 0; step < m->step_count; ++step) {
    m->steps[step].kernels = m->kernels;
    choose_kernels(m->steps[step], m);
  }
  if (LoadError e = plan_layouts(m); e.status != GREENAI_EDGE_OK) return e;
  Sizes sizes;
  for (size_t step = 0; step < m->step_count; ++step) {
    Step& s = m->steps[step];
    LoadError e = kOk;
    const OpKind kind = s.op.kind;
    if (s.in_type == DType::kI8 &&
        (kind == OpKind::kClip || kind == OpKind::kSigmoid || kind == OpKind::kHardSigmoid ||
         kind == OpKind::kHardSwish || kind == OpKind::kConcat))
      e = plan_table(s);
    else if ((s.op.kind == OpKind::kLinear || s.op.kind == OpKind::kConv2d) &&
             m->kernels->pack_linear_f32)
      e = plan_f32(s, *m->kernels, sizes);
    else if (s.op.kind == OpKind::kDynamicLinear)
      e = plan_dynamic(s, *m->kernels, sizes);
    else if (s.op.kind == OpKind::kQLinear || s.op.kind == OpKind::kQConv2d)
      e = plan_int8(s, m, sizes);
    if (e.status != GREENAI_EDGE_OK) return e;
  }
  // The values (place_values), then a scratch area for the kernels' converted inputs and the
  // convolutions' im2col rows.
  auto round_up = [](size_t n) { return (n + kAlignment - 1) / kAlignment * kAlignment; };
  m->conv_bytes = sizes.conv_bytes;
  m->max_batch = max_batch;
  if (LoadError e = place_values(m, max_batch); e.status != GREENAI_EDGE_OK) return e;
  m->scratch_bytes =
      max_of(round_up(sizes.scratch * static_cast<size_t>(max_batch)), round_up(m->conv_bytes));
  m->arena_bytes = m->values_bytes + m->scratch_bytes;
  m->arena = static_cast<uint8_t*>(malloc(m->arena_bytes + kAlignment));
  if (!m->arena)
    return fail(GREENAI_EDGE_ERROR_MEMORY, "cannot allocate the %zu-byte arena", m->arena_bytes);
  return kOk;
}

}  // namespace greenai::edge::internal
