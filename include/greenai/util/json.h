// A small JSON value, writer and parser for the project's own files (checkpoint metadata,
// results). Numbers are doubles; objects keep their keys in insertion order.
//
//   greenai::util::Json meta = greenai::util::Json::object();
//   meta.set("arch", "teacher").set("accuracy", 0.893);
//   std::string text = meta.dump(2);
//   greenai::util::Json back = greenai::util::Json::parse(text);   // throws greenai::Error
//   double accuracy = back.at("accuracy").number();
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace greenai::util {

class Json {
 public:
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };

  Json() = default;
  Json(std::nullptr_t) {}
  Json(bool value) : type_(Type::kBool), bool_(value) {}
  Json(double value) : type_(Type::kNumber), number_(value) {}
  Json(int value) : Json(static_cast<double>(value)) {}
  Json(long value) : Json(static_cast<double>(value)) {}
  Json(long long value) : Json(static_cast<double>(value)) {}
  Json(unsigned long value) : Json(static_cast<double>(value)) {}
  Json(unsigned long long value) : Json(static_cast<double>(value)) {}
  Json(const char* value) : type_(Type::kString), string_(value) {}
  Json(std::string value) : type_(Type::kString), string_(std::move(value)) {}
  static Json array() {
    Json j;
    j.type_ = Type::kArray;
    return j;
  }
  static Json object() {
    Json j;
    j.type_ = Type::kObject;
    return j;
  }

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }
  bool is_object() const { return type_ == Type::kObject; }
  bool is_array() const { return type_ == Type::kArray; }

  /// Typed access; throws greenai::Error naming the expected type when it does not match.
  bool boolean() const;
  double number() const;
  const std::string& string() const;
  const std::vector<Json>& items() const;
  const std::vector<std::pair<std::string, Json>>& members() const;

  /// Object member; throws greenai::Error "missing key" when absent.
  const Json& at(const std::string& key) const;
  /// Object member or nullptr.
  const Json* find(const std::string& key) const;
  /// Adds or replaces an object member; returns *this for chaining.
  Json& set(const std::string& key, Json value);
  /// Appends to an array.
  Json& push(Json value);

  /// Text; indent 0 writes one line.
  std::string dump(int indent = 0) const;
  /// Parses text; throws greenai::Error with the byte offset of the problem.
  static Json parse(const std::string& text);

 private:
  void dump_to(std::string& out, int indent, int depth) const;
  Type type_ = Type::kNull;
  bool bool_ = false;
  double number_ = 0;
  std::string string_;
  std::vector<Json> items_;
  std::vector<std::pair<std::string, Json>> members_;
};

/// Typed members of an object, for readers of a schema. Each throws greenai::Error
/// "cannot read <what> (field=<key>): missing or not a <type>" when the member is absent or of
/// another type (or `json` is not an object).
double number_field(const Json& json, const std::string& key, const std::string& what);
const std::string& string_field(const Json& json, const std::string& key, const std::string& what);
bool bool_field(const Json& json, const std::string& key, const std::string& what);
const Json& object_field(const Json& json, const std::string& key, const std::string& what);
const Json& array_field(const Json& json, const std::string& key, const std::string& what);

/// Lists of strings and string-to-string objects, both ways (for schemas that hold them).
Json string_array(const std::vector<std::string>& values);
/// The array member `key` of strings; throws greenai::Error naming `what` and the key otherwise.
std::vector<std::string> string_items(const Json& json, const std::string& key,
                                      const std::string& what);
Json string_object(const std::vector<std::pair<std::string, std::string>>& members);
/// The object member `key` whose values are strings, in order; throws greenai::Error naming
/// `what` and the member otherwise.
std::vector<std::pair<std::string, std::string>> string_members(const Json& json,
                                                                const std::string& key,
                                                                const std::string& what);

}  // namespace greenai::util
