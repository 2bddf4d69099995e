// greenai-torch: the commands of greenai that link LibTorch (training, quantization, the LSTM).
// Users call them through `greenai COMMAND`, which hands over with exec (cli/commands.h).
#include "cli/commands.h"

int main(int argc, char** argv) {
  using namespace greenai::cli;
  return dispatch(argc, argv, command_table(), "greenai-torch");
}
