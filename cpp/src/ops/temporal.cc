// Temporal ops over timestamps (int64 microseconds since 1970-01-01T00:00:00Z). Every
// int64 is a valid instant: fields use floor division, so negative timestamps fall in
// the earlier day/second, and the calendar is the proleptic Gregorian one, in UTC.
#include <cstdint>
#include <string>
#include <vector>

#include "featureplat/registry.h"
#include "featureplat/scalar_fns.h"
#include "ops/kernel_util.h"

namespace featureplat {
namespace {

using ops::bind;

constexpr int64_t kMicrosPerSecond = 1000000;
constexpr int64_t kMicrosPerMinute = 60 * kMicrosPerSecond;
constexpr int64_t kMicrosPerHour = 60 * kMicrosPerMinute;
constexpr int64_t kMicrosPerDay = 24 * kMicrosPerHour;

// Every argument must be a timestamp (an untyped null literal is accepted as one).
Result<std::vector<DType>> all_timestamps(const char* op, const std::vector<DType>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] != DType::kTimestamp && args[i] != DType::kNull) {
      return Status(ErrorCode::kTypeError,
                    std::string(op) + ": argument " + std::to_string(i + 1) + " is " +
                        dtype_name(args[i]) +
                        ", expected timestamp (cast it to timestamp first)");
    }
  }
  return std::vector<DType>(args.size(), DType::kTimestamp);
}

// ---- field extraction --------------------------------------------------------------

int64_t ts_days(int64_t us) { return scalar::floor_div(us, kMicrosPerDay); }
int64_t ts_micros_of_day(int64_t us) { return scalar::floor_mod(us, kMicrosPerDay); }

int64_t f_year(int64_t us) {
  int64_t y;
  unsigned m, d;
  scalar::civil_from_days(ts_days(us), &y, &m, &d);
  return y;
}
int64_t f_month(int64_t us) {
  int64_t y;
  unsigned m, d;
  scalar::civil_from_days(ts_days(us), &y, &m, &d);
  return static_cast<int64_t>(m);
}
int64_t f_day(int64_t us) {
  int64_t y;
  unsigned m, d;
  scalar::civil_from_days(ts_days(us), &y, &m, &d);
  return static_cast<int64_t>(d);
}
int64_t f_hour(int64_t us) { return ts_micros_of_day(us) / kMicrosPerHour; }
int64_t f_minute(int64_t us) { return (ts_micros_of_day(us) % kMicrosPerHour) / kMicrosPerMinute; }
// 1970-01-01 was a Thursday (Monday = 0, so Thursday = 3). |days| < 1.1e8: no overflow.
int64_t f_day_of_week(int64_t us) { return scalar::floor_mod(ts_days(us) + 3, 7); }
int64_t f_epoch_seconds(int64_t us) { return scalar::floor_div(us, kMicrosPerSecond); }

template <int64_t (*F)(int64_t)>
void field_kernel(KernelContext&, const Slot* const* args, Slot& out, int64_t n) {
  ops::map1<int64_t, int64_t>(args, out, n, [](int64_t us) { return F(us); });
}

void diff_seconds_kernel(KernelContext&, const Slot* const* args, Slot& out, int64_t n) {
  ops::map2_nullable<int64_t, int64_t, double>(args, out, n, [](int64_t a, int64_t b, double* r) {
    int64_t d;
    if (__builtin_sub_overflow(a, b, &d)) {
      *r = 0.0;
      return false;
    }
    *r = static_cast<double>(d) / 1e6;
    return true;
  });
}

#define FP_FIELD_RESOLVER(fname, opname)                                          \
  Result<Binding> resolve_##fname(const std::vector<DType>& args, const Params&) { \
    auto types = all_timestamps(opname, args);                                    \
    if (!types.ok()) return types.status();                                       \
    return bind(types.value(), DType::kInt64, field_kernel<f_##fname>);           \
  }

FP_FIELD_RESOLVER(year, "dt_year")
FP_FIELD_RESOLVER(month, "dt_month")
FP_FIELD_RESOLVER(day, "dt_day")
FP_FIELD_RESOLVER(hour, "dt_hour")
FP_FIELD_RESOLVER(minute, "dt_minute")
FP_FIELD_RESOLVER(day_of_week, "dt_day_of_week")
FP_FIELD_RESOLVER(epoch_seconds, "dt_epoch_seconds")

#undef FP_FIELD_RESOLVER

Result<Binding> resolve_diff_seconds(const std::vector<DType>& args, const Params&) {
  auto types = all_timestamps("dt_diff_seconds", args);
  if (!types.ok()) return types.status();
  return bind(types.value(), DType::kFloat64, diff_seconds_kernel);
}

OpDef temporal_op(const char* name, const char* sig, const char* doc, int nargs, ResolveFn fn) {
  OpDef d;
  d.name = name;
  d.family = "temporal";
  d.signature = sig;
  d.doc = doc;
  d.min_args = d.max_args = nargs;
  d.transcendental = false;
  d.resolve = fn;
  return d;
}

}  // namespace

void register_temporal_ops(Registry& r) {
  r.add(temporal_op(
      "dt_year", "dt_year(a: timestamp) -> int64",
      "Calendar year of the UTC instant, proleptic Gregorian calendar with astronomical "
      "year numbering (year 0 = 1 BC, so years may be 0 or negative; every int64 timestamp "
      "is valid, roughly years -290308 to 294247). Instants before 1970 use floor division: "
      "-1 us is 1969-12-31T23:59:59.999999Z. Null in, null out.",
      1, resolve_year));
  r.add(temporal_op(
      "dt_month", "dt_month(a: timestamp) -> int64",
      "Month of the UTC instant, 1 (January) to 12, proleptic Gregorian calendar; any int64 "
      "timestamp, floor division before 1970. Null in, null out.",
      1, resolve_month));
  r.add(temporal_op(
      "dt_day", "dt_day(a: timestamp) -> int64",
      "Day of the month of the UTC instant, 1 to 31, proleptic Gregorian calendar (Feb 29 "
      "in leap years: divisible by 4, except centuries not divisible by 400); any int64 "
      "timestamp, floor division before 1970. Null in, null out.",
      1, resolve_day));
  r.add(temporal_op(
      "dt_hour", "dt_hour(a: timestamp) -> int64",
      "Hour of the day of the UTC instant, 0 to 23 (no time zones, no leap seconds); floor "
      "division before 1970, so -1 us gives 23. Null in, null out.",
      1, resolve_hour));
  r.add(temporal_op(
      "dt_minute", "dt_minute(a: timestamp) -> int64",
      "Minute of the hour of the UTC instant, 0 to 59; floor division before 1970, so -1 us "
      "gives 59. Null in, null out.",
      1, resolve_minute));
  r.add(temporal_op(
      "dt_day_of_week", "dt_day_of_week(a: timestamp) -> int64",
      "Day of the week of the UTC date, Monday = 0 to Sunday = 6 (Python's "
      "datetime.weekday()); 1970-01-01 is a Thursday (3). Any int64 timestamp, floor "
      "division before 1970. Null in, null out.",
      1, resolve_day_of_week));
  r.add(temporal_op(
      "dt_epoch_seconds", "dt_epoch_seconds(a: timestamp) -> int64",
      "Whole seconds since 1970-01-01T00:00:00Z, floor(micros / 1000000) (rounds toward "
      "-inf: -1 us gives -1, not 0). Never overflows. Null in, null out.",
      1, resolve_epoch_seconds));
  r.add(temporal_op(
      "dt_diff_seconds", "dt_diff_seconds(a: timestamp, b: timestamp) -> float64",
      "a - b in seconds: the difference is computed exactly in int64 microseconds (null when "
      "it overflows int64), converted to float64 rounding to nearest (exact while |a - b| <= "
      "2^53 us, about 285 years) and divided by 1e6 (IEEE 754, correctly rounded). Negative "
      "when a is before b. Null if either argument is null.",
      2, resolve_diff_seconds));
}

}  // namespace featureplat
