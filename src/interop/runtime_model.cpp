#include "greenai/interop/runtime_model.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <vector>

#include "greenai/edge/format.h"
#include "greenai/error.h"
#include "greenai/interop/onnx.h"

namespace greenai::interop {

RuntimeModel::RuntimeModel(const std::string& path, int max_batch)
    : RuntimeModel(path, max_batch, {}) {}

RuntimeModel::RuntimeModel(const std::string& path, int max_batch,
                           const std::vector<uint32_t>& input_shape) {
  char why[256] = "";
  greenai_edge_status status;
  if (looks_like_onnx(path)) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw Error("cannot read model (path=" + path + ")", std::strerror(errno));
    std::ostringstream onnx;
    onnx << f.rdbuf();
    imported_ = std::make_unique<edge::AlignedBytes>(onnx_to_edge(onnx.str(), input_shape));
    status = greenai_edge_load_memory(imported_->data(), imported_->size(), max_batch, &model_, why,
                                      sizeof why);
    format_ = "onnx";
  } else {
    if (!input_shape.empty())
      throw Error("cannot load model (path=" + path + ")",
                  "an edge file fixes its input shape; --input-shape is for ONNX files");
    status = greenai_edge_load_file(path.c_str(), max_batch, &model_, why, sizeof why);
  }
  if (status != GREENAI_EDGE_OK) throw Error("cannot load model (path=" + path + ")", why);
  // The loader accepted these bytes, so the view of them cannot fail.
  std::vector<uint8_t> bytes;
  if (imported_) {
    bytes.assign(imported_->data(), imported_->data() + imported_->size());
  } else {
    std::ifstream f(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  }
  edge::FileView view;
  if (edge::view_file(bytes, &view).empty())
    for (const edge::OpRecord& op : view.ops)
      if (op.kind == edge::OpKind::kQuantize || op.kind == edge::OpKind::kQLinear ||
          op.kind == edge::OpKind::kQConv2d)
        precision_ = "int8";
}

bool RuntimeModel::loads(const std::string& path) {
  return edge::is_edge_file(path) || looks_like_onnx(path);
}

RuntimeModel::~RuntimeModel() { greenai_edge_free(model_); }

}  // namespace greenai::interop
