// Scalar building blocks: see scalar_fns.h for the contract of every function.
#include "featureplat/scalar_fns.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <system_error>

namespace featureplat {
namespace scalar {

// ---------------------------------------------------------------------------
// xxHash64
// ---------------------------------------------------------------------------
namespace {

constexpr uint64_t kP1 = 0x9E3779B185EBCA87ULL;
constexpr uint64_t kP2 = 0xC2B2AE3D27D4EB4FULL;
constexpr uint64_t kP3 = 0x165667B19E3779F9ULL;
constexpr uint64_t kP4 = 0x85EBCA77C2B2AE63ULL;
constexpr uint64_t kP5 = 0x27D4EB2F165667C5ULL;

inline uint64_t rotl64(uint64_t x, unsigned r) { return (x << r) | (x >> (64u - r)); }

// Little-endian loads from possibly unaligned memory.
inline uint64_t load_le64(const unsigned char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  v = __builtin_bswap64(v);
#endif
  return v;
}

inline uint32_t load_le32(const unsigned char* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  v = __builtin_bswap32(v);
#endif
  return v;
}

// One lane update: fold 8 input bytes into an accumulator.
inline uint64_t lane_round(uint64_t acc, uint64_t lane) {
  acc += lane * kP2;
  acc = rotl64(acc, 31);
  return acc * kP1;
}

// Fold a finished accumulator into the hash after the four lanes are combined.
inline uint64_t merge_lane(uint64_t h, uint64_t acc) {
  h ^= lane_round(0, acc);
  return h * kP1 + kP4;
}

}  // namespace

uint64_t xxh64(const void* data, size_t len, uint64_t seed) {
  const unsigned char* p = static_cast<const unsigned char*>(data);
  const unsigned char* const end = p + len;  // p may be null only when len == 0
  uint64_t h;

  if (len >= 32) {
    uint64_t a1 = seed + kP1 + kP2;
    uint64_t a2 = seed + kP2;
    uint64_t a3 = seed;
    uint64_t a4 = seed - kP1;
    const unsigned char* const last_stripe = end - 32;
    while (p <= last_stripe) {
      a1 = lane_round(a1, load_le64(p));
      a2 = lane_round(a2, load_le64(p + 8));
      a3 = lane_round(a3, load_le64(p + 16));
      a4 = lane_round(a4, load_le64(p + 24));
      p += 32;
    }
    h = rotl64(a1, 1) + rotl64(a2, 7) + rotl64(a3, 12) + rotl64(a4, 18);
    h = merge_lane(h, a1);
    h = merge_lane(h, a2);
    h = merge_lane(h, a3);
    h = merge_lane(h, a4);
  } else {
    h = seed + kP5;
  }

  h += static_cast<uint64_t>(len);

  size_t rest = static_cast<size_t>(end - p);
  while (rest >= 8) {
    h ^= lane_round(0, load_le64(p));
    h = rotl64(h, 27) * kP1 + kP4;
    p += 8;
    rest -= 8;
  }
  if (rest >= 4) {
    h ^= static_cast<uint64_t>(load_le32(p)) * kP1;
    h = rotl64(h, 23) * kP2 + kP3;
    p += 4;
    rest -= 4;
  }
  while (rest > 0) {
    h ^= static_cast<uint64_t>(*p) * kP5;
    h = rotl64(h, 11) * kP1;
    ++p;
    --rest;
  }

  // Final avalanche.
  h ^= h >> 33;
  h *= kP2;
  h ^= h >> 29;
  h *= kP3;
  h ^= h >> 32;
  return h;
}

// ---------------------------------------------------------------------------
// Integer division
// ---------------------------------------------------------------------------
int64_t floor_div(int64_t a, int64_t b) {
  if (b == 0) return 0;  // precondition violated: defined result instead of UB
  if (b == -1) {
    // a // -1 == -a; INT64_MIN has no negation, so return it unchanged (wrapped) instead of trapping.
    return a == std::numeric_limits<int64_t>::min() ? a : -a;
  }
  int64_t q = a / b;
  const int64_t r = a % b;
  if (r != 0 && ((r < 0) != (b < 0))) --q;
  return q;
}

int64_t floor_mod(int64_t a, int64_t b) {
  if (b == 0 || b == -1) return 0;  // x % -1 is always 0; avoids INT64_MIN % -1
  int64_t r = a % b;
  if (r != 0 && ((r < 0) != (b < 0))) r += b;
  return r;
}

// ---------------------------------------------------------------------------
// Calendar (proleptic Gregorian, computed on 400-year eras of 146097 days that
// start on March 1st so the leap day is the last day of each computed year).
// ---------------------------------------------------------------------------
namespace {
constexpr int64_t kDaysPerEra = 146097;
// Days from 0000-03-01 to 1970-01-01.
constexpr int64_t kEpochShift = 719468;
}  // namespace

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  // Years run March..February: January and February belong to the previous year.
  // Unsigned arithmetic keeps absurd inputs free of overflow UB.
  const uint64_t shifted_u = static_cast<uint64_t>(y) - (m <= 2 ? 1u : 0u);
  const int64_t shifted = static_cast<int64_t>(shifted_u);
  const int64_t era = floor_div(shifted, 400);
  const uint64_t year_of_era = static_cast<uint64_t>(floor_mod(shifted, 400));  // [0, 399]
  const uint64_t month_from_march = (static_cast<uint64_t>(m) + 9u) % 12u;      // Mar=0 .. Feb=11
  const uint64_t day_of_year =
      (153u * month_from_march + 2u) / 5u + static_cast<uint64_t>(d) - 1u;      // [0, 365]
  const uint64_t day_of_era =
      year_of_era * 365u + year_of_era / 4u - year_of_era / 100u + day_of_year;  // [0, 146096]
  const uint64_t total = static_cast<uint64_t>(era) * static_cast<uint64_t>(kDaysPerEra) +
                         day_of_era - static_cast<uint64_t>(kEpochShift);
  return static_cast<int64_t>(total);
}

void civil_from_days(int64_t days, int64_t* y, unsigned* m, unsigned* d) {
  // Split before shifting to the 0000-03-01 origin so no addition can overflow.
  int64_t era = floor_div(days, kDaysPerEra);
  const int64_t shifted_rem = floor_mod(days, kDaysPerEra) + kEpochShift;
  era += shifted_rem / kDaysPerEra;
  const int64_t day_of_era = shifted_rem % kDaysPerEra;  // [0, 146096]
  const int64_t year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;  // [0, 399]
  const int64_t day_of_year =
      day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);  // [0, 365]
  const int64_t month_from_march = (5 * day_of_year + 2) / 153;                // [0, 11]
  const int64_t day = day_of_year - (153 * month_from_march + 2) / 5 + 1;      // [1, 31]
  const int64_t month = month_from_march < 10 ? month_from_march + 3 : month_from_march - 9;
  // |era| <= 2^63 / 146097 + 5, so era * 400 stays far inside int64.
  *y = year_of_era + era * 400 + (month <= 2 ? 1 : 0);
  *m = static_cast<unsigned>(month);
  *d = static_cast<unsigned>(day);
}

// ---------------------------------------------------------------------------
// Byte-level string helpers
// ---------------------------------------------------------------------------
int64_t utf8_length(const char* s, size_t n) {
  int64_t count = 0;
  for (size_t i = 0; i < n; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if ((c & 0xC0u) != 0x80u) ++count;
  }
  return count;
}

bool utf8_valid(const char* s, size_t n) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(s);
  size_t i = 0;
  while (i < n) {
    // ASCII runs, eight bytes at a time (the common case for feature text).
    while (i + 8 <= n) {
      uint64_t w;
      std::memcpy(&w, p + i, 8);
      if (w & 0x8080808080808080ULL) break;
      i += 8;
    }
    if (i >= n) break;
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    // Lead byte -> sequence length and the allowed range of the second byte.
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;       // no overlong 3-byte forms
      else if (c == 0xED) hi = 0x9F;  // no surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;       // no overlong 4-byte forms
      else if (c == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
    } else {
      return false;  // a continuation byte, C0/C1 (overlong) or F5..FF
    }
    if (n - i < len) return false;
    if (p[i + 1] < lo || p[i + 1] > hi) return false;
    for (size_t k = 2; k < len; ++k) {
      if ((p[i + k] & 0xC0u) != 0x80u) return false;
    }
    i += len;
  }
  return true;
}

void ascii_lower(const char* s, size_t n, char* out) {
  for (size_t i = 0; i < n; ++i) {
    const char c = s[i];
    out[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
}

void ascii_upper(const char* s, size_t n, char* out) {
  for (size_t i = 0; i < n; ++i) {
    const char c = s[i];
    out[i] = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  }
}

namespace {
inline bool is_strip_byte(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}
inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
inline char ascii_lower_char(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}
}  // namespace

void ascii_strip(const char* s, size_t n, size_t* begin, size_t* len) {
  size_t b = 0;
  size_t e = n;
  while (b < e && is_strip_byte(s[b])) ++b;
  while (e > b && is_strip_byte(s[e - 1])) --e;
  *begin = b;
  *len = e - b;
}

// ---------------------------------------------------------------------------
// Formatting
// ---------------------------------------------------------------------------
namespace {

// Writes the decimal digits of v (no sign) and returns how many were written.
size_t write_u64(uint64_t v, char* buf) {
  char tmp[20];
  size_t n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + v % 10u);
    v /= 10u;
  } while (v != 0);
  for (size_t i = 0; i < n; ++i) buf[i] = tmp[n - 1 - i];
  return n;
}

// Writes v (0 <= v) in decimal, left-padded with zeros to at least `width` digits.
size_t write_u64_padded(uint64_t v, size_t width, char* buf) {
  char tmp[20];
  const size_t n = write_u64(v, tmp);
  size_t pos = 0;
  while (pos + n < width) buf[pos++] = '0';
  std::memcpy(buf + pos, tmp, n);
  return pos + n;
}

inline uint64_t magnitude(int64_t v) {
  // Two's-complement negation in unsigned arithmetic: exact even for INT64_MIN.
  return v < 0 ? 0u - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
}

}  // namespace

size_t format_int64(int64_t v, char* buf) {
  size_t pos = 0;
  if (v < 0) buf[pos++] = '-';
  return pos + write_u64(magnitude(v), buf + pos);
}

size_t format_double_repr(double v, char* buf) {
  if (std::isnan(v)) {
    std::memcpy(buf, "nan", 3);
    return 3;
  }
  if (std::isinf(v)) {
    if (v < 0) {
      std::memcpy(buf, "-inf", 4);
      return 4;
    }
    std::memcpy(buf, "inf", 3);
    return 3;
  }

  // Shortest round-trip digits in the form [-]D[.DDD]e(+|-)XX[X].
  char sci[48];
  const std::to_chars_result res =
      std::to_chars(sci, sci + sizeof sci, v, std::chars_format::scientific);
  const char* p = sci;
  const char* const sci_end = res.ptr;

  size_t pos = 0;
  if (p < sci_end && *p == '-') {
    buf[pos++] = '-';
    ++p;
  }
  char digits[24];
  size_t nd = 0;
  while (p < sci_end && *p != 'e') {
    if (*p != '.' && nd < sizeof digits) digits[nd++] = *p;
    ++p;
  }
  int exp10 = 0;
  if (p < sci_end && *p == 'e') {
    ++p;
    bool exp_neg = false;
    if (p < sci_end && (*p == '+' || *p == '-')) {
      exp_neg = *p == '-';
      ++p;
    }
    while (p < sci_end && is_digit(*p)) {
      exp10 = exp10 * 10 + (*p - '0');
      ++p;
    }
    if (exp_neg) exp10 = -exp10;
  }
  if (nd == 0) digits[nd++] = '0';  // cannot happen with a conforming to_chars

  if (exp10 < -4 || exp10 >= 16) {
    // Scientific: d[.ddd]e(+|-)XX with at least two exponent digits.
    buf[pos++] = digits[0];
    if (nd > 1) {
      buf[pos++] = '.';
      std::memcpy(buf + pos, digits + 1, nd - 1);
      pos += nd - 1;
    }
    buf[pos++] = 'e';
    buf[pos++] = exp10 < 0 ? '-' : '+';
    const unsigned abs_exp = static_cast<unsigned>(exp10 < 0 ? -exp10 : exp10);
    pos += write_u64_padded(abs_exp, 2, buf + pos);
    return pos;
  }

  // Positional: the decimal point goes after `point` digits (may be <= 0 or >= nd).
  const int point = exp10 + 1;  // in [-3, 16]
  if (point <= 0) {
    buf[pos++] = '0';
    buf[pos++] = '.';
    for (int i = 0; i < -point; ++i) buf[pos++] = '0';
    std::memcpy(buf + pos, digits, nd);
    pos += nd;
  } else if (static_cast<size_t>(point) >= nd) {
    std::memcpy(buf + pos, digits, nd);
    pos += nd;
    for (size_t i = nd; i < static_cast<size_t>(point); ++i) buf[pos++] = '0';
    buf[pos++] = '.';
    buf[pos++] = '0';
  } else {
    const size_t ip = static_cast<size_t>(point);
    std::memcpy(buf + pos, digits, ip);
    pos += ip;
    buf[pos++] = '.';
    std::memcpy(buf + pos, digits + ip, nd - ip);
    pos += nd - ip;
  }
  return pos;
}

size_t format_timestamp_iso(int64_t micros_since_epoch_utc, char* buf) {
  constexpr int64_t kMicrosPerDay = 86400LL * 1000000LL;
  const int64_t days = floor_div(micros_since_epoch_utc, kMicrosPerDay);
  const uint64_t in_day = static_cast<uint64_t>(floor_mod(micros_since_epoch_utc, kMicrosPerDay));
  int64_t year;
  unsigned month, day;
  civil_from_days(days, &year, &month, &day);

  size_t pos = 0;
  if (year < 0) {
    buf[pos++] = '-';
    pos += write_u64_padded(magnitude(year), 4, buf + pos);
  } else if (year > 9999) {
    buf[pos++] = '+';
    pos += write_u64(static_cast<uint64_t>(year), buf + pos);
  } else {
    pos += write_u64_padded(static_cast<uint64_t>(year), 4, buf + pos);
  }
  const uint64_t secs = in_day / 1000000u;
  const uint64_t frac = in_day % 1000000u;
  buf[pos++] = '-';
  pos += write_u64_padded(month, 2, buf + pos);
  buf[pos++] = '-';
  pos += write_u64_padded(day, 2, buf + pos);
  buf[pos++] = 'T';
  pos += write_u64_padded(secs / 3600u, 2, buf + pos);
  buf[pos++] = ':';
  pos += write_u64_padded(secs / 60u % 60u, 2, buf + pos);
  buf[pos++] = ':';
  pos += write_u64_padded(secs % 60u, 2, buf + pos);
  buf[pos++] = '.';
  pos += write_u64_padded(frac, 6, buf + pos);
  buf[pos++] = 'Z';
  return pos;
}

// ---------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------
bool parse_int64(const char* s, size_t n, int64_t* out) {
  size_t i = 0;
  bool neg = false;
  if (i < n && (s[i] == '+' || s[i] == '-')) {
    neg = s[i] == '-';
    ++i;
  }
  if (i == n) return false;
  const uint64_t limit = neg ? (uint64_t{1} << 63) : (uint64_t{1} << 63) - 1u;
  uint64_t mag = 0;
  for (; i < n; ++i) {
    if (!is_digit(s[i])) return false;
    const uint64_t digit = static_cast<uint64_t>(s[i] - '0');
    if (mag > (limit - digit) / 10u) return false;  // mag * 10 + digit > limit
    mag = mag * 10u + digit;
  }
  if (!neg) {
    *out = static_cast<int64_t>(mag);
  } else if (mag == (uint64_t{1} << 63)) {
    *out = std::numeric_limits<int64_t>::min();
  } else {
    *out = -static_cast<int64_t>(mag);
  }
  return true;
}

namespace {

// Case-insensitive comparison of s[0..n) with a lowercase ASCII word.
bool equals_lower(const char* s, size_t n, const char* word) {
  const size_t wn = std::strlen(word);
  if (n != wn) return false;
  for (size_t i = 0; i < n; ++i) {
    if (ascii_lower_char(s[i]) != word[i]) return false;
  }
  return true;
}

// Saturating helpers for the decimal-exponent estimate (values stay within +-kCap).
constexpr int64_t kCap = int64_t{1} << 50;
inline int64_t clamp_size(size_t v) {
  return v > static_cast<size_t>(kCap) ? kCap : static_cast<int64_t>(v);
}

}  // namespace

bool parse_float64(const char* s, size_t n, double* out) {
  size_t i = 0;
  bool neg = false;
  if (i < n && (s[i] == '+' || s[i] == '-')) {
    neg = s[i] == '-';
    ++i;
  }

  // inf / infinity / nan (any case).
  if (equals_lower(s + i, n - i, "inf") || equals_lower(s + i, n - i, "infinity")) {
    *out = neg ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
    return true;
  }
  if (equals_lower(s + i, n - i, "nan")) {
    // Python keeps the sign bit of float('-nan'); it is still a NaN.
    const double q = std::numeric_limits<double>::quiet_NaN();
    *out = neg ? std::copysign(q, -1.0) : std::copysign(q, 1.0);
    return true;
  }

  // Validate the decimal grammar before handing the text to from_chars.
  const size_t number_begin = i;  // after the sign
  const size_t int_begin = i;
  while (i < n && is_digit(s[i])) ++i;
  const size_t int_len = i - int_begin;
  size_t frac_begin = i;
  size_t frac_len = 0;
  if (i < n && s[i] == '.') {
    ++i;
    frac_begin = i;
    while (i < n && is_digit(s[i])) ++i;
    frac_len = i - frac_begin;
  }
  if (int_len == 0 && frac_len == 0) return false;
  int64_t exp_value = 0;  // saturated at +-kCap
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    bool exp_neg = false;
    if (i < n && (s[i] == '+' || s[i] == '-')) {
      exp_neg = s[i] == '-';
      ++i;
    }
    const size_t exp_begin = i;
    while (i < n && is_digit(s[i])) {
      if (exp_value < kCap) exp_value = exp_value * 10 + (s[i] - '0');
      ++i;
    }
    if (i == exp_begin) return false;
    if (exp_neg) exp_value = -exp_value;
  }
  if (i != n) return false;

  // from_chars rejects a leading '+', so start after the sign and apply it ourselves.
  double value = 0.0;
  const std::from_chars_result res =
      std::from_chars(s + number_begin, s + n, value, std::chars_format::general);
  if (res.ptr != s + n) return false;  // defensive: the grammar above is a subset of from_chars'
  if (res.ec == std::errc()) {
    *out = neg ? -value : value;
    return true;
  }
  if (res.ec != std::errc::result_out_of_range) return false;

  // Out of range: decide between overflow (|x| >= 1, so far above DBL_MAX) and
  // underflow (|x| < 1, so far below the smallest subnormal) from the decimal
  // exponent of the first nonzero digit.
  bool found = false;
  int64_t lead_exp = 0;
  for (size_t k = 0; k < int_len; ++k) {
    if (s[int_begin + k] != '0') {
      lead_exp = clamp_size(int_len - 1 - k);
      found = true;
      break;
    }
  }
  if (!found) {
    for (size_t k = 0; k < frac_len; ++k) {
      if (s[frac_begin + k] != '0') {
        lead_exp = -clamp_size(k + 1);
        found = true;
        break;
      }
    }
  }
  const bool overflow = found && lead_exp + exp_value >= 0;
  const double mag = overflow ? std::numeric_limits<double>::infinity() : 0.0;
  *out = neg ? -mag : mag;
  return true;
}

bool parse_bool(const char* s, size_t n, bool* out) {
  if ((n == 4 && std::memcmp(s, "true", 4) == 0) || (n == 1 && s[0] == '1')) {
    *out = true;
    return true;
  }
  if ((n == 5 && std::memcmp(s, "false", 5) == 0) || (n == 1 && s[0] == '0')) {
    *out = false;
    return true;
  }
  return false;
}

}  // namespace scalar
}  // namespace featureplat
