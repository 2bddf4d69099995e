// greenai: measure, cut and shift the energy and carbon of AI workloads.
#include <cstring>
#include <iostream>
#include <string>

#include "cli/args.h"
#include "cli/commands.h"
#include "greenai/error.h"
#include "greenai/version.h"

namespace {

const char* kHelp =
    "usage: greenai [--help] [--version] COMMAND [ARGS]\n"
    "\n"
    "Measure:\n"
    "  run        run a command and track the energy and carbon of its whole process tree\n"
    "  sensors    list the energy sensors here, what they read, and how to fix those that fail\n"
    "  co2        kWh to kg CO2eq by intensity or country\n"
    "  workload   a small CPU-bound stand-in workload (what `greenai run` tracks by default)\n"
    "\n"
    "`greenai COMMAND --help` describes a command. Every energy figure says whether it was\n"
    "measured (RAPL, NVML) or estimated (a documented model), and how.\n"
    "\n"
    "Exit status: 0 ok; 2 bad usage or input (a one-line message, nothing started or written);\n"
    "for `run`, the command's own status (128+N if killed by signal N, 126/127 if it cannot "
    "run).\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace greenai::cli;
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") ||
      !std::strcmp(argv[1], "help")) {
    (argc < 2 ? std::cerr : std::cout) << kHelp;
    return argc < 2 ? 2 : 0;
  }
  const std::string command = argv[1];
  if (command == "--version" || command == "version") {
    std::cout << "greenai " GREENAI_VERSION "\n";
    return 0;
  }
  try {
    if (command == "run") return run_command(argc, argv);
    if (command == "sensors") return sensors_command(argc, argv);
    if (command == "co2") return co2_command(argc, argv);
    if (command == "workload") return workload_command(argc, argv);
    std::cerr << "greenai: unknown command '" << command << "'\nTry `greenai --help`.\n";
    return 2;
  } catch (const UsageError& e) {
    std::cerr << "greenai " << command << ": " << e.what() << "\nTry `greenai " << command
              << " --help`.\n";
    return 2;
  } catch (const greenai::Error& e) {
    std::cerr << "greenai: " << e.what() << "\n";
    if (!e.hint().empty()) std::cerr << "hint: " << e.hint() << "\n";
    return 2;
  }
}
