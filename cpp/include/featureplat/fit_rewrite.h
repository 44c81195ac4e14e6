// Fitted transforms, rewritten: which analyzers each fitted op needs, the statistics a
// fit records, and the ordinary ops that replace the fitted op once they are known.
//
// A fit runs level by level, a level being one pass over the training data:
//   1. fit_level() finds the "ready" fitted steps (fitted steps whose argument holds no
//      fitted op) and the analysis plan that computes their arguments, and names the
//      analyzers each needs (kind and parameters for make_analyzer);
//   2. the caller streams the data through Program::analyze with those analyzers;
//   3. fit_apply() replaces every ready step by ordinary ops with its statistics as
//      constants, returns what the fit records about each, and the next level's plan;
// and when fit_level() finds nothing left, fit_finish() expands the one_hot features into
// one column per vocabulary value and optimizes the plan.
//
// The plans between levels are lowered but not optimized: each step is one node of the
// expression graph as written, so fitted steps that become equal only through rewriting
// are still fitted and recorded apart. Their step order is the lowering's (outputs in
// order, depth first, arguments left to right), the order the final plan is optimized in.
//
// Rewrites (x is the fitted op's argument, r its analyzer results):
//   standard_scale      (x - mean) / scale,    scale = std, or 1.0 where std == 0
//   min_max_scale       (x - min) / scale,     scale = max - min, or 1.0 where that is 0
//   robust_scale        (x - median) / scale,  scale = q75 - q25, or 1.0 where that is 0;
//                       median is the midpoint median
//   quantile_bucketize  bucketize(x, inner edges): the n-quantiles at probabilities
//                       formed as numpy's linspace(0, 100, n + 1) / 100 (scikit-learn's
//                       KBinsDiscretizer); an edge at most 1e-8 above the edge before
//                       it is dropped (as scikit-learn does); the kept edges but the
//                       first and last are the boundaries
//   vocabulary          K keys: coalesce(map(x, key -> index), hash_bucket(x, oov) + K);
//                       map(x) alone when num_oov_buckets == 0; with no key kept,
//                       hash_bucket(x, oov), or a null int64 when oov == 0 too
//   one_hot             the feature stands for x until fit_finish, which makes one output
//                       <feature>__<key> = if_else(x == key, 1.0, 0.0) per key
//   impute              fill_missing(x, value): the mean, the midpoint median or the most
//                       frequent value
// Statistics recorded: standard_scale mean, std, scale, count; min_max_scale min, max,
// scale, count; robust_scale median, q25, q75, scale, count, exact; quantile_bucketize
// edges, boundaries, count, exact; vocabulary keys, counts, num_oov_buckets, distinct;
// one_hot keys, counts, distinct; impute strategy, value.
// Every fitted op fails with kPlanError naming the feature and the argument when the
// training data holds no present (non-null, non-NaN) value of it; a vocabulary whose
// keys are all below min_frequency while values are present fits (no keys).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "featureplat/analyzers.h"
#include "featureplat/plan.h"
#include "featureplat/registry.h"
#include "featureplat/status.h"

namespace featureplat {

/// Names a step of the plan being fitted in messages and records (e.g. renders its
/// expression). Supplied by the caller; it may throw, the rewrite holds only values.
using StepDescriber = std::function<std::string(int32_t step)>;

/// One analyzer a fitted step needs: what make_analyzer takes besides the input type.
struct AnalyzerSpec {
  std::string kind;  ///< "moments", "quantiles" or "vocabulary"
  Params params;     ///< its parameters
};

/// A fitted step whose argument holds no fitted op: it is fitted in this pass.
struct ReadyStep {
  int32_t step = -1;                    ///< the fitted step's id in the plan
  std::vector<std::string> features;    ///< outputs whose expression uses it, in output order
  DType input = DType::kNull;           ///< type of its argument (what the analyzers read)
  std::vector<AnalyzerSpec> analyzers;  ///< what to compute over that argument
};

/// One pass over the training data.
struct FitLevel {
  PlanSpec analysis;             ///< the plan's inputs; output i is the argument of ready[i], optimized
  std::vector<ReadyStep> ready;  ///< in order of first use: outputs in order, arguments before their users
};

/// What a fit records about one fitted step (an entry of the plan's "fitted" section).
struct FitRecord {
  std::vector<std::string> features;  ///< outputs using the step
  std::string transform;              ///< the fitted op
  std::string expression;             ///< its argument, as the describer names it
  int64_t rows = 0;                   ///< training rows the statistics come from
  Params statistics;                  ///< named statistics, a scalar or a list each
};

/// A level applied: the next plan and the records of the steps just fitted.
struct FitApplied {
  PlanSpec plan;                   ///< ready steps replaced (lowered, not optimized)
  std::vector<FitRecord> records;  ///< one per ready step, in FitLevel::ready order
  /// Per step of `plan`: the input plan's step it is (or rebuilds over rewritten
  /// arguments), -1 for a step a rewrite created. A caller keeping documents can carry
  /// over what the core does not hold, such as the order parameters were written in.
  std::vector<int32_t> origin;
};

/// The analyzer probabilities of quantile_bucketize(n): numpy.linspace(0, 100, n + 1) / 100
/// bit for bit, i.e. (i * (100 / n)) / 100 for i < n and 1.0 for i == n.
std::vector<double> quantile_probabilities(int64_t n);

/// The next pass of `plan`, or nullopt when it holds no fitted step. `exact_budget` goes
/// to the quantile analyzers. Errors: kPlanError for a malformed plan and for a one_hot
/// that is not a whole feature expression (named with `describe`).
Result<std::optional<FitLevel>> fit_level(const PlanSpec& plan, int64_t exact_budget,
                                          const StepDescriber& describe);

/// Replaces the ready steps of `plan` (found again, as fit_level finds them) with ordinary
/// ops. `results` holds one finalized analyzer result per AnalyzerSpec, in the order of
/// fit_level's ready steps and their analyzers; `rows` counts the training rows seen.
/// Errors (kPlanError): no rows, no present value of a fitted argument, a result missing
/// a statistic or of the wrong count. `plan_name` and `describe` name things in messages.
Result<FitApplied> fit_apply(const PlanSpec& plan, const std::string& plan_name,
                             const std::vector<AnalyzerResult>& results, int64_t rows,
                             const StepDescriber& describe);

/// The fitted plan: every output named in a one_hot record of `records` (this fit's)
/// expands into its columns in place, then the plan is optimized. Errors (kPlanError): a
/// column name another output uses, a plan left with no output, a fitted step left over.
Result<PlanSpec> fit_finish(const PlanSpec& plan, const std::string& plan_name,
                            const std::vector<FitRecord>& records);

}  // namespace featureplat
