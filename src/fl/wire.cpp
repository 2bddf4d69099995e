// The federated messages' bytes (wire.h).
#include "greenai/fl/wire.h"

#include <cstring>

#include "greenai/error.h"

namespace greenai::fl {
namespace {

constexpr char kMagic[4] = {'G', 'A', 'F', 'L'};
constexpr uint32_t kVersion = 1;
constexpr uint32_t kMaxDims = 8;
constexpr int64_t kMaxElements = int64_t{1} << 31;

static_assert(sizeof(float) == 4);

template <typename T>
void put(std::vector<uint8_t>& out, T v) {
  uint8_t bytes[sizeof(T)];
  std::memcpy(bytes, &v, sizeof(T));
  out.insert(out.end(), bytes, bytes + sizeof(T));
}

class Reader {
 public:
  Reader(const std::vector<uint8_t>& bytes, const std::string& from) : b_(bytes), from_(from) {}
  template <typename T>
  T get(const char* what) {
    T v;
    std::memcpy(&v, take(sizeof(T), what), sizeof(T));
    return v;
  }
  const uint8_t* take(size_t n, const char* what) {
    if (n > b_.size() - at_) fail(std::string("it ends inside the ") + what);
    const uint8_t* p = b_.data() + at_;
    at_ += n;
    return p;
  }
  bool done() const { return at_ == b_.size(); }
  [[noreturn]] void fail(const std::string& problem) const {
    throw Error("cannot read the model message from " + from_, problem,
                "check both sides run the same greenai");
  }

 private:
  const std::vector<uint8_t>& b_;
  const std::string& from_;
  size_t at_ = 0;
};

std::string shape_text(const torch::Tensor& t) {
  std::string s = "[";
  for (int64_t d = 0; d < t.dim(); ++d) s += (d ? ", " : "") + std::to_string(t.size(d));
  return s + "]";
}

}  // namespace

std::vector<uint8_t> encode(const ModelMessage& m) {
  std::vector<uint8_t> out(kMagic, kMagic + 4);
  put(out, kVersion);
  const std::string header = m.header.dump();
  put(out, static_cast<uint32_t>(header.size()));
  out.insert(out.end(), header.begin(), header.end());
  put(out, static_cast<uint32_t>(m.tensors.size()));
  for (const torch::Tensor& t : m.tensors) {
    const torch::Tensor f = t.detach().to(torch::kCPU, torch::kFloat32).contiguous();
    put(out, static_cast<uint32_t>(f.dim()));
    for (int64_t d = 0; d < f.dim(); ++d) put(out, static_cast<int64_t>(f.size(d)));
    const auto* data = reinterpret_cast<const uint8_t*>(f.data_ptr<float>());
    out.insert(out.end(), data, data + f.numel() * sizeof(float));
  }
  return out;
}

ModelMessage decode(const std::vector<uint8_t>& bytes, const std::string& from) {
  Reader r(bytes, from);
  if (std::memcmp(r.take(4, "magic"), kMagic, 4) != 0) r.fail("it is not a model message");
  if (const auto v = r.get<uint32_t>("version"); v != kVersion)
    r.fail("version " + std::to_string(v) + " where this greenai reads " +
           std::to_string(kVersion));
  ModelMessage m;
  const auto header_bytes = r.get<uint32_t>("header size");
  const auto* header = reinterpret_cast<const char*>(r.take(header_bytes, "header"));
  try {
    m.header = util::Json::parse(std::string(header, header_bytes));
  } catch (const std::exception& e) {
    r.fail(std::string("its header is not JSON: ") + e.what());
  }
  if (!m.header.is_object()) r.fail("its header is not a JSON object");
  const auto count = r.get<uint32_t>("tensor count");
  for (uint32_t i = 0; i < count; ++i) {
    const auto dims = r.get<uint32_t>("tensor dims");
    if (dims > kMaxDims)
      r.fail("tensor " + std::to_string(i) + " has " + std::to_string(dims) + " dims (at most 8)");
    std::vector<int64_t> sizes;
    int64_t elements = 1;
    for (uint32_t d = 0; d < dims; ++d) {
      const auto n = r.get<int64_t>("tensor shape");
      if (n < 0 || (n > 0 && elements > kMaxElements / n))
        r.fail("tensor " + std::to_string(i) + " has a size out of range");
      sizes.push_back(n);
      elements *= n;
    }
    const uint8_t* data = r.take(static_cast<size_t>(elements) * sizeof(float), "tensor data");
    torch::Tensor t = torch::empty(sizes, torch::kFloat32);
    if (elements > 0) std::memcpy(t.data_ptr<float>(), data, elements * sizeof(float));
    m.tensors.push_back(t);
  }
  if (!r.done()) r.fail("it has bytes after its last tensor");
  return m;
}

std::string shape_mismatch(const std::vector<torch::Tensor>& got,
                           const std::vector<torch::Tensor>& want) {
  if (got.size() != want.size())
    return std::to_string(got.size()) + " tensors where the model has " +
           std::to_string(want.size());
  for (size_t i = 0; i < got.size(); ++i)
    if (!got[i].sizes().equals(want[i].sizes()))
      return "tensor " + std::to_string(i) + " is " + shape_text(got[i]) +
             " where the model's is " + shape_text(want[i]);
  return "";
}

}  // namespace greenai::fl
