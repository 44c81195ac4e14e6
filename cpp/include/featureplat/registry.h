// The one op registry: read by the binder (signatures), the executor (kernels) and
// Python (fp.ops(), the DSL coverage test). Each op's semantics are documented here,
// once, in its `doc` string.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "featureplat/status.h"
#include "featureplat/types.h"

namespace featureplat {

/// Op parameters by name.
using Params = std::map<std::string, Param>;

/// What a kernel may use besides its arguments.
struct KernelContext {
  StringArena* arena = nullptr;    ///< storage for strings the kernel creates
  const void* state = nullptr;     ///< the op's prepared state (lookup tables, parsed params)
  StringBudget* budget = nullptr;  ///< the string limits of this run (none: only kMaxStringBytes per value)
};

/// Computes `n` rows of one step: reads `args[k]`, writes `out` (values and validity).
/// Kernels are elementwise and branch only on the row's own values, so a result never
/// depends on `n`: the row path (n == 1) and the batch path run the same function.
using KernelFn = void (*)(KernelContext& ctx, const Slot* const* args, Slot& out, int64_t n);

/// The kind of value a parameter holds.
enum class ParamKind {
  kInt,         ///< one int64
  kNumber,      ///< one int64 or float64 (or null where the op allows it)
  kString,      ///< one string
  kDType,       ///< a dtype name string
  kScalar,      ///< one scalar of any type (or null)
  kNumberList,  ///< list of int64/float64
  kScalarList,  ///< list of scalars of any type
};

/// Declared parameter of an op.
struct ParamSpec {
  std::string name;  ///< key in Params
  ParamKind kind;    ///< expected kind
  bool required;     ///< missing required params are plan errors
};

/// Result of resolving an op against concrete argument types.
struct Binding {
  std::vector<DType> arg_types;        ///< the types the kernel reads; the compiler inserts casts to these
  DType out = DType::kNull;            ///< output type
  KernelFn kernel = nullptr;           ///< the kernel (null for structural ops: input, const)
  std::shared_ptr<const void> state;   ///< prepared parameters shared by all contexts
};

/// Resolves argument types and parameters to a binding, or explains why not.
using ResolveFn = Result<Binding> (*)(const std::vector<DType>& args, const Params& params);

/// One registered op.
struct OpDef {
  std::string name;       ///< plan op name
  std::string family;     ///< structural, arithmetic, comparison, logic, math, nulls, cast, string, temporal, encoding, control, fitted
  std::string signature;  ///< human-readable signature, e.g. "add(a: int64|float64, b) -> ..."
  std::string doc;        ///< semantics: nulls, NaN, overflow, division by zero, edge cases
  int min_args = 0;       ///< fewest arguments
  int max_args = 0;       ///< most arguments, -1 for variadic
  std::vector<ParamSpec> params;  ///< accepted parameters
  bool transcendental = false;    ///< result from libm; the reference allows 1 ulp
  ResolveFn resolve = nullptr;    ///< signature resolution
};

/// The process-wide registry, filled once in a fixed order.
class Registry {
 public:
  /// The registry with every op registered.
  static const Registry& Get();
  /// The op named `name`, or nullptr.
  const OpDef* find(const std::string& name) const;
  /// All ops in registration order.
  const std::vector<OpDef>& ops() const { return ops_; }
  /// Adds an op (registration functions only).
  void add(OpDef def);

 private:
  std::vector<OpDef> ops_;
  std::map<std::string, size_t> index_;
};

// Registration, one function per op family (cpp/src/ops/<family>.cc).
void register_structural_ops(Registry& r);
void register_arithmetic_ops(Registry& r);
void register_comparison_ops(Registry& r);
void register_logic_ops(Registry& r);
void register_math_ops(Registry& r);
void register_null_ops(Registry& r);
void register_control_ops(Registry& r);
void register_cast_ops(Registry& r);
void register_string_ops(Registry& r);
void register_temporal_ops(Registry& r);
void register_encoding_ops(Registry& r);
void register_fitted_ops(Registry& r);

/// Kernel of the cast op from `from` to `to` (used by the binder for implicit casts and
/// by input conversion), or nullptr when that cast does not exist.
KernelFn cast_kernel(DType from, DType to);

}  // namespace featureplat
