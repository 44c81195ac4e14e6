// Comparisons: numeric (int64 vs float64 compares as float64), string (bytewise, which
// is code point order for UTF-8), bool (false < true) and timestamp. IEEE 754 for NaN.
#include <cstring>

#include "featureplat/registry.h"
#include "ops/kernel_util.h"

namespace featureplat {
namespace {

int compare_str(const StrView& a, const StrView& b) {
  size_t n = a.len < b.len ? a.len : b.len;
  int c = n ? std::memcmp(a.ptr, b.ptr, n) : 0;
  if (c != 0) return c < 0 ? -1 : 1;
  return a.len < b.len ? -1 : (a.len > b.len ? 1 : 0);
}

struct Eq { template <class T> bool operator()(T a, T b) const { return a == b; } };
struct Ne { template <class T> bool operator()(T a, T b) const { return a != b; } };
struct Lt { template <class T> bool operator()(T a, T b) const { return a < b; } };
struct Le { template <class T> bool operator()(T a, T b) const { return a <= b; } };
struct Gt { template <class T> bool operator()(T a, T b) const { return a > b; } };
struct Ge { template <class T> bool operator()(T a, T b) const { return a >= b; } };

template <class T, class Cmp>
void cmp_kernel(KernelContext&, const Slot* const* a, Slot& o, int64_t n) {
  ops::map2<T, T, uint8_t>(a, o, n, [](T x, T y) { return static_cast<uint8_t>(Cmp()(x, y)); });
}

template <class Cmp>
void cmp_str_kernel(KernelContext&, const Slot* const* a, Slot& o, int64_t n) {
  ops::map2<StrView, StrView, uint8_t>(a, o, n, [](StrView x, StrView y) {
    return static_cast<uint8_t>(Cmp()(compare_str(x, y), 0));
  });
}

template <class Cmp>
Result<Binding> resolve_cmp(const std::vector<DType>& args, const Params&) {
  DType t;
  if (!ops::unify(args, &t)) {
    return ops::type_error("cannot compare " + ops::type_list(args) + "; cast one side explicitly");
  }
  switch (t) {
    case DType::kNull:  // both untyped nulls: compare as int64 (always null)
    case DType::kInt64: return ops::bind({DType::kInt64, DType::kInt64}, DType::kBool, cmp_kernel<int64_t, Cmp>);
    case DType::kFloat64: return ops::bind({t, t}, DType::kBool, cmp_kernel<double, Cmp>);
    case DType::kTimestamp: return ops::bind({t, t}, DType::kBool, cmp_kernel<int64_t, Cmp>);
    case DType::kBool: return ops::bind({t, t}, DType::kBool, cmp_kernel<uint8_t, Cmp>);
    case DType::kString: return ops::bind({t, t}, DType::kBool, cmp_str_kernel<Cmp>);
    default: return ops::type_error("cannot compare " + ops::type_list(args));
  }
}

void add_cmp(Registry& r, const char* name, const char* sym, ResolveFn fn) {
  OpDef d;
  d.name = name;
  d.family = "comparison";
  d.signature = std::string(name) + "(a, b) -> bool";
  d.doc = std::string("a ") + sym +
          " b. Both sides must have one type (int64 and float64 compare as float64; an int64 "
          "above 2^53 is rounded first). Strings compare bytewise (Unicode code point order), "
          "false < true, timestamps by instant. NaN compares unequal to everything, itself "
          "included (IEEE 754), and -0.0 == 0.0. Null in, null out.";
  d.min_args = d.max_args = 2;
  d.resolve = fn;
  r.add(d);
}

}  // namespace

void register_comparison_ops(Registry& r) {
  add_cmp(r, "eq", "==", resolve_cmp<Eq>);
  add_cmp(r, "ne", "!=", resolve_cmp<Ne>);
  add_cmp(r, "lt", "<", resolve_cmp<Lt>);
  add_cmp(r, "le", "<=", resolve_cmp<Le>);
  add_cmp(r, "gt", ">", resolve_cmp<Gt>);
  add_cmp(r, "ge", ">=", resolve_cmp<Ge>);
}

}  // namespace featureplat
