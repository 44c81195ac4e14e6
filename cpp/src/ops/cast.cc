// Explicit casts. The binder also uses them for the two implicit promotions
// (int64 -> float64 and untyped null -> any type).
#include <cmath>
#include <cstdint>
#include <string>

#include "featureplat/registry.h"
#include "featureplat/scalar_fns.h"
#include "ops/kernel_util.h"

namespace featureplat {
namespace {

// 2^63 as a double: the first float64 outside int64.
constexpr double kTwo63 = 9223372036854775808.0;

void copy8(KernelContext&, const Slot* const* a, Slot& o, int64_t n) {
  ops::map1<int64_t, int64_t>(a, o, n, [](int64_t x) { return x; });
}
void copy_f(KernelContext&, const Slot* const* a, Slot& o, int64_t n) {
  ops::map1<double, double>(a, o, n, [](double x) { return x; });
}
void copy_b(KernelContext&, const Slot* const* a, Slot& o, int64_t n) {
  ops::map1<uint8_t, uint8_t>(a, o, n, [](uint8_t x) { return x; });
}
void copy_s(KernelContext&, const Slot* const* a, Slot& o, int64_t n) {
  ops::map1<StrView, StrView>(a, o, n, [](StrView x) { return x; });
}
// Untyped null (physically an all-null bool slot) to any type: null rows.
template <typename T>
void null_to(KernelContext&, const Slot* const*, Slot& o, int64_t n) {
  T* r = o.as<T>();
  for (int64_t i = 0; i < n; ++i) {
    o.valid[i] = 0;
    r[i] = T{};
  }
}
void null_to_str(KernelContext&, const Slot* const*, Slot& o, int64_t n) {
  StrView* r = o.as<StrView>();
  for (int64_t i = 0; i < n; ++i) {
    o.valid[i] = 0;
    r[i] = ops::empty_view();
  }
}

void bool_to_int(KernelContext&, const Slot* const* a, Slot& o, int64_t n) {
  ops::map1<uint8_t, int64_t>(a, o, n, [](uint8_t x) { return static_cast<int64_t>(x != 0); });
}
void bool_to_float(KernelContext&, const Slot* const* a, Slot& o, int64_t n) {
  ops::map1<uint8_t, double>(a, o, n, [](uint8_t x) { return x ? 1.0 : 0.0; });
}
void bool_to_str(KernelContext&, const Slot* const* a, Slot& o, int64_t n) {
  ops::map1<uint8_t, StrView>(a, o, n, [](uint8_t x) { return x ? StrView{"true", 4} : StrView{"false", 5}; });
}
void int_to_float(KernelContext&, const Slot* const* a, Slot& o, int64_t n) {
  ops::map1<int64_t, double>(a, o, n, [](int64_t x) { return static_cast<double>(x); });
}
void int_to_bool(KernelContext&, const Slot* const* a, Slot& o, int64_t n) {
  ops::map1<int64_t, uint8_t>(a, o, n, [](int64_t x) { return static_cast<uint8_t>(x != 0); });
}
void int_to_str(KernelContext& ctx, const Slot* const* a, Slot& o, int64_t n) {
  const int64_t* x = a[0]->as<int64_t>();
  ops::make_strings(a[0], o, n, [&](int64_t i, StrView* out) {
    char buf[32];
    size_t len = scalar::format_int64(x[i], buf);
    return ops::arena_copy(ctx, i, buf, len, out);
  });
}
void float_to_int(KernelContext&, const Slot* const* a, Slot& o, int64_t n) {
  ops::map1_nullable<double, int64_t>(a, o, n, [](double x, int64_t* r) {
    // In range iff -2^63 <= trunc(x) < 2^63; NaN fails both comparisons.
    double t = std::trunc(x);
    if (!(t >= -kTwo63 && t < kTwo63)) { *r = 0; return false; }
    *r = static_cast<int64_t>(t);
    return true;
  });
}
void float_to_bool(KernelContext&, const Slot* const* a, Slot& o, int64_t n) {
  ops::map1<double, uint8_t>(a, o, n, [](double x) { return static_cast<uint8_t>(x != 0.0); });
}
void float_to_str(KernelContext& ctx, const Slot* const* a, Slot& o, int64_t n) {
  const double* x = a[0]->as<double>();
  ops::make_strings(a[0], o, n, [&](int64_t i, StrView* out) {
    char buf[48];
    size_t len = scalar::format_double_repr(x[i], buf);
    return ops::arena_copy(ctx, i, buf, len, out);
  });
}
void str_to_int(KernelContext&, const Slot* const* a, Slot& o, int64_t n) {
  ops::map1_nullable<StrView, int64_t>(a, o, n, [](StrView s, int64_t* r) {
    return scalar::parse_int64(s.ptr, s.len, r);
  });
}
void str_to_float(KernelContext&, const Slot* const* a, Slot& o, int64_t n) {
  ops::map1_nullable<StrView, double>(a, o, n, [](StrView s, double* r) {
    return scalar::parse_float64(s.ptr, s.len, r);
  });
}
void str_to_bool(KernelContext&, const Slot* const* a, Slot& o, int64_t n) {
  ops::map1_nullable<StrView, uint8_t>(a, o, n, [](StrView s, uint8_t* r) {
    bool v = false;
    bool ok = scalar::parse_bool(s.ptr, s.len, &v);
    *r = static_cast<uint8_t>(v);
    return ok;
  });
}
void ts_to_str(KernelContext& ctx, const Slot* const* a, Slot& o, int64_t n) {
  const int64_t* x = a[0]->as<int64_t>();
  ops::make_strings(a[0], o, n, [&](int64_t i, StrView* out) {
    char buf[48];
    size_t len = scalar::format_timestamp_iso(x[i], buf);
    return ops::arena_copy(ctx, i, buf, len, out);
  });
}

Result<Binding> resolve_cast(const std::vector<DType>& args, const Params& p) {
  const Scalar* d = ops::param_scalar(p, "dtype");
  DType to;
  if (!d || d->type != DType::kString || !dtype_from_name(d->s, &to) || to == DType::kNull ||
      to == DType::kFloat32) {
    return ops::plan_error("cast: dtype must be one of bool, int64, float64, string, timestamp");
  }
  KernelFn k = cast_kernel(args[0], to);
  if (!k) {
    return ops::type_error(std::string("cannot cast ") + dtype_name(args[0]) + " to " + dtype_name(to));
  }
  return ops::bind({args[0]}, to, k);
}

}  // namespace

KernelFn cast_kernel(DType from, DType to) {
  using D = DType;
  if (from == D::kNull) {
    switch (to) {
      case D::kBool: return null_to<uint8_t>;
      case D::kInt64:
      case D::kTimestamp: return null_to<int64_t>;
      case D::kFloat64: return null_to<double>;
      case D::kString: return null_to_str;
      default: return nullptr;
    }
  }
  if (from == to) {
    switch (to) {
      case D::kBool: return copy_b;
      case D::kInt64:
      case D::kTimestamp: return copy8;
      case D::kFloat64: return copy_f;
      case D::kString: return copy_s;
      default: return nullptr;
    }
  }
  switch (from) {
    case D::kBool:
      if (to == D::kInt64) return bool_to_int;
      if (to == D::kFloat64) return bool_to_float;
      if (to == D::kString) return bool_to_str;
      return nullptr;
    case D::kInt64:
      if (to == D::kFloat64) return int_to_float;
      if (to == D::kBool) return int_to_bool;
      if (to == D::kString) return int_to_str;
      if (to == D::kTimestamp) return copy8;
      return nullptr;
    case D::kFloat64:
      if (to == D::kInt64) return float_to_int;
      if (to == D::kBool) return float_to_bool;
      if (to == D::kString) return float_to_str;
      return nullptr;
    case D::kString:
      if (to == D::kInt64) return str_to_int;
      if (to == D::kFloat64) return str_to_float;
      if (to == D::kBool) return str_to_bool;
      return nullptr;
    case D::kTimestamp:
      if (to == D::kInt64) return copy8;
      if (to == D::kString) return ts_to_str;
      return nullptr;
    default:
      return nullptr;
  }
}

void register_cast_ops(Registry& r) {
  OpDef d;
  d.name = "cast";
  d.family = "cast";
  d.signature = "cast(a, dtype: bool|int64|float64|string|timestamp) -> dtype";
  d.doc =
      "Explicit conversion; null stays null. bool->int64/float64: 0/1; bool->string: "
      "'true'/'false'. int64->float64: nearest double (ties to even above 2^53); int64->bool: "
      "x != 0; int64->string: decimal; int64->timestamp: microseconds since the epoch. "
      "float64->int64: truncation toward zero, null for NaN, +-inf and values outside int64; "
      "float64->bool: x != 0 (NaN is true); float64->string: Python's repr (shortest "
      "round-trip: '0.1', '1e+16', 'nan', '-inf', '-0.0'). string->int64: exactly "
      "[+-]?[0-9]+, null when malformed or out of range; string->float64: decimal or "
      "scientific notation, 'inf', 'infinity', 'nan' (case-insensitive), correctly rounded, "
      "no whitespace or underscores, null when malformed; string->bool: 'true', 'false', "
      "'1', '0', else null. timestamp->int64: microseconds; timestamp->string: ISO 8601 "
      "'YYYY-MM-DDTHH:MM:SS.ffffffZ' (signed year outside 0..9999). Same type: unchanged.";
  d.min_args = d.max_args = 1;
  d.params = {{"dtype", ParamKind::kDType, true}};
  d.resolve = resolve_cast;
  r.add(d);
}

}  // namespace featureplat
