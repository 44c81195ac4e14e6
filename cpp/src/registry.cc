#include "featureplat/registry.h"

#include <cstdio>

#include "ops/kernel_util.h"

namespace featureplat {

const char* dtype_name(DType t) {
  switch (t) {
    case DType::kNull: return "null";
    case DType::kBool: return "bool";
    case DType::kInt64: return "int64";
    case DType::kFloat64: return "float64";
    case DType::kString: return "string";
    case DType::kTimestamp: return "timestamp";
    case DType::kFloat32: return "float32";
  }
  return "?";
}

bool dtype_from_name(const std::string& name, DType* out) {
  static const DType all[] = {DType::kNull, DType::kBool, DType::kInt64, DType::kFloat64,
                              DType::kString, DType::kTimestamp, DType::kFloat32};
  for (DType t : all) {
    if (name == dtype_name(t)) {
      *out = t;
      return true;
    }
  }
  return false;
}

const Registry& Registry::Get() {
  // Fixed registration order: the order of fp.ops() and of the parity test.
  static const Registry* registry = [] {
    auto* r = new Registry();
    register_structural_ops(*r);
    register_arithmetic_ops(*r);
    register_comparison_ops(*r);
    register_logic_ops(*r);
    register_math_ops(*r);
    register_null_ops(*r);
    register_control_ops(*r);
    register_cast_ops(*r);
    register_string_ops(*r);
    register_temporal_ops(*r);
    register_encoding_ops(*r);
    register_fitted_ops(*r);
    return r;
  }();
  return *registry;
}

const OpDef* Registry::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &ops_[it->second];
}

void Registry::add(OpDef def) {
  if (index_.count(def.name)) {
    std::fprintf(stderr, "featureplat: op %s registered twice\n", def.name.c_str());
    std::abort();
  }
  index_[def.name] = ops_.size();
  ops_.push_back(std::move(def));
}

namespace ops {

std::string type_list(const std::vector<DType>& ts) {
  std::string s;
  for (size_t i = 0; i < ts.size(); ++i) {
    if (i) s += ", ";
    s += dtype_name(ts[i]);
  }
  return s;
}

DType numeric_common(const std::vector<DType>& args) {
  bool any_float = false;
  for (DType t : args) {
    if (t == DType::kFloat64) any_float = true;
    else if (t != DType::kInt64 && t != DType::kNull) return DType::kNull;
  }
  return any_float ? DType::kFloat64 : DType::kInt64;
}

bool unify(const std::vector<DType>& args, DType* out) {
  DType acc = DType::kNull;
  for (DType t : args) {
    if (t == DType::kNull || t == acc) continue;
    if (acc == DType::kNull) { acc = t; continue; }
    if (is_numeric(acc) && is_numeric(t)) { acc = DType::kFloat64; continue; }
    return false;
  }
  *out = acc;
  return true;
}

const Scalar* param_scalar(const Params& p, const char* name) {
  auto it = p.find(name);
  if (it == p.end() || it->second.is_list || it->second.values.size() != 1) return nullptr;
  return &it->second.values[0];
}

const std::vector<Scalar>* param_list(const Params& p, const char* name) {
  auto it = p.find(name);
  if (it == p.end() || !it->second.is_list) return nullptr;
  return &it->second.values;
}

}  // namespace ops
}  // namespace featureplat
