// The CLI's argument layer and helpers, tested in-process (greenai_cli_lib).
#include "cli/args.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/help.h"
#include "cli/progress.h"
#include "support/temp_dir.h"

namespace greenai::cli {
namespace {

// argv for "greenai CMD ARGS...".
struct Argv {
  explicit Argv(std::vector<std::string> args) : storage(std::move(args)) {
    for (auto& a : storage) pointers.push_back(a.data());
  }
  int argc() const { return static_cast<int>(pointers.size()); }
  char** argv() { return pointers.data(); }
  std::vector<std::string> storage;
  std::vector<char*> pointers;
};

std::string usage_error_of(const ArgParser& parser, std::vector<std::string> args,
                           bool stop = false) {
  Argv a(std::move(args));
  try {
    parser.parse(a.argc(), a.argv(), 2, stop);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "no error";
}

const ArgParser kParser("bench", {{"batch", true}, {"json", false}, {"seconds", true}});

TEST(ArgParser, ReadsValuesFlagsAndPositionals) {
  Argv a({"greenai", "bench", "a.edge", "--batch", "1,64", "--json", "--seconds=0.5", "b.pt"});
  const ParsedArgs args = kParser.parse(a.argc(), a.argv(), 2);
  EXPECT_EQ(args.get("batch"), "1,64");
  EXPECT_TRUE(args.has("json"));
  EXPECT_FALSE(args.has("quiet"));
  EXPECT_EQ(args.number("seconds", 2), 0.5);
  EXPECT_EQ(args.positionals, (std::vector<std::string>{"a.edge", "b.pt"}));
  EXPECT_EQ(split_list("1h,,2h"), (std::vector<std::string>{"1h", "", "2h"}));
}

TEST(ArgParser, EachMistakeSaysWhat) {
  EXPECT_EQ(usage_error_of(kParser, {"greenai", "bench", "--fast"}),
            "unknown option --fast for `greenai bench`");
  EXPECT_EQ(usage_error_of(kParser, {"greenai", "bench", "--json=yes"}),
            "option --json takes no value");
  EXPECT_EQ(usage_error_of(kParser, {"greenai", "bench", "--batch"}),
            "option --batch needs a value");
  Argv a({"greenai", "bench", "--seconds", "soon", "--batch", "0"});
  const ParsedArgs args = kParser.parse(a.argc(), a.argv(), 2);
  try {
    args.number("seconds", 2);
    FAIL() << "no error";
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "cannot parse --seconds=soon: not a number");
  }
  try {
    integer(args, "batch", 1, 1);
    FAIL() << "no error";
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "--batch must be an integer of at least 1");
  }
}

TEST(ArgParser, StopsAtTheCommandForRun) {
  const ArgParser run("run", {{"interval", true}});
  Argv a({"greenai", "run", "--interval", "1", "python3", "--interval", "x"});
  const ParsedArgs args = run.parse(a.argc(), a.argv(), 2, /*stop_at_positional=*/true);
  EXPECT_EQ(args.get("interval"), "1");
  EXPECT_EQ(args.rest, (std::vector<std::string>{"python3", "--interval", "x"}));
}

TEST(CommandTable, HelpListsEveryCommandOnceUnderItsGroup) {
  const std::string help = overview_text(command_table());
  for (const Command& c : command_table()) {
    const std::string entry = "\n  " + std::string(c.name) + " ";
    const size_t at = help.find(entry);
    EXPECT_NE(at, std::string::npos) << c.name;
    EXPECT_EQ(help.find(entry, at + 1), std::string::npos) << c.name;
    EXPECT_NE(help.rfind(std::string(c.group) + ":", at), std::string::npos) << c.name;
    // In greenai (this test links no LibTorch), a LibTorch command has no run: it is handed over.
    EXPECT_EQ(c.run == nullptr, c.needs_torch) << c.name;
  }
  EXPECT_NE(help.find("  pipeline   every green technique end to end"), std::string::npos);
  EXPECT_NE(help.find("\n             results.json and report.html\n"), std::string::npos);
}

TEST(CommandTable, EveryCommandHasItsHelpTextInDocs) {
  for (const Command& c : command_table())
    EXPECT_NE(help_text(std::string(c.name)), nullptr) << "docs/cli/" << c.name << ".txt";
  for (const char* shared : {"common", "tracking", "convert", "greenai"})
    EXPECT_NE(help_text(shared), nullptr) << shared;
  EXPECT_EQ(help_text("no-such-command"), nullptr);
}

TEST(Progress, ReadsAChildsLastLine) {
  greenai::testing::TempDir dir;
  const std::string log =
      dir.write("log.txt",
                "loading\nprogress: epoch 1/3 10%\nwarning: x\nprogress: epoch 2/3 50%\n"
                "progress: epoch 2/3 6");  // the last line is still being written
  EXPECT_EQ(last_progress(log), "epoch 2/3 50%");
  EXPECT_EQ(last_progress(dir.write("quiet.txt", "no progress here\n")), "");
  EXPECT_EQ(last_progress(dir.file("none.txt")), "");
  EXPECT_EQ(progress_mode(/*quiet=*/true), ProgressMode::kOff);
  ::setenv("GREENAI_PROGRESS", "lines", 1);
  EXPECT_EQ(progress_mode(false), ProgressMode::kLines);
  ::unsetenv("GREENAI_PROGRESS");
}

}  // namespace
}  // namespace greenai::cli
