// Error values of the core. The core never throws across its public API; the
// bindings map each code to a Python exception.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

namespace featureplat {

/// What went wrong, one value per kind of failure the caller can act on.
enum class ErrorCode {
  kOk = 0,        ///< no error
  kPlanError,     ///< the plan itself is malformed (unknown op, bad arity, bad parameter, bad step id)
  kTypeError,     ///< a well-formed plan whose types do not fit an op's signatures
  kInputError,    ///< the data given to transform/transform_row does not match the declared inputs
  kValueError,    ///< a value that cannot be represented (e.g. uint64 input above int64 range)
};

/// A success flag or an error code with a message.
class Status {
 public:
  Status() = default;
  Status(ErrorCode code, std::string message, int64_t index = -1)
      : code_(code), message_(std::move(message)), index_(index) {}
  /// The success value.
  static Status OK() { return Status(); }
  /// True when no error occurred.
  bool ok() const { return code_ == ErrorCode::kOk; }
  /// The error kind.
  ErrorCode code() const { return code_; }
  /// Human-readable description naming what was wrong and where.
  const std::string& message() const { return message_; }
  /// Where: the plan step id for plan/type errors, the row for value errors, else -1.
  int64_t index() const { return index_; }

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
  int64_t index_ = -1;
};

/// A value or an error.
template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {}  // NOLINT
  /// True when a value is held.
  bool ok() const { return status_.ok(); }
  /// The error (OK when a value is held).
  const Status& status() const { return status_; }
  /// The value; only valid when ok().
  T& value() { return value_; }
  const T& value() const { return value_; }

 private:
  Status status_;
  T value_{};
};

#define FP_RETURN_NOT_OK(expr)            \
  do {                                    \
    ::featureplat::Status _st = (expr);   \
    if (!_st.ok()) return _st;            \
  } while (0)

}  // namespace featureplat
