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

// Operator i's records: its OpRecord, and its OpGraph (version 2) or the chain's (version 1).
void op_records(const uint8_t* data, uint32_t version, size_t i, OpRecord* op, OpGraph* graph) {
  const uint8_t* record = data + sizeof(Header) + i * op_record_bytes(version);
  memcpy(op, record, sizeof *op);
  if (version >= 2)
    memcpy(graph, record + sizeof(OpRecord), sizeof *graph);
  else
    *graph = chain_graph(static_cast<uint32_t>(i));
}

// The header: magic, version, sizes, checksum (computed with its own field as zero), counts.
LoadError check_header(const greenai_edge_model& m, Header& h) {
  if (m.size < sizeof(Header))
    return fail(GREENAI_EDGE_ERROR_FORMAT, "truncated: shorter than the 64-byte header");
  memcpy(&h, m.data, sizeof h);
  if (memcmp(h.magic, kMagic, sizeof kMagic) != 0)
    return fail(GREENAI_EDGE_ERROR_FORMAT, "wrong magic: not a GreenAI edge file");
  if (h.version < kOldestVersion || h.version > kVersion)
    return fail(GREENAI_EDGE_ERROR_VERSION, "format version %u, this runtime reads %u to %u",
                h.version, kOldestVersion, kVersion);
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
  const uint64_t records = sizeof(Header) + uint64_t{h.op_count} * op_record_bytes(h.version) +
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
        records_(m.data + sizeof(Header) + size_t{h.op_count} * op_record_bytes(h.version)),
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

  // Tensor `index`'s record (copied into `found`), or null when there is none.
  const TensorRecord* find(uint32_t index) {
    if (index >= count_) return nullptr;
    found_ = record(index);
    return &found_;
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
  TensorRecord found_{};
};

// The activation as the graph is walked: its shape and type before (and, after a rule, after)
// an operator.
struct Activation {
  uint32_t shape[kMaxDims];
  int dims;
  DType type;
};

uint64_t elements_of(const Activation& a) { return elements(a.shape, a.dims); }

// Linear, QLinear, DynamicLinear: a flat input of op.in features to op.out.
LoadError dense_rule(size_t i, Step& s, Activation& a, Tensors& t) {
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

// Conv2d, QConv2d, MaxPool2d, AvgPool2d: a (C, H, W) input under a kernel window, square with
// equal padding or (kFlagWindow) as the OpGraph gives it; convolutions may be grouped.
LoadError window_rule(size_t i, Step& s, Activation& a, Tensors& t) {
  const OpRecord& op = s.op;
  const OpGraph& g = s.graph;
  const bool conv = op.kind == OpKind::kConv2d || op.kind == OpKind::kQConv2d;
  auto shape_error = [&](const char* text) {
    return fail(GREENAI_EDGE_ERROR_SHAPE, "op %zu: %s", i, text);
  };
  uint32_t* shape = a.shape;
  if (a.dims != 3) return shape_error("needs a (C, H, W) input");
  const bool full = op.flags & kFlagWindow;
  const uint32_t kh = op.kernel, kw = full ? g.kernel_w : op.kernel;
  const uint32_t sh = op.stride, sw = full ? g.stride_w : op.stride;
  const uint32_t pt = op.padding, pl = full ? g.pad_left : op.padding;
  const uint32_t pb = full ? g.pad_bottom : op.padding, pr = full ? g.pad_right : op.padding;
  const uint32_t dh = full ? g.dilation_h : 1, dw = full ? g.dilation_w : 1;
  const uint32_t groups = conv && g.groups > 1 ? g.groups : 1;
  if (!conv && g.groups > 1) return shape_error("only convolutions have groups");
  if (conv && (shape[0] != op.in || op.out == 0 || op.out > 65536))
    return shape_error("channel count does not chain");
  if (groups > 65536 || op.in % groups != 0 || op.out % groups != 0)
    return shape_error("groups must divide the input and output channels");
  if (kh == 0 || kh > 1024 || kw == 0 || kw > 1024 || sh == 0 || sh > 64 || sw == 0 || sw > 64 ||
      dh == 0 || dh > 64 || dw == 0 || dw > 64 || (!conv && (dh != 1 || dw != 1)))
    return shape_error("bad kernel, stride or dilation");
  const int64_t extent_h = int64_t{dh} * (kh - 1) + 1, extent_w = int64_t{dw} * (kw - 1) + 1;
  if (pt >= extent_h || pb >= extent_h || pl >= extent_w || pr >= extent_w)
    return shape_error("bad padding: each must be smaller than the window");
  const int64_t padded_h = int64_t{shape[1]} + pt + pb, padded_w = int64_t{shape[2]} + pl + pr;
  if (padded_h < extent_h || padded_w < extent_w)
    return shape_error("kernel larger than the padded input");
  const int64_t oh = (padded_h - extent_h) / sh + 1, ow = (padded_w - extent_w) / sw + 1;
  s.conv = {static_cast<int>(shape[0]), static_cast<int>(shape[1]),
            static_cast<int>(shape[2]), static_cast<int>(conv ? op.out : shape[0]),
            static_cast<int>(oh),       static_cast<int>(ow),
            static_cast<int>(kh),       static_cast<int>(sh),
            static_cast<int>(pt),       static_cast<int>(kw),
            static_cast<int>(sw),       static_cast<int>(pl),
            static_cast<int>(pb),       static_cast<int>(pr),
            static_cast<int>(dh),       static_cast<int>(dw),
            static_cast<int>(groups)};
  LoadError e = kOk;
  if (conv) {
    const DType weight = op.kind == OpKind::kConv2d ? DType::kF32 : DType::kI8;
    const DType bias = op.kind == OpKind::kConv2d ? DType::kF32 : DType::kI32;
    e = t.get(op.weight, weight, uint64_t{op.out} * (op.in / groups) * kh * kw, "weight", i,
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
LoadError requant_rule(size_t i, Step& s, Tensors& t, uint32_t version) {
  const OpRecord& op = s.op;
  const bool quantized = op.kind == OpKind::kQLinear || op.kind == OpKind::kQConv2d;
  if (op.kind == OpKind::kDynamicLinear || (quantized && (op.flags & kFlagScales))) {
    const void* scales = nullptr;
    LoadError e = t.get(op.weight_scale, DType::kF32, op.out, "weight scale", i, &scales);
    if (failed(e)) return e;
    s.weight_scale = static_cast<const float*>(scales);
  }
  if (!quantized) return kOk;
  if (op.input_zero_point < -128 || op.input_zero_point > 127 || op.output_zero_point < -128 ||
      op.output_zero_point > 127)
    return fail(GREENAI_EDGE_ERROR_FORMAT, "op %zu: zero point outside int8", i);
  if (op.flags & kFlagFloatRequant) {
    if (version < 3)
      return fail(GREENAI_EDGE_ERROR_FORMAT, "op %zu: float requantization needs format version 3",
                  i);
    if (op.shift != kNoTensor)
      return fail(GREENAI_EDGE_ERROR_FORMAT, "op %zu: a float requantization has no shift", i);
    const void* scale = nullptr;
    LoadError e = t.get(op.multiplier, DType::kF32, op.out, "multiplier", i, &scale);
    if (failed(e)) return e;
    s.requant_scale = static_cast<const float*>(scale);
    for (uint32_t c = 0; c < op.out; ++c)  // finite and > 0 (NaN fails the first test)
      if (!(s.requant_scale[c] > 0) || !(s.requant_scale[c] < 3.4e38f))
        return fail(GREENAI_EDGE_ERROR_FORMAT, "op %zu: bad requantization", i);
    return kOk;
  }
  const void* multiplier = nullptr;
  const void* shift = nullptr;
  LoadError e = t.get(op.multiplier, DType::kI32, op.out, "multiplier", i, &multiplier);
  if (!failed(e)) e = t.get(op.shift, DType::kI32, op.out, "shift", i, &shift);
  if (failed(e)) return e;
  s.multiplier = static_cast<const int32_t*>(multiplier);
  s.shift = static_cast<const int32_t*>(shift);
  for (uint32_t c = 0; c < op.out; ++c)
    if (s.shift[c] < -31 || s.shift[c] > 30 || s.multiplier[c] < 0)
      return fail(GREENAI_EDGE_ERROR_FORMAT, "op %zu: bad requantization", i);
  return kOk;
}

bool zero_point_ok(int32_t z) { return z >= -128 && z <= 127; }

// The real scales and zero points an int8 elementwise operator needs: input a's (and b's), the
// output's.
LoadError elementwise_scales_rule(size_t i, const Step& s, bool two_inputs) {
  const OpRecord& op = s.op;
  const OpGraph& g = s.graph;
  const bool ok = g.input_scale > 0 && op.scale > 0 && g.input_scale < 3e38f && op.scale < 3e38f &&
                  zero_point_ok(op.input_zero_point) && zero_point_ok(op.output_zero_point) &&
                  (!two_inputs || (g.input_scale_b > 0 && g.input_scale_b < 3e38f &&
                                   zero_point_ok(g.input_zero_point_b)));
  return ok ? kOk : fail(GREENAI_EDGE_ERROR_FORMAT, "op %zu: bad int8 scales or zero points", i);
}

// Add, Mul: b is a value (input[1]) or a constant tensor, the same size as a, one per channel of
// a (C, H, W) a, or one.
LoadError binary_rule(size_t i, Step& s, const Activation& a, const Activation* b, Tensors& t) {
  const uint64_t elements = elements_of(a);
  uint64_t b_elements = 0;
  if (b) {
    if (b->type != a.type)
      return fail(GREENAI_EDGE_ERROR_SHAPE, "op %zu: inputs of different types", i);
    b_elements = elements_of(*b);
  } else {
    const TensorRecord* record = t.find(s.op.weight);
    if (!record) return fail(GREENAI_EDGE_ERROR_FORMAT, "op %zu: no second input", i);
    b_elements = record->count;
    LoadError e = t.get(s.op.weight, a.type, b_elements, "constant", i, &s.weight);
    if (failed(e)) return e;
  }
  const bool per_channel_shape =
      !b || (b->dims == 1 || (b->dims == 3 && b->shape[1] == 1 && b->shape[2] == 1));
  BinaryShape& shape = s.binary;
  shape.elements = static_cast<long>(elements);
  shape.b_elements = static_cast<long>(b_elements);
  if (b_elements == elements && (!b || (b->dims == a.dims && elements_of(*b) == elements &&
                                        memcmp(b->shape, a.shape, sizeof a.shape) == 0)))
    shape.broadcast = Broadcast::kSame;
  else if (b_elements == 1)
    shape.broadcast = Broadcast::kOne;
  else if (a.dims == 3 && b_elements == a.shape[0] && per_channel_shape) {
    shape.broadcast = Broadcast::kPerChannel;
    shape.plane = static_cast<long>(a.shape[1]) * a.shape[2];
  } else {
    return fail(GREENAI_EDGE_ERROR_SHAPE,
                "op %zu: the second input must match the first, be one per channel, or one", i);
  }
  if (a.type != DType::kI8) return kOk;
  LoadError e = elementwise_scales_rule(i, s, true);
  if (failed(e)) return e;
  const bool relu = s.op.flags & kFlagFusedReLU;
  s.qbinary = {s.graph.input_scale,
               s.graph.input_scale_b,
               s.op.scale,
               s.op.input_zero_point,
               s.graph.input_zero_point_b,
               s.op.output_zero_point,
               relu ? s.op.output_zero_point : -128,
               127};
  return kOk;
}

// Concat: a then b along the first per-example dimension; the others equal.
LoadError concat_rule(size_t i, Step& s, Activation& a, const Activation* b) {
  if (!b || b->type != a.type || b->dims != a.dims ||
      (a.dims == 3 && (b->shape[1] != a.shape[1] || b->shape[2] != a.shape[2])))
    return fail(GREENAI_EDGE_ERROR_SHAPE,
                "op %zu: concatenates two inputs of one type, equal but in the first dimension", i);
  s.in2_elems = elements_of(*b);
  a.shape[0] += b->shape[0];
  return a.type == DType::kI8 ? elementwise_scales_rule(i, s, true) : kOk;
}

// Reshape: the new per-example shape, (N) or (C, H, W), in an int32 tensor.
LoadError reshape_rule(size_t i, const Step& s, Activation& a, Tensors& t) {
  const TensorRecord* record = t.find(s.op.weight);
  const void* dims = nullptr;
  if (!record || (record->count != 1 && record->count != 3) ||
      failed(t.get(s.op.weight, DType::kI32, record->count, "shape", i, &dims)))
    return fail(GREENAI_EDGE_ERROR_SHAPE, "op %zu: reshape needs a shape of 1 or 3 int32s", i);
  const auto* shape = static_cast<const int32_t*>(dims);
  uint64_t count = 1;
  Activation out{{0, 0, 0}, static_cast<int>(record->count), a.type};
  for (int d = 0; d < out.dims; ++d) {
    if (shape[d] <= 0 || shape[d] > (1 << 24))
      return fail(GREENAI_EDGE_ERROR_SHAPE, "op %zu: bad reshape dimension", i);
    out.shape[d] = static_cast<uint32_t>(shape[d]);
    count *= out.shape[d];
  }
  if (count != elements_of(a))
    return fail(GREENAI_EDGE_ERROR_SHAPE, "op %zu: reshape changes the element count", i);
  a = out;
  return kOk;
}

// Clip, Sigmoid, HardSigmoid, HardSwish: fp32, or int8 with their scales.
LoadError unary_rule(size_t i, const Step& s, const Activation& a) {
  if (s.op.kind == OpKind::kClip && !(s.graph.alpha <= s.graph.beta))
    return fail(GREENAI_EDGE_ERROR_FORMAT, "op %zu: clip needs min <= max", i);
  return a.type == DType::kI8 ? elementwise_scales_rule(i, s, false) : kOk;
}

// Operator i: its input type, its shape rule, then its requantization.
LoadError op_rule(size_t i, Step& s, Activation& a, const Activation* b, Tensors& t,
                  uint32_t version) {
  const OpRecord& op = s.op;
  const bool quantized = op.kind == OpKind::kQLinear || op.kind == OpKind::kQConv2d;
  const bool float_only = op.kind == OpKind::kLinear || op.kind == OpKind::kConv2d ||
                          op.kind == OpKind::kSoftmax || op.kind == OpKind::kQuantize ||
                          op.kind == OpKind::kDynamicLinear;
  if (float_only && a.type != DType::kF32)
    return fail(GREENAI_EDGE_ERROR_SHAPE, "op %zu: expects a float32 input", i);
  if ((quantized || op.kind == OpKind::kDequantize) && a.type != DType::kI8)
    return fail(GREENAI_EDGE_ERROR_SHAPE, "op %zu: expects an int8 input", i);
  const bool two_inputs =
      op.kind == OpKind::kAdd || op.kind == OpKind::kMul || op.kind == OpKind::kConcat;
  if (b && !two_inputs)
    return fail(GREENAI_EDGE_ERROR_FORMAT, "op %zu: takes one input, names two", i);
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
    case OpKind::kAdd:
    case OpKind::kMul:
      e = binary_rule(i, s, a, b, t);
      break;
    case OpKind::kConcat:
      e = concat_rule(i, s, a, b);
      break;
    case OpKind::kReshape:
      e = reshape_rule(i, s, a, t);
      break;
    case OpKind::kClip:
    case OpKind::kSigmoid:
    case OpKind::kHardSigmoid:
    case OpKind::kHardSwish:
      e = unary_rule(i, s, a);
      break;
    default:
      return fail(GREENAI_EDGE_ERROR_FORMAT, "op %zu: unknown operator kind %u", i,
                  static_cast<uint32_t>(op.kind));
  }
  return failed(e) ? e : requant_rule(i, s, t, version);
}

LoadError validate_steps(greenai_edge_model& m, const Header& h, Tensors& tensors,
                         Activation* values) {
  Activation& input = values[0];
  input = {{h.input_shape[0], h.input_shape[1], h.input_shape[2]},
           h.input_shape[2]   ? 3
           : h.input_shape[1] ? 2
                              : 1,
           DType::kF32};
  if (input.dims == 2 || h.input_shape[0] == 0)
    return fail(GREENAI_EDGE_ERROR_SHAPE, "input shape must be (N) or (C, H, W)");
  for (int d = 0; d < input.dims; ++d)
    if (input.shape[d] > (1u << 20))
      return fail(GREENAI_EDGE_ERROR_SHAPE, "input dimension too large");
  m.input_size = elements_of(input);
  if (m.input_size > kMaxActivation) return fail(GREENAI_EDGE_ERROR_SHAPE, "input too large");
  for (size_t i = 0; i < h.op_count; ++i) {
    Step s{};
    op_records(m.data, h.version, i, &s.op, &s.graph);
    const uint32_t* input_values = s.graph.input;
    if (input_values[0] > i || (input_values[1] != kNoValue && input_values[1] > i))
      return fail(GREENAI_EDGE_ERROR_FORMAT, "op %zu: an input names a value not written before it",
                  i);
    Activation a = values[input_values[0]];
    const Activation* b = input_values[1] == kNoValue ? nullptr : &values[input_values[1]];
    s.in_type = a.type;
    memcpy(s.in_shape, a.shape, sizeof a.shape);
    s.in_dims = a.dims;
    s.in_elems = elements_of(a);
    LoadError e = op_rule(i, s, a, b, tensors, h.version);
    if (failed(e)) return e;
    memcpy(s.out_shape, a.shape, sizeof a.shape);
    s.out_dims = a.dims;
    s.out_elems = elements_of(a);
    s.out_type = a.type;
    if (s.out_elems == 0 || s.out_elems > kMaxActivation)
      return fail(GREENAI_EDGE_ERROR_SHAPE, "op %zu: activation too large or empty", i);
    values[i + 1] = a;
    m.steps[m.step_count++] = s;
  }
  const Activation& output = values[h.op_count];
  if (output.type != DType::kF32)
    return fail(GREENAI_EDGE_ERROR_SHAPE, "the model must end in float32 (add a Dequantize)");
  m.output_size = elements_of(output);
  return kOk;
}

}  // namespace

LoadError validate(greenai_edge_model& m) {
  Header h;
  LoadError e = check_header(m, h);
  if (failed(e)) return e;
  Tensors tensors(m, h);
  if (e = tensors.check(); failed(e)) return e;
  m.steps = static_cast<Step*>(calloc(h.op_count, sizeof(Step)));
  // Every value's shape and type: the input's, then each operator's output.
  Activation* values = static_cast<Activation*>(calloc(h.op_count + 1, sizeof(Activation)));
  if (!m.steps || !values) {
    free(values);
    return fail(GREENAI_EDGE_ERROR_MEMORY, "cannot allocate %u steps", h.op_count);
  }
  e = validate_steps(m, h, tensors, values);
  free(values);
  return e;
}

}  // namespace greenai::edge::internal
