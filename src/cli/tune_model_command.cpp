// greenai tune MODEL: the least-energy variant, thread count and batch size to serve a model on
// this machine, measured (library: greenai/jobs/tune.h, greenai/tune/inference.h).
#include <cmath>
#include <cstdio>
#include <iostream>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/help.h"
#include "cli/tracking_flags.h"
#include "cli/tune_options.h"
#include "greenai/error.h"
#include "greenai/jobs/tune.h"

namespace greenai::cli {
namespace {

// "1..4" (a range) or "1,2,4" (a list) of thread counts.
std::vector<int> thread_counts(const std::string& text) {
  const std::string usage = "--threads takes counts from 1 to 4096 as 1..4 or 1,2,4";
  std::vector<int> counts;
  const size_t dots = text.find("..");
  if (dots != std::string::npos) {
    const std::vector<double> ends = number_list(text.substr(0, dots) + "," + text.substr(dots + 2),
                                                 usage, 1, 4096, /*whole=*/true);
    if (ends.size() != 2 || ends[0] > ends[1]) throw UsageError(usage);
    for (int t = static_cast<int>(ends[0]); t <= static_cast<int>(ends[1]); ++t)
      counts.push_back(t);
    return counts;
  }
  for (double t : number_list(text, usage, 1, 4096, /*whole=*/true))
    counts.push_back(static_cast<int>(t));
  return counts;
}

}  // namespace

int tune_model_command(int argc, char** argv) {
  ParsedArgs args = ArgParser("tune", tune_option_specs()).parse(argc, argv, 2);
  if (args.positionals.size() != 1)
    throw UsageError(
        "expected one MODEL (a checkpoint, edge or ONNX file); more files go in "
        "--variants A,B");
  for (const char* replay_only : {"gpu", "eta", "beta", "seed", "seeds"})
    if (args.has(replay_only))
      throw UsageError(std::string("--") + replay_only + " is for --replay; tuning a MODEL takes " +
                       "--objective cost:ETA for Zeus's cost");
  jobs::InferenceTuneRequest request;
  request.model = args.positionals[0];
  if (auto v = args.get("variants"))
    for (const std::string& f : split_list(*v)) {
      if (f.empty()) throw UsageError("--variants takes files separated by commas, none empty");
      request.variants.push_back(f);
    }
  request.batches.clear();
  for (double b : number_list(args.get("batches").value_or("1,8,64"),
                              "--batches takes batch sizes from 1 to 65536, such as 1,8,64", 1,
                              65536, /*whole=*/true))
    request.batches.push_back(static_cast<int>(b));
  if (auto t = args.get("threads")) request.threads = thread_counts(*t);
  request.bf16 = !args.has("no-bf16");
  if (auto shape = args.get("input-shape"))
    for (double d : number_list(*shape,
                                "--input-shape takes the dimensions after the batch, such "
                                "as 3,224,224",
                                1, 1 << 20, /*whole=*/true))
      request.input_shape.push_back(static_cast<uint32_t>(d));
  tune::InferenceTuneOptions& o = request.options;
  o.max_p99_ms = args.number("max-p99-ms", INFINITY);
  if (!(o.max_p99_ms > 0)) throw UsageError("--max-p99-ms takes a positive number of milliseconds");
  o.max_p99_ratio = args.number("max-p99-ratio", 0);
  if (args.has("max-p99-ratio") && !(o.max_p99_ratio >= 1))
    throw UsageError("--max-p99-ratio takes a ratio of at least 1 to the fastest p99, such as 2");
  o.objective = tune::Objective::parse(args.get("objective").value_or("energy"));
  o.first_window_s = args.number("window", o.first_window_s);
  if (!(o.first_window_s > 0) || o.first_window_s > 60)
    throw UsageError("--window takes the first round's seconds per configuration, in (0, 60]");
  o.rounds = static_cast<int>(integer(args, "rounds", o.rounds, 1, 6));
  auto tracker = tracker_for_this_process(args);
  const jobs::InferenceTuneReport report = jobs::tune_model(request, *tracker);
  if (auto out = args.get("write")) {
    if (report.result.recommended < 0)
      throw Error("cannot write the tuned configuration (path=" + *out + ")",
                  "no configuration met the p99 bound", "loosen --max-p99-ms or --max-p99-ratio");
    tune::save_inference_config(report.result.rows[report.result.recommended].config, *out);
  }
  if (args.has("json"))
    std::cout << report.to_json().dump() << "\n";
  else
    std::cout << report.to_text();
  return 0;
}

}  // namespace greenai::cli
