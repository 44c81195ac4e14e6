// The fitted-transform rules (the rewrite table is in fit_rewrite.h). The fit driver
// (featureplat/plan/fit.py) only moves data between these functions and the analyzers.
//
// The level-by-level structure, the order ready steps are found in and the order plans
// are lowered in reproduce the fit that used to run over Python expression trees, so a
// fitted plan, its statistics and its hash are the same as the ones it produced.
#include "featureplat/fit_rewrite.h"

#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "ops/kernel_util.h"

namespace featureplat {
namespace {

Status plan_error(const std::string& msg) { return Status(ErrorCode::kPlanError, msg); }
Status internal_error(const std::string& msg) { return plan_error("internal: fit: " + msg); }

// A name as Python's repr() writes it (the messages name features the way the DSL user
// wrote them); bytes beyond ASCII are kept as they are.
std::string quoted(const std::string& s) {
  const bool has_single = s.find('\'') != std::string::npos;
  const bool has_double = s.find('"') != std::string::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  std::string out(1, quote);
  for (char c : s) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (c == quote || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (u < 0x20 || u == 0x7f) {
      char esc[8];
      std::snprintf(esc, sizeof esc, "\\x%02x", u);
      out += esc;
    } else {
      out += c;
    }
  }
  out += quote;
  return out;
}

std::string features_text(const std::vector<std::string>& features) {
  std::string out = "feature ";
  for (size_t i = 0; i < features.size(); ++i) out += (i ? ", " : "") + quoted(features[i]);
  return out;
}

Param single(Scalar v) {
  Param p;
  p.values.push_back(std::move(v));
  return p;
}

Param list_of(std::vector<Scalar> vs) {
  Param p;
  p.is_list = true;
  p.values = std::move(vs);
  return p;
}

// A parameter's value, or nullptr when it is missing or null (then the op's default holds).
const Scalar* given(const Params& p, const char* name) {
  const Scalar* s = ops::param_scalar(p, name);
  return s && !s->is_null ? s : nullptr;
}

bool is_fitted_op(const std::string& op) {
  const OpDef* def = Registry::Get().find(op);
  return def && def->family == "fitted";
}

// ---- the expression graph ------------------------------------------------------------

// The plan's steps as an expression graph: node i < plan size is step i; rewriting
// appends nodes, whose arguments are always earlier nodes. origin[node] is the plan step
// a node is or rebuilds over new arguments, -1 for a node the rewrite created.
struct Graph {
  std::vector<PlanStep> nodes;
  std::vector<int32_t> origin;

  explicit Graph(const std::vector<PlanStep>& steps) : nodes(steps) {
    for (size_t i = 0; i < steps.size(); ++i) origin.push_back(static_cast<int32_t>(i));
  }
  int32_t add(std::string op, std::vector<int32_t> args, Params params = {}, int32_t from = -1) {
    PlanStep st;
    st.op = std::move(op);
    st.args = std::move(args);
    st.params = std::move(params);
    nodes.push_back(std::move(st));
    origin.push_back(from);
    return static_cast<int32_t>(nodes.size() - 1);
  }
  int32_t constant(Scalar v) {
    Params p;
    p["value"] = single(std::move(v));
    return add("const", {}, std::move(p));
  }
};

// The type a step produces given its arguments' types (the plans here need no implicit
// casts: every rewrite produces its fitted op's type from arguments of the right types).
Result<DType> step_type(const PlanStep& st, const std::vector<DType>& args, const std::vector<PlanInput>& inputs) {
  if (st.op == "input") {
    const Scalar* idx = ops::param_scalar(st.params, "index");
    if (!idx || idx->type != DType::kInt64 || idx->i < 0 || static_cast<size_t>(idx->i) >= inputs.size()) {
      return internal_error("input step without a valid index");
    }
    return physical_type(inputs[static_cast<size_t>(idx->i)].declared);
  }
  if (st.op == "const") {
    const Scalar* v = ops::param_scalar(st.params, "value");
    if (!v) return internal_error("const step without a value");
    return v->type;
  }
  const OpDef* def = Registry::Get().find(st.op);
  if (!def) return internal_error("unknown op '" + st.op + "'");
  Result<Binding> b = def->resolve(args, st.params);
  if (!b.ok()) return internal_error(st.op + ": " + b.status().message());
  return b.value().out;
}

// Lowers the nodes reachable from `outputs` into plan steps the way the compiler lowers
// expressions: outputs in order, depth first, arguments left to right, each node once.
// `from`, when given, receives the node each step was lowered from.
Result<PlanSpec> lower(const std::vector<PlanStep>& nodes, const std::vector<PlanInput>& inputs,
                       const std::vector<PlanOutput>& outputs, std::vector<int32_t>* from = nullptr) {
  PlanSpec out;
  out.inputs = inputs;
  std::vector<int32_t> id(nodes.size(), -1);
  std::vector<std::pair<int32_t, size_t>> stack;  // node, next argument to visit
  for (const PlanOutput& o : outputs) {
    if (id[o.step] >= 0) continue;
    stack.emplace_back(o.step, 0);
    while (!stack.empty()) {
      const int32_t node = stack.back().first;
      const std::vector<int32_t>& args = nodes[node].args;
      if (stack.back().second < args.size()) {
        const int32_t a = args[stack.back().second++];
        if (id[a] < 0) stack.emplace_back(a, 0);
        continue;
      }
      stack.pop_back();
      PlanStep st = nodes[node];
      std::vector<DType> types;
      for (int32_t& a : st.args) {
        a = id[a];
        types.push_back(out.steps[a].dtype);
      }
      Result<DType> t = step_type(st, types, inputs);
      if (!t.ok()) return t.status();
      st.dtype = t.value();
      id[node] = static_cast<int32_t>(out.steps.size());
      out.steps.push_back(std::move(st));
      if (from) from->push_back(node);
    }
  }
  for (const PlanOutput& o : outputs) out.outputs.push_back({o.name, id[o.step]});
  return out;
}

// ---- which steps are ready -----------------------------------------------------------

struct Survey {
  std::vector<char> fitted;      // step i is a fitted op
  std::vector<char> holds;       // step i is or has below it a fitted op
  std::vector<ReadyStep> ready;  // step and features filled in
};

// The plan must bind (so every step, parameter and type is as the registry says), one_hot
// must be a whole feature expression, and the ready steps are found in the order of
// first use: outputs in order, each walked depth first with arguments before users.
Result<Survey> survey(const PlanSpec& plan, const StepDescriber& describe) {
  Result<BoundPlan> bound = bind_plan(plan);
  if (!bound.ok()) return bound.status();
  const size_t n = plan.steps.size();
  Survey s;
  s.fitted.assign(n, 0);
  s.holds.assign(n, 0);
  std::vector<char> one_hot_below(n, 0);
  for (size_t i = 0; i < n; ++i) {
    const PlanStep& st = plan.steps[i];
    s.fitted[i] = is_fitted_op(st.op);
    s.holds[i] = s.fitted[i];
    for (int32_t a : st.args) {
      s.holds[i] |= s.holds[a];
      one_hot_below[i] |= static_cast<char>(one_hot_below[a] || plan.steps[a].op == "one_hot");
    }
  }
  for (const PlanOutput& o : plan.outputs) {
    if (one_hot_below[o.step]) {
      return plan_error("feature " + quoted(o.name) + ": one_hot must be the whole feature expression, not part of " +
                        describe(o.step));
    }
  }
  std::vector<int32_t> seen(n, -1);  // the output whose walk has visited the step
  std::vector<int32_t> ready_index(n, -1);
  std::vector<std::pair<int32_t, size_t>> stack;
  for (size_t oi = 0; oi < plan.outputs.size(); ++oi) {
    const int32_t root = plan.outputs[oi].step;
    if (!s.holds[root]) continue;
    const int32_t walk = static_cast<int32_t>(oi);
    seen[root] = walk;
    stack.emplace_back(root, 0);
    while (!stack.empty()) {
      const int32_t node = stack.back().first;
      const std::vector<int32_t>& args = plan.steps[node].args;
      if (stack.back().second < args.size()) {
        // Steps without a fitted op below them cannot be ready and hide none that is.
        const int32_t a = args[stack.back().second++];
        if (s.holds[a] && seen[a] != walk) {
          seen[a] = walk;
          stack.emplace_back(a, 0);
        }
        continue;
      }
      stack.pop_back();
      if (!s.fitted[node]) continue;
      bool args_hold = false;
      for (int32_t a : args) args_hold |= s.holds[a] != 0;
      if (args_hold) continue;
      if (ready_index[node] < 0) {
        ready_index[node] = static_cast<int32_t>(s.ready.size());
        ReadyStep r;
        r.step = node;
        s.ready.push_back(std::move(r));
      }
      s.ready[ready_index[node]].features.push_back(plan.outputs[oi].name);
    }
  }
  return s;
}

// ---- analyzers -----------------------------------------------------------------------

AnalyzerSpec quantiles(const std::vector<double>& probs, int64_t budget) {
  AnalyzerSpec a;
  a.kind = "quantiles";
  std::vector<Scalar> ps;
  for (double p : probs) ps.push_back(Scalar::Float(p));
  a.params["probabilities"] = list_of(std::move(ps));
  a.params["exact_budget"] = single(Scalar::Int(budget));
  return a;
}

AnalyzerSpec moments() {
  AnalyzerSpec a;
  a.kind = "moments";
  return a;
}

std::vector<AnalyzerSpec> analyzers_for(const PlanStep& st, int64_t budget) {
  const std::string& op = st.op;
  if (op == "standard_scale" || op == "min_max_scale") return {moments()};
  if (op == "robust_scale") return {quantiles({0.25, 0.5, 0.75}, budget)};
  if (op == "quantile_bucketize") return {quantiles(quantile_probabilities(given(st.params, "n")->i), budget)};
  if (op == "vocabulary" || op == "one_hot") {
    AnalyzerSpec a;
    a.kind = "vocabulary";
    const Scalar* mf = given(st.params, "min_frequency");
    const Scalar* order = given(st.params, "order");
    const Scalar* top_k = given(st.params, "top_k");
    a.params["min_frequency"] = single(mf ? *mf : Scalar::Int(1));
    // one_hot columns come in value order unless asked otherwise (scikit-learn's categories).
    a.params["order"] = single(order ? *order : Scalar::Str(op == "vocabulary" ? "frequency" : "value"));
    if (top_k) a.params["top_k"] = single(*top_k);
    return {a};
  }
  if (op == "impute") {
    const std::string strategy = given(st.params, "strategy")->s;
    if (strategy == "mean") return {moments()};
    if (strategy == "median") return {quantiles({0.5}, budget)};
    AnalyzerSpec a;  // most_frequent
    a.kind = "vocabulary";
    a.params["top_k"] = single(Scalar::Int(1));
    a.params["order"] = single(Scalar::Str("frequency"));
    return {a};
  }
  return {};
}

// ---- rewrites ------------------------------------------------------------------------

// Reads the statistics of one analyzer result; a missing or mistyped one is an internal
// error (results come from the analyzers fit_level named).
struct Stats {
  const AnalyzerResult& r;
  Status status;

  const Scalar* scalar(const char* name, DType type) {
    auto it = r.scalars.find(name);
    if (it == r.scalars.end() || it->second.is_null || it->second.type != type) {
      if (status.ok()) status = internal_error(std::string("analyzer result has no ") + dtype_name(type) + " '" + name + "'");
      return nullptr;
    }
    return &it->second;
  }
  double f(const char* name) {
    const Scalar* s = scalar(name, DType::kFloat64);
    return s ? s->f : 0.0;
  }
  int64_t i(const char* name) {
    const Scalar* s = scalar(name, DType::kInt64);
    return s ? s->i : 0;
  }
  Scalar keep(const char* name, DType type) {
    const Scalar* s = scalar(name, type);
    return s ? *s : Scalar::Null(type);
  }
  const std::vector<Scalar>& list(const char* name) {
    static const std::vector<Scalar> kEmpty;
    auto it = r.lists.find(name);
    if (it == r.lists.end()) {
      if (status.ok()) status = internal_error(std::string("analyzer result has no list '") + name + "'");
      return kEmpty;
    }
    return it->second;
  }
  std::vector<double> floats(const char* name) {
    std::vector<double> out;
    for (const Scalar& s : list(name)) {
      if (s.is_null || s.type != DType::kFloat64) {
        if (status.ok()) status = internal_error(std::string("analyzer list '") + name + "' holds a non-float");
        return {};
      }
      out.push_back(s.f);
    }
    return out;
  }
};

std::vector<Scalar> float_scalars(const std::vector<double>& vs) {
  std::vector<Scalar> out;
  for (double v : vs) out.push_back(Scalar::Float(v));
  return out;
}

// An edge at most 1e-8 above the edge before it (kept or not) is dropped, as
// scikit-learn's KBinsDiscretizer does (np.ediff1d(edges, to_begin=inf) > 1e-8), so the
// kept edges increase strictly.
std::vector<double> distinct_edges(const std::vector<double>& edges) {
  std::vector<double> kept;
  if (edges.empty()) return kept;
  kept.push_back(edges[0]);
  for (size_t k = 1; k < edges.size(); ++k) {
    if (edges[k] - edges[k - 1] > 1e-8) kept.push_back(edges[k]);
  }
  return kept;
}

// Replaces fitted step `step` of `g` (its results in `rs`): returns the node standing for
// it and fills the statistics to record.
Result<int32_t> rewrite(Graph& g, int32_t step, const std::vector<const AnalyzerResult*>& rs,
                        const std::string& where, const StepDescriber& describe, Params* stats) {
  const PlanStep st = g.nodes[step];
  const std::string& op = st.op;
  const int32_t x = st.args[0];
  if (rs.size() != 1) return internal_error(op + " takes one analyzer result");
  Stats r{*rs[0], Status::OK()};
  auto no_present = [&] {
    return plan_error("cannot fit " + op + " for " + where + ": the training data has no present (non-null, non-NaN) value of " +
                      describe(x));
  };
  // A scale of 0 (constant column, zero range or IQR) scales by 1 instead.
  auto scaled = [&](double center, double scale) {
    int32_t diff = g.add("sub", {x, g.constant(Scalar::Float(center))});
    return g.add("div", {diff, g.constant(Scalar::Float(scale))});
  };
  auto nonzero = [](double v) { return v != 0.0 ? v : 1.0; };
  int32_t out = -1;

  if (op == "standard_scale" || op == "min_max_scale" || op == "robust_scale" || op == "quantile_bucketize" ||
      (op == "impute" && given(st.params, "strategy")->s != "most_frequent")) {
    auto count = r.r.scalars.find("count");
    if (count == r.r.scalars.end() || count->second.is_null || count->second.i == 0) return no_present();
  }
  if (op == "standard_scale") {
    const double mean = r.f("mean"), std = r.f("std"), scale = nonzero(std);
    out = scaled(mean, scale);
    (*stats)["mean"] = single(Scalar::Float(mean));
    (*stats)["std"] = single(Scalar::Float(std));
    (*stats)["scale"] = single(Scalar::Float(scale));
    (*stats)["count"] = single(r.keep("count", DType::kInt64));
  } else if (op == "min_max_scale") {
    const double lo = r.f("min"), hi = r.f("max"), scale = nonzero(hi - lo);
    out = scaled(lo, scale);
    (*stats)["min"] = single(Scalar::Float(lo));
    (*stats)["max"] = single(Scalar::Float(hi));
    (*stats)["scale"] = single(Scalar::Float(scale));
    (*stats)["count"] = single(r.keep("count", DType::kInt64));
  } else if (op == "robust_scale") {
    const std::vector<double> q = r.floats("quantiles");
    if (r.status.ok() && q.size() != 3) return internal_error("robust_scale needs three quantiles");
    const double median = r.f("median_midpoint");
    if (!r.status.ok()) return r.status;
    const double scale = nonzero(q[2] - q[0]);
    out = scaled(median, scale);
    (*stats)["median"] = single(Scalar::Float(median));
    (*stats)["q25"] = single(Scalar::Float(q[0]));
    (*stats)["q75"] = single(Scalar::Float(q[2]));
    (*stats)["scale"] = single(Scalar::Float(scale));
    (*stats)["count"] = single(r.keep("count", DType::kInt64));
    (*stats)["exact"] = single(r.keep("exact", DType::kBool));
  } else if (op == "quantile_bucketize") {
    const std::vector<double> edges = r.floats("quantiles");
    const std::vector<double> kept = distinct_edges(edges);
    // The first and last edge bound the training range; values beyond it go to the end buckets.
    std::vector<double> inner;
    for (size_t k = 1; k + 1 < kept.size(); ++k) inner.push_back(kept[k]);
    Params p;
    p["boundaries"] = list_of(float_scalars(inner));
    out = g.add("bucketize", {x}, std::move(p));
    (*stats)["edges"] = list_of(float_scalars(edges));
    (*stats)["boundaries"] = list_of(float_scalars(inner));
    (*stats)["count"] = single(r.keep("count", DType::kInt64));
    (*stats)["exact"] = single(r.keep("exact", DType::kBool));
  } else if (op == "vocabulary" || op == "one_hot") {
    if (r.i("distinct") == 0 && r.status.ok()) return no_present();
    const std::vector<Scalar> keys = r.list("keys");
    const std::vector<Scalar> counts = r.list("counts");
    (*stats)["keys"] = list_of(keys);
    (*stats)["counts"] = list_of(counts);
    (*stats)["distinct"] = single(r.keep("distinct", DType::kInt64));
    if (op == "one_hot") {
      out = x;  // the feature stands for its argument until fit_finish expands it
    } else {
      const Scalar* oov_param = given(st.params, "num_oov_buckets");
      const int64_t oov = oov_param ? oov_param->i : 1;
      const int64_t k = static_cast<int64_t>(keys.size());
      auto hashed = [&] {
        Params p;
        p["n"] = single(Scalar::Int(oov));
        return g.add("hash_bucket", {x}, std::move(p));
      };
      if (!keys.empty()) {
        Params p;
        std::vector<Scalar> index;
        for (int64_t j = 0; j < k; ++j) index.push_back(Scalar::Int(j));
        p["keys"] = list_of(keys);
        p["values"] = list_of(std::move(index));
        p["default"] = single(Scalar::Null(DType::kNull));
        const int32_t known = g.add("map", {x}, std::move(p));
        // Unseen values hash into the oov buckets after the K known indices.
        out = oov ? g.add("coalesce", {known, g.add("add", {hashed(), g.constant(Scalar::Int(k))})}) : known;
      } else {
        out = oov ? hashed() : g.constant(Scalar::Null(DType::kInt64));
      }
      (*stats)["num_oov_buckets"] = single(Scalar::Int(oov));
    }
  } else if (op == "impute") {
    const std::string strategy = given(st.params, "strategy")->s;
    Scalar value;
    if (strategy == "mean") {
      value = Scalar::Float(r.f("mean"));
    } else if (strategy == "median") {
      value = Scalar::Float(r.f("median_midpoint"));
    } else {
      const std::vector<Scalar>& keys = r.list("keys");
      if (r.status.ok() && keys.empty()) {
        return plan_error("cannot fit impute(most_frequent) for " + where +
                          ": the training data has no present value of " + describe(x));
      }
      if (!keys.empty()) value = keys[0];
    }
    out = g.add("fill_missing", {x, g.constant(value)});
    (*stats)["strategy"] = single(Scalar::Str(strategy));
    (*stats)["value"] = single(value);
  } else {
    return internal_error("no rewrite for " + op);
  }
  if (!r.status.ok()) return r.status;
  return out;
}

}  // namespace

std::vector<double> quantile_probabilities(int64_t n) {
  std::vector<double> p;
  if (n < 1) return p;
  // numpy.linspace(0, 100, n + 1): y = arange(n + 1) * (delta / div); y += start;
  // y[-1] = stop. Then / 100, elementwise.
  const double step = 100.0 / static_cast<double>(n);
  for (int64_t i = 0; i < n; ++i) p.push_back((static_cast<double>(i) * step + 0.0) / 100.0);
  p.push_back(100.0 / 100.0);
  return p;
}

Result<std::optional<FitLevel>> fit_level(const PlanSpec& plan, int64_t exact_budget, const StepDescriber& describe) {
  if (exact_budget < 0) return plan_error("exact_budget must be >= 0");
  Result<Survey> sv = survey(plan, describe);
  if (!sv.ok()) return sv.status();
  Survey& s = sv.value();
  if (s.ready.empty()) return std::optional<FitLevel>();
  FitLevel level;
  std::vector<PlanOutput> args;
  for (size_t i = 0; i < s.ready.size(); ++i) {
    args.push_back({"a" + std::to_string(i), plan.steps[s.ready[i].step].args[0]});
  }
  Result<PlanSpec> lowered = lower(plan.steps, plan.inputs, args);
  if (!lowered.ok()) return lowered.status();
  Result<PlanSpec> analysis = optimize_plan(lowered.value());
  if (!analysis.ok()) return internal_error("analysis plan: " + analysis.status().message());
  level.analysis = std::move(analysis.value());
  for (size_t i = 0; i < s.ready.size(); ++i) {
    ReadyStep r = std::move(s.ready[i]);
    r.input = level.analysis.steps[level.analysis.outputs[i].step].dtype;
    r.analyzers = analyzers_for(plan.steps[r.step], exact_budget);
    level.ready.push_back(std::move(r));
  }
  return std::optional<FitLevel>(std::move(level));
}

Result<FitApplied> fit_apply(const PlanSpec& plan, const std::string& plan_name,
                             const std::vector<AnalyzerResult>& results, int64_t rows,
                             const StepDescriber& describe) {
  Result<Survey> sv = survey(plan, describe);
  if (!sv.ok()) return sv.status();
  const std::vector<ReadyStep>& ready = sv.value().ready;
  if (ready.empty()) return internal_error("fit_apply on a plan without a fitted step");
  size_t expected = 0;
  for (const ReadyStep& r : ready) expected += analyzers_for(plan.steps[r.step], 0).size();
  if (results.size() != expected) {
    return plan_error("fit_apply: the plan's ready fitted steps take " + std::to_string(expected) +
                      " analyzer results, got " + std::to_string(results.size()));
  }
  if (rows <= 0) return plan_error("cannot fit plan " + quoted(plan_name) + ": the training data has no rows");

  const size_t n = plan.steps.size();
  Graph g(plan.steps);
  std::vector<int32_t> repl(n, -1);
  FitApplied applied;
  size_t next = 0;
  for (const ReadyStep& r : ready) {
    const size_t count = analyzers_for(plan.steps[r.step], 0).size();
    std::vector<const AnalyzerResult*> rs;
    for (size_t k = 0; k < count; ++k) rs.push_back(&results[next++]);
    FitRecord rec;
    Result<int32_t> node = rewrite(g, r.step, rs, features_text(r.features), describe, &rec.statistics);
    if (!node.ok()) return node.status();
    repl[r.step] = node.value();
    rec.features = r.features;
    rec.transform = plan.steps[r.step].op;
    rec.expression = describe(plan.steps[r.step].args[0]);
    rec.rows = rows;
    applied.records.push_back(std::move(rec));
  }
  // Every step above a replaced one is rebuilt over the replacement; the others, and the
  // arguments the replacements read (which hold no fitted op), stay shared as they were.
  std::vector<int32_t> mapped(n);
  for (size_t i = 0; i < n; ++i) {
    if (repl[i] >= 0) {
      mapped[i] = repl[i];
      continue;
    }
    PlanStep st = g.nodes[i];
    bool changed = false;
    for (int32_t& a : st.args) {
      changed |= mapped[a] != a;
      a = mapped[a];
    }
    mapped[i] = changed ? g.add(st.op, st.args, st.params, static_cast<int32_t>(i)) : static_cast<int32_t>(i);
  }
  std::vector<PlanOutput> outputs;
  for (const PlanOutput& o : plan.outputs) outputs.push_back({o.name, mapped[o.step]});
  std::vector<int32_t> from;
  Result<PlanSpec> next_plan = lower(g.nodes, plan.inputs, outputs, &from);
  if (!next_plan.ok()) return next_plan.status();
  for (int32_t node : from) applied.origin.push_back(g.origin[node]);
  Result<BoundPlan> check = bind_plan(next_plan.value());
  if (!check.ok()) return internal_error("rewritten plan does not bind: " + check.status().message());
  applied.plan = std::move(next_plan.value());
  return applied;
}

Result<PlanSpec> fit_finish(const PlanSpec& plan, const std::string& plan_name,
                            const std::vector<FitRecord>& records) {
  Result<BoundPlan> bound = bind_plan(plan);
  if (!bound.ok()) return bound.status();
  for (const PlanStep& st : plan.steps) {
    if (is_fitted_op(st.op)) return internal_error("fit_finish on a plan with an unfitted " + st.op);
  }
  std::map<std::string, const FitRecord*> one_hot;  // feature -> the record of its one_hot
  for (const FitRecord& r : records) {
    if (r.transform != "one_hot") continue;
    for (const std::string& f : r.features) one_hot.emplace(f, &r);
  }
  std::set<std::string> original;
  for (const PlanOutput& o : plan.outputs) original.insert(o.name);
  Graph g(plan.steps);
  std::vector<PlanOutput> outputs;
  std::set<std::string> taken;
  std::vector<std::string> empty_one_hots;
  for (const PlanOutput& o : plan.outputs) {
    auto it = one_hot.find(o.name);
    if (it == one_hot.end()) {
      if (!taken.insert(o.name).second) {
        return plan_error("one_hot feature " + quoted(o.name) + " expands into column " + quoted(o.name) +
                          ", which another feature already uses: rename one of them");
      }
      outputs.push_back(o);
      continue;
    }
    auto keys = it->second->statistics.find("keys");
    if (keys == it->second->statistics.end() || !keys->second.is_list) {
      return internal_error("one_hot record of " + o.name + " has no keys");
    }
    if (keys->second.values.empty()) empty_one_hots.push_back(o.name);
    // The output stands for the one_hot's argument (fit_apply put it there).
    for (const Scalar& key : keys->second.values) {
      std::string text;
      switch (key.type) {
        case DType::kString: text = key.s; break;
        case DType::kInt64: text = std::to_string(key.i); break;
        default: return internal_error("one_hot key of " + o.name + " is neither string nor int64");
      }
      const std::string name = o.name + "__" + text;
      if (taken.count(name) || (name != o.name && original.count(name))) {
        return plan_error("one_hot feature " + quoted(o.name) + " expands into column " + quoted(name) +
                          ", which another feature already uses: rename one of them");
      }
      taken.insert(name);
      const int32_t is_key = g.add("eq", {o.step, g.constant(key)});
      outputs.push_back({name, g.add("if_else", {is_key, g.constant(Scalar::Float(1.0)), g.constant(Scalar::Float(0.0))})});
    }
  }
  if (outputs.empty()) {
    std::string which;
    for (size_t i = 0; i < empty_one_hots.size(); ++i) which += (i ? ", " : "") + quoted(empty_one_hots[i]);
    if (which.empty()) return plan_error("cannot fit plan " + quoted(plan_name) + ": it has no features");
    return plan_error("cannot fit plan " + quoted(plan_name) + ": its only features, the one_hot feature(s) " + which +
                      ", fitted no vocabulary value (none occurs min_frequency times), so no column is left");
  }
  Result<PlanSpec> lowered = lower(g.nodes, plan.inputs, outputs);
  if (!lowered.ok()) return lowered.status();
  Result<PlanSpec> optimized = optimize_plan(lowered.value());
  if (!optimized.ok()) return internal_error("fitted plan: " + optimized.status().message());
  return optimized;
}

}  // namespace featureplat
