// Loading, validating and running edge model files (docs/edge-format.md).
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "edge/internal/kernels.h"
#include "edge/internal/scalar.h"
#include "greenai/edge/greenai_edge.h"
#include "greenai/edge/records.h"

using namespace greenai::edge;
using namespace greenai::edge::internal;

namespace {

constexpr uint32_t kMaxOps = 4096;
constexpr uint32_t kMaxTensors = 65536;
constexpr uint64_t kMaxActivation = 1ULL << 24;  // elements per example: 64 MiB of fp32
constexpr int kMaxBatch = 1 << 16;

// One validated step of the graph, with its tensors resolved to pointers into the file.
struct Step {
  OpRecord op;
  DType in_type, out_type;
  uint32_t in_shape[kMaxDims], out_shape[kMaxDims];
  int in_dims, out_dims;
  uint64_t in_elems, out_elems;
  const void* weight = nullptr;
  const void* bias = nullptr;
  const int32_t* multiplier = nullptr;
  const int32_t* shift = nullptr;
  const float* weight_scale = nullptr;  // kDynamicLinear; int8 ops with kFlagScales
  Conv2dShape conv{};
  // QLinear, QConv2d: see Requant::bias_unsigned and bias_signed (one allocation, 2 x out).
  int32_t* bias_unsigned = nullptr;
  const int32_t* bias_signed = nullptr;
  // The kernels of this step: the model's set, or the reference where the set cannot take the
  // layer (int8 weights of -128 on a set that needs them in [-127, 127]).
  const KernelSet* kernels = nullptr;
  bool conv_as_gemm = false;  // (Q)Conv2d through im2col and the kernel set's (q)linear
  // QConv2d -> Flatten -> QLinear on a fast set: the conv leaves its output as [pixels, channels]
  // (no transpose) and the QLinear's weight columns are permuted to that order at load.
  bool hwc_output = false;
  uint32_t hwc_channels = 0;  // QLinear: its input is [pixels, channels] of this many channels
  // QLinear / QConv2d weights in the kernel set's layout, if it has one, 64-byte aligned: a
  // 64-byte vector load that straddles two cache lines costs two (measured 2x on the teacher).
  int8_t* packed_storage = nullptr;
  const int8_t* packed = nullptr;
  // Linear / Conv2d weights in the layout of the set's pack_linear_f32, 64-byte aligned.
  float* packed_f32_storage = nullptr;
  const float* packed_f32 = nullptr;
  int64_t* row_sums = nullptr;  // kDynamicLinear: sum of each channel's weights
};

struct LoadError {
  greenai_edge_status status;
  char message[160];
};

LoadError fail(greenai_edge_status status, const char* format, ...)
    __attribute__((format(printf, 2, 3)));
LoadError fail(greenai_edge_status status, const char* format, ...) {
  LoadError e{status, {}};
  va_list args;
  va_start(args, format);
  vsnprintf(e.message, sizeof e.message, format, args);
  va_end(args);
  return e;
}

uint64_t elements(const uint32_t* shape, int dims) {
  uint64_t n = 1;
  for (int i = 0; i < dims; ++i) n *= shape[i];
  return n;
}

}  // namespace

// Allocated zeroed with calloc and released by greenai_edge_free: the runtime uses the C library
// only (no operator new, no containers), so it links without the C++ standard library.
struct greenai_edge_model {
  const uint8_t* data;
  size_t size;
  bool mapped;
  Step* steps;  // step_count of them, calloc'd
  size_t step_count;
  int max_batch;
  uint64_t input_size, output_size;
  uint8_t* arena;
  size_t arena_bytes, buffer_bytes, scratch_bytes;
  size_t conv_bytes;  // im2col rows and a [pixels, channels] output, for one example
  const KernelSet* kernels;
  char error[160];
};

namespace {

void set_error(char* error, size_t error_size, const char* message) {
  if (error && error_size) snprintf(error, error_size, "%s", message);
}

greenai_edge_model* new_model() {
  return static_cast<greenai_edge_model*>(calloc(1, sizeof(greenai_edge_model)));
}

void free_model(greenai_edge_model* m) {
  if (!m) return;
  for (size_t i = 0; i < m->step_count; ++i) {
    free(m->steps[i].bias_unsigned);
    free(m->steps[i].packed_storage);
    free(m->steps[i].packed_f32_storage);
    free(m->steps[i].row_sums);
  }
  free(m->steps);
  free(m->arena);
  if (m->mapped) munmap(const_cast<uint8_t*>(m->data), m->size);
  free(m);
}

OpRecord op_record(const uint8_t* data, size_t i) {
  OpRecord r;
  memcpy(&r, data + sizeof(Header) + i * sizeof(OpRecord), sizeof r);
  return r;
}

// Validates the file and fills model->steps; returns OK or the first problem found.
LoadError validate(greenai_edge_model& m) {
  if (m.size < sizeof(Header))
    return fail(GREENAI_EDGE_ERROR_FORMAT, "truncated: shorter than the 64-byte header");
  Header h;
  memcpy(&h, m.data, sizeof h);
  if (memcmp(h.magic, kMagic, sizeof kMagic) != 0)
    return fail(GREENAI_EDGE_ERROR_FORMAT, "wrong magic: not a GreenAI edge file");
  if (h.version != kVersion)
    return fail(GREENAI_EDGE_ERROR_VERSION, "format version %u, this runtime reads %u", h.version,
                kVersion);
  if (h.header_bytes != sizeof(Header)) return fail(GREENAI_EDGE_ERROR_FORMAT, "bad header size");
  if (h.file_bytes != m.size)
    return fail(GREENAI_EDGE_ERROR_FORMAT,
                "truncated or padded: header says %llu bytes, file has %zu",
                static_cast<unsigned long long>(h.file_bytes), m.size);
  {
    uint32_t crc = crc32(m.data, offsetof(Header, checksum));
    const uint32_t zero = 0;
    crc = crc32(&zero, sizeof zero, crc);
    crc = crc32(m.data + offsetof(Header, checksum) + 4, m.size - offsetof(Header, checksum) - 4,
                crc);
    if (crc != h.checksum)
      return fail(GREENAI_EDGE_ERROR_CHECKSUM, "checksum mismatch: the file is corrupted");
  }
  if (h.op_count == 0 || h.op_count > kMaxOps || h.tensor_count > kMaxTensors)
    return fail(GREENAI_EDGE_ERROR_FORMAT, "implausible operator or tensor count");
  const uint64_t records = sizeof(Header) + uint64_t{h.op_count} * sizeof(OpRecord) +
                           uint64_t{h.tensor_count} * sizeof(TensorRecord);
  if (h.data_offset % kAlignment != 0 || h.data_offset < records || h.data_offset > m.size)
    return fail(GREENAI_EDGE_ERROR_FORMAT, "bad data offset");
  const uint8_t* tensor_records = m.data + sizeof(Header) + size_t{h.op_count} * sizeof(OpRecord);
  auto tensor_record = [&](size_t i) {
    TensorRecord t;
    memcpy(&t, tensor_records + i * sizeof(TensorRecord), sizeof t);
    return t;
  };
  const uint64_t data_bytes = m.size - h.data_offset;
  for (size_t i = 0; i < h.tensor_count; ++i) {
    const TensorRecord t = tensor_record(i);
    const size_t unit = dtype_size(t.dtype);
    if (unit == 0 || t.bytes != uint64_t{t.count} * unit || t.offset % kAlignment != 0 ||
        t.offset > data_bytes || t.bytes > data_bytes - t.offset)
      return fail(GREENAI_EDGE_ERROR_FORMAT, "tensor %zu: bad type, size or offset past the end",
                  i);
  }
  // Resolves an operator's tensor; on a problem, writes it into `problem` and returns false.
  char problem[160] = "";
  auto tensor = [&](uint32_t index, DType dtype, uint64_t count, const char* what, size_t op,
                    const void** out) {
    if (index >= h.tensor_count) {
      snprintf(problem, sizeof problem, "op %zu: %s tensor missing", op, what);
      return false;
    }
    const TensorRecord t = tensor_record(index);
    if (t.dtype != dtype || t.count != count) {
      snprintf(problem, sizeof problem, "op %zu: %s tensor has the wrong type or size", op, what);
      return false;
    }
    *out = m.data + h.data_offset + t.offset;
    return true;
  };
  m.steps = static_cast<Step*>(calloc(h.op_count, sizeof(Step)));
  if (!m.steps) return fail(GREENAI_EDGE_ERROR_MEMORY, "cannot allocate %u steps", h.op_count);

  // Walk the graph, checking that shapes and types chain.
  uint32_t shape[kMaxDims] = {h.input_shape[0], h.input_shape[1], h.input_shape[2]};
  int dims = h.input_shape[2] ? 3 : h.input_shape[1] ? 2 : 1;
  if (dims == 2 || h.input_shape[0] == 0)
    return fail(GREENAI_EDGE_ERROR_SHAPE, "input shape must be (N) or (C, H, W)");
  for (int d = 0; d < dims; ++d)
    if (shape[d] > (1u << 20)) return fail(GREENAI_EDGE_ERROR_SHAPE, "input dimension too large");
  DType type = DType::kF32;
  m.input_size = elements(shape, dims);
  if (m.input_size > kMaxActivation) return fail(GREENAI_EDGE_ERROR_SHAPE, "input too large");
  for (size_t i = 0; i < h.op_count; ++i) {
    Step s{};
    s.op = op_record(m.data, i);
    s.in_type = type;
    memcpy(s.in_shape, shape, sizeof shape);
    s.in_dims = dims;
    s.in_elems = elements(shape, dims);
    const OpRecord& op = s.op;
    auto shape_error = [&](const char* text) {
      return fail(GREENAI_EDGE_ERROR_SHAPE, "op %zu: %s", i, text);
    };
    const bool quantized_op = op.kind == OpKind::kQLinear || op.kind == OpKind::kQConv2d;
    const bool dynamic = op.kind == OpKind::kDynamicLinear;
    const bool float_only = op.kind == OpKind::kLinear || op.kind == OpKind::kConv2d ||
                            op.kind == OpKind::kSoftmax || op.kind == OpKind::kQuantize || dynamic;
    if (float_only && type != DType::kF32) return shape_error("expects a float32 input");
    if ((quantized_op || op.kind == OpKind::kDequantize) && type != DType::kI8)
      return shape_error("expects an int8 input");
    bool ok = true;
    switch (op.kind) {
      case OpKind::kLinear:
      case OpKind::kQLinear:
      case OpKind::kDynamicLinear: {
        if (dims != 1 || shape[0] != op.in || op.out == 0 || op.out > (1u << 20)) {
          if (dims == 1)
            return fail(GREENAI_EDGE_ERROR_SHAPE, "op %zu: expects %u features, gets %u", i, op.in,
                        shape[0]);
          return fail(GREENAI_EDGE_ERROR_SHAPE, "op %zu: expects %u features, gets %d-d input", i,
                      op.in, dims);
        }
        const DType wt = op.kind == OpKind::kLinear ? DType::kF32 : DType::kI8;
        const DType bt = op.kind == OpKind::kQLinear ? DType::kI32 : DType::kF32;
        ok = tensor(op.weight, wt, uint64_t{op.in} * op.out, "weight", i, &s.weight);
        if (ok && (op.bias != kNoTensor || quantized_op))
          ok = tensor(op.bias, bt, op.out, "bias", i, &s.bias);
        shape[0] = op.out;
        break;
      }
      case OpKind::kConv2d:
      case OpKind::kQConv2d:
      case OpKind::kMaxPool2d:
      case OpKind::kAvgPool2d: {
        const bool conv = op.kind == OpKind::kConv2d || op.kind == OpKind::kQConv2d;
        if (dims != 3) return shape_error("needs a (C, H, W) input");
        if (conv && (shape[0] != op.in || op.out == 0 || op.out > 65536))
          return shape_error("channel count does not chain");
        if (op.kernel == 0 || op.kernel > 64 || op.stride == 0 || op.stride > 64 ||
            op.padding >= op.kernel)
          return shape_error("bad kernel, stride or padding");
        const int64_t oh = (int64_t{shape[1]} + 2 * op.padding - op.kernel) / op.stride + 1;
        const int64_t ow = (int64_t{shape[2]} + 2 * op.padding - op.kernel) / op.stride + 1;
        if (int64_t{shape[1]} + 2 * op.padding < op.kernel ||
            int64_t{shape[2]} + 2 * op.padding < op.kernel || oh <= 0 || ow <= 0)
          return shape_error("kernel larger than the padded input");
        s.conv = {static_cast<int>(shape[0]),  static_cast<int>(shape[1]),
                  static_cast<int>(shape[2]),  static_cast<int>(conv ? op.out : shape[0]),
                  static_cast<int>(oh),        static_cast<int>(ow),
                  static_cast<int>(op.kernel), static_cast<int>(op.stride),
                  static_cast<int>(op.padding)};
        if (conv) {
          const DType wt = op.kind == OpKind::kConv2d ? DType::kF32 : DType::kI8;
          const DType bt = op.kind == OpKind::kConv2d ? DType::kF32 : DType::kI32;
          ok = tensor(op.weight, wt, uint64_t{op.out} * op.in * op.kernel * op.kernel, "weight", i,
                      &s.weight);
          if (ok && (op.bias != kNoTensor || quantized_op))
            ok = tensor(op.bias, bt, op.out, "bias", i, &s.bias);
          shape[0] = op.out;
        }
        shape[1] = static_cast<uint32_t>(oh);
        shape[2] = static_cast<uint32_t>(ow);
        break;
      }
      case OpKind::kFlatten:
        shape[0] = static_cast<uint32_t>(elements(shape, dims));
        shape[1] = shape[2] = 0;
        dims = 1;
        break;
      case OpKind::kReLU:
      case OpKind::kSoftmax:
        if (op.kind == OpKind::kSoftmax && dims != 1)
          return shape_error("softmax needs a flat input");
        break;
      case OpKind::kQuantize:
        if (!(op.scale > 0) || op.output_zero_point < -128 || op.output_zero_point > 127)
          return shape_error("bad scale or zero point");
        type = DType::kI8;
        break;
      case OpKind::kDequantize:
        if (!(op.scale > 0) || op.input_zero_point < -128 || op.input_zero_point > 127)
          return shape_error("bad scale or zero point");
        type = DType::kF32;
        break;
      default:
        return fail(GREENAI_EDGE_ERROR_FORMAT, "op %zu: unknown operator kind %u", i,
                    static_cast<uint32_t>(op.kind));
    }
    if (ok && (dynamic || (quantized_op && (op.flags & kFlagScales)))) {
      const void* scales = nullptr;
      ok = tensor(op.weight_scale, DType::kF32, op.out, "weight scale", i, &scales);
      s.weight_scale = static_cast<const float*>(scales);
    }
    if (ok && quantized_op) {
      const void* mult = nullptr;
      const void* shift = nullptr;
      ok = tensor(op.multiplier, DType::kI32, op.out, "multiplier", i, &mult) &&
           tensor(op.shift, DType::kI32, op.out, "shift", i, &shift);
      s.multiplier = static_cast<const int32_t*>(mult);
      s.shift = static_cast<const int32_t*>(shift);
      if (ok && (op.input_zero_point < -128 || op.input_zero_point > 127 ||
                 op.output_zero_point < -128 || op.output_zero_point > 127))
        return fail(GREENAI_EDGE_ERROR_FORMAT, "op %zu: zero point outside int8", i);
      for (uint32_t c = 0; ok && c < op.out; ++c)
        if (s.shift[c] < -31 || s.shift[c] > 30 || s.multiplier[c] < 0)
          return fail(GREENAI_EDGE_ERROR_FORMAT, "op %zu: bad requantization", i);
    }
    if (!ok) return fail(GREENAI_EDGE_ERROR_FORMAT, "%s", problem);
    memcpy(s.out_shape, shape, sizeof shape);
    s.out_dims = dims;
    s.out_elems = elements(shape, dims);
    s.out_type = type;
    if (s.out_elems == 0 || s.out_elems > kMaxActivation)
      return shape_error("activation too large or empty");
    m.steps[m.step_count++] = s;
  }
  if (type != DType::kF32)
    return fail(GREENAI_EDGE_ERROR_SHAPE, "the model must end in float32 (add a Dequantize)");
  m.output_size = elements(shape, dims);
  return {GREENAI_EDGE_OK, {}};
}

// Plans the arena and prepares the steps of a validated model.
LoadError prepare(greenai_edge_model* m, int max_batch) {
  // Two ping-pong buffers, each large enough for the largest activation of the batch, and a
  // scratch area for kernels that convert their int8 input to unsigned.
  m->kernels = select_kernels();
  if (!m->kernels) {
    char names[128];
    runnable_kernel_names(names, sizeof names);
    return fail(GREENAI_EDGE_ERROR_ARGUMENT,
                "GREENAI_EDGE_KERNELS=%s is not a kernel set this CPU runs (it runs: %s)",
                getenv("GREENAI_EDGE_KERNELS"), names);
  }
  size_t largest = 0, scratch = 0;
  for (size_t i = 0; m->kernels != &reference_kernels() && i + 2 < m->step_count; ++i)
    if (m->steps[i].op.kind == OpKind::kQConv2d && m->steps[i + 1].op.kind == OpKind::kFlatten &&
        m->steps[i + 2].op.kind == OpKind::kQLinear) {
      m->steps[i].hwc_output = true;
      m->steps[i + 2].hwc_channels = m->steps[i].op.out;
    }
  auto no_memory = [](const char* what) {
    return fail(GREENAI_EDGE_ERROR_MEMORY, "cannot allocate %s", what);
  };
  // Packed copies start on a 64-byte boundary: a vector load that straddles two cache lines
  // costs two (measured 2x on the teacher).
  auto aligned = [](void* storage) {
    auto* bytes = static_cast<uint8_t*>(storage);
    return bytes + (kAlignment - reinterpret_cast<uintptr_t>(bytes) % kAlignment) % kAlignment;
  };
  for (size_t step = 0; step < m->step_count; ++step) {
    Step& s = m->steps[step];
    s.kernels = m->kernels;
    largest = max_of<size_t>(largest, s.out_elems * dtype_size(s.out_type));
    if ((s.op.kind == OpKind::kLinear || s.op.kind == OpKind::kConv2d) &&
        m->kernels->pack_linear_f32) {
      // fp32 layers: the set's packed GEMM; a convolution through im2col rows.
      const bool conv = s.op.kind == OpKind::kConv2d;
      const uint64_t row = conv ? uint64_t{s.op.in} * s.op.kernel * s.op.kernel : s.op.in;
      if (conv) {
        s.conv_as_gemm = true;
        const uint64_t pixels = uint64_t{static_cast<uint32_t>(s.conv.out_h)} * s.conv.out_w;
        m->conv_bytes =
            max_of<size_t>(m->conv_bytes, (pixels * row + pixels * s.op.out) * sizeof(float) + 64);
      }
      const int inputs = static_cast<int>(row), outputs = static_cast<int>(s.op.out);
      const size_t bytes = m->kernels->pack_linear_f32(nullptr, inputs, outputs, nullptr);
      s.packed_f32_storage = static_cast<float*>(malloc(bytes + kAlignment));
      if (!s.packed_f32_storage) return no_memory("packed weights");
      auto* packed = reinterpret_cast<float*>(aligned(s.packed_f32_storage));
      m->kernels->pack_linear_f32(static_cast<const float*>(s.weight), inputs, outputs, packed);
      s.packed_f32 = packed;
      continue;
    }
    if (s.op.kind == OpKind::kDynamicLinear) {
      // Unsigned rows padded to groups of 4, and a scale and zero point per example.
      scratch = max_of<size_t>(scratch, s.in_elems + 3 + 8);
      const auto* w = static_cast<const int8_t*>(s.weight);
      s.row_sums = static_cast<int64_t*>(calloc(s.op.out, sizeof(int64_t)));
      if (!s.row_sums) return no_memory("weight sums");
      for (uint32_t c = 0; c < s.op.out; ++c)
        for (uint32_t i = 0; i < s.op.in; ++i) s.row_sums[c] += w[uint64_t{c} * s.op.in + i];
      // The kernel set's GEMM on packed weights (its int32 sums are exact up to 65536 inputs).
      if (m->kernels->dynamic_linear && m->kernels->pack_qlinear && s.op.in <= 65536) {
        const int inputs = static_cast<int>(s.op.in), outputs = static_cast<int>(s.op.out);
        const size_t bytes = m->kernels->pack_qlinear(nullptr, inputs, outputs, nullptr);
        s.packed_storage = static_cast<int8_t*>(malloc(bytes + kAlignment));
        if (!s.packed_storage) return no_memory("packed weights");
        auto* packed = reinterpret_cast<int8_t*>(aligned(s.packed_storage));
        m->kernels->pack_qlinear(w, inputs, outputs, packed);
        s.packed = packed;
      }
      continue;
    }
    const bool conv = s.op.kind == OpKind::kQConv2d;
    if (s.op.kind != OpKind::kQLinear && !conv) continue;
    // A convolution runs as a GEMM over im2col rows (one per output pixel, kernel x kernel x
    // in_channels wide) on the fast kernel sets; the reference set keeps the textbook loops.
    const uint64_t row = conv ? uint64_t{s.op.in} * s.op.kernel * s.op.kernel : s.op.in;
    if (conv) {
      if (m->kernels == &reference_kernels()) continue;
      s.conv_as_gemm = true;
      const uint64_t pixels = uint64_t{static_cast<uint32_t>(s.conv.out_h)} * s.conv.out_w;
      // im2col rows, the kernel's scratch for them, the [pixels, channels] result.
      m->conv_bytes = max_of<size_t>(
          m->conv_bytes,
          pixels * row + pixels * kQLinearScratchPerInput * (row + 4) + pixels * s.op.out + 64);
    } else {
      scratch = max_of<size_t>(scratch, kQLinearScratchPerInput * (s.in_elems + 4));
    }
    const int inputs = static_cast<int>(row), outputs = static_cast<int>(s.op.out);
    const auto* w = static_cast<const int8_t*>(s.weight);
    if (m->kernels->qlinear_needs_symmetric_weights)
      for (uint64_t i = 0; i < row * s.op.out; ++i)
        if (w[i] == -128) {
          s.kernels = &reference_kernels();
          break;
        }
    const KernelSet& k = *s.kernels;
    int8_t* permuted = nullptr;  // weight columns in [pixels, channels] order
    if (s.hwc_channels) {
      const uint64_t channels = s.hwc_channels, pixels = row / channels;
      permuted = static_cast<int8_t*>(malloc(row * s.op.out));
      if (!permuted) return no_memory("permuted weights");
      for (uint64_t o = 0; o < s.op.out; ++o)
        for (uint64_t c = 0; c < channels; ++c)
          for (uint64_t p = 0; p < pixels; ++p)
            permuted[o * row + p * channels + c] = w[o * row + c * pixels + p];
    }
    const int8_t* source = permuted ? permuted : w;
    if (k.pack_qlinear || permuted) {
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
    }
    free(permuted);
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
  }
  auto round_up = [](size_t n) { return (n + kAlignment - 1) / kAlignment * kAlignment; };
  m->max_batch = max_batch;
  m->buffer_bytes = round_up(largest * static_cast<size_t>(max_batch));
  m->scratch_bytes =
      max_of(round_up(scratch * static_cast<size_t>(max_batch)), round_up(m->conv_bytes));
  m->arena_bytes = 2 * m->buffer_bytes + m->scratch_bytes;
  m->arena = static_cast<uint8_t*>(malloc(m->arena_bytes + kAlignment));
  if (!m->arena)
    return fail(GREENAI_EDGE_ERROR_MEMORY, "cannot allocate the %zu-byte arena", m->arena_bytes);
  return {GREENAI_EDGE_OK, {}};
}

// Validates and prepares a model whose data and size are set; on success hands it to *out,
// otherwise frees it.
greenai_edge_status finish_load(greenai_edge_model* m, int max_batch, greenai_edge_model** out,
                                char* error, size_t error_size) {
  LoadError result{GREENAI_EDGE_OK, {}};
  if (max_batch < 1 || max_batch > kMaxBatch)
    result = fail(GREENAI_EDGE_ERROR_ARGUMENT, "max_batch must be between 1 and 65536");
  if (result.status == GREENAI_EDGE_OK) result = validate(*m);
  if (result.status == GREENAI_EDGE_OK) result = prepare(m, max_batch);
  if (result.status != GREENAI_EDGE_OK) {
    set_error(error, error_size, result.message);
    free_model(m);
    return result.status;
  }
  *out = m;
  return GREENAI_EDGE_OK;
}

// One example's im2col rows: for each output pixel, the kernel x kernel x in_channels inputs it
// sees, `pad` where the window leaves the image.
template <typename T>
void im2col(const T* x, const Conv2dShape& c, T pad, T* cols) {
  const int row = c.in_channels * c.kernel * c.kernel;
  for (int oy = 0; oy < c.out_h; ++oy)
    for (int ox = 0; ox < c.out_w; ++ox) {
      T* dst = cols + static_cast<long>(oy * c.out_w + ox) * row;
      const int ix0 = ox * c.stride - c.padding;
      const bool x_inside = ix0 >= 0 && ix0 + c.kernel <= c.in_w;
      for (int ic = 0; ic < c.in_channels; ++ic)
        for (int ky = 0; ky < c.kernel; ++ky, dst += c.kernel) {
          const int iy = oy * c.stride - c.padding + ky;
          if (iy < 0 || iy >= c.in_h) {
            for (int kx = 0; kx < c.kernel; ++kx) dst[kx] = pad;
            continue;
          }
          const T* image_row = x + (static_cast<long>(ic) * c.in_h + iy) * c.in_w;
          if (x_inside) {  // a loop, not memcpy: a call costs more than a 3-element copy
            for (int kx = 0; kx < c.kernel; ++kx) dst[kx] = image_row[ix0 + kx];
            continue;
          }
          for (int kx = 0; kx < c.kernel; ++kx)
            dst[kx] = ix0 + kx >= 0 && ix0 + kx < c.in_w ? image_row[ix0 + kx] : pad;
        }
    }
}

// QConv2d on a fast kernel set, one example at a time: im2col (padding holds the input zero point,
// real 0, as the reference assumes), the kernel set's int8 GEMM with the conv's requantization,
// then [pixels, channels] to (C, H, W). The integer sums are those of ref::qconv2d: bit-exact.
void qconv2d_as_gemm(const Step& s, const KernelSet& k, const Requant& r, const int8_t* x,
                     int batch, uint8_t* scratch, int8_t* y) {
  const Conv2dShape& c = s.conv;
  const int kk = c.kernel * c.kernel, row = c.in_channels * kk, pixels = c.out_h * c.out_w;
  auto* cols = reinterpret_cast<int8_t*>(scratch);
  uint8_t* kernel_scratch = scratch + static_cast<size_t>(pixels) * row;
  auto* result = reinterpret_cast<int8_t*>(
      kernel_scratch + static_cast<size_t>(pixels) * kQLinearScratchPerInput * (row + 4));
  const auto pad = static_cast<int8_t>(s.op.input_zero_point);
  const long in_size = static_cast<long>(c.in_channels) * c.in_h * c.in_w;
  const long out_size = static_cast<long>(c.out_channels) * pixels;
  for (int n = 0; n < batch; ++n) {
    im2col(x + n * in_size, c, pad, cols);
    int8_t* yn = y + n * out_size;
    k.qlinear(cols, pixels, row, c.out_channels,
              s.packed ? s.packed : static_cast<const int8_t*>(s.weight), r, kernel_scratch,
              s.hwc_output ? yn : result);
    if (s.hwc_output) continue;                  // the next QLinear reads [pixels, channels]
    for (int oc = 0; oc < c.out_channels; ++oc)  // sequential stores, strided loads from L1
      for (int p = 0; p < pixels; ++p)
        yn[static_cast<long>(oc) * pixels + p] = result[static_cast<long>(p) * c.out_channels + oc];
  }
}

// Conv2d on a set with an fp32 GEMM, one example at a time: im2col (zeros for padding), the
// GEMM with packed weights into [pixels, channels], then (C, H, W). The same products as
// ref::conv2d_f32, summed in another order: within kF32Tolerance.
void conv2d_as_gemm(const Step& s, const float* x, int batch, uint8_t* scratch, bool relu,
                    float* y) {
  const Conv2dShape& c = s.conv;
  const int kk = c.kernel * c.kernel, row = c.in_channels * kk, pixels = c.out_h * c.out_w;
  auto* cols = reinterpret_cast<float*>(scratch);
  float* result = cols + static_cast<size_t>(pixels) * row;
  const long in_size = static_cast<long>(c.in_channels) * c.in_h * c.in_w;
  const long out_size = static_cast<long>(c.out_channels) * pixels;
  for (int n = 0; n < batch; ++n) {
    im2col(x + n * in_size, c, 0.0f, cols);
    s.kernels->linear_f32(cols, pixels, row, c.out_channels, s.packed_f32,
                          static_cast<const float*>(s.bias), relu, result);
    float* yn = y + n * out_size;
    for (int oc = 0; oc < c.out_channels; ++oc)
      for (int p = 0; p < pixels; ++p)
        yn[static_cast<long>(oc) * pixels + p] = result[static_cast<long>(p) * c.out_channels + oc];
  }
}

void run_step(const Step& s, const void* in, void* out, uint8_t* scratch, int batch) {
  const KernelSet& k = *s.kernels;
  const OpRecord& op = s.op;
  const bool relu = op.flags & kFlagFusedReLU;
  const long count = static_cast<long>(s.in_elems) * batch;
  Requant r{};
  if (op.kind == OpKind::kQLinear || op.kind == OpKind::kQConv2d) {
    r = {static_cast<const int32_t*>(s.bias),
         s.multiplier,
         s.shift,
         op.input_zero_point,
         op.output_zero_point,
         relu ? op.output_zero_point : -128,
         127,
         s.bias_unsigned,
         s.bias_signed};
  }
  switch (op.kind) {
    case OpKind::kLinear:
      k.linear_f32(static_cast<const float*>(in), batch, static_cast<int>(op.in),
                   static_cast<int>(op.out),
                   s.packed_f32 ? s.packed_f32 : static_cast<const float*>(s.weight),
                   static_cast<const float*>(s.bias), relu, static_cast<float*>(out));
      break;
    case OpKind::kQLinear:
      k.qlinear(static_cast<const int8_t*>(in), batch, static_cast<int>(op.in),
                static_cast<int>(op.out),
                s.packed ? s.packed : static_cast<const int8_t*>(s.weight), r, scratch,
                static_cast<int8_t*>(out));
      break;
    case OpKind::kDynamicLinear:
      (s.packed ? k.dynamic_linear : ref::dynamic_linear)(
          static_cast<const float*>(in), batch, static_cast<int>(op.in), static_cast<int>(op.out),
          s.packed ? s.packed : static_cast<const int8_t*>(s.weight), s.weight_scale, s.row_sums,
          static_cast<const float*>(s.bias), relu, scratch, static_cast<float*>(out));
      break;
    case OpKind::kConv2d:
      if (s.conv_as_gemm)
        conv2d_as_gemm(s, static_cast<const float*>(in), batch, scratch, relu,
                       static_cast<float*>(out));
      else
        ref::conv2d_f32(static_cast<const float*>(in), batch, s.conv,
                        static_cast<const float*>(s.weight), static_cast<const float*>(s.bias),
                        relu, static_cast<float*>(out));
      break;
    case OpKind::kQConv2d:
      if (s.conv_as_gemm)
        qconv2d_as_gemm(s, k, r, static_cast<const int8_t*>(in), batch, scratch,
                        static_cast<int8_t*>(out));
      else
        ref::qconv2d(static_cast<const int8_t*>(in), batch, s.conv,
                     static_cast<const int8_t*>(s.weight), r, static_cast<int8_t*>(out));
      break;
    case OpKind::kMaxPool2d:
      if (s.in_type == DType::kF32)
        ref::max_pool_f32(static_cast<const float*>(in), batch, s.conv, static_cast<float*>(out));
      else
        ref::max_pool_i8(static_cast<const int8_t*>(in), batch, s.conv, static_cast<int8_t*>(out));
      break;
    case OpKind::kAvgPool2d:
      if (s.in_type == DType::kF32)
        ref::avg_pool_f32(static_cast<const float*>(in), batch, s.conv, static_cast<float*>(out));
      else
        ref::avg_pool_i8(static_cast<const int8_t*>(in), batch, s.conv, static_cast<int8_t*>(out));
      break;
    case OpKind::kReLU:
      if (s.in_type == DType::kF32)
        ref::relu_f32(static_cast<const float*>(in), count, static_cast<float*>(out));
      else
        ref::relu_i8(static_cast<const int8_t*>(in), count,
                     static_cast<int8_t>(op.input_zero_point), static_cast<int8_t*>(out));
      break;
    case OpKind::kSoftmax:
      ref::softmax_f32(static_cast<const float*>(in), batch, static_cast<int>(s.in_elems),
                       static_cast<float*>(out));
      break;
    case OpKind::kQuantize:
      k.quantize(static_cast<const float*>(in), count, op.scale, op.output_zero_point,
                 static_cast<int8_t*>(out));
      break;
    case OpKind::kDequantize:
      ref::dequantize(static_cast<const int8_t*>(in), count, op.scale, op.input_zero_point,
                      static_cast<float*>(out));
      break;
    case OpKind::kFlatten:
      memcpy(out, in, count * dtype_size(s.in_type));
      break;
  }
}

}  // namespace

extern "C" {

greenai_edge_status greenai_edge_load_memory(const void* data, size_t size, int max_batch,
                                             greenai_edge_model** model, char* error,
                                             size_t error_size) {
  if (!data || !model) {
    set_error(error, error_size, "null argument");
    return GREENAI_EDGE_ERROR_ARGUMENT;
  }
  if (reinterpret_cast<uintptr_t>(data) % kAlignment != 0) {
    set_error(error, error_size, "the bytes must be 64-byte aligned");
    return GREENAI_EDGE_ERROR_ARGUMENT;
  }
  greenai_edge_model* m = new_model();
  if (!m) {
    set_error(error, error_size, "cannot allocate the model");
    return GREENAI_EDGE_ERROR_MEMORY;
  }
  m->data = static_cast<const uint8_t*>(data);
  m->size = size;
  return finish_load(m, max_batch, model, error, error_size);
}

greenai_edge_status greenai_edge_load_file(const char* path, int max_batch,
                                           greenai_edge_model** model, char* error,
                                           size_t error_size) {
  if (!path || !model) {
    set_error(error, error_size, "null argument");
    return GREENAI_EDGE_ERROR_ARGUMENT;
  }
  char text[160];
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    snprintf(text, sizeof text, "cannot open %s: %s", path, strerror(errno));
    set_error(error, error_size, text);
    return GREENAI_EDGE_ERROR_IO;
  }
  struct stat st {};
  if (fstat(fd, &st) != 0 || st.st_size <= 0) {
    close(fd);
    snprintf(text, sizeof text, "cannot read %s: empty or unreadable", path);
    set_error(error, error_size, text);
    return st.st_size == 0 ? GREENAI_EDGE_ERROR_FORMAT : GREENAI_EDGE_ERROR_IO;
  }
  void* mapped = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (mapped == MAP_FAILED) {
    snprintf(text, sizeof text, "cannot map %s: %s", path, strerror(errno));
    set_error(error, error_size, text);
    return GREENAI_EDGE_ERROR_IO;
  }
  greenai_edge_model* m = new_model();
  if (!m) {
    munmap(mapped, static_cast<size_t>(st.st_size));
    set_error(error, error_size, "cannot allocate the model");
    return GREENAI_EDGE_ERROR_MEMORY;
  }
  m->data = static_cast<const uint8_t*>(mapped);
  m->size = static_cast<size_t>(st.st_size);
  m->mapped = true;
  return finish_load(m, max_batch, model, error, error_size);
}

size_t greenai_edge_input_size(const greenai_edge_model* model) {
  return model ? model->input_size : 0;
}
size_t greenai_edge_output_size(const greenai_edge_model* model) {
  return model ? model->output_size : 0;
}
size_t greenai_edge_arena_bytes(const greenai_edge_model* model) {
  return model ? model->arena_bytes : 0;
}
const char* greenai_edge_kernels(const greenai_edge_model* model) {
  return model && model->kernels ? model->kernels->name : "";
}
const char* greenai_edge_selected_kernels(void) {
  const KernelSet* set = select_kernels();
  return set ? set->name : "";
}
void greenai_edge_runnable_kernels(char* names, size_t size) {
  if (names) runnable_kernel_names(names, size);
}
const char* greenai_edge_last_error(const greenai_edge_model* model) {
  return model ? model->error : "";
}

greenai_edge_status greenai_edge_infer(greenai_edge_model* model, int batch, const float* input,
                                       size_t input_count, float* output, size_t output_capacity) {
  if (!model) return GREENAI_EDGE_ERROR_ARGUMENT;
  model->error[0] = '\0';  // messages go into the model's own buffer: no allocation
  if (!input || !output) {
    set_error(model->error, sizeof model->error, "null input or output");
    return GREENAI_EDGE_ERROR_ARGUMENT;
  }
  if (batch < 1 || batch > model->max_batch) {
    set_error(model->error, sizeof model->error, "batch outside 1..max_batch given at load");
    return GREENAI_EDGE_ERROR_ARGUMENT;
  }
  if (input_count != model->input_size * static_cast<size_t>(batch)) {
    snprintf(model->error, sizeof model->error,
             "input holds %zu floats; %d example(s) of %llu floats need %llu", input_count, batch,
             static_cast<unsigned long long>(model->input_size),
             static_cast<unsigned long long>(model->input_size) * batch);
    return GREENAI_EDGE_ERROR_ARGUMENT;
  }
  if (output_capacity < model->output_size * static_cast<size_t>(batch)) {
    set_error(model->error, sizeof model->error, "output buffer too small");
    return GREENAI_EDGE_ERROR_ARGUMENT;
  }
  uint8_t* base = model->arena;
  base += (kAlignment - reinterpret_cast<uintptr_t>(base) % kAlignment) % kAlignment;
  uint8_t* buffers[2] = {base, base + model->buffer_bytes};
  uint8_t* scratch = base + 2 * model->buffer_bytes;
  const void* in = input;
  int next = 0;  // the ping-pong buffer the next step writes
  for (size_t i = 0; i < model->step_count; ++i) {
    const bool last = i + 1 == model->step_count;
    // Flatten moves no data: the next step reads its input where it is.
    if (model->steps[i].op.kind == OpKind::kFlatten && !last) continue;
    void* out = last ? static_cast<void*>(output) : buffers[next];
    run_step(model->steps[i], in, out, scratch, batch);
    in = out;
    next ^= 1;
  }
  return GREENAI_EDGE_OK;
}

void greenai_edge_free(greenai_edge_model* model) { free_model(model); }

}  // extern "C"
