#include "greenai/meter/sensor.h"

namespace greenai::meter {

std::string_view to_string(Provenance provenance) {
  return provenance == Provenance::kMeasured ? "measured" : "estimated";
}

std::string_view to_string(Component component) {
  switch (component) {
    case Component::kCpu:
      return "cpu";
    case Component::kRam:
      return "ram";
    case Component::kGpu:
      return "gpu";
  }
  return "?";
}

}  // namespace greenai::meter
