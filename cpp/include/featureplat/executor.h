// Executes a bound plan over Arrow batches (fused, chunk by chunk, optionally on
// several threads) and over one row, with the same kernels.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "featureplat/arrow_abi.h"
#include "featureplat/plan.h"
#include "featureplat/status.h"
#include "featureplat/types.h"

namespace featureplat {

class ExecContext;
class Analyzer;

/// Where an input value comes from before conversion to its declared type.
enum class SourceKind : uint8_t {
  kNull,       ///< a null of unknown type (Arrow null array, Python None)
  kBool,       ///< boolean
  kInt64,      ///< signed integer of any width
  kUInt64,     ///< unsigned 64-bit integer
  kFloat64,    ///< binary64
  kFloat32,    ///< binary32
  kString,     ///< UTF-8 text
  kTimestamp,  ///< microseconds since the epoch (UTC)
};

/// One value handed to the row path.
struct SourceValue {
  SourceKind kind = SourceKind::kNull;  ///< what the payload holds
  bool naive = false;                   ///< kTimestamp given without a time zone (always refused)
  bool b = false;                       ///< kBool
  int64_t i = 0;                        ///< kInt64, kTimestamp
  uint64_t u = 0;                       ///< kUInt64
  double f = 0.0;                       ///< kFloat64, kFloat32 (already widened)
  StrView s{"", 0};                     ///< kString (borrowed)
  uint64_t bytes = 0;                   ///< kString: the full length when it may exceed s.len (checked first)
  bool bad_utf8 = false;                ///< kString: the caller could not encode it as UTF-8 (a lone surrogate)
};

// Input conversion, the one rule of both paths. The batch path checks a column's kind
// once (check_source), then converts each value (convert_source); the row path does both
// per value. Accepted kinds per declared type (null is accepted everywhere):
//   bool       bool
//   int64      integers; floats that are integral and in int64 range (exact), a float
//              NaN is null (pandas' marker for a missing integer); any other float
//              (fractional, +-inf, out of range) is a kValueError naming the row
//   float64    integers (nearest double), floats; float32: the same, rounded to float32
//   string     strings: well-formed UTF-8 of at most kMaxStringBytes bytes each (the
//              length is checked from the Arrow offsets or the Python str before any byte
//              is read); any other string is a kValueError naming the row
//   timestamp  timestamps with a time zone, integers (microseconds since the epoch, UTC)
// Timestamps without a time zone (naive) are refused for every input: their instant is
// ambiguous. Strings are never parsed into numbers or times.

/// OK when values of `kind` may be given for input `in`, else the kInputError both paths
/// report word for word: "input 'x': declared int64 but got string values; ..." or
/// "input 'x': naive datetime ...; give it a time zone (e.g. UTC)". `naive`: the values are
/// timestamps without a time zone.
Status check_source(SourceKind kind, bool naive, const PlanInput& in);
/// Converts one accepted value to the declared type (same function for both paths) into
/// row `row` of `out`. Returns a kValueError status (index `row`) for a value that does
/// not fit (a string longer than `max_string_bytes` or not UTF-8 among them); the callers
/// prefix the input's name and the row.
Status convert_source(const SourceValue& v, DType declared, Slot& out, int64_t row,
                      uint64_t max_string_bytes = kMaxStringBytes);

/// A date and time of day as a caller's datetime object holds it, with its UTC offset.
struct CivilTime {
  int64_t year = 1970;       ///< proleptic Gregorian year
  int month = 1;             ///< 1..12
  int day = 1;               ///< 1..31
  int hour = 0;              ///< 0..23
  int minute = 0;            ///< 0..59
  int second = 0;            ///< 0..59
  int microsecond = 0;       ///< 0..999999
  bool has_offset = false;   ///< false for a naive time (no time zone)
  int64_t offset_us = 0;     ///< local time minus UTC, microseconds
};

/// Microseconds since the epoch (UTC) of an aware civil time (local time minus its
/// offset): the conversion of every datetime the core is given (row inputs, request
/// times). A naive time is a kInputError "naive datetime ...; give it a time zone (e.g.
/// UTC)", fields out of range or a result outside int64 a kValueError; callers prefix
/// what the value is ("input 'x': ").
Status civil_to_micros(const CivilTime& t, int64_t* out);

/// The UTC civil time of `us` microseconds since the epoch, for every int64 (the inverse
/// of civil_to_micros with offset 0; the output conversion of timestamp features to
/// Python datetimes). Years run from -290308 to 294247.
CivilTime civil_from_micros(int64_t us);

/// Scales an integer in Arrow time unit `unit` ('s', 'm' milliseconds, 'u', 'n') to
/// microseconds (nanoseconds are floored); false on int64 overflow.
bool timestamp_to_micros(int64_t value, char unit, int64_t* out);

/// One batch: an ArrowArray per declared input (schema + array), all of equal length.
struct BatchInput {
  std::vector<const ArrowSchema*> schemas;  ///< per declared input
  std::vector<const ArrowArray*> arrays;    ///< per declared input
  int64_t length = 0;                       ///< rows
};

/// Uninitialised, 64-byte aligned bytes. Large buffers are advised to use huge pages, and
/// their pages are first touched by the worker threads that fill them. Shared ownership
/// lets Python keep the memory alive without a copy.
class Buffer {
 public:
  Buffer() = default;
  /// Allocates `size` bytes (contents unspecified).
  explicit Buffer(size_t size);
  /// First byte.
  uint8_t* data() { return ptr_.get(); }
  const uint8_t* data() const { return ptr_.get(); }
  /// Size in bytes.
  size_t size() const { return size_; }
  /// True when no bytes are held.
  bool empty() const { return size_ == 0; }
  /// Typed view.
  template <typename T> T* as() { return reinterpret_cast<T*>(ptr_.get()); }
  template <typename T> const T* as() const { return reinterpret_cast<const T*>(ptr_.get()); }
  /// The owning pointer (for zero-copy hand-off).
  std::shared_ptr<uint8_t> share() const { return ptr_; }

 private:
  std::shared_ptr<uint8_t> ptr_;
  size_t size_ = 0;
};

/// Batch results for one output, concatenated over all batches, in Arrow layout.
struct OutputColumn {
  DType type = DType::kNull;  ///< output type
  int64_t length = 0;         ///< rows
  int64_t null_count = 0;     ///< rows that are null
  Buffer validity;            ///< LSB-first bitmap, 1 = present; empty when null_count == 0
  Buffer data;                ///< bool: LSB-first bitmap; int64/timestamp/float64: 8 bytes a row; null rows hold 0
  Buffer offsets;             ///< strings: length + 1 int64 offsets
  Buffer chars;               ///< strings: UTF-8 bytes

  /// Whether row `i` is present.
  bool is_valid(int64_t i) const {
    return validity.empty() || ((validity.data()[i >> 3] >> (i & 7)) & 1);
  }
};

/// A compiled, shareable program. Thread-safe: each call uses its own scratch.
class Program {
 public:
  /// Binds `spec` strictly and prepares it for execution under `limits` (tests lower them).
  static Result<std::shared_ptr<Program>> Make(const PlanSpec& spec, const StringLimits& limits = StringLimits());

  /// The bound plan.
  const BoundPlan& plan() const { return plan_; }
  /// The string limits this program enforces.
  const StringLimits& limits() const { return limits_; }
  /// OK while `bytes` of string features fit one batch call (limits().batch_bytes), else
  /// the kInputError Program::transform reports; the row path's batch emulation
  /// (FEATUREPLAT_FORCE_ROW) asks here with its running total.
  Status check_batch_string_bytes(uint64_t bytes) const;
  /// The error of a string the limits refused in the run of row `row` (the caller's row
  /// number): kInputError naming the feature that needs the step, the step and the row.
  Status string_refusal(const StringBudget::Refusal& r, int64_t row) const;

  /// Checks that each batch's columns can be read as the declared inputs.
  Status check_batches(const std::vector<BatchInput>& batches) const;
  /// Runs all batches; `threads` >= 1. Output columns are in plan output order.
  Status transform(const std::vector<BatchInput>& batches, int threads,
                   std::vector<OutputColumn>* out) const;
  /// Same, writing a row-major float64 matrix (rows x outputs); null -> NaN, bool -> 0/1,
  /// int64 -> nearest double. String and timestamp outputs are an error.
  Status transform_matrix(const std::vector<BatchInput>& batches, int threads, double* out) const;

  /// The analyze pass of fit: streams the batches through the plan and feeds output `j`
  /// of every chunk to `states[j]`, without materialising anything. Each morsel gets a
  /// fresh state; they are merged into `states` in row order, so results do not depend
  /// on the thread count.
  Status analyze(const std::vector<BatchInput>& batches, int threads, const std::vector<Analyzer*>& states) const;

  /// The validation pass: one pass that writes outputs [0, flags) (each must be bool) to
  /// `out` as 0/1 bytes, row-major (rows x flags; a null is 0, a failure), and feeds every
  /// output j with states[j] != nullptr to that state, as analyze() does (merged in row
  /// order, so the states do not depend on the thread count). `states` has one entry per
  /// output. Rule plans put each rule's verdict first and the columns to profile after.
  Status validate(const std::vector<BatchInput>& batches, int threads, const std::vector<Analyzer*>& states,
                  size_t flags, uint8_t* out) const;

  /// Rows per fused chunk.
  static constexpr int64_t kChunk = 1024;

 private:
  Program(BoundPlan plan, const StringLimits& limits);
  BoundPlan plan_;
  StringLimits limits_;
  std::vector<int32_t> step_output_;  // per step: the first output that needs it, -1 for none
  friend class ExecContext;
  friend class RowRunner;
};

/// Serves one row at a time with preallocated scratch. Not thread-safe: one per caller.
class RowRunner {
 public:
  explicit RowRunner(std::shared_ptr<const Program> program);
  ~RowRunner();
  /// Sets declared input `i` for the next run; kValueError/kInputError when it does not
  /// fit, with the message the batch path gives for row `row` (the caller's row number).
  Status set_input(int i, const SourceValue& v, int64_t row = 0);
  /// Runs the plan on the inputs set; a kInputError when the string limits refuse a
  /// string it computes (the message names the feature and row `row`).
  Status run(int64_t row = 0);
  /// Output `j` after run(): its slot (row 0).
  const Slot& output(int j) const;
  /// The program.
  const Program& program() const { return *program_; }

 private:
  std::shared_ptr<const Program> program_;
  std::unique_ptr<ExecContext> ctx_;
  std::vector<std::vector<int32_t>> input_steps_;  // declared input -> the steps reading it
  uint8_t scratch_valid_;            // conversion target for unused inputs
  uint64_t scratch_data_[2];
};

}  // namespace featureplat
