// Encoding ops: feature hashing, bucketing by boundaries and literal lookup tables.
// Every parameter is validated and prepared once at resolve time; kernels only read the
// prepared state.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "featureplat/registry.h"
#include "featureplat/scalar_fns.h"
#include "ops/kernel_util.h"
#include "table_hash.h"

namespace featureplat {
namespace {

using ops::bind;
using ops::plan_error;
using ops::type_error;

// A scalar parameter rendered for error messages ("\"abc\"", "3", "null", ...).
std::string describe(const Scalar& s) {
  if (s.is_null) return "null";
  switch (s.type) {
    case DType::kBool: return s.b ? "true" : "false";
    case DType::kInt64:
    case DType::kTimestamp: return std::to_string(s.i) + " (" + dtype_name(s.type) + ")";
    case DType::kFloat64: {
      char buf[48];
      size_t len = scalar::format_double_repr(s.f, buf);
      return std::string(buf, len) + " (float64)";
    }
    case DType::kString: {
      // At most 40 bytes, cut before a character, never inside one.
      size_t cut = std::min<size_t>(s.s.size(), 40);
      while (cut < s.s.size() && cut > 0 && (static_cast<unsigned char>(s.s[cut]) & 0xC0u) == 0x80u) --cut;
      return "\"" + s.s.substr(0, cut) + (cut < s.s.size() ? "..." : "") + "\" (string)";
    }
    default: return dtype_name(s.type);
  }
}

// ---- hash_bucket -------------------------------------------------------------------

constexpr int64_t kMaxBuckets = int64_t{1} << 62;

struct BucketState {
  uint64_t n;
};

void hash_bucket_str(KernelContext& ctx, const Slot* const* args, Slot& out, int64_t n) {
  const uint64_t buckets = static_cast<const BucketState*>(ctx.state)->n;
  ops::map1<StrView, int64_t>(args, out, n, [buckets](StrView s) {
    return static_cast<int64_t>(scalar::xxh64(s.ptr, s.len, 0) % buckets);
  });
}

void hash_bucket_int(KernelContext& ctx, const Slot* const* args, Slot& out, int64_t n) {
  const uint64_t buckets = static_cast<const BucketState*>(ctx.state)->n;
  ops::map1<int64_t, int64_t>(args, out, n, [buckets](int64_t v) {
    // The 8 little-endian bytes of the two's complement value, on any host.
    const uint64_t u = static_cast<uint64_t>(v);
    unsigned char bytes[8];
    for (int k = 0; k < 8; ++k) bytes[k] = static_cast<unsigned char>(u >> (8 * k));
    return static_cast<int64_t>(scalar::xxh64(bytes, 8, 0) % buckets);
  });
}

Result<Binding> resolve_hash_bucket(const std::vector<DType>& args, const Params& params) {
  const Scalar* np = ops::param_scalar(params, "n");
  if (np == nullptr || np->is_null || np->type != DType::kInt64) {
    return plan_error("hash_bucket: parameter 'n' must be an integer between 1 and 2^62");
  }
  if (np->i < 1 || np->i > kMaxBuckets) {
    return plan_error("hash_bucket: parameter 'n' must be between 1 and 2^62 "
                      "(4611686018427387904), got " + std::to_string(np->i));
  }
  KernelFn k = nullptr;
  DType t = args[0];
  if (t == DType::kString) {
    k = hash_bucket_str;
  } else if (t == DType::kInt64 || t == DType::kNull) {
    t = DType::kInt64;
    k = hash_bucket_int;
  } else {
    return type_error(std::string("hash_bucket: argument is ") + dtype_name(t) +
                      ", expected string or int64 (cast it to string or int64 first)");
  }
  auto st = std::make_shared<BucketState>();
  st->n = static_cast<uint64_t>(np->i);
  Binding b = bind({t}, DType::kInt64, k);
  b.state = std::move(st);
  return b;
}

// ---- bucketize ---------------------------------------------------------------------

struct BoundaryState {
  std::vector<double> bounds;  // strictly increasing, no NaN
};

void bucketize_kernel(KernelContext& ctx, const Slot* const* args, Slot& out, int64_t n) {
  const auto& b = static_cast<const BoundaryState*>(ctx.state)->bounds;
  ops::map1_nullable<double, int64_t>(args, out, n, [&b](double x, int64_t* r) {
    if (std::isnan(x)) {
      *r = 0;
      return false;
    }
    // Number of boundaries <= x (x == -0.0 and a boundary 0.0 compare equal).
    *r = static_cast<int64_t>(std::upper_bound(b.begin(), b.end(), x) - b.begin());
    return true;
  });
}

Result<Binding> resolve_bucketize(const std::vector<DType>& args, const Params& params) {
  const DType t = args[0];
  if (t != DType::kFloat64 && t != DType::kInt64 && t != DType::kNull) {
    return type_error(std::string("bucketize: argument is ") + dtype_name(t) +
                      ", expected float64 or int64");
  }
  const std::vector<Scalar>* list = ops::param_list(params, "boundaries");
  if (list == nullptr) {
    return plan_error("bucketize: parameter 'boundaries' must be a list of numbers");
  }
  auto st = std::make_shared<BoundaryState>();
  st->bounds.reserve(list->size());
  for (size_t i = 0; i < list->size(); ++i) {
    const Scalar& s = (*list)[i];
    double v;
    if (!s.is_null && s.type == DType::kFloat64) {
      v = s.f;
    } else if (!s.is_null && s.type == DType::kInt64) {
      v = static_cast<double>(s.i);
    } else {
      return plan_error("bucketize: parameter 'boundaries' element " + std::to_string(i) +
                        " is " + describe(s) + ", expected a non-null number");
    }
    if (std::isnan(v)) {
      return plan_error("bucketize: parameter 'boundaries' element " + std::to_string(i) +
                        " is NaN; boundaries must be numbers in strictly increasing order");
    }
    if (!st->bounds.empty() && !(st->bounds.back() < v)) {
      return plan_error("bucketize: parameter 'boundaries' must be strictly increasing, but "
                        "element " + std::to_string(i) + " (" + describe(s) +
                        ") is not greater than the element before it");
    }
    st->bounds.push_back(v);
  }
  Binding b = bind({DType::kFloat64}, DType::kInt64, bucketize_kernel);
  b.state = std::move(st);
  return b;
}

// ---- map ---------------------------------------------------------------------------

// The lookup table of one map step. Built in place and never moved: the string views
// (keys and output values) point into the owned std::strings.
struct MapState {
  DType key_type = DType::kNull;
  DType out_type = DType::kNull;
  size_t nkeys = 0;  // value index nkeys is the default
  std::vector<std::string> str_keys;
  std::unordered_map<std::string_view, uint32_t, SeededStrHash> str_index;  // table_hash.h: seeded
  std::unordered_map<int64_t, uint32_t, SeededIntHash> int_index;
  int64_t bool_index[2] = {-1, -1};
  // Values by index, the default last; one array per output type (others stay empty).
  std::vector<uint8_t> valid;
  std::vector<uint8_t> b;
  std::vector<int64_t> i;
  std::vector<double> f;
  std::vector<std::string> s_owned;
  std::vector<StrView> s;

  size_t find(StrView k) const {
    auto it = str_index.find(std::string_view(k.ptr, k.len));
    return it == str_index.end() ? nkeys : it->second;
  }
  size_t find(int64_t k) const {
    auto it = int_index.find(k);
    return it == int_index.end() ? nkeys : it->second;
  }
  size_t find(uint8_t k) const {
    int64_t idx = bool_index[k != 0 ? 1 : 0];
    return idx < 0 ? nkeys : static_cast<size_t>(idx);
  }
  const uint8_t* values(uint8_t*) const { return b.data(); }
  const int64_t* values(int64_t*) const { return i.data(); }
  const double* values(double*) const { return f.data(); }
  const StrView* values(StrView*) const { return s.data(); }
};

template <typename K, typename O>
void map_kernel_typed(const MapState& st, const Slot* const* args, Slot& out, int64_t n) {
  const K* a = args[0]->as<K>();
  const uint8_t* va = args[0]->valid;
  const O* vals = st.values(static_cast<O*>(nullptr));
  const uint8_t* vvalid = st.valid.data();
  O* o = out.as<O>();
  for (int64_t r = 0; r < n; ++r) {
    if (!va[r]) {
      out.valid[r] = 0;
      o[r] = vals[st.nkeys];  // the default's payload: always a safe value
      continue;
    }
    const size_t idx = st.find(a[r]);
    out.valid[r] = vvalid[idx];
    o[r] = vals[idx];
  }
}

template <typename K>
void map_kernel(KernelContext& ctx, const Slot* const* args, Slot& out, int64_t n) {
  const auto& st = *static_cast<const MapState*>(ctx.state);
  switch (st.out_type) {
    case DType::kBool: map_kernel_typed<K, uint8_t>(st, args, out, n); break;
    case DType::kInt64: map_kernel_typed<K, int64_t>(st, args, out, n); break;
    case DType::kFloat64: map_kernel_typed<K, double>(st, args, out, n); break;
    case DType::kString: map_kernel_typed<K, StrView>(st, args, out, n); break;
    default: break;  // rejected at resolve time
  }
}

bool is_value_type(DType t) {
  return t == DType::kBool || t == DType::kInt64 || t == DType::kFloat64 ||
         t == DType::kString;
}

// Appends value `v` (null or of a type that fits st.out_type) to the value arrays.
void push_value(MapState& st, const Scalar& v) {
  const bool present = !v.is_null;
  st.valid.push_back(present ? 1 : 0);
  switch (st.out_type) {
    case DType::kBool: st.b.push_back(present && v.b ? 1 : 0); break;
    case DType::kInt64: st.i.push_back(present ? v.i : 0); break;
    case DType::kFloat64:
      st.f.push_back(!present ? 0.0
                              : v.type == DType::kInt64 ? static_cast<double>(v.i) : v.f);
      break;
    case DType::kString: st.s_owned.push_back(present ? v.s : std::string()); break;
    default: break;
  }
}

Result<Binding> resolve_map(const std::vector<DType>& args, const Params& params) {
  const std::vector<Scalar>* keys = ops::param_list(params, "keys");
  const std::vector<Scalar>* values = ops::param_list(params, "values");
  if (keys == nullptr) return plan_error("map: parameter 'keys' must be a list");
  if (values == nullptr) return plan_error("map: parameter 'values' must be a list");
  if (keys->size() != values->size()) {
    return plan_error("map: parameters 'keys' and 'values' must have the same length, got " +
                      std::to_string(keys->size()) + " keys and " +
                      std::to_string(values->size()) + " values");
  }
  if (keys->size() >= UINT32_MAX) return plan_error("map: too many keys");

  // Keys: non-null, all of one type among string, int64 and bool.
  for (size_t k = 0; k < keys->size(); ++k) {
    const Scalar& s = (*keys)[k];
    if (s.is_null) {
      return plan_error("map: parameter 'keys' element " + std::to_string(k) +
                        " is null; keys must be non-null");
    }
    if (s.type != DType::kString && s.type != DType::kInt64 && s.type != DType::kBool) {
      return plan_error("map: parameter 'keys' element " + std::to_string(k) + " is " +
                        describe(s) + "; keys must be strings, int64 or bools");
    }
    if (s.type != (*keys)[0].type) {
      return plan_error("map: parameter 'keys' element " + std::to_string(k) + " is " +
                        describe(s) + " but element 0 is " + describe((*keys)[0]) +
                        "; all keys must have one type");
    }
  }
  // Key type: the argument's (the keys must match it), or for an untyped null argument
  // the keys' own type.
  DType key_type = args[0];
  if (key_type == DType::kNull) {
    key_type = keys->empty() ? DType::kInt64 : (*keys)[0].type;
  } else if (key_type != DType::kString && key_type != DType::kInt64 &&
             key_type != DType::kBool) {
    return type_error(std::string("map: argument is ") + dtype_name(key_type) +
                      ", expected string, int64 or bool (cast it first)");
  } else if (!keys->empty() && (*keys)[0].type != key_type) {
    return type_error(std::string("map: the keys are ") + dtype_name((*keys)[0].type) +
                      " but the argument is " + dtype_name(key_type) +
                      "; keys must have the argument's type (cast the argument or change "
                      "the keys)");
  }

  // Value type: the common type of the non-null values (int64 + float64 -> float64), else
  // the default's type.
  DType out = DType::kNull;
  for (size_t k = 0; k < values->size(); ++k) {
    const Scalar& v = (*values)[k];
    if (v.is_null) continue;
    if (!is_value_type(v.type)) {
      return plan_error("map: parameter 'values' element " + std::to_string(k) + " is " +
                        describe(v) + "; values must be bool, int64, float64 or string");
    }
    if (out == DType::kNull || out == v.type) {
      out = v.type;
    } else if (ops::is_numeric(out) && ops::is_numeric(v.type)) {
      out = DType::kFloat64;
    } else {
      return plan_error(std::string("map: parameter 'values' mixes ") + dtype_name(out) +
                        " and " + dtype_name(v.type) + " values (element " +
                        std::to_string(k) + "); all values must have one type");
    }
  }
  const Scalar* def = ops::param_scalar(params, "default");
  Scalar null_default;
  if (def == nullptr || def->is_null) def = &null_default;
  if (!def->is_null) {
    if (!is_value_type(def->type)) {
      return plan_error("map: parameter 'default' is " + describe(*def) +
                        "; it must be bool, int64, float64, string or null");
    }
    if (out == DType::kNull) {
      out = def->type;
    } else if (def->type != out && !(out == DType::kFloat64 && def->type == DType::kInt64)) {
      return plan_error("map: parameter 'default' is " + describe(*def) +
                        ", which does not fit the " + dtype_name(out) + " values");
    }
  }
  if (out == DType::kNull) {
    return plan_error("map: all values and the default are null, so the output type is "
                      "unknown; give at least one non-null value or default");
  }

  auto st = std::make_shared<MapState>();
  MapState& m = *st;
  m.key_type = key_type;
  m.out_type = out;
  m.nkeys = keys->size();
  for (size_t k = 0; k < keys->size(); ++k) push_value(m, (*values)[k]);
  push_value(m, *def);
  if (out == DType::kString) {
    m.s.reserve(m.s_owned.size());
    for (const std::string& v : m.s_owned) {
      if (v.size() > UINT32_MAX) return plan_error("map: a string value is longer than 4 GiB");
      m.s.push_back(v.empty() ? ops::empty_view()
                              : StrView{v.data(), static_cast<uint32_t>(v.size())});
    }
  }

  KernelFn kernel = nullptr;
  const auto duplicate = [&](size_t k) {
    return plan_error("map: parameter 'keys' has the duplicate key " + describe((*keys)[k]) +
                      " (element " + std::to_string(k) + ")");
  };
  switch (key_type) {
    case DType::kString:
      m.str_keys.reserve(keys->size());
      for (const Scalar& s : *keys) m.str_keys.push_back(s.s);
      m.str_index.reserve(keys->size());
      for (size_t k = 0; k < m.str_keys.size(); ++k) {
        if (!m.str_index.emplace(std::string_view(m.str_keys[k]), static_cast<uint32_t>(k)).second) {
          return duplicate(k);
        }
      }
      kernel = map_kernel<StrView>;
      break;
    case DType::kInt64:
      m.int_index.reserve(keys->size());
      for (size_t k = 0; k < keys->size(); ++k) {
        if (!m.int_index.emplace((*keys)[k].i, static_cast<uint32_t>(k)).second) {
          return duplicate(k);
        }
      }
      kernel = map_kernel<int64_t>;
      break;
    default:  // kBool
      for (size_t k = 0; k < keys->size(); ++k) {
        int64_t& slot = m.bool_index[(*keys)[k].b ? 1 : 0];
        if (slot >= 0) return duplicate(k);
        slot = static_cast<int64_t>(k);
      }
      kernel = map_kernel<uint8_t>;
      break;
  }
  Binding b = bind({key_type}, out, kernel);
  b.state = std::move(st);
  return b;
}

OpDef encoding_op(const char* name, const char* sig, const char* doc,
                  std::vector<ParamSpec> params, ResolveFn fn) {
  OpDef d;
  d.name = name;
  d.family = "encoding";
  d.signature = sig;
  d.doc = doc;
  d.min_args = d.max_args = 1;
  d.params = std::move(params);
  d.transcendental = false;
  d.resolve = fn;
  return d;
}

}  // namespace

void register_encoding_ops(Registry& r) {
  r.add(encoding_op(
      "hash_bucket", "hash_bucket(a: string|int64, n=<int>) -> int64",
      "Feature hashing into n buckets: xxHash64 (XXH64, seed 0) of the value's bytes, taken "
      "as an unsigned 64-bit integer, modulo n, giving 0 <= result < n. The bytes are the "
      "UTF-8 bytes of a string (no terminator; \"\" hashes zero bytes) or the 8 little-endian "
      "two's complement bytes of an int64. Equal to Python's "
      "xxhash.xxh64_intdigest(data, seed=0) % n. Other argument types are a type error: cast "
      "them to string or int64 first (note that 1 and \"1\" land in unrelated buckets). Null "
      "in, null out. Parameter n: required integer, 1 <= n <= 2^62.",
      {{"n", ParamKind::kInt, true}}, resolve_hash_bucket));
  r.add(encoding_op(
      "bucketize", "bucketize(a: float64|int64, boundaries=<number list>) -> int64",
      "Bucket index of a among sorted boundaries: the number of boundaries b with b <= a, so "
      "values below the first boundary give 0, a value exactly on boundary k (0-based) gives "
      "k + 1, and values >= the last boundary give len(boundaries) (Python's "
      "bisect.bisect_right). int64 arguments and int64 boundaries are converted to float64 "
      "first (rounding to nearest above 2^53). -0.0 and 0.0 are equal. +inf gives "
      "len(boundaries) and -inf gives 0 (unless a boundary is itself infinite; the rule "
      "b <= a still applies). NaN gives null. Null in, null out. Parameter boundaries: "
      "required list of numbers, strictly increasing, without NaN or null; may be empty "
      "(every non-NaN value then gives 0).",
      {{"boundaries", ParamKind::kNumberList, true}}, resolve_bucketize));
  r.add(encoding_op(
      "map", "map(a: string|int64|bool, keys=<list>, values=<list>, default=<scalar>) -> value type",
      "Lookup table: when a equals keys[i] the result is values[i]; a value not among the "
      "keys gives `default` (null when no default is given). Null in, null out (a null a "
      "never matches and never gives the default). Keys are compared exactly: strings by "
      "bytes (case-sensitive), int64 and bool by value. Parameter keys: required list of "
      "distinct, non-null keys of the argument's type (string keys for a string argument, "
      "int64 keys for int64, bool keys for bool; a float64 or timestamp argument must be "
      "cast first). Parameter values: required list, same length as keys, of one type among "
      "bool, int64, float64 and string (int64 mixed with float64 makes them all float64); "
      "null values are allowed and map their key to null. The output type is the values' "
      "type (or the default's type when every value is null). Parameter default: optional "
      "scalar of the output type (an int64 default with float64 values is converted); "
      "missing or null means null. It is an error when all values and the default are null.",
      {{"keys", ParamKind::kScalarList, true},
       {"values", ParamKind::kScalarList, true},
       {"default", ParamKind::kScalar, false}},
      resolve_map));
}

}  // namespace featureplat
