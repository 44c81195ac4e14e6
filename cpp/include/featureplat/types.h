// Logical types, scalars and the chunk slot every kernel reads and writes.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace featureplat {

/// Logical types of the plan. kFloat32 exists only as a declared input type: it is
/// widened exactly to float64 when read. kNull is the type of an untyped null literal
/// before the binder gives it the type its context needs.
enum class DType : uint8_t {
  kNull = 0,    ///< untyped null (binder only)
  kBool = 1,    ///< true/false
  kInt64 = 2,   ///< signed 64-bit integer
  kFloat64 = 3, ///< IEEE 754 binary64
  kString = 4,  ///< UTF-8 text
  kTimestamp = 5, ///< microseconds since 1970-01-01T00:00:00Z, int64
  kFloat32 = 6, ///< declared input type only, read as float64
};

/// Canonical lowercase name ("int64", "timestamp", ...).
const char* dtype_name(DType t);
/// Parse a canonical name; false when unknown.
bool dtype_from_name(const std::string& name, DType* out);

/// A borrowed UTF-8 string: points into Arrow buffers, plan params or a StringArena.
struct StrView {
  const char* ptr;  ///< first byte (never null, may point at a static empty string)
  uint32_t len;     ///< length in bytes
};

/// A typed constant: literal values and op parameters.
struct Scalar {
  DType type = DType::kNull;  ///< kNull with is_null for an untyped null
  bool is_null = true;        ///< null value of `type`
  bool b = false;             ///< kBool payload
  int64_t i = 0;              ///< kInt64 / kTimestamp payload
  double f = 0.0;             ///< kFloat64 payload
  std::string s;              ///< kString payload

  static Scalar Null(DType t = DType::kNull) { Scalar x; x.type = t; return x; }
  static Scalar Bool(bool v) { Scalar x; x.type = DType::kBool; x.is_null = false; x.b = v; return x; }
  static Scalar Int(int64_t v) { Scalar x; x.type = DType::kInt64; x.is_null = false; x.i = v; return x; }
  static Scalar Float(double v) { Scalar x; x.type = DType::kFloat64; x.is_null = false; x.f = v; return x; }
  static Scalar Str(std::string v) { Scalar x; x.type = DType::kString; x.is_null = false; x.s = std::move(v); return x; }
  static Scalar Time(int64_t v) { Scalar x; x.type = DType::kTimestamp; x.is_null = false; x.i = v; return x; }
};

/// An op parameter: one scalar or a list of scalars.
struct Param {
  bool is_list = false;        ///< true for list parameters (boundaries, map keys)
  std::vector<Scalar> values;  ///< one element unless is_list
};

/// Per-chunk storage for one step's output. `valid[i]` is 1 for a present value and
/// 0 for null; the payload of a null row is unspecified but always safe to read.
struct Slot {
  DType type = DType::kNull;  ///< physical type (never kFloat32 or kNull at run time)
  uint8_t* valid = nullptr;   ///< one byte per row
  void* data = nullptr;       ///< uint8_t (bool), int64_t, double or StrView per row

  template <typename T> T* as() { return static_cast<T*>(data); }
  template <typename T> const T* as() const { return static_cast<const T*>(data); }
};

/// Byte width of one row of a physical type inside a Slot.
inline size_t slot_width(DType t) {
  switch (t) {
    case DType::kBool: return 1;
    case DType::kString: return sizeof(StrView);
    default: return 8;
  }
}

/// Bump allocator for strings computed inside one chunk. Blocks never move, so views
/// stay valid until reset().
class StringArena {
 public:
  /// Returns `n` writable bytes valid until reset().
  char* alloc(size_t n) {
    if (n == 0) return empty_;
    if (blocks_.empty() || used_ + n > cap_) grow(n);
    char* p = blocks_[current_].get() + used_;
    used_ += n;
    return p;
  }
  /// Forgets all allocations. Keeps the first block; blocks beyond it are kept only while
  /// they total at most 4 MiB, so one huge row does not pin memory for the plan's lifetime.
  void reset() {
    size_t total = 0;
    for (size_t sz : sizes_) total += sz;
    if (total > (size_t{4} << 20) && blocks_.size() > 1) {
      blocks_.resize(1);
      sizes_.resize(1);
    }
    current_ = 0;
    used_ = 0;
    cap_ = blocks_.empty() ? 0 : sizes_[0];
  }

 private:
  void grow(size_t n) {
    // Reuse a retained block when it is big enough, else add one.
    while (!blocks_.empty() && current_ + 1 < blocks_.size()) {
      ++current_;
      used_ = 0;
      cap_ = sizes_[current_];
      if (n <= cap_) return;
    }
    size_t size = std::max<size_t>(n, 1u << 16);
    blocks_.emplace_back(new char[size]);
    sizes_.push_back(size);
    current_ = blocks_.size() - 1;
    used_ = 0;
    cap_ = size;
  }
  std::vector<std::unique_ptr<char[]>> blocks_;
  std::vector<size_t> sizes_;
  size_t current_ = 0, used_ = 0, cap_ = 0;
  char empty_[1] = {0};
};

// The bounds on text (README "Limits"), so that neither data nor a plan can make the core
// hold unbounded strings: a plan of n steps that each double a string would otherwise
// need 2^n bytes for one row.
/// Most bytes of one string value: an input value (checked from the Arrow offsets or the
/// Python str before its bytes are read) or a value a step computes.
constexpr uint64_t kMaxStringBytes = uint64_t{64} << 20;
/// Most bytes the steps of a plan may compute for one row, all string steps together.
constexpr uint64_t kMaxRowStringBytes = uint64_t{256} << 20;
/// Most bytes of the string features one batch call (Program::transform) returns, all
/// string features together.
constexpr uint64_t kMaxBatchStringBytes = uint64_t{4} << 30;

/// The string limits a Program enforces (the constants above unless a test lowers them).
struct StringLimits {
  uint64_t value_bytes = kMaxStringBytes;       ///< one string value
  uint64_t row_bytes = kMaxRowStringBytes;      ///< the strings computed for one row
  uint64_t batch_bytes = kMaxBatchStringBytes;  ///< the string features of one batch call
};

/// Accounts the string bytes kernels compute for each row of one run (a chunk, or one
/// row) against StringLimits. A kernel asks before it allocates (ops::alloc_string); when
/// refused it makes the row null and the executor turns the refusal into an error naming
/// the feature and the row. Refusals depend only on the row's own values, so the batch
/// and row paths refuse the same rows. The run as a whole is also held to row_bytes: past
/// it take() fails with overflowed() set, and the executor reruns the chunk one row at a
/// time (results do not depend on the chunk size), so a chunk never holds more.
class StringBudget {
 public:
  /// The first refusal of a row: the step that asked, and for how many bytes.
  struct Refusal {
    int64_t row = -1;        ///< row within the run, -1 when none
    int32_t step = -1;       ///< the step whose kernel asked
    uint64_t bytes = 0;      ///< the value's length, or the row's total with it
    bool whole_row = false;  ///< false: one value over value_bytes; true: the row's total over row_bytes
  };

  /// Room for runs of up to `rows` rows.
  explicit StringBudget(int64_t rows = 1) : used_(static_cast<size_t>(rows)), refused_(static_cast<size_t>(rows)) {}
  /// Starts a run of `rows` rows under `limits` (kept by pointer).
  void start(int64_t rows, const StringLimits* limits) {
    limits_ = limits;
    rows_ = rows;
    total_ = 0;
    overflowed_ = false;
    any_refused_ = false;
    for (int64_t r = 0; r < rows; ++r) {
      used_[r] = 0;
      refused_[r] = Refusal();
    }
  }
  /// The step whose kernel runs next.
  void set_step(int32_t step) { step_ = step; }
  /// Claims `bytes` for a string of row `row`; false when a limit refuses it.
  bool take(int64_t row, uint64_t bytes) {
    if (bytes > limits_->value_bytes) return refuse(row, bytes, false);
    if (bytes > limits_->row_bytes - used_[row]) return refuse(row, used_[row] + bytes, true);
    if (bytes > limits_->row_bytes - total_) {
      overflowed_ = true;
      return false;
    }
    used_[row] += bytes;
    total_ += bytes;
    return true;
  }
  /// True when the run as a whole went past row_bytes (the executor reruns it row by row).
  bool overflowed() const { return overflowed_; }
  /// The refusal of the lowest refused row (row -1 when none).
  Refusal first_refusal() const {
    if (!any_refused_) return Refusal();
    for (int64_t r = 0; r < rows_; ++r) {
      if (refused_[r].row >= 0) return refused_[r];
    }
    return Refusal();
  }
  /// The limits of the current run.
  const StringLimits& limits() const { return *limits_; }

 private:
  bool refuse(int64_t row, uint64_t bytes, bool whole_row) {
    if (refused_[row].row < 0) refused_[row] = Refusal{row, step_, bytes, whole_row};
    any_refused_ = true;
    return false;
  }
  std::vector<uint64_t> used_;
  std::vector<Refusal> refused_;
  const StringLimits* limits_ = nullptr;
  int64_t rows_ = 0;
  uint64_t total_ = 0;
  int32_t step_ = -1;
  bool overflowed_ = false, any_refused_ = false;
};

}  // namespace featureplat
