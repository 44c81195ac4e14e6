// Null handling. null is "missing" and is distinct from NaN, an IEEE float value.
#include <cmath>
#include <string>

#include "featureplat/registry.h"
#include "ops/kernel_util.h"

namespace featureplat {
namespace {

void is_null_k(KernelContext&, const Slot* const* a, Slot& o, int64_t n) {
  uint8_t* r = o.as<uint8_t>();
  for (int64_t i = 0; i < n; ++i) {
    o.valid[i] = 1;
    r[i] = static_cast<uint8_t>(!a[0]->valid[i]);
  }
}
void is_nan_f(KernelContext&, const Slot* const* a, Slot& o, int64_t n) {
  ops::map1<double, uint8_t>(a, o, n, [](double x) { return static_cast<uint8_t>(std::isnan(x)); });
}
void is_nan_i(KernelContext&, const Slot* const* a, Slot& o, int64_t n) {
  ops::map1<int64_t, uint8_t>(a, o, n, [](int64_t) { return static_cast<uint8_t>(0); });
}
void fill_nan_k(KernelContext&, const Slot* const* a, Slot& o, int64_t n) {
  const double *x = a[0]->as<double>(), *y = a[1]->as<double>();
  double* r = o.as<double>();
  for (int64_t i = 0; i < n; ++i) {
    bool nan = std::isnan(x[i]);
    o.valid[i] = nan ? a[1]->valid[i] & a[0]->valid[i] : a[0]->valid[i];
    r[i] = nan ? y[i] : x[i];
  }
}

Result<Binding> resolve_is_null(const std::vector<DType>& args, const Params&) {
  DType t = args[0] == DType::kNull ? DType::kBool : args[0];
  return ops::bind({t}, DType::kBool, is_null_k);
}

Result<Binding> resolve_is_nan(const std::vector<DType>& args, const Params&) {
  switch (args[0]) {
    case DType::kNull:
    case DType::kFloat64: return ops::bind({DType::kFloat64}, DType::kBool, is_nan_f);
    case DType::kInt64: return ops::bind({DType::kInt64}, DType::kBool, is_nan_i);
    default: return ops::type_error("is_nan expects int64 or float64, got " + ops::type_list(args));
  }
}

Result<Binding> resolve_fill_nan(const std::vector<DType>& args, const Params&) {
  if (ops::numeric_common(args) == DType::kNull) {
    return ops::type_error("fill_nan expects numeric arguments, got " + ops::type_list(args));
  }
  return ops::bind({DType::kFloat64, DType::kFloat64}, DType::kFloat64, fill_nan_k);
}

}  // namespace

// Defined in control.cc: first non-null of `nargs` arguments (fill_null is coalesce of two).
KernelFn coalesce_kernel_n(DType t, int nargs);

namespace {

// a unless it is null or NaN, else b (float64 only; other types use coalesce).
void fill_missing_f(KernelContext&, const Slot* const* a, Slot& o, int64_t n) {
  const double *x = a[0]->as<double>(), *y = a[1]->as<double>();
  double* r = o.as<double>();
  for (int64_t i = 0; i < n; ++i) {
    bool present = a[0]->valid[i] && !std::isnan(x[i]);
    o.valid[i] = present ? 1 : a[1]->valid[i];
    r[i] = present ? x[i] : y[i];
  }
}

Result<Binding> resolve_fill_missing(const std::vector<DType>& args, const Params&) {
  DType t;
  if (!ops::unify(args, &t)) {
    return ops::type_error("arguments have incompatible types " + ops::type_list(args));
  }
  if (t == DType::kNull) t = DType::kFloat64;
  KernelFn k = t == DType::kFloat64 ? fill_missing_f : coalesce_kernel_n(t, 2);
  return ops::bind({t, t}, t, k);
}

Result<Binding> resolve_coalesce(const std::vector<DType>& args, const Params&) {
  DType t;
  if (!ops::unify(args, &t)) {
    return ops::type_error("arguments have incompatible types " + ops::type_list(args));
  }
  if (t == DType::kNull) t = DType::kFloat64;  // all-null: a float64 null
  KernelFn k = coalesce_kernel_n(t, static_cast<int>(args.size()));
  if (!k) return ops::type_error("coalesce takes 1 to 16 arguments, got " + std::to_string(args.size()));
  return ops::bind(std::vector<DType>(args.size(), t), t, k);
}

}  // namespace

void register_null_ops(Registry& r) {
  {
    OpDef d;
    d.name = "is_null";
    d.family = "nulls";
    d.signature = "is_null(a: any) -> bool";
    d.doc = "True where a is null (missing). Never null. NaN is not null: is_null(NaN) = false.";
    d.min_args = d.max_args = 1;
    d.resolve = resolve_is_null;
    r.add(d);
  }
  {
    OpDef d;
    d.name = "is_nan";
    d.family = "nulls";
    d.signature = "is_nan(a: int64|float64) -> bool";
    d.doc = "True where a is NaN; always false for int64. Null in, null out.";
    d.min_args = d.max_args = 1;
    d.resolve = resolve_is_nan;
    r.add(d);
  }
  {
    OpDef d;
    d.name = "fill_null";
    d.family = "nulls";
    d.signature = "fill_null(a: T, b: T) -> T";
    d.doc = "a where a is present, otherwise b (which may itself be null). Types unify like "
            "when/otherwise: int64 with float64 gives float64. NaN is not replaced.";
    d.min_args = d.max_args = 2;
    d.resolve = resolve_coalesce;
    r.add(d);
  }
  {
    OpDef d;
    d.name = "fill_nan";
    d.family = "nulls";
    d.signature = "fill_nan(a: float64, b: float64) -> float64";
    d.doc = "a where a is not NaN, otherwise b. A null a stays null (null is not NaN).";
    d.min_args = d.max_args = 2;
    d.resolve = resolve_fill_nan;
    r.add(d);
  }
  {
    OpDef d;
    d.name = "fill_missing";
    d.family = "nulls";
    d.signature = "fill_missing(a: T, b: T) -> T";
    d.doc = "a where a is present, otherwise b, where missing means null and, for float64, also "
            "NaN (what impute(value) and fitted impute use). Types unify like fill_null "
            "(int64 with float64 gives float64); b may itself be null or NaN.";
    d.min_args = d.max_args = 2;
    d.resolve = resolve_fill_missing;
    r.add(d);
  }
  {
    OpDef d;
    d.name = "coalesce";
    d.family = "nulls";
    d.signature = "coalesce(a: T, ...) -> T";
    d.doc = "The first argument that is not null, null if all are. Types unify (int64 with "
            "float64 gives float64). NaN counts as present.";
    d.min_args = 1;
    d.max_args = -1;
    d.resolve = resolve_coalesce;
    r.add(d);
  }
}

}  // namespace featureplat
