#include "greenai/nn/checkpoint.h"

#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "greenai/error.h"

namespace greenai::nn {

std::string metadata_path(const std::string& path) { return path + ".json"; }

std::pair<uint32_t, uint64_t> file_crc32(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot read checkpoint (path=" + path + ")", "no such readable file");
  uLong crc = ::crc32(0L, Z_NULL, 0);
  uint64_t size = 0;
  char buffer[1 << 16];
  while (in) {
    in.read(buffer, sizeof buffer);
    std::streamsize n = in.gcount();
    if (n <= 0) break;
    crc = ::crc32(crc, reinterpret_cast<const Bytef*>(buffer), static_cast<uInt>(n));
    size += static_cast<uint64_t>(n);
  }
  return {static_cast<uint32_t>(crc), size};
}

void save_checkpoint(const Net& net, const std::string& path, const util::Json& info) {
  const std::string action = "cannot write checkpoint (path=" + path + ")";
  try {
    torch::save(net, path);
  } catch (const c10::Error& e) {
    throw Error(action, "LibTorch could not write it", "choose a path in a writable folder");
  }
  auto [crc, size] = file_crc32(path);
  util::Json meta = util::Json::object();
  meta.set("format", kCheckpointFormat)
      .set("version", kCheckpointVersion)
      .set("weights_file", std::filesystem::path(path).filename().string())
      .set("weights_bytes", static_cast<double>(size))
      .set("weights_crc32", static_cast<double>(crc))
      .set("spec", net->spec().to_json())
      .set("info", info);
  std::ofstream out(metadata_path(path), std::ios::binary | std::ios::trunc);
  if (!out)
    throw Error("cannot write checkpoint metadata (path=" + metadata_path(path) + ")",
                "cannot open");
  out << meta.dump(2) << "\n";
  if (!out)
    throw Error("cannot write checkpoint metadata (path=" + metadata_path(path) + ")",
                "write failed");
}

Checkpoint load_checkpoint(const std::string& path) {
  const std::string action = "cannot load checkpoint (path=" + path + ")";
  const std::string meta_path = metadata_path(path);
  if (!std::filesystem::exists(path)) throw Error(action, "no such file");
  std::ifstream meta_in(meta_path, std::ios::binary);
  if (!meta_in)
    throw Error(
        action, "its metadata " + meta_path + " is missing",
        "a checkpoint is FILE plus FILE.json, both written by greenai train, distill or prune");
  std::stringstream text;
  text << meta_in.rdbuf();
  util::Json meta;
  ModelSpec spec;
  try {
    meta = util::Json::parse(text.str());
    if (meta.at("format").string() != kCheckpointFormat)
      throw Error(action, "not a GreenAI checkpoint");
    if (meta.at("version").number() != kCheckpointVersion)
      throw Error(action, "metadata version " +
                              std::to_string(static_cast<int>(meta.at("version").number())) +
                              " is not " + std::to_string(kCheckpointVersion));
    spec = ModelSpec::from_json(meta.at("spec"));
  } catch (const Error& e) {
    throw Error(action, std::string("bad metadata ") + meta_path + ": " + e.what());
  }
  auto [crc, size] = file_crc32(path);
  const double expected_size = meta.at("weights_bytes").number();
  if (static_cast<double>(size) != expected_size)
    throw Error(action, "the weights file has " + std::to_string(size) +
                            " bytes, its metadata says " +
                            std::to_string(static_cast<uint64_t>(expected_size)) +
                            " (truncated or replaced)");
  if (static_cast<double>(crc) != meta.at("weights_crc32").number())
    throw Error(action,
                "the weights do not match the CRC-32 in " + meta_path + " (corrupted or replaced)");
  Checkpoint checkpoint;
  checkpoint.net = Net(spec);
  // torch::load replaces each tensor with the stored one, shape included, without complaint:
  // compare the shapes the architecture expects with what was loaded.
  std::vector<std::vector<int64_t>> expected;
  for (const auto& p : checkpoint.net->named_parameters())
    expected.push_back(p.value().sizes().vec());
  const std::string mismatch = "the weights do not fit the architecture in " + meta_path;
  try {
    torch::load(checkpoint.net, path);
  } catch (const c10::Error& e) {
    throw Error(action, mismatch);
  }
  auto loaded = checkpoint.net->named_parameters();
  if (loaded.size() != expected.size()) throw Error(action, mismatch);
  for (size_t i = 0; i < loaded.size(); ++i)
    if (loaded[i].value().sizes().vec() != expected[i])
      throw Error(action, mismatch + " (" + loaded[i].key() + " has another shape)");
  if (const util::Json* info = meta.find("info")) checkpoint.info = *info;
  return checkpoint;
}

}  // namespace greenai::nn
