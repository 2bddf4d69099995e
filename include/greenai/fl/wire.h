// The bytes a federated server and its clients exchange: a model's tensors (fp32, with their
// shapes) and a small JSON header (the round, the client's sample count, energy, PUE and its
// provenance). Our own format, checked field by field on decoding, so that a client that sends
// a model of another shape, or garbage, is told apart from one that sends a model.
//
//   layout: "GAFL" | u32 version (1) | u32 header bytes | header (JSON text)
//           | u32 tensors | per tensor: u32 dims, i64 size per dim, fp32 data   (little-endian)
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "greenai/util/json.h"

namespace greenai::fl {

struct ModelMessage {
  util::Json header = util::Json::object();
  std::vector<torch::Tensor> tensors;  ///< any shapes; sent as fp32
};

std::vector<uint8_t> encode(const ModelMessage& message);

/// Throws greenai::Error naming `from` (who sent it) for anything but a whole, well-formed
/// message: bad magic or version, truncated, trailing bytes, more than 8 dims or 2^31 elements
/// per tensor, a header that is not a JSON object.
ModelMessage decode(const std::vector<uint8_t>& bytes, const std::string& from);

/// Where `got` differs in count or shape from `want`: "" when it does not, else what differs
/// ("tensor 0 is [16, 784] where the model's is [8, 784]").
std::string shape_mismatch(const std::vector<torch::Tensor>& got,
                           const std::vector<torch::Tensor>& want);

}  // namespace greenai::fl
