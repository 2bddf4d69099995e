// The edge runtime's internals shared by its parts (as TensorFlow Lite Micro splits its
// interpreter and allocator): the loader validates a file into steps (loader.cpp), the planner
// packs weights and sizes the arena (planner.cpp), the interpreter runs the steps
// (interpreter.cpp), and the C API ties them together (c_api.cpp). No C++ standard library:
// calloc'd memory and C strings only.
#pragma once

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include "edge/internal/kernels.h"
#include "greenai/edge/greenai_edge.h"
#include "greenai/edge/records.h"

namespace greenai::edge::internal {

constexpr uint32_t kMaxOps = 4096;
constexpr uint32_t kMaxTensors = 65536;
constexpr uint64_t kMaxActivation = 1ULL << 24;  // elements per example: 64 MiB of fp32
constexpr int kMaxBatch = 1 << 16;

// One validated step of the graph, with its tensors resolved to pointers into the file.
struct Step {
  OpRecord op;
  OpGraph graph;  // where its inputs come from (version 1 files: chain_graph)
  DType in_type, out_type;
  uint32_t in_shape[kMaxDims], out_shape[kMaxDims];
  int in_dims, out_dims;
  uint64_t in_elems, out_elems;
  const void* weight = nullptr;
  const void* bias = nullptr;
  const int32_t* multiplier = nullptr;
  const int32_t* shift = nullptr;
  const float* requant_scale = nullptr;  // kFlagFloatRequant: M per channel, float32
  const float* weight_scale = nullptr;   // kDynamicLinear; int8 ops with kFlagScales
  Conv2dShape conv{};
  // QLinear, QConv2d: see Requant::bias_unsigned and bias_signed (one allocation, 2 x out).
  int32_t* bias_unsigned = nullptr;
  const int32_t* bias_signed = nullptr;
  // The kernels of this step: the model's set, or the reference where the set cannot take the
  // layer (int8 weights of -128 on a set that needs them in [-127, 127]).
  const KernelSet* kernels = nullptr;
  QLinear qlinear = nullptr;  // QLinear, QConv2d: kernels->qlinear, or its small-weights variant
  bool conv_as_gemm = false;  // (Q)Conv2d through im2col and the kernel set's (q)linear
  // QConv2d through the kernel set's direct convolution (no im2col rows): qconv2d_direct, or
  // its small-weights variant; null otherwise.
  QConv2dDirect qconv2d_direct = nullptr;
  // QConv2d through the kernel set's depthwise kernel (KernelSet::qdepthwise).
  bool depthwise = false;
  // The layouts of its values (planner.cpp, plan_layouts): on the fast sets, int8 values between
  // convolutions that read and write them so lie channels last, (H, W, C) per example, and no
  // transpose runs between them; every other value is (C, H, W). in_hwc: its first input's (a
  // second input of the same shape shares it: plan_layouts links them); hwc_output: its output's
  // ((Q)Conv2d -> Flatten -> (Q)Linear included: the linear layer's weight columns are permuted to
  // that order at load).
  bool in_hwc = false;
  bool hwc_output = false;
  // Bytes its output's place holds past the batch: a direct convolution writing channels last
  // writes whole tiles of pixels straight into it (the rows past an example's pixels land on the
  // next example's, written after, or here).
  size_t output_slack = 0;
  uint32_t hwc_channels = 0;  // (Q)Linear: its input is [pixels, channels] of this many channels
  // QLinear / QConv2d weights in the kernel set's layout, if it has one, 64-byte aligned: a
  // 64-byte vector load that straddles two cache lines costs two (measured 2x on the teacher).
  int8_t* packed_storage = nullptr;
  const int8_t* packed = nullptr;
  // Linear / Conv2d weights in the layout of the set's pack_linear_f32, 64-byte aligned.
  float* packed_f32_storage = nullptr;
  const float* packed_f32 = nullptr;
  int64_t* row_sums = nullptr;  // kDynamicLinear: sum of each channel's weights
  // Add, Mul: how b broadcasts over a; b is the constant `weight` when graph.input[1] is
  // kNoValue.
  BinaryShape binary{};
  QBinary qbinary{};       // int8 Add, Mul
  uint64_t in2_elems = 0;  // Concat: b's elements per example
  // int8 Clip, Sigmoid, HardSigmoid, HardSwish: the table of the 256 codes (made at load);
  // Concat: a's table then b's (each input's codes at the output's scale).
  int8_t* table = nullptr;
};

struct LoadError {
  greenai_edge_status status;
  char message[160];
};

/// A load error with a printf-style message.
LoadError fail(greenai_edge_status status, const char* format, ...)
    __attribute__((format(printf, 2, 3)));

inline uint64_t elements(const uint32_t* shape, int dims) {
  uint64_t n = 1;
  for (int i = 0; i < dims; ++i) n *= shape[i];
  return n;
}

/// Validates the file (data and size set) and fills model.steps; OK or the first problem found.
LoadError validate(greenai_edge_model& m);

/// Chooses the kernel set, packs the weights for it and allocates the arena for `max_batch`.
LoadError prepare(greenai_edge_model* m, int max_batch);

/// Runs one step on `batch` examples from `in` (and `in2`, its second input or null) to `out`,
/// with the arena's scratch.
void run_step(const Step& s, const void* in, const void* in2, void* out, uint8_t* scratch,
              int batch);

/// Frees the model and everything it owns (unmapping a mapped file).
void free_model(greenai_edge_model* m);

}  // namespace greenai::edge::internal

// Allocated zeroed with calloc and released by greenai_edge_free: the runtime uses the C library
// only (no operator new, no containers), so it links without the C++ standard library.
struct greenai_edge_model {
  const uint8_t* data;
  size_t size;
  bool mapped;
  greenai::edge::internal::Step* steps;  // step_count of them, calloc'd
  size_t step_count;
  // Value v (0 the input, k + 1 step k's output) lies at arena + value_offset[v] for the whole
  // batch, or is the input or the output itself; a Flatten or Reshape's output is its input
  // (value_root). step_count + 1 of each, calloc'd.
  size_t* value_offset;
  uint32_t* value_root;
  bool keep_values;  // every value its own place (greenai_edge_load_memory_keeping_values)
  int max_batch;
  uint64_t input_size, output_size;
  uint8_t* arena;
  size_t arena_bytes, values_bytes, scratch_bytes;
  size_t conv_bytes;  // im2col rows and a [pixels, channels] output, for one example
  const greenai::edge::internal::KernelSet* kernels;
  char error[160];
};
