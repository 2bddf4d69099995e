#include "greenai/edge/format.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "greenai/edge/greenai_edge.h"

namespace greenai::edge {
namespace {

size_t align_up(size_t n) { return (n + kAlignment - 1) / kAlignment * kAlignment; }

}  // namespace

OpRecord op_record(OpKind kind) {
  OpRecord op{};
  op.kind = kind;
  op.weight = op.bias = op.multiplier = op.shift = op.weight_scale = kNoTensor;
  return op;
}

OpRecord conversion_record(OpKind kind, float scale, int32_t zero_point) {
  OpRecord op = op_record(kind);
  op.scale = scale;
  (kind == OpKind::kQuantize ? op.output_zero_point : op.input_zero_point) = zero_point;
  return op;
}

FileBuilder::FileBuilder(std::vector<uint32_t> input_shape)
    : input_shape_(std::move(input_shape)) {}

uint32_t FileBuilder::add_tensor(DType dtype, const void* data, size_t count) {
  TensorRecord t{};
  t.dtype = dtype;
  t.count = static_cast<uint32_t>(count);
  t.bytes = count * dtype_size(dtype);
  t.offset = align_up(data_.size());
  data_.resize(t.offset + t.bytes, 0);
  if (t.bytes) std::memcpy(data_.data() + t.offset, data, t.bytes);
  tensors_.push_back(t);
  return static_cast<uint32_t>(tensors_.size() - 1);
}

uint32_t FileBuilder::add_op(const OpRecord& op) {
  return add_op(op, chain_graph(static_cast<uint32_t>(ops_.size())));
}

uint32_t FileBuilder::add_op(const OpRecord& op, const OpGraph& graph) {
  ops_.push_back(op);
  graphs_.push_back(graph);
  return static_cast<uint32_t>(ops_.size());
}

void FileBuilder::add_int8_weights(OpRecord& op, const int8_t* codes, size_t count,
                                   const std::vector<int32_t>& bias,
                                   const std::vector<float>& weight_scale, float input_scale,
                                   float output_scale, bool float_requant) {
  op.weight = add_tensor(DType::kI8, codes, count);
  op.bias = add_tensor(DType::kI32, bias.data(), bias.size());
  if (float_requant) {
    std::vector<float> multiplier(weight_scale.size());
    for (size_t c = 0; c < weight_scale.size(); ++c)
      multiplier[c] =
          static_cast<float>(static_cast<double>(input_scale) * weight_scale[c] / output_scale);
    op.multiplier = add_tensor(DType::kF32, multiplier.data(), multiplier.size());
    op.shift = kNoTensor;
    op.flags |= kFlagFloatRequant;
  } else {
    std::vector<int32_t> multiplier(weight_scale.size()), shift(weight_scale.size());
    for (size_t c = 0; c < weight_scale.size(); ++c)
      quantize_multiplier(static_cast<double>(input_scale) * weight_scale[c] / output_scale,
                          &multiplier[c], &shift[c]);
    op.multiplier = add_tensor(DType::kI32, multiplier.data(), multiplier.size());
    op.shift = add_tensor(DType::kI32, shift.data(), shift.size());
  }
  op.weight_scale = add_tensor(DType::kF32, weight_scale.data(), weight_scale.size());
  op.flags |= kFlagScales;
  op.scale = output_scale;
}

std::vector<uint8_t> FileBuilder::finish() const {
  Header h{};
  std::memcpy(h.magic, kMagic, sizeof kMagic);
  h.version = kVersion;
  h.header_bytes = sizeof(Header);
  h.op_count = static_cast<uint32_t>(ops_.size());
  h.tensor_count = static_cast<uint32_t>(tensors_.size());
  for (size_t i = 0; i < input_shape_.size() && i < kMaxDims; ++i)
    h.input_shape[i] = input_shape_[i];
  for (const OpRecord& op : ops_)
    if (op.kind == OpKind::kQLinear || op.kind == OpKind::kQConv2d || op.kind == OpKind::kQuantize)
      h.flags |= 1;
  const size_t op_bytes = op_record_bytes(kVersion);
  const size_t records =
      sizeof(Header) + ops_.size() * op_bytes + tensors_.size() * sizeof(TensorRecord);
  h.data_offset = align_up(records);
  h.file_bytes = h.data_offset + data_.size();
  std::vector<uint8_t> bytes(h.file_bytes, 0);
  std::memcpy(bytes.data(), &h, sizeof h);
  for (size_t k = 0; k < ops_.size(); ++k) {
    uint8_t* record = bytes.data() + sizeof h + k * op_bytes;
    std::memcpy(record, &ops_[k], sizeof(OpRecord));
    std::memcpy(record + sizeof(OpRecord), &graphs_[k], sizeof(OpGraph));
  }
  if (!tensors_.empty())
    std::memcpy(bytes.data() + sizeof h + ops_.size() * op_bytes, tensors_.data(),
                tensors_.size() * sizeof(TensorRecord));
  if (!data_.empty()) std::memcpy(bytes.data() + h.data_offset, data_.data(), data_.size());
  const uint32_t checksum = crc32(bytes.data(), bytes.size());
  std::memcpy(bytes.data() + offsetof(Header, checksum), &checksum, sizeof checksum);
  return bytes;
}

bool is_edge_file(const std::string& path) {
  char magic[sizeof kMagic] = {};
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  const bool edge_file = std::fread(magic, 1, sizeof magic, f) == sizeof magic &&
                         std::memcmp(magic, kMagic, sizeof magic) == 0;
  std::fclose(f);
  return edge_file;
}

std::string write_file(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return std::strerror(errno);
  size_t written = std::fwrite(bytes.data(), 1, bytes.size(), f);
  bool ok = written == bytes.size() && std::fclose(f) == 0;
  if (!ok) {
    if (written != bytes.size()) std::fclose(f);
    return "write failed";
  }
  return "";
}

AlignedBytes::AlignedBytes(const std::vector<uint8_t>& bytes)
    : storage_(bytes.size() + kAlignment), size_(bytes.size()) {
  const auto base = reinterpret_cast<uintptr_t>(storage_.data());
  data_ = storage_.data() + (kAlignment - base % kAlignment) % kAlignment;
  if (!bytes.empty()) std::memcpy(data_, bytes.data(), bytes.size());
}

const void* FileView::tensor(uint32_t index) const {
  if (index >= tensors.size()) return nullptr;
  return file_.data() + header.data_offset + tensors[index].offset;
}

std::string view_file(const std::vector<uint8_t>& bytes, FileView* view) {
  view->file_ = AlignedBytes(bytes);
  const uint8_t* file = view->file_.data();
  greenai_edge_model* model = nullptr;
  char why[256] = "";
  if (greenai_edge_load_memory(file, bytes.size(), 1, &model, why, sizeof why) != GREENAI_EDGE_OK)
    return why;
  greenai_edge_free(model);
  std::memcpy(&view->header, file, sizeof(Header));
  const size_t op_bytes = op_record_bytes(view->header.version);
  view->ops.resize(view->header.op_count);
  view->graphs.resize(view->header.op_count);
  view->tensors.resize(view->header.tensor_count);
  for (uint32_t k = 0; k < view->header.op_count; ++k) {
    const uint8_t* record = file + sizeof(Header) + k * op_bytes;
    std::memcpy(&view->ops[k], record, sizeof(OpRecord));
    if (view->header.version >= 2)
      std::memcpy(&view->graphs[k], record + sizeof(OpRecord), sizeof(OpGraph));
    else
      view->graphs[k] = chain_graph(k);
  }
  if (!view->tensors.empty())
    std::memcpy(view->tensors.data(), file + sizeof(Header) + view->ops.size() * op_bytes,
                view->tensors.size() * sizeof(TensorRecord));
  return "";
}

}  // namespace greenai::edge
