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
  bool b = false;                       ///< kBool
  int64_t i = 0;                        ///< kInt64, kTimestamp
  uint64_t u = 0;                       ///< kUInt64
  double f = 0.0;                       ///< kFloat64, kFloat32 (already widened)
  StrView s{"", 0};                     ///< kString (borrowed)
};

/// Whether values of `kind` may be given for an input declared `declared`.
bool source_accepted(SourceKind kind, DType declared);
/// Converts one value to the declared type (same function for both paths). Returns a
/// kValueError status for a value that does not fit.
Status convert_source(const SourceValue& v, DType declared, Slot& out, int64_t row, StringArena* arena);

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
  /// Binds `spec` strictly and prepares it for execution.
  static Result<std::shared_ptr<Program>> Make(const PlanSpec& spec);

  /// The bound plan.
  const BoundPlan& plan() const { return plan_; }

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

  /// Rows per fused chunk.
  static constexpr int64_t kChunk = 1024;

 private:
  explicit Program(BoundPlan plan) : plan_(std::move(plan)) {}
  BoundPlan plan_;
  friend class ExecContext;
  friend class RowRunner;
};

/// Serves one row at a time with preallocated scratch. Not thread-safe: one per caller.
class RowRunner {
 public:
  explicit RowRunner(std::shared_ptr<const Program> program);
  ~RowRunner();
  /// Sets declared input `i` for the next run; kValueError/kInputError when it does not fit.
  Status set_input(int i, const SourceValue& v);
  /// Runs the plan on the inputs set.
  void run();
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
