#include "greenai/track/measurements.h"

#include <gtest/gtest.h>

#include "greenai/error.h"
#include "support/errors.h"

namespace greenai::track {
namespace {

using greenai::testing::error_of;
using util::Json;

TEST(PerThousandInferences, DividesEveryComponentAndTheEmissions) {
  Record span;
  span.tree[meter::Component::kCpu] = 2.0;
  span.tree[meter::Component::kRam] = 0.5;
  span.emissions_kg = 1e-6;
  const PerThousandInferences e = per_thousand_inferences(span, 500);
  EXPECT_DOUBLE_EQ(e.energy[meter::Component::kCpu], 4.0);
  EXPECT_DOUBLE_EQ(e.energy[meter::Component::kRam], 1.0);
  EXPECT_DOUBLE_EQ(e.energy.total_j(), 5.0);
  EXPECT_DOUBLE_EQ(e.emissions_kg, 2e-6);
  EXPECT_EQ(per_thousand_inferences(span, 0).energy.total_j(), 0);
  const Json json = e.to_json();
  EXPECT_DOUBLE_EQ(json.at("total_j").number(), 5.0);
  EXPECT_EQ(PerThousandInferences::from_json(json).to_json().dump(), json.dump());
}

TEST(BenchRow, RoundTripsAndNamesAMissingField) {
  BenchRow row{"m.edge", "edge avx2", 64, 30, 100.5, 120.25, 600000};
  row.energy.energy[meter::Component::kCpu] = 0.25;
  const Json json = row.to_json();
  EXPECT_EQ(BenchRow::from_json(json).to_json().dump(), json.dump());
  Json broken = Json::parse(json.dump());
  broken.set("p50_us", "fast");
  EXPECT_EQ(error_of([&] { BenchRow::from_json(broken); }),
            "cannot read a benchmark row (field=p50_us): missing or not a number");
  EXPECT_EQ(error_of([&] { EvalSummary::from_json(Json::object().set("model", "m")); }),
            "cannot read an evaluation (field=accuracy): missing or not a number");
  const EvalSummary edge = EvalSummary::from_json(Json::object()
                                                      .set("model", "m.edge")
                                                      .set("accuracy", 0.9)
                                                      .set("test_examples", 100)
                                                      .set("size_bytes", 2000));
  EXPECT_EQ(edge.parameters, 0);  // edge files do not say
}

TEST(Provenance, RoundTrips) {
  const Provenance p{"estimated", {{"cpu", "estimated: a model"}}, "FR: 56 g/kWh", 1.2};
  EXPECT_EQ(Provenance::from_json(p.to_json()).to_json().dump(), p.to_json().dump());
  EXPECT_THROW(Provenance::from_json(Json::object()), Error);
}

TEST(TimeCalls, TimesAtLeastTheCallsAskedAndSortsThem) {
  int calls = 0;
  const CallTimes t = time_calls([&] { ++calls; }, 0.0, 50, 0.0);
  EXPECT_GE(t.micros.size(), 50u);
  EXPECT_EQ(static_cast<int>(t.micros.size()), calls);
  EXPECT_TRUE(std::is_sorted(t.micros.begin(), t.micros.end()));
  CallTimes fixed;
  fixed.micros = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  EXPECT_EQ(fixed.percentile(0.5), 6);
  EXPECT_EQ(fixed.percentile(0.99), 10);
  EXPECT_EQ(fixed.percentile(0), 1);
  EXPECT_EQ(fixed.percentile(1), 10);
}

}  // namespace
}  // namespace greenai::track
