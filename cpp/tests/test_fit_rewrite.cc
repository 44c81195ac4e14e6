// Tests of the fitted-transform rules (fit_rewrite.h): the ready steps and analyzers of a
// level, every rewrite branch, the errors on data without a present value, the one_hot
// expansion and nested levels. Statistics come from the real analyzers (fed the input
// columns directly) unless a test needs values no data gives; fitted plans are run on
// the row path to check what they compute.
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "check.h"
#include "test_support.h"
#include "featureplat/analyzers.h"
#include "featureplat/executor.h"
#include "featureplat/fit_rewrite.h"
#include "featureplat/plan.h"

using namespace featureplat;

using namespace featureplat_test;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

bool has(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

Param P(Scalar s) {
  Param p;
  p.values.push_back(std::move(s));
  return p;
}

// Builds a plan as the compiler would lower it; compiled() optimizes it.
struct Builder {
  PlanSpec spec;
  int32_t push(const std::string& op, std::vector<int32_t> args, Params params = {}) {
    PlanStep s;
    s.op = op;
    s.args = std::move(args);
    s.params = std::move(params);
    spec.steps.push_back(std::move(s));
    return static_cast<int32_t>(spec.steps.size() - 1);
  }
  int32_t declare(const std::string& name, DType t) {
    spec.inputs.push_back({name, t});
    return push("input", {}, {{"index", P(Scalar::Int(static_cast<int64_t>(spec.inputs.size() - 1)))}});
  }
  int32_t lit(const Scalar& v) { return push("const", {}, {{"value", P(v)}}); }
  int32_t op(const std::string& name, std::vector<int32_t> args, Params params = {}) {
    return push(name, std::move(args), std::move(params));
  }
  void out(const std::string& name, int32_t s) { spec.outputs.push_back({name, s}); }
  PlanSpec compiled() const {
    Result<PlanSpec> r = optimize_plan(spec);
    if (!CHECK(r.ok())) std::fprintf(stderr, "  optimize_plan: %s\n", r.status().message().c_str());
    return r.ok() ? r.value() : PlanSpec();
  }
};

Params vocab_params(std::optional<int64_t> top_k, int64_t min_frequency, int64_t oov, const char* order) {
  Params p{{"min_frequency", P(Scalar::Int(min_frequency))},
           {"num_oov_buckets", P(Scalar::Int(oov))},
           {"order", P(Scalar::Str(order))}};
  p["top_k"] = P(top_k ? Scalar::Int(*top_k) : Scalar::Null(DType::kInt64));
  return p;
}

const StepDescriber kDescribe = [](int32_t step) { return "<step " + std::to_string(step) + ">"; };

// Owning input columns (std::nullopt is null).
Col floats(const std::vector<std::optional<double>>& v) {
  Col c;
  c.type = DType::kFloat64;
  for (const auto& x : v) {
    c.valid.push_back(x.has_value());
    c.f.push_back(x.value_or(0.0));
  }
  return c;
}

Col ints(const std::vector<std::optional<int64_t>>& v) {
  Col c;
  c.type = DType::kInt64;
  for (const auto& x : v) {
    c.valid.push_back(x.has_value());
    c.i.push_back(x.value_or(0));
  }
  return c;
}

Col strings(const std::vector<std::optional<std::string>>& v) {
  Col c;
  c.type = DType::kString;
  for (const auto& x : v) {
    c.valid.push_back(x.has_value());
    c.owned.push_back(std::make_unique<std::string>(x.value_or("")));
    c.s.push_back(StrView{c.owned.back()->data(), static_cast<uint32_t>(c.owned.back()->size())});
  }
  return c;
}

// The level's analyzers fed the columns of the inputs the ready steps read (every ready
// argument here is a declared input, given in input order by `cols`).
std::vector<AnalyzerResult> analyze(const PlanSpec& plan, const FitLevel& level, std::vector<Col>& cols) {
  std::vector<AnalyzerResult> out;
  for (const ReadyStep& r : level.ready) {
    const PlanStep& arg = plan.steps[plan.steps[r.step].args[0]];
    CHECK_EQ(arg.op, std::string("input"));
    Col& col = cols[static_cast<size_t>(arg.params.at("index").values[0].i)];
    for (const AnalyzerSpec& spec : r.analyzers) {
      Result<std::unique_ptr<Analyzer>> a = make_analyzer(spec.kind, col.type, spec.params);
      if (!CHECK(a.ok())) return out;
      a.value()->update(col.slot(), static_cast<int64_t>(col.size()));
      Result<AnalyzerResult> res = a.value()->finalize();
      CHECK(res.ok());
      out.push_back(res.value());
    }
  }
  return out;
}

// One level: fit_level, the analyzers over `cols`, fit_apply.
FitApplied fit_once(const PlanSpec& plan, std::vector<Col>& cols) {
  Result<std::optional<FitLevel>> level = fit_level(plan, 1000, kDescribe);
  if (!CHECK(level.ok() && level.value().has_value())) return FitApplied();
  std::vector<AnalyzerResult> results = analyze(plan, *level.value(), cols);
  Result<FitApplied> applied = fit_apply(plan, "t", results, static_cast<int64_t>(cols[0].size()), kDescribe);
  if (!CHECK(applied.ok())) {
    std::fprintf(stderr, "  fit_apply: %s\n", applied.status().message().c_str());
    return FitApplied();
  }
  return applied.value();
}

// fit_apply's error on `plan` fitted on `cols`.
Status fit_error(const PlanSpec& plan, std::vector<Col>& cols) {
  Result<std::optional<FitLevel>> level = fit_level(plan, 1000, kDescribe);
  if (!CHECK(level.ok() && level.value().has_value())) return Status::OK();
  std::vector<AnalyzerResult> results = analyze(plan, *level.value(), cols);
  Result<FitApplied> applied = fit_apply(plan, "t", results, static_cast<int64_t>(cols[0].size()), kDescribe);
  CHECK(!applied.ok());
  return applied.status();
}

PlanSpec finish(const FitApplied& applied) {
  CHECK(!fit_level(applied.plan, 1000, kDescribe).value().has_value());
  Result<PlanSpec> r = fit_finish(applied.plan, "t", applied.records);
  if (!CHECK(r.ok())) std::fprintf(stderr, "  fit_finish: %s\n", r.status().message().c_str());
  return r.ok() ? r.value() : PlanSpec();
}

SourceValue fv(double v) {
  SourceValue s;
  s.kind = SourceKind::kFloat64;
  s.f = v;
  return s;
}

SourceValue sv(const std::string& v) {
  SourceValue s;
  s.kind = SourceKind::kString;
  s.s = StrView{v.data(), static_cast<uint32_t>(v.size())};
  return s;
}

SourceValue null_value() { return SourceValue(); }

// The outputs of a fitted plan for one row (null outputs as Scalar::Null).
std::vector<Scalar> run_row(const PlanSpec& fitted, const std::vector<SourceValue>& row) {
  std::vector<Scalar> out;
  Result<std::shared_ptr<Program>> p = Program::Make(fitted);
  if (!CHECK(p.ok())) {
    std::fprintf(stderr, "  Program::Make: %s\n", p.status().message().c_str());
    return out;
  }
  RowRunner runner(p.value());
  for (size_t i = 0; i < row.size(); ++i) CHECK(runner.set_input(static_cast<int>(i), row[i]).ok());
  runner.run();
  for (size_t j = 0; j < fitted.outputs.size(); ++j) {
    const Slot& s = runner.output(static_cast<int>(j));
    if (!s.valid[0]) {
      out.push_back(Scalar::Null(s.type));
    } else if (s.type == DType::kFloat64) {
      out.push_back(Scalar::Float(s.as<double>()[0]));
    } else {
      out.push_back(Scalar::Int(s.as<int64_t>()[0]));
    }
  }
  return out;
}

const Param& stat(const FitRecord& r, const char* name) {
  static const Param missing;
  auto it = r.statistics.find(name);
  if (!CHECK(it != r.statistics.end())) {
    std::fprintf(stderr, "  record of %s has no statistic '%s'\n", r.transform.c_str(), name);
    return missing;
  }
  return it->second;
}

double stat_f(const FitRecord& r, const char* name) {
  const Param& p = stat(r, name);
  return p.values.empty() ? kNaN : p.values[0].f;
}

const PlanStep& output_step(const PlanSpec& plan, size_t j) { return plan.steps[plan.outputs[j].step]; }

}  // namespace

TEST_CASE(fit_quantile_probabilities_are_numpy_linspace_over_100) {
  // numpy.linspace(0, 100, n + 1) / 100, which is not i / n: the hex values are numpy's.
  std::vector<double> p3 = quantile_probabilities(3);
  CHECK_EQ(p3.size(), 4u);
  CHECK_EQ(bits_of(p3[0]), bits_of(0.0));
  CHECK_EQ(bits_of(p3[1]), bits_of(0x1.5555555555556p-2));  // 1/3 would be ...555p-2
  CHECK_EQ(bits_of(p3[2]), bits_of(0x1.5555555555556p-1));
  CHECK_EQ(bits_of(p3[3]), bits_of(1.0));
  CHECK_EQ(bits_of(quantile_probabilities(7)[3]), bits_of(0x1.b6db6db6db6dcp-2));
  CHECK_EQ(bits_of(quantile_probabilities(49)[1]), bits_of(0x1.4e5e0a72f053ap-6));
  CHECK_EQ(bits_of(quantile_probabilities(1000)[3]), bits_of(0x1.89374bc6a7efbp-9));
  CHECK_EQ(quantile_probabilities(10)[10], 1.0);
}

TEST_CASE(fit_level_finds_ready_steps_in_order_of_first_use) {
  Builder b;
  int32_t x = b.declare("x", DType::kFloat64);
  int32_t c = b.declare("c", DType::kString);
  int32_t logx = b.op("log1p", {x});
  b.out("z", b.op("standard_scale", {logx}));
  b.out("v", b.op("vocabulary", {c}, vocab_params(2, 1, 1, "frequency")));
  b.out("n2", b.op("min_max_scale", {b.op("standard_scale", {x})}));
  b.out("z2", b.op("standard_scale", {b.op("log1p", {x})}));  // the same as z once compiled
  b.out("q", b.op("quantile_bucketize", {x}, {{"n", P(Scalar::Int(4))}}));
  b.out("i", b.op("impute", {c}, {{"strategy", P(Scalar::Str("most_frequent"))}}));
  PlanSpec plan = b.compiled();

  Result<std::optional<FitLevel>> r = fit_level(plan, 77, kDescribe);
  if (!CHECK(r.ok() && r.value().has_value())) return;
  const FitLevel& level = *r.value();
  if (!CHECK_EQ(level.ready.size(), 5u)) return;
  const std::vector<std::string> ops = {"standard_scale", "vocabulary", "standard_scale", "quantile_bucketize",
                                        "impute"};
  for (size_t i = 0; i < ops.size(); ++i) CHECK_EQ(plan.steps[level.ready[i].step].op, ops[i]);
  CHECK(level.ready[0].features == std::vector<std::string>({"z", "z2"}));
  CHECK(level.ready[1].features == std::vector<std::string>({"v"}));
  CHECK(level.ready[2].features == std::vector<std::string>({"n2"}));  // min_max_scale waits for level 2
  CHECK(level.ready[0].input == DType::kFloat64 && level.ready[1].input == DType::kString);

  // Analyzers and their parameters.
  CHECK_EQ(level.ready[0].analyzers[0].kind, std::string("moments"));
  const AnalyzerSpec& voc = level.ready[1].analyzers[0];
  CHECK_EQ(voc.kind, std::string("vocabulary"));
  CHECK_EQ(voc.params.at("top_k").values[0].i, 2);
  CHECK_EQ(voc.params.at("order").values[0].s, std::string("frequency"));
  CHECK_EQ(voc.params.at("min_frequency").values[0].i, 1);
  const AnalyzerSpec& q = level.ready[3].analyzers[0];
  CHECK_EQ(q.kind, std::string("quantiles"));
  CHECK_EQ(q.params.at("exact_budget").values[0].i, 77);
  CHECK_EQ(q.params.at("probabilities").values.size(), 5u);
  CHECK_EQ(q.params.at("probabilities").values[1].f, 0.25);
  const AnalyzerSpec& mf = level.ready[4].analyzers[0];
  CHECK_EQ(mf.kind, std::string("vocabulary"));
  CHECK_EQ(mf.params.at("top_k").values[0].i, 1);
  CHECK(!mf.params.count("min_frequency"));

  // The analysis plan computes the arguments, one output per ready step.
  CHECK_EQ(level.analysis.outputs.size(), 5u);
  CHECK_EQ(level.analysis.steps[level.analysis.outputs[0].step].op, std::string("log1p"));
  CHECK(bind_plan(level.analysis).ok());

  Builder plain;
  plain.out("y", plain.op("log1p", {plain.declare("x", DType::kFloat64)}));
  Result<std::optional<FitLevel>> none = fit_level(plain.compiled(), 77, kDescribe);
  CHECK(none.ok() && !none.value().has_value());
}

TEST_CASE(fit_scalers_rewrite_to_sub_and_div) {
  Builder b;
  int32_t x = b.declare("x", DType::kFloat64);
  b.out("s", b.op("standard_scale", {x}));
  b.out("m", b.op("min_max_scale", {x}));
  b.out("r", b.op("robust_scale", {x}));
  PlanSpec plan = b.compiled();
  std::vector<Col> cols;
  cols.push_back(floats({1.0, 2.0, 3.0, std::nullopt, kNaN}));  // null and NaN are ignored
  FitApplied applied = fit_once(plan, cols);
  if (!CHECK_EQ(applied.records.size(), 3u)) return;
  const FitRecord& s = applied.records[0];
  CHECK_EQ(s.transform, std::string("standard_scale"));
  CHECK(s.features == std::vector<std::string>({"s"}));
  CHECK_EQ(s.expression, std::string("<step 0>"));
  CHECK_EQ(s.rows, 5);
  CHECK_EQ(stat_f(s, "mean"), 2.0);
  CHECK_EQ(stat_f(s, "std"), std::sqrt(2.0 / 3.0));
  CHECK_EQ(stat_f(s, "scale"), std::sqrt(2.0 / 3.0));
  CHECK_EQ(stat(s, "count").values[0].i, 3);
  CHECK_EQ(stat_f(applied.records[1], "min"), 1.0);
  CHECK_EQ(stat_f(applied.records[1], "scale"), 2.0);
  CHECK_EQ(stat_f(applied.records[2], "median"), 2.0);
  CHECK_EQ(stat_f(applied.records[2], "q25"), 1.5);
  CHECK(stat(applied.records[2], "exact").values[0].b);
  CHECK_EQ(output_step(applied.plan, 0).op, std::string("div"));
  CHECK_EQ(applied.origin.size(), applied.plan.steps.size());

  PlanSpec fitted = finish(applied);
  std::vector<Scalar> out = run_row(fitted, {fv(3.0)});
  if (!CHECK_EQ(out.size(), 3u)) return;
  CHECK_EQ(out[0].f, (3.0 - 2.0) / std::sqrt(2.0 / 3.0));
  CHECK_EQ(out[1].f, 1.0);
  CHECK_EQ(out[2].f, 1.0);  // (3 - 2) / (2.5 - 1.5)
  CHECK(run_row(fitted, {null_value()})[0].is_null);

  // A constant column: zero std, range and IQR scale by 1.
  std::vector<Col> same;
  same.push_back(floats({4.0, 4.0, 4.0}));
  FitApplied constant = fit_once(plan, same);
  for (const FitRecord& r : constant.records) CHECK_EQ(stat_f(r, "scale"), 1.0);
  CHECK_EQ(stat_f(constant.records[0], "std"), 0.0);
  std::vector<Scalar> five = run_row(finish(constant), {fv(5.0)});
  for (const Scalar& v : five) CHECK_EQ(v.f, 1.0);
}

TEST_CASE(fit_quantile_bucketize_drops_edges_within_1e8_of_the_edge_before) {
  Builder b;
  int32_t x = b.declare("x", DType::kFloat64);
  b.out("q", b.op("quantile_bucketize", {x}, {{"n", P(Scalar::Int(4))}}));
  PlanSpec plan = b.compiled();
  std::vector<Col> cols;
  cols.push_back(floats({1.0, 2.0, 3.0, 4.0, 5.0}));
  FitApplied applied = fit_once(plan, cols);
  if (!CHECK_EQ(applied.records.size(), 1u)) return;
  CHECK_EQ(stat(applied.records[0], "edges").values.size(), 5u);
  const Param& inner = stat(applied.records[0], "boundaries");
  if (CHECK_EQ(inner.values.size(), 3u)) CHECK_EQ(inner.values[0].f, 2.0);
  std::vector<Scalar> out = run_row(finish(applied), {fv(2.5)});
  if (CHECK_EQ(out.size(), 1u)) CHECK_EQ(out[0].i, 1);

  // Edges from a result no small data gives: gaps below 1e-8 to the edge before are
  // dropped, also when that edge was itself dropped (scikit-learn's ediff1d rule).
  auto boundaries_of = [&](std::vector<double> edges) {
    AnalyzerResult r;
    r.scalars["count"] = Scalar::Int(10);
    r.scalars["exact"] = Scalar::Bool(true);
    r.scalars["median_midpoint"] = Scalar::Float(0.0);
    for (double e : edges) r.lists["quantiles"].push_back(Scalar::Float(e));
    Result<FitApplied> a = fit_apply(plan, "t", {r}, 10, kDescribe);
    std::vector<double> got;
    if (!CHECK(a.ok())) return got;
    for (const Scalar& s : stat(a.value().records[0], "boundaries").values) got.push_back(s.f);
    return got;
  };
  CHECK(boundaries_of({1.0, 2.0, 2.0 + 1e-9, 3.0, 4.0}) == std::vector<double>({2.0, 3.0}));
  CHECK(boundaries_of({0.0, 0.6e-8, 1.2e-8, 1.0, 2.0}) == std::vector<double>({1.0}));
  CHECK(boundaries_of({0.0, 0.0, 0.0, 1.0, 1.0}).empty());
}

TEST_CASE(fit_vocabulary_every_branch) {
  Builder b;
  int32_t c = b.declare("c", DType::kString);
  b.out("oov", b.op("vocabulary", {c}, vocab_params(std::nullopt, 1, 2, "frequency")));
  b.out("no_oov", b.op("vocabulary", {c}, vocab_params(std::nullopt, 1, 0, "value")));
  b.out("rare", b.op("vocabulary", {c}, vocab_params(std::nullopt, 100, 2, "frequency")));
  b.out("none", b.op("vocabulary", {c}, vocab_params(std::nullopt, 100, 0, "frequency")));
  PlanSpec plan = b.compiled();
  std::vector<Col> cols;
  cols.push_back(strings({"b", "a", "b", std::nullopt}));
  FitApplied applied = fit_once(plan, cols);
  if (!CHECK_EQ(applied.records.size(), 4u)) return;
  const Param& keys = stat(applied.records[0], "keys");
  if (CHECK_EQ(keys.values.size(), 2u)) CHECK_EQ(keys.values[0].s, std::string("b"));  // by frequency
  CHECK_EQ(stat(applied.records[1], "keys").values[0].s, std::string("a"));            // by value
  CHECK(stat(applied.records[2], "keys").values.empty());  // values present, none frequent enough: fits
  CHECK_EQ(stat(applied.records[2], "distinct").values[0].i, 2);
  CHECK_EQ(stat(applied.records[3], "num_oov_buckets").values[0].i, 0);
  CHECK_EQ(output_step(applied.plan, 0).op, std::string("coalesce"));
  CHECK_EQ(output_step(applied.plan, 1).op, std::string("map"));
  CHECK_EQ(output_step(applied.plan, 2).op, std::string("hash_bucket"));
  CHECK_EQ(output_step(applied.plan, 3).op, std::string("const"));

  PlanSpec fitted = finish(applied);
  std::vector<Scalar> a = run_row(fitted, {sv("a")});
  if (!CHECK_EQ(a.size(), 4u)) return;
  CHECK_EQ(a[0].i, 1);
  CHECK_EQ(a[1].i, 0);
  CHECK(a[2].i == 0 || a[2].i == 1);
  CHECK(a[3].is_null);
  std::vector<Scalar> unseen = run_row(fitted, {sv("zzz")});
  CHECK(unseen[0].i == 2 || unseen[0].i == 3);  // K + hash % num_oov_buckets
  CHECK(unseen[1].is_null);
  CHECK(run_row(fitted, {null_value()})[0].is_null);
}

TEST_CASE(fit_impute_fills_missing_with_the_fitted_value) {
  Builder b;
  int32_t x = b.declare("x", DType::kFloat64);
  int32_t c = b.declare("c", DType::kString);
  b.out("mean", b.op("impute", {x}, {{"strategy", P(Scalar::Str("mean"))}}));
  b.out("median", b.op("impute", {x}, {{"strategy", P(Scalar::Str("median"))}}));
  b.out("freq", b.op("impute", {c}, {{"strategy", P(Scalar::Str("most_frequent"))}}));
  PlanSpec plan = b.compiled();
  std::vector<Col> cols;
  cols.push_back(floats({1.0, 2.0, 6.0, std::nullopt}));
  cols.push_back(strings({"p", "q", "q", std::nullopt}));
  FitApplied applied = fit_once(plan, cols);
  if (!CHECK_EQ(applied.records.size(), 3u)) return;
  CHECK_EQ(stat_f(applied.records[0], "value"), 3.0);
  CHECK_EQ(stat_f(applied.records[1], "value"), 2.0);
  CHECK_EQ(stat(applied.records[2], "value").values[0].s, std::string("q"));
  CHECK_EQ(stat(applied.records[2], "strategy").values[0].s, std::string("most_frequent"));
  for (size_t j = 0; j < 3; ++j) CHECK_EQ(output_step(applied.plan, j).op, std::string("fill_missing"));
  std::string text;
  PlanSpec fitted = finish(applied);
  Result<std::shared_ptr<Program>> p = Program::Make(fitted);
  if (!CHECK(p.ok())) return;
  RowRunner runner(p.value());
  CHECK(runner.set_input(0, fv(kNaN)).ok());
  CHECK(runner.set_input(1, null_value()).ok());
  runner.run();
  CHECK_EQ(runner.output(0).as<double>()[0], 3.0);
  CHECK_EQ(runner.output(1).as<double>()[0], 2.0);
  StrView v = runner.output(2).as<StrView>()[0];
  CHECK_EQ(std::string(v.ptr, v.len), std::string("q"));
}

TEST_CASE(fit_without_a_present_value_is_an_error_for_every_fitted_op) {
  struct Case {
    const char* op;
    DType type;
    Params params;
  };
  const std::vector<Case> cases = {
      {"standard_scale", DType::kFloat64, {}},
      {"min_max_scale", DType::kFloat64, {}},
      {"robust_scale", DType::kFloat64, {}},
      {"quantile_bucketize", DType::kFloat64, {{"n", P(Scalar::Int(3))}}},
      {"impute", DType::kFloat64, {{"strategy", P(Scalar::Str("mean"))}}},
      {"impute", DType::kFloat64, {{"strategy", P(Scalar::Str("median"))}}},
      {"impute", DType::kString, {{"strategy", P(Scalar::Str("most_frequent"))}}},
      {"vocabulary", DType::kString, vocab_params(std::nullopt, 1, 1, "frequency")},
      {"vocabulary", DType::kInt64, vocab_params(std::nullopt, 1, 0, "frequency")},
      {"one_hot", DType::kString, {}},
  };
  for (const Case& k : cases) {
    Builder b;
    b.out("it's", b.op(k.op, {b.declare("x", k.type)}, k.params));
    std::vector<Col> cols;
    if (k.type == DType::kFloat64) cols.push_back(floats({std::nullopt, kNaN}));
    else if (k.type == DType::kInt64) cols.push_back(ints({std::nullopt, std::nullopt}));
    else cols.push_back(strings({std::nullopt, std::nullopt}));
    Status st = fit_error(b.compiled(), cols);
    CHECK(st.code() == ErrorCode::kPlanError);
    // The feature is named as Python's repr() names it, the argument by the describer.
    if (!CHECK(has(st.message(), std::string("cannot fit ") + k.op) && has(st.message(), "for feature \"it's\"") &&
               has(st.message(), "no present") && has(st.message(), "value of <step 0>"))) {
      std::fprintf(stderr, "  %s: %s\n", k.op, st.message().c_str());
    }
  }
}

TEST_CASE(fit_one_hot_expands_into_one_column_per_key) {
  Builder b;
  int32_t c = b.declare("c", DType::kString);
  int32_t n = b.declare("n", DType::kInt64);
  b.out("o", b.op("one_hot", {c}));
  b.out("k", b.op("one_hot", {n}, {{"order", P(Scalar::Str("value"))}}));
  PlanSpec plan = b.compiled();
  std::vector<Col> cols;
  cols.push_back(strings({"b", "a", "b"}));
  cols.push_back(ints({-1, 2, 2}));
  FitApplied applied = fit_once(plan, cols);
  if (!CHECK_EQ(applied.records.size(), 2u)) return;
  CHECK_EQ(stat(applied.records[0], "keys").values[0].s, std::string("a"));  // value order by default
  CHECK(!applied.records[0].statistics.count("num_oov_buckets"));
  // Until fit_finish the feature stands for its argument.
  CHECK_EQ(output_step(applied.plan, 0).op, std::string("input"));
  PlanSpec fitted = finish(applied);
  std::vector<std::string> names;
  for (const PlanOutput& o : fitted.outputs) names.push_back(o.name);
  CHECK(names == std::vector<std::string>({"o__a", "o__b", "k__-1", "k__2"}));
  std::string b_value = "b";
  std::vector<Scalar> row = run_row(fitted, {sv(b_value), null_value()});
  if (CHECK_EQ(row.size(), 4u)) {
    CHECK_EQ(row[0].f, 0.0);
    CHECK_EQ(row[1].f, 1.0);
    CHECK_EQ(row[2].f, 0.0);  // null and unseen values are 0.0 in every column
    CHECK_EQ(row[3].f, 0.0);
  }

  // A column name another feature has is refused.
  Builder clash;
  int32_t cc = clash.declare("c", DType::kString);
  clash.out("o", clash.op("one_hot", {cc}));
  clash.out("o__a", clash.op("str_lower", {cc}));
  std::vector<Col> cs;
  cs.push_back(strings({"a"}));
  FitApplied clashing = fit_once(clash.compiled(), cs);
  Result<PlanSpec> r = fit_finish(clashing.plan, "t", clashing.records);
  CHECK(!r.ok() && has(r.status().message(), "one_hot feature 'o' expands into column 'o__a', which another "
                                              "feature already uses"));

  // one_hot inside a larger expression is refused before any pass.
  Builder part;
  int32_t pc = part.declare("c", DType::kString);
  part.out("p", part.op("mul", {part.op("one_hot", {pc}), part.lit(Scalar::Float(2.0))}));
  PlanSpec part_plan = part.compiled();
  Result<std::optional<FitLevel>> lv = fit_level(part_plan, 10, kDescribe);
  CHECK(!lv.ok() && has(lv.status().message(), "feature 'p': one_hot must be the whole feature expression, not "
                                               "part of <step " + std::to_string(part_plan.outputs[0].step) + ">"));

  // A plan whose only feature is a one_hot with no key left has nothing to serve.
  Builder rare;
  rare.out("o", rare.op("one_hot", {rare.declare("c", DType::kString)},
                        {{"min_frequency", P(Scalar::Int(5))}}));
  std::vector<Col> few;
  few.push_back(strings({"a", "b"}));
  FitApplied empty = fit_once(rare.compiled(), few);
  Result<PlanSpec> e = fit_finish(empty.plan, "t", empty.records);
  CHECK(!e.ok() && has(e.status().message(), "cannot fit plan 't'"));
}

TEST_CASE(fit_nested_levels_and_steps_equal_only_after_rewriting) {
  // robust_scale over two different scalers: on a constant column both become
  // (x - 4) / 1, yet they stay two fitted steps with a record each.
  Builder b;
  int32_t x = b.declare("x", DType::kFloat64);
  b.out("a", b.op("robust_scale", {b.op("standard_scale", {x})}));
  b.out("b", b.op("robust_scale", {b.op("min_max_scale", {x})}));
  PlanSpec plan = b.compiled();
  std::vector<Col> cols;
  cols.push_back(floats({4.0, 4.0}));
  FitApplied first = fit_once(plan, cols);
  CHECK_EQ(first.records.size(), 2u);
  CHECK(bind_plan(first.plan).ok());
  Result<std::optional<FitLevel>> second = fit_level(first.plan, 1000, kDescribe);
  if (!CHECK(second.ok() && second.value().has_value())) return;
  const FitLevel& level = *second.value();
  if (!CHECK_EQ(level.ready.size(), 2u)) return;
  CHECK(level.ready[0].features == std::vector<std::string>({"a"}));
  CHECK(level.ready[1].features == std::vector<std::string>({"b"}));
  CHECK_EQ(first.plan.steps[level.ready[0].step].op, std::string("robust_scale"));
  // Their arguments are the rewritten scalers; the analysis plan computes them (it is
  // optimized, so there the two arguments are one step).
  CHECK_EQ(first.plan.steps[first.plan.steps[level.ready[0].step].args[0]].op, std::string("div"));
  CHECK_EQ(level.analysis.outputs[0].step, level.analysis.outputs[1].step);

  // Level 2 with hand-made results: the median of (x - 4) / 1 on the training data.
  AnalyzerResult q;
  q.scalars["count"] = Scalar::Int(2);
  q.scalars["exact"] = Scalar::Bool(true);
  q.scalars["median_midpoint"] = Scalar::Float(0.0);
  q.lists["quantiles"] = {Scalar::Float(0.0), Scalar::Float(0.0), Scalar::Float(0.0)};
  Result<FitApplied> done = fit_apply(first.plan, "t", {q, q}, 2, kDescribe);
  if (!CHECK(done.ok())) return;
  CHECK_EQ(done.value().records.size(), 2u);
  std::vector<Scalar> out = run_row(finish(done.value()), {fv(6.0)});
  if (CHECK_EQ(out.size(), 2u)) {
    CHECK_EQ(out[0].f, 2.0);
    CHECK_EQ(out[1].f, 2.0);
  }
}

TEST_CASE(fit_apply_checks_rows_and_results) {
  Builder b;
  b.out("s", b.op("standard_scale", {b.declare("x", DType::kFloat64)}));
  PlanSpec plan = b.compiled();
  AnalyzerResult m;
  m.scalars["count"] = Scalar::Int(1);
  m.scalars["mean"] = Scalar::Float(1.0);
  m.scalars["std"] = Scalar::Float(0.0);
  Result<FitApplied> no_rows = fit_apply(plan, "train", {m}, 0, kDescribe);
  CHECK(!no_rows.ok() && has(no_rows.status().message(), "cannot fit plan 'train': the training data has no rows"));
  Result<FitApplied> too_many = fit_apply(plan, "train", {m, m}, 1, kDescribe);
  CHECK(!too_many.ok() && has(too_many.status().message(), "take 1 analyzer results, got 2"));
  AnalyzerResult broken;
  broken.scalars["count"] = Scalar::Int(1);
  Result<FitApplied> missing = fit_apply(plan, "train", {broken}, 1, kDescribe);
  CHECK(!missing.ok() && has(missing.status().message(), "internal"));
  Result<FitApplied> ok = fit_apply(plan, "train", {m}, 1, kDescribe);
  CHECK(ok.ok());
  // A plan that does not bind is refused, not rewritten.
  PlanSpec bad = plan;
  bad.steps[1].args = {5};
  CHECK(!fit_level(bad, 10, kDescribe).ok());
  CHECK(!fit_apply(bad, "train", {m}, 1, kDescribe).ok());
}
