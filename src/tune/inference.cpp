// The search for the least-energy inference configuration (inference.h).
#include "greenai/tune/inference.h"

#include <algorithm>
#include <cmath>

#include "greenai/error.h"
#include "greenai/util/file.h"
#include "greenai/util/text.h"

namespace greenai::tune {
namespace {

using util::Json;

std::string basename(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// a beats b clearly: lower on both energy and p99 by more than `margin`.
bool clearly_beats(const InferenceSample& a, const InferenceSample& b, double margin) {
  return a.energy_j_per_1000 < b.energy_j_per_1000 * (1 - margin) &&
         a.p99_ms < b.p99_ms * (1 - margin);
}

// a dominates b: no worse on both, better on one.
bool dominates(const InferenceSample& a, const InferenceSample& b) {
  return a.energy_j_per_1000 <= b.energy_j_per_1000 && a.p99_ms <= b.p99_ms &&
         (a.energy_j_per_1000 < b.energy_j_per_1000 || a.p99_ms < b.p99_ms);
}

double bound_of(const std::vector<InferenceRow>& rows, const std::vector<bool>& alive,
                const InferenceTuneOptions& options) {
  double bound = options.max_p99_ms;
  if (options.max_p99_ratio > 0) {
    double fastest = std::numeric_limits<double>::infinity();
    for (size_t i = 0; i < rows.size(); ++i)
      if (alive[i]) fastest = std::min(fastest, rows[i].sample.p99_ms);
    bound = std::min(bound, options.max_p99_ratio * fastest);
  }
  return bound;
}

}  // namespace

std::string InferenceConfig::label() const {
  return precision + " " + runtime + " x" + std::to_string(threads) + " b" + std::to_string(batch);
}

Json InferenceConfig::to_json() const {
  return Json::object()
      .set("model", model)
      .set("precision", precision)
      .set("runtime", runtime)
      .set("threads", threads)
      .set("batch", batch);
}

InferenceConfig InferenceConfig::from_json(const Json& json, const std::string& source) {
  const auto fail = [&](const std::string& what) {
    return Error("cannot read tuned configuration (path=" + source + ")", what,
                 "write it again with greenai tune MODEL --write " + source);
  };
  if (!json.is_object()) throw fail("it is not a JSON object");
  const auto text = [&](const char* key) {
    const Json* v = json.find(key);
    if (!v || v->type() != Json::Type::kString || v->string().empty())
      throw fail(std::string("\"") + key + "\" is missing or not a non-empty string");
    return v->string();
  };
  const auto whole = [&](const char* key, int lo, int hi) {
    const Json* v = json.find(key);
    if (!v || v->type() != Json::Type::kNumber || v->number() != std::floor(v->number()) ||
        v->number() < lo || v->number() > hi)
      throw fail(std::string("\"") + key + "\" is missing or not a whole number in [" +
                 std::to_string(lo) + ", " + std::to_string(hi) + "]");
    return static_cast<int>(v->number());
  };
  InferenceConfig c;
  c.model = text("model");
  c.precision = text("precision");
  c.runtime = text("runtime");
  if (c.precision != "fp32" && c.precision != "bf16" && c.precision != "int8")
    throw fail("\"precision\" must be fp32, bf16 or int8, not " + c.precision);
  if (c.runtime != "libtorch" && c.runtime != "edge")
    throw fail("\"runtime\" must be libtorch or edge, not " + c.runtime);
  c.threads = whole("threads", 1, 4096);
  c.batch = whole("batch", 1, 65536);
  return c;
}

Objective Objective::parse(const std::string& text) {
  Objective o;
  if (text == "energy") return o;
  if (text == "edp") {
    o.kind = Kind::kEdp;
    return o;
  }
  if (text.rfind("cost:", 0) == 0) {
    o.kind = Kind::kCost;
    char* end = nullptr;
    const std::string eta = text.substr(5);
    o.eta = std::strtod(eta.c_str(), &end);
    if (!eta.empty() && *end == '\0' && o.eta >= 0 && o.eta <= 1) return o;
  }
  throw Error("cannot tune (--objective=" + text + ")",
              "use energy, edp, or cost:ETA with ETA in [0, 1] (Zeus's cost)");
}

std::string Objective::to_string() const {
  switch (kind) {
    case Kind::kEnergy:
      return "energy";
    case Kind::kEdp:
      return "edp";
    case Kind::kCost:
      break;
  }
  std::string s;
  util::appendf(s, "cost:%g", eta);
  return s;
}

double Objective::value(const InferenceSample& s, double max_power_w) const {
  const double seconds_per_1000 = s.inferences_per_s > 0 ? 1000 / s.inferences_per_s : 0;
  switch (kind) {
    case Kind::kEnergy:
      return s.energy_j_per_1000;
    case Kind::kEdp:
      return s.energy_j_per_1000 * seconds_per_1000 / 1000;
    case Kind::kCost:
      break;
  }
  return eta * s.energy_j_per_1000 + (1 - eta) * max_power_w * seconds_per_1000;
}

double InferenceTuneResult::energy_saving() const {
  if (recommended < 0) return 0;
  const double base = rows[default_row].sample.energy_j_per_1000;
  return base > 0 ? 1 - rows[recommended].sample.energy_j_per_1000 / base : 0;
}

InferenceTuneResult tune_inference(const std::vector<InferenceConfig>& configs, int default_index,
                                   const MeasureInference& measure,
                                   const InferenceTuneOptions& options) {
  if (configs.empty()) throw Error("cannot tune", "there is no configuration to measure");
  if (default_index < 0 || default_index >= static_cast<int>(configs.size()))
    throw Error("cannot tune (default=" + std::to_string(default_index) + ")",
                "the default must be one of the configurations");
  if (!(options.first_window_s > 0) || options.rounds < 1 || !(options.margin >= 0) ||
      options.margin >= 1 || !(options.max_p99_ms > 0) || options.max_p99_ratio < 0 ||
      (options.max_p99_ratio > 0 && options.max_p99_ratio < 1))
    throw Error("cannot tune",
                "the window must be positive, rounds at least 1, the margin in [0, 1), the p99 "
                "bound positive and its ratio to the fastest at least 1");
  InferenceTuneResult r;
  r.default_row = default_index;
  r.objective = options.objective;
  for (const InferenceConfig& c : configs) r.rows.push_back({c, {}, 0, false, false, ""});
  std::vector<bool> alive(configs.size(), true);
  double window = options.first_window_s;
  for (int round = 1; round <= options.rounds; ++round, window *= 3) {
    for (size_t i = 0; i < configs.size(); ++i) {
      if (!alive[i]) continue;
      r.rows[i].sample = measure(configs[i], window);
      ++r.rows[i].rounds;
    }
    if (round == options.rounds) break;
    // Drops decided on this round's numbers together, so the order of the rows does not matter.
    const double bound = bound_of(r.rows, alive, options);
    std::vector<std::string> why(configs.size());
    for (size_t i = 0; i < configs.size(); ++i) {
      if (!alive[i] || static_cast<int>(i) == default_index) continue;
      const InferenceSample& s = r.rows[i].sample;
      if (s.p99_ms > bound * (1 + options.margin)) {
        util::appendf(why[i], "round %d: p99 %.3g ms over the %.3g ms bound", round, s.p99_ms,
                      bound);
        continue;
      }
      for (size_t j = 0; j < configs.size(); ++j)
        if (alive[j] && j != i && clearly_beats(r.rows[j].sample, s, options.margin)) {
          util::appendf(why[i], "round %d: beaten on energy and p99 by %s", round,
                        configs[j].label().c_str());
          break;
        }
    }
    for (size_t i = 0; i < configs.size(); ++i)
      if (!why[i].empty()) {
        alive[i] = false;
        r.rows[i].dropped = why[i];
      }
  }
  r.p99_bound_ms = bound_of(r.rows, alive, options);
  for (const InferenceRow& row : r.rows)
    r.max_power_w = std::max(r.max_power_w, row.sample.average_power_w);
  double best = std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < r.rows.size(); ++i) {
    InferenceRow& row = r.rows[i];
    row.within_bound = row.sample.p99_ms <= r.p99_bound_ms;
    if (!alive[i]) continue;
    row.pareto = true;
    for (size_t j = 0; j < r.rows.size(); ++j)
      if (alive[j] && j != i && dominates(r.rows[j].sample, row.sample)) row.pareto = false;
  }
  for (size_t i = 0; i < r.rows.size(); ++i) {
    if (!alive[i] || !r.rows[i].within_bound) continue;
    const double v = r.objective.value(r.rows[i].sample, r.max_power_w);
    if (v < best) {
      best = v;
      r.recommended = static_cast<int>(i);
    }
  }
  return r;
}

Json InferenceTuneResult::to_json() const {
  Json list = Json::array();
  for (const InferenceRow& row : rows)
    list.push(Json::object()
                  .set("config", row.config.to_json())
                  .set("label", row.config.label())
                  .set("energy_j_per_1000", row.sample.energy_j_per_1000)
                  .set("p50_ms", row.sample.p50_ms)
                  .set("p99_ms", row.sample.p99_ms)
                  .set("inferences_per_s", row.sample.inferences_per_s)
                  .set("average_power_w", row.sample.average_power_w)
                  .set("window_s", row.sample.seconds)
                  .set("rounds", row.rounds)
                  .set("pareto", row.pareto)
                  .set("within_bound", row.within_bound)
                  .set("dropped", row.dropped));
  Json out = Json::object()
                 .set("objective", objective.to_string())
                 .set("p99_bound_ms", std::isfinite(p99_bound_ms) ? Json(p99_bound_ms) : Json())
                 .set("default", rows[default_row].config.to_json())
                 .set("recommended", recommended >= 0 ? rows[recommended].config.to_json() : Json())
                 .set("energy_saving", energy_saving())
                 .set("rows", list);
  return out;
}

std::string InferenceTuneResult::to_text() const {
  std::string t;
  util::appendf(t, "%-26s %-22s %14s %9s %9s %12s %6s  %s\n", "configuration", "model",
                "J per 1,000", "p50 ms", "p99 ms", "inferences/s", "rounds", "");
  for (size_t i = 0; i < rows.size(); ++i) {
    const InferenceRow& row = rows[i];
    std::string note = row.dropped.empty() ? (row.pareto ? "front" : "") : "dropped " + row.dropped;
    if (!row.within_bound && row.dropped.empty())
      note += note.empty() ? "over bound" : ", over bound";
    if (static_cast<int>(i) == default_row) note = "default" + (note.empty() ? "" : ", " + note);
    if (static_cast<int>(i) == recommended) note = "RECOMMENDED, " + note;
    util::appendf(t, "%-26s %-22s %14.4g %9.3f %9.3f %12.0f %6d  %s\n", row.config.label().c_str(),
                  basename(row.config.model).c_str(), row.sample.energy_j_per_1000,
                  row.sample.p50_ms, row.sample.p99_ms, row.sample.inferences_per_s, row.rounds,
                  note.c_str());
  }
  util::appendf(
      t, "objective %s, p99 bound %s\n", objective.to_string().c_str(),
      std::isfinite(p99_bound_ms) ? (std::to_string(p99_bound_ms) + " ms").c_str() : "none");
  if (recommended < 0) {
    t += "no configuration met the p99 bound: loosen --max-p99-ms or --max-p99-ratio\n";
  } else {
    const InferenceRow& best = rows[recommended];
    const InferenceRow& base = rows[default_row];
    util::appendf(t,
                  "recommended: %s (%s): %.4g J per 1,000 inferences against the default's "
                  "%.4g (%s): %.1f %% less energy per inference\n",
                  best.config.label().c_str(), basename(best.config.model).c_str(),
                  best.sample.energy_j_per_1000, base.sample.energy_j_per_1000,
                  base.config.label().c_str(), 100 * energy_saving());
  }
  return t;
}

InferenceConfig load_inference_config(const std::string& path) {
  std::string text;
  try {
    text = util::read_file(path);
  } catch (const Error& e) {
    throw Error("cannot read tuned configuration (path=" + path + ")", e.what(),
                "write one with greenai tune MODEL --write " + path);
  }
  Json json;
  try {
    json = Json::parse(text);
  } catch (const Error& e) {
    throw Error("cannot read tuned configuration (path=" + path + ")",
                std::string("not JSON: ") + e.what(),
                "write it again with greenai tune MODEL --write " + path);
  }
  return InferenceConfig::from_json(json, path);
}

void save_inference_config(const InferenceConfig& config, const std::string& path) {
  util::write_file_atomic(path, config.to_json().dump(2) + "\n");
}

}  // namespace greenai::tune
