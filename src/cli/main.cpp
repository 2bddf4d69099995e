// greenai: measure, cut and shift the energy and carbon of AI workloads.
//
// This executable does not link LibTorch, so `greenai run -- CMD` starts in milliseconds; the
// training commands are handed over to greenai-torch, installed beside it (cli/commands.h).
#include "cli/commands.h"

int main(int argc, char** argv) {
  using namespace greenai::cli;
  return dispatch(argc, argv, command_table(), "greenai");
}
