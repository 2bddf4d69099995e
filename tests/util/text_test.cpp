#include "greenai/util/text.h"

#include <gtest/gtest.h>

#include <string>

namespace greenai::util {
namespace {

TEST(Text, FormatsDurations) {
  EXPECT_EQ(format_duration(0), "0 s");
  EXPECT_EQ(format_duration(44.6), "45 s");
  EXPECT_EQ(format_duration(200), "3 min 20 s");
  EXPECT_EQ(format_duration(7500), "2 h 05 min");
}

TEST(Text, AppendsFormattedText) {
  std::string text = "a";
  appendf(text, " %d %.1f %s\n", 3, 2.5, "x");
  EXPECT_EQ(text, "a 3 2.5 x\n");
}

}  // namespace
}  // namespace greenai::util
