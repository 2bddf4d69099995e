#include "greenai/nn/model.h"

#include "greenai/error.h"

namespace greenai::nn {
namespace {

struct KindName {
  LayerKind kind;
  const char* name;
};
constexpr KindName kKinds[] = {
    {LayerKind::kLinear, "linear"},      {LayerKind::kConv2d, "conv2d"},
    {LayerKind::kReLU, "relu"},          {LayerKind::kTanh, "tanh"},
    {LayerKind::kDropout, "dropout"},    {LayerKind::kFlatten, "flatten"},
    {LayerKind::kMaxPool2d, "maxpool2d"}};

[[noreturn]] void bad_spec(const std::string& what) { throw Error("cannot build model", what); }

}  // namespace

const char* to_string(LayerKind kind) {
  for (const auto& k : kKinds)
    if (k.kind == kind) return k.name;
  return "?";
}

util::Json ModelSpec::to_json() const {
  util::Json json = util::Json::object();
  json.set("arch", arch);
  util::Json shape = util::Json::array();
  for (int64_t d : input_shape) shape.push(d);
  json.set("input_shape", shape);
  util::Json layer_list = util::Json::array();
  for (const LayerSpec& l : layers) {
    util::Json j = util::Json::object();
    j.set("kind", to_string(l.kind));
    if (l.kind == LayerKind::kLinear || l.kind == LayerKind::kConv2d)
      j.set("in", l.in).set("out", l.out);
    if (l.kind == LayerKind::kConv2d || l.kind == LayerKind::kMaxPool2d)
      j.set("kernel", l.kernel).set("stride", l.stride).set("padding", l.padding);
    if (l.kind == LayerKind::kDropout) j.set("p", l.dropout);
    layer_list.push(j);
  }
  json.set("layers", layer_list);
  return json;
}

ModelSpec ModelSpec::from_json(const util::Json& json) {
  ModelSpec spec;
  spec.arch = json.at("arch").string();
  spec.input_shape.clear();
  for (const auto& d : json.at("input_shape").items())
    spec.input_shape.push_back(static_cast<int64_t>(d.number()));
  for (const auto& j : json.at("layers").items()) {
    LayerSpec l{LayerKind::kReLU};
    const std::string& kind = j.at("kind").string();
    bool known = false;
    for (const auto& k : kKinds)
      if (kind == k.name) l.kind = k.kind, known = true;
    if (!known) bad_spec("unknown layer kind '" + kind + "'");
    auto integer = [&](const char* key) { return static_cast<int64_t>(j.at(key).number()); };
    if (l.kind == LayerKind::kLinear || l.kind == LayerKind::kConv2d)
      l.in = integer("in"), l.out = integer("out");
    if (l.kind == LayerKind::kConv2d || l.kind == LayerKind::kMaxPool2d)
      l.kernel = integer("kernel"), l.stride = integer("stride"), l.padding = integer("padding");
    if (l.kind == LayerKind::kDropout) l.dropout = j.at("p").number();
    spec.layers.push_back(l);
  }
  spec.validate();
  return spec;
}

void ModelSpec::validate() const {
  if (input_shape.empty()) bad_spec("empty input shape");
  std::vector<int64_t> shape = input_shape;
  for (size_t i = 0; i < layers.size(); ++i) {
    const LayerSpec& l = layers[i];
    const std::string where = "layer " + std::to_string(i) + " (" + to_string(l.kind) + ")";
    switch (l.kind) {
      case LayerKind::kLinear:
        if (shape.size() != 1 || shape[0] != l.in || l.out <= 0)
          bad_spec(where + " expects " + std::to_string(l.in) + " features, gets " +
                   (shape.size() == 1 ? std::to_string(shape[0])
                                      : "a " + std::to_string(shape.size()) + "-d input"));
        shape = {l.out};
        break;
      case LayerKind::kConv2d:
      case LayerKind::kMaxPool2d: {
        if (shape.size() != 3) bad_spec(where + " needs a C x H x W input");
        if (l.kind == LayerKind::kConv2d && (shape[0] != l.in || l.out <= 0))
          bad_spec(where + " expects " + std::to_string(l.in) + " channels, gets " +
                   std::to_string(shape[0]));
        if (l.kernel <= 0 || l.stride <= 0 || l.padding < 0)
          bad_spec(where + " has a bad kernel, stride or padding");
        int64_t h = (shape[1] + 2 * l.padding - l.kernel) / l.stride + 1;
        int64_t w = (shape[2] + 2 * l.padding - l.kernel) / l.stride + 1;
        if (h <= 0 || w <= 0) bad_spec(where + " leaves no output");
        shape = {l.kind == LayerKind::kConv2d ? l.out : shape[0], h, w};
        break;
      }
      case LayerKind::kFlatten: {
        int64_t n = 1;
        for (int64_t d : shape) n *= d;
        shape = {n};
        break;
      }
      case LayerKind::kDropout:
        if (l.dropout < 0 || l.dropout >= 1) bad_spec(where + " probability outside [0, 1)");
        break;
      case LayerKind::kReLU:
      case LayerKind::kTanh:
        break;
    }
  }
}

int64_t ModelSpec::parameter_count() const {
  int64_t n = 0;
  for (const LayerSpec& l : layers) {
    if (l.kind == LayerKind::kLinear) n += l.in * l.out + l.out;
    if (l.kind == LayerKind::kConv2d) n += l.in * l.out * l.kernel * l.kernel + l.out;
  }
  return n;
}

int64_t ModelSpec::macs() const {
  int64_t macs = 0;
  std::vector<int64_t> shape = input_shape;
  for (const LayerSpec& l : layers) {
    if (l.kind == LayerKind::kLinear) {
      macs += l.in * l.out;
      shape = {l.out};
    } else if (l.kind == LayerKind::kConv2d || l.kind == LayerKind::kMaxPool2d) {
      int64_t h = (shape[1] + 2 * l.padding - l.kernel) / l.stride + 1;
      int64_t w = (shape[2] + 2 * l.padding - l.kernel) / l.stride + 1;
      if (l.kind == LayerKind::kConv2d) macs += h * w * l.out * l.in * l.kernel * l.kernel;
      shape = {l.kind == LayerKind::kConv2d ? l.out : shape[0], h, w};
    } else if (l.kind == LayerKind::kFlatten) {
      int64_t n = 1;
      for (int64_t d : shape) n *= d;
      shape = {n};
    }
  }
  return macs;
}

std::string ModelSpec::describe() const {
  bool mlp = true;
  std::string widths;
  for (const LayerSpec& l : layers) {
    if (l.kind == LayerKind::kConv2d || l.kind == LayerKind::kMaxPool2d) mlp = false;
    if (l.kind == LayerKind::kLinear)
      widths += (widths.empty() ? std::to_string(l.in) : "") + "-" + std::to_string(l.out);
  }
  if (mlp) return widths;
  std::string text;
  for (const LayerSpec& l : layers) {
    if (!text.empty()) text += " ";
    text += to_string(l.kind);
    if (l.kind == LayerKind::kLinear || l.kind == LayerKind::kConv2d)
      text += "(" + std::to_string(l.in) + "->" + std::to_string(l.out) + ")";
  }
  return text;
}

ModelSpec mlp_spec(const std::string& arch, const std::vector<int64_t>& widths, double dropout,
                   std::vector<int64_t> input_shape) {
  ModelSpec spec;
  spec.arch = arch;
  spec.input_shape = std::move(input_shape);
  if (spec.input_shape.size() > 1) spec.layers.push_back({LayerKind::kFlatten});
  for (size_t i = 0; i + 1 < widths.size(); ++i) {
    spec.layers.push_back({LayerKind::kLinear, widths[i], widths[i + 1]});
    if (i + 2 < widths.size()) {
      spec.layers.push_back({LayerKind::kReLU});
      if (dropout > 0) spec.layers.push_back({.kind = LayerKind::kDropout, .dropout = dropout});
    }
  }
  spec.validate();
  return spec;
}

ModelSpec teacher_spec() { return mlp_spec("teacher", {784, 1200, 1200, 10}, 0.5); }

ModelSpec student_spec(int64_t hidden) {
  if (hidden <= 0)
    throw Error("cannot build student (--hidden=" + std::to_string(hidden) + ")",
                "must be positive");
  return mlp_spec("student", {784, hidden, 10}, 0.0);
}

ModelSpec cnn_spec() {
  ModelSpec spec;
  spec.arch = "cnn";
  spec.layers = {
      {.kind = LayerKind::kConv2d, .in = 1, .out = 16, .kernel = 3, .stride = 1, .padding = 1},
      {LayerKind::kReLU},
      {LayerKind::kFlatten},
      {LayerKind::kLinear, 16 * 28 * 28, 128},
      {LayerKind::kReLU},
      {LayerKind::kLinear, 128, 10}};
  spec.validate();
  return spec;
}

ModelSpec spec_by_name(const std::string& name, int64_t hidden) {
  if (name == "teacher") return teacher_spec();
  if (name == "student") return student_spec(hidden);
  if (name == "cnn") return cnn_spec();
  throw Error("cannot build model (--model=" + name + ")", "unknown model",
              "use teacher, student or cnn");
}

NetImpl::NetImpl(ModelSpec spec) : spec_(std::move(spec)) {
  spec_.validate();
  for (const LayerSpec& l : spec_.layers) {
    std::shared_ptr<torch::nn::Module> module;
    switch (l.kind) {
      case LayerKind::kLinear: {
        torch::nn::Linear m(l.in, l.out);
        sequential_->push_back(m);
        module = m.ptr();
        break;
      }
      case LayerKind::kConv2d: {
        torch::nn::Conv2d m(
            torch::nn::Conv2dOptions(l.in, l.out, l.kernel).stride(l.stride).padding(l.padding));
        sequential_->push_back(m);
        module = m.ptr();
        break;
      }
      case LayerKind::kMaxPool2d: {
        torch::nn::MaxPool2d m(
            torch::nn::MaxPool2dOptions(l.kernel).stride(l.stride).padding(l.padding));
        sequential_->push_back(m);
        module = m.ptr();
        break;
      }
      case LayerKind::kReLU: {
        torch::nn::ReLU m;
        sequential_->push_back(m);
        module = m.ptr();
        break;
      }
      case LayerKind::kTanh: {
        torch::nn::Tanh m;
        sequential_->push_back(m);
        module = m.ptr();
        break;
      }
      case LayerKind::kDropout: {
        torch::nn::Dropout m(l.dropout);
        sequential_->push_back(m);
        module = m.ptr();
        break;
      }
      case LayerKind::kFlatten: {
        torch::nn::Flatten m;
        sequential_->push_back(m);
        module = m.ptr();
        break;
      }
    }
    layers_.push_back(module);
  }
  register_module("layers", sequential_);
}

torch::Tensor NetImpl::forward(torch::Tensor x) { return sequential_->forward(x); }

int64_t count_nonzero(const Net& net) {
  int64_t n = 0;
  for (const auto& p : net->parameters()) n += p.ne(0).sum().item<int64_t>();
  return n;
}

}  // namespace greenai::nn
