// The plan: typed inputs, a flat topologically ordered list of steps, named outputs.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "featureplat/registry.h"
#include "featureplat/status.h"
#include "featureplat/types.h"

namespace featureplat {

/// Format version of the plan. Bump on any change to what a plan file means.
constexpr int kPlanFormatVersion = 3;

// Structural limits of a plan (README "Limits"), checked when a plan is bound and, from
// the same constants, by the Python loader before it looks inside a step: a plan file of
// 64 MiB cannot demand unbounded memory or time to load and run.
/// Most steps a plan may have. Each step costs chunk-sized scratch per worker thread, so a
/// hostile plan file must not be able to demand unbounded memory.
constexpr size_t kMaxPlanSteps = 20000;
/// Most declared inputs of a plan.
constexpr size_t kMaxPlanInputs = 20000;
/// Most outputs (features) of a plan.
constexpr size_t kMaxPlanOutputs = 20000;
/// Most arguments of one step (variadic ops such as str_concat).
constexpr size_t kMaxStepArgs = 1024;
/// Most elements of one list parameter (map keys, map values, bucket boundaries): a map
/// of this many keys and values is as large as a plan's scalars may be together.
constexpr size_t kMaxListParam = 500000;
/// Most scalars (constants and parameter values) of all steps together. The loader
/// counts the scalars of the whole file, fitted statistics included, against it before it
/// parses anything.
constexpr size_t kMaxPlanScalars = 1000000;

/// A declared, typed plan input.
struct PlanInput {
  std::string name;  ///< column / request field name
  DType declared;    ///< declared type; data is converted to it on both paths
};

/// One step as written in a plan: op name, argument step ids, parameters.
struct PlanStep {
  std::string op;             ///< registered op name
  std::vector<int32_t> args;  ///< ids of earlier steps
  Params params;              ///< literal parameters
  DType dtype = DType::kNull; ///< output type recorded by the compiler (checked on load)
};

/// A named output feature.
struct PlanOutput {
  std::string name;  ///< feature name
  int32_t step;      ///< step id producing it
};

/// A plan as data.
struct PlanSpec {
  std::vector<PlanInput> inputs;   ///< declared inputs
  std::vector<PlanStep> steps;     ///< topologically ordered steps
  std::vector<PlanOutput> outputs; ///< output features
};

/// A step resolved against the registry.
struct BoundStep {
  const OpDef* def = nullptr;          ///< the op
  std::vector<int32_t> args;           ///< argument step ids
  DType out = DType::kNull;            ///< output type
  KernelFn kernel = nullptr;           ///< kernel (null for input/const)
  std::shared_ptr<const void> state;   ///< prepared parameters
  int32_t input_index = -1;            ///< for op "input": which declared input
  Scalar constant;                     ///< for op "const": the value
};

/// A plan ready to execute.
struct BoundPlan {
  std::vector<PlanInput> inputs;    ///< declared inputs
  std::vector<BoundStep> steps;     ///< resolved steps
  std::vector<PlanOutput> outputs;  ///< outputs
};

/// The physical type a declared input has inside the executor.
inline DType physical_type(DType declared) {
  return declared == DType::kFloat32 ? DType::kFloat64 : declared;
}

/// Strict binding of a stored plan: every step must resolve with exactly the argument
/// types it is given (no implicit casts) and produce its recorded dtype. Errors carry the
/// offending step id in Status::index().
Result<BoundPlan> bind_plan(const PlanSpec& spec);

/// Compiler passes over a freshly lowered plan: implicit casts made explicit, constant
/// folding (through the same kernels), common-subexpression elimination and removal of
/// unused steps. The result binds strictly. Type errors carry the offending step id of
/// the input spec.
Result<PlanSpec> optimize_plan(const PlanSpec& spec);

}  // namespace featureplat
