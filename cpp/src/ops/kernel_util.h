// Building blocks for kernels and signature resolution (internal to the core).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "featureplat/registry.h"
#include "featureplat/types.h"

namespace featureplat {
namespace ops {

inline Status type_error(const std::string& msg) { return Status(ErrorCode::kTypeError, msg); }
inline Status plan_error(const std::string& msg) { return Status(ErrorCode::kPlanError, msg); }

inline bool is_numeric(DType t) { return t == DType::kInt64 || t == DType::kFloat64; }

/// "int64, float64" style list for messages.
std::string type_list(const std::vector<DType>& ts);

/// Binding with `arg_types` read by `kernel` producing `out`.
inline Binding bind(std::vector<DType> arg_types, DType out, KernelFn kernel) {
  Binding b;
  b.arg_types = std::move(arg_types);
  b.out = out;
  b.kernel = kernel;
  return b;
}

/// An op with a fixed number of arguments (families add params or flags as needed).
inline OpDef op_def(const char* name, const char* family, const char* sig, const char* doc, int arity,
                    ResolveFn fn) {
  OpDef d;
  d.name = name;
  d.family = family;
  d.signature = sig;
  d.doc = doc;
  d.min_args = d.max_args = arity;
  d.resolve = fn;
  return d;
}

/// Common numeric promotion of argument types: all int64 (or null) -> int64, any
/// float64 -> float64, otherwise kNull (not numeric).
DType numeric_common(const std::vector<DType>& args);

/// Common type for value-unifying ops (when, coalesce, fill_null): equal types, null
/// adopts the other, int64 + float64 -> float64. False when the types conflict; all-null
/// arguments unify to kNull and the caller decides.
bool unify(const std::vector<DType>& args, DType* out);

/// Parameter accessors (params are validated against the ParamSpec before resolve).
const Scalar* param_scalar(const Params& p, const char* name);
const std::vector<Scalar>* param_list(const Params& p, const char* name);

// ---- elementwise loops -------------------------------------------------------------
// F receives values; results for null rows are computed on whatever payload the row
// holds (always a safe value), and marked null.

// Slots never alias (every step writes its own), so the loops promise the compiler that
// with __restrict; that lets plain arithmetic vectorise. Vector and scalar IEEE operations
// round identically, so this cannot make the batch and row paths differ.

template <typename A, typename O, typename F>
inline void map1(const Slot* const* args, Slot& out, int64_t n, F f) {
  const A* __restrict a = args[0]->as<A>();
  const uint8_t* __restrict va = args[0]->valid;
  O* __restrict o = out.as<O>();
  uint8_t* __restrict vo = out.valid;
  for (int64_t i = 0; i < n; ++i) {
    vo[i] = va[i];
    o[i] = f(a[i]);
  }
}

/// Like map1 but F returns false to make the row null: bool f(A, O*).
template <typename A, typename O, typename F>
inline void map1_nullable(const Slot* const* args, Slot& out, int64_t n, F f) {
  const A* __restrict a = args[0]->as<A>();
  const uint8_t* __restrict va = args[0]->valid;
  O* __restrict o = out.as<O>();
  uint8_t* __restrict vo = out.valid;
  for (int64_t i = 0; i < n; ++i) {
    O r{};
    bool ok = f(a[i], &r);
    vo[i] = static_cast<uint8_t>(va[i] & static_cast<uint8_t>(ok));
    o[i] = r;
  }
}

template <typename A, typename B, typename O, typename F>
inline void map2(const Slot* const* args, Slot& out, int64_t n, F f) {
  const A* __restrict a = args[0]->as<A>();
  const B* __restrict b = args[1]->as<B>();
  const uint8_t* __restrict va = args[0]->valid;
  const uint8_t* __restrict vb = args[1]->valid;
  O* __restrict o = out.as<O>();
  uint8_t* __restrict vo = out.valid;
  for (int64_t i = 0; i < n; ++i) {
    vo[i] = static_cast<uint8_t>(va[i] & vb[i]);
    o[i] = f(a[i], b[i]);
  }
}

/// bool f(A, B, O*): false makes the row null.
template <typename A, typename B, typename O, typename F>
inline void map2_nullable(const Slot* const* args, Slot& out, int64_t n, F f) {
  const A* __restrict a = args[0]->as<A>();
  const B* __restrict b = args[1]->as<B>();
  const uint8_t* __restrict va = args[0]->valid;
  const uint8_t* __restrict vb = args[1]->valid;
  O* __restrict o = out.as<O>();
  uint8_t* __restrict vo = out.valid;
  for (int64_t i = 0; i < n; ++i) {
    O r{};
    bool ok = f(a[i], b[i], &r);
    vo[i] = static_cast<uint8_t>(va[i] & vb[i] & static_cast<uint8_t>(ok));
    o[i] = r;
  }
}

inline StrView empty_view() { return StrView{"", 0}; }

/// Storage for a string of `bytes` bytes that a kernel computes for row `row`, or nullptr
/// when the string limits refuse it (the budget records why); the kernel then makes the
/// row null and the executor reports the refusal. Every kernel that makes a string asks
/// here first, before it allocates.
inline char* alloc_string(KernelContext& ctx, int64_t row, uint64_t bytes) {
  if (ctx.budget ? !ctx.budget->take(row, bytes) : bytes > kMaxStringBytes) return nullptr;
  return ctx.arena->alloc(static_cast<size_t>(bytes));
}

/// Copies `len` bytes into the arena as row `row`'s value: false when refused.
inline bool arena_copy(KernelContext& ctx, int64_t row, const char* p, size_t len, StrView* out) {
  char* dst = alloc_string(ctx, row, len);
  if (dst == nullptr) return false;
  if (len) std::memcpy(dst, p, len);
  *out = StrView{dst, static_cast<uint32_t>(len)};
  return true;
}

/// A string-making kernel body: for each present row, `make(i, &view)` computes the
/// value (false when the limits refuse it, which makes the row null); null rows get "".
template <typename Make>
inline void make_strings(const Slot* in, Slot& out, int64_t n, Make make) {
  StrView* o = out.as<StrView>();
  for (int64_t i = 0; i < n; ++i) {
    o[i] = empty_view();
    out.valid[i] = in->valid[i] && make(i, &o[i]) ? 1 : 0;
    if (!out.valid[i]) o[i] = empty_view();
  }
}

}  // namespace ops
}  // namespace featureplat
