// Tests of the string, temporal and encoding op families: signature resolution, param
// validation and kernels on hand-built slots. Every kernel run is repeated row by row
// (n == 1) and must agree with the batch run bit for bit.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "check.h"
#include "test_support.h"
#include "featureplat/registry.h"
#include "featureplat/types.h"

using namespace featureplat;

using namespace featureplat_test;

namespace {

const Registry& reg() {
  static const Registry* r = [] {
    auto* x = new Registry();
    register_string_ops(*x);
    register_temporal_ops(*x);
    register_encoding_ops(*x);
    return x;
  }();
  return *r;
}

// ---- columns -----------------------------------------------------------------------

Col ints(const std::vector<std::optional<int64_t>>& v, DType t = DType::kInt64) {
  Col c;
  c.type = t;
  for (const auto& x : v) {
    c.valid.push_back(x.has_value());
    c.i.push_back(x.has_value() ? *x : 0);
  }
  return c;
}
Col times(const std::vector<std::optional<int64_t>>& v) { return ints(v, DType::kTimestamp); }

Col floats(const std::vector<std::optional<double>>& v) {
  Col c;
  c.type = DType::kFloat64;
  for (const auto& x : v) {
    c.valid.push_back(x.has_value());
    c.f.push_back(x.has_value() ? *x : 0.0);
  }
  return c;
}

Col bools(const std::vector<std::optional<bool>>& v) {
  Col c;
  c.type = DType::kBool;
  for (const auto& x : v) {
    c.valid.push_back(x.has_value());
    c.b.push_back(x.has_value() && *x ? 1 : 0);
  }
  return c;
}

Col strs(const std::vector<std::optional<std::string>>& v) {
  Col c;
  c.type = DType::kString;
  for (const auto& x : v) {
    c.valid.push_back(x.has_value());
    c.owned.push_back(std::make_unique<std::string>(x.value_or("")));
    const std::string& o = *c.owned.back();
    c.s.push_back(StrView{o.empty() ? "" : o.data(), static_cast<uint32_t>(o.size())});
  }
  return c;
}

// Output column of `n` rows pre-filled with garbage validity and payloads.
Col out_col(DType t, size_t n) {
  Col c;
  c.type = t;
  c.valid.assign(n, 0xAB);
  c.b.assign(n, 0xCD);
  c.i.assign(n, 0x5A5A5A5A);
  c.f.assign(n, 12345.0);
  c.s.assign(n, StrView{"garbage", 7});
  return c;
}

// Same validity and payload (strings by content, doubles by bits; null payloads must be
// safe values but are not compared).
bool same_row(const Col& a, size_t ra, const Col& b, size_t rb) {
  if (a.valid[ra] != b.valid[rb]) return false;
  if (!a.valid[ra]) return true;
  switch (a.type) {
    case DType::kBool: return a.b[ra] == b.b[rb];
    case DType::kFloat64: return std::memcmp(&a.f[ra], &b.f[rb], sizeof(double)) == 0;
    case DType::kString: return a.str(ra) == b.str(rb);
    default: return a.i[ra] == b.i[rb];
  }
}

// Runs the binding's kernel over all rows, then row by row, and checks both agree; also
// checks every output validity byte is 0/1 and null string payloads are readable.
Col run(const Binding& bnd, std::vector<Col*> args, StringArena* arena = nullptr) {
  StringArena local;
  if (arena == nullptr) arena = &local;
  const size_t n = args.empty() ? 0 : args[0]->size();
  Col out = out_col(bnd.out, n);
  KernelContext ctx;
  ctx.arena = arena;
  ctx.state = bnd.state.get();
  {
    std::vector<Slot> slots;
    for (Col* a : args) slots.push_back(a->slot());
    std::vector<const Slot*> ptrs;
    for (Slot& s : slots) ptrs.push_back(&s);
    Slot o = out.slot();
    bnd.kernel(ctx, ptrs.data(), o, static_cast<int64_t>(n));
  }
  for (size_t r = 0; r < n; ++r) {
    CHECK(out.valid[r] == 0 || out.valid[r] == 1);
    if (bnd.out == DType::kString) {
      // A payload, null or not, must be a readable view.
      std::string tmp = out.str(r);
      (void)tmp;
    }
    if (bnd.out == DType::kBool) CHECK(out.b[r] <= 1);
    Col one = out_col(bnd.out, 1);
    std::vector<Slot> slots;
    for (Col* a : args) slots.push_back(a->slot(r));
    std::vector<const Slot*> ptrs;
    for (Slot& s : slots) ptrs.push_back(&s);
    Slot o = one.slot();
    bnd.kernel(ctx, ptrs.data(), o, 1);
    CHECK(same_row(out, r, one, 0));
  }
  // The arena must outlive the returned views: copy string results into owned storage.
  if (bnd.out == DType::kString) {
    for (size_t r = 0; r < n; ++r) {
      out.owned.push_back(std::make_unique<std::string>(out.str(r)));
      const std::string& o = *out.owned.back();
      out.s[r] = StrView{o.empty() ? "" : o.data(), static_cast<uint32_t>(o.size())};
    }
  }
  return out;
}

Param P(Scalar s) {
  Param p;
  p.is_list = false;
  p.values.push_back(std::move(s));
  return p;
}
Param PL(std::vector<Scalar> v) {
  Param p;
  p.is_list = true;
  p.values = std::move(v);
  return p;
}

Result<Binding> resolve(const std::string& op, std::vector<DType> types, const Params& params = {}) {
  const OpDef* def = reg().find(op);
  if (def == nullptr) return Status(ErrorCode::kPlanError, "no op " + op);
  return def->resolve(types, params);
}

// Resolves (which must succeed) and returns the binding.
Binding must(const std::string& op, std::vector<DType> types, const Params& params = {}) {
  Result<Binding> r = resolve(op, std::move(types), params);
  if (!CHECK(r.ok())) {
    std::fprintf(stderr, "  resolve %s failed: %s\n", op.c_str(), r.status().message().c_str());
    return Binding();
  }
  CHECK(r.value().kernel != nullptr);
  return r.value();
}

ErrorCode err(const std::string& op, std::vector<DType> types, const Params& params = {}) {
  Result<Binding> r = resolve(op, std::move(types), params);
  if (!r.ok()) {
    CHECK(r.status().message().find(op) != std::string::npos);  // messages name the op
  }
  return r.status().code();
}

constexpr int64_t kI64Min = std::numeric_limits<int64_t>::min();
constexpr int64_t kI64Max = std::numeric_limits<int64_t>::max();
const double kInf = std::numeric_limits<double>::infinity();
const double kNaN = std::numeric_limits<double>::quiet_NaN();

}  // namespace

// ---- registration ------------------------------------------------------------------

TEST_CASE(ste_registration) {
  const char* names[] = {"str_lower", "str_upper", "str_strip", "str_len", "str_contains",
                         "str_starts_with", "str_ends_with", "str_concat", "dt_year",
                         "dt_month", "dt_day", "dt_hour", "dt_minute", "dt_day_of_week",
                         "dt_epoch_seconds", "dt_diff_seconds", "hash_bucket", "bucketize",
                         "map"};
  CHECK_EQ(reg().ops().size(), sizeof(names) / sizeof(names[0]));
  for (const char* n : names) {
    const OpDef* d = reg().find(n);
    if (!CHECK(d != nullptr)) continue;
    CHECK(!d->doc.empty());
    CHECK(!d->signature.empty());
    CHECK(d->resolve != nullptr);
    CHECK(!d->transcendental);
  }
  CHECK_EQ(reg().find("str_concat")->max_args, -1);
  CHECK_EQ(reg().find("str_concat")->min_args, 2);
  CHECK_EQ(reg().find("map")->params.size(), 3u);
  CHECK(!reg().find("map")->params[2].required);
}

// ---- string ------------------------------------------------------------------------

TEST_CASE(str_case_mapping) {
  Binding lo = must("str_lower", {DType::kString});
  CHECK(lo.out == DType::kString);
  Col a = strs({std::string("ÄbC"), std::string(""), std::nullopt, std::string("Hello, World 123"),
                std::string("straße ÀÉ")});
  Col o = run(lo, {&a});
  CHECK_EQ(o.str(0), "Äbc");
  CHECK(!o.is_null(1));
  CHECK_EQ(o.str(1), "");
  CHECK(o.is_null(2));
  CHECK_EQ(o.str(3), "hello, world 123");
  CHECK_EQ(o.str(4), "straße ÀÉ");

  Binding up = must("str_upper", {DType::kString});
  Col u = run(up, {&a});
  CHECK_EQ(u.str(0), "ÄBC");
  CHECK_EQ(u.str(1), "");
  CHECK(u.is_null(2));
  CHECK_EQ(u.str(3), "HELLO, WORLD 123");
  CHECK_EQ(u.str(4), "STRAßE ÀÉ");

  // Untyped null literal: accepted as a string.
  Binding ln = must("str_lower", {DType::kNull});
  CHECK(ln.arg_types.size() == 1 && ln.arg_types[0] == DType::kString);
  CHECK(err("str_lower", {DType::kInt64}) == ErrorCode::kTypeError);
  CHECK(err("str_upper", {DType::kTimestamp}) == ErrorCode::kTypeError);
}

TEST_CASE(str_strip_and_len) {
  Binding st = must("str_strip", {DType::kString});
  Col a = strs({std::string(" \t\n\v\f\rab c \r\n"), std::string("   "), std::string(""),
                std::nullopt, std::string("\xc2\xa0x\xc2\xa0"), std::string("x")});
  Col o = run(st, {&a});
  CHECK_EQ(o.str(0), "ab c");
  CHECK_EQ(o.str(1), "");
  CHECK(!o.is_null(1));
  CHECK_EQ(o.str(2), "");
  CHECK(o.is_null(3));
  CHECK_EQ(o.str(4), "\xc2\xa0x\xc2\xa0");  // U+00A0 is not ASCII whitespace
  CHECK_EQ(o.str(5), "x");

  Binding ln = must("str_len", {DType::kString});
  CHECK(ln.out == DType::kInt64);
  Col b = strs({std::string("ÄbC"), std::string(""), std::nullopt, std::string("日本語"),
                std::string("\xf0\x9f\x98\x80!")});
  Col l = run(ln, {&b});
  CHECK_EQ(l.i[0], 3);
  CHECK_EQ(l.i[1], 0);
  CHECK(!l.is_null(1));
  CHECK(l.is_null(2));
  CHECK_EQ(l.i[3], 3);
  CHECK_EQ(l.i[4], 2);
}

TEST_CASE(str_match) {
  Params p;
  p["pattern"] = P(Scalar::Str("ab"));
  Binding c = must("str_contains", {DType::kString}, p);
  Binding s = must("str_starts_with", {DType::kString}, p);
  Binding e = must("str_ends_with", {DType::kString}, p);
  CHECK(c.out == DType::kBool);
  Col a = strs({std::string("xxaby"), std::string("ab"), std::string("a"), std::string(""),
                std::nullopt, std::string("abxab"), std::string("aab"), std::string("AB")});
  Col rc = run(c, {&a});
  Col rs = run(s, {&a});
  Col re = run(e, {&a});
  const int want_c[] = {1, 1, 0, 0, -1, 1, 1, 0};
  const int want_s[] = {0, 1, 0, 0, -1, 1, 0, 0};
  const int want_e[] = {0, 1, 0, 0, -1, 1, 1, 0};
  for (size_t r = 0; r < a.size(); ++r) {
    if (want_c[r] < 0) {
      CHECK(rc.is_null(r));
      CHECK(rs.is_null(r));
      CHECK(re.is_null(r));
      continue;
    }
    CHECK_EQ(static_cast<int>(rc.b[r]), want_c[r]);
    CHECK_EQ(static_cast<int>(rs.b[r]), want_s[r]);
    CHECK_EQ(static_cast<int>(re.b[r]), want_e[r]);
    CHECK(!rc.is_null(r));
  }

  // Empty pattern: true for every non-null string, including "".
  Params pe;
  pe["pattern"] = P(Scalar::Str(""));
  for (const char* op : {"str_contains", "str_starts_with", "str_ends_with"}) {
    Binding b = must(op, {DType::kString}, pe);
    Col r = run(b, {&a});
    for (size_t i = 0; i < a.size(); ++i) {
      if (a.is_null(i)) {
        CHECK(r.is_null(i));
      } else {
        CHECK_EQ(static_cast<int>(r.b[i]), 1);
      }
    }
  }

  // Non-ASCII and repeated-prefix patterns.
  Params pu;
  pu["pattern"] = P(Scalar::Str("äa"));
  Binding cu = must("str_contains", {DType::kString}, pu);
  Col u = strs({std::string("ääa"), std::string("äá"), std::string("xäa")});
  Col ru = run(cu, {&u});
  CHECK_EQ(static_cast<int>(ru.b[0]), 1);
  CHECK_EQ(static_cast<int>(ru.b[1]), 0);
  CHECK_EQ(static_cast<int>(ru.b[2]), 1);

  CHECK(err("str_contains", {DType::kInt64}, p) == ErrorCode::kTypeError);
  Params bad;
  bad["pattern"] = P(Scalar::Null(DType::kString));
  CHECK(err("str_contains", {DType::kString}, bad) == ErrorCode::kPlanError);
}

TEST_CASE(str_concat_op) {
  Binding b2 = must("str_concat", {DType::kString, DType::kString});
  Col a = strs({std::string("ab"), std::string(""), std::nullopt, std::string("Ä"), std::string("")});
  Col b = strs({std::string("cd"), std::string("x"), std::string("y"), std::nullopt, std::string("")});
  Col o = run(b2, {&a, &b});
  CHECK_EQ(o.str(0), "abcd");
  CHECK_EQ(o.str(1), "x");
  CHECK(o.is_null(2));
  CHECK(o.is_null(3));
  CHECK(!o.is_null(4));
  CHECK_EQ(o.str(4), "");

  Binding b3 = must("str_concat", {DType::kString, DType::kNull, DType::kString});
  CHECK_EQ(b3.arg_types.size(), 3u);
  CHECK(b3.arg_types[1] == DType::kString);
  Col c = strs({std::string("1"), std::string("2"), std::string("3"), std::string("4"),
                std::string("5")});
  Col o3 = run(b3, {&a, &b, &c});
  CHECK_EQ(o3.str(0), "abcd1");
  CHECK_EQ(o3.str(1), "x2");
  CHECK(o3.is_null(3));
  CHECK_EQ(o3.str(4), "5");

  CHECK(err("str_concat", {DType::kString, DType::kInt64}) == ErrorCode::kTypeError);
}

// ---- temporal ----------------------------------------------------------------------

TEST_CASE(dt_fields) {
  // Expected values from Python datetime (years beyond 1..9999 via the 400-year cycle).
  struct Row {
    int64_t us;
    int64_t y, mo, d, h, mi, dow, secs;
  };
  const Row rows[] = {
      {0, 1970, 1, 1, 0, 0, 3, 0},
      {-1, 1969, 12, 31, 23, 59, 2, -1},
      {-86400000000LL, 1969, 12, 31, 0, 0, 2, -86400},
      {-62135596800000000LL, 1, 1, 1, 0, 0, 0, -62135596800LL},
      {-62135596800000001LL, 0, 12, 31, 23, 59, 6, -62135596801LL},
      {253402300799999999LL, 9999, 12, 31, 23, 59, 4, 253402300799LL},
      {951782400000000LL, 2000, 2, 29, 0, 0, 1, 951782400},
      {4107542399000123LL, 2100, 2, 28, 23, 59, 6, 4107542399LL},
      {-2208988800000001LL, 1899, 12, 31, 23, 59, 6, -2208988801LL},
      {1000000000000000000LL, 33658, 9, 27, 1, 46, 4, 1000000000000LL},
      {kI64Min, -290308, 12, 21, 19, 59, 6, -9223372036855LL},
      {kI64Max, 294247, 1, 10, 4, 0, 6, 9223372036854LL},
  };
  std::vector<std::optional<int64_t>> in;
  for (const Row& r : rows) in.push_back(r.us);
  in.push_back(std::nullopt);
  Col t = times(in);
  const char* ops[] = {"dt_year", "dt_month", "dt_day", "dt_hour", "dt_minute",
                       "dt_day_of_week", "dt_epoch_seconds"};
  for (size_t k = 0; k < 7; ++k) {
    Binding b = must(ops[k], {DType::kTimestamp});
    CHECK(b.out == DType::kInt64);
    Col o = run(b, {&t});
    for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); ++r) {
      const int64_t want[] = {rows[r].y, rows[r].mo, rows[r].d, rows[r].h,
                              rows[r].mi, rows[r].dow, rows[r].secs};
      CHECK(!o.is_null(r));
      if (!CHECK_EQ(o.i[r], want[k])) {
        std::fprintf(stderr, "  op %s row %zu\n", ops[k], r);
      }
    }
    CHECK(o.is_null(in.size() - 1));
  }
  Binding bn = must("dt_year", {DType::kNull});
  CHECK(bn.arg_types[0] == DType::kTimestamp);
  CHECK(err("dt_year", {DType::kInt64}) == ErrorCode::kTypeError);
  CHECK(err("dt_hour", {DType::kString}) == ErrorCode::kTypeError);
}

TEST_CASE(dt_diff) {
  Binding b = must("dt_diff_seconds", {DType::kTimestamp, DType::kTimestamp});
  CHECK(b.out == DType::kFloat64);
  Col a = times({1500000, 0, kI64Max, kI64Min, 0, (int64_t{1} << 53) + 1, std::nullopt,
                 -1234567, kI64Max});
  Col c = times({0, 1500000, -1, 1, kI64Min, 0, 5, 0, 0});
  Col o = run(b, {&a, &c});
  CHECK_EQ(o.f[0], 1.5);
  CHECK_EQ(o.f[1], -1.5);
  CHECK(o.is_null(2));  // overflow
  CHECK(o.is_null(3));  // overflow
  CHECK(o.is_null(4));  // 0 - INT64_MIN overflows
  CHECK_EQ(o.f[5], 9007199254.740992);
  CHECK(o.is_null(6));
  CHECK_EQ(o.f[7], -1.234567);
  CHECK_EQ(o.f[8], 9223372036854.775807);  // rounds to the nearest double
  CHECK(!o.is_null(8));
  CHECK(err("dt_diff_seconds", {DType::kTimestamp, DType::kInt64}) == ErrorCode::kTypeError);
}

// ---- hash_bucket -------------------------------------------------------------------

TEST_CASE(hash_bucket_values) {
  // Expected: xxhash.xxh64_intdigest(data, seed=0) % n (Python xxhash package).
  Params p1000;
  p1000["n"] = P(Scalar::Int(1000));
  Binding bs = must("hash_bucket", {DType::kString}, p1000);
  CHECK(bs.out == DType::kInt64);
  Col s = strs({std::string(""), std::string("a"), std::string("hello"), std::string("ÄbC"),
                std::string("user_42"), std::nullopt});
  Col o = run(bs, {&s});
  CHECK_EQ(o.i[0], 921);
  CHECK_EQ(o.i[1], 955);
  CHECK_EQ(o.i[2], 659);
  CHECK_EQ(o.i[3], 248);
  CHECK_EQ(o.i[4], 111);
  CHECK(o.is_null(5));

  Params pmax;
  pmax["n"] = P(Scalar::Int(int64_t{1} << 62));
  Binding bm = must("hash_bucket", {DType::kString}, pmax);
  Col om = run(bm, {&s});
  CHECK_EQ(om.i[0], 3406651198795213209LL);  // 17241709254077376921 % 2^62
  CHECK_EQ(om.i[4], 203696323352323207LL);

  Params p1;
  p1["n"] = P(Scalar::Int(1));
  Col o1 = run(must("hash_bucket", {DType::kString}, p1), {&s});
  for (size_t r = 0; r < 5; ++r) CHECK_EQ(o1.i[r], 0);

  Binding bi = must("hash_bucket", {DType::kInt64}, p1000);
  Col iv = ints({0, 1, -1, 42, kI64Min, kI64Max, std::nullopt});
  Col oi = run(bi, {&iv});
  CHECK_EQ(oi.i[0], 579);
  CHECK_EQ(oi.i[1], 269);
  CHECK_EQ(oi.i[2], 761);
  CHECK_EQ(oi.i[3], 587);
  CHECK_EQ(oi.i[4], 848);
  CHECK_EQ(oi.i[5], 972);
  CHECK(oi.is_null(6));
  Col oim = run(must("hash_bucket", {DType::kInt64}, pmax), {&iv});
  CHECK_EQ(oim.i[1], 2245549191594285461LL);
  CHECK_EQ(oim.i[5], 4571378335383189260LL);

  Binding bn = must("hash_bucket", {DType::kNull}, p1000);
  CHECK(bn.arg_types[0] == DType::kInt64);

  CHECK(err("hash_bucket", {DType::kFloat64}, p1000) == ErrorCode::kTypeError);
  CHECK(err("hash_bucket", {DType::kBool}, p1000) == ErrorCode::kTypeError);
  CHECK(err("hash_bucket", {DType::kTimestamp}, p1000) == ErrorCode::kTypeError);
  Params p0;
  p0["n"] = P(Scalar::Int(0));
  CHECK(err("hash_bucket", {DType::kString}, p0) == ErrorCode::kPlanError);
  Params pneg;
  pneg["n"] = P(Scalar::Int(-5));
  CHECK(err("hash_bucket", {DType::kString}, pneg) == ErrorCode::kPlanError);
  Params pbig;
  pbig["n"] = P(Scalar::Int((int64_t{1} << 62) + 1));
  CHECK(err("hash_bucket", {DType::kString}, pbig) == ErrorCode::kPlanError);
}

// ---- bucketize ---------------------------------------------------------------------

TEST_CASE(bucketize_edges) {
  Params p;
  p["boundaries"] = PL({Scalar::Float(-1.5), Scalar::Int(0), Scalar::Float(2.5), Scalar::Int(10)});
  Binding b = must("bucketize", {DType::kFloat64}, p);
  CHECK(b.out == DType::kInt64);
  CHECK(b.arg_types[0] == DType::kFloat64);
  Col x = floats({-100.0, -1.5, -1.4999, -0.0, 0.0, 1e-300, 2.5, 9.999, 10.0, 1e300, kInf, -kInf,
                  kNaN, std::nullopt, -1.6});
  Col o = run(b, {&x});
  const int64_t want[] = {0, 1, 1, 2, 2, 2, 3, 3, 4, 4, 4, 0, -1, -1, 0};
  for (size_t r = 0; r < x.size(); ++r) {
    if (want[r] < 0) {
      CHECK(o.is_null(r));
    } else {
      CHECK(!o.is_null(r));
      if (!CHECK_EQ(o.i[r], want[r])) std::fprintf(stderr, "  row %zu\n", r);
    }
  }

  // int64 argument: resolved as float64 (the compiler casts).
  Binding bi = must("bucketize", {DType::kInt64}, p);
  CHECK(bi.arg_types[0] == DType::kFloat64);
  Binding bn = must("bucketize", {DType::kNull}, p);
  CHECK(bn.arg_types[0] == DType::kFloat64);

  // Boundary -0.0: 0.0 is on it.
  Params pz;
  pz["boundaries"] = PL({Scalar::Float(-0.0)});
  Col z = floats({0.0, -0.0, -1e-320});
  Col oz = run(must("bucketize", {DType::kFloat64}, pz), {&z});
  CHECK_EQ(oz.i[0], 1);
  CHECK_EQ(oz.i[1], 1);
  CHECK_EQ(oz.i[2], 0);

  // Empty boundaries: 0 for everything but NaN.
  Params pe;
  pe["boundaries"] = PL({});
  Col oe = run(must("bucketize", {DType::kFloat64}, pe), {&x});
  for (size_t r = 0; r < x.size(); ++r) {
    if (want[r] < 0) CHECK(oe.is_null(r));
    else CHECK_EQ(oe.i[r], 0);
  }

  // Param errors.
  Params unsorted;
  unsorted["boundaries"] = PL({Scalar::Float(1.0), Scalar::Float(0.5)});
  CHECK(err("bucketize", {DType::kFloat64}, unsorted) == ErrorCode::kPlanError);
  Params dup;
  dup["boundaries"] = PL({Scalar::Float(1.0), Scalar::Int(1)});
  CHECK(err("bucketize", {DType::kFloat64}, dup) == ErrorCode::kPlanError);
  Params zeros;
  zeros["boundaries"] = PL({Scalar::Float(-0.0), Scalar::Float(0.0)});
  CHECK(err("bucketize", {DType::kFloat64}, zeros) == ErrorCode::kPlanError);
  Params nan;
  nan["boundaries"] = PL({Scalar::Float(0.0), Scalar::Float(kNaN)});
  CHECK(err("bucketize", {DType::kFloat64}, nan) == ErrorCode::kPlanError);
  Params nul;
  nul["boundaries"] = PL({Scalar::Null(DType::kFloat64)});
  CHECK(err("bucketize", {DType::kFloat64}, nul) == ErrorCode::kPlanError);
  CHECK(err("bucketize", {DType::kString}, p) == ErrorCode::kTypeError);
}

// ---- map ---------------------------------------------------------------------------

TEST_CASE(map_string_keys) {
  Params p;
  p["keys"] = PL({Scalar::Str("a"), Scalar::Str("Äb"), Scalar::Str(""), Scalar::Str("n")});
  p["values"] = PL({Scalar::Int(1), Scalar::Float(2.5), Scalar::Int(3), Scalar::Null()});
  p["default"] = P(Scalar::Int(-1));
  Binding b = must("map", {DType::kString}, p);
  CHECK(b.out == DType::kFloat64);  // int64 mixed with float64
  Col a = strs({std::string("a"), std::string("Äb"), std::string(""), std::string("n"),
                std::string("zz"), std::nullopt, std::string("A")});
  Col o = run(b, {&a});
  CHECK_EQ(o.f[0], 1.0);
  CHECK_EQ(o.f[1], 2.5);
  CHECK_EQ(o.f[2], 3.0);
  CHECK(o.is_null(3));   // null value
  CHECK_EQ(o.f[4], -1.0);  // default, converted
  CHECK(o.is_null(5));   // null input never takes the default
  CHECK_EQ(o.f[6], -1.0);  // case-sensitive

  // No default: missing -> null. String values: views into the state.
  Params ps;
  ps["keys"] = PL({Scalar::Str("x"), Scalar::Str("y")});
  ps["values"] = PL({Scalar::Str("ex"), Scalar::Str("")});
  Binding bs = must("map", {DType::kString}, ps);
  CHECK(bs.out == DType::kString);
  Col in = strs({std::string("x"), std::string("y"), std::string("z"), std::nullopt});
  Col os = run(bs, {&in});
  CHECK_EQ(os.str(0), "ex");
  CHECK_EQ(os.str(1), "");
  CHECK(!os.is_null(1));
  CHECK(os.is_null(2));
  CHECK(os.is_null(3));

  // Explicit null default behaves as no default.
  ps["default"] = P(Scalar::Null());
  Col os2 = run(must("map", {DType::kString}, ps), {&in});
  CHECK(os2.is_null(2));
  // A string default.
  ps["default"] = P(Scalar::Str("other"));
  Col os3 = run(must("map", {DType::kString}, ps), {&in});
  CHECK_EQ(os3.str(2), "other");
  CHECK(os3.is_null(3));
}

TEST_CASE(map_int_and_bool_keys) {
  Params p;
  p["keys"] = PL({Scalar::Int(1), Scalar::Int(-7), Scalar::Int(kI64Min)});
  p["values"] = PL({Scalar::Bool(true), Scalar::Bool(false), Scalar::Null(DType::kBool)});
  p["default"] = P(Scalar::Bool(false));
  Binding b = must("map", {DType::kInt64}, p);
  CHECK(b.out == DType::kBool);
  Col a = ints({1, -7, kI64Min, 2, std::nullopt, 0});
  Col o = run(b, {&a});
  CHECK_EQ(static_cast<int>(o.b[0]), 1);
  CHECK_EQ(static_cast<int>(o.b[1]), 0);
  CHECK(!o.is_null(1));
  CHECK(o.is_null(2));
  CHECK_EQ(static_cast<int>(o.b[3]), 0);
  CHECK(!o.is_null(3));
  CHECK(o.is_null(4));

  // Untyped null argument takes the keys' type.
  Binding bn = must("map", {DType::kNull}, p);
  CHECK(bn.arg_types[0] == DType::kInt64);

  Params pb;
  pb["keys"] = PL({Scalar::Bool(true)});
  pb["values"] = PL({Scalar::Str("yes")});
  pb["default"] = P(Scalar::Str("no"));
  Binding bb = must("map", {DType::kBool}, pb);
  CHECK(bb.out == DType::kString);
  Col bv = bools({true, false, std::nullopt});
  Col ob = run(bb, {&bv});
  CHECK_EQ(ob.str(0), "yes");
  CHECK_EQ(ob.str(1), "no");
  CHECK(ob.is_null(2));

  // Only the default is non-null: output type from the default.
  Params pd;
  pd["keys"] = PL({Scalar::Int(5)});
  pd["values"] = PL({Scalar::Null()});
  pd["default"] = P(Scalar::Int(9));
  Binding bd = must("map", {DType::kInt64}, pd);
  CHECK(bd.out == DType::kInt64);
  Col d = ints({5, 6});
  Col od = run(bd, {&d});
  CHECK(od.is_null(0));
  CHECK_EQ(od.i[1], 9);

  // Empty table with a default.
  Params pe;
  pe["keys"] = PL({});
  pe["values"] = PL({});
  pe["default"] = P(Scalar::Float(0.5));
  Col oe = run(must("map", {DType::kInt64}, pe), {&d});
  CHECK_EQ(oe.f[0], 0.5);
  CHECK_EQ(oe.f[1], 0.5);
}

TEST_CASE(map_param_errors) {
  auto mk = [](std::vector<Scalar> k, std::vector<Scalar> v) {
    Params p;
    p["keys"] = PL(std::move(k));
    p["values"] = PL(std::move(v));
    return p;
  };
  // Duplicate keys.
  CHECK(err("map", {DType::kString}, mk({Scalar::Str("a"), Scalar::Str("a")},
                                        {Scalar::Int(1), Scalar::Int(2)})) == ErrorCode::kPlanError);
  CHECK(err("map", {DType::kInt64}, mk({Scalar::Int(3), Scalar::Int(3)},
                                       {Scalar::Int(1), Scalar::Int(2)})) == ErrorCode::kPlanError);
  CHECK(err("map", {DType::kBool}, mk({Scalar::Bool(false), Scalar::Bool(false)},
                                      {Scalar::Int(1), Scalar::Int(2)})) == ErrorCode::kPlanError);
  // Length mismatch.
  CHECK(err("map", {DType::kString}, mk({Scalar::Str("a")}, {})) == ErrorCode::kPlanError);
  // Null key, mixed key types.
  CHECK(err("map", {DType::kString}, mk({Scalar::Null(DType::kString)}, {Scalar::Int(1)})) ==
        ErrorCode::kPlanError);
  CHECK(err("map", {DType::kNull}, mk({Scalar::Str("a"), Scalar::Int(1)},
                                      {Scalar::Int(1), Scalar::Int(2)})) == ErrorCode::kPlanError);
  // Keys not of the argument's type.
  CHECK(err("map", {DType::kString}, mk({Scalar::Int(1)}, {Scalar::Int(1)})) ==
        ErrorCode::kTypeError);
  // Float or timestamp keys are never allowed.
  CHECK(err("map", {DType::kNull}, mk({Scalar::Float(1.0)}, {Scalar::Int(1)})) ==
        ErrorCode::kPlanError);
  // Unsupported argument types.
  CHECK(err("map", {DType::kFloat64}, mk({Scalar::Float(1.0)}, {Scalar::Int(1)})) !=
        ErrorCode::kOk);
  CHECK(err("map", {DType::kTimestamp}, mk({}, {})) == ErrorCode::kTypeError);
  // Mixed value types.
  CHECK(err("map", {DType::kString}, mk({Scalar::Str("a"), Scalar::Str("b")},
                                        {Scalar::Int(1), Scalar::Str("x")})) == ErrorCode::kPlanError);
  // Timestamp values.
  CHECK(err("map", {DType::kString}, mk({Scalar::Str("a")}, {Scalar::Time(1)})) ==
        ErrorCode::kPlanError);
  // All values null and no default.
  CHECK(err("map", {DType::kString}, mk({Scalar::Str("a")}, {Scalar::Null()})) ==
        ErrorCode::kPlanError);
  CHECK(err("map", {DType::kString}, mk({}, {})) == ErrorCode::kPlanError);
  // Default that does not fit the values.
  Params pd = mk({Scalar::Str("a")}, {Scalar::Int(1)});
  pd["default"] = P(Scalar::Float(1.5));
  CHECK(err("map", {DType::kString}, pd) == ErrorCode::kPlanError);
  pd["default"] = P(Scalar::Str("x"));
  CHECK(err("map", {DType::kString}, pd) == ErrorCode::kPlanError);
}
