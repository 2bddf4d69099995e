#include "greenai/util/json.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "greenai/error.h"

namespace greenai::util {
namespace {

constexpr int kMaxDepth = 200;

const char* type_name(Json::Type type) {
  switch (type) {
    case Json::Type::kNull:
      return "null";
    case Json::Type::kBool:
      return "a boolean";
    case Json::Type::kNumber:
      return "a number";
    case Json::Type::kString:
      return "a string";
    case Json::Type::kArray:
      return "an array";
    case Json::Type::kObject:
      return "an object";
  }
  return "?";
}

[[noreturn]] void wrong_type(Json::Type have, const char* want) {
  throw Error("cannot read JSON value",
              std::string("expected ") + want + ", found " + type_name(have));
}

void escape(std::string& out, const std::string& text) {
  out += '"';
  for (unsigned char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buffer[8];
          std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
          out += buffer;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

class Parser {
 public:
  explicit Parser(const std::string& text) : text_(text) {}

  Json document() {
    Json value = parse_value(0);
    skip_space();
    if (pos_ != text_.size()) fail("unexpected text after the value");
    return value;
  }

 private:
  [[noreturn]] void fail(const std::string& what) {
    throw Error("cannot parse JSON", what + " at byte " + std::to_string(pos_));
  }
  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n' ||
                                   text_[pos_] == '\r' || text_[pos_] == '\t'))
      ++pos_;
  }
  bool consume(const char* word) {
    size_t n = std::char_traits<char>::length(word);
    if (text_.compare(pos_, n, word) != 0) return false;
    pos_ += n;
    return true;
  }
  Json parse_value(int depth) {
    if (depth > kMaxDepth) fail("nesting too deep");
    skip_space();
    if (pos_ >= text_.size()) fail("unexpected end");
    char c = text_[pos_];
    if (c == '{') return parse_object(depth);
    if (c == '[') return parse_array(depth);
    if (c == '"') return Json(parse_string());
    if (consume("true")) return Json(true);
    if (consume("false")) return Json(false);
    if (consume("null")) return Json();
    return Json(parse_number());
  }
  Json parse_object(int depth) {
    Json object = Json::object();
    ++pos_;
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == '}') {
      ++pos_;
      return object;
    }
    for (;;) {
      skip_space();
      if (pos_ >= text_.size() || text_[pos_] != '"') fail("expected a key");
      std::string key = parse_string();
      skip_space();
      if (pos_ >= text_.size() || text_[pos_] != ':') fail("expected ':'");
      ++pos_;
      object.set(key, parse_value(depth + 1));
      skip_space();
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < text_.size() && text_[pos_] == '}') {
        ++pos_;
        return object;
      }
      fail("expected ',' or '}'");
    }
  }
  Json parse_array(int depth) {
    Json array = Json::array();
    ++pos_;
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == ']') {
      ++pos_;
      return array;
    }
    for (;;) {
      array.push(parse_value(depth + 1));
      skip_space();
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < text_.size() && text_[pos_] == ']') {
        ++pos_;
        return array;
      }
      fail("expected ',' or ']'");
    }
  }
  std::string parse_string() {
    ++pos_;  // opening quote
    std::string out;
    while (pos_ < text_.size()) {
      char c = text_[pos_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in a string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= text_.size()) break;
      char e = text_[pos_++];
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          if (pos_ + 4 > text_.size()) fail("short \\u escape");
          unsigned code = 0;
          for (int i = 0; i < 4; ++i) {
            char h = text_[pos_++];
            code <<= 4;
            if (h >= '0' && h <= '9')
              code |= h - '0';
            else if (h >= 'a' && h <= 'f')
              code |= h - 'a' + 10;
            else if (h >= 'A' && h <= 'F')
              code |= h - 'A' + 10;
            else
              fail("bad \\u escape");
          }
          // UTF-8 encode (surrogate pairs are kept as two code points: enough for our files).
          if (code < 0x80) {
            out += static_cast<char>(code);
          } else if (code < 0x800) {
            out += static_cast<char>(0xC0 | (code >> 6));
            out += static_cast<char>(0x80 | (code & 0x3F));
          } else {
            out += static_cast<char>(0xE0 | (code >> 12));
            out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (code & 0x3F));
          }
          break;
        }
        default:
          fail("bad escape");
      }
    }
    fail("unterminated string");
  }
  double parse_number() {
    size_t start = pos_;
    if (pos_ < text_.size() && (text_[pos_] == '-' || text_[pos_] == '+')) ++pos_;
    while (pos_ < text_.size() &&
           (std::isdigit(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '.' ||
            text_[pos_] == 'e' || text_[pos_] == 'E' || text_[pos_] == '-' || text_[pos_] == '+'))
      ++pos_;
    if (start == pos_) fail("expected a value");
    std::string token = text_.substr(start, pos_ - start);
    char* end = nullptr;
    double value = std::strtod(token.c_str(), &end);
    if (end != token.c_str() + token.size() || !std::isfinite(value)) {
      pos_ = start;
      fail("malformed number '" + token + "'");
    }
    return value;
  }

  const std::string& text_;
  size_t pos_ = 0;
};

}  // namespace

bool Json::boolean() const {
  if (type_ != Type::kBool) wrong_type(type_, "a boolean");
  return bool_;
}
double Json::number() const {
  if (type_ != Type::kNumber) wrong_type(type_, "a number");
  return number_;
}
const std::string& Json::string() const {
  if (type_ != Type::kString) wrong_type(type_, "a string");
  return string_;
}
const std::vector<Json>& Json::items() const {
  if (type_ != Type::kArray) wrong_type(type_, "an array");
  return items_;
}
const std::vector<std::pair<std::string, Json>>& Json::members() const {
  if (type_ != Type::kObject) wrong_type(type_, "an object");
  return members_;
}

const Json* Json::find(const std::string& key) const {
  if (type_ != Type::kObject) return nullptr;
  for (const auto& [k, v] : members_)
    if (k == key) return &v;
  return nullptr;
}

const Json& Json::at(const std::string& key) const {
  if (type_ != Type::kObject) wrong_type(type_, "an object");
  if (const Json* value = find(key)) return *value;
  throw Error("cannot read JSON value", "missing key \"" + key + "\"");
}

Json& Json::set(const std::string& key, Json value) {
  if (type_ != Type::kObject) wrong_type(type_, "an object");
  for (auto& [k, v] : members_)
    if (k == key) {
      v = std::move(value);
      return *this;
    }
  members_.emplace_back(key, std::move(value));
  return *this;
}

Json& Json::push(Json value) {
  if (type_ != Type::kArray) wrong_type(type_, "an array");
  items_.push_back(std::move(value));
  return *this;
}

void Json::dump_to(std::string& out, int indent, int depth) const {
  auto newline = [&](int d) {
    if (indent <= 0) return;
    out += '\n';
    out.append(static_cast<size_t>(indent * d), ' ');
  };
  switch (type_) {
    case Type::kNull:
      out += "null";
      break;
    case Type::kBool:
      out += bool_ ? "true" : "false";
      break;
    case Type::kNumber: {
      if (!std::isfinite(number_)) {
        out += "null";
        break;
      }
      char buffer[32];
      if (number_ == std::floor(number_) && std::fabs(number_) < 1e15)
        std::snprintf(buffer, sizeof buffer, "%.0f", number_);
      else
        std::snprintf(buffer, sizeof buffer, "%.10g", number_);
      out += buffer;
      break;
    }
    case Type::kString:
      escape(out, string_);
      break;
    case Type::kArray:
      out += '[';
      for (size_t i = 0; i < items_.size(); ++i) {
        if (i) out += ',';
        newline(depth + 1);
        items_[i].dump_to(out, indent, depth + 1);
      }
      if (!items_.empty()) newline(depth);
      out += ']';
      break;
    case Type::kObject:
      out += '{';
      for (size_t i = 0; i < members_.size(); ++i) {
        if (i) out += ',';
        newline(depth + 1);
        escape(out, members_[i].first);
        out += indent > 0 ? ": " : ":";
        members_[i].second.dump_to(out, indent, depth + 1);
      }
      if (!members_.empty()) newline(depth);
      out += '}';
      break;
  }
}

std::string Json::dump(int indent) const {
  std::string out;
  dump_to(out, indent, 0);
  return out;
}

Json Json::parse(const std::string& text) { return Parser(text).document(); }

namespace {

const Json& typed_field(const Json& json, const std::string& key, const std::string& what,
                        Json::Type type, const char* type_name) {
  const Json* value = json.is_object() ? json.find(key) : nullptr;
  if (!value || value->type() != type)
    throw Error("cannot read " + what + " (field=" + key + ")",
                std::string("missing or not a ") + type_name);
  return *value;
}

}  // namespace

double number_field(const Json& json, const std::string& key, const std::string& what) {
  return typed_field(json, key, what, Json::Type::kNumber, "number").number();
}

const std::string& string_field(const Json& json, const std::string& key, const std::string& what) {
  return typed_field(json, key, what, Json::Type::kString, "string").string();
}

bool bool_field(const Json& json, const std::string& key, const std::string& what) {
  return typed_field(json, key, what, Json::Type::kBool, "boolean").boolean();
}

const Json& object_field(const Json& json, const std::string& key, const std::string& what) {
  return typed_field(json, key, what, Json::Type::kObject, "object");
}

const Json& array_field(const Json& json, const std::string& key, const std::string& what) {
  return typed_field(json, key, what, Json::Type::kArray, "array");
}

Json string_array(const std::vector<std::string>& values) {
  Json array = Json::array();
  for (const auto& v : values) array.push(v);
  return array;
}

std::vector<std::string> string_items(const Json& json, const std::string& key,
                                      const std::string& what) {
  std::vector<std::string> values;
  for (const Json& item : array_field(json, key, what).items()) {
    if (item.type() != Json::Type::kString)
      throw Error("cannot read " + what + " (field=" + key + ")", "an item is not a string");
    values.push_back(item.string());
  }
  return values;
}

Json string_object(const std::vector<std::pair<std::string, std::string>>& members) {
  Json object = Json::object();
  for (const auto& [name, value] : members) object.set(name, value);
  return object;
}

std::vector<std::pair<std::string, std::string>> string_members(const Json& json,
                                                                const std::string& key,
                                                                const std::string& what) {
  std::vector<std::pair<std::string, std::string>> values;
  for (const auto& [name, value] : object_field(json, key, what).members()) {
    if (value.type() != Json::Type::kString)
      throw Error("cannot read " + what + " (field=" + key + "." + name + ")", "not a string");
    values.emplace_back(name, value.string());
  }
  return values;
}

}  // namespace greenai::util
