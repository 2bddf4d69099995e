#include "cli/dispatch.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <vector>

#include "cli/args.h"
#include "cli/help.h"
#include "greenai/error.h"
#include "greenai/version.h"

namespace greenai::cli {

int run_guarded(const std::string& command, CommandFn fn, int argc, char** argv) {
  try {
    return fn(argc, argv);
  } catch (const NeedsTorch&) {
    throw;
  } catch (const UsageError& e) {
    std::cerr << "greenai " << command << ": " << e.what() << "\nTry `greenai " << command
              << " --help`.\n";
    return 2;
  } catch (const greenai::Error& e) {
    std::cerr << "greenai: " << e.what() << "\n";
    if (!e.hint().empty()) std::cerr << "hint: " << e.hint() << "\n";
    return 2;
  } catch (const std::exception& e) {
    // A failure inside a library (LibTorch, the C++ runtime) that input checks did not foresee.
    std::string what = e.what();
    std::cerr << "greenai: " << command << " failed: " << what.substr(0, what.find('\n')) << "\n";
    return 1;
  }
}

int exec_sibling(const std::string& name, const std::string& command, int argc, char** argv) {
  std::error_code ec;
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  std::filesystem::path sibling = self.parent_path() / name;
  std::vector<char*> args(argv, argv + argc);
  std::string path = sibling.string();
  args[0] = path.data();
  args.push_back(nullptr);
  ::execv(path.c_str(), args.data());
  std::cerr << "greenai: cannot run `greenai " << command << "`: " << path << ": "
            << std::strerror(errno) << "\n"
            << "hint: the training commands live in greenai-torch, built when LibTorch is present "
               "(scripts/setup installs libtorch-dev; configure with GREENAI_WITH_TORCH=ON)\n";
  return 2;
}

std::string overview_text(std::span<const Command> commands) {
  std::string text = "usage: greenai [--help] [--version] COMMAND [ARGS]\n";
  std::string_view group;
  for (const Command& c : commands) {
    if (c.group != group) {
      group = c.group;
      text += "\n" + std::string(group) + ":\n";
    }
    std::string name(c.name);
    name.resize(std::max<size_t>(name.size(), 10), ' ');
    text += "  " + name + " ";
    for (char ch : c.summary)
      text += ch == '\n' ? std::string("\n             ") : std::string(1, ch);
    text += "\n";
  }
  return text + "\n" + help_text("greenai");
}

int dispatch(int argc, char** argv, std::span<const Command> commands, const char* self) {
  const std::string command = argc > 1 ? argv[1] : "";
  if (argc < 2 || command == "--help" || command == "-h" || command == "help") {
    (argc < 2 ? std::cerr : std::cout) << overview_text(commands);
    return argc < 2 ? 2 : 0;
  }
  if (command == "--version" || command == "version") {
    std::cout << "greenai " GREENAI_VERSION "\n";
    return 0;
  }
  for (const Command& c : commands) {
    if (c.name != command) continue;
    if (!c.run) return exec_sibling("greenai-torch", command, argc, argv);
    try {
      return run_guarded(command, c.run, argc, argv);
    } catch (const NeedsTorch&) {
      return exec_sibling("greenai-torch", command, argc, argv);
    }
  }
  std::cerr << self << ": unknown command '" << command << "'\nTry `greenai --help`.\n";
  return 2;
}

}  // namespace greenai::cli
