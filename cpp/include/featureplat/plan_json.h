// The text of a plan file: canonical JSON, checked byte for byte before anything parses it.
#pragma once

#include <cstddef>

#include "featureplat/status.h"

namespace featureplat {

/// Most JSON values (objects, arrays, strings, numbers, literals; object keys are not
/// counted) a plan file's body may hold. A plan at every other limit (a million scalars,
/// 20000 steps) needs about 3.3 million; parsing 4 million of the cheapest values into
/// Python objects takes a couple of seconds, so a 64 MiB body of empty arrays cannot take
/// minutes.
constexpr size_t kMaxPlanValues = 4000000;
/// Deepest nesting of a plan file's body (a plan nests 7 levels: body, plan, steps, step,
/// params, list, scalar).
constexpr size_t kMaxPlanDepth = 32;

/// OK when `text[0..n)` is exactly what Python's json.dumps(value, sort_keys=True,
/// separators=(",", ":"), ensure_ascii=False) writes for the value json.loads reads from
/// it, holds no JSON number other than an integer (floats are stored as scalar text),
/// at most kMaxPlanValues values nested at most kMaxPlanDepth deep. So the canonical check
/// of a plan file needs no re-serialization, and a hostile body is refused in one linear
/// pass before it is parsed. Otherwise a kPlanError naming the byte offset and the rule:
/// whitespace, unsorted or duplicate keys, an escape json.dumps would not write (an
/// escaped surrogate among them: such text is not valid UTF-8), malformed UTF-8, a bare
/// float, NaN or Infinity, -0, trailing bytes.
Status check_plan_json(const char* text, size_t n, size_t max_values = kMaxPlanValues,
                       size_t max_depth = kMaxPlanDepth);

}  // namespace featureplat
