// Conditional selection.
#include <string>
#include <utility>

#include "featureplat/registry.h"
#include "ops/kernel_util.h"

namespace featureplat {
namespace {

template <typename T>
void coalesce_t(KernelContext&, const Slot* const* a, Slot& o, int64_t n, int64_t nargs) {
  T* r = o.as<T>();
  for (int64_t i = 0; i < n; ++i) {
    int64_t k = 0;
    while (k + 1 < nargs && !a[k]->valid[i]) ++k;
    o.valid[i] = a[k]->valid[i];
    r[i] = a[k]->as<T>()[i];
  }
}

// The argument count is not passed to kernels, so variadic arity is encoded in the kernel.
template <typename T, int N>
void coalesce_n(KernelContext& c, const Slot* const* a, Slot& o, int64_t n) {
  coalesce_t<T>(c, a, o, n, N);
}

template <typename T>
void if_else_k(KernelContext&, const Slot* const* a, Slot& o, int64_t n) {
  const uint8_t* c = a[0]->as<uint8_t>();
  const uint8_t* vc = a[0]->valid;
  const T* x = a[1]->as<T>();
  const T* y = a[2]->as<T>();
  T* r = o.as<T>();
  for (int64_t i = 0; i < n; ++i) {
    bool take = vc[i] && c[i];
    o.valid[i] = take ? a[1]->valid[i] : a[2]->valid[i];
    r[i] = take ? x[i] : y[i];
  }
}

KernelFn if_else_kernel(DType t) {
  switch (t) {
    case DType::kBool: return if_else_k<uint8_t>;
    case DType::kInt64:
    case DType::kTimestamp: return if_else_k<int64_t>;
    case DType::kFloat64: return if_else_k<double>;
    case DType::kString: return if_else_k<StrView>;
    default: return nullptr;
  }
}

Result<Binding> resolve_if_else(const std::vector<DType>& args, const Params&) {
  if (args[0] != DType::kBool && args[0] != DType::kNull) {
    return ops::type_error("when(...) condition must be bool, got " + std::string(dtype_name(args[0])));
  }
  DType t;
  if (!ops::unify({args[1], args[2]}, &t)) {
    return ops::type_error("then/otherwise branches have incompatible types " +
                           ops::type_list({args[1], args[2]}));
  }
  if (t == DType::kNull) t = DType::kFloat64;
  return ops::bind({DType::kBool, t, t}, t, if_else_kernel(t));
}

}  // namespace

constexpr int kMaxCoalesce = 16;

template <typename T, int... Is>
KernelFn coalesce_for(int nargs, std::integer_sequence<int, Is...>) {
  static const KernelFn table[] = {coalesce_n<T, Is + 1>...};
  return table[nargs - 1];
}

// Kernel for coalesce over `nargs` arguments of physical type `t`; nullptr if unsupported.
KernelFn coalesce_kernel_n(DType t, int nargs) {
  if (nargs < 1 || nargs > kMaxCoalesce) return nullptr;
  auto seq = std::make_integer_sequence<int, kMaxCoalesce>();
  switch (t) {
    case DType::kBool: return coalesce_for<uint8_t>(nargs, seq);
    case DType::kInt64:
    case DType::kTimestamp: return coalesce_for<int64_t>(nargs, seq);
    case DType::kFloat64: return coalesce_for<double>(nargs, seq);
    case DType::kString: return coalesce_for<StrView>(nargs, seq);
    default: return nullptr;
  }
}

void register_control_ops(Registry& r) {
  OpDef d;
  d.name = "if_else";
  d.family = "control";
  d.signature = "if_else(cond: bool, then: T, otherwise: T) -> T";
  d.doc = "when(cond).then(a).otherwise(b): a where cond is true, b where cond is false or "
          "null (SQL CASE semantics). Branch types unify: int64 with float64 gives float64, an "
          "untyped null takes the other branch's type. Without otherwise, b is null.";
  d.min_args = d.max_args = 3;
  d.resolve = resolve_if_else;
  r.add(d);
}

}  // namespace featureplat
