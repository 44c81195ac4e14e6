// Math functions. Transcendental ops call one C library function per element (never a
// vectorised approximation), so the batch and row paths round identically.
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "featureplat/registry.h"
#include "ops/kernel_util.h"

namespace featureplat {
namespace {

using ops::bind;

void log_k(KernelContext&, const Slot* const* a, Slot& o, int64_t n) {
  ops::map1<double, double>(a, o, n, [](double x) { return std::log(x); });
}
void log1p_k(KernelContext&, const Slot* const* a, Slot& o, int64_t n) {
  ops::map1<double, double>(a, o, n, [](double x) { return std::log1p(x); });
}
void exp_k(KernelContext&, const Slot* const* a, Slot& o, int64_t n) {
  ops::map1<double, double>(a, o, n, [](double x) { return std::exp(x); });
}
void sqrt_k(KernelContext&, const Slot* const* a, Slot& o, int64_t n) {
  ops::map1<double, double>(a, o, n, [](double x) { return std::sqrt(x); });
}
void floor_k(KernelContext&, const Slot* const* a, Slot& o, int64_t n) {
  ops::map1<double, double>(a, o, n, [](double x) { return std::floor(x); });
}
void ceil_k(KernelContext&, const Slot* const* a, Slot& o, int64_t n) {
  ops::map1<double, double>(a, o, n, [](double x) { return std::ceil(x); });
}
void identity_i(KernelContext&, const Slot* const* a, Slot& o, int64_t n) {
  ops::map1<int64_t, int64_t>(a, o, n, [](int64_t x) { return x; });
}
void sign_i(KernelContext&, const Slot* const* a, Slot& o, int64_t n) {
  ops::map1<int64_t, int64_t>(a, o, n, [](int64_t x) { return static_cast<int64_t>((x > 0) - (x < 0)); });
}
void sign_f(KernelContext&, const Slot* const* a, Slot& o, int64_t n) {
  ops::map1<double, double>(a, o, n, [](double x) { return x > 0 ? 1.0 : (x < 0 ? -1.0 : x); });
}

// Exact powers of ten (all representable in binary64 up to 1e22).
const double kPow10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8,
                         1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};

struct RoundState {
  int ndigits;
};

double round_half_even(double x, int nd) {
  if (nd >= 0) {
    double p = kPow10[nd];
    double y = x * p;
    if (!std::isfinite(y)) return x;  // too large to have digits at that place
    return std::nearbyint(y) / p;
  }
  double p = kPow10[-nd];
  return std::nearbyint(x / p) * p;
}

void round_f(KernelContext& ctx, const Slot* const* a, Slot& o, int64_t n) {
  int nd = static_cast<const RoundState*>(ctx.state)->ndigits;
  ops::map1<double, double>(a, o, n, [nd](double x) { return round_half_even(x, nd); });
}

void round_i(KernelContext& ctx, const Slot* const* a, Slot& o, int64_t n) {
  int nd = static_cast<const RoundState*>(ctx.state)->ndigits;
  if (nd >= 0) return identity_i(ctx, a, o, n);
  const int64_t p = static_cast<int64_t>(kPow10[-nd]);
  ops::map1_nullable<int64_t, int64_t>(a, o, n, [p](int64_t x, int64_t* r) {
    // Round half to even to a multiple of p, in integers.
    int64_t q = x / p, rem = x % p;  // truncating
    if (rem < 0) { q -= 1; rem += p; }  // now x = q*p + rem, 0 <= rem < p
    if (2 * rem > p || (2 * rem == p && (q & 1))) q += 1;
    return !__builtin_mul_overflow(q, p, r);
  });
}

struct ClipState {
  bool has_lo, has_hi;
  int64_t lo_i, hi_i;
  double lo_f, hi_f;
};

void clip_i(KernelContext& ctx, const Slot* const* a, Slot& o, int64_t n) {
  const auto* s = static_cast<const ClipState*>(ctx.state);
  ops::map1<int64_t, int64_t>(a, o, n, [s](int64_t x) {
    if (s->has_lo && x < s->lo_i) return s->lo_i;
    if (s->has_hi && x > s->hi_i) return s->hi_i;
    return x;
  });
}
void clip_f(KernelContext& ctx, const Slot* const* a, Slot& o, int64_t n) {
  const auto* s = static_cast<const ClipState*>(ctx.state);
  ops::map1<double, double>(a, o, n, [s](double x) {
    if (s->has_lo && x < s->lo_f) return s->lo_f;
    if (s->has_hi && x > s->hi_f) return s->hi_f;
    return x;
  });
}

template <KernelFn K>
Result<Binding> resolve_float1(const std::vector<DType>& args, const Params&) {
  if (ops::numeric_common(args) == DType::kNull) {
    return ops::type_error("expects an int64 or float64 argument, got " + ops::type_list(args));
  }
  return bind({DType::kFloat64}, DType::kFloat64, K);
}

template <KernelFn KF>
Result<Binding> resolve_keep_int(const std::vector<DType>& args, const Params&) {
  DType t = ops::numeric_common(args);
  if (t == DType::kNull) return ops::type_error("expects an int64 or float64 argument, got " + ops::type_list(args));
  if (t == DType::kInt64) return bind({t}, t, identity_i);
  return bind({t}, t, KF);
}

Result<Binding> resolve_sign(const std::vector<DType>& args, const Params&) {
  DType t = ops::numeric_common(args);
  if (t == DType::kNull) return ops::type_error("expects an int64 or float64 argument, got " + ops::type_list(args));
  return bind({t}, t, t == DType::kInt64 ? sign_i : sign_f);
}

Result<Binding> resolve_round(const std::vector<DType>& args, const Params& p) {
  DType t = ops::numeric_common(args);
  if (t == DType::kNull) return ops::type_error("expects an int64 or float64 argument, got " + ops::type_list(args));
  const Scalar* nd = ops::param_scalar(p, "ndigits");
  int64_t v = nd ? nd->i : 0;
  if (nd && (nd->type != DType::kInt64 || nd->is_null)) return ops::plan_error("round: ndigits must be an integer");
  if (v < -15 || v > 15) return ops::plan_error("round: ndigits must be within [-15, 15], got " + std::to_string(v));
  auto st = std::make_shared<RoundState>();
  st->ndigits = static_cast<int>(v);
  Binding b = bind({t}, t, t == DType::kInt64 ? round_i : round_f);
  b.state = st;
  return b;
}

Result<Binding> resolve_clip(const std::vector<DType>& args, const Params& p) {
  DType t = ops::numeric_common(args);
  if (t == DType::kNull) return ops::type_error("expects an int64 or float64 argument, got " + ops::type_list(args));
  const Scalar* lo = ops::param_scalar(p, "lo");
  const Scalar* hi = ops::param_scalar(p, "hi");
  auto st = std::make_shared<ClipState>();
  st->has_lo = lo && !lo->is_null;
  st->has_hi = hi && !hi->is_null;
  if (!st->has_lo && !st->has_hi) return ops::plan_error("clip: give lo, hi or both");
  bool float_bounds = (st->has_lo && lo->type == DType::kFloat64) || (st->has_hi && hi->type == DType::kFloat64);
  if (float_bounds) t = DType::kFloat64;
  auto as_f = [](const Scalar* s) { return s->type == DType::kFloat64 ? s->f : static_cast<double>(s->i); };
  if (st->has_lo) { st->lo_i = lo->i; st->lo_f = as_f(lo); }
  if (st->has_hi) { st->hi_i = hi->i; st->hi_f = as_f(hi); }
  if ((st->has_lo && std::isnan(st->lo_f)) || (st->has_hi && std::isnan(st->hi_f))) {
    return ops::plan_error("clip: bounds must not be NaN");
  }
  if (st->has_lo && st->has_hi && st->lo_f > st->hi_f) return ops::plan_error("clip: lo must be <= hi");
  Binding b = bind({t}, t, t == DType::kInt64 ? clip_i : clip_f);
  b.state = st;
  return b;
}

OpDef math(const char* name, const char* sig, const char* doc, ResolveFn fn, bool transcendental) {
  OpDef d = ops::op_def(name, "math", sig, doc, 1, fn);
  d.transcendental = transcendental;
  return d;
}

}  // namespace

void register_math_ops(Registry& r) {
  r.add(math("log", "log(a: int64|float64) -> float64",
             "Natural logarithm (C library log). log(0) = -inf, log(x < 0) = NaN, log(inf) = inf. "
             "Null in, null out.", resolve_float1<log_k>, true));
  r.add(math("log1p", "log1p(a: int64|float64) -> float64",
             "log(1 + a), accurate near zero (C library log1p). log1p(-1) = -inf, a < -1 gives "
             "NaN, log1p(-0.0) = -0.0. Null in, null out.", resolve_float1<log1p_k>, true));
  r.add(math("exp", "exp(a: int64|float64) -> float64",
             "e ** a (C library exp). Overflow gives inf, exp(-inf) = 0. Null in, null out.",
             resolve_float1<exp_k>, true));
  r.add(math("sqrt", "sqrt(a: int64|float64) -> float64",
             "Square root, correctly rounded (IEEE 754). sqrt(x < 0) = NaN, sqrt(-0.0) = -0.0. "
             "Null in, null out.", resolve_float1<sqrt_k>, false));
  r.add(math("floor", "floor(a: int64|float64) -> same",
             "Largest integer <= a. int64 is returned unchanged; float64 keeps +-inf, NaN and the "
             "sign of zero. Null in, null out.", resolve_keep_int<floor_k>, false));
  r.add(math("ceil", "ceil(a: int64|float64) -> same",
             "Smallest integer >= a. int64 is returned unchanged; float64 keeps +-inf, NaN and "
             "the sign of zero (ceil(-0.5) = -0.0). Null in, null out.", resolve_keep_int<ceil_k>, false));
  {
    OpDef d = math("round", "round(a: int64|float64, ndigits: int = 0) -> same",
                   "Round half to even at `ndigits` decimal places, -15 <= ndigits <= 15. float64: "
                   "nearbyint(a * 10^ndigits) / 10^ndigits (for ndigits < 0: nearbyint(a / "
                   "10^-ndigits) * 10^-ndigits) in binary64, so a tie is decided on the binary "
                   "product, not on the decimal string as Python's round does; a value too large "
                   "for the scaling (product not finite), inf and NaN are returned unchanged. "
                   "int64: unchanged for ndigits >= 0, else rounded half to even to a multiple "
                   "of 10^-ndigits, null on overflow. Null in, null out.",
                   resolve_round, false);
    d.params = {{"ndigits", ParamKind::kInt, false}};
    r.add(d);
  }
  r.add(math("sign", "sign(a: int64|float64) -> same",
             "-1, 0 or 1 by the sign of a. float64: 1.0 for a > 0, -1.0 for a < 0, otherwise a "
             "itself (so +-0.0 and NaN are kept). Null in, null out.", resolve_sign, false));
  {
    OpDef d = math("clip", "clip(a: int64|float64, lo: number|null, hi: number|null) -> int64|float64",
                   "Limits a to [lo, hi]: a < lo gives lo, a > hi gives hi, otherwise a (NaN stays "
                   "NaN; -0.0 is not < 0.0 so it is kept). A null bound is no bound. int64 stays "
                   "int64 when both bounds are integers, otherwise float64. lo > hi or a NaN bound "
                   "is a plan error. Null in, null out.",
                   resolve_clip, false);
    d.params = {{"lo", ParamKind::kNumber, false}, {"hi", ParamKind::kNumber, false}};
    r.add(d);
  }
}

}  // namespace featureplat
