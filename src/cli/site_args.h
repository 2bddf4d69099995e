// What `greenai site simulate` and `greenai site train` share: the site from --data,
// --buildings and --battery.
#pragma once

#include "cli/args.h"
#include "greenai/site/dataset.h"

namespace greenai::cli {

/// The CityLearn folder --data (required), the --buildings kept, each battery credited as
/// --battery says (citylearn by default). Throws UsageError or greenai::Error.
site::SiteData load_site(const ParsedArgs& args);

}  // namespace greenai::cli
