// The GreenAI edge model format: a compact, memory-mappable file holding a sequential graph of
// fp32 or int8 operators and their tensors. Specified in docs/edge-format.md.
//
// The records (records.h) are shared by the runtime, which reads them in place, and the
// exporters; this header adds a builder that writes a file and a reader for tools.
//
//   greenai::edge::FileBuilder b({1, 28, 28});
//   uint32_t w = b.add_tensor(DType::kF32, weights.data(), weights.size());
//   b.add_op({.kind = OpKind::kLinear, .in = 784, .out = 10, .weight = w, .bias = bias});
//   std::vector<uint8_t> bytes = b.finish();
#pragma once

#include <string>
#include <vector>

#include "greenai/edge/records.h"

namespace greenai::edge {

/// An operator record of `kind` that names no tensor (each index kNoTensor), to fill in.
OpRecord op_record(OpKind kind);
/// A Quantize (fp32 to int8, the zero point its output's) or Dequantize (its input's) record at
/// (scale, zero point).
OpRecord conversion_record(OpKind kind, float scale, int32_t zero_point);

/// Assembles a file in memory.
class FileBuilder {
 public:
  explicit FileBuilder(std::vector<uint32_t> input_shape);
  /// Adds a tensor (copied); returns its index.
  uint32_t add_tensor(DType dtype, const void* data, size_t count);
  /// Adds an operator reading the previous operator's output (the model's input for the first);
  /// returns the value it writes (docs/edge-format.md: operator k writes value k + 1).
  uint32_t add_op(const OpRecord& op);
  /// Adds an operator whose inputs `graph` names; returns the value it writes.
  uint32_t add_op(const OpRecord& op, const OpGraph& graph);
  /// Values written so far: the model's input (0) and each operator's output.
  uint32_t value_count() const { return static_cast<uint32_t>(ops_.size() + 1); }
  /// The tensors of an int8 kQLinear or kQConv2d, the one place their requantization is derived:
  /// the weight codes (`count` of them), the int32 bias codes, per output channel c the
  /// multiplier and shift of input_scale x weight_scale[c] / output_scale, and the real weight
  /// scales (kFlagScales is set). Also sets op.scale to output_scale; the zero points, the other
  /// flags and add_op() are the caller's. `float_requant`: the multiplier as float32
  /// input_scale x weight_scale[c] / output_scale instead, no shift (kFlagFloatRequant is set).
  void add_int8_weights(OpRecord& op, const int8_t* codes, size_t count,
                        const std::vector<int32_t>& bias, const std::vector<float>& weight_scale,
                        float input_scale, float output_scale, bool float_requant = false);
  /// The finished file: header, records, aligned data, checksum.
  std::vector<uint8_t> finish() const;

 private:
  std::vector<uint32_t> input_shape_;
  std::vector<OpRecord> ops_;
  std::vector<OpGraph> graphs_;
  std::vector<TensorRecord> tensors_;
  std::vector<uint8_t> data_;
};

/// A copy of an edge file's bytes starting on a 64-byte boundary, as greenai_edge_load_memory
/// needs them (a std::vector's own storage is only 16-byte aligned).
class AlignedBytes {
 public:
  explicit AlignedBytes(const std::vector<uint8_t>& bytes);
  // A copy would need its own alignment; a move keeps the buffer (and the pointer into it).
  AlignedBytes(const AlignedBytes&) = delete;
  AlignedBytes& operator=(const AlignedBytes&) = delete;
  AlignedBytes(AlignedBytes&&) noexcept = default;
  AlignedBytes& operator=(AlignedBytes&&) noexcept = default;
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  std::vector<uint8_t> storage_;
  uint8_t* data_;
  size_t size_;
};

/// A validated edge file's records, for tools that read a file rather than run it (exporters).
struct FileView {
  Header header{};
  std::vector<OpRecord> ops;
  std::vector<OpGraph> graphs;  ///< One per operator; chain_graph(k) for a version-1 file.
  std::vector<TensorRecord> tensors;
  /// A tensor's elements (the caller knows the dtype from the operator); null for kNoTensor.
  const void* tensor(uint32_t index) const;
  uint32_t count(uint32_t index) const { return index < tensors.size() ? tensors[index].count : 0; }

 private:
  friend std::string view_file(const std::vector<uint8_t>& bytes, FileView* view);
  AlignedBytes file_{{}};  // a copy of the file
};
/// Checks `bytes` with the runtime's loader (everything it checks: docs/edge-format.md) and reads
/// them into `view`; returns "" or the loader's reason.
std::string view_file(const std::vector<uint8_t>& bytes, FileView* view);

/// Whether the file at `path` starts with the edge format's magic (false when it cannot be read).
bool is_edge_file(const std::string& path);

/// Writes bytes to `path`; returns an empty string or the reason it failed.
std::string write_file(const std::string& path, const std::vector<uint8_t>& bytes);

}  // namespace greenai::edge
