// Fitted transforms. These ops mark where statistics are needed; they have no kernel.
// plan.fit() runs the analyzers they name over training data in the core, then rewrites
// each of them into ordinary ops with the statistics frozen in as constants (for
// example standard_scale(x) becomes (x - mean) / std; the rules are in fit_rewrite.cc).
// A plan that still contains one cannot execute, so serving never runs an analyzer.
#include <string>

#include "featureplat/registry.h"
#include "ops/kernel_util.h"

namespace featureplat {
namespace {

Result<Binding> numeric_to_float(const std::vector<DType>& args, const Params&) {
  if (ops::numeric_common(args) == DType::kNull) {
    return ops::type_error("expects an int64 or float64 argument, got " + ops::type_list(args));
  }
  return ops::bind({DType::kFloat64}, DType::kFloat64, nullptr);
}

Result<Binding> resolve_quantile_bucketize(const std::vector<DType>& args, const Params& p) {
  if (ops::numeric_common(args) == DType::kNull) {
    return ops::type_error("expects an int64 or float64 argument, got " + ops::type_list(args));
  }
  const Scalar* n = ops::param_scalar(p, "n");
  if (!n || n->i < 2 || n->i > 100000) return ops::plan_error("n must be between 2 and 100000");
  return ops::bind({DType::kFloat64}, DType::kInt64, nullptr);
}

Status check_vocab_params(const Params& p) {
  const Scalar* top_k = ops::param_scalar(p, "top_k");
  if (top_k && !top_k->is_null && (top_k->type != DType::kInt64 || top_k->i < 1)) {
    return ops::plan_error("top_k must be a positive integer or null");
  }
  const Scalar* mf = ops::param_scalar(p, "min_frequency");
  if (mf && mf->i < 1) return ops::plan_error("min_frequency must be >= 1");
  const Scalar* oov = ops::param_scalar(p, "num_oov_buckets");
  if (oov && (oov->i < 0 || oov->i > (int64_t{1} << 40))) return ops::plan_error("num_oov_buckets must be >= 0");
  const Scalar* order = ops::param_scalar(p, "order");
  if (order && order->s != "frequency" && order->s != "value") {
    return ops::plan_error("order must be 'frequency' or 'value'");
  }
  return Status::OK();
}

Result<Binding> resolve_vocabulary(const std::vector<DType>& args, const Params& p) {
  if (args[0] != DType::kString && args[0] != DType::kInt64) {
    return ops::type_error("expects a string or int64 argument, got " + ops::type_list(args));
  }
  FP_RETURN_NOT_OK(check_vocab_params(p));
  return ops::bind({args[0]}, DType::kInt64, nullptr);
}

Result<Binding> resolve_one_hot(const std::vector<DType>& args, const Params& p) {
  if (args[0] != DType::kString && args[0] != DType::kInt64) {
    return ops::type_error("expects a string or int64 argument, got " + ops::type_list(args));
  }
  FP_RETURN_NOT_OK(check_vocab_params(p));
  return ops::bind({args[0]}, DType::kFloat64, nullptr);
}

Result<Binding> resolve_impute(const std::vector<DType>& args, const Params& p) {
  const Scalar* s = ops::param_scalar(p, "strategy");
  std::string strategy = s ? s->s : "";
  if (strategy == "mean" || strategy == "median") {
    if (ops::numeric_common(args) == DType::kNull) {
      return ops::type_error("impute(" + strategy + ") expects an int64 or float64 argument, got " +
                             ops::type_list(args));
    }
    return ops::bind({DType::kFloat64}, DType::kFloat64, nullptr);
  }
  if (strategy == "most_frequent") {
    if (args[0] != DType::kString && args[0] != DType::kInt64) {
      return ops::type_error("impute(most_frequent) expects string or int64, got " + ops::type_list(args));
    }
    return ops::bind({args[0]}, args[0], nullptr);
  }
  return ops::plan_error("strategy must be 'mean', 'median' or 'most_frequent' (a constant is fill_null)");
}

OpDef fitted(const char* name, const char* sig, const char* doc, ResolveFn fn, std::vector<ParamSpec> params) {
  OpDef d = ops::op_def(name, "fitted", sig, doc, 1, fn);
  d.params = std::move(params);
  return d;
}

}  // namespace

void register_fitted_ops(Registry& r) {
  r.add(fitted("standard_scale", "standard_scale(a: int64|float64) -> float64",
               "Fitted: (a - mean) / std with mean and population std (ddof=0) of the training "
               "values, computed exactly (order-independent) by the moments analyzer; null and NaN "
               "training values are ignored. std = 0 (constant column) scales by 1. After fit this "
               "is sub/div with constants, so null in gives null out and NaN stays NaN.",
               numeric_to_float, {}));
  r.add(fitted("min_max_scale", "min_max_scale(a: int64|float64) -> float64",
               "Fitted: (a - min) / (max - min) over the training values (null and NaN ignored); a "
               "zero range scales by 1. Values outside the fitted range map outside [0, 1] (no "
               "clipping). Null in, null out.",
               numeric_to_float, {}));
  r.add(fitted("robust_scale", "robust_scale(a: int64|float64) -> float64",
               "Fitted: (a - median) / (q75 - q25) with the median (midpoint of the two middle "
               "values) and the 25th/75th percentiles (linear interpolation) of the training "
               "values; an IQR of 0 scales by 1. Exact below the quantile budget, KLL sketch beyond "
               "it. Null in, null out.",
               numeric_to_float, {}));
  r.add(fitted("quantile_bucketize", "quantile_bucketize(a: int64|float64, n: int) -> int64",
               "Fitted: bucketize with the n-quantile edges of the training values (linear "
               "interpolation at 0, 1/n, ..., 1; inner edges are the boundaries; repeated edges are "
               "merged, so a column with many equal values can have fewer than n buckets). Result "
               "in [0, n-1]; values beyond the fitted range go to the first or last bucket; NaN and "
               "null give null.",
               resolve_quantile_bucketize, {{"n", ParamKind::kInt, true}}));
  r.add(fitted("vocabulary", "vocabulary(a: string|int64, top_k, min_frequency, num_oov_buckets, order) -> int64",
               "Fitted: index of the value in the training vocabulary (values seen at least "
               "min_frequency times, the top_k most frequent; order 'frequency' ranks by count "
               "with ties broken by ascending value, 'value' sorts ascending). Unseen values go to "
               "one of num_oov_buckets buckets after the vocabulary, by xxHash64 (index K + "
               "hash % num_oov_buckets); with num_oov_buckets = 0 they give null. Null in, null "
               "out. Training data with no present value is a fit error (values present but all "
               "below min_frequency fit an empty vocabulary).",
               resolve_vocabulary,
               {{"top_k", ParamKind::kScalar, false}, {"min_frequency", ParamKind::kInt, false},
                {"num_oov_buckets", ParamKind::kInt, false}, {"order", ParamKind::kString, false}}));
  r.add(fitted("one_hot", "one_hot(a: string|int64, top_k, min_frequency, order) -> float64 columns",
               "Fitted: one float64 column per vocabulary value, named <feature>__<value>, 1.0 "
               "where the value matches and 0.0 elsewhere; unseen values and null give 0.0 in "
               "every column. Must be the whole feature expression. Training data with no present "
               "value is a fit error.",
               resolve_one_hot,
               {{"top_k", ParamKind::kScalar, false}, {"min_frequency", ParamKind::kInt, false},
                {"order", ParamKind::kString, false}}));
  r.add(fitted("impute", "impute(a, strategy: mean|median|most_frequent) -> float64 or a's type",
               "Fitted: replaces null (and NaN for float64) with the training mean, median "
               "(midpoint) or most frequent value (ties: the smallest). mean/median give float64. "
               "Training data with no present value is a fit error.",
               resolve_impute, {{"strategy", ParamKind::kString, true}}));
}

}  // namespace featureplat
