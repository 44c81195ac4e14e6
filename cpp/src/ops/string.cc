// String ops: byte-oriented, ASCII-only case mapping and whitespace, UTF-8 code point
// length. Null in, null out everywhere.
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "featureplat/registry.h"
#include "featureplat/scalar_fns.h"
#include "ops/kernel_util.h"

namespace featureplat {
namespace {

using ops::bind;
using ops::type_error;
using ops::plan_error;

// ---- type checking -----------------------------------------------------------------

// Every argument must be a string (an untyped null literal is accepted as a string).
Result<std::vector<DType>> all_strings(const char* op, const std::vector<DType>& args) {
  std::vector<DType> types(args.size(), DType::kString);
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] != DType::kString && args[i] != DType::kNull) {
      return Status(ErrorCode::kTypeError,
                    std::string(op) + ": argument " + std::to_string(i + 1) + " is " +
                        dtype_name(args[i]) + ", expected string (cast it to string first)");
    }
  }
  return types;
}

// ---- kernels -----------------------------------------------------------------------

template <void (*Map)(const char*, size_t, char*)>
void case_kernel(KernelContext& ctx, const Slot* const* args, Slot& out, int64_t n) {
  const StrView* a = args[0]->as<StrView>();
  ops::make_strings(args[0], out, n, [&](int64_t i, StrView* o) {
    if (a[i].len == 0) return true;
    char* dst = ops::alloc_string(ctx, i, a[i].len);
    if (dst == nullptr) return false;
    Map(a[i].ptr, a[i].len, dst);
    *o = StrView{dst, a[i].len};
    return true;
  });
}

void strip_kernel(KernelContext&, const Slot* const* args, Slot& out, int64_t n) {
  const StrView* a = args[0]->as<StrView>();
  const uint8_t* va = args[0]->valid;
  StrView* o = out.as<StrView>();
  for (int64_t i = 0; i < n; ++i) {
    out.valid[i] = va[i];
    if (!va[i]) {
      o[i] = ops::empty_view();
      continue;
    }
    size_t begin = 0, len = 0;
    scalar::ascii_strip(a[i].ptr, a[i].len, &begin, &len);
    o[i] = len == 0 ? ops::empty_view() : StrView{a[i].ptr + begin, static_cast<uint32_t>(len)};
  }
}

void len_kernel(KernelContext&, const Slot* const* args, Slot& out, int64_t n) {
  ops::map1<StrView, int64_t>(args, out, n, [](StrView s) {
    return scalar::utf8_length(s.ptr, s.len);
  });
}

// Prepared pattern of str_contains / str_starts_with / str_ends_with.
struct PatternState {
  std::string pattern;
};

bool find_bytes(const char* hay, size_t hay_len, const char* needle, size_t needle_len) {
  if (needle_len == 0) return true;
  if (needle_len > hay_len) return false;
  const char first = needle[0];
  const size_t last_start = hay_len - needle_len;
  size_t pos = 0;
  while (pos <= last_start) {
    const void* hit = std::memchr(hay + pos, first, last_start - pos + 1);
    if (hit == nullptr) return false;
    pos = static_cast<size_t>(static_cast<const char*>(hit) - hay);
    if (std::memcmp(hay + pos + 1, needle + 1, needle_len - 1) == 0) return true;
    ++pos;
  }
  return false;
}

enum class Match { kContains, kStarts, kEnds };

template <Match M>
void match_kernel(KernelContext& ctx, const Slot* const* args, Slot& out, int64_t n) {
  const auto* st = static_cast<const PatternState*>(ctx.state);
  const char* p = st->pattern.data();
  const size_t pl = st->pattern.size();
  ops::map1<StrView, uint8_t>(args, out, n, [p, pl](StrView s) -> uint8_t {
    switch (M) {
      case Match::kContains:
        return find_bytes(s.ptr, s.len, p, pl) ? 1 : 0;
      case Match::kStarts:
        return (pl <= s.len && (pl == 0 || std::memcmp(s.ptr, p, pl) == 0)) ? 1 : 0;
      case Match::kEnds:
        return (pl <= s.len && (pl == 0 || std::memcmp(s.ptr + (s.len - pl), p, pl) == 0)) ? 1 : 0;
    }
    return 0;
  });
}

void concat_kernel(KernelContext& ctx, const Slot* const* args, Slot& out, int64_t n) {
  // The argument count is not passed to kernels: it is stored in the state.
  const size_t k = *static_cast<const size_t*>(ctx.state);
  StrView* o = out.as<StrView>();
  for (int64_t i = 0; i < n; ++i) {
    bool valid = true;
    uint64_t total = 0;
    for (size_t j = 0; j < k; ++j) {
      if (!args[j]->valid[i]) {
        valid = false;
        break;
      }
      total += args[j]->as<StrView>()[i].len;
    }
    // The length is known before anything is allocated: the limits refuse it first.
    char* dst = valid ? ops::alloc_string(ctx, i, total) : nullptr;
    if (dst == nullptr) {
      out.valid[i] = 0;
      o[i] = ops::empty_view();
      continue;
    }
    size_t pos = 0;
    for (size_t j = 0; j < k; ++j) {
      const StrView s = args[j]->as<StrView>()[i];
      if (s.len) std::memcpy(dst + pos, s.ptr, s.len);
      pos += s.len;
    }
    out.valid[i] = 1;
    o[i] = total == 0 ? ops::empty_view() : StrView{dst, static_cast<uint32_t>(total)};
  }
}

// ---- resolvers ---------------------------------------------------------------------

template <KernelFn K, DType Out>
Result<Binding> resolve_unary(const char* op, const std::vector<DType>& args) {
  auto types = all_strings(op, args);
  if (!types.ok()) return types.status();
  return bind(types.value(), Out, K);
}

Result<Binding> resolve_lower(const std::vector<DType>& args, const Params&) {
  return resolve_unary<case_kernel<scalar::ascii_lower>, DType::kString>("str_lower", args);
}
Result<Binding> resolve_upper(const std::vector<DType>& args, const Params&) {
  return resolve_unary<case_kernel<scalar::ascii_upper>, DType::kString>("str_upper", args);
}
Result<Binding> resolve_strip(const std::vector<DType>& args, const Params&) {
  return resolve_unary<strip_kernel, DType::kString>("str_strip", args);
}
Result<Binding> resolve_len(const std::vector<DType>& args, const Params&) {
  return resolve_unary<len_kernel, DType::kInt64>("str_len", args);
}

template <Match M>
Result<Binding> resolve_match(const char* op, const std::vector<DType>& args, const Params& params) {
  auto types = all_strings(op, args);
  if (!types.ok()) return types.status();
  const Scalar* pat = ops::param_scalar(params, "pattern");
  if (pat == nullptr || pat->is_null || pat->type != DType::kString) {
    return plan_error(std::string(op) + ": parameter 'pattern' must be a non-null string");
  }
  auto st = std::make_shared<PatternState>();
  st->pattern = pat->s;
  Binding b = bind(types.value(), DType::kBool, match_kernel<M>);
  b.state = std::move(st);
  return b;
}

Result<Binding> resolve_contains(const std::vector<DType>& args, const Params& p) {
  return resolve_match<Match::kContains>("str_contains", args, p);
}
Result<Binding> resolve_starts(const std::vector<DType>& args, const Params& p) {
  return resolve_match<Match::kStarts>("str_starts_with", args, p);
}
Result<Binding> resolve_ends(const std::vector<DType>& args, const Params& p) {
  return resolve_match<Match::kEnds>("str_ends_with", args, p);
}

Result<Binding> resolve_concat(const std::vector<DType>& args, const Params&) {
  if (args.size() < 2) return plan_error("str_concat: expects at least 2 arguments");
  auto types = all_strings("str_concat", args);
  if (!types.ok()) return types.status();
  Binding b = bind(types.value(), DType::kString, concat_kernel);
  b.state = std::make_shared<const size_t>(args.size());
  return b;
}

OpDef string_op(const char* name, const char* sig, const char* doc, int min_args, int max_args,
                std::vector<ParamSpec> params, ResolveFn fn) {
  OpDef d;
  d.name = name;
  d.family = "string";
  d.signature = sig;
  d.doc = doc;
  d.min_args = min_args;
  d.max_args = max_args;
  d.params = std::move(params);
  d.transcendental = false;
  d.resolve = fn;
  return d;
}

}  // namespace

void register_string_ops(Registry& r) {
  r.add(string_op(
      "str_lower", "str_lower(a: string) -> string",
      "ASCII lowercase: maps the bytes 'A'-'Z' to 'a'-'z' and leaves every other byte "
      "unchanged, so non-ASCII letters keep their case (str_lower(\"ÄbC\") = \"Äbc\"; unlike "
      "Python's str.lower). The byte length never changes. Null in, null out.",
      1, 1, {}, resolve_lower));
  r.add(string_op(
      "str_upper", "str_upper(a: string) -> string",
      "ASCII uppercase: maps the bytes 'a'-'z' to 'A'-'Z' and leaves every other byte "
      "unchanged, so non-ASCII letters keep their case (str_upper(\"äbc\") = \"äBC\"; unlike "
      "Python's str.upper, 'ß' stays 'ß'). The byte length never changes. Null in, null out.",
      1, 1, {}, resolve_upper));
  r.add(string_op(
      "str_strip", "str_strip(a: string) -> string",
      "Removes ASCII whitespace (space, \\t, \\n, \\v, \\f, \\r) from both ends. Other "
      "Unicode spaces (e.g. U+00A0 no-break space, U+3000) are kept, unlike Python's "
      "str.strip(). A string of only whitespace gives \"\". Null in, null out.",
      1, 1, {}, resolve_strip));
  r.add(string_op(
      "str_len", "str_len(a: string) -> int64",
      "Number of Unicode code points (Python's len() of the str), not bytes: str_len(\"Äb\") "
      "= 2, str_len(\"\") = 0. Computed as the number of bytes that are not UTF-8 "
      "continuation bytes (10xxxxxx). Null in, null out.",
      1, 1, {}, resolve_len));
  r.add(string_op(
      "str_contains", "str_contains(a: string, pattern=<string>) -> bool",
      "True when `pattern` occurs in a as a byte substring (exact, case-sensitive, no regex "
      "or wildcards). The empty pattern is contained in every string, including \"\". Null "
      "in, null out. Parameter pattern: required non-null string.",
      1, 1, {{"pattern", ParamKind::kString, true}}, resolve_contains));
  r.add(string_op(
      "str_starts_with", "str_starts_with(a: string, pattern=<string>) -> bool",
      "True when a begins with the bytes of `pattern` (exact, case-sensitive). The empty "
      "pattern gives true for every string, including \"\". Null in, null out. Parameter "
      "pattern: required non-null string.",
      1, 1, {{"pattern", ParamKind::kString, true}}, resolve_starts));
  r.add(string_op(
      "str_ends_with", "str_ends_with(a: string, pattern=<string>) -> bool",
      "True when a ends with the bytes of `pattern` (exact, case-sensitive). The empty "
      "pattern gives true for every string, including \"\". Null in, null out. Parameter "
      "pattern: required non-null string.",
      1, 1, {{"pattern", ParamKind::kString, true}}, resolve_ends));
  r.add(string_op(
      "str_concat", "str_concat(a: string, b: string, ...) -> string",
      "Concatenation of 2 or more strings in argument order, with no separator. Null if any "
      "argument is null (empty strings are not null: str_concat(\"\", \"x\") = \"x\"). A "
      "result longer than the string limit (67108864 bytes per value; README \"Limits\") is "
      "an error naming the feature and the row, raised before anything is allocated.",
      2, -1, {}, resolve_concat));
}

}  // namespace featureplat
