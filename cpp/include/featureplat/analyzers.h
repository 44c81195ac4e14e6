// Analyzers: the statistics of fitted transforms (scalers, quantile buckets,
// vocabularies), computed once from training data.
//
// An analyzer is a mergeable state. Data is fed chunk by chunk with update(); states
// built on different parts of the data (threads, files) are combined with merge(); the
// statistics are read with finalize(). Nothing here throws: bad parameters and input
// types are reported by make_analyzer, bad update() calls are remembered and reported
// by finalize() and merge().
//
// Kinds and their results
// -----------------------
// Null rows (valid[i] == 0) are ignored and counted in every kind ("null_count").
//
// "moments" -- input float64, int64 or bool (int64 and bool values are converted to
//   double: bool as 0.0 / 1.0, int64 rounded to the nearest double). No parameters.
//   EXACT: sum(x) and sum(x*x) are kept in fixed-point superaccumulators wide enough
//   for every double (and every square of one), so the state -- and therefore the
//   result -- does not depend on order, chunking or merge tree. NaN values are counted
//   ("nan_count") and otherwise ignored; infinities are counted and kept out of the sums.
//   scalars (int64): count (non-null, non-NaN values, infinities included), null_count,
//                    nan_count, pos_inf_count, neg_inf_count
//   scalars (float64, null when count == 0):
//     min, max   over non-NaN values in the total order where -0.0 < 0.0
//     mean       to_double(S1) / count                       (S1 = exact sum)
//     variance   to_double(count*S2 - S1*S1) / count / count (population, ddof = 0;
//                the numerator is computed exactly in big-integer arithmetic)
//     std        sqrt(variance)
//   to_double is correctly rounded (round half to even); the divisions are IEEE double.
//   With infinities present, mean is +inf / -inf when only one sign occurs and NaN when
//   both do; variance and std are NaN. A sum whose magnitude exceeds the double range
//   (e.g. many values near 1e308) makes mean +-inf; likewise variance is +inf when
//   count^2 * variance exceeds the double range.
//
// "quantiles" -- input float64 or int64 (converted to double). NaN values are counted
//   and ignored; +-inf are ordinary values.
//   params: "probabilities" kNumberList of values in [0, 1] (required, may be empty)
//           "exact_budget"  kInt >= 0 (default 10'000'000)
//           "k"             kInt in [8, 1'048'576] (default 400), the KLL size parameter
//   While the number of stored values is <= exact_budget every value is kept. The first
//   value beyond the budget switches the state, irreversibly, to a KLL sketch (the kept
//   values are inserted in their stored order). The sketch's random choices come from a
//   splitmix64 generator with a fixed seed advanced once per compaction, so the same
//   sequence of updates and merges always gives the same result.
//   Exact mode: the values are sorted (total order, -0.0 < 0.0) and each quantile is
//   computed exactly like numpy.quantile(v, p, method="linear") (numpy 2.x): with
//   h = (n - 1) * p: if h >= n - 1 then a = b = v[n-1], t = h + 1 (numpy's index rule);
//   else lo = floor(h), a = v[lo], b = v[lo + 1], t = h - lo; then diff = b - a and
//   result = t >= 0.5 ? b - diff * (1 - t) : a + diff * t. This is bit-identical to
//   numpy for finite values, signed zeros included. When a or b is infinite numpy's
//   formula gives NaN; here the limit is used instead: a if a == b or t == 0, NaN if
//   a = -inf and b = +inf, else the infinite endpoint.
//   Sketch mode: the returned value is a retained sample: the first one (in sorted
//   order) whose cumulative weight exceeds (n - 1) * p; p == 0 and p == 1 return the
//   exact minimum and maximum, which are tracked separately.
//   lists:   quantiles (float64, one per probability, all null when count == 0)
//   scalars: count, null_count, nan_count (int64), exact (bool),
//            median_midpoint (float64, null when count == 0): numpy.median bit for bit
//              in exact mode (middle value, or (v[n/2-1] + v[n/2]) / 2 for even n, with
//              a zero sum normalised to +0.0 as numpy's add reduction does); in sketch
//              mode the p = 0.5 estimate,
//            rank_epsilon (float64): 0 in exact mode, else the error bound below.
//
//   KLL ERROR BOUND. Level h of the sketch holds samples of weight 2^h; a compaction
//   of level h sorts it (keeping one item back when the count is odd) and promotes every
//   other item, starting at a pseudo-random offset, to level h + 1. For any fixed
//   threshold y, the estimated number of values <= y changes by 0 or +-2^h, with mean
//   0, at each compaction, and the schedule of compactions depends only on the counts
//   (never on the values or random bits). Let V = sum over all compactions of 4^h
//   (tracked exactly, also across merges). By Azuma-Hoeffding, with probability at least
//   1 - delta each returned quantile q of probability p satisfies
//       #{x < q} <= r + t   and   #{x <= q} > r - t,   r = p * (n - 1),
//       t = sqrt(2 * ln(2 / delta) * V),
//   i.e. q occupies a sorted position within t + 1 of the target position r. finalize()
//   reports rank_epsilon = (t + 1) / n for delta = 1e-3. For one stream, V depends only
//   on n and k; level capacities are max(8, ceil(k * (2/3)^depth)) and, for n >= 20 k,
//   rank_epsilon stays between about 2.6 / k and 3.5 / k (k = 400: 0.65% .. 0.86%).
//   Merged sketches have smaller or similar bounds. Errors actually observed are well
//   inside it (worst seen in tests: ~0.6 rank_epsilon * n over ~20,000 queries). Memory:
//   at most about 3 k + 8 log2(n) retained values.
//
// "vocabulary" -- input string, int64 or bool. Exact counts per distinct value.
//   params: "top_k" kInt >= 0 or null (missing or null: keep all)
//           "min_frequency" kInt >= 0 (default 1)
//           "order" kString "frequency" (default) or "value"
//   Keys with count >= min_frequency are kept; when top_k is set, only the top_k most
//   frequent of them (ties: smaller value first) are kept; the kept keys are ordered by
//   descending count, ties by ascending value ("frequency"), or by ascending value
//   ("value", like scikit-learn's sorted categories). Strings compare bytewise
//   (unsigned), int64 numerically, false < true.
//   lists:   keys (typed like the input), counts (int64)
//   scalars: null_count, distinct (number of distinct non-null values before filtering)
//
// Merging
// -------
// merge() requires another state of the same kind, input type and parameters
// (otherwise kPlanError). moments and vocabulary are exact: the merged state equals the
// state of the concatenated data whatever the split or order. quantiles in exact mode
// likewise (the values are sorted at finalize); exact + exact stays exact while the
// total is within the budget, otherwise the result is a sketch (deterministic for a
// given sequence of merges, but not independent of it).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "featureplat/registry.h"
#include "featureplat/status.h"
#include "featureplat/types.h"

namespace featureplat {

/// Result of an analyzer: named scalars and named lists, e.g. {"mean": 1.5}, {"keys": [...]}.
struct AnalyzerResult {
  std::map<std::string, Scalar> scalars;              ///< e.g. "count", "mean"
  std::map<std::string, std::vector<Scalar>> lists;   ///< e.g. "quantiles", "keys"
};

/// A mergeable statistics state (see the file comment for each kind).
class Analyzer {
 public:
  virtual ~Analyzer() = default;
  /// "moments", "quantiles" or "vocabulary".
  virtual const char* kind() const = 0;
  /// Feeds rows [0, n) of a chunk slot whose type must be the analyzer's input type.
  /// A mismatched type, n < 0 or missing buffers (with n > 0) put the state in error
  /// (kInputError), reported by finalize() and merge(); later updates are ignored.
  virtual void update(const Slot& values, int64_t n) = 0;
  /// Merges another state of the same kind and configuration into this one (`other`
  /// may be this object). Exact analyzers: merge(a, b) equals the state of the
  /// concatenated data, independent of split and order. Errors: kPlanError when kind or
  /// configuration differ; the error of either state when one is in error.
  virtual Status merge(const Analyzer& other) = 0;
  /// A new empty state with the same configuration.
  virtual std::unique_ptr<Analyzer> empty_clone() const = 0;
  /// Final statistics (does not change the state), or the state's error.
  virtual Result<AnalyzerResult> finalize() const = 0;
};

/// Creates an empty analyzer. kind: "moments" | "quantiles" | "vocabulary"; input: the
/// slot DType fed to update(); params as in registry.h. Errors: kPlanError for an
/// unknown kind, unknown / missing / ill-typed / out-of-range parameters; kTypeError for
/// an input type the kind does not support.
Result<std::unique_ptr<Analyzer>> make_analyzer(const std::string& kind, DType input,
                                                const Params& params);

}  // namespace featureplat
