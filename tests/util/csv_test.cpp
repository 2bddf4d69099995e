#include "greenai/util/csv.h"

#include <gtest/gtest.h>

#include <random>

namespace greenai::util {
namespace {

TEST(Csv, SplitsQuotedFieldsAndEscapes) {
  std::vector<std::string> f;
  ASSERT_TRUE(split_csv_line(R"(2022-01-01T00:00Z,"1,5","say ""hi""",)", f));
  EXPECT_EQ(f, (std::vector<std::string>{"2022-01-01T00:00Z", "1,5", "say \"hi\"", ""}));
  EXPECT_FALSE(split_csv_line(R"(a,"unterminated)", f));
  std::vector<std::pair<size_t, std::string>> lines;
  for_each_line("a\r\nb\n\nc", [&](size_t n, std::string_view l) { lines.emplace_back(n, l); });
  EXPECT_EQ(lines,
            (std::vector<std::pair<size_t, std::string>>{{1, "a"}, {2, "b"}, {3, ""}, {4, "c"}}));
}

// Property: any fields, written with RFC 4180 quoting, split back to themselves.
TEST(Csv, QuotedFieldsRoundTrip) {
  std::mt19937 rng(7);
  const std::string alphabet = "ab,\" 1";
  for (int trial = 0; trial < 2000; ++trial) {
    std::vector<std::string> fields(1 + rng() % 5);
    std::string line;
    for (size_t i = 0; i < fields.size(); ++i) {
      for (size_t n = rng() % 6; n > 0; --n) fields[i] += alphabet[rng() % alphabet.size()];
      std::string quoted = "\"";
      for (char c : fields[i]) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
      line += (i ? "," : "") + quoted + "\"";
    }
    std::vector<std::string> back;
    ASSERT_TRUE(split_csv_line(line, back)) << line;
    EXPECT_EQ(back, fields) << line;
  }
}

}  // namespace
}  // namespace greenai::util
