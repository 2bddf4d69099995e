// Reading a node's attributes, for both ONNX importers: each by name, with a fallback.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <string>
#include <vector>

namespace greenai::interop {

/// The attribute called `name`, or null.
inline const ::onnx::AttributeProto* find_attr(const ::onnx::NodeProto& n,
                                               const std::string& name) {
  for (const ::onnx::AttributeProto& a : n.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}
inline int64_t int_attr(const ::onnx::NodeProto& n, const std::string& name, int64_t fallback) {
  const ::onnx::AttributeProto* a = find_attr(n, name);
  return a ? a->i() : fallback;
}
inline float float_attr(const ::onnx::NodeProto& n, const std::string& name, float fallback) {
  const ::onnx::AttributeProto* a = find_attr(n, name);
  return a ? a->f() : fallback;
}
inline std::string string_attr(const ::onnx::NodeProto& n, const std::string& name) {
  const ::onnx::AttributeProto* a = find_attr(n, name);
  return a ? a->s() : std::string();
}
inline std::vector<int64_t> ints_attr(const ::onnx::NodeProto& n, const std::string& name) {
  const ::onnx::AttributeProto* a = find_attr(n, name);
  return a ? std::vector<int64_t>(a->ints().begin(), a->ints().end()) : std::vector<int64_t>();
}

}  // namespace greenai::interop
