// Scalar building blocks shared by the kernels: hashing, calendar arithmetic,
// integer division, byte-level string helpers, formatting and parsing.
//
// Every function here is total over its documented domain, throws nothing and has
// no undefined behaviour for any input (out-of-domain inputs give a defined but
// unspecified result where noted). Formatting mirrors Python's str()/repr().
#pragma once

#include <cstddef>
#include <cstdint>

namespace featureplat {
namespace scalar {

/// xxHash64 of `len` bytes at `data` (may be null when len == 0) with `seed`.
uint64_t xxh64(const void* data, size_t len, uint64_t seed);

/// Days since 1970-01-01 of the proleptic Gregorian date y-m-d (m in 1..12, d in 1..31;
/// year 0 is 1 BC). Exact whenever the result fits in int64; otherwise a defined, unspecified value.
int64_t days_from_civil(int64_t y, unsigned m, unsigned d);

/// Inverse of days_from_civil: proleptic Gregorian date `days` after 1970-01-01, exact for every int64.
void civil_from_days(int64_t days, int64_t* y, unsigned* m, unsigned* d);

/// Python `a // b` (rounds toward -inf). Precondition: b != 0 and not (a == INT64_MIN && b == -1);
/// violations return 0 and INT64_MIN respectively, never UB.
int64_t floor_div(int64_t a, int64_t b);

/// Python `a % b` (result has the sign of b). Precondition: b != 0 (returns 0 then).
/// floor_mod(INT64_MIN, -1) == 0.
int64_t floor_mod(int64_t a, int64_t b);

/// Number of bytes in s[0..n) that are not UTF-8 continuation bytes (Python len() for valid UTF-8).
int64_t utf8_length(const char* s, size_t n);

/// True when s[0..n) is well-formed UTF-8 as Python's strict decoder defines it (Unicode
/// Table 3-7): no overlong forms, no surrogates (U+D800..U+DFFF), nothing above U+10FFFF,
/// no truncated sequence.
bool utf8_valid(const char* s, size_t n);

/// Copy n bytes to `out` mapping 'A'-'Z' to 'a'-'z'; every other byte unchanged. `out` may equal `s`.
void ascii_lower(const char* s, size_t n, char* out);

/// Copy n bytes to `out` mapping 'a'-'z' to 'A'-'Z'; every other byte unchanged. `out` may equal `s`.
void ascii_upper(const char* s, size_t n, char* out);

/// Strip the bytes " \t\n\v\f\r" from both ends of s[0..n); the rest is s[*begin, *begin + *len).
void ascii_strip(const char* s, size_t n, size_t* begin, size_t* len);

/// Write `v` in decimal (e.g. "-42") to buf (>= 24 bytes, not NUL-terminated); returns the length.
size_t format_int64(int64_t v, char* buf);

/// Write exactly Python's repr(v) (e.g. "0.1", "1e+16", "-0.0", "nan") to buf (>= 40 bytes,
/// not NUL-terminated); returns the length.
size_t format_double_repr(double v, char* buf);

/// Write 'YYYY-MM-DDTHH:MM:SS.ffffffZ' for microseconds since the Unix epoch (UTC, floor
/// semantics) to buf (>= 40 bytes, not NUL-terminated); years < 0 as '-' + >= 4 digits,
/// years > 9999 as '+' + digits. Returns the length.
size_t format_timestamp_iso(int64_t micros_since_epoch_utc, char* buf);

/// Parse exactly `[+-]?[0-9]+` into *out; false (out untouched) on other text or int64 overflow.
bool parse_int64(const char* s, size_t n, int64_t* out);

/// Parse a decimal float like Python float() without whitespace/underscores/hex:
/// `[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?` or `[+-]?(inf|infinity|nan)` (any case).
/// Correctly rounded; overflow gives +-inf, underflow +-0.0. False (out untouched) on bad grammar.
bool parse_float64(const char* s, size_t n, double* out);

/// Parse exactly "true", "false", "1" or "0" into *out; false (out untouched) otherwise.
bool parse_bool(const char* s, size_t n, bool* out);

}  // namespace scalar
}  // namespace featureplat
