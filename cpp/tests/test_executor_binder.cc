// Tests of the binder (strict bind_plan), the compiler passes (optimize_plan), the
// executor (Program::transform / transform_matrix over hand-built Arrow C Data Interface
// arrays) against the row path (RowRunner), and of the registry's completeness.
//
// Arrow arrays are built by hand here: buffers are owned by the test, release callbacks
// are no-ops (the core never calls them). Null rows deliberately carry garbage payloads
// (huge uint64 values, out-of-range seconds, non-empty string bytes) that the core must
// ignore.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "check.h"
#include "test_support.h"
#include "featureplat/arrow_abi.h"
#include "featureplat/executor.h"
#include "featureplat/plan.h"
#include "featureplat/registry.h"
#include "featureplat/status.h"
#include "featureplat/types.h"

using namespace featureplat;

using namespace featureplat_test;

namespace {

constexpr int64_t kI64Min = std::numeric_limits<int64_t>::min();
constexpr int64_t kI64Max = std::numeric_limits<int64_t>::max();

// ---- small helpers -------------------------------------------------------------------

bool has(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

Param P(Scalar s) {
  Param p;
  p.values.push_back(std::move(s));
  return p;
}

Param PL(std::vector<Scalar> v) {
  Param p;
  p.is_list = true;
  p.values = std::move(v);
  return p;
}

PlanStep step(const std::string& op, std::vector<int32_t> args, DType dtype, Params params = {}) {
  PlanStep s;
  s.op = op;
  s.args = std::move(args);
  s.dtype = dtype;
  s.params = std::move(params);
  return s;
}

// The single scalar of parameter `name` of a step, or a placeholder (flagged as a failed
// check) when the step has no such parameter. Never throws.
const Scalar& param_of(const PlanStep& st, const char* name) {
  static const Scalar missing = Scalar::Str("<missing parameter>");
  auto it = st.params.find(name);
  if (!CHECK(it != st.params.end() && it->second.values.size() == 1)) {
    std::fprintf(stderr, "  step %s has no single parameter '%s'\n", st.op.c_str(), name);
    return missing;
  }
  return it->second.values[0];
}

PlanStep input_step(int64_t index, DType dtype) { return step("input", {}, dtype, {{"index", P(Scalar::Int(index))}}); }
PlanStep const_step(const Scalar& v) { return step("const", {}, v.type, {{"value", P(v)}}); }

// Builds a plan for optimize_plan (recorded dtypes are left as kNull: the optimizer
// computes them).
struct Builder {
  PlanSpec spec;
  int32_t push(const std::string& op, std::vector<int32_t> args, Params params = {}) {
    spec.steps.push_back(step(op, std::move(args), DType::kNull, std::move(params)));
    return static_cast<int32_t>(spec.steps.size() - 1);
  }
  int32_t declare(const std::string& name, DType t) {
    spec.inputs.push_back({name, t});
    return push("input", {}, {{"index", P(Scalar::Int(static_cast<int64_t>(spec.inputs.size() - 1)))}});
  }
  int32_t lit(const Scalar& v) { return push("const", {}, {{"value", P(v)}}); }
  int32_t op(const std::string& name, std::vector<int32_t> args, Params params = {}) {
    return push(name, std::move(args), std::move(params));
  }
  void out(const std::string& name, int32_t s) { spec.outputs.push_back({name, s}); }
};

std::shared_ptr<Program> compile(const PlanSpec& spec) {
  Result<PlanSpec> opt = optimize_plan(spec);
  if (!CHECK(opt.ok())) {
    std::fprintf(stderr, "  optimize_plan: %s\n", opt.status().message().c_str());
    return nullptr;
  }
  Result<std::shared_ptr<Program>> p = Program::Make(opt.value());
  if (!CHECK(p.ok())) {
    std::fprintf(stderr, "  Program::Make: %s\n", p.status().message().c_str());
    return nullptr;
  }
  return p.value();
}

// Checks a failed bind: code, step index and message fragments.
void expect_bind_error(const PlanSpec& spec, ErrorCode code, int64_t index,
                       const std::vector<std::string>& fragments, int line) {
  Result<BoundPlan> r = bind_plan(spec);
  if (!CHECK(!r.ok())) {
    std::fprintf(stderr, "  (line %d) bind_plan unexpectedly succeeded\n", line);
    return;
  }
  const Status& st = r.status();
  if (!CHECK_EQ(static_cast<int>(st.code()), static_cast<int>(code)) ||
      !CHECK_EQ(st.index(), index)) {
    std::fprintf(stderr, "  (line %d) message: %s\n", line, st.message().c_str());
  }
  for (const std::string& f : fragments) {
    if (!CHECK(has(st.message(), f))) {
      std::fprintf(stderr, "  (line %d) message %s lacks %s\n", line, st.message().c_str(), f.c_str());
    }
  }
  // Program::Make binds with the same function and must report the same error.
  Result<std::shared_ptr<Program>> p = Program::Make(spec);
  CHECK(!p.ok());
  CHECK_EQ(p.status().message(), st.message());
}

#define EXPECT_BIND_ERROR(spec, code, index, ...) \
  expect_bind_error((spec), (code), (index), std::vector<std::string>{__VA_ARGS__}, __LINE__)

// A valid strict plan: inputs a (int64), b (float64); a + 1, b * 2.0.
PlanSpec good_plan() {
  PlanSpec s;
  s.inputs = {{"a", DType::kInt64}, {"b", DType::kFloat64}};
  s.steps.push_back(input_step(0, DType::kInt64));            // 0
  s.steps.push_back(input_step(1, DType::kFloat64));          // 1
  s.steps.push_back(const_step(Scalar::Int(1)));              // 2
  s.steps.push_back(step("add", {0, 2}, DType::kInt64));      // 3
  s.steps.push_back(const_step(Scalar::Float(2.0)));          // 4
  s.steps.push_back(step("mul", {1, 4}, DType::kFloat64));    // 5
  s.outputs = {{"a1", 3}, {"b2", 5}};
  return s;
}

// ---- hand-built Arrow arrays -----------------------------------------------------------

void release_schema_noop(ArrowSchema* s) {
  if (s) s->release = nullptr;
}
void release_array_noop(ArrowArray* a) {
  if (a) a->release = nullptr;
}

enum class Enc { kF64, kF32, kI64, kI32, kU64, kUtf8, kLargeUtf8, kTsU, kTsN, kTsS, kTsM, kBool, kNullArr };
enum class Validity { kNoBitmap, kBitmap, kBitmapUnknownCount };

const char* enc_format(Enc e) {
  switch (e) {
    case Enc::kF64: return "g";
    case Enc::kF32: return "f";
    case Enc::kI64: return "l";
    case Enc::kI32: return "i";
    case Enc::kU64: return "L";
    case Enc::kUtf8: return "u";
    case Enc::kLargeUtf8: return "U";
    case Enc::kTsU: return "tsu:UTC";
    case Enc::kTsN: return "tsn:+01:00";  // any zone: Arrow timestamps are UTC instants
    case Enc::kTsS: return "tss:UTC";
    case Enc::kTsM: return "tsm:Europe/Paris";
    case Enc::kBool: return "b";
    case Enc::kNullArr: return "n";
  }
  return "?";
}

// One logical cell: which payload field applies depends on the encoding.
struct Cell {
  bool valid = true;
  int64_t i = 0;   // integers and timestamps (in the column's unit)
  uint64_t u = 0;  // kU64
  double f = 0.0;  // kF64, kF32 (representable as float)
  bool b = false;  // kBool
  std::string s;   // strings
};

// An Arrow array plus its schema, owning every buffer. Not movable (self-pointers).
struct ArrowCol {
  std::string format;
  std::vector<uint8_t> bitmap;
  std::vector<uint8_t> values;
  std::vector<char> chars;
  const void* buffers[3] = {nullptr, nullptr, nullptr};
  ArrowSchema schema{};
  ArrowArray array{};
  ArrowSchema dict_schema{};  // used only by the dictionary test
  ArrowCol() = default;
  ArrowCol(const ArrowCol&) = delete;
  ArrowCol& operator=(const ArrowCol&) = delete;
};

void set_bit(std::vector<uint8_t>& bm, int64_t i, bool v) {
  if (v) bm[i >> 3] = static_cast<uint8_t>(bm[i >> 3] | (1u << (i & 7)));
  else bm[i >> 3] = static_cast<uint8_t>(bm[i >> 3] & ~(1u << (i & 7)));
}

template <typename T>
void put(std::vector<uint8_t>& buf, int64_t i, T v) {
  std::memcpy(buf.data() + i * sizeof(T), &v, sizeof(T));
}

// Encodes `cells` as an Arrow array of encoding `e`, starting at element `offset` of the
// buffers. Null rows (and the rows before `offset`) hold garbage payloads.
std::unique_ptr<ArrowCol> encode(Enc e, const std::vector<Cell>& cells, int64_t offset, Validity validity) {
  auto col = std::make_unique<ArrowCol>();
  const int64_t n = static_cast<int64_t>(cells.size());
  const int64_t total = offset + n;
  int64_t nulls = 0;
  for (const Cell& c : cells) nulls += !c.valid;
  if (nulls > 0 && validity == Validity::kNoBitmap) validity = Validity::kBitmap;
  col->format = enc_format(e);
  col->bitmap.assign(static_cast<size_t>((total + 7) / 8 + 1), 0xFF);
  for (int64_t r = 0; r < offset; ++r) set_bit(col->bitmap, r, (r & 1) != 0);  // garbage before offset
  for (int64_t r = 0; r < n; ++r) set_bit(col->bitmap, offset + r, cells[r].valid);
  int nbuf = 2;
  switch (e) {
    case Enc::kF64:
      col->values.assign(static_cast<size_t>(total * 8), 0xEE);
      for (int64_t r = 0; r < n; ++r) {
        if (cells[r].valid) put<double>(col->values, offset + r, cells[r].f);
        else put<uint64_t>(col->values, offset + r, 0x7FF0000000000123ULL);  // a signalling NaN
      }
      break;
    case Enc::kF32:
      col->values.assign(static_cast<size_t>(total * 4), 0xEE);
      for (int64_t r = 0; r < n; ++r) {
        if (cells[r].valid) put<float>(col->values, offset + r, static_cast<float>(cells[r].f));
      }
      break;
    case Enc::kI64:
    case Enc::kTsU:
    case Enc::kTsN:
    case Enc::kTsS:
    case Enc::kTsM:
      col->values.assign(static_cast<size_t>(total * 8), 0xEE);
      for (int64_t r = 0; r < n; ++r) {
        // Null rows hold INT64_MAX: converting it from seconds/milliseconds would overflow.
        put<int64_t>(col->values, offset + r, cells[r].valid ? cells[r].i : kI64Max);
      }
      break;
    case Enc::kI32:
      col->values.assign(static_cast<size_t>(total * 4), 0xEE);
      for (int64_t r = 0; r < n; ++r) {
        put<int32_t>(col->values, offset + r, cells[r].valid ? static_cast<int32_t>(cells[r].i) : -7);
      }
      break;
    case Enc::kU64:
      col->values.assign(static_cast<size_t>(total * 8), 0xEE);
      for (int64_t r = 0; r < n; ++r) {
        // Null rows hold a value above INT64_MAX, which must not be reported.
        put<uint64_t>(col->values, offset + r, cells[r].valid ? cells[r].u : ~uint64_t{0});
      }
      break;
    case Enc::kBool:
      col->values.assign(static_cast<size_t>((total + 7) / 8 + 1), 0xA5);
      for (int64_t r = 0; r < n; ++r) {
        if (cells[r].valid) set_bit(col->values, offset + r, cells[r].b);
      }
      break;
    case Enc::kUtf8:
    case Enc::kLargeUtf8: {
      nbuf = 3;
      const bool large = e == Enc::kLargeUtf8;
      col->values.assign(static_cast<size_t>((total + 1) * (large ? 8 : 4)), 0);
      int64_t pos = 0;
      auto put_off = [&](int64_t idx, int64_t v) {
        if (large) put<int64_t>(col->values, idx, v);
        else put<int32_t>(col->values, idx, static_cast<int32_t>(v));
      };
      for (int64_t r = 0; r < total; ++r) {
        put_off(r, pos);
        std::string text;
        if (r < offset) text = "before-offset";
        else if (!cells[r - offset].valid) text = (r % 3 == 0) ? "" : "NULL-GARBAGE";
        else text = cells[r - offset].s;
        col->chars.insert(col->chars.end(), text.begin(), text.end());
        pos += static_cast<int64_t>(text.size());
      }
      put_off(total, pos);
      break;
    }
    case Enc::kNullArr:
      nbuf = 0;
      nulls = n;
      break;
  }
  col->buffers[0] = validity == Validity::kNoBitmap ? nullptr : col->bitmap.data();
  col->buffers[1] = col->values.empty() ? nullptr : col->values.data();
  col->buffers[2] = col->chars.empty() ? nullptr : col->chars.data();
  col->schema.format = col->format.c_str();
  col->schema.name = "col";
  col->schema.metadata = nullptr;
  col->schema.flags = ARROW_FLAG_NULLABLE;
  col->schema.n_children = 0;
  col->schema.children = nullptr;
  col->schema.dictionary = nullptr;
  col->schema.release = release_schema_noop;
  col->schema.private_data = nullptr;
  col->array.length = n;
  col->array.null_count = e == Enc::kNullArr ? n
                          : validity == Validity::kBitmap ? nulls
                          : validity == Validity::kBitmapUnknownCount ? -1 : 0;
  col->array.offset = e == Enc::kNullArr ? 0 : offset;
  col->array.n_buffers = nbuf;
  col->array.n_children = 0;
  col->array.buffers = nbuf == 0 ? nullptr : col->buffers;
  col->array.children = nullptr;
  col->array.dictionary = nullptr;
  col->array.release = release_array_noop;
  col->array.private_data = nullptr;
  return col;
}

int64_t floor_div_1000(int64_t v) { return v / 1000 - ((v % 1000) < 0 ? 1 : 0); }

// The value the row path is given for a cell (what a caller reading the same data row by
// row hands to RowRunner::set_input). Timestamp units are converted independently here.
SourceValue to_source(Enc e, const Cell& c) {
  SourceValue v;
  if (!c.valid || e == Enc::kNullArr) return v;
  switch (e) {
    case Enc::kF64: v.kind = SourceKind::kFloat64; v.f = c.f; break;
    case Enc::kF32: v.kind = SourceKind::kFloat32; v.f = static_cast<double>(static_cast<float>(c.f)); break;
    case Enc::kI64:
    case Enc::kI32: v.kind = SourceKind::kInt64; v.i = c.i; break;
    case Enc::kU64: v.kind = SourceKind::kUInt64; v.u = c.u; break;
    case Enc::kUtf8:
    case Enc::kLargeUtf8:
      v.kind = SourceKind::kString;
      v.s = StrView{c.s.empty() ? "" : c.s.data(), static_cast<uint32_t>(c.s.size())};
      break;
    case Enc::kTsU: v.kind = SourceKind::kTimestamp; v.i = c.i; break;
    case Enc::kTsN: v.kind = SourceKind::kTimestamp; v.i = floor_div_1000(c.i); break;
    // Out-of-range values (used by the error tests) wrap; the batch path rejects them.
    case Enc::kTsS: v.kind = SourceKind::kTimestamp; __builtin_mul_overflow(c.i, int64_t{1000000}, &v.i); break;
    case Enc::kTsM: v.kind = SourceKind::kTimestamp; __builtin_mul_overflow(c.i, int64_t{1000}, &v.i); break;
    case Enc::kBool: v.kind = SourceKind::kBool; v.b = c.b; break;
    case Enc::kNullArr: break;
  }
  return v;
}

// ---- random cells ----------------------------------------------------------------------

const std::vector<std::string>& string_pool() {
  static const std::vector<std::string> pool = {
      "", "a", "abc", "ABC", "b", "hello world", "  padded\t\n", "\xC3\x84" "bC",  // "ÄbC"
      "caf\xC3\xA9", "x_b_y", "1", "-42", "3.25", "1e308", "nan", "inf", "true", "0",
      "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"};
  return pool;
}

Cell random_cell(Rng& rng, Enc e, int null_percent) {
  Cell c;
  if (e == Enc::kNullArr) { c.valid = false; return c; }
  if (rng.chance(null_percent)) { c.valid = false; return c; }
  switch (e) {
    case Enc::kF64: {
      static const std::vector<double> specials = {
          0.0, -0.0, std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(),
          -std::numeric_limits<double>::infinity(), 1e308, -1e308, 4.9e-324, 0.1, 0.5, -0.5, 1.5,
          9007199254740993.0, 1e16, 100.0, -1.0};
      if (rng.chance(20)) c.f = rng.pick(specials);
      else if (rng.chance(5)) {
        uint64_t bits = rng.next();
        std::memcpy(&c.f, &bits, 8);  // any bit pattern, NaN payloads included
      } else c.f = static_cast<double>(rng.in(-2000000, 2000000)) / 1000.0;
      break;
    }
    case Enc::kF32: {
      static const std::vector<float> specials = {0.0f, -0.0f, std::numeric_limits<float>::quiet_NaN(),
                                                  std::numeric_limits<float>::infinity(), 3.4e38f, 1e-45f,
                                                  0.1f, -2.5f};
      float x = rng.chance(20) ? rng.pick(specials) : static_cast<float>(rng.in(-100000, 100000)) / 64.0f;
      c.f = static_cast<double>(x);
      break;
    }
    case Enc::kI64: {
      static const std::vector<int64_t> specials = {0, 1, -1, kI64Min, kI64Max, kI64Min + 1,
                                                    9007199254740993LL, 1000, -1000};
      if (rng.chance(15)) c.i = rng.pick(specials);
      else if (rng.chance(10)) c.i = static_cast<int64_t>(rng.next());
      else c.i = rng.in(-100000, 100000);
      break;
    }
    case Enc::kI32: {
      static const std::vector<int64_t> specials = {0, 1, -1, std::numeric_limits<int32_t>::min(),
                                                    std::numeric_limits<int32_t>::max()};
      c.i = rng.chance(15) ? rng.pick(specials) : rng.in(-5000, 5000);
      break;
    }
    case Enc::kU64:
      c.u = rng.chance(10) ? static_cast<uint64_t>(kI64Max) : rng.chance(30) ? rng.next() >> 1 : rng.next() % 100000;
      break;
    case Enc::kUtf8:
    case Enc::kLargeUtf8:
      if (rng.chance(80)) c.s = rng.pick(string_pool());
      else {
        size_t len = rng.next() % 12;
        for (size_t k = 0; k < len; ++k) c.s += static_cast<char>('a' + rng.next() % 4);
      }
      break;
    case Enc::kTsU:
      if (rng.chance(10)) c.i = rng.pick(std::vector<int64_t>{kI64Min, kI64Max, -1, 0, 1});
      else if (rng.chance(10)) c.i = static_cast<int64_t>(rng.next());
      else c.i = rng.in(-4000000000000000LL, 4000000000000000LL);
      break;
    case Enc::kTsN:
      if (rng.chance(10)) c.i = rng.pick(std::vector<int64_t>{kI64Min, kI64Max, -1, -999, -1000, -1001, 999});
      else c.i = static_cast<int64_t>(rng.next());
      break;
    case Enc::kTsS: c.i = rng.in(-kI64Max / 1000000, kI64Max / 1000000); break;
    case Enc::kTsM: c.i = rng.in(-kI64Max / 1000, kI64Max / 1000); break;
    case Enc::kBool: c.b = (rng.next() & 1) != 0; break;
    case Enc::kNullArr: break;
  }
  return c;
}

// One batch: per input, its cells, Arrow column and row-path values.
struct Batch {
  std::vector<Enc> encs;
  std::vector<std::vector<Cell>> cells;
  std::vector<std::unique_ptr<ArrowCol>> cols;
  std::vector<std::vector<SourceValue>> src;
  BatchInput input;
  Batch() = default;
  Batch(const Batch&) = delete;
};

// Builds a batch from per-input cells (call once the cells are final).
std::unique_ptr<Batch> make_batch(std::vector<Enc> encs, std::vector<std::vector<Cell>> cells,
                                  std::vector<int64_t> offsets, std::vector<Validity> validity, int64_t length) {
  auto b = std::make_unique<Batch>();
  b->encs = std::move(encs);
  b->cells = std::move(cells);
  for (size_t i = 0; i < b->encs.size(); ++i) {
    b->cols.push_back(encode(b->encs[i], b->cells[i], offsets[i], validity[i]));
    std::vector<SourceValue> sv;
    for (const Cell& c : b->cells[i]) sv.push_back(to_source(b->encs[i], c));
    b->src.push_back(std::move(sv));
    b->input.schemas.push_back(&b->cols.back()->schema);
    b->input.arrays.push_back(&b->cols.back()->array);
  }
  b->input.length = length;
  return b;
}

std::unique_ptr<Batch> random_batch(Rng& rng, const std::vector<Enc>& encs, int64_t length, int salt) {
  std::vector<std::vector<Cell>> cells(encs.size());
  std::vector<int64_t> offsets;
  std::vector<Validity> validity;
  for (size_t i = 0; i < encs.size(); ++i) {
    const int mode = static_cast<int>((salt + i) % 3);
    validity.push_back(mode == 0 ? Validity::kNoBitmap : mode == 1 ? Validity::kBitmap : Validity::kBitmapUnknownCount);
    offsets.push_back(static_cast<int64_t>((salt * 5 + i * 3) % 11));
    const int null_percent = mode == 0 ? 0 : 12;
    for (int64_t r = 0; r < length; ++r) cells[i].push_back(random_cell(rng, encs[i], null_percent));
  }
  return make_batch(encs, std::move(cells), offsets, validity, length);
}

std::vector<BatchInput> inputs_of(const std::vector<std::unique_ptr<Batch>>& batches) {
  std::vector<BatchInput> v;
  for (const auto& b : batches) v.push_back(b->input);
  return v;
}

// ---- comparing the batch path with the row path ------------------------------------------

std::string show_slot(const Slot& s) {
  if (!s.valid[0]) return "null";
  char buf[64];
  switch (s.type) {
    case DType::kBool: return s.as<uint8_t>()[0] ? "true" : "false";
    case DType::kFloat64: {
      uint64_t bits;
      std::memcpy(&bits, s.data, 8);
      std::snprintf(buf, sizeof buf, "%.17g (0x%016llx)", s.as<double>()[0], static_cast<unsigned long long>(bits));
      return buf;
    }
    case DType::kString: return "\"" + std::string(s.as<StrView>()[0].ptr, s.as<StrView>()[0].len) + "\"";
    default:
      std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(s.as<int64_t>()[0]));
      return buf;
  }
}

// True when row `g` of `col` equals the row path's slot (validity, then payload bit for
// bit or by string contents). Also checks the batch path's deterministic null payloads.
// Unpacked views of an OutputColumn, for readable expectations.
std::vector<int64_t> offsets_of(const OutputColumn& c) {
  const int64_t* o = c.offsets.as<int64_t>();
  return std::vector<int64_t>(o, o + c.offsets.size() / 8);
}
std::string chars_of(const OutputColumn& c) {
  return std::string(reinterpret_cast<const char*>(c.chars.data()), c.chars.size());
}
std::vector<uint8_t> bools_of(const OutputColumn& c) {
  std::vector<uint8_t> v;
  for (int64_t i = 0; i < c.length; ++i) v.push_back((c.data.data()[i >> 3] >> (i & 7)) & 1);
  return v;
}
std::vector<uint8_t> valid_of(const OutputColumn& c) {
  std::vector<uint8_t> v;
  for (int64_t i = 0; i < c.length; ++i) v.push_back(c.is_valid(i) ? 1 : 0);
  return v;
}

bool same(const OutputColumn& col, int64_t g, const Slot& row, std::string* why) {
  const bool bv = col.is_valid(g);
  const bool rv = row.valid[0] != 0;
  if (bv != rv) { *why = "validity differs"; return false; }
  if (col.type == DType::kString) {
    const int64_t a = col.offsets.as<int64_t>()[g], b = col.offsets.as<int64_t>()[g + 1];
    const char* chars = reinterpret_cast<const char*>(col.chars.data());
    if (!bv) {
      if (a != b) { *why = "null string with bytes"; return false; }
      return true;
    }
    const StrView v = row.as<StrView>()[0];
    if (b - a != static_cast<int64_t>(v.len) || (v.len && std::memcmp(chars + a, v.ptr, v.len) != 0)) {
      *why = "string \"" + std::string(chars + a, static_cast<size_t>(b - a)) + "\"";
      return false;
    }
    return true;
  }
  if (col.type == DType::kBool) {
    const bool bit = (col.data.data()[g >> 3] >> (g & 7)) & 1;
    if (!bv) {
      if (bit) { *why = "null row with a non-zero payload"; return false; }
      return true;
    }
    if (bit != (row.as<uint8_t>()[0] != 0)) { *why = std::string("batch value ") + (bit ? "1" : "0"); return false; }
    return true;
  }
  const size_t w = 8;
  const uint8_t* p = col.data.data() + g * w;
  if (!bv) {
    for (size_t k = 0; k < w; ++k) {
      if (p[k] != 0) { *why = "null row with a non-zero payload"; return false; }
    }
    return true;
  }
  if (std::memcmp(p, row.data, w) != 0) {
    char buf[80];
    if (col.type == DType::kFloat64) {
      double d;
      std::memcpy(&d, p, 8);
      std::snprintf(buf, sizeof buf, "%.17g", d);
    } else {
      int64_t x;
      std::memcpy(&x, p, 8);
      std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(x));
    }
    *why = std::string("batch value ") + buf;
    return false;
  }
  return true;
}

// Runs every row through RowRunner and compares it with the batch output.
void compare_with_row_path(const std::shared_ptr<Program>& prog, const std::vector<std::unique_ptr<Batch>>& batches,
                           const std::vector<OutputColumn>& out) {
  RowRunner rr(prog);
  const BoundPlan& plan = prog->plan();
  int64_t g = 0, mismatches = 0, set_errors = 0;
  for (const auto& b : batches) {
    for (int64_t r = 0; r < b->input.length; ++r, ++g) {
      for (size_t i = 0; i < plan.inputs.size(); ++i) {
        Status st = rr.set_input(static_cast<int>(i), b->src[i][r]);
        if (!st.ok() && ++set_errors <= 5) {
          std::fprintf(stderr, "  set_input(%zu) at row %lld: %s\n", i, static_cast<long long>(g), st.message().c_str());
        }
      }
      rr.run();
      for (size_t j = 0; j < plan.outputs.size(); ++j) {
        std::string why;
        if (!same(out[j], g, rr.output(static_cast<int>(j)), &why)) {
          if (++mismatches <= 10) {
            std::fprintf(stderr, "  row %lld output '%s': row path %s, %s\n", static_cast<long long>(g),
                         plan.outputs[j].name.c_str(), show_slot(rr.output(static_cast<int>(j))).c_str(), why.c_str());
          }
        }
      }
    }
  }
  CHECK_EQ(set_errors, 0);
  CHECK_EQ(mismatches, 0);
}

bool same_buffer(const Buffer& a, const Buffer& b) {
  return a.size() == b.size() && (a.size() == 0 || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

bool same_columns(const std::vector<OutputColumn>& a, const std::vector<OutputColumn>& b) {
  if (a.size() != b.size()) return false;
  for (size_t j = 0; j < a.size(); ++j) {
    if (a[j].type != b[j].type || a[j].length != b[j].length || !same_buffer(a[j].validity, b[j].validity) ||
        !same_buffer(a[j].data, b[j].data) || !same_buffer(a[j].offsets, b[j].offsets) ||
        !same_buffer(a[j].chars, b[j].chars) || a[j].null_count != b[j].null_count) {
      std::fprintf(stderr, "  output %zu differs between runs\n", j);
      return false;
    }
  }
  return true;
}

void check_column_shape(const OutputColumn& c, int64_t rows) {
  CHECK_EQ(c.length, rows);
  int64_t nulls = 0;
  for (int64_t i = 0; i < rows; ++i) nulls += !c.is_valid(i);
  CHECK_EQ(c.null_count, nulls);
  CHECK_EQ(c.validity.size(), c.null_count ? static_cast<size_t>((rows + 7) / 8) : size_t{0});
  if (c.type == DType::kString) {
    CHECK_EQ(c.offsets.size(), static_cast<size_t>(rows + 1) * 8);
    if (!c.offsets.empty()) {
      CHECK_EQ(c.offsets.as<int64_t>()[0], 0);
      CHECK_EQ(c.offsets.as<int64_t>()[rows], static_cast<int64_t>(c.chars.size()));
    }
    CHECK(c.data.empty());
  } else if (c.type == DType::kBool) {
    CHECK_EQ(c.data.size(), static_cast<size_t>((rows + 7) / 8));
  } else {
    CHECK_EQ(c.data.size(), static_cast<size_t>(rows) * 8);
  }
}

// ---- the wide plan used by the executor parity test ----------------------------------------

enum WideInput { kX, kN, kK, kH, kS, kT, kT2, kFlag, kU, kMaybe, kNumWide };

PlanSpec wide_plan() {
  Builder p;
  const int32_t x = p.declare("x", DType::kFloat64);
  const int32_t n = p.declare("n", DType::kInt64);
  const int32_t k = p.declare("k", DType::kInt64);
  const int32_t h = p.declare("h", DType::kFloat32);
  const int32_t s = p.declare("s", DType::kString);
  const int32_t t = p.declare("t", DType::kTimestamp);
  const int32_t t2 = p.declare("t2", DType::kTimestamp);
  const int32_t flag = p.declare("flag", DType::kBool);
  const int32_t u = p.declare("u", DType::kInt64);
  const int32_t maybe = p.declare("maybe", DType::kString);

  p.out("x", x);
  p.out("n", n);
  p.out("h", h);
  p.out("s", s);
  p.out("t", t);
  p.out("t2", t2);
  p.out("flag", flag);
  p.out("u", u);
  p.out("maybe", maybe);
  p.out("add_xn", p.op("add", {x, n}));
  p.out("mul_nk", p.op("mul", {n, k}));
  p.out("sub_nu", p.op("sub", {n, u}));
  p.out("floordiv_nk", p.op("floordiv", {n, k}));
  p.out("mod_nk", p.op("mod", {n, k}));
  p.out("mod_xh", p.op("mod", {x, h}));
  p.out("div_hx", p.op("div", {h, x}));
  p.out("pow_hk", p.op("pow", {h, k}));
  p.out("neg_n", p.op("neg", {n}));
  p.out("log1p_abs_x", p.op("log1p", {p.op("abs", {x})}));
  p.out("sqrt_h", p.op("sqrt", {h}));
  p.out("exp_h", p.op("exp", {h}));
  p.out("round_x", p.op("round", {x}, {{"ndigits", P(Scalar::Int(2))}}));
  p.out("clip_x", p.op("clip", {x}, {{"lo", P(Scalar::Int(-1))}, {"hi", P(Scalar::Float(1.5))}}));
  p.out("sign_n", p.op("sign", {n}));
  p.out("lt_xh", p.op("lt", {x, h}));
  p.out("eq_nk", p.op("eq", {n, k}));
  p.out("ge_tt2", p.op("ge", {t, t2}));
  p.out("logic", p.op("or", {p.op("and", {flag, p.op("gt", {n, p.lit(Scalar::Int(0))})}),
                             p.op("not", {p.op("ne", {s, p.lit(Scalar::Str("abc"))})})}));
  p.out("if_str", p.op("if_else", {flag, p.op("str_upper", {s}),
                                   p.op("str_concat", {s, p.lit(Scalar::Str("_z")), maybe})}));
  p.out("if_num", p.op("if_else", {p.op("lt", {x, p.lit(Scalar::Int(0))}), n, x}));
  p.out("str_len", p.op("str_len", {s}));
  p.out("str_strip", p.op("str_strip", {s}));
  p.out("str_lower", p.op("str_lower", {s}));
  p.out("contains_b", p.op("str_contains", {s}, {{"pattern", P(Scalar::Str("b"))}}));
  p.out("starts", p.op("str_starts_with", {s}, {{"pattern", P(Scalar::Str("a"))}}));
  p.out("ends", p.op("str_ends_with", {maybe}, {{"pattern", P(Scalar::Str("c"))}}));
  p.out("year", p.op("dt_year", {t}));
  p.out("month", p.op("dt_month", {t2}));
  p.out("day", p.op("dt_day", {t}));
  p.out("hour", p.op("dt_hour", {t2}));
  p.out("minute", p.op("dt_minute", {t}));
  p.out("dow", p.op("dt_day_of_week", {t2}));
  p.out("epoch", p.op("dt_epoch_seconds", {t}));
  p.out("diff", p.op("dt_diff_seconds", {t, t2}));
  p.out("t2_str", p.op("cast", {t2}, {{"dtype", P(Scalar::Str("string"))}}));
  p.out("x_str", p.op("cast", {x}, {{"dtype", P(Scalar::Str("string"))}}));
  p.out("n_str", p.op("cast", {n}, {{"dtype", P(Scalar::Str("string"))}}));
  p.out("s_float", p.op("cast", {s}, {{"dtype", P(Scalar::Str("float64"))}}));
  p.out("s_int", p.op("cast", {s}, {{"dtype", P(Scalar::Str("int64"))}}));
  p.out("s_bool", p.op("cast", {s}, {{"dtype", P(Scalar::Str("bool"))}}));
  p.out("x_int", p.op("cast", {x}, {{"dtype", P(Scalar::Str("int64"))}}));
  p.out("n_ts", p.op("cast", {n}, {{"dtype", P(Scalar::Str("timestamp"))}}));
  p.out("flag_float", p.op("cast", {flag}, {{"dtype", P(Scalar::Str("float64"))}}));
  p.out("hb_s", p.op("hash_bucket", {s}, {{"n", P(Scalar::Int(17))}}));
  p.out("hb_n", p.op("hash_bucket", {n}, {{"n", P(Scalar::Int(1000003))}}));
  p.out("bucket", p.op("bucketize", {x}, {{"boundaries", PL({Scalar::Int(-1), Scalar::Float(0.0),
                                                               Scalar::Float(0.5), Scalar::Int(100)})}}));
  p.out("map_s", p.op("map", {s}, {{"keys", PL({Scalar::Str("a"), Scalar::Str("abc"), Scalar::Str("")})},
                                   {"values", PL({Scalar::Int(1), Scalar::Float(2.5), Scalar::Null()})},
                                   {"default", P(Scalar::Int(-1))}}));
  p.out("coalesce", p.op("coalesce", {maybe, s, p.lit(Scalar::Str("none"))}));
  p.out("coalesce_num", p.op("coalesce", {x, h, n}));
  p.out("fill_null", p.op("fill_null", {n, k}));
  p.out("fill_nan", p.op("fill_nan", {x, p.lit(Scalar::Float(-7.0))}));
  p.out("is_null", p.op("is_null", {maybe}));
  p.out("is_nan", p.op("is_nan", {x}));
  p.out("u_plus", p.op("add", {u, p.lit(Scalar::Int(1))}));
  p.out("folded", p.op("add", {p.lit(Scalar::Int(2)), p.lit(Scalar::Int(3))}));
  p.out("const_str", p.lit(Scalar::Str("constant")));
  p.out("null_feature", p.lit(Scalar::Null()));
  p.out("null_plus_n", p.op("add", {n, p.lit(Scalar::Null())}));
  return p.spec;
}

// Per-batch encodings of the wide plan's inputs; consecutive batches switch between
// zero-copy reads and converted reads of the same input.
std::vector<Enc> wide_encs(int b) {
  static const Enc x[] = {Enc::kF64, Enc::kF32, Enc::kI32, Enc::kI64, Enc::kF64, Enc::kU64};
  static const Enc n[] = {Enc::kI64, Enc::kI32, Enc::kI64, Enc::kU64, Enc::kI64, Enc::kI32};
  static const Enc k[] = {Enc::kI32, Enc::kI32, Enc::kI32, Enc::kI64, Enc::kI32, Enc::kI32};
  static const Enc h[] = {Enc::kF32, Enc::kF32, Enc::kF32, Enc::kF64, Enc::kF32, Enc::kI32};
  static const Enc s[] = {Enc::kUtf8, Enc::kLargeUtf8, Enc::kUtf8, Enc::kUtf8, Enc::kUtf8, Enc::kLargeUtf8};
  static const Enc t[] = {Enc::kTsU, Enc::kI64, Enc::kTsN, Enc::kTsS, Enc::kTsU, Enc::kTsM};
  static const Enc t2[] = {Enc::kTsN, Enc::kTsN, Enc::kTsN, Enc::kTsN, Enc::kTsN, Enc::kTsU};
  static const Enc m[] = {Enc::kNullArr, Enc::kUtf8, Enc::kUtf8, Enc::kNullArr, Enc::kUtf8, Enc::kLargeUtf8};
  return {x[b], n[b], k[b], h[b], s[b], t[b], t2[b], Enc::kBool, Enc::kU64, m[b]};
}

}  // namespace

// =========================================================================================
// 1. bind_plan strictness
// =========================================================================================

TEST_CASE(binder_accepts_a_well_formed_plan) {
  Result<BoundPlan> r = bind_plan(good_plan());
  if (!CHECK(r.ok())) {
    std::fprintf(stderr, "  %s\n", r.status().message().c_str());
    return;
  }
  const BoundPlan& bp = r.value();
  CHECK_EQ(bp.steps.size(), size_t{6});
  CHECK_EQ(bp.steps[0].input_index, 0);
  CHECK_EQ(bp.steps[1].input_index, 1);
  CHECK(bp.steps[0].kernel == nullptr);
  CHECK(bp.steps[2].kernel == nullptr);
  CHECK_EQ(bp.steps[2].constant.i, 1);
  CHECK(bp.steps[3].kernel != nullptr);
  CHECK(bp.steps[3].out == DType::kInt64);
  CHECK(bp.steps[5].out == DType::kFloat64);
  CHECK_EQ(bp.steps[3].def->name, std::string("add"));
  CHECK_EQ(bp.outputs.size(), size_t{2});
  // A float32 input is float64 inside the executor, and must be recorded so.
  PlanSpec f32;
  f32.inputs = {{"h", DType::kFloat32}};
  f32.steps = {input_step(0, DType::kFloat64)};
  f32.outputs = {{"h", 0}};
  CHECK(bind_plan(f32).ok());
  f32.steps[0].dtype = DType::kFloat32;
  EXPECT_BIND_ERROR(f32, ErrorCode::kPlanError, 0, "recorded type float32", "input");
}

TEST_CASE(binder_rejects_unknown_op) {
  PlanSpec s = good_plan();
  s.steps[3].op = "plus";
  EXPECT_BIND_ERROR(s, ErrorCode::kPlanError, 3, "unknown op 'plus'", "step 3");
  s = good_plan();
  s.steps[0].op = "";
  EXPECT_BIND_ERROR(s, ErrorCode::kPlanError, 0, "unknown op ''");
}

TEST_CASE(binder_rejects_wrong_arity) {
  PlanSpec s = good_plan();
  s.steps[3].args = {0};
  EXPECT_BIND_ERROR(s, ErrorCode::kPlanError, 3, "'add'", "takes 2 arguments, got 1");
  s = good_plan();
  s.steps[3].args = {0, 2, 2};
  EXPECT_BIND_ERROR(s, ErrorCode::kPlanError, 3, "'add'", "got 3");
  // Structural ops take no arguments.
  s = good_plan();
  s.steps[2].args = {0};
  EXPECT_BIND_ERROR(s, ErrorCode::kPlanError, 2, "'const'", "takes 0 arguments");
  // Variadic: coalesce needs at least one argument.
  s = good_plan();
  s.steps.push_back(step("coalesce", {}, DType::kInt64));
  EXPECT_BIND_ERROR(s, ErrorCode::kPlanError, 6, "'coalesce'", "at least 1");
}

TEST_CASE(binder_rejects_bad_argument_ids) {
  // The message names the step; see the report: it does not name the op.
  PlanSpec s = good_plan();
  s.steps[3].args = {0, 5};  // a later step
  EXPECT_BIND_ERROR(s, ErrorCode::kPlanError, 3, "step 3", "step 5", "not an earlier step");
  s = good_plan();
  s.steps[3].args = {0, 3};  // itself
  EXPECT_BIND_ERROR(s, ErrorCode::kPlanError, 3, "step 3", "not an earlier step");
  s = good_plan();
  s.steps[3].args = {-1, 2};
  EXPECT_BIND_ERROR(s, ErrorCode::kPlanError, 3, "step -1", "not an earlier step");
  s = good_plan();
  s.steps[5].args = {1, 1000000};
  EXPECT_BIND_ERROR(s, ErrorCode::kPlanError, 5, "step 1000000");
}

TEST_CASE(binder_rejects_bad_params) {
  // Missing required parameter.
  PlanSpec s = good_plan();
  s.steps[2].params.clear();
  EXPECT_BIND_ERROR(s, ErrorCode::kPlanError, 2, "'const'", "needs parameter 'value'");
  s = good_plan();
  s.steps.push_back(step("cast", {0}, DType::kFloat64));
  EXPECT_BIND_ERROR(s, ErrorCode::kPlanError, 6, "'cast'", "needs parameter 'dtype'");
  s = good_plan();
  s.steps.push_back(step("hash_bucket", {0}, DType::kInt64));
  EXPECT_BIND_ERROR(s, ErrorCode::kPlanError, 6, "'hash_bucket'", "'n'");
  // Unknown parameter.
  s = good_plan();
  s.steps[3].params["alpha"] = P(Scalar::Int(1));
  EXPECT_BIND_ERROR(s, ErrorCode::kPlanError, 3, "'add'", "no parameter 'alpha'");
  // Wrong kinds: an int where a dtype name is needed, a string where an int is needed,
  // a scalar where a list is needed, a list where a scalar is needed, a null int.
  s = good_plan();
  s.steps.push_back(step("cast", {0}, DType::kFloat64, {{"dtype", P(Scalar::Int(3))}}));
  EXPECT_BIND_ERROR(s, ErrorCode::kPlanError, 6, "'cast'", "'dtype'", "wrong kind");
  s = good_plan();
  s.steps.push_back(step("hash_bucket", {0}, DType::kInt64, {{"n", P(Scalar::Str("10"))}}));
  EXPECT_BIND_ERROR(s, ErrorCode::kPlanError, 6, "'hash_bucket'", "wrong kind");
  s = good_plan();
  s.steps.push_back(step("bucketize", {1}, DType::kInt64, {{"boundaries", P(Scalar::Float(1.0))}}));
  EXPECT_BIND_ERROR(s, ErrorCode::kPlanError, 6, "'bucketize'", "wrong kind");
  s = good_plan();
  s.steps.push_back(step("bucketize", {1}, DType::kInt64, {{"boundaries", PL({Scalar::Float(1.0), Scalar::Null()})}}));
  EXPECT_BIND_ERROR(s, ErrorCode::kPlanError, 6, "'bucketize'", "wrong kind");
  s = good_plan();
  s.steps[0].params["index"] = PL({Scalar::Int(0)});
  EXPECT_BIND_ERROR(s, ErrorCode::kPlanError, 0, "'input'", "wrong kind");
  s = good_plan();
  s.steps[0].params["index"] = P(Scalar::Null(DType::kInt64));
  EXPECT_BIND_ERROR(s, ErrorCode::kPlanError, 0, "'input'", "wrong kind");
  s = good_plan();
  Param two;
  two.values = {Scalar::Int(1), Scalar::Int(2)};  // a non-list with two values
  s.steps[2].params["value"] = two;
  EXPECT_BIND_ERROR(s, ErrorCode::kPlanError, 2, "'const'", "wrong kind");
  // A parameter the op's resolver rejects: a plan error naming the op.
  s = good_plan();
  s.steps.push_back(step("cast", {0}, DType::kFloat64, {{"dtype", P(Scalar::Str("float32"))}}));
  EXPECT_BIND_ERROR(s, ErrorCode::kPlanError, 6, "cast");
}

TEST_CASE(binder_rejects_recorded_dtype_mismatch) {
  PlanSpec s = good_plan();
  s.steps[3].dtype = DType::kFloat64;
  EXPECT_BIND_ERROR(s, ErrorCode::kPlanError, 3, "recorded type float64", "add produces int64");
  s = good_plan();
  s.steps[0].dtype = DType::kString;
  EXPECT_BIND_ERROR(s, ErrorCode::kPlanError, 0, "recorded type string", "input");
  s = good_plan();
  s.steps[2].dtype = DType::kNull;
  EXPECT_BIND_ERROR(s, ErrorCode::kPlanError, 2, "const");
}

TEST_CASE(binder_rejects_bad_inputs_and_outputs) {
  PlanSpec s = good_plan();
  s.steps[1].params["index"] = P(Scalar::Int(2));
  EXPECT_BIND_ERROR(s, ErrorCode::kPlanError, 1, "input index 2 out of range");
  s = good_plan();
  s.steps[1].params["index"] = P(Scalar::Int(-1));
  EXPECT_BIND_ERROR(s, ErrorCode::kPlanError, 1, "input index -1 out of range");
  // Duplicate input names and untyped inputs (not tied to a step).
  s = good_plan();
  s.inputs[1].name = "a";
  EXPECT_BIND_ERROR(s, ErrorCode::kPlanError, -1, "'a'", "declared twice");
  s = good_plan();
  s.inputs[1].declared = DType::kNull;
  EXPECT_BIND_ERROR(s, ErrorCode::kPlanError, -1, "'b'", "no type");
  // Duplicate output names, outputs referring to missing steps.
  s = good_plan();
  s.outputs[1].name = "a1";
  EXPECT_BIND_ERROR(s, ErrorCode::kPlanError, -1, "'a1'", "declared twice");
  s = good_plan();
  s.outputs[1].step = 6;
  EXPECT_BIND_ERROR(s, ErrorCode::kPlanError, -1, "'b2'", "missing step 6");
  s = good_plan();
  s.outputs[0].step = -1;
  EXPECT_BIND_ERROR(s, ErrorCode::kPlanError, -1, "'a1'", "missing step -1");
  // An untyped constant cannot be bound strictly (the optimizer types it).
  s = good_plan();
  s.steps[2] = const_step(Scalar::Null());
  EXPECT_BIND_ERROR(s, ErrorCode::kPlanError, 2, "no concrete type");
  // An empty plan is fine.
  CHECK(bind_plan(PlanSpec()).ok());
}

TEST_CASE(binder_rejects_missing_casts_and_type_errors) {
  // add(int64 input, float64 const) without a cast.
  PlanSpec s;
  s.inputs = {{"a", DType::kInt64}};
  s.steps = {input_step(0, DType::kInt64), const_step(Scalar::Float(1.5)), step("add", {0, 1}, DType::kFloat64)};
  s.outputs = {{"y", 2}};
  EXPECT_BIND_ERROR(s, ErrorCode::kPlanError, 2, "add", "missing a cast", "int64, float64");
  // With the cast it binds.
  s.steps = {input_step(0, DType::kInt64), const_step(Scalar::Float(1.5)),
             step("cast", {0}, DType::kFloat64, {{"dtype", P(Scalar::Str("float64"))}}),
             step("add", {2, 1}, DType::kFloat64)};
  s.outputs = {{"y", 3}};
  CHECK(bind_plan(s).ok());
  // Comparing int64 with float64 also needs the cast.
  s.steps = {input_step(0, DType::kInt64), const_step(Scalar::Float(1.5)), step("lt", {0, 1}, DType::kBool)};
  s.outputs = {{"y", 2}};
  EXPECT_BIND_ERROR(s, ErrorCode::kPlanError, 2, "lt", "missing a cast");
  // A plain type error: add(string, int64).
  PlanSpec t;
  t.inputs = {{"s", DType::kString}};
  t.steps = {input_step(0, DType::kString), const_step(Scalar::Int(1)), step("add", {0, 1}, DType::kInt64)};
  t.outputs = {{"y", 2}};
  EXPECT_BIND_ERROR(t, ErrorCode::kTypeError, 2, "add", "string");
  // A cast that does not exist (timestamp -> float64) is a type error of the cast step.
  PlanSpec u;
  u.inputs = {{"t", DType::kTimestamp}};
  u.steps = {input_step(0, DType::kTimestamp), step("cast", {0}, DType::kFloat64, {{"dtype", P(Scalar::Str("float64"))}})};
  u.outputs = {{"y", 1}};
  EXPECT_BIND_ERROR(u, ErrorCode::kTypeError, 1, "cast", "timestamp");
}

TEST_CASE(binder_reports_the_first_offending_step) {
  PlanSpec s = good_plan();
  s.steps[3].op = "nope";        // step 3
  s.steps[5].args = {1, 9};      // step 5, also bad
  EXPECT_BIND_ERROR(s, ErrorCode::kPlanError, 3, "nope");
}

// =========================================================================================
// 2. optimize_plan
// =========================================================================================

TEST_CASE(optimize_inserts_casts) {
  Builder p;
  const int32_t a = p.declare("a", DType::kInt64);
  p.out("y", p.op("add", {a, p.lit(Scalar::Float(0.5))}));
  Result<PlanSpec> r = optimize_plan(p.spec);
  if (!CHECK(r.ok())) return;
  const PlanSpec& o = r.value();
  CHECK(bind_plan(o).ok());
  // input, cast, const, add (in some topological order).
  CHECK_EQ(o.steps.size(), size_t{4});
  int casts = 0;
  for (const PlanStep& st : o.steps) {
    if (st.op != "cast") continue;
    ++casts;
    CHECK(st.dtype == DType::kFloat64);
    CHECK_EQ(st.args.size(), size_t{1});
    CHECK_EQ(o.steps[st.args[0]].op, std::string("input"));
    const Scalar& d = param_of(st, "dtype");
    CHECK_EQ(d.s, std::string("float64"));
  }
  CHECK_EQ(casts, 1);
  const PlanStep& add = o.steps[o.outputs.at(0).step];
  CHECK_EQ(add.op, std::string("add"));
  CHECK(add.dtype == DType::kFloat64);
  // Executing it: 3 + 0.5.
  std::shared_ptr<Program> prog = compile(p.spec);
  if (!prog) return;
  RowRunner rr(prog);
  SourceValue v;
  v.kind = SourceKind::kInt64;
  v.i = 3;
  CHECK(rr.set_input(0, v).ok());
  rr.run();
  CHECK(rr.output(0).valid[0] == 1);
  CHECK_EQ(rr.output(0).as<double>()[0], 3.5);
}

TEST_CASE(optimize_folds_constants) {
  Builder p;
  p.declare("unused", DType::kFloat64);
  p.out("five", p.op("add", {p.lit(Scalar::Int(2)), p.lit(Scalar::Int(3))}));
  Result<PlanSpec> r = optimize_plan(p.spec);
  if (!CHECK(r.ok())) return;
  const PlanSpec& o = r.value();
  CHECK(bind_plan(o).ok());
  // One const step holding 5; the input and the operands are gone.
  if (CHECK_EQ(o.steps.size(), size_t{1})) {
    CHECK_EQ(o.steps[0].op, std::string("const"));
    CHECK(o.steps[0].dtype == DType::kInt64);
    const Scalar& v = param_of(o.steps[0], "value");
    CHECK(v.type == DType::kInt64);
    CHECK(!v.is_null);
    CHECK_EQ(v.i, 5);
  }
  CHECK_EQ(o.outputs.at(0).step, 0);
  CHECK_EQ(o.inputs.size(), size_t{1});  // declared inputs are kept

  // Folding goes through the kernels: nested, mixed types, overflow -> null, strings.
  Builder q;
  q.out("f", q.op("mul", {q.op("add", {q.lit(Scalar::Int(1)), q.lit(Scalar::Float(0.25))}), q.lit(Scalar::Int(4))}));
  q.out("ovf", q.op("add", {q.lit(Scalar::Int(kI64Max)), q.lit(Scalar::Int(1))}));
  q.out("str", q.op("str_upper", {q.op("str_concat", {q.lit(Scalar::Str("ab")), q.lit(Scalar::Str("c"))})}));
  q.out("cmp", q.op("lt", {q.lit(Scalar::Int(1)), q.lit(Scalar::Float(1.5))}));
  Result<PlanSpec> r2 = optimize_plan(q.spec);
  if (!CHECK(r2.ok())) return;
  const PlanSpec& o2 = r2.value();
  CHECK(bind_plan(o2).ok());
  for (const PlanStep& st : o2.steps) CHECK_EQ(st.op, std::string("const"));
  auto value_of = [&](size_t j) -> const Scalar& { return param_of(o2.steps[o2.outputs[j].step], "value"); };
  CHECK(value_of(0).type == DType::kFloat64);
  CHECK_EQ(value_of(0).f, 5.0);
  CHECK(value_of(1).type == DType::kInt64);
  CHECK(value_of(1).is_null);
  CHECK(value_of(2).type == DType::kString);
  CHECK_EQ(value_of(2).s, std::string("ABC"));
  CHECK(value_of(3).type == DType::kBool);
  CHECK(value_of(3).b);
}

TEST_CASE(optimize_merges_common_subexpressions) {
  Builder p;
  const int32_t a = p.declare("a", DType::kFloat64);
  const int32_t a_again = p.push("input", {}, {{"index", P(Scalar::Int(0))}});
  const int32_t s1 = p.op("mul", {p.op("add", {a, p.lit(Scalar::Float(1.0))}), p.lit(Scalar::Float(2.0))});
  const int32_t s2 = p.op("mul", {p.op("add", {a_again, p.lit(Scalar::Float(1.0))}), p.lit(Scalar::Float(2.0))});
  p.out("y", p.op("sub", {s1, s2}));
  p.out("y1", s1);
  p.out("y2", s2);
  Result<PlanSpec> r = optimize_plan(p.spec);
  if (!CHECK(r.ok())) return;
  const PlanSpec& o = r.value();
  CHECK(bind_plan(o).ok());
  // input, const 1, add, const 2, mul, sub: the second subtree is merged into the first.
  CHECK_EQ(o.steps.size(), size_t{6});
  std::map<std::string, int> counts;
  for (const PlanStep& st : o.steps) counts[st.op]++;
  CHECK_EQ(counts["input"], 1);
  CHECK_EQ(counts["add"], 1);
  CHECK_EQ(counts["mul"], 1);
  CHECK_EQ(counts["const"], 2);
  CHECK_EQ(o.outputs[1].step, o.outputs[2].step);
  const PlanStep& sub = o.steps[o.outputs[0].step];
  CHECK_EQ(sub.op, std::string("sub"));
  if (CHECK_EQ(sub.args.size(), size_t{2})) CHECK_EQ(sub.args[0], sub.args[1]);
  // Different parameters are different expressions.
  Builder q;
  const int32_t s = q.declare("s", DType::kString);
  q.out("h1", q.op("hash_bucket", {s}, {{"n", P(Scalar::Int(10))}}));
  q.out("h2", q.op("hash_bucket", {s}, {{"n", P(Scalar::Int(11))}}));
  q.out("h3", q.op("hash_bucket", {s}, {{"n", P(Scalar::Int(10))}}));
  Result<PlanSpec> r2 = optimize_plan(q.spec);
  if (!CHECK(r2.ok())) return;
  CHECK_EQ(r2.value().steps.size(), size_t{3});
  CHECK(r2.value().outputs[0].step != r2.value().outputs[1].step);
  CHECK_EQ(r2.value().outputs[0].step, r2.value().outputs[2].step);
  // 0.0 and -0.0 constants are distinct (bitwise keys).
  Builder z;
  const int32_t zx = z.declare("x", DType::kFloat64);
  z.out("p", z.op("mul", {zx, z.lit(Scalar::Float(0.0))}));
  z.out("m", z.op("mul", {zx, z.lit(Scalar::Float(-0.0))}));
  Result<PlanSpec> r3 = optimize_plan(z.spec);
  if (!CHECK(r3.ok())) return;
  CHECK(r3.value().outputs[0].step != r3.value().outputs[1].step);
}

TEST_CASE(optimize_removes_dead_steps) {
  Builder p;
  const int32_t a = p.declare("a", DType::kInt64);
  const int32_t b = p.declare("b", DType::kString);
  p.op("str_upper", {b});                            // dead
  p.op("mul", {a, p.lit(Scalar::Int(7))});           // dead
  const int32_t y = p.op("neg", {a});
  p.op("add", {y, p.lit(Scalar::Int(1))});           // dead, uses a live step
  p.out("y", y);
  Result<PlanSpec> r = optimize_plan(p.spec);
  if (!CHECK(r.ok())) return;
  const PlanSpec& o = r.value();
  CHECK(bind_plan(o).ok());
  if (CHECK_EQ(o.steps.size(), size_t{2})) {
    CHECK_EQ(o.steps[0].op, std::string("input"));
    CHECK_EQ(o.steps[1].op, std::string("neg"));
    CHECK_EQ(o.steps[1].args.at(0), 0);
  }
  CHECK_EQ(o.outputs.at(0).step, 1);
  CHECK_EQ(o.inputs.size(), size_t{2});
  // No outputs: nothing survives.
  Builder q;
  q.op("neg", {q.declare("a", DType::kInt64)});
  Result<PlanSpec> r2 = optimize_plan(q.spec);
  if (CHECK(r2.ok())) CHECK(r2.value().steps.empty());
}

TEST_CASE(optimize_types_untyped_nulls) {
  Builder p;
  const int32_t a = p.declare("a", DType::kInt64);
  const int32_t f = p.declare("f", DType::kFloat64);
  const int32_t null_lit = p.lit(Scalar::Null());
  p.out("ai", p.op("add", {a, null_lit}));
  p.out("fi", p.op("add", {null_lit, f}));
  p.out("folded", p.op("add", {p.lit(Scalar::Int(2)), null_lit}));
  p.out("feature", null_lit);
  p.out("when", p.op("if_else", {p.op("gt", {a, p.lit(Scalar::Int(0))}), null_lit, p.lit(Scalar::Str("pos"))}));
  Result<PlanSpec> r = optimize_plan(p.spec);
  if (!CHECK(r.ok())) return;
  const PlanSpec& o = r.value();
  CHECK(bind_plan(o).ok());
  for (const PlanStep& st : o.steps) {
    CHECK(st.dtype != DType::kNull);
    if (st.op == "const") {
      const Scalar& v = param_of(st, "value");
      CHECK(v.type != DType::kNull);
      CHECK(v.type == st.dtype);
    }
  }
  auto out_step = [&](size_t j) -> const PlanStep& { return o.steps[o.outputs[j].step]; };
  // add(int64, null): an int64 add over a typed int64 null constant.
  const PlanStep& ai = out_step(0);
  CHECK_EQ(ai.op, std::string("add"));
  CHECK(ai.dtype == DType::kInt64);
  if (CHECK_EQ(ai.args.size(), size_t{2})) {
    const PlanStep& c = o.steps[ai.args[1]];
    CHECK_EQ(c.op, std::string("const"));
    CHECK(c.dtype == DType::kInt64);
    CHECK(param_of(c, "value").is_null);
  }
  const PlanStep& fi = out_step(1);
  CHECK(fi.dtype == DType::kFloat64);
  if (CHECK_EQ(fi.args.size(), size_t{2})) {
    const PlanStep& c = o.steps[fi.args[0]];
    CHECK_EQ(c.op, std::string("const"));
    CHECK(c.dtype == DType::kFloat64);
  }
  // Folded: a typed int64 null constant.
  CHECK_EQ(out_step(2).op, std::string("const"));
  CHECK(out_step(2).dtype == DType::kInt64);
  CHECK(param_of(out_step(2), "value").is_null);
  // An untyped null feature becomes a float64 null.
  CHECK_EQ(out_step(3).op, std::string("const"));
  CHECK(out_step(3).dtype == DType::kFloat64);
  CHECK(param_of(out_step(3), "value").is_null);
  // The null branch takes the string type.
  CHECK(out_step(4).dtype == DType::kString);
  // Execution: all null except the string branch for a <= 0.
  std::shared_ptr<Program> prog = compile(p.spec);
  if (!prog) return;
  RowRunner rr(prog);
  SourceValue v;
  v.kind = SourceKind::kInt64;
  v.i = -3;
  SourceValue w;
  w.kind = SourceKind::kFloat64;
  w.f = 2.0;
  CHECK(rr.set_input(0, v).ok());
  CHECK(rr.set_input(1, w).ok());
  rr.run();
  for (int j = 0; j < 4; ++j) CHECK_EQ(rr.output(j).valid[0], 0);
  CHECK_EQ(rr.output(4).valid[0], 1);
  CHECK_EQ(std::string(rr.output(4).as<StrView>()[0].ptr, rr.output(4).as<StrView>()[0].len), std::string("pos"));
}

TEST_CASE(optimize_reports_type_errors_with_the_spec_step) {
  // Duplicate inputs before the bad step make the spec and optimized step ids differ.
  PlanSpec s;
  s.inputs = {{"s", DType::kString}, {"n", DType::kInt64}};
  s.steps = {input_step(0, DType::kNull), input_step(0, DType::kNull), input_step(1, DType::kNull),
             step("add", {1, 2}, DType::kNull)};
  s.outputs = {{"y", 3}};
  Result<PlanSpec> r = optimize_plan(s);
  if (CHECK(!r.ok())) {
    CHECK(r.status().code() == ErrorCode::kTypeError);
    CHECK_EQ(r.status().index(), 3);
    CHECK(has(r.status().message(), "add"));
    CHECK(has(r.status().message(), "step 3"));
  }
  // Other type errors: timestamp vs int64 comparison, non-bool condition, str op on int.
  struct Case { std::string op; std::vector<DType> args; const char* name; };
  const std::vector<Case> cases = {
      {"lt", {DType::kTimestamp, DType::kInt64}, "lt"},
      {"if_else", {DType::kInt64, DType::kFloat64, DType::kFloat64}, "if_else"},
      {"str_len", {DType::kInt64}, "str_len"},
      {"and", {DType::kBool, DType::kInt64}, "and"},
      {"dt_year", {DType::kString}, "dt_year"},
      {"coalesce", {DType::kString, DType::kInt64}, "coalesce"},
  };
  for (const Case& c : cases) {
    Builder p;
    p.lit(Scalar::Int(0));  // step 0, so the bad step id is not the first
    std::vector<int32_t> args;
    for (size_t i = 0; i < c.args.size(); ++i) args.push_back(p.declare("in" + std::to_string(i), c.args[i]));
    const int32_t bad = p.op(c.op, args);
    p.out("y", bad);
    Result<PlanSpec> rr = optimize_plan(p.spec);
    if (!CHECK(!rr.ok())) continue;
    CHECK(rr.status().code() == ErrorCode::kTypeError);
    CHECK_EQ(rr.status().index(), bad);
    if (!CHECK(has(rr.status().message(), c.name))) std::fprintf(stderr, "  %s\n", rr.status().message().c_str());
  }
  // Plan errors are still plan errors with the step id.
  Builder q;
  const int32_t a = q.declare("a", DType::kInt64);
  const int32_t bad = q.op("frobnicate", {a});
  q.out("y", bad);
  Result<PlanSpec> rq = optimize_plan(q.spec);
  if (CHECK(!rq.ok())) {
    CHECK(rq.status().code() == ErrorCode::kPlanError);
    CHECK_EQ(rq.status().index(), bad);
    CHECK(has(rq.status().message(), "frobnicate"));
  }
  Builder w;
  w.out("y", w.op("round", {w.declare("a", DType::kFloat64)}, {{"ndigits", P(Scalar::Int(99))}}));
  Result<PlanSpec> rw = optimize_plan(w.spec);
  if (CHECK(!rw.ok())) {
    CHECK(rw.status().code() == ErrorCode::kPlanError);
    CHECK_EQ(rw.status().index(), 1);
    CHECK(has(rw.status().message(), "round"));
  }
}

TEST_CASE(optimize_output_binds_strictly_for_the_wide_plan) {
  Result<PlanSpec> r = optimize_plan(wide_plan());
  if (!CHECK(r.ok())) {
    std::fprintf(stderr, "  %s\n", r.status().message().c_str());
    return;
  }
  CHECK(bind_plan(r.value()).ok());
  // Optimizing twice is a fixed point.
  Result<PlanSpec> r2 = optimize_plan(r.value());
  if (!CHECK(r2.ok())) return;
  CHECK_EQ(r2.value().steps.size(), r.value().steps.size());
  for (size_t i = 0; i < r.value().steps.size() && i < r2.value().steps.size(); ++i) {
    CHECK_EQ(r2.value().steps[i].op, r.value().steps[i].op);
    CHECK(r2.value().steps[i].args == r.value().steps[i].args);
    CHECK(r2.value().steps[i].dtype == r.value().steps[i].dtype);
  }
}

// =========================================================================================
// 3. Executor: batch path vs row path
// =========================================================================================

TEST_CASE(executor_batches_match_row_path) {
  std::shared_ptr<Program> prog = compile(wide_plan());
  if (!prog) return;
  Rng rng{20240611};
  // Lengths that are not multiples of kChunk; 70000 rows spans two tasks (the 64-chunk
  // morsel), so tasks split inside that batch. A zero-length batch sits in the middle.
  const std::vector<int64_t> lengths = {1, Program::kChunk - 1, 0, Program::kChunk + 1, 70000, 3};
  std::vector<std::unique_ptr<Batch>> batches;
  for (size_t b = 0; b < lengths.size(); ++b) {
    batches.push_back(random_batch(rng, wide_encs(static_cast<int>(b)), lengths[b], static_cast<int>(b)));
  }
  const std::vector<BatchInput> in = inputs_of(batches);
  int64_t total = 0;
  for (int64_t l : lengths) total += l;

  CHECK(prog->check_batches(in).ok());
  std::vector<OutputColumn> one, two, four;
  Status st1 = prog->transform(in, 1, &one);
  if (!CHECK(st1.ok())) {
    std::fprintf(stderr, "  transform: %s\n", st1.message().c_str());
    return;
  }
  Status st2 = prog->transform(in, 2, &two);
  Status st4 = prog->transform(in, 4, &four);
  CHECK(st2.ok());
  CHECK(st4.ok());
  CHECK(same_columns(one, two));
  CHECK(same_columns(one, four));
  if (!CHECK_EQ(one.size(), prog->plan().outputs.size())) return;
  for (size_t j = 0; j < one.size(); ++j) {
    check_column_shape(one[j], total);
    CHECK(one[j].type == prog->plan().steps[prog->plan().outputs[j].step].out);
  }
  compare_with_row_path(prog, batches, one);

  // A few spot checks of the conversions themselves.
  const BoundPlan& plan = prog->plan();
  auto col = [&](const std::string& name) -> const OutputColumn* {
    for (size_t j = 0; j < plan.outputs.size(); ++j) {
      if (plan.outputs[j].name == name) return &one[j];
    }
    return nullptr;
  };
  const OutputColumn* folded = col("folded");
  const OutputColumn* null_feature = col("null_feature");
  const OutputColumn* t2 = col("t2");
  if (CHECK(folded && null_feature && t2)) {
    CHECK(folded->type == DType::kInt64);
    CHECK_EQ(folded->null_count, 0);
    int64_t v;
    std::memcpy(&v, folded->data.data() + 8 * (total - 1), 8);
    CHECK_EQ(v, 5);
    CHECK(null_feature->type == DType::kFloat64);
    CHECK_EQ(null_feature->null_count, total);
    // t2 is nanoseconds in batches 0..4: floored to microseconds.
    int64_t g = 0, bad = 0;
    for (size_t b = 0; b + 1 < batches.size(); ++b) {
      for (int64_t r = 0; r < batches[b]->input.length; ++r, ++g) {
        const Cell& c = batches[b]->cells[kT2][r];
        if (!c.valid) { bad += t2->is_valid(g); continue; }
        int64_t got;
        std::memcpy(&got, t2->data.data() + 8 * g, 8);
        const int64_t want = c.i >= 0 ? c.i / 1000 : -((-(c.i + 1)) / 1000) - 1;
        bad += got != want;
      }
    }
    CHECK_EQ(bad, 0);
  }
}

TEST_CASE(executor_transform_matrix) {
  Builder p;
  const int32_t x = p.declare("x", DType::kFloat64);
  const int32_t n = p.declare("n", DType::kInt64);
  const int32_t flag = p.declare("flag", DType::kBool);
  const int32_t h = p.declare("h", DType::kFloat32);
  p.out("x", x);
  p.out("n", n);
  p.out("flag", flag);
  p.out("sum", p.op("add", {x, n}));
  p.out("lt", p.op("lt", {x, h}));
  p.out("bucket", p.op("bucketize", {h}, {{"boundaries", PL({Scalar::Float(0.0), Scalar::Float(10.0)})}}));
  p.out("nothing", p.lit(Scalar::Null()));
  p.out("seven", p.lit(Scalar::Int(7)));
  std::shared_ptr<Program> prog = compile(p.spec);
  if (!prog) return;
  Rng rng{77};
  const std::vector<int64_t> lengths = {1025, 1, 70000, 1023};
  std::vector<std::unique_ptr<Batch>> batches;
  for (size_t b = 0; b < lengths.size(); ++b) {
    std::vector<Enc> encs = {b % 2 ? Enc::kI64 : Enc::kF64, Enc::kI64, Enc::kBool, Enc::kF32};
    batches.push_back(random_batch(rng, encs, lengths[b], static_cast<int>(b) + 1));
  }
  const std::vector<BatchInput> in = inputs_of(batches);
  int64_t total = 0;
  for (int64_t l : lengths) total += l;
  const size_t no = prog->plan().outputs.size();

  std::vector<OutputColumn> cols;
  if (!CHECK(prog->transform(in, 1, &cols).ok())) return;
  compare_with_row_path(prog, batches, cols);

  const double sentinel = -12345.678;
  std::vector<double> m1(static_cast<size_t>(total) * no, sentinel), m2(m1);
  Status s1 = prog->transform_matrix(in, 1, m1.data());
  Status s2 = prog->transform_matrix(in, 2, m2.data());
  if (!CHECK(s1.ok()) || !CHECK(s2.ok())) {
    std::fprintf(stderr, "  %s / %s\n", s1.message().c_str(), s2.message().c_str());
    return;
  }
  CHECK(std::memcmp(m1.data(), m2.data(), m1.size() * sizeof(double)) == 0);
  int64_t bad = 0;
  for (int64_t g = 0; g < total; ++g) {
    for (size_t j = 0; j < no; ++j) {
      const double got = m1[static_cast<size_t>(g) * no + j];
      const OutputColumn& c = cols[j];
      double want;
      if (!c.is_valid(g)) {
        bad += !std::isnan(got);
        continue;
      }
      switch (c.type) {
        case DType::kFloat64: std::memcpy(&want, c.data.data() + 8 * g, 8); break;
        case DType::kBool: want = ((c.data.data()[g >> 3] >> (g & 7)) & 1) ? 1.0 : 0.0; break;
        default: {
          int64_t v;
          std::memcpy(&v, c.data.data() + 8 * g, 8);
          want = static_cast<double>(v);
          break;
        }
      }
      if (std::memcmp(&got, &want, 8) != 0 && ++bad <= 5) {
        std::fprintf(stderr, "  matrix[%lld][%zu] = %.17g, want %.17g\n", static_cast<long long>(g), j, got, want);
      }
    }
  }
  CHECK_EQ(bad, 0);

  // Zero rows: nothing written.
  double untouched = sentinel;
  CHECK(prog->transform_matrix({}, 2, &untouched).ok());
  CHECK_EQ(untouched, sentinel);

  // A string output cannot go into a matrix.
  Builder q;
  q.out("s", q.declare("s", DType::kString));
  std::shared_ptr<Program> sp = compile(q.spec);
  if (sp) {
    Status st = sp->transform_matrix({}, 1, &untouched);
    CHECK(st.code() == ErrorCode::kInputError);
    CHECK(has(st.message(), "'s'"));
  }
}

TEST_CASE(executor_input_type_mismatch_is_an_input_error) {
  Builder p;
  const int32_t a = p.declare("amount", DType::kInt64);
  p.out("y", p.op("add", {a, p.lit(Scalar::Int(1))}));
  std::shared_ptr<Program> prog = compile(p.spec);
  if (!prog) return;
  auto expect_input_error = [&](Enc e, const std::vector<std::string>& frags) {
    std::vector<std::vector<Cell>> cells(1, std::vector<Cell>(4, Cell()));
    for (Cell& c : cells[0]) { c.i = 1; c.f = 1.0; c.s = "1"; }
    auto b = make_batch({e}, cells, {0}, {Validity::kNoBitmap}, 4);
    std::vector<OutputColumn> out;
    Status st = prog->transform({b->input}, 1, &out);
    if (!CHECK(st.code() == ErrorCode::kInputError)) std::fprintf(stderr, "  %s\n", st.message().c_str());
    for (const std::string& f : frags) {
      if (!CHECK(has(st.message(), f))) std::fprintf(stderr, "  %s\n", st.message().c_str());
    }
    Status cb = prog->check_batches({b->input});
    CHECK(cb.code() == ErrorCode::kInputError);
    double m[4];
    CHECK(prog->transform_matrix({b->input}, 2, m).code() == ErrorCode::kInputError);
  };
  expect_input_error(Enc::kUtf8, {"'amount'", "int64", "string"});
  expect_input_error(Enc::kBool, {"'amount'", "bool"});
  expect_input_error(Enc::kTsU, {"'amount'", "timestamp"});
  // The row path refuses the same kinds.
  RowRunner rr(prog);
  SourceValue f;
  f.kind = SourceKind::kString;
  f.s = StrView{"1", 1};
  Status st = rr.set_input(0, f);
  CHECK(st.code() == ErrorCode::kInputError);
  CHECK(has(st.message(), "'amount'"));
  // Unsupported Arrow formats and a wrong column count.
  auto b = make_batch({Enc::kI64}, {std::vector<Cell>(3)}, {0}, {Validity::kNoBitmap}, 3);
  b->cols[0]->format = "z";  // binary
  b->cols[0]->schema.format = b->cols[0]->format.c_str();
  std::vector<OutputColumn> out;
  Status bad_format = prog->transform({b->input}, 1, &out);
  CHECK(bad_format.code() == ErrorCode::kInputError);
  CHECK(has(bad_format.message(), "'z'"));
  BatchInput none;
  none.length = 0;
  CHECK(prog->transform({none}, 1, &out).code() == ErrorCode::kInputError);
}

TEST_CASE(executor_uint64_overflow_reports_the_global_row) {
  Builder p;
  const int32_t a = p.declare("id", DType::kInt64);
  p.out("id", a);
  std::shared_ptr<Program> prog = compile(p.spec);
  if (!prog) return;
  // Batch 0: 1023 fine rows. Batch 1: 70000 rows with bad values at local rows 1500 and
  // 68000 (in the second task of that batch); the first one is reported.
  auto cells_of = [](int64_t n, std::vector<int64_t> bad_rows, std::vector<int64_t> null_rows) {
    std::vector<Cell> v(static_cast<size_t>(n));
    for (int64_t r = 0; r < n; ++r) v[r].u = static_cast<uint64_t>(r);
    for (int64_t r : bad_rows) v[r].u = static_cast<uint64_t>(kI64Max) + 1;
    for (int64_t r : null_rows) v[r].valid = false;  // null rows hold ~0 in the buffer
    return v;
  };
  std::vector<std::unique_ptr<Batch>> batches;
  batches.push_back(make_batch({Enc::kU64}, {cells_of(1023, {}, {5})}, {3}, {Validity::kBitmap}, 1023));
  batches.push_back(make_batch({Enc::kU64}, {cells_of(70000, {1500, 68000}, {7})}, {1}, {Validity::kBitmap}, 70000));
  const std::vector<BatchInput> in = inputs_of(batches);
  for (int threads : {1, 2, 3}) {
    std::vector<OutputColumn> out;
    Status st = prog->transform(in, threads, &out);
    CHECK(st.code() == ErrorCode::kValueError);
    CHECK_EQ(st.index(), 1023 + 1500);
    CHECK(has(st.message(), "'id'"));
    std::vector<double> m(1023 + 70000);
    Status sm = prog->transform_matrix(in, threads, m.data());
    CHECK(sm.code() == ErrorCode::kValueError);
    CHECK_EQ(sm.index(), 1023 + 1500);
  }
  // Only the late bad value: reported from the second task.
  batches[1] = make_batch({Enc::kU64}, {cells_of(70000, {68000}, {})}, {0}, {Validity::kNoBitmap}, 70000);
  for (int threads : {1, 2}) {
    std::vector<OutputColumn> out;
    Status st = prog->transform(inputs_of(batches), threads, &out);
    CHECK(st.code() == ErrorCode::kValueError);
    CHECK_EQ(st.index(), 1023 + 68000);
  }
  // INT64_MAX itself fits; the null rows' huge payloads are ignored.
  std::vector<Cell> edge = cells_of(3, {}, {1});
  edge[0].u = static_cast<uint64_t>(kI64Max);
  batches[1] = make_batch({Enc::kU64}, {edge}, {0}, {Validity::kBitmap}, 3);
  std::vector<OutputColumn> out;
  Status ok = prog->transform(inputs_of(batches), 2, &out);
  if (CHECK(ok.ok())) {
    int64_t v;
    std::memcpy(&v, out[0].data.data() + 8 * 1023, 8);
    CHECK_EQ(v, kI64Max);
    CHECK_EQ(out[0].null_count, 2);
  }
  // The row path: same error kind.
  RowRunner rr(prog);
  SourceValue big;
  big.kind = SourceKind::kUInt64;
  big.u = static_cast<uint64_t>(kI64Max) + 1;
  Status st = rr.set_input(0, big);
  CHECK(st.code() == ErrorCode::kValueError);
  CHECK(has(st.message(), "'id'"));
  // A uint64 above INT64_MAX is fine for a float64 input.
  Builder q;
  q.out("f", q.declare("f", DType::kFloat64));
  std::shared_ptr<Program> fp = compile(q.spec);
  if (fp) {
    auto b = make_batch({Enc::kU64}, {cells_of(2, {1}, {})}, {0}, {Validity::kNoBitmap}, 2);
    std::vector<OutputColumn> fo;
    if (CHECK(fp->transform({b->input}, 1, &fo).ok())) {
      double d;
      std::memcpy(&d, fo[0].data.data() + 8, 8);
      CHECK_EQ(d, 9223372036854775808.0);
    }
  }
}

TEST_CASE(executor_timestamp_units) {
  // Direct conversion function.
  int64_t v = 0;
  CHECK(timestamp_to_micros(-1, 'n', &v));
  CHECK_EQ(v, -1);
  CHECK(timestamp_to_micros(-1000, 'n', &v));
  CHECK_EQ(v, -1);
  CHECK(timestamp_to_micros(-1001, 'n', &v));
  CHECK_EQ(v, -2);
  CHECK(timestamp_to_micros(999, 'n', &v));
  CHECK_EQ(v, 0);
  CHECK(timestamp_to_micros(kI64Min, 'n', &v));
  CHECK_EQ(v, floor_div_1000(kI64Min));
  CHECK(timestamp_to_micros(-3, 'm', &v));
  CHECK_EQ(v, -3000);
  CHECK(timestamp_to_micros(kI64Max / 1000000, 's', &v));
  CHECK(!timestamp_to_micros(kI64Max / 1000000 + 1, 's', &v));
  CHECK(!timestamp_to_micros(kI64Min / 1000000 - 1, 's', &v));
  CHECK(!timestamp_to_micros(kI64Max / 1000 + 1, 'm', &v));
  CHECK(timestamp_to_micros(kI64Min, 'u', &v));
  CHECK_EQ(v, kI64Min);
  CHECK(!timestamp_to_micros(1, 'x', &v));

  Builder p;
  const int32_t t = p.declare("when", DType::kTimestamp);
  p.out("t", t);
  p.out("sec", p.op("dt_epoch_seconds", {t}));
  std::shared_ptr<Program> prog = compile(p.spec);
  if (!prog) return;
  auto column = [](std::vector<int64_t> vals) {
    std::vector<Cell> cs;
    for (int64_t x : vals) { Cell c; c.i = x; cs.push_back(c); }
    return cs;
  };
  // Nanoseconds floor toward -inf, with an offset.
  auto ns = make_batch({Enc::kTsN}, {column({-1, -999, -1000, -1001, 0, 999, 1000, kI64Min})}, {5},
                       {Validity::kNoBitmap}, 8);
  std::vector<OutputColumn> out;
  if (CHECK(prog->transform({ns->input}, 1, &out).ok())) {
    const int64_t want[] = {-1, -1, -1, -2, 0, 0, 1, floor_div_1000(kI64Min)};
    for (int r = 0; r < 8; ++r) {
      int64_t got;
      std::memcpy(&got, out[0].data.data() + 8 * r, 8);
      CHECK_EQ(got, want[r]);
    }
    int64_t sec;
    std::memcpy(&sec, out[1].data.data(), 8);
    CHECK_EQ(sec, -1);  // -1 ns is before the epoch
  }
  // Seconds that overflow microseconds: a value error at the global row.
  auto ok_batch = make_batch({Enc::kTsS}, {column(std::vector<int64_t>(1030, 1))}, {0}, {Validity::kNoBitmap}, 1030);
  std::vector<Cell> cells = column(std::vector<int64_t>(10, -5));
  cells[6].i = kI64Max / 1000000 + 1;
  cells[2].valid = false;  // holds INT64_MAX in the buffer: ignored
  auto bad_s = make_batch({Enc::kTsS}, {cells}, {2}, {Validity::kBitmap}, 10);
  for (int threads : {1, 2}) {
    Status st = prog->transform({ok_batch->input, bad_s->input}, threads, &out);
    CHECK(st.code() == ErrorCode::kValueError);
    CHECK_EQ(st.index(), 1030 + 6);
    CHECK(has(st.message(), "'when'"));
  }
  std::vector<Cell> ms = column({kI64Min / 1000 - 1});
  auto bad_m = make_batch({Enc::kTsM}, {ms}, {0}, {Validity::kNoBitmap}, 1);
  Status sm = prog->transform({bad_m->input}, 1, &out);
  CHECK(sm.code() == ErrorCode::kValueError);
  CHECK_EQ(sm.index(), 0);
  // In range seconds convert exactly.
  auto good_s = make_batch({Enc::kTsS}, {column({-1, kI64Max / 1000000})}, {0}, {Validity::kNoBitmap}, 2);
  if (CHECK(prog->transform({good_s->input}, 1, &out).ok())) {
    int64_t a, b;
    std::memcpy(&a, out[0].data.data(), 8);
    std::memcpy(&b, out[0].data.data() + 8, 8);
    CHECK_EQ(a, -1000000);
    CHECK_EQ(b, (kI64Max / 1000000) * 1000000);
  }
}

TEST_CASE(executor_int64_inputs_take_integral_floats) {
  Builder p;
  const int32_t n = p.declare("n", DType::kInt64);
  p.out("n", n);
  p.out("n1", p.op("add", {n, p.lit(Scalar::Int(1))}));
  std::shared_ptr<Program> prog = compile(p.spec);
  if (!prog) return;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  // Integral floats convert exactly (every value here is a float32 too); NaN, pandas'
  // marker for a missing integer, is null like a null.
  const std::vector<double> vals = {1400.0, -0.0, 0x1p62, -0x1p63, 0x1p53, -3.0, nan, 0x1p40};
  const std::vector<int64_t> want = {1400, 0, int64_t{1} << 62, kI64Min, int64_t{1} << 53, -3, 0, int64_t{1} << 40};
  for (Enc e : {Enc::kF64, Enc::kF32}) {
    std::vector<Cell> cells;
    for (double v : vals) {
      Cell c;
      c.f = v;
      cells.push_back(c);
    }
    cells.emplace_back();
    cells.back().valid = false;
    std::vector<std::unique_ptr<Batch>> batches;
    batches.push_back(make_batch({e}, {cells}, {3}, {Validity::kBitmap}, static_cast<int64_t>(cells.size())));
    std::vector<OutputColumn> out;
    if (!CHECK(prog->transform(inputs_of(batches), 1, &out).ok())) continue;
    CHECK_EQ(out[0].null_count, 2);
    for (size_t r = 0; r < want.size(); ++r) {
      CHECK_EQ(out[0].is_valid(static_cast<int64_t>(r)), r != 6);
      CHECK_EQ(out[0].data.as<int64_t>()[r], want[r]);
    }
    CHECK(!out[0].is_valid(8));
    compare_with_row_path(prog, batches, out);
  }
  // Any other float is an error naming the input and the global row, in the same words
  // on the batch path (transform, matrix, analyze share load_batch) and the row path.
  const std::vector<std::pair<double, std::string>> bad = {
      {1400.5, "float 1400.5 is not an integer"}, {0.5, "float 0.5 is not an integer"},
      {-0.25, "float -0.25 is not an integer"},   {4.9e-324, "float 5e-324 is not an integer"},
      {inf, "float inf is outside the int64 range"}, {-inf, "float -inf is outside the int64 range"},
      {0x1p63, "float 9.223372036854776e+18 is outside the int64 range"},
      {-0x1p63 - 2048.0, "float -9.223372036854778e+18 is outside the int64 range"},
      {1e300, "float 1e+300 is outside the int64 range"}};
  for (const auto& b : bad) {
    std::vector<std::unique_ptr<Batch>> batches;
    std::vector<Cell> first(7), second(1100);
    for (Cell& c : first) c.f = 2.0;
    for (Cell& c : second) c.f = 5.0;
    second[1050].f = b.first;
    batches.push_back(make_batch({Enc::kF64}, {first}, {0}, {Validity::kNoBitmap}, 7));
    batches.push_back(make_batch({Enc::kF64}, {second}, {1}, {Validity::kNoBitmap}, 1100));
    std::vector<OutputColumn> out;
    Status st = prog->transform(inputs_of(batches), 2, &out);
    CHECK(st.code() == ErrorCode::kValueError);
    CHECK_EQ(st.index(), 1057);
    const std::string expect = "input 'n' row 1057: " + b.second;
    if (!CHECK(has(st.message(), expect))) std::fprintf(stderr, "  %s\n", st.message().c_str());
    std::vector<double> m(1107 * 2);
    Status sm = prog->transform_matrix(inputs_of(batches), 1, m.data());
    CHECK_EQ(sm.message(), st.message());
    RowRunner rr(prog);
    Status sr = rr.set_input(0, batches[1]->src[0][1050], 1057);
    CHECK(sr.code() == ErrorCode::kValueError);
    CHECK_EQ(sr.index(), 1057);
    CHECK_EQ(sr.message(), st.message());
  }
  // float32 and uint64 go through the same rule.
  RowRunner rr(prog);
  SourceValue h;
  h.kind = SourceKind::kFloat32;
  h.f = 2.5;
  Status sh = rr.set_input(0, h, 4);
  CHECK(sh.code() == ErrorCode::kValueError);
  CHECK_EQ(sh.message(), std::string("input 'n' row 4: float 2.5 is not an integer (an int64 input takes integral floats)"));
  // A float64 or float32 input still takes every float.
  Builder q;
  q.out("x", q.declare("x", DType::kFloat64));
  std::shared_ptr<Program> fp = compile(q.spec);
  if (fp) {
    RowRunner fr(fp);
    SourceValue x;
    x.kind = SourceKind::kFloat64;
    x.f = 1400.5;
    CHECK(fr.set_input(0, x).ok());
  }
}

TEST_CASE(executor_refusals_read_the_same_on_both_paths) {
  struct Case {
    DType declared;
    Enc enc;
    const char* fragment;
  };
  const std::vector<Case> cases = {
      {DType::kInt64, Enc::kUtf8, "declared int64 but got string values"},
      {DType::kInt64, Enc::kLargeUtf8, "declared int64 but got string values"},
      {DType::kInt64, Enc::kBool, "declared int64 but got bool values"},
      {DType::kInt64, Enc::kTsU, "declared int64 but got timestamp values"},
      {DType::kFloat64, Enc::kUtf8, "declared float64 but got string values"},
      {DType::kBool, Enc::kI64, "declared bool but got integer values"},
      {DType::kString, Enc::kF64, "declared string but got float64 values"},
      {DType::kTimestamp, Enc::kF64, "declared timestamp but got float64 values"},
      {DType::kTimestamp, Enc::kUtf8, "declared timestamp but got string values"},
  };
  for (const Case& c : cases) {
    Builder p;
    p.out("x", p.declare("x", c.declared));
    std::shared_ptr<Program> prog = compile(p.spec);
    if (!prog) continue;
    std::vector<Cell> cells(2);
    for (Cell& cell : cells) {
      cell.s = "1400";
      cell.f = 1400.0;
      cell.i = 1400;
      cell.b = true;
    }
    auto b = make_batch({c.enc}, {cells}, {0}, {Validity::kNoBitmap}, 2);
    std::vector<OutputColumn> out;
    Status st = prog->transform({b->input}, 1, &out);
    CHECK(st.code() == ErrorCode::kInputError);
    if (!CHECK(has(st.message(), std::string("input 'x': ") + c.fragment))) {
      std::fprintf(stderr, "  %s\n", st.message().c_str());
    }
    CHECK_EQ(prog->check_batches({b->input}).message(), st.message());
    RowRunner rr(prog);
    Status sr = rr.set_input(0, b->src[0][1], 1);
    CHECK(sr.code() == ErrorCode::kInputError);
    CHECK_EQ(sr.message(), st.message());
  }
  // Timestamps without a time zone are refused for a timestamp input, on both paths.
  Builder p;
  const int32_t t = p.declare("when", DType::kTimestamp);
  p.out("when", t);
  std::shared_ptr<Program> prog = compile(p.spec);
  if (!prog) return;
  std::vector<Cell> cells(3);
  for (Cell& c : cells) c.i = 1;
  SourceValue naive;
  naive.kind = SourceKind::kTimestamp;
  naive.naive = true;
  naive.i = 1;
  RowRunner rr(prog);
  Status sr = rr.set_input(0, naive, 2);
  CHECK(sr.code() == ErrorCode::kInputError);
  CHECK_EQ(sr.message(), std::string("input 'when': naive datetime (a timestamp without a time zone) is ambiguous; "
                                     "give it a time zone (e.g. UTC)"));
  for (const char* format : {"tsu:", "tsn:", "tss:", "tsm:"}) {
    auto b = make_batch({Enc::kTsU}, {cells}, {0}, {Validity::kNoBitmap}, 3);
    b->cols[0]->format = format;
    b->cols[0]->schema.format = b->cols[0]->format.c_str();
    std::vector<OutputColumn> out;
    Status st = prog->transform({b->input}, 1, &out);
    CHECK(st.code() == ErrorCode::kInputError);
    CHECK_EQ(st.message(), sr.message());
    CHECK_EQ(prog->check_batches({b->input}).message(), sr.message());
  }
  // Any zone at all is an instant; a null is fine whatever its column.
  for (const char* format : {"tsu:UTC", "tsu:Europe/Lisbon", "tsu:-03:30"}) {
    auto b = make_batch({Enc::kTsU}, {cells}, {0}, {Validity::kNoBitmap}, 3);
    b->cols[0]->format = format;
    b->cols[0]->schema.format = b->cols[0]->format.c_str();
    std::vector<OutputColumn> out;
    if (CHECK(prog->transform({b->input}, 1, &out).ok())) CHECK_EQ(out[0].data.as<int64_t>()[2], 1);
  }
  CHECK(rr.set_input(0, SourceValue()).ok());
  // For another declared type the kind is what is wrong, naive or not.
  Builder q;
  q.out("n", q.declare("n", DType::kInt64));
  std::shared_ptr<Program> ip = compile(q.spec);
  if (ip) {
    auto b = make_batch({Enc::kTsU}, {cells}, {0}, {Validity::kNoBitmap}, 3);
    b->cols[0]->format = "tsu:";
    b->cols[0]->schema.format = b->cols[0]->format.c_str();
    Status st = ip->check_batches({b->input});
    CHECK(has(st.message(), "declared int64 but got timestamp values"));
    RowRunner ir(ip);
    CHECK_EQ(ir.set_input(0, naive).message(), st.message());
  }
}

TEST_CASE(civil_to_micros_converts_aware_times_and_refuses_naive_ones) {
  auto at = [](int64_t y, int mo, int d, int h, int mi, int s, int us, int64_t offset_us) {
    CivilTime t;
    t.year = y;
    t.month = mo;
    t.day = d;
    t.hour = h;
    t.minute = mi;
    t.second = s;
    t.microsecond = us;
    t.has_offset = true;
    t.offset_us = offset_us;
    return t;
  };
  const int64_t hour = int64_t{3600} * 1000000;
  int64_t v = 7;
  CHECK(civil_to_micros(at(1970, 1, 1, 0, 0, 0, 0, 0), &v).ok());
  CHECK_EQ(v, 0);
  CHECK(civil_to_micros(at(1969, 12, 31, 23, 59, 59, 999999, 0), &v).ok());
  CHECK_EQ(v, -1);
  CHECK(civil_to_micros(at(1970, 1, 1, 1, 0, 0, 0, hour), &v).ok());  // 01:00+01:00 is midnight UTC
  CHECK_EQ(v, 0);
  CHECK(civil_to_micros(at(2026, 7, 1, 12, 0, 0, 0, -5 * hour), &v).ok());
  CHECK_EQ(v, int64_t{1782864000} * 1000000 + 17 * hour);  // 12:00-05:00 is 17:00 UTC
  CHECK(civil_to_micros(at(1, 1, 1, 0, 0, 0, 0, 0), &v).ok());
  CHECK_EQ(v, int64_t{-62135596800} * 1000000);
  CHECK(civil_to_micros(at(9999, 12, 31, 23, 59, 59, 999999, 0), &v).ok());
  CHECK_EQ(v, int64_t{253402300799999999});
  CHECK(civil_to_micros(at(2024, 2, 29, 0, 0, 0, 0, 24 * hour - 1), &v).ok());  // offsets up to a day
  CHECK_EQ(v, int64_t{1709164800} * 1000000 - 24 * hour + 1);
  // Naive: refused, whatever the fields.
  CivilTime naive = at(2026, 1, 1, 0, 0, 0, 0, 0);
  naive.has_offset = false;
  v = 7;
  Status st = civil_to_micros(naive, &v);
  CHECK(st.code() == ErrorCode::kInputError);
  CHECK_EQ(st.message(), std::string("naive datetime (a timestamp without a time zone) is ambiguous; give it a "
                                     "time zone (e.g. UTC)"));
  CHECK_EQ(v, 7);
  // Fields out of range are an error, never a wrapped value.
  CHECK(civil_to_micros(at(2026, 13, 1, 0, 0, 0, 0, 0), &v).code() == ErrorCode::kValueError);
  CHECK(civil_to_micros(at(2026, 1, 0, 0, 0, 0, 0, 0), &v).code() == ErrorCode::kValueError);
  CHECK(civil_to_micros(at(2026, 1, 1, 24, 0, 0, 0, 0), &v).code() == ErrorCode::kValueError);
  CHECK(civil_to_micros(at(2026, 1, 1, 0, 0, 0, 1000000, 0), &v).code() == ErrorCode::kValueError);
  CHECK(civil_to_micros(at(290001, 1, 1, 0, 0, 0, 0, 0), &v).code() == ErrorCode::kValueError);
  CHECK(civil_to_micros(at(-290001, 1, 1, 0, 0, 0, 0, 0), &v).code() == ErrorCode::kValueError);
  CHECK_EQ(v, 7);
}

TEST_CASE(executor_rejects_dictionary_and_short_arrays) {
  Builder p;
  const int32_t s = p.declare("city", DType::kString);
  p.out("len", p.op("str_len", {s}));
  std::shared_ptr<Program> prog = compile(p.spec);
  if (!prog) return;
  std::vector<Cell> cells(5);
  for (Cell& c : cells) c.s = "abc";
  std::vector<OutputColumn> out;
  // Dictionary-encoded: indices 'i' with a utf8 dictionary.
  auto dict = make_batch({Enc::kUtf8}, {cells}, {0}, {Validity::kNoBitmap}, 5);
  dict->cols[0]->dict_schema = dict->cols[0]->schema;
  dict->cols[0]->schema.format = "i";
  dict->cols[0]->schema.dictionary = &dict->cols[0]->dict_schema;
  Status st = prog->transform({dict->input}, 1, &out);
  CHECK(st.code() == ErrorCode::kInputError);
  CHECK(has(st.message(), "'city'"));
  CHECK(has(st.message(), "dictionary"));
  CHECK(prog->check_batches({dict->input}).code() == ErrorCode::kInputError);
  // Only the array carries a dictionary.
  auto dict2 = make_batch({Enc::kUtf8}, {cells}, {0}, {Validity::kNoBitmap}, 5);
  ArrowArray values = dict2->cols[0]->array;
  dict2->cols[0]->array.dictionary = &values;
  CHECK(prog->transform({dict2->input}, 1, &out).code() == ErrorCode::kInputError);
  // An array shorter than the batch.
  auto shorter = make_batch({Enc::kUtf8}, {cells}, {0}, {Validity::kNoBitmap}, 5);
  shorter->input.length = 6;
  Status ss = prog->transform({shorter->input}, 2, &out);
  CHECK(ss.code() == ErrorCode::kInputError);
  CHECK(has(ss.message(), "'city'"));
  CHECK(prog->check_batches({shorter->input}).code() == ErrorCode::kInputError);
  double m[6];
  CHECK(prog->transform_matrix({shorter->input}, 1, m).code() == ErrorCode::kInputError);
  // A null schema/array pointer.
  auto missing = make_batch({Enc::kUtf8}, {cells}, {0}, {Validity::kNoBitmap}, 5);
  missing->input.arrays[0] = nullptr;
  CHECK(prog->transform({missing->input}, 1, &out).code() == ErrorCode::kInputError);
  // A longer array is fine: the batch reads its first rows.
  auto longer = make_batch({Enc::kUtf8}, {cells}, {0}, {Validity::kNoBitmap}, 5);
  longer->input.length = 3;
  if (CHECK(prog->transform({longer->input}, 1, &out).ok())) CHECK_EQ(out[0].length, int64_t{3});
}

TEST_CASE(executor_empty_inputs_give_empty_outputs) {
  std::shared_ptr<Program> prog = compile(wide_plan());
  if (!prog) return;
  const size_t no = prog->plan().outputs.size();
  for (int threads : {1, 2}) {
    std::vector<OutputColumn> out;
    if (!CHECK(prog->transform({}, threads, &out).ok())) continue;
    CHECK_EQ(out.size(), no);
    for (const OutputColumn& c : out) check_column_shape(c, 0);
    // Zero-length batches (columns still validated, nothing read).
    Rng rng{5};
    auto empty1 = random_batch(rng, wide_encs(0), 0, 0);
    auto empty2 = random_batch(rng, wide_encs(3), 0, 3);
    out.clear();
    if (!CHECK(prog->transform({empty1->input, empty2->input}, threads, &out).ok())) continue;
    CHECK_EQ(out.size(), no);
    for (const OutputColumn& c : out) check_column_shape(c, 0);
    // An empty batch with a wrong column is still rejected.
    empty1->cols[kN]->format = "u";  // strings for an int64 input
    empty1->cols[kN]->schema.format = empty1->cols[kN]->format.c_str();
    CHECK(prog->transform({empty1->input}, threads, &out).code() == ErrorCode::kInputError);
  }
  // A plan without outputs runs and produces nothing.
  Builder p;
  p.declare("a", DType::kInt64);
  std::shared_ptr<Program> none = compile(p.spec);
  if (none) {
    Rng rng{9};
    auto b = random_batch(rng, {Enc::kI64}, 2000, 1);
    std::vector<OutputColumn> out(3);
    CHECK(none->transform({b->input}, 2, &out).ok());
    CHECK(out.empty());
  }
}

TEST_CASE(executor_string_and_bool_columns_with_offsets) {
  Builder p;
  const int32_t s = p.declare("s", DType::kString);
  const int32_t b = p.declare("b", DType::kBool);
  p.out("s", s);
  p.out("b", b);
  p.out("pick", p.op("if_else", {b, s, p.lit(Scalar::Str("-"))}));
  std::shared_ptr<Program> prog = compile(p.spec);
  if (!prog) return;
  std::vector<Cell> sc(6), bc(6);
  const char* texts[] = {"x", "", "\xC3\xA9t\xC3\xA9", "null", "long string value", "z"};
  for (int r = 0; r < 6; ++r) {
    sc[r].s = texts[r];
    bc[r].b = r % 2 == 0;
  }
  sc[3].valid = false;
  bc[4].valid = false;
  for (int64_t off : {0, 1, 3, 7, 8, 13}) {
    for (Enc se : {Enc::kUtf8, Enc::kLargeUtf8}) {
      auto batch = make_batch({se, Enc::kBool}, {sc, bc}, {off, off + 2}, {Validity::kBitmap, Validity::kBitmapUnknownCount}, 6);
      std::vector<OutputColumn> out;
      if (!CHECK(prog->transform({batch->input}, 1, &out).ok())) continue;
      const OutputColumn& os = out[0];
      const std::vector<int64_t> want_off = {0, 1, 1, 6, 6, 23, 24};
      CHECK(offsets_of(os) == want_off);
      CHECK_EQ(chars_of(os), std::string("x\xC3\xA9t\xC3\xA9long string valuez"));
      CHECK_EQ(os.null_count, 1);
      const std::vector<uint8_t> want_b = {1, 0, 1, 0, 0, 0};
      const std::vector<uint8_t> want_bv = {1, 1, 1, 1, 0, 1};
      CHECK(bools_of(out[1]) == want_b);
      CHECK(valid_of(out[1]) == want_bv);
      // pick: s where b, "-" where b is false or null; null where the picked s is null.
      const std::vector<int64_t> pick_off = {0, 1, 2, 7, 8, 9, 10};
      CHECK(offsets_of(out[2]) == pick_off);
      CHECK_EQ(chars_of(out[2]), std::string("x-\xC3\xA9t\xC3\xA9---"));
      std::vector<std::unique_ptr<Batch>> one;
      one.push_back(std::move(batch));
      compare_with_row_path(prog, one, out);
    }
  }
}

// =========================================================================================
// 4. The registry
// =========================================================================================

TEST_CASE(registry_ops_are_documented_and_resolvable) {
  const Registry& reg = Registry::Get();
  const std::set<std::string> families = {"structural", "arithmetic", "comparison", "logic", "math", "nulls",
                                          "cast", "string", "temporal", "encoding", "control", "fitted"};
  std::set<std::string> names;
  CHECK(!reg.ops().empty());
  for (const OpDef& d : reg.ops()) {
    CHECK(!d.name.empty());
    CHECK(names.insert(d.name).second);
    CHECK(reg.find(d.name) == &d);
    if (!CHECK(families.count(d.family))) std::fprintf(stderr, "  op %s family %s\n", d.name.c_str(), d.family.c_str());
    CHECK(d.resolve != nullptr);
    CHECK(d.min_args >= 0);
    CHECK(d.max_args == -1 || d.max_args >= d.min_args);
    if (d.family == "structural") continue;
    if (!CHECK(!d.doc.empty()) || !CHECK(!d.signature.empty())) std::fprintf(stderr, "  op %s\n", d.name.c_str());
    CHECK(d.signature.compare(0, d.name.size() + 1, d.name + "(") == 0);
    CHECK(d.min_args >= 1);
    for (const ParamSpec& ps : d.params) CHECK(has(d.doc, ps.name) || has(d.signature, ps.name));
  }
  CHECK(reg.find("input") != nullptr);
  CHECK(reg.find("const") != nullptr);
  CHECK(reg.find("no_such_op") == nullptr);
}

TEST_CASE(registry_every_op_runs_on_both_paths) {
  // One sample use per op. A newly registered op without an entry here fails this test.
  using D = DType;
  struct Use { std::vector<D> args; Params params; };
  const std::map<std::string, Use> uses = {
      {"add", {{D::kFloat64, D::kInt64}, {}}},
      {"sub", {{D::kInt64, D::kInt64}, {}}},
      {"mul", {{D::kInt64, D::kFloat64}, {}}},
      {"div", {{D::kInt64, D::kInt64}, {}}},
      {"floordiv", {{D::kFloat64, D::kFloat64}, {}}},
      {"mod", {{D::kInt64, D::kInt64}, {}}},
      {"pow", {{D::kFloat64, D::kInt64}, {}}},
      {"neg", {{D::kInt64}, {}}},
      {"abs", {{D::kFloat64}, {}}},
      {"eq", {{D::kString, D::kString}, {}}},
      {"ne", {{D::kBool, D::kBool}, {}}},
      {"lt", {{D::kTimestamp, D::kTimestamp}, {}}},
      {"le", {{D::kInt64, D::kFloat64}, {}}},
      {"gt", {{D::kFloat64, D::kFloat64}, {}}},
      {"ge", {{D::kInt64, D::kInt64}, {}}},
      {"and", {{D::kBool, D::kBool}, {}}},
      {"or", {{D::kBool, D::kBool}, {}}},
      {"not", {{D::kBool}, {}}},
      {"log", {{D::kFloat64}, {}}},
      {"log1p", {{D::kInt64}, {}}},
      {"exp", {{D::kFloat64}, {}}},
      {"sqrt", {{D::kFloat64}, {}}},
      {"floor", {{D::kFloat64}, {}}},
      {"ceil", {{D::kFloat64}, {}}},
      {"round", {{D::kFloat64}, {{"ndigits", P(Scalar::Int(1))}}}},
      {"sign", {{D::kFloat64}, {}}},
      {"clip", {{D::kInt64}, {{"lo", P(Scalar::Int(-10))}, {"hi", P(Scalar::Int(10))}}}},
      {"is_null", {{D::kString}, {}}},
      {"is_nan", {{D::kFloat64}, {}}},
      {"fill_null", {{D::kInt64, D::kFloat64}, {}}},
      {"fill_missing", {{D::kFloat64, D::kFloat64}, {}}},
      {"fill_nan", {{D::kFloat64, D::kFloat64}, {}}},
      {"coalesce", {{D::kString, D::kString, D::kString}, {}}},
      {"if_else", {{D::kBool, D::kTimestamp, D::kTimestamp}, {}}},
      {"cast", {{D::kFloat64}, {{"dtype", P(Scalar::Str("string"))}}}},
      {"str_lower", {{D::kString}, {}}},
      {"str_upper", {{D::kString}, {}}},
      {"str_strip", {{D::kString}, {}}},
      {"str_len", {{D::kString}, {}}},
      {"str_contains", {{D::kString}, {{"pattern", P(Scalar::Str("a"))}}}},
      {"str_starts_with", {{D::kString}, {{"pattern", P(Scalar::Str("a"))}}}},
      {"str_ends_with", {{D::kString}, {{"pattern", P(Scalar::Str(""))}}}},
      {"str_concat", {{D::kString, D::kString}, {}}},
      {"dt_year", {{D::kTimestamp}, {}}},
      {"dt_month", {{D::kTimestamp}, {}}},
      {"dt_day", {{D::kTimestamp}, {}}},
      {"dt_hour", {{D::kTimestamp}, {}}},
      {"dt_minute", {{D::kTimestamp}, {}}},
      {"dt_day_of_week", {{D::kTimestamp}, {}}},
      {"dt_epoch_seconds", {{D::kTimestamp}, {}}},
      {"dt_diff_seconds", {{D::kTimestamp, D::kTimestamp}, {}}},
      {"hash_bucket", {{D::kString}, {{"n", P(Scalar::Int(97))}}}},
      {"bucketize", {{D::kFloat64}, {{"boundaries", PL({Scalar::Int(0), Scalar::Float(2.5)})}}}},
      {"map", {{D::kInt64}, {{"keys", PL({Scalar::Int(1), Scalar::Int(2)})},
                             {"values", PL({Scalar::Str("one"), Scalar::Str("two")})},
                             {"default", P(Scalar::Str("other"))}}}},
  };
  const Registry& reg = Registry::Get();
  for (const OpDef& d : reg.ops()) {
    // Fitted ops never execute: plan.fit rewrites them into ordinary ops (see the test below).
    if (d.family == "structural" || d.family == "fitted") continue;
    if (!CHECK(uses.count(d.name))) std::fprintf(stderr, "  no sample use for op %s\n", d.name.c_str());
  }
  // One input per type: b, i, f, s, t.
  Builder p;
  std::map<D, int32_t> in;
  in[D::kBool] = p.declare("b", D::kBool);
  in[D::kInt64] = p.declare("i", D::kInt64);
  in[D::kFloat64] = p.declare("f", D::kFloat64);
  in[D::kString] = p.declare("s", D::kString);
  in[D::kTimestamp] = p.declare("t", D::kTimestamp);
  for (const auto& kv : uses) {
    if (!CHECK(reg.find(kv.first) != nullptr)) {
      std::fprintf(stderr, "  sample use for unregistered op %s\n", kv.first.c_str());
      continue;
    }
    std::vector<int32_t> args;
    for (D t : kv.second.args) args.push_back(in[t]);
    p.out(kv.first, p.op(kv.first, args, kv.second.params));
  }
  std::shared_ptr<Program> prog = compile(p.spec);
  if (!prog) return;
  Rng rng{31337};
  std::vector<std::unique_ptr<Batch>> batches;
  const std::vector<Enc> encs = {Enc::kBool, Enc::kI64, Enc::kF64, Enc::kUtf8, Enc::kTsU};
  batches.push_back(random_batch(rng, encs, 3000, 1));
  batches.push_back(random_batch(rng, encs, 17, 2));
  std::vector<OutputColumn> out, out2;
  if (!CHECK(prog->transform(inputs_of(batches), 1, &out).ok())) return;
  CHECK(prog->transform(inputs_of(batches), 2, &out2).ok());
  CHECK(same_columns(out, out2));
  compare_with_row_path(prog, batches, out);
}

// A plan with two "input" steps for the same declared input: the row path must fill both.
TEST_CASE(row_runner_fills_duplicate_input_steps) {
  PlanSpec s;
  s.inputs = {{"a", DType::kInt64}};
  s.steps = {input_step(0, DType::kInt64), input_step(0, DType::kInt64), step("add", {0, 1}, DType::kInt64)};
  s.outputs = {{"twice", 2}};
  Result<std::shared_ptr<Program>> p = Program::Make(s);
  if (!CHECK(p.ok())) return;
  RowRunner rr(p.value());
  SourceValue v;
  v.kind = SourceKind::kInt64;
  v.i = 21;
  CHECK(rr.set_input(0, v).ok());
  rr.run();
  CHECK_EQ(rr.output(0).valid[0], 1);
  CHECK_EQ(rr.output(0).as<int64_t>()[0], 42);
  // The batch path computes 42.
  std::vector<Cell> cells(1);
  cells[0].i = 21;
  auto b = make_batch({Enc::kI32}, {cells}, {0}, {Validity::kNoBitmap}, 1);
  std::vector<OutputColumn> out;
  if (CHECK(p.value()->transform({b->input}, 1, &out).ok())) {
    CHECK(out[0].is_valid(0));
    int64_t v;
    std::memcpy(&v, out[0].data.data(), 8);
    CHECK_EQ(v, 42);
  }
}


TEST_CASE(unfitted_plans_do_not_execute) {
  for (const OpDef& d : Registry::Get().ops()) {
    if (d.family != "fitted") continue;
    PlanSpec s;
    s.inputs = {{"x", d.name == "vocabulary" || d.name == "one_hot" ? DType::kString : DType::kFloat64}};
    PlanStep in;
    in.op = "input";
    in.params["index"].values = {Scalar::Int(0)};
    in.dtype = s.inputs[0].declared;
    PlanStep f;
    f.op = d.name;
    f.args = {0};
    if (d.name == "quantile_bucketize") f.params["n"].values = {Scalar::Int(4)};
    if (d.name == "impute") f.params["strategy"].values = {Scalar::Str("mean")};
    s.steps = {in, f};
    Result<PlanSpec> opt = optimize_plan(s);
    if (!CHECK(opt.ok())) { std::fprintf(stderr, "  %s: %s\n", d.name.c_str(), opt.status().message().c_str()); continue; }
    PlanSpec with_output = s;
    with_output.outputs = {{"y", 1}};
    Result<PlanSpec> o2 = optimize_plan(with_output);
    if (!CHECK(o2.ok())) continue;
    Result<std::shared_ptr<Program>> prog = Program::Make(o2.value());
    CHECK(!prog.ok());
    CHECK(prog.status().code() == ErrorCode::kPlanError);
    CHECK(prog.status().message().find("call plan.fit") != std::string::npos);
  }
}
