#include "cli/dispatch.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <vector>

#include "cli/args.h"
#include "greenai/error.h"

namespace greenai::cli {

int run_guarded(const std::string& command, CommandFn fn, int argc, char** argv) {
  try {
    return fn(argc, argv);
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

}  // namespace greenai::cli
