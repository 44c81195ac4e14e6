// Boolean logic with Kleene (SQL) null semantics: a null is "unknown", so
// null & false = false and null | true = true.
#include "featureplat/registry.h"
#include "ops/kernel_util.h"

namespace featureplat {
namespace {

void and_k(KernelContext&, const Slot* const* a, Slot& o, int64_t n) {
  const uint8_t *x = a[0]->as<uint8_t>(), *y = a[1]->as<uint8_t>();
  const uint8_t *vx = a[0]->valid, *vy = a[1]->valid;
  uint8_t* r = o.as<uint8_t>();
  for (int64_t i = 0; i < n; ++i) {
    bool false_x = vx[i] && !x[i], false_y = vy[i] && !y[i];
    if (false_x || false_y) { o.valid[i] = 1; r[i] = 0; }
    else if (vx[i] && vy[i]) { o.valid[i] = 1; r[i] = 1; }
    else { o.valid[i] = 0; r[i] = 0; }
  }
}

void or_k(KernelContext&, const Slot* const* a, Slot& o, int64_t n) {
  const uint8_t *x = a[0]->as<uint8_t>(), *y = a[1]->as<uint8_t>();
  const uint8_t *vx = a[0]->valid, *vy = a[1]->valid;
  uint8_t* r = o.as<uint8_t>();
  for (int64_t i = 0; i < n; ++i) {
    bool true_x = vx[i] && x[i], true_y = vy[i] && y[i];
    if (true_x || true_y) { o.valid[i] = 1; r[i] = 1; }
    else if (vx[i] && vy[i]) { o.valid[i] = 1; r[i] = 0; }
    else { o.valid[i] = 0; r[i] = 0; }
  }
}

void not_k(KernelContext&, const Slot* const* a, Slot& o, int64_t n) {
  ops::map1<uint8_t, uint8_t>(a, o, n, [](uint8_t x) { return static_cast<uint8_t>(!x); });
}

Result<Binding> resolve_bool(const std::vector<DType>& args, const Params&, KernelFn k) {
  std::vector<DType> want(args.size(), DType::kBool);
  for (DType t : args) {
    if (t != DType::kBool && t != DType::kNull) {
      return ops::type_error("expects bool arguments, got " + ops::type_list(args) +
                             " (compare first, e.g. col('x') > 0)");
    }
  }
  return ops::bind(want, DType::kBool, k);
}
Result<Binding> resolve_and(const std::vector<DType>& a, const Params& p) { return resolve_bool(a, p, and_k); }
Result<Binding> resolve_or(const std::vector<DType>& a, const Params& p) { return resolve_bool(a, p, or_k); }
Result<Binding> resolve_not(const std::vector<DType>& a, const Params& p) { return resolve_bool(a, p, not_k); }

OpDef logic(const char* name, const char* sig, const char* doc, int arity, ResolveFn fn) {
  return ops::op_def(name, "logic", sig, doc, arity, fn);
}

}  // namespace

void register_logic_ops(Registry& r) {
  r.add(logic("and", "and(a: bool, b: bool) -> bool",
              "Logical and with Kleene logic: false if either side is false (even if the other "
              "is null), true if both are true, else null.", 2, resolve_and));
  r.add(logic("or", "or(a: bool, b: bool) -> bool",
              "Logical or with Kleene logic: true if either side is true (even if the other is "
              "null), false if both are false, else null.", 2, resolve_or));
  r.add(logic("not", "not(a: bool) -> bool", "Logical negation. Null in, null out.", 1, resolve_not));
}

}  // namespace featureplat
