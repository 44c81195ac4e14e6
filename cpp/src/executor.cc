// The executor. A plan runs fused over chunks of kChunk rows: every step writes a
// chunk-sized slot that stays in cache, and only outputs are materialised. The row
// path is the same loop with n = 1, so both paths call the same kernels on the same
// values and agree bit for bit.
#include "featureplat/executor.h"

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>
#include <limits>
#include <mutex>
#include <string>
#include <thread>

#include "featureplat/analyzers.h"
#include "featureplat/scalar_fns.h"

namespace featureplat {

// ---- value conversion (shared by both paths) ---------------------------------------

bool timestamp_to_micros(int64_t value, char unit, int64_t* out) {
  switch (unit) {
    case 's': return !__builtin_mul_overflow(value, int64_t{1000000}, out);
    case 'm': return !__builtin_mul_overflow(value, int64_t{1000}, out);
    case 'u': *out = value; return true;
    case 'n': *out = scalar::floor_div(value, 1000); return true;
    default: return false;
  }
}

static bool source_accepted(SourceKind kind, DType declared) {
  switch (declared) {
    case DType::kBool: return kind == SourceKind::kNull || kind == SourceKind::kBool;
    case DType::kInt64:
    case DType::kFloat64:
    case DType::kFloat32:
      return kind == SourceKind::kNull || kind == SourceKind::kInt64 || kind == SourceKind::kUInt64 ||
             kind == SourceKind::kFloat64 || kind == SourceKind::kFloat32;
    case DType::kString: return kind == SourceKind::kNull || kind == SourceKind::kString;
    case DType::kTimestamp:
      return kind == SourceKind::kNull || kind == SourceKind::kTimestamp || kind == SourceKind::kInt64 ||
             kind == SourceKind::kUInt64;
    default: return false;
  }
}

static const char* source_name(SourceKind k) {
  switch (k) {
    case SourceKind::kNull: return "null";
    case SourceKind::kBool: return "bool";
    case SourceKind::kInt64: return "integer";
    case SourceKind::kUInt64: return "uint64";
    case SourceKind::kFloat64: return "float64";
    case SourceKind::kFloat32: return "float32";
    case SourceKind::kString: return "string";
    case SourceKind::kTimestamp: return "timestamp";
  }
  return "?";
}

static Status naive_error() {
  return Status(ErrorCode::kInputError,
                "naive datetime (a timestamp without a time zone) is ambiguous; give it a time zone (e.g. UTC)");
}

// The message depends on the input and the kind only, never on the path or the row, so
// the batch path (one check per column) and the row path (one per value) say the same.
Status check_source(SourceKind kind, bool naive, const PlanInput& in) {
  if (!source_accepted(kind, in.declared)) {
    return Status(ErrorCode::kInputError, "input '" + in.name + "': declared " + dtype_name(in.declared) +
                                              " but got " + source_name(kind) +
                                              " values; convert them or declare the input accordingly");
  }
  if (kind == SourceKind::kTimestamp && naive) {
    return Status(ErrorCode::kInputError, "input '" + in.name + "': " + naive_error().message());
  }
  return Status::OK();
}

static std::string float_text(double f) {
  char buf[48];
  return std::string(buf, scalar::format_double_repr(f, buf));
}

Status convert_source(const SourceValue& v, DType declared, Slot& out, int64_t row, uint64_t max_string_bytes) {
  auto set_null = [&] {
    out.valid[row] = 0;
    if (declared == DType::kString) out.as<StrView>()[row] = StrView{"", 0};
    else if (declared == DType::kBool) out.as<uint8_t>()[row] = 0;
    else out.as<int64_t>()[row] = 0;
    return Status::OK();
  };
  if (v.kind == SourceKind::kNull) return set_null();
  out.valid[row] = 1;
  auto too_big = [&](const char* what) {
    return Status(ErrorCode::kValueError,
                  "value " + std::to_string(v.u) + " does not fit " + what, row);
  };
  switch (declared) {
    case DType::kBool:
      out.as<uint8_t>()[row] = v.b ? 1 : 0;
      return Status::OK();
    case DType::kInt64:
    case DType::kTimestamp:
      if (v.kind == SourceKind::kUInt64) {
        if (v.u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return too_big("int64");
        out.as<int64_t>()[row] = static_cast<int64_t>(v.u);
      } else if (v.kind == SourceKind::kFloat64 || v.kind == SourceKind::kFloat32) {
        // Only int64 inputs take floats (check_source): pandas holds a nullable integer
        // column as float64 with NaN for missing, so NaN is null and integral values are
        // exact; anything else would be a silent rounding.
        if (std::isnan(v.f)) return set_null();
        // [-2^63, 2^63): the doubles that fit int64 (2^63 itself is INT64_MAX + 1).
        if (!(v.f >= -0x1p63 && v.f < 0x1p63)) {
          return Status(ErrorCode::kValueError, "float " + float_text(v.f) + " is outside the int64 range", row);
        }
        if (std::trunc(v.f) != v.f) {
          return Status(ErrorCode::kValueError,
                        "float " + float_text(v.f) + " is not an integer (an int64 input takes integral floats)",
                        row);
        }
        out.as<int64_t>()[row] = static_cast<int64_t>(v.f);
      } else {
        out.as<int64_t>()[row] = v.i;
      }
      return Status::OK();
    case DType::kFloat64:
    case DType::kFloat32: {
      double f;
      switch (v.kind) {
        case SourceKind::kInt64: f = declared == DType::kFloat32 ? static_cast<double>(static_cast<float>(v.i))
                                                                 : static_cast<double>(v.i); break;
        case SourceKind::kUInt64: f = declared == DType::kFloat32 ? static_cast<double>(static_cast<float>(v.u))
                                                                  : static_cast<double>(v.u); break;
        case SourceKind::kFloat32: f = v.f; break;
        default: f = declared == DType::kFloat32 ? static_cast<double>(static_cast<float>(v.f)) : v.f; break;
      }
      out.as<double>()[row] = f;
      return Status::OK();
    }
    case DType::kString: {
      // The length first (known from the Arrow offsets or the str), the bytes only after.
      const uint64_t bytes = std::max<uint64_t>(v.bytes, v.s.len);
      if (bytes > max_string_bytes) {
        return Status(ErrorCode::kValueError,
                      "string of " + std::to_string(bytes) + " bytes is over the limit of " +
                          std::to_string(max_string_bytes) + " bytes per string value",
                      row);
      }
      if (v.bad_utf8 || !scalar::utf8_valid(v.s.ptr, v.s.len)) {
        return Status(ErrorCode::kValueError, "string is not valid UTF-8", row);
      }
      out.as<StrView>()[row] = v.s;
      return Status::OK();
    }
    default:
      return Status(ErrorCode::kInputError, "unsupported declared type", row);
  }
}

// A conversion error of input `in` at the caller's row `row`: the same text on both paths.
static Status at_row(const PlanInput& in, int64_t row, const Status& st) {
  return Status(st.code(), "input '" + in.name + "' row " + std::to_string(row) + ": " + st.message(), row);
}

Status civil_to_micros(const CivilTime& t, int64_t* out) {
  if (!t.has_offset) return naive_error();
  if (t.month < 1 || t.month > 12 || t.day < 1 || t.day > 31 || t.hour < 0 || t.hour > 23 || t.minute < 0 ||
      t.minute > 59 || t.second < 0 || t.second > 60 || t.microsecond < 0 || t.microsecond > 999999 ||
      t.year < -290000 || t.year > 290000) {
    return Status(ErrorCode::kValueError, "date or time field out of range");
  }
  // |year| <= 290000 keeps every intermediate below 2^63 (290000 years ~ 9.2e18 us is
  // the int64 limit, checked by the overflow builtins).
  const int64_t days = scalar::days_from_civil(t.year, static_cast<unsigned>(t.month), static_cast<unsigned>(t.day));
  const int64_t secs = ((days * 24 + t.hour) * 60 + t.minute) * 60 + t.second;
  int64_t us = 0;
  if (__builtin_mul_overflow(secs, int64_t{1000000}, &us) || __builtin_add_overflow(us, t.microsecond, &us) ||
      __builtin_sub_overflow(us, t.offset_us, &us)) {
    return Status(ErrorCode::kValueError, "datetime is outside the microsecond range");
  }
  *out = us;
  return Status::OK();
}

CivilTime civil_from_micros(int64_t us) {
  // floor_div and floor_mod, never us - days * 86400000000: that product overflows for
  // the earliest timestamps (INT64_MIN; UBSan found it in the Python conversion).
  constexpr int64_t kMicrosPerDay = int64_t{86400} * 1000000;
  const int64_t days = scalar::floor_div(us, kMicrosPerDay);
  const int64_t in_day = scalar::floor_mod(us, kMicrosPerDay);
  CivilTime t;
  unsigned m = 1, d = 1;
  scalar::civil_from_days(days, &t.year, &m, &d);
  t.month = static_cast<int>(m);
  t.day = static_cast<int>(d);
  const int64_t secs = in_day / 1000000;
  t.hour = static_cast<int>(secs / 3600);
  t.minute = static_cast<int>(secs / 60 % 60);
  t.second = static_cast<int>(secs % 60);
  t.microsecond = static_cast<int>(in_day % 1000000);
  t.has_offset = true;
  return t;
}

// ---- Arrow column reading ------------------------------------------------------------

namespace {

struct ColumnReader {
  SourceKind kind = SourceKind::kNull;
  int width = 0;          // integer byte width
  bool is_signed = true;  // integer signedness
  char unit = 'u';        // timestamp unit
  bool naive = false;     // timestamp without a time zone
  bool large = false;     // int64 string offsets
  const uint8_t* bitmap = nullptr;
  const uint8_t* values = nullptr;
  const char* chars = nullptr;
  int64_t offset = 0;
  int64_t length = 0;
};

Status input_error(const std::string& name, const std::string& msg) {
  return Status(ErrorCode::kInputError, "input '" + name + "': " + msg);
}

Status make_reader(const ArrowSchema* schema, const ArrowArray* array, const PlanInput& in, ColumnReader* r) {
  if (!schema || !array || !schema->format) return input_error(in.name, "missing column");
  if (schema->dictionary || array->dictionary) {
    return input_error(in.name, "dictionary-encoded columns must be decoded first");
  }
  std::string f = schema->format;
  r->offset = array->offset;
  r->length = array->length;
  int want_buffers = 2;
  if (f == "n") { r->kind = SourceKind::kNull; want_buffers = 0; }
  else if (f == "b") r->kind = SourceKind::kBool;
  else if (f == "c" || f == "s" || f == "i" || f == "l") {
    r->kind = SourceKind::kInt64;
    r->width = f == "c" ? 1 : f == "s" ? 2 : f == "i" ? 4 : 8;
  } else if (f == "C" || f == "S" || f == "I") {
    r->kind = SourceKind::kInt64;
    r->is_signed = false;
    r->width = f == "C" ? 1 : f == "S" ? 2 : 4;
  } else if (f == "L") { r->kind = SourceKind::kUInt64; r->is_signed = false; r->width = 8; }
  else if (f == "f") r->kind = SourceKind::kFloat32;
  else if (f == "g") r->kind = SourceKind::kFloat64;
  else if (f == "u" || f == "U") { r->kind = SourceKind::kString; r->large = f == "U"; want_buffers = 3; }
  else if (f.size() >= 4 && f.compare(0, 2, "ts") == 0 && f[3] == ':' &&
           (f[2] == 's' || f[2] == 'm' || f[2] == 'u' || f[2] == 'n')) {
    r->kind = SourceKind::kTimestamp;
    r->unit = f[2];
    r->naive = f.size() == 4;  // "ts?:" with an empty time zone
  } else {
    return input_error(in.name, "unsupported Arrow type (format '" + f + "'); declared " +
                                    dtype_name(in.declared));
  }
  FP_RETURN_NOT_OK(check_source(r->kind, r->naive, in));
  if (array->length < 0 || array->offset < 0 || array->n_buffers < want_buffers ||
      (want_buffers > 0 && !array->buffers)) {
    return input_error(in.name, "malformed Arrow array");
  }
  if (want_buffers > 0) {
    r->bitmap = array->null_count == 0 ? nullptr : static_cast<const uint8_t*>(array->buffers[0]);
    r->values = static_cast<const uint8_t*>(array->buffers[1]);
    if (want_buffers == 3) r->chars = static_cast<const char*>(array->buffers[2]);
    if (!r->values && array->length > 0) return input_error(in.name, "Arrow array without a data buffer");
  }
  return Status::OK();
}

inline bool bit(const uint8_t* bm, int64_t i) { return (bm[i >> 3] >> (i & 7)) & 1; }

// The offsets of string i (absolute index incl. offset).
void string_offsets(const ColumnReader& r, int64_t i, int64_t* a, int64_t* b) {
  if (r.large) {
    std::memcpy(a, r.values + 8 * i, 8);
    std::memcpy(b, r.values + 8 * (i + 1), 8);
  } else {
    int32_t a32, b32;
    std::memcpy(&a32, r.values + 4 * i, 4);
    std::memcpy(&b32, r.values + 4 * (i + 1), 4);
    *a = a32;
    *b = b32;
  }
}

// False for a present string whose offsets are negative or decrease (a malformed array).
bool string_offsets_ok(const ColumnReader& r, int64_t i) {
  if (r.kind != SourceKind::kString || (r.bitmap && !bit(r.bitmap, i))) return true;
  int64_t a, b;
  string_offsets(r, i, &a, &b);
  return a >= 0 && b >= a;
}

SourceValue read_value(const ColumnReader& r, int64_t i) {  // i: absolute index incl. offset
  SourceValue v;
  if (r.kind == SourceKind::kNull || (r.bitmap && !bit(r.bitmap, i))) return v;
  v.kind = r.kind;
  switch (r.kind) {
    case SourceKind::kBool: v.b = bit(r.values, i); break;
    case SourceKind::kInt64:
      switch (r.width) {
        case 1: v.i = r.is_signed ? int64_t{reinterpret_cast<const int8_t*>(r.values)[i]} : int64_t{r.values[i]}; break;
        case 2: {
          if (r.is_signed) { int16_t x; std::memcpy(&x, r.values + 2 * i, 2); v.i = x; }
          else { uint16_t x; std::memcpy(&x, r.values + 2 * i, 2); v.i = x; }
          break;
        }
        case 4: {
          if (r.is_signed) { int32_t x; std::memcpy(&x, r.values + 4 * i, 4); v.i = x; }
          else { uint32_t x; std::memcpy(&x, r.values + 4 * i, 4); v.i = x; }
          break;
        }
        default: std::memcpy(&v.i, r.values + 8 * i, 8); break;
      }
      break;
    case SourceKind::kUInt64: std::memcpy(&v.u, r.values + 8 * i, 8); break;
    case SourceKind::kFloat32: { float x; std::memcpy(&x, r.values + 4 * i, 4); v.f = x; break; }
    case SourceKind::kFloat64: std::memcpy(&v.f, r.values + 8 * i, 8); break;
    case SourceKind::kString: {
      int64_t a, b;
      string_offsets(r, i, &a, &b);
      // Only the offsets are read here: convert_source refuses a value over the limit
      // before its bytes are touched, so the view is never longer than the limit.
      // Decreasing offsets are refused by the caller (string_offsets_ok) before this.
      v.bytes = static_cast<uint64_t>(b - a);
      const uint64_t len = std::min<uint64_t>(v.bytes, kMaxStringBytes);
      v.s = StrView{r.chars && len ? r.chars + a : "", static_cast<uint32_t>(len)};
      break;
    }
    case SourceKind::kTimestamp: std::memcpy(&v.i, r.values + 8 * i, 8); break;
    default: break;
  }
  return v;
}

}  // namespace

// ---- execution context ---------------------------------------------------------------

class ExecContext {
 public:
  ExecContext(const Program& program, int64_t cap)
      : program_(program), plan_(program.plan()), cap_(cap), budget_(cap) {
    const BoundPlan& plan = plan_;
    size_t ns = plan.steps.size();
    slots_.resize(ns);
    own_data_.resize(ns);
    valid_.resize(ns);
    data_.resize(ns);
    args_.resize(ns);
    for (size_t i = 0; i < ns; ++i) {
      const BoundStep& st = plan.steps[i];
      Slot& s = slots_[i];
      s.type = st.out;
      valid_[i].assign(cap, 0);
      data_[i].assign((slot_width(st.out) * cap + 7) / 8 + 1, 0);
      s.valid = valid_[i].data();
      s.data = data_[i].data();
      own_data_[i] = s.data;
      for (int32_t a : st.args) args_[i].push_back(&slots_[a]);
      if (st.def->name == "const") fill_const(st.constant, s);
      if (st.def->name == "input") input_steps_.push_back(static_cast<int32_t>(i));
      else if (st.kernel) kernel_steps_.push_back(static_cast<int32_t>(i));
    }
  }

  void fill_const(const Scalar& c, Slot& s) {
    for (int64_t r = 0; r < cap_; ++r) {
      s.valid[r] = c.is_null ? 0 : 1;
      switch (s.type) {
        case DType::kBool: s.as<uint8_t>()[r] = c.b; break;
        case DType::kFloat64: s.as<double>()[r] = c.is_null ? 0.0 : c.f; break;
        case DType::kString:
          s.as<StrView>()[r] = StrView{c.s.data(), static_cast<uint32_t>(c.s.size())};
          break;
        default: s.as<int64_t>()[r] = c.is_null ? 0 : c.i; break;
      }
    }
  }

  // Reads rows [start, start + n) of the batch into the input slots.
  Status load_batch(const std::vector<ColumnReader>& readers, int64_t start, int64_t n, int64_t global_row) {
    for (int32_t sid : input_steps_) {
      const BoundStep& st = plan_.steps[sid];
      const PlanInput& in = plan_.inputs[st.input_index];
      const ColumnReader& r = readers[st.input_index];
      Slot& s = slots_[sid];
      s.data = own_data_[sid];
      int64_t base = r.offset + start;
      // Identity reads are zero-copy; every other conversion goes through convert_source,
      // the function the row path uses.
      bool identity = (r.kind == SourceKind::kFloat64 && in.declared == DType::kFloat64) ||
                      (r.kind == SourceKind::kInt64 && r.width == 8 && r.is_signed &&
                       (in.declared == DType::kInt64 || in.declared == DType::kTimestamp)) ||
                      (r.kind == SourceKind::kTimestamp && r.unit == 'u' && in.declared == DType::kTimestamp);
      if (identity) {
        s.data = const_cast<uint8_t*>(r.values) + 8 * base;
        if (!r.bitmap) {
          std::memset(s.valid, 1, n);
        } else {
          for (int64_t i = 0; i < n; ++i) s.valid[i] = bit(r.bitmap, base + i);
        }
        continue;
      }
      for (int64_t i = 0; i < n; ++i) {
        if (!string_offsets_ok(r, base + i)) {
          return at_row(in, global_row + i,
                        Status(ErrorCode::kInputError, "malformed Arrow array (string offsets decrease)"));
        }
        SourceValue v = read_value(r, base + i);
        if (v.kind == SourceKind::kTimestamp && !timestamp_to_micros(v.i, r.unit, &v.i)) {
          return at_row(in, global_row + i,
                        Status(ErrorCode::kValueError, "timestamp is outside the microsecond range"));
        }
        Status stc = convert_source(v, in.declared, s, i, program_.limits().value_bytes);
        if (!stc.ok()) return at_row(in, global_row + i, stc);
      }
    }
    return Status::OK();
  }

  // Runs the kernels over rows [0, n) of the slots. The strings they compute are held to
  // the program's limits (see StringBudget); `global_row` numbers row 0 in errors. Sets
  // *rerun when the run as a whole went past the per-run budget before any row was
  // refused for itself: the caller then runs the rows one at a time.
  Status run(int64_t n, int64_t global_row, bool* rerun) {
    arena_.reset();
    budget_.start(n, &program_.limits());
    KernelContext kc;
    kc.arena = &arena_;
    kc.budget = &budget_;
    for (int32_t sid : kernel_steps_) {
      const BoundStep& st = plan_.steps[sid];
      kc.state = st.state.get();
      budget_.set_step(sid);
      st.kernel(kc, args_[sid].data(), slots_[sid], n);
    }
    *rerun = false;
    if (budget_.overflowed()) {
      // A row alone is held to the same bytes and fails its own check first, so a run of
      // one row never overflows; rows refused in an overflowed run may only have seen
      // nulls made by the overflow, so they are judged again alone.
      if (n > 1) {
        *rerun = true;
        return Status::OK();
      }
      return Status(ErrorCode::kInputError, "internal: string budget overflow on one row", global_row);
    }
    const StringBudget::Refusal r = budget_.first_refusal();
    if (r.row >= 0) return program_.string_refusal(r, global_row + r.row);
    return Status::OK();
  }

  // Loads rows [start, start + n) of the batch (the caller's rows global_row...), runs
  // the plan and hands the results to emit(rows, first global row): once for the whole
  // chunk, or, when its strings went past the per-run budget, once per row, each run
  // alone. Kernels do not depend on n, so both give the same values.
  template <typename Emit>
  Status process(const std::vector<ColumnReader>& readers, int64_t start, int64_t n, int64_t global_row,
                 Emit emit) {
    FP_RETURN_NOT_OK(load_batch(readers, start, n, global_row));
    bool rerun = false;
    FP_RETURN_NOT_OK(run(n, global_row, &rerun));
    if (!rerun) return emit(n, global_row);
    for (int64_t i = 0; i < n; ++i) {
      FP_RETURN_NOT_OK(load_batch(readers, start + i, 1, global_row + i));
      FP_RETURN_NOT_OK(run(1, global_row + i, &rerun));
      FP_RETURN_NOT_OK(emit(1, global_row + i));
    }
    return Status::OK();
  }

  Slot& slot(int32_t step) { return slots_[step]; }
  const std::vector<int32_t>& input_steps() const { return input_steps_; }

 private:
  const Program& program_;
  const BoundPlan& plan_;
  int64_t cap_;
  std::vector<Slot> slots_;
  std::vector<void*> own_data_;
  std::vector<std::vector<uint8_t>> valid_;
  std::vector<std::vector<uint64_t>> data_;
  std::vector<std::vector<const Slot*>> args_;
  std::vector<int32_t> input_steps_, kernel_steps_;
  StringArena arena_;
  StringBudget budget_;
};

// ---- Program -------------------------------------------------------------------------

Program::Program(BoundPlan plan, const StringLimits& limits) : plan_(std::move(plan)), limits_(limits) {
  // The feature a step's refusal is reported for: the first output (in output order)
  // whose computation needs the step. Each step is visited once over all outputs.
  step_output_.assign(plan_.steps.size(), -1);
  std::vector<int32_t> stack;
  for (size_t j = 0; j < plan_.outputs.size(); ++j) {
    stack.push_back(plan_.outputs[j].step);
    while (!stack.empty()) {
      const int32_t sid = stack.back();
      stack.pop_back();
      if (step_output_[sid] >= 0) continue;
      step_output_[sid] = static_cast<int32_t>(j);
      for (int32_t a : plan_.steps[sid].args) stack.push_back(a);
    }
  }
}

Status Program::string_refusal(const StringBudget::Refusal& r, int64_t row) const {
  const int32_t j = r.step >= 0 ? step_output_[r.step] : -1;
  const std::string step = "step " + std::to_string(r.step) + " (" +
                           (r.step >= 0 ? plan_.steps[r.step].def->name : std::string("?")) + ")";
  std::string msg = (j >= 0 ? "feature '" + plan_.outputs[j].name + "'" : step) + " row " + std::to_string(row) + ": ";
  if (r.whole_row) {
    msg += "the strings computed for this row would take " + std::to_string(r.bytes) + " bytes at " + step +
           ", over the limit of " + std::to_string(limits_.row_bytes) + " bytes per row";
  } else {
    msg += step + " would make a string of " + std::to_string(r.bytes) + " bytes, over the limit of " +
           std::to_string(limits_.value_bytes) + " bytes per string value";
  }
  return Status(ErrorCode::kInputError, msg, row);
}

Status Program::check_batch_string_bytes(uint64_t bytes) const {
  if (bytes <= limits_.batch_bytes) return Status::OK();
  std::string names;
  int listed = 0;
  for (const PlanOutput& o : plan_.outputs) {
    if (plan_.steps[o.step].out != DType::kString) continue;
    if (listed == 5) {
      names += ", ...";
      break;
    }
    names += (listed++ ? ", '" : "'") + o.name + "'";
  }
  return Status(ErrorCode::kInputError,
                "the string features (" + names + ") of one batch call would hold more than " +
                    std::to_string(limits_.batch_bytes) +
                    " bytes, the limit per batch call; transform the data in parts");
}

Result<std::shared_ptr<Program>> Program::Make(const PlanSpec& spec, const StringLimits& limits) {
  if (limits.value_bytes > kMaxStringBytes || limits.row_bytes > kMaxRowStringBytes ||
      limits.batch_bytes > kMaxBatchStringBytes || limits.value_bytes > limits.row_bytes) {
    return Status(ErrorCode::kPlanError, "string limits may only be lowered (and a value must fit a row)");
  }
  Result<BoundPlan> b = bind_plan(spec);
  if (!b.ok()) return b.status();
  for (size_t i = 0; i < b.value().steps.size(); ++i) {
    const BoundStep& st = b.value().steps[i];
    if (!st.kernel && st.def->family != "structural") {
      return Status(ErrorCode::kPlanError,
                    "step " + std::to_string(i) + ": '" + st.def->name +
                        "' is a fitted transform that has not been fitted; call plan.fit(training data) first",
                    static_cast<int64_t>(i));
    }
  }
  return std::shared_ptr<Program>(new Program(std::move(b.value()), limits));
}

namespace {

Status make_readers(const BoundPlan& plan, const BatchInput& batch, size_t bi, std::vector<ColumnReader>* readers) {
  if (batch.length < 0) {
    return Status(ErrorCode::kInputError, "batch " + std::to_string(bi) + " has a negative length");
  }
  if (batch.schemas.size() != plan.inputs.size() || batch.arrays.size() != plan.inputs.size()) {
    return Status(ErrorCode::kInputError, "batch " + std::to_string(bi) + " does not have one column per input");
  }
  readers->resize(plan.inputs.size());
  for (size_t j = 0; j < plan.inputs.size(); ++j) {
    FP_RETURN_NOT_OK(make_reader(batch.schemas[j], batch.arrays[j], plan.inputs[j], &(*readers)[j]));
    if ((*readers)[j].length < batch.length) {
      return Status(ErrorCode::kInputError, "input '" + plan.inputs[j].name + "' is shorter than the batch");
    }
  }
  return Status::OK();
}

struct Task {
  size_t batch;
  int64_t start, len, global;
};

// Readers for every batch: the schema check of all entry points, done once per call.
using BatchReaders = std::vector<std::vector<ColumnReader>>;
Status make_batch_readers(const BoundPlan& plan, const std::vector<BatchInput>& batches, BatchReaders* readers) {
  readers->assign(batches.size(), {});
  for (size_t b = 0; b < batches.size(); ++b) FP_RETURN_NOT_OK(make_readers(plan, batches[b], b, &(*readers)[b]));
  return Status::OK();
}

// Runs tasks on `threads` workers; `body(ctx, task_index, readers)` processes one task.
template <typename Body>
Status run_tasks(const Program& program, const BatchReaders& readers, const std::vector<Task>& tasks, int threads,
                 Body body) {
  std::atomic<size_t> next{0};
  std::mutex mu;
  Status first;
  int64_t first_row = std::numeric_limits<int64_t>::max();
  auto guarded = [&](ExecContext& ctx, size_t t) -> Status {
    // A hostile or huge plan can exhaust memory (e.g. strings doubling step after step):
    // that is an error for the caller, never an exception escaping a worker thread.
    try {
      return body(ctx, t, readers[tasks[t].batch]);
    } catch (const std::bad_alloc&) {
      return Status(ErrorCode::kValueError, "out of memory while transforming rows from " +
                                                std::to_string(tasks[t].global), tasks[t].global);
    }
  };
  auto worker = [&]() {
    std::unique_ptr<ExecContext> ctx_holder;
    try {
      ctx_holder.reset(new ExecContext(program, Program::kChunk));
    } catch (const std::bad_alloc&) {
      std::lock_guard<std::mutex> lock(mu);
      if (first.ok()) first = Status(ErrorCode::kValueError, "out of memory allocating the plan's scratch space");
      next.store(tasks.size());
      return;
    }
    ExecContext& ctx = *ctx_holder;
    for (;;) {
      size_t t = next.fetch_add(1);
      if (t >= tasks.size()) return;
      Status st = guarded(ctx, t);
      if (!st.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        if (tasks[t].global < first_row) { first_row = tasks[t].global; first = st; }
        next.store(tasks.size());
        return;
      }
    }
  };
  int nt = std::max(1, std::min<int>(threads, static_cast<int>(tasks.size())));
  if (nt <= 1) {
    worker();
  } else {
    std::vector<std::thread> pool;
    for (int i = 0; i < nt; ++i) pool.emplace_back(worker);
    for (auto& th : pool) th.join();
  }
  return first;
}

std::vector<Task> make_tasks(const std::vector<BatchInput>& batches, int64_t morsel) {
  std::vector<Task> tasks;
  int64_t global = 0;
  for (size_t b = 0; b < batches.size(); ++b) {
    for (int64_t s = 0; s < batches[b].length; s += morsel) {
      int64_t len = std::min(morsel, batches[b].length - s);
      tasks.push_back({b, s, len, global + s});
    }
    global += batches[b].length;
  }
  return tasks;
}

constexpr int64_t kMorsel = 64 * Program::kChunk;

}  // namespace

Status Program::check_batches(const std::vector<BatchInput>& batches) const {
  BatchReaders readers;
  return make_batch_readers(plan_, batches, &readers);
}

namespace {

// Calls fn(i) for i in [0, n) on up to `threads` threads.
template <typename Fn>
void parallel_for(int threads, size_t n, Fn fn) {
  int nt = std::max(1, std::min<int>(threads, static_cast<int>(n)));
  if (nt <= 1) {
    for (size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  std::atomic<size_t> next{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < nt; ++t) {
    pool.emplace_back([&] {
      for (size_t i; (i = next.fetch_add(1)) < n;) fn(i);
    });
  }
  for (auto& th : pool) th.join();
}

// Packs bytes (0/1) of rows [begin, end) into bits; begin is a multiple of 8.
void pack_range(const uint8_t* bytes, int64_t begin, int64_t end, uint8_t* bits) {
  for (int64_t i = begin; i < end; i += 8) {
    uint8_t b = 0;
    int64_t m = std::min<int64_t>(8, end - i);
    for (int64_t k = 0; k < m; ++k) b |= static_cast<uint8_t>((bytes[i + k] & 1) << k);
    bits[i >> 3] = b;
  }
}

}  // namespace

Buffer::Buffer(size_t size) : size_(size) {
  if (size == 0) return;
  constexpr size_t kHuge = size_t{2} << 20;
  size_t align = size >= 2 * kHuge ? kHuge : 64;
  size_t padded = (size + align - 1) / align * align;
  void* p = std::aligned_alloc(align, padded);
  if (!p) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
  if (align == kHuge) madvise(p, padded, MADV_HUGEPAGE);
#endif
  ptr_ = std::shared_ptr<uint8_t>(static_cast<uint8_t*>(p), [](uint8_t* q) { std::free(q); });
}

Status Program::transform(const std::vector<BatchInput>& batches, int threads,
                          std::vector<OutputColumn>* out) const {
  BatchReaders readers;
  FP_RETURN_NOT_OK(make_batch_readers(plan_, batches, &readers));
  int64_t total = 0;
  for (const auto& b : batches) total += b.length;
  size_t no = plan_.outputs.size();
  out->assign(no, OutputColumn());
  // Workers write one validity byte per row (and bools one byte per value); they are
  // packed into bitmaps afterwards, in parallel over 8-row-aligned ranges.
  std::vector<Buffer> valid_bytes(no), bool_bytes(no);
  std::vector<std::atomic<int64_t>> nulls(no);
  for (size_t j = 0; j < no; ++j) {
    OutputColumn& oc = (*out)[j];
    oc.type = plan_.steps[plan_.outputs[j].step].out;
    oc.length = total;
    valid_bytes[j] = Buffer(static_cast<size_t>(total));
    if (oc.type == DType::kBool) bool_bytes[j] = Buffer(static_cast<size_t>(total));
    else if (oc.type != DType::kString) oc.data = Buffer(static_cast<size_t>(total) * 8);
    nulls[j] = 0;
  }
  std::vector<Task> tasks = make_tasks(batches, kMorsel);
  // Strings are appended per task and stitched afterwards.
  std::vector<std::vector<std::vector<char>>> task_chars(tasks.size(), std::vector<std::vector<char>>(no));
  std::vector<std::vector<std::vector<int64_t>>> task_lens(tasks.size(), std::vector<std::vector<int64_t>>(no));
  // The string features' bytes so far, over all tasks: held to limits_.batch_bytes before
  // any of them is copied out.
  std::atomic<uint64_t> string_bytes{0};
  Status st = run_tasks(*this, readers, tasks, threads, [&](ExecContext& ctx, size_t t, const std::vector<ColumnReader>& rd) {
    const Task& task = tasks[t];
    std::vector<int64_t> task_nulls(no, 0);
    auto emit = [&](int64_t n, int64_t g) -> Status {
      for (size_t j = 0; j < no; ++j) {
        OutputColumn& oc = (*out)[j];
        const Slot& sl = ctx.slot(plan_.outputs[j].step);
        std::memcpy(valid_bytes[j].data() + g, sl.valid, n);
        int64_t chunk_nulls = 0;
        for (int64_t i = 0; i < n; ++i) chunk_nulls += sl.valid[i] == 0;
        task_nulls[j] += chunk_nulls;
        if (oc.type == DType::kString) {
          auto& chars = task_chars[t][j];
          auto& lens = task_lens[t][j];
          const StrView* v = sl.as<StrView>();
          uint64_t add = 0;
          for (int64_t i = 0; i < n; ++i) add += sl.valid[i] ? v[i].len : 0;
          const uint64_t total = string_bytes.fetch_add(add) + add;
          FP_RETURN_NOT_OK(check_batch_string_bytes(total));
          for (int64_t i = 0; i < n; ++i) {
            uint32_t len = sl.valid[i] ? v[i].len : 0;
            chars.insert(chars.end(), v[i].ptr, v[i].ptr + len);
            lens.push_back(len);
          }
        } else if (oc.type == DType::kBool) {
          uint8_t* dst = bool_bytes[j].data() + g;
          const uint8_t* src = sl.as<uint8_t>();
          // Null rows get a zero payload so outputs are deterministic byte for byte.
          for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<uint8_t>(src[i] & sl.valid[i]);
        } else {
          uint8_t* dst = oc.data.data() + g * 8;
          std::memcpy(dst, sl.data, n * 8);
          if (chunk_nulls) {
            for (int64_t i = 0; i < n; ++i) {
              if (!sl.valid[i]) std::memset(dst + i * 8, 0, 8);
            }
          }
        }
      }
      return Status::OK();
    };
    for (int64_t s = 0; s < task.len; s += kChunk) {
      int64_t n = std::min(kChunk, task.len - s);
      FP_RETURN_NOT_OK(ctx.process(rd, task.start + s, n, task.global + s, emit));
    }
    for (size_t j = 0; j < no; ++j) nulls[j] += task_nulls[j];
    return Status::OK();
  });
  if (!st.ok()) return st;
  constexpr int64_t kPackRange = int64_t{1} << 20;  // rows, a multiple of 8
  size_t ranges = static_cast<size_t>((total + kPackRange - 1) / kPackRange);
  for (size_t j = 0; j < no; ++j) {
    OutputColumn& oc = (*out)[j];
    oc.null_count = nulls[j];
    size_t bitmap_bytes = static_cast<size_t>((total + 7) / 8);
    if (oc.null_count) oc.validity = Buffer(bitmap_bytes);
    if (oc.type == DType::kBool) oc.data = Buffer(bitmap_bytes);
  }
  parallel_for(threads, ranges * no, [&](size_t k) {
    size_t j = k / ranges;
    int64_t begin = static_cast<int64_t>(k % ranges) * kPackRange;
    int64_t end = std::min(total, begin + kPackRange);
    OutputColumn& oc = (*out)[j];
    if (oc.null_count) pack_range(valid_bytes[j].data(), begin, end, oc.validity.data());
    if (oc.type == DType::kBool) pack_range(bool_bytes[j].data(), begin, end, oc.data.data());
  });
  for (size_t j = 0; j < no; ++j) {
    OutputColumn& oc = (*out)[j];
    if (oc.type != DType::kString) continue;
    size_t bytes = 0;
    for (size_t t = 0; t < tasks.size(); ++t) bytes += task_chars[t][j].size();
    oc.chars = Buffer(bytes);
    oc.offsets = Buffer(static_cast<size_t>(total + 1) * 8);
    int64_t* off = oc.offsets.as<int64_t>();
    int64_t pos = 0, row = 0;
    off[0] = 0;
    for (size_t t = 0; t < tasks.size(); ++t) {
      if (!task_chars[t][j].empty()) std::memcpy(oc.chars.data() + pos, task_chars[t][j].data(), task_chars[t][j].size());
      for (int64_t len : task_lens[t][j]) {
        pos += len;
        off[++row] = pos;
      }
      std::vector<char>().swap(task_chars[t][j]);
    }
  }
  return Status::OK();
}

Status Program::analyze(const std::vector<BatchInput>& batches, int threads,
                        const std::vector<Analyzer*>& states) const {
  for (const Analyzer* a : states) {
    if (a == nullptr) return Status(ErrorCode::kInputError, "one analyzer per output is required");
  }
  return validate(batches, threads, states, 0, nullptr);  // the same pass, with no verdicts written
}

Status Program::validate(const std::vector<BatchInput>& batches, int threads,
                         const std::vector<Analyzer*>& states, size_t flags, uint8_t* out) const {
  BatchReaders readers;
  FP_RETURN_NOT_OK(make_batch_readers(plan_, batches, &readers));
  const size_t no = plan_.outputs.size();
  if (states.size() != no) return Status(ErrorCode::kInputError, "one analyzer per output is required");
  if (flags > no) return Status(ErrorCode::kInputError, "more verdict outputs than outputs");
  for (size_t j = 0; j < flags; ++j) {
    DType t = plan_.steps[plan_.outputs[j].step].out;
    if (t != DType::kBool) {
      return Status(ErrorCode::kTypeError, "rule '" + plan_.outputs[j].name + "' is " + dtype_name(t) +
                                               ", not bool: a rule must be a boolean expression");
    }
  }
  std::vector<Task> tasks = make_tasks(batches, kMorsel);
  std::vector<std::vector<std::unique_ptr<Analyzer>>> partial(tasks.size());
  Status st = run_tasks(*this, readers, tasks, threads, [&](ExecContext& ctx, size_t t, const std::vector<ColumnReader>& rd) {
    const Task& task = tasks[t];
    auto& mine = partial[t];
    for (size_t j = 0; j < no; ++j) mine.push_back(states[j] ? states[j]->empty_clone() : nullptr);
    auto emit = [&](int64_t n, int64_t g) {
      for (size_t j = 0; j < flags; ++j) {
        const Slot& sl = ctx.slot(plan_.outputs[j].step);
        const uint8_t* v = sl.as<uint8_t>();
        uint8_t* dst = out + g * static_cast<int64_t>(flags) + static_cast<int64_t>(j);
        for (int64_t i = 0; i < n; ++i) dst[i * static_cast<int64_t>(flags)] = static_cast<uint8_t>(sl.valid[i] && v[i]);
      }
      for (size_t j = 0; j < no; ++j) {
        if (mine[j]) mine[j]->update(ctx.slot(plan_.outputs[j].step), n);
      }
      return Status::OK();
    };
    for (int64_t s = 0; s < task.len; s += kChunk) {
      int64_t n = std::min(kChunk, task.len - s);
      FP_RETURN_NOT_OK(ctx.process(rd, task.start + s, n, task.global + s, emit));
    }
    return Status::OK();
  });
  if (!st.ok()) return st;
  for (size_t t = 0; t < tasks.size(); ++t) {
    for (size_t j = 0; j < no; ++j) {
      if (states[j]) FP_RETURN_NOT_OK(states[j]->merge(*partial[t][j]));
    }
    partial[t].clear();
  }
  return Status::OK();
}

Status Program::transform_matrix(const std::vector<BatchInput>& batches, int threads, double* out) const {
  BatchReaders readers;
  FP_RETURN_NOT_OK(make_batch_readers(plan_, batches, &readers));
  size_t no = plan_.outputs.size();
  for (size_t j = 0; j < no; ++j) {
    DType t = plan_.steps[plan_.outputs[j].step].out;
    if (t == DType::kString || t == DType::kTimestamp) {
      return Status(ErrorCode::kInputError, "feature '" + plan_.outputs[j].name + "' is " + dtype_name(t) +
                                                " and cannot be part of a float matrix");
    }
  }
  std::vector<Task> tasks = make_tasks(batches, kMorsel);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  return run_tasks(*this, readers, tasks, threads, [&](ExecContext& ctx, size_t t, const std::vector<ColumnReader>& rd) {
    const Task& task = tasks[t];
    auto emit = [&](int64_t n, int64_t g) {
      for (size_t j = 0; j < no; ++j) {
        const Slot& sl = ctx.slot(plan_.outputs[j].step);
        double* dst = out + g * no + j;
        switch (sl.type) {
          case DType::kFloat64:
            for (int64_t i = 0; i < n; ++i) dst[i * no] = sl.valid[i] ? sl.as<double>()[i] : nan;
            break;
          case DType::kInt64:
            for (int64_t i = 0; i < n; ++i) dst[i * no] = sl.valid[i] ? static_cast<double>(sl.as<int64_t>()[i]) : nan;
            break;
          case DType::kBool:
            for (int64_t i = 0; i < n; ++i) dst[i * no] = sl.valid[i] ? (sl.as<uint8_t>()[i] ? 1.0 : 0.0) : nan;
            break;
          default: break;
        }
      }
      return Status::OK();
    };
    for (int64_t s = 0; s < task.len; s += kChunk) {
      int64_t n = std::min(kChunk, task.len - s);
      FP_RETURN_NOT_OK(ctx.process(rd, task.start + s, n, task.global + s, emit));
    }
    return Status::OK();
  });
}

// ---- RowRunner -----------------------------------------------------------------------

RowRunner::RowRunner(std::shared_ptr<const Program> program)
    : program_(std::move(program)), ctx_(new ExecContext(*program_, 1)) {
  const BoundPlan& plan = program_->plan();
  input_steps_.assign(plan.inputs.size(), {});
  for (int32_t sid : ctx_->input_steps()) input_steps_[plan.steps[sid].input_index].push_back(sid);
  scratch_valid_ = 0;
  std::memset(scratch_data_, 0, sizeof scratch_data_);
}

RowRunner::~RowRunner() = default;

Status RowRunner::set_input(int i, const SourceValue& v, int64_t row) {
  const BoundPlan& plan = program_->plan();
  const PlanInput& in = plan.inputs[i];
  FP_RETURN_NOT_OK(check_source(v.kind, v.naive, in));
  // An input no step reads is type-checked (above) but its value is not converted, as on
  // the batch path.
  if (input_steps_[i].empty()) return Status::OK();
  Slot scratch;
  scratch.valid = &scratch_valid_;
  scratch.data = scratch_data_;
  Status st = convert_source(v, in.declared, scratch, 0, program_->limits().value_bytes);
  if (!st.ok()) return at_row(in, row, st);
  for (int32_t sid : input_steps_[i]) {
    Slot& dst = ctx_->slot(sid);
    dst.valid[0] = scratch_valid_;
    std::memcpy(dst.data, scratch_data_, slot_width(dst.type));
  }
  return Status::OK();
}

Status RowRunner::run(int64_t row) {
  bool rerun = false;
  return ctx_->run(1, row, &rerun);
}

const Slot& RowRunner::output(int j) const { return ctx_->slot(program_->plan().outputs[j].step); }

}  // namespace featureplat
