// Arithmetic: int64 arithmetic is checked (overflow -> null, never UB); float64 follows
// IEEE 754. Mixed int64/float64 arguments are promoted to float64 by an explicit cast.
#include <cmath>
#include <cstdint>
#include <limits>

#include "featureplat/registry.h"
#include "featureplat/scalar_fns.h"
#include "ops/kernel_util.h"

namespace featureplat {
namespace {

using ops::bind;
using ops::type_error;

// Python's float modulo: the result takes the divisor's sign.
double py_fmod(double a, double b) {
  double r = std::fmod(a, b);
  if (r != 0.0) {
    if ((b < 0) != (r < 0)) r += b;
  } else {
    r = std::copysign(0.0, b);
  }
  return r;
}

void add_i(KernelContext&, const Slot* const* a, Slot& o, int64_t n) {
  ops::map2_nullable<int64_t, int64_t, int64_t>(a, o, n, [](int64_t x, int64_t y, int64_t* r) {
    return !__builtin_add_overflow(x, y, r);
  });
}
void sub_i(KernelContext&, const Slot* const* a, Slot& o, int64_t n) {
  ops::map2_nullable<int64_t, int64_t, int64_t>(a, o, n, [](int64_t x, int64_t y, int64_t* r) {
    return !__builtin_sub_overflow(x, y, r);
  });
}
void mul_i(KernelContext&, const Slot* const* a, Slot& o, int64_t n) {
  ops::map2_nullable<int64_t, int64_t, int64_t>(a, o, n, [](int64_t x, int64_t y, int64_t* r) {
    return !__builtin_mul_overflow(x, y, r);
  });
}
void floordiv_i(KernelContext&, const Slot* const* a, Slot& o, int64_t n) {
  ops::map2_nullable<int64_t, int64_t, int64_t>(a, o, n, [](int64_t x, int64_t y, int64_t* r) {
    if (y == 0 || (x == std::numeric_limits<int64_t>::min() && y == -1)) { *r = 0; return false; }
    *r = scalar::floor_div(x, y);
    return true;
  });
}
void mod_i(KernelContext&, const Slot* const* a, Slot& o, int64_t n) {
  ops::map2_nullable<int64_t, int64_t, int64_t>(a, o, n, [](int64_t x, int64_t y, int64_t* r) {
    if (y == 0) { *r = 0; return false; }
    *r = scalar::floor_mod(x, y);
    return true;
  });
}
void add_f(KernelContext&, const Slot* const* a, Slot& o, int64_t n) {
  ops::map2<double, double, double>(a, o, n, [](double x, double y) { return x + y; });
}
void sub_f(KernelContext&, const Slot* const* a, Slot& o, int64_t n) {
  ops::map2<double, double, double>(a, o, n, [](double x, double y) { return x - y; });
}
void mul_f(KernelContext&, const Slot* const* a, Slot& o, int64_t n) {
  ops::map2<double, double, double>(a, o, n, [](double x, double y) { return x * y; });
}
void div_f(KernelContext&, const Slot* const* a, Slot& o, int64_t n) {
  ops::map2<double, double, double>(a, o, n, [](double x, double y) { return x / y; });
}
void floordiv_f(KernelContext&, const Slot* const* a, Slot& o, int64_t n) {
  ops::map2<double, double, double>(a, o, n, [](double x, double y) { return std::floor(x / y); });
}
void mod_f(KernelContext&, const Slot* const* a, Slot& o, int64_t n) {
  ops::map2<double, double, double>(a, o, n, [](double x, double y) { return py_fmod(x, y); });
}
void pow_f(KernelContext&, const Slot* const* a, Slot& o, int64_t n) {
  ops::map2<double, double, double>(a, o, n, [](double x, double y) { return std::pow(x, y); });
}
void neg_i(KernelContext&, const Slot* const* a, Slot& o, int64_t n) {
  ops::map1_nullable<int64_t, int64_t>(a, o, n, [](int64_t x, int64_t* r) {
    if (x == std::numeric_limits<int64_t>::min()) { *r = 0; return false; }
    *r = -x;
    return true;
  });
}
void neg_f(KernelContext&, const Slot* const* a, Slot& o, int64_t n) {
  ops::map1<double, double>(a, o, n, [](double x) { return -x; });
}
void abs_i(KernelContext&, const Slot* const* a, Slot& o, int64_t n) {
  ops::map1_nullable<int64_t, int64_t>(a, o, n, [](int64_t x, int64_t* r) {
    if (x == std::numeric_limits<int64_t>::min()) { *r = 0; return false; }
    *r = x < 0 ? -x : x;
    return true;
  });
}
void abs_f(KernelContext&, const Slot* const* a, Slot& o, int64_t n) {
  ops::map1<double, double>(a, o, n, [](double x) { return std::fabs(x); });
}

// Binary numeric op: int64 kernel when both sides are int64 (if it has one), else float64.
template <KernelFn KI, KernelFn KF>
Result<Binding> resolve_numeric2(const std::vector<DType>& args, const Params&) {
  DType t = ops::numeric_common(args);
  if (t == DType::kNull) return type_error("expects int64 or float64 arguments, got " + ops::type_list(args));
  if (t == DType::kInt64 && KI != nullptr) return bind({t, t}, t, KI);
  return bind({DType::kFloat64, DType::kFloat64}, DType::kFloat64, KF);
}

template <KernelFn KI, KernelFn KF>
Result<Binding> resolve_numeric1(const std::vector<DType>& args, const Params&) {
  DType t = ops::numeric_common(args);
  if (t == DType::kNull) return type_error("expects an int64 or float64 argument, got " + ops::type_list(args));
  if (t == DType::kInt64) return bind({t}, t, KI);
  return bind({t}, t, KF);
}

OpDef binary(const char* name, const char* sig, const char* doc, ResolveFn fn) {
  return ops::op_def(name, "arithmetic", sig, doc, 2, fn);
}

}  // namespace

void register_arithmetic_ops(Registry& r) {
  r.add(binary("add", "add(a: int64|float64, b: int64|float64) -> int64|float64",
               "a + b. int64 + int64 is int64 and null on overflow; otherwise both sides are "
               "float64 (int64 promoted) and IEEE 754 applies (inf - inf = NaN). Null in, null out.",
               resolve_numeric2<add_i, add_f>));
  r.add(binary("sub", "sub(a: int64|float64, b: int64|float64) -> int64|float64",
               "a - b. int64 - int64 is int64 and null on overflow; float64 follows IEEE 754. "
               "Null in, null out.",
               resolve_numeric2<sub_i, sub_f>));
  r.add(binary("mul", "mul(a: int64|float64, b: int64|float64) -> int64|float64",
               "a * b. int64 * int64 is int64 and null on overflow; float64 follows IEEE 754 "
               "(0 * inf = NaN). Null in, null out.",
               resolve_numeric2<mul_i, mul_f>));
  r.add(binary("div", "div(a: int64|float64, b: int64|float64) -> float64",
               "True division a / b, always float64 (int64 promoted, rounding to nearest for "
               "|x| > 2^53). IEEE 754: x / 0 = +-inf, 0 / 0 = NaN, sign of zero respected. "
               "Null in, null out.",
               resolve_numeric2<nullptr, div_f>));
  r.add(binary("floordiv", "floordiv(a: int64|float64, b: int64|float64) -> int64|float64",
               "Floor division (rounds toward -inf, like Python's //). int64: division by zero "
               "and INT64_MIN // -1 give null. float64: floor(a / b) of the IEEE quotient, so "
               "x // 0 = +-inf and 0 // 0 = NaN (Python raises instead; this may differ from "
               "Python's float // by one where a / b rounds up to an integer). Null in, null out.",
               resolve_numeric2<floordiv_i, floordiv_f>));
  r.add(binary("mod", "mod(a: int64|float64, b: int64|float64) -> int64|float64",
               "Modulo with the sign of the divisor (Python's %). int64: x % 0 is null, "
               "INT64_MIN % -1 = 0. float64: Python's float % computed from fmod (exact), a zero "
               "result takes b's sign; x % 0, inf % y and NaN give NaN. Null in, null out.",
               resolve_numeric2<mod_i, mod_f>));
  {
    OpDef d = binary("pow", "pow(a: int64|float64, b: int64|float64) -> float64",
                     "a ** b, always float64 via the C library pow (IEEE 754 special cases: "
                     "pow(x, 0) = 1 even for a quiet NaN, pow(0, -1) = inf, negative ** non-integer = "
                     "NaN, overflow = inf). Null in, null out.",
                     resolve_numeric2<nullptr, pow_f>);
    d.transcendental = true;
    r.add(d);
  }
  {
    OpDef d;
    d.name = "neg";
    d.family = "arithmetic";
    d.signature = "neg(a: int64|float64) -> int64|float64";
    d.doc = "-a. int64: -INT64_MIN is null. float64: flips the sign bit (-0.0 -> 0.0, NaN stays "
            "NaN). Null in, null out.";
    d.min_args = d.max_args = 1;
    d.resolve = resolve_numeric1<neg_i, neg_f>;
    r.add(d);
  }
  {
    OpDef d;
    d.name = "abs";
    d.family = "arithmetic";
    d.signature = "abs(a: int64|float64) -> int64|float64";
    d.doc = "|a|. int64: abs(INT64_MIN) is null. float64: clears the sign bit (abs(-0.0) = 0.0, "
            "abs(-inf) = inf, NaN stays NaN). Null in, null out.";
    d.min_args = d.max_args = 1;
    d.resolve = resolve_numeric1<abs_i, abs_f>;
    r.add(d);
  }
}

}  // namespace featureplat
