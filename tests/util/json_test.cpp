#include "greenai/util/json.h"

#include <gtest/gtest.h>

#include <random>

#include "greenai/error.h"

namespace greenai::util {
namespace {

TEST(Json, RoundTrip) {
  Json j = Json::object();
  j.set("name", "a \"quoted\"\nline")
      .set("n", 3)
      .set("x", 0.125)
      .set("ok", true)
      .set("none", nullptr);
  j.set("list", Json::array().push(1).push("two").push(Json::object().set("k", -1.5e-7)));
  for (int indent : {0, 2}) {
    Json back = Json::parse(j.dump(indent));
    EXPECT_EQ(back.dump(), j.dump());
  }
  EXPECT_EQ(j.dump(),
            "{\"name\":\"a \\\"quoted\\\"\\nline\",\"n\":3,\"x\":0.125,\"ok\":true,\"none\":null,"
            "\"list\":[1,\"two\",{\"k\":-1.5e-07}]}");
  EXPECT_EQ(Json::parse("\"\\u00e9\"").string(), "\xc3\xa9");
}

TEST(Json, ErrorsSayWhereAndWhat) {
  auto message = [](const std::string& text) {
    try {
      Json::parse(text);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message("{\"a\":1,}"), "cannot parse JSON: expected a key at byte 7");
  EXPECT_EQ(message("[1 2]"), "cannot parse JSON: expected ',' or ']' at byte 3");
  EXPECT_EQ(message("\"open"), "cannot parse JSON: unterminated string at byte 5");
  EXPECT_EQ(message("1 x"), "cannot parse JSON: unexpected text after the value at byte 2");
  EXPECT_EQ(message(std::string(500, '[')), "cannot parse JSON: nesting too deep at byte 201");
  Json j = Json::parse("{\"a\":\"s\"}");
  try {
    j.at("a").number();
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "cannot read JSON value: expected a number, found a string");
  }
  EXPECT_THROW(j.at("b"), Error);
}

TEST(JsonFuzz, MutatedDocumentsParseOrFailCleanly) {
  std::mt19937 rng(3);
  const std::string valid = "{\"a\":[1,2.5,-3e2,true,false,null],\"b\":{\"c\":\"d\\u0041\\n\"}}";
  for (int i = 0; i < 5000; ++i) {
    std::string text = valid;
    for (int m = 0; m < 3; ++m) {
      size_t pos = rng() % text.size();
      if (rng() % 2)
        text[pos] = static_cast<char>(rng() % 128);
      else
        text.erase(pos, 1);
      if (text.empty()) break;
    }
    try {
      Json j = Json::parse(text);
      Json::parse(j.dump());  // what it wrote, it reads
    } catch (const Error& e) {
      ASSERT_EQ(std::string(e.what()).rfind("cannot parse JSON: ", 0), 0u);
    }
  }
}

}  // namespace
}  // namespace greenai::util
