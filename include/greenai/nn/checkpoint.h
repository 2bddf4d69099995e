// Checkpoints: LibTorch weights (FILE) plus a metadata file (FILE.json) holding the architecture,
// the hyper-parameters, the results (accuracy, energy to train) and the weights' size and CRC-32,
// so a checkpoint that does not match its metadata, or is truncated, is refused clearly.
//
//   greenai::nn::save_checkpoint(net, "teacher.pt", info);
//   greenai::nn::Checkpoint c = greenai::nn::load_checkpoint("teacher.pt");
//   c.net->eval();
#pragma once

#include <string>

#include "greenai/nn/model.h"
#include "greenai/util/json.h"

namespace greenai::nn {

inline constexpr const char* kCheckpointFormat = "greenai-checkpoint";
inline constexpr int kCheckpointVersion = 1;

struct Checkpoint {
  Net net{nullptr};
  util::Json info = util::Json::object();  ///< What save_checkpoint was given.
};

/// Metadata path of a checkpoint: `path` + ".json".
std::string metadata_path(const std::string& path);

/// Writes the weights to `path` and the metadata to metadata_path(path). `info` is free-form
/// (hyper-parameters, accuracy, energy). Throws greenai::Error if either cannot be written.
void save_checkpoint(const Net& net, const std::string& path, const util::Json& info);

/// Reads both files and checks them against each other. Throws greenai::Error for a missing,
/// truncated or mismatched checkpoint.
Checkpoint load_checkpoint(const std::string& path);

/// CRC-32 (zlib's) and size of a file; throws greenai::Error if unreadable.
std::pair<uint32_t, uint64_t> file_crc32(const std::string& path);

}  // namespace greenai::nn
