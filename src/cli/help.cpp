#include "cli/help.h"

#include <cassert>
#include <iostream>

namespace greenai::cli {
namespace {

struct Text {
  const char* name;
  const char* text;
};

// Written by cmake/embed_texts.cmake from docs/cli/*.txt.
constexpr Text kTexts[] = {
#include "cli/help_texts.inc"
};

}  // namespace

const char* help_text(const std::string& name) {
  for (const Text& t : kTexts)
    if (name == t.name) return t.text;
  return nullptr;
}

int print_help(std::initializer_list<std::string> names) {
  for (const std::string& name : names) {
    const char* text = help_text(name);
    assert(text && "every help text named in src/cli has a file in docs/cli");
    if (text) std::cout << text;
  }
  return 0;
}

}  // namespace greenai::cli
