// What ONNX export and import share: recognising an ONNX file, and the ONNX checker.
#include "greenai/interop/onnx.h"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <cstring>
#include <fstream>

#include "greenai/edge/format.h"
#include "greenai/error.h"

namespace greenai::interop {

using ::onnx::ModelProto;

void check_onnx(const std::string& onnx_bytes) {
  ModelProto model;
  if (!model.ParseFromString(onnx_bytes))
    throw Error("cannot check ONNX model", "not a serialized ONNX ModelProto");
  try {
    ::onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    throw Error("cannot check ONNX model", std::string("the ONNX checker refuses it: ") + e.what());
  }
}

bool looks_like_onnx(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  char first[8] = {};
  f.read(first, sizeof first);
  if (f.gcount() < 2) return false;
  if (std::memcmp(first, edge::kMagic, sizeof first) == 0) return false;  // an edge file
  return first[0] == 0x08;  // field 1 (ir_version), varint: how every ModelProto starts
}

}  // namespace greenai::interop
