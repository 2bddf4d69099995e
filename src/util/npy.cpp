#include "greenai/util/npy.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "greenai/edge/records.h"
#include "greenai/error.h"
#include "greenai/util/file.h"

namespace greenai::util {
namespace {

[[noreturn]] void refuse(const std::string& origin, const std::string& problem,
                         const std::string& hint = {}) {
  throw Error("cannot read NumPy array (path=" + origin + ")", problem, hint);
}

uint64_t little_endian(const uint8_t* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = v << 8 | p[i];
  return v;
}

// The Python literal of a .npy header: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
// (keys in any order, either quote, optional trailing commas). Only the forms NumPy writes for
// the dtypes read here; anything else is refused by name.
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& origin) : text_(text), origin_(origin) {}

  void parse(std::string& descr, bool& fortran_order, std::vector<uint64_t>& shape) {
    bool have_descr = false, have_order = false, have_shape = false;
    expect('{');
    while (!peek('}')) {
      const std::string key = string_literal();
      expect(':');
      if (key == "descr") {
        if (!peek('\'') && !peek('"'))
          refuse(origin_, "its dtype is structured or a sub-array (descr is not a string)",
                 "save a plain numeric array, e.g. x.astype(np.float32)");
        descr = string_literal();
        have_descr = true;
      } else if (key == "fortran_order") {
        fortran_order = boolean();
        have_order = true;
      } else if (key == "shape") {
        shape = tuple();
        have_shape = true;
      } else {
        refuse(origin_, "its header has an unknown key '" + key + "'");
      }
      if (!peek('}')) expect(',');
    }
    expect('}');
    if (!have_descr || !have_order || !have_shape)
      refuse(origin_, "its header lacks descr, fortran_order or shape");
  }

 private:
  void skip_space() {
    while (at_ < text_.size() && (text_[at_] == ' ' || text_[at_] == '\n' || text_[at_] == '\t'))
      ++at_;
  }
  bool peek(char c) {
    skip_space();
    return at_ < text_.size() && text_[at_] == c;
  }
  void expect(char c) {
    if (!peek(c))
      refuse(origin_, std::string("its header is malformed (expected '") + c + "' at character " +
                          std::to_string(at_) + ")");
    ++at_;
  }
  std::string string_literal() {
    skip_space();
    if (at_ >= text_.size() || (text_[at_] != '\'' && text_[at_] != '"'))
      refuse(origin_, "its header is malformed (expected a quoted key or value at character " +
                          std::to_string(at_) + ")");
    const char quote = text_[at_++];
    const size_t end = text_.find(quote, at_);
    if (end == std::string_view::npos) refuse(origin_, "its header has an unterminated string");
    std::string s(text_.substr(at_, end - at_));
    at_ = end + 1;
    return s;
  }
  bool boolean() {
    skip_space();
    for (const auto& [word, value] : {std::pair<std::string_view, bool>{"True", true},
                                      std::pair<std::string_view, bool>{"False", false}})
      if (text_.substr(at_, word.size()) == word) {
        at_ += word.size();
        return value;
      }
    refuse(origin_, "its header's fortran_order is neither True nor False");
  }
  std::vector<uint64_t> tuple() {
    std::vector<uint64_t> dims;
    expect('(');
    while (!peek(')')) {
      skip_space();
      uint64_t d = 0;
      size_t digits = 0;
      while (at_ < text_.size() && text_[at_] >= '0' && text_[at_] <= '9' && digits < 19) {
        d = d * 10 + static_cast<uint64_t>(text_[at_++] - '0');
        ++digits;
      }
      if (at_ < text_.size() && text_[at_] == 'L') ++at_;  // Python 2 longs
      if (digits == 0 || (at_ < text_.size() && text_[at_] >= '0' && text_[at_] <= '9'))
        refuse(origin_, "its shape is not a tuple of non-negative integers");
      dims.push_back(d);
      if (!peek(')')) expect(',');
    }
    expect(')');
    return dims;
  }

  std::string_view text_;
  const std::string& origin_;
  size_t at_ = 0;
};

// The dtypes read: NumPy's code (after the byte-order character), type and size.
struct TypeInfo {
  const char* code;
  NpyType type;
  size_t bytes;
};
constexpr TypeInfo kTypes[] = {
    {"f4", NpyType::kFloat32, 4}, {"f8", NpyType::kFloat64, 8}, {"i1", NpyType::kInt8, 1},
    {"i2", NpyType::kInt16, 2},   {"i4", NpyType::kInt32, 4},   {"i8", NpyType::kInt64, 8},
    {"u1", NpyType::kUint8, 1},   {"u2", NpyType::kUint16, 2},  {"u4", NpyType::kUint32, 4},
    {"u8", NpyType::kUint64, 8},  {"b1", NpyType::kBool, 1}};

// '<f4', '>i8', '|u1', '=f8', '|b1': byte order, kind, size.
const TypeInfo& type_of(const std::string& descr, bool& swap, const std::string& origin) {
  if (descr.size() == 3 && std::strchr("<>|=", descr[0]))
    for (const TypeInfo& t : kTypes)
      if (descr.compare(1, 2, t.code) == 0) {
        swap = descr[0] == '>' && t.bytes > 1;
        return t;
      }
  refuse(origin, "its dtype '" + descr + "' is not one read here",
         "save float32 inputs and int64 labels (x.astype(np.float32), y.astype(np.int64))");
}

}  // namespace

size_t NpyArray::element_bytes() const {
  for (const TypeInfo& t : kTypes)
    if (t.type == type) return t.bytes;
  return 1;
}

uint64_t NpyArray::elements() const {
  uint64_t n = 1;
  for (uint64_t d : shape) n *= d;
  return n;
}

namespace {

// Every element of `a`, stored as T, cast to Out: the type dispatched once, not per element.
template <typename Out, typename T>
std::vector<Out> cast_all(const NpyArray& a) {
  std::vector<Out> out(a.elements());
  for (size_t i = 0; i < out.size(); ++i) {
    T v;
    std::memcpy(&v, a.data.data() + i * sizeof(T), sizeof(T));
    out[i] = static_cast<Out>(v);
  }
  return out;
}

template <typename Out>
std::vector<Out> convert(const NpyArray& a) {
  switch (a.type) {
    case NpyType::kFloat32:
      return cast_all<Out, float>(a);
    case NpyType::kFloat64:
      return cast_all<Out, double>(a);
    case NpyType::kInt8:
      return cast_all<Out, int8_t>(a);
    case NpyType::kInt16:
      return cast_all<Out, int16_t>(a);
    case NpyType::kInt32:
      return cast_all<Out, int32_t>(a);
    case NpyType::kInt64:
      return cast_all<Out, int64_t>(a);
    case NpyType::kUint8:
    case NpyType::kBool:
      return cast_all<Out, uint8_t>(a);
    case NpyType::kUint16:
      return cast_all<Out, uint16_t>(a);
    case NpyType::kUint32:
      return cast_all<Out, uint32_t>(a);
    case NpyType::kUint64:
      return cast_all<Out, uint64_t>(a);
  }
  return {};
}

}  // namespace

std::vector<float> NpyArray::to_float32() const { return convert<float>(*this); }

std::vector<int64_t> NpyArray::to_int64() const {
  if (type == NpyType::kFloat32 || type == NpyType::kFloat64)
    throw Error("cannot read integers (dtype=" + descr + ")",
                "the array holds floating-point values",
                "save labels as integers: y.astype(np.int64)");
  std::vector<int64_t> out = convert<int64_t>(*this);
  if (type == NpyType::kUint64)  // the cast wrapped values above INT64_MAX to negatives
    for (size_t i = 0; i < out.size(); ++i)
      if (out[i] < 0)
        throw Error("cannot read integers (dtype=" + descr + ")",
                    "element " + std::to_string(i) + " is above the int64 range");
  return out;
}

NpyArray parse_npy(const std::vector<uint8_t>& bytes, const std::string& origin) {
  static const uint8_t kMagic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  if (bytes.size() < 10 || std::memcmp(bytes.data(), kMagic, 6) != 0)
    refuse(origin, "it is not a .npy file (no \\x93NUMPY magic)",
           "write it with np.save(path, array)");
  const int major = bytes[6];
  if (major < 1 || major > 3)
    refuse(origin, "its format version " + std::to_string(major) + "." + std::to_string(bytes[7]) +
                       " is not 1, 2 or 3");
  const int length_bytes = major == 1 ? 2 : 4;
  const size_t start = 8 + static_cast<size_t>(length_bytes);
  if (bytes.size() < start) refuse(origin, "it ends inside its header");
  const uint64_t header_length = little_endian(bytes.data() + 8, length_bytes);
  if (bytes.size() - start < header_length) refuse(origin, "it ends inside its header");
  NpyArray a;
  bool fortran_order = false;
  HeaderParser(std::string_view(reinterpret_cast<const char*>(bytes.data()) + start,
                                static_cast<size_t>(header_length)),
               origin)
      .parse(a.descr, fortran_order, a.shape);
  if (fortran_order)
    refuse(origin, "it is in Fortran (column-major) order",
           "save a C-ordered copy: np.save(path, np.ascontiguousarray(array))");
  bool swap = false;
  const TypeInfo& info = type_of(a.descr, swap, origin);
  a.type = info.type;
  uint64_t count = 1;
  for (uint64_t d : a.shape) {
    if (d != 0 && count > kMaxNpyBytes / info.bytes / d)
      refuse(origin, "its shape asks for more than " + std::to_string(kMaxNpyBytes) + " bytes");
    count *= d;
  }
  const uint64_t data_bytes = count * info.bytes;
  const uint64_t have = bytes.size() - start - header_length;
  if (have != data_bytes)
    refuse(origin, "it holds " + std::to_string(have) +
                       " data bytes where its shape and dtype say " + std::to_string(data_bytes) +
                       (have < data_bytes ? " (truncated)" : ""));
  const auto* data = bytes.data() + start + header_length;
  a.data.assign(data, data + data_bytes);
  if (swap)
    for (uint64_t i = 0; i < data_bytes; i += info.bytes)
      std::reverse(a.data.begin() + static_cast<long>(i),
                   a.data.begin() + static_cast<long>(i + info.bytes));
  return a;
}

std::vector<std::pair<std::string, NpyArray>> parse_npz(const std::vector<uint8_t>& bytes,
                                                        const std::string& origin) {
  auto at = [&](uint64_t offset, uint64_t size) {
    if (offset > bytes.size() || bytes.size() - offset < size)
      refuse(origin, "its zip directory points past the end of the file (truncated?)");
    return bytes.data() + offset;
  };
  // The end-of-central-directory record: 22 bytes plus a comment of up to 65535.
  size_t end = std::string::npos;
  for (size_t i = bytes.size() >= 22 ? bytes.size() - 22 : 0;
       bytes.size() >= 22 && i + 65557 >= bytes.size(); --i) {
    if (little_endian(bytes.data() + i, 4) == 0x06054b50) {
      end = i;
      break;
    }
    if (i == 0) break;
  }
  if (end == std::string::npos)
    refuse(origin, "it is not a zip archive (no end-of-directory record)",
           "write it with np.savez(path, x=x, y=y)");
  const uint8_t* eocd = bytes.data() + end;
  const uint64_t entries = little_endian(eocd + 10, 2);
  const uint64_t directory = little_endian(eocd + 16, 4);
  if (entries == 0xFFFF || directory == 0xFFFFFFFF)
    refuse(origin, "it is a ZIP64 archive (over 65535 arrays or 4 GiB), not read here",
           "save the arrays as separate .npy files");
  std::vector<std::pair<std::string, NpyArray>> arrays;
  uint64_t offset = directory;
  for (uint64_t e = 0; e < entries; ++e) {
    const uint8_t* c = at(offset, 46);
    if (little_endian(c, 4) != 0x02014b50) refuse(origin, "its zip directory is corrupt");
    const uint64_t method = little_endian(c + 10, 2), crc = little_endian(c + 16, 4);
    uint64_t packed = little_endian(c + 20, 4), size = little_endian(c + 24, 4);
    const uint64_t name_length = little_endian(c + 28, 2), extra_length = little_endian(c + 30, 2),
                   comment_length = little_endian(c + 32, 2);
    uint64_t local = little_endian(c + 42, 4);
    const uint8_t* name_bytes = at(offset + 46, name_length + extra_length);
    std::string name(reinterpret_cast<const char*>(name_bytes), name_length);
    // ZIP64 sizes in the extra field (id 1) for the fields that hold 0xFFFFFFFF.
    for (uint64_t x = 0; x + 4 <= extra_length;) {
      const uint8_t* field = name_bytes + name_length + x;
      const uint64_t id = little_endian(field, 2), length = little_endian(field + 2, 2);
      if (x + 4 + length > extra_length) break;
      if (id == 1) {
        uint64_t used = 0;
        for (uint64_t* v : {&size, &packed, &local})
          if (*v == 0xFFFFFFFF && used + 8 <= length) {
            *v = little_endian(field + 4 + used, 8);
            used += 8;
          }
      }
      x += 4 + length;
    }
    offset += 46 + name_length + extra_length + comment_length;
    if (method != 0)
      refuse(origin,
             "its member " + name + " is compressed (zip method " + std::to_string(method) +
                 "), not read here",
             "save with np.savez, not np.savez_compressed, or as .npy files");
    if (packed != size) refuse(origin, "its member " + name + " has inconsistent sizes");
    const uint8_t* l = at(local, 30);
    if (little_endian(l, 4) != 0x04034b50) refuse(origin, "its member " + name + " is corrupt");
    const uint64_t data_offset = local + 30 + little_endian(l + 26, 2) + little_endian(l + 28, 2);
    const uint8_t* data = at(data_offset, size);
    if (edge::crc32(data, static_cast<size_t>(size)) != crc)
      refuse(origin, "its member " + name + " fails its CRC-32 check (corrupt)");
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".npy") == 0)
      name.resize(name.size() - 4);
    arrays.emplace_back(name,
                        parse_npy(std::vector<uint8_t>(data, data + size), origin + ":" + name));
  }
  return arrays;
}

NpyArray read_array(const std::string& path, const std::string& name) {
  const std::string text = read_file(path);
  const std::vector<uint8_t> bytes(text.begin(), text.end());
  const bool zip = bytes.size() >= 4 && little_endian(bytes.data(), 4) == 0x04034b50;
  if (!zip) {
    if (!name.empty())
      refuse(path, "it is a .npy file (one array), so it has no array called " + name);
    return parse_npy(bytes, path);
  }
  auto arrays = parse_npz(bytes, path);
  std::string names;
  for (auto& [n, a] : arrays) {
    if (n == name || (name.empty() && arrays.size() == 1)) return std::move(a);
    names += (names.empty() ? "" : ", ") + n;
  }
  if (name.empty())
    refuse(path,
           "it holds " + std::to_string(arrays.size()) + " arrays (" + names + "): say which one");
  refuse(path, "it has no array called " + name + " (it has: " + names + ")");
}

void write_npy(const std::string& path, const std::vector<float>& data,
               const std::vector<uint64_t>& shape) {
  uint64_t count = 1;
  std::string dims;
  for (uint64_t d : shape) {
    count *= d;
    dims += std::to_string(d) + ",";
  }
  if (shape.size() > 1) dims.pop_back();  // (3,) for one dimension, (3, 4) for more
  if (count != data.size())
    throw Error("cannot write array (path=" + path + ")",
                "the shape holds " + std::to_string(count) + " elements, the data " +
                    std::to_string(data.size()));
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  // Magic, version 1.0, the header's length, then the header padded with spaces and ended by a
  // newline so that the data starts on a multiple of 64 bytes.
  const size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  std::string bytes = std::string("\x93NUMPY\x01\x00", 8);
  bytes += static_cast<char>(header.size() & 0xFF);
  bytes += static_cast<char>(header.size() >> 8);
  bytes += header;
  const size_t at = bytes.size();
  bytes.resize(at + data.size() * sizeof(float));
  for (size_t i = 0; i < data.size(); ++i) {  // little-endian whatever the host
    uint32_t bits;
    std::memcpy(&bits, &data[i], 4);
    for (int b = 0; b < 4; ++b) bytes[at + 4 * i + b] = static_cast<char>(bits >> (8 * b));
  }
  write_file_atomic(path, bytes);
}

}  // namespace greenai::util
