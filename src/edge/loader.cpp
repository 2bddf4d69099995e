// Loading an edge file: the header, the tensor table, then the graph, one shape rule per
// operator, checking that shapes and types chain (docs/edge-format.md). Every message names the
// operator; the first problem found is returned.
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "edge/internal/model.h"
#include "edge/internal/scalar.h"

namespace greenai::edge::internal {

LoadError fail(greenai_edge_status status, const char* format, ...) {
  LoadError e{status, {}};
  va_list args;
  va_start(args, format);
  vsnprintf(e.message, sizeof e.message, format, args);
  va_end(args);
  return e;
}

namespace {

constexpr LoadError kOk{GREENAI_EDGE_OK, {}};

bool failed(const LoadError& e) { return e.status != GREENAI_EDGE_OK; }

OpRecord op_record(const uint8_t* data, size_t i) {
  OpRecord r;
  memcpy(&r, data + sizeof(Header) + i * sizeof(OpRecord), sizeof r);
  return r;
}

// The header: magic, version, sizes, checksum (computed with its own field as zero), counts.
LoadError check_header(const greenai_edge_model& m, Header& h) {
  if (m.size < sizeof(Header))
    return fail(GREENAI_EDGE_ERROR_FORMAT, "truncated: shorter than the 64-byte header");
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
  uint32_t crc = crc32(m.data, offsetof(Header, checksum));
  const uint32_t zero = 0;
  crc = crc32(&zero, sizeof zero, crc);
  crc =
      crc32(m.data + offsetof(Header, checksum) + 4, m.size - offsetof(Header, checksum) - 4, crc);
  if (crc != h.checksum)
    return fail(GREENAI_EDGE_ERROR_CHECKSUM, "checksum mismatch: the file is corrupted");
  if (h.op_count == 0 || h.op_count > kMaxOps || h.tensor_count > kMaxTensors)
    return fail(GREENAI_EDGE_ERROR_FORMAT, "implausible operator or tensor count");
  const uint64_t records = sizeof(Header) + uint64_t{h.op_count} * sizeof(OpRecord) +
                           uint64_t{h.tensor_count} * sizeof(TensorRecord);
  if (h.data_offset % kAlignment != 0 || h.data_offset < records || h.data_offset > m.size)
    return fail(GREENAI_EDGE_ERROR_FORMAT, "bad data offset");
  return kOk;
}

// The tensor table, checked once; then each operator's tensors resolved against it.
class Tensors {
 public:
  Tensors(const greenai_edge_model& m, const Header& h)
      : data_(m.data + h.data_offset),
        records_(m.data + sizeof(Header) + size_t{h.op_count} * sizeof(OpRecord)),
        count_(h.tensor_count),
        data_bytes_(m.size - h.data_offset) {}

  LoadError check() const {
    for (size_t i = 0; i < count_; ++i) {
      const TensorRecord t = record(i);
      const size_t unit = dtype_size(t.dtype);
      if (unit == 0 || t.bytes != uint64_t{t.count} * unit || t.offset % kAlignment != 0 ||
          t.offset > data_bytes_ || t.bytes > data_bytes_ - t.offset)
        return fail(GREENAI_EDGE_ERROR_FORMAT, "tensor %zu: bad type, size or offset past the end",
                    i);
    }
    return kOk;
  }

  // Operator `op`'s tensor `index`, which must hold `count` values of `dtype`.
  LoadError get(uint32_t index, DType dtype, uint64_t count, const char* what, size_t op,
                const void** out) const {
    if (index >= count_)
      return fail(GREENAI_EDGE_ERROR_FORMAT, "op %zu: %s tensor missing", op, what);
    const TensorRecord t = record(index);
    if (t.dtype != dtype || t.count != count)
      return fail(GREENAI_EDGE_ERROR_FORMAT, "op %zu: %s tensor has the wrong type or size", op,
                  what);
    *out = data_ + t.offset;
    return kOk;
  }

 private:
  TensorRecord record(size_t i) const {
    TensorRecord t;
    memcpy(&t, records_ + i * sizeof(TensorRecord), sizeof t);
    return t;
  }
  const uint8_t* data_;
  const uint8_t* records_;
  uint32_t count_;
  uint64_t data_bytes_;
};

// The activation as the graph is walked: its shape and type before (and, after a rule, after)
// an operator.
struct Activation {
  uint32_t shape[kMaxDims];
  int dims;
  DType type;
};

// Linear, QLinear, DynamicLinear: a flat input of op.in features to op.out.
LoadError dense_rule(size_t i, Step& s, Activation& a, const Tensors& t) {
  const OpRecord& op = s.op;
  if (a.dims != 1 || a.shape[0] != op.in || op.out == 0 || op.out > (1u << 20)) {
    if (a.dims == 1)
      return fail(GREENAI_EDGE_ERROR_SHAPE, "op %zu: expects %u features, gets %u", i, op.in,
                  a.shape[0]);
    return fail(GREENAI_EDGE_ERROR_SHAPE, "op %zu: expects %u features, gets %d-d input", i, op.in,
                a.dims);
  }
  const DType weight = op.kind == OpKind::kLinear ? DType::kF32 : DType::kI8;
  const DType bias = op.kind == OpKind::kQLinear ? DType::kI32 : DType::kF32;
  LoadError e = t.get(op.weight, weight, uint64_t{op.in} * op.out, "weight", i, &s.weight);
  if (!failed(e) && (op.bias != kNoTensor || op.kind == OpKind::kQLinear))
    e = t.get(op.bias, bias, op.out, "bias", i, &s.bias);
  a.shape[0] = op.out;
  return e;
}

// Conv2d, QConv2d, MaxPool2d, AvgPool2d: a (C, H, W) input under a kernel window.
LoadError window_rule(size_t i, Step& s, Activation& a, const Tensors& t) {
  const OpRecord& op = s.op;
  const bool conv = op.kind == OpKind::kConv2d || op.kind == OpKind::kQConv2d;
  auto shape_error = [&](const char* text) {
    return fail(GREENAI_EDGE_ERROR_SHAPE, "op %zu: %s", i, text);
  };
  uint32_t* shape = a.shape;
  if (a.dims != 3) return shape_error("needs a (C, H, W) input");
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
  LoadError e = kOk;
  if (conv) {
    const DType weight = op.kind == OpKind::kConv2d ? DType::kF32 : DType::kI8;
    const DType bias = op.kind == OpKind::kConv2d ? DType::kF32 : DType::kI32;
    e = t.get(op.weight, weight, uint64_t{op.out} * op.in * op.kernel * op.kernel, "weight", i,
              &s.weight);
    if (!failed(e) && (op.bias != kNoTensor || op.kind == OpKind::kQConv2d))
      e = t.get(op.bias, bias, op.out, "bias", i, &s.bias);
    shape[0] = op.out;
  }
  shape[1] = static_cast<uint32_t>(oh);
  shape[2] = static_cast<uint32_t>(ow);
  return e;
}

// Quantize (float32 to int8) and Dequantize (back): a positive scale, an int8 zero point.
LoadError quantize_rule(size_t i, const OpRecord& op, Activation& a) {
  const bool quantize = op.kind == OpKind::kQuantize;
  const int32_t zero_point = quantize ? op.output_zero_point : op.input_zero_point;
  if (!(op.scale > 0) || zero_point < -128 || zero_point > 127)
    return fail(GREENAI_EDGE_ERROR_SHAPE, "op %zu: bad scale or zero point", i);
  a.type = quantize ? DType::kI8 : DType::kF32;
  return kOk;
}

// The scales of DynamicLinear and of int8 ops that carry them; the requantization of QLinear
// and QConv2d: a multiplier and shift per channel, int8 zero points.
LoadError requant_rule(size_t i, Step& s, const Tensors& t) {
  const OpRecord& op = s.op;
  const bool quantized = op.kind == OpKind::kQLinear || op.kind == OpKind::kQConv2d;
  if (op.kind == OpKind::kDynamicLinear || (quantized && (op.flags & kFlagScales))) {
    const void* scales = nullptr;
    LoadError e = t.get(op.weight_scale, DType::kF32, op.out, "weight scale", i, &scales);
    if (failed(e)) return e;
    s.weight_scale = static_cast<const float*>(scales);
  }
  if (!quantized) return kOk;
  const void* multiplier = nullptr;
  const void* shift = nullptr;
  LoadError e = t.get(op.multiplier, DType::kI32, op.out, "multiplier", i, &multiplier);
  if (!failed(e)) e = t.get(op.shift, DType::kI32, op.out, "shift", i, &shift);
  if (failed(e)) return e;
  s.multiplier = static_cast<const int32_t*>(multiplier);
  s.shift = static_cast<const int32_t*>(shift);
  if (op.input_zero_point < -128 || op.input_zero_point > 127 || op.output_zero_point < -128 ||
      op.output_zero_point > 127)
    return fail(GREENAI_EDGE_ERROR_FORMAT, "op %zu: zero point outside int8", i);
  for (uint32_t c = 0; c < op.out; ++c)
    if (s.shift[c] < -31 || s.shift[c] > 30 || s.multiplier[c] < 0)
      return fail(GREENAI_EDGE_ERROR_FORMAT, "op %zu: bad requantization", i);
  return kOk;
}

// Operator i: its input type, its shape rule, then its requantization.
LoadError op_rule(size_t i, Step& s, Activation& a, const Tensors& t) {
  const OpRecord& op = s.op;
  const bool quantized = op.kind == OpKind::kQLinear || op.kind == OpKind::kQConv2d;
  const bool float_only = op.kind == OpKind::kLinear || op.kind == OpKind::kConv2d ||
                          op.kind == OpKind::kSoftmax || op.kind == OpKind::kQuantize ||
                          op.kind == OpKind::kDynamicLinear;
  if (float_only && a.type != DType::kF32)
    return fail(GREENAI_EDGE_ERROR_SHAPE, "op %zu: expects a float32 input", i);
  if ((quantized || op.kind == OpKind::kDequantize) && a.type != DType::kI8)
    return fail(GREENAI_EDGE_ERROR_SHAPE, "op %zu: expects an int8 input", i);
  LoadError e = kOk;
  switch (op.kind) {
    case OpKind::kLinear:
    case OpKind::kQLinear:
    case OpKind::kDynamicLinear:
      e = dense_rule(i, s, a, t);
      break;
    case OpKind::kConv2d:
    case OpKind::kQConv2d:
    case OpKind::kMaxPool2d:
    case OpKind::kAvgPool2d:
      e = window_rule(i, s, a, t);
      break;
    case OpKind::kFlatten:
      a.shape[0] = static_cast<uint32_t>(elements(a.shape, a.dims));
      a.shape[1] = a.shape[2] = 0;
      a.dims = 1;
      break;
    case OpKind::kReLU:
      break;
    case OpKind::kSoftmax:
      if (a.dims != 1)
        return fail(GREENAI_EDGE_ERROR_SHAPE, "op %zu: softmax needs a flat input", i);
      break;
    case OpKind::kQuantize:
    case OpKind::kDequantize:
      e = quantize_rule(i, op, a);
      break;
    default:
      return fail(GREENAI_EDGE_ERROR_FORMAT, "op %zu: unknown operator kind %u", i,
                  static_cast<uint32_t>(op.kind));
  }
  return failed(e) ? e : requant_rule(i, s, t);
}

}  // namespace

LoadError validate(greenai_edge_model& m) {
  Header h;
  LoadError e = check_header(m, h);
  if (failed(e)) return e;
  const Tensors tensors(m, h);
  if (e = tensors.check(); failed(e)) return e;
  m.steps = static_cast<Step*>(calloc(h.op_count, sizeof(Step)));
  if (!m.steps) return fail(GREENAI_EDGE_ERROR_MEMORY, "cannot allocate %u steps", h.op_count);
  Activation a{{h.input_shape[0], h.input_shape[1], h.input_shape[2]},
               h.input_shape[2]   ? 3
               : h.input_shape[1] ? 2
                                  : 1,
               DType::kF32};
  if (a.dims == 2 || h.input_shape[0] == 0)
    return fail(GREENAI_EDGE_ERROR_SHAPE, "input shape must be (N) or (C, H, W)");
  for (int d = 0; d < a.dims; ++d)
    if (a.shape[d] > (1u << 20)) return fail(GREENAI_EDGE_ERROR_SHAPE, "input dimension too large");
  m.input_size = elements(a.shape, a.dims);
  if (m.input_size > kMaxActivation) return fail(GREENAI_EDGE_ERROR_SHAPE, "input too large");
  for (size_t i = 0; i < h.op_count; ++i) {
    Step s{};
    s.op = op_record(m.data, i);
    s.in_type = a.type;
    memcpy(s.in_shape, a.shape, sizeof a.shape);
    s.in_dims = a.dims;
    s.in_elems = elements(a.shape, a.dims);
    if (e = op_rule(i, s, a, tensors); failed(e)) return e;
    memcpy(s.out_shape, a.shape, sizeof a.shape);
    s.out_dims = a.dims;
    s.out_elems = elements(a.shape, a.dims);
    s.out_type = a.type;
    if (s.out_elems == 0 || s.out_elems > kMaxActivation)
      return fail(GREENAI_EDGE_ERROR_SHAPE, "op %zu: activation too large or empty", i);
    m.steps[m.step_count++] = s;
  }
  if (a.type != DType::kF32)
    return fail(GREENAI_EDGE_ERROR_SHAPE, "the model must end in float32 (add a Dequantize)");
  m.output_size = elements(a.shape, a.dims);
  return kOk;
}

}  // namespace greenai::edge::internal
