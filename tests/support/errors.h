// The message of the greenai::Error a call throws, or "no error".
#pragma once

#include <functional>
#include <string>

#include "greenai/error.h"

namespace greenai::testing {

inline std::string error_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace greenai::testing
