// Type checking (strict binding of stored plans) and the compiler passes: explicit
// casts, constant folding through the kernels themselves, CSE and dead-step removal.
#include <array>
#include <cmath>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "featureplat/plan.h"
#include "featureplat/registry.h"
#include "ops/kernel_util.h"

namespace featureplat {
namespace {

std::string step_name(size_t i) { return "step " + std::to_string(i); }

bool kind_accepts(ParamKind kind, const Param& p) {
  auto scalar_ok = [&](const Scalar& s) {
    switch (kind) {
      case ParamKind::kInt: return s.type == DType::kInt64 && !s.is_null;
      case ParamKind::kNumber:
      case ParamKind::kNumberList:
        return s.is_null || s.type == DType::kInt64 || s.type == DType::kFloat64;
      case ParamKind::kString:
      case ParamKind::kDType: return s.type == DType::kString && !s.is_null;
      case ParamKind::kScalar:
      case ParamKind::kScalarList: return true;
    }
    return false;
  };
  bool want_list = kind == ParamKind::kNumberList || kind == ParamKind::kScalarList;
  if (p.is_list != want_list) return false;
  if (!p.is_list && p.values.size() != 1) return false;
  for (const Scalar& s : p.values) {
    if (!scalar_ok(s)) return false;
    if (kind == ParamKind::kNumberList && s.is_null) return false;
  }
  return true;
}

// The structural limits of plan.h for one step's arguments and parameters.
Status check_step_size(const PlanStep& st, size_t step) {
  if (st.args.size() > kMaxStepArgs) {
    return Status(ErrorCode::kPlanError, step_name(step) + ": " + std::to_string(st.args.size()) +
                                             " arguments, over the limit of " + std::to_string(kMaxStepArgs), step);
  }
  for (const auto& kv : st.params) {
    if (kv.second.values.size() > kMaxListParam) {
      return Status(ErrorCode::kPlanError, step_name(step) + ": parameter '" + kv.first + "' has " +
                                               std::to_string(kv.second.values.size()) +
                                               " elements, over the limit of " + std::to_string(kMaxListParam),
                    step);
    }
    for (const Scalar& v : kv.second.values) {
      if (v.type == DType::kString && v.s.size() > kMaxStringBytes) {
        return Status(ErrorCode::kPlanError, step_name(step) + ": parameter '" + kv.first + "' holds a string of " +
                                                 std::to_string(v.s.size()) + " bytes, over the limit of " +
                                                 std::to_string(kMaxStringBytes) + " bytes per string value",
                      step);
      }
    }
  }
  return Status::OK();
}

// The plan-level structural limits of plan.h.
Status check_plan_size(const PlanSpec& spec) {
  auto over = [](const char* what, size_t n, size_t limit) {
    return Status(ErrorCode::kPlanError, std::string("plan has ") + std::to_string(n) + " " + what +
                                             ", over the limit of " + std::to_string(limit));
  };
  if (spec.steps.size() > kMaxPlanSteps) return over("steps", spec.steps.size(), kMaxPlanSteps);
  if (spec.inputs.size() > kMaxPlanInputs) return over("inputs", spec.inputs.size(), kMaxPlanInputs);
  if (spec.outputs.size() > kMaxPlanOutputs) return over("outputs", spec.outputs.size(), kMaxPlanOutputs);
  size_t scalars = 0;
  for (const PlanStep& st : spec.steps) {
    for (const auto& kv : st.params) scalars += kv.second.values.size();
  }
  if (scalars > kMaxPlanScalars) return over("scalars", scalars, kMaxPlanScalars);
  return Status::OK();
}

Status check_params(const OpDef& def, const Params& params, size_t step) {
  for (const auto& kv : params) {
    const ParamSpec* spec = nullptr;
    for (const ParamSpec& ps : def.params) {
      if (ps.name == kv.first) spec = &ps;
    }
    if (!spec) {
      return Status(ErrorCode::kPlanError,
                    step_name(step) + ": op '" + def.name + "' has no parameter '" + kv.first + "'", step);
    }
    if (!kind_accepts(spec->kind, kv.second)) {
      return Status(ErrorCode::kPlanError,
                    step_name(step) + ": parameter '" + kv.first + "' of op '" + def.name + "' has the wrong kind", step);
    }
  }
  for (const ParamSpec& ps : def.params) {
    if (ps.required && !params.count(ps.name)) {
      return Status(ErrorCode::kPlanError,
                    step_name(step) + ": op '" + def.name + "' needs parameter '" + ps.name + "'", step);
    }
  }
  return Status::OK();
}

Status check_arity(const OpDef& def, size_t nargs, size_t step) {
  bool ok = static_cast<int>(nargs) >= def.min_args &&
            (def.max_args < 0 || static_cast<int>(nargs) <= def.max_args);
  if (ok) return Status::OK();
  std::string want = def.max_args < 0 ? "at least " + std::to_string(def.min_args)
                     : def.min_args == def.max_args ? std::to_string(def.min_args)
                     : std::to_string(def.min_args) + " to " + std::to_string(def.max_args);
  return Status(ErrorCode::kPlanError,
                step_name(step) + ": op '" + def.name + "' takes " + want + " arguments, got " + std::to_string(nargs), step);
}

Status with_step(const Status& st, const OpDef& def, size_t step) {
  return Status(st.code(), step_name(step) + ": " + def.name + ": " + st.message(), step);
}

// Validates the declared inputs.
Status check_inputs(const std::vector<PlanInput>& inputs) {
  std::set<std::string> seen;
  for (const PlanInput& in : inputs) {
    if (in.declared == DType::kNull) return Status(ErrorCode::kPlanError, "input '" + in.name + "' has no type");
    if (!seen.insert(in.name).second) return Status(ErrorCode::kPlanError, "input '" + in.name + "' is declared twice");
  }
  return Status::OK();
}

Status check_outputs(const std::vector<PlanOutput>& outputs, size_t nsteps) {
  std::set<std::string> seen;
  for (const PlanOutput& o : outputs) {
    if (o.step < 0 || static_cast<size_t>(o.step) >= nsteps) {
      return Status(ErrorCode::kPlanError, "output '" + o.name + "' refers to missing step " + std::to_string(o.step));
    }
    if (!seen.insert(o.name).second) return Status(ErrorCode::kPlanError, "output '" + o.name + "' is declared twice");
  }
  return Status::OK();
}

// A slot holding one row of `s` (storage in `buf`, which must outlive the slot).
Slot scalar_slot(const Scalar& s, DType physical, uint8_t* valid, unsigned char* buf) {
  Slot slot;
  slot.type = physical;
  slot.valid = valid;
  slot.data = buf;
  *valid = s.is_null ? 0 : 1;
  std::memset(buf, 0, 16);
  switch (physical) {
    case DType::kBool: buf[0] = s.b ? 1 : 0; break;
    case DType::kInt64:
    case DType::kTimestamp: std::memcpy(buf, &s.i, 8); break;
    case DType::kFloat64: std::memcpy(buf, &s.f, 8); break;
    case DType::kString: {
      StrView v{s.is_null ? "" : s.s.data(), static_cast<uint32_t>(s.is_null ? 0 : s.s.size())};
      std::memcpy(buf, &v, sizeof v);
      break;
    }
    default: break;
  }
  return slot;
}

Scalar slot_scalar(const Slot& slot) {
  if (!slot.valid[0]) return Scalar::Null(slot.type);
  switch (slot.type) {
    case DType::kBool: return Scalar::Bool(slot.as<uint8_t>()[0] != 0);
    case DType::kInt64: return Scalar::Int(slot.as<int64_t>()[0]);
    case DType::kTimestamp: return Scalar::Time(slot.as<int64_t>()[0]);
    case DType::kFloat64: return Scalar::Float(slot.as<double>()[0]);
    case DType::kString: {
      StrView v = slot.as<StrView>()[0];
      return Scalar::Str(std::string(v.ptr, v.len));
    }
    default: return Scalar::Null(slot.type);
  }
}

// Runs one kernel on constant arguments (constant folding uses the real kernels, so a
// folded plan computes exactly what the unfolded one would). False when the string limits
// refuse the result: the step is then left to run (and be refused, naming its feature).
bool fold(const Binding& b, const std::vector<const Scalar*>& args, Scalar* result) {
  size_t n = args.size();
  std::vector<uint8_t> valid(n + 1);
  std::vector<std::array<unsigned char, 16>> bufs(n + 1);
  std::vector<Slot> slots(n);
  std::vector<const Slot*> ptrs(n);
  for (size_t k = 0; k < n; ++k) {
    slots[k] = scalar_slot(*args[k], b.arg_types[k], &valid[k], bufs[k].data());
    ptrs[k] = &slots[k];
  }
  Slot out;
  out.type = b.out;
  out.valid = &valid[n];
  out.data = bufs[n].data();
  std::memset(out.data, 0, 16);
  StringArena arena;
  StringLimits limits;
  StringBudget budget(1);
  budget.start(1, &limits);
  KernelContext ctx;
  ctx.arena = &arena;
  ctx.state = b.state.get();
  ctx.budget = &budget;
  b.kernel(ctx, ptrs.data(), out, 1);
  if (budget.first_refusal().row >= 0 || budget.overflowed()) return false;
  *result = slot_scalar(out);
  return true;
}

std::string scalar_key(const Scalar& s) {
  std::string k = std::to_string(static_cast<int>(s.type)) + (s.is_null ? "n" : "v");
  if (s.is_null) return k;
  switch (s.type) {
    case DType::kBool: return k + (s.b ? "1" : "0");
    case DType::kFloat64: {
      uint64_t bits;
      std::memcpy(&bits, &s.f, 8);
      return k + std::to_string(bits);
    }
    case DType::kString: return k + std::to_string(s.s.size()) + ":" + s.s;
    default: return k + std::to_string(s.i);
  }
}

std::string step_key(const PlanStep& st) {
  std::string k = st.op + "(";
  for (int32_t a : st.args) k += std::to_string(a) + ",";
  k += ")";
  for (const auto& kv : st.params) {
    k += kv.first + (kv.second.is_list ? "=[" : "=");
    for (const Scalar& s : kv.second.values) k += scalar_key(s) + ";";
    k += "]";
  }
  return k;
}

const Scalar* const_value(const PlanStep& st) {
  if (st.op != "const") return nullptr;
  return ops::param_scalar(st.params, "value");
}

}  // namespace

Result<BoundPlan> bind_plan(const PlanSpec& spec) {
  const Registry& reg = Registry::Get();
  FP_RETURN_NOT_OK(check_plan_size(spec));
  FP_RETURN_NOT_OK(check_inputs(spec.inputs));
  BoundPlan bp;
  bp.inputs = spec.inputs;
  bp.outputs = spec.outputs;
  bp.steps.resize(spec.steps.size());
  for (size_t i = 0; i < spec.steps.size(); ++i) {
    const PlanStep& st = spec.steps[i];
    BoundStep& b = bp.steps[i];
    const OpDef* def = reg.find(st.op);
    if (!def) return Status(ErrorCode::kPlanError, step_name(i) + ": unknown op '" + st.op + "'", i);
    b.def = def;
    FP_RETURN_NOT_OK(check_step_size(st, i));
    FP_RETURN_NOT_OK(check_arity(*def, st.args.size(), i));
    FP_RETURN_NOT_OK(check_params(*def, st.params, i));
    std::vector<DType> types;
    for (int32_t a : st.args) {
      if (a < 0 || static_cast<size_t>(a) >= i) {
        return Status(ErrorCode::kPlanError, step_name(i) + ": argument refers to step " + std::to_string(a) +
                                                 ", which is not an earlier step", i);
      }
      types.push_back(bp.steps[a].out);
    }
    b.args = st.args;
    if (st.op == "input") {
      int64_t idx = ops::param_scalar(st.params, "index")->i;
      if (idx < 0 || static_cast<size_t>(idx) >= spec.inputs.size()) {
        return Status(ErrorCode::kPlanError, step_name(i) + ": input index " + std::to_string(idx) + " out of range", i);
      }
      b.input_index = static_cast<int32_t>(idx);
      b.out = physical_type(spec.inputs[idx].declared);
    } else if (st.op == "const") {
      b.constant = *ops::param_scalar(st.params, "value");
      if (b.constant.type == DType::kNull || b.constant.type == DType::kFloat32) {
        return Status(ErrorCode::kPlanError, step_name(i) + ": constant has no concrete type", i);
      }
      b.out = b.constant.type;
    } else {
      Result<Binding> r = def->resolve(types, st.params);
      if (!r.ok()) return with_step(r.status(), *def, i);
      const Binding& bd = r.value();
      if (bd.arg_types != types) {
        return Status(ErrorCode::kPlanError,
                      step_name(i) + ": " + def->name + " reads (" + ops::type_list(bd.arg_types) +
                          ") but its arguments are (" + ops::type_list(types) + "); the plan is missing a cast", i);
      }
      b.out = bd.out;
      b.kernel = bd.kernel;
      b.state = bd.state;
    }
    if (st.dtype != b.out) {
      return Status(ErrorCode::kPlanError,
                    step_name(i) + ": recorded type " + dtype_name(st.dtype) + " but " + st.op + " produces " +
                        dtype_name(b.out), i);
    }
  }
  FP_RETURN_NOT_OK(check_outputs(spec.outputs, spec.steps.size()));
  return bp;
}

Result<PlanSpec> optimize_plan(const PlanSpec& spec) {
  const Registry& reg = Registry::Get();
  FP_RETURN_NOT_OK(check_inputs(spec.inputs));
  PlanSpec out;
  out.inputs = spec.inputs;
  std::map<std::string, int32_t> seen;  // CSE: step key -> id
  std::vector<int32_t> remap(spec.steps.size(), -1);

  auto emit = [&](PlanStep st) -> int32_t {
    std::string key = step_key(st);
    auto it = seen.find(key);
    if (it != seen.end()) return it->second;
    int32_t id = static_cast<int32_t>(out.steps.size());
    out.steps.push_back(std::move(st));
    seen.emplace(std::move(key), id);
    return id;
  };
  auto make_const = [&](const Scalar& v) {
    PlanStep c;
    c.op = "const";
    c.params["value"].values = {v};
    c.dtype = v.type;
    return emit(c);
  };
  // Emits op over args with an already resolved binding, folding constants.
  auto emit_bound = [&](const std::string& op, const std::vector<int32_t>& args, const Params& params,
                        const Binding& bd) -> int32_t {
    std::vector<const Scalar*> consts;
    for (int32_t a : args) {
      const Scalar* v = const_value(out.steps[a]);
      if (!v) break;
      consts.push_back(v);
    }
    if (bd.kernel && !args.empty() && consts.size() == args.size()) {
      std::vector<Scalar> copies;
      copies.reserve(consts.size());
      for (const Scalar* c : consts) copies.push_back(*c);
      std::vector<const Scalar*> ptrs;
      for (const Scalar& c : copies) ptrs.push_back(&c);
      Scalar v;
      if (fold(bd, ptrs, &v)) {
        v.type = bd.out;
        return make_const(v);
      }
    }
    PlanStep st;
    st.op = op;
    st.args = args;
    st.params = params;
    st.dtype = bd.out;
    return emit(st);
  };
  auto cast_to = [&](int32_t arg, DType to) -> int32_t {
    PlanStep c;
    c.op = "cast";
    c.params["dtype"].values = {Scalar::Str(dtype_name(to))};
    Binding bd = ops::bind({out.steps[arg].dtype}, to, cast_kernel(out.steps[arg].dtype, to));
    return emit_bound("cast", {arg}, c.params, bd);
  };

  for (size_t i = 0; i < spec.steps.size(); ++i) {
    const PlanStep& st = spec.steps[i];
    const OpDef* def = reg.find(st.op);
    if (!def) return Status(ErrorCode::kPlanError, step_name(i) + ": unknown op '" + st.op + "'", i);
    FP_RETURN_NOT_OK(check_arity(*def, st.args.size(), i));
    FP_RETURN_NOT_OK(check_params(*def, st.params, i));
    std::vector<int32_t> args;
    std::vector<DType> types;
    for (int32_t a : st.args) {
      if (a < 0 || static_cast<size_t>(a) >= i) {
        return Status(ErrorCode::kPlanError, step_name(i) + ": argument refers to step " + std::to_string(a) +
                                                 ", which is not an earlier step", i);
      }
      args.push_back(remap[a]);
      types.push_back(out.steps[remap[a]].dtype);
    }
    if (st.op == "input") {
      int64_t idx = ops::param_scalar(st.params, "index")->i;
      if (idx < 0 || static_cast<size_t>(idx) >= spec.inputs.size()) {
        return Status(ErrorCode::kPlanError, step_name(i) + ": input index " + std::to_string(idx) + " out of range", i);
      }
      PlanStep s = st;
      s.dtype = physical_type(spec.inputs[idx].declared);
      remap[i] = emit(s);
      continue;
    }
    if (st.op == "const") {
      Scalar v = *ops::param_scalar(st.params, "value");
      if (v.type == DType::kFloat32) v.type = DType::kFloat64;
      remap[i] = make_const(v);
      continue;
    }
    Result<Binding> r = def->resolve(types, st.params);
    if (!r.ok()) return with_step(r.status(), *def, i);
    const Binding& bd = r.value();
    for (size_t k = 0; k < args.size(); ++k) {
      if (bd.arg_types[k] == types[k]) continue;
      bool implicit = types[k] == DType::kNull ||
                      (types[k] == DType::kInt64 && bd.arg_types[k] == DType::kFloat64);
      if (!implicit) {
        return Status(ErrorCode::kTypeError,
                      step_name(i) + ": " + def->name + ": argument " + std::to_string(k + 1) + " is " +
                          dtype_name(types[k]) + " but " + dtype_name(bd.arg_types[k]) + " is required",
                      i);
      }
      args[k] = cast_to(args[k], bd.arg_types[k]);
    }
    remap[i] = emit_bound(st.op, args, st.params, bd);
  }
  FP_RETURN_NOT_OK(check_outputs(spec.outputs, spec.steps.size()));

  // Outputs: an untyped null feature becomes a float64 null.
  std::vector<PlanOutput> outs = spec.outputs;
  for (PlanOutput& o : outs) {
    o.step = remap[o.step];
    if (out.steps[o.step].dtype == DType::kNull) o.step = cast_to(o.step, DType::kFloat64);
  }

  // Dead-step removal, keeping topological order.
  std::vector<char> live(out.steps.size(), 0);
  for (const PlanOutput& o : outs) live[o.step] = 1;
  for (size_t i = out.steps.size(); i-- > 0;) {
    if (!live[i]) continue;
    for (int32_t a : out.steps[i].args) live[a] = 1;
  }
  PlanSpec result;
  result.inputs = out.inputs;
  std::vector<int32_t> renum(out.steps.size(), -1);
  for (size_t i = 0; i < out.steps.size(); ++i) {
    if (!live[i]) continue;
    PlanStep s = out.steps[i];
    for (int32_t& a : s.args) a = renum[a];
    renum[i] = static_cast<int32_t>(result.steps.size());
    result.steps.push_back(std::move(s));
  }
  for (PlanOutput& o : outs) o.step = renum[o.step];
  result.outputs = outs;
  Result<BoundPlan> check = bind_plan(result);
  if (!check.ok()) {
    return Status(ErrorCode::kPlanError, "internal: optimized plan does not bind: " + check.status().message());
  }
  return result;
}

}  // namespace featureplat
