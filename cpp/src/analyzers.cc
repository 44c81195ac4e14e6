// Analyzers (see analyzers.h): exact moments via fixed-point superaccumulators, exact
// or KLL-sketched quantiles, exact vocabularies.
#include "featureplat/analyzers.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <deque>
#include <initializer_list>
#include <limits>
#include <map>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "table_hash.h"

namespace featureplat {
namespace {

__extension__ typedef unsigned __int128 u128;  // GCC/Clang extension
__extension__ typedef __int128 i128;

Status plan_error(const std::string& msg) { return Status(ErrorCode::kPlanError, msg); }
Status type_error(const std::string& msg) { return Status(ErrorCode::kTypeError, msg); }
Status input_error(const std::string& msg) { return Status(ErrorCode::kInputError, msg); }

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

/// Strict total order on non-NaN doubles with -0.0 < 0.0.
inline bool total_less(double a, double b) {
  if (a < b) return true;
  if (b < a) return false;
  return std::signbit(a) && !std::signbit(b);
}

inline uint64_t splitmix64(uint64_t* state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

/// The other side of merge() when it can be merged: same analyzer type and neither side
/// in error. An error recorded on `other` is adopted by `self_error`.
template <typename T>
Status merge_source(const Analyzer& other, const char* kind, Status* self_error, const T** out) {
  *out = dynamic_cast<const T*>(&other);
  if (*out == nullptr) {
    return Status(ErrorCode::kPlanError,
                  std::string("cannot merge a '") + other.kind() + "' analyzer into '" + kind + "'");
  }
  if (!self_error->ok()) return *self_error;
  const Status& theirs = (*out)->error();
  if (!theirs.ok()) *self_error = theirs;
  return *self_error;
}

/// Checks the slot handed to update(); returns an error status or OK.
Status check_slot(const char* kind, DType input, const Slot& s, int64_t n) {
  if (n < 0) return input_error(std::string("analyzer '") + kind + "': negative row count");
  if (s.type != input) {
    return input_error(std::string("analyzer '") + kind + "': expected a " + dtype_name(input) +
                       " slot, got " + dtype_name(s.type));
  }
  if (n > 0 && (s.valid == nullptr || s.data == nullptr)) {
    return input_error(std::string("analyzer '") + kind + "': slot without buffers");
  }
  return Status::OK();
}

// ---- parameters ---------------------------------------------------------------------

class ParamReader {
 public:
  ParamReader(const char* kind, const Params& params) : kind_(kind), params_(params) {}

  Status error(const std::string& name, const std::string& what) const {
    return plan_error(std::string("analyzer '") + kind_ + "': parameter '" + name + "' " + what);
  }

  /// Every given parameter must be one of `names`.
  Status only(std::initializer_list<const char*> names) const {
    for (const auto& kv : params_) {
      bool known = false;
      for (const char* n : names) known = known || kv.first == n;
      if (!known) return error(kv.first, "is not accepted");
    }
    return Status::OK();
  }

  /// One int64 (kInt). *present false when missing (or null with allow_null).
  Status get_int(const char* name, bool allow_null, bool* present, int64_t* out) const {
    *present = false;
    auto it = params_.find(name);
    if (it == params_.end()) return Status::OK();
    const Param& p = it->second;
    if (p.is_list || p.values.size() != 1) return error(name, "must be one int64");
    const Scalar& s = p.values[0];
    if (s.is_null && allow_null) return Status::OK();
    if (s.is_null || s.type != DType::kInt64) return error(name, "must be an int64");
    *present = true;
    *out = s.i;
    return Status::OK();
  }

  /// One string (kString).
  Status get_string(const char* name, bool* present, std::string* out) const {
    *present = false;
    auto it = params_.find(name);
    if (it == params_.end()) return Status::OK();
    const Param& p = it->second;
    if (p.is_list || p.values.size() != 1 || p.values[0].is_null ||
        p.values[0].type != DType::kString) {
      return error(name, "must be a string");
    }
    *present = true;
    *out = p.values[0].s;
    return Status::OK();
  }

  /// A list of int64/float64 (kNumberList) as doubles.
  Status get_number_list(const char* name, bool* present, std::vector<double>* out) const {
    *present = false;
    out->clear();
    auto it = params_.find(name);
    if (it == params_.end()) return Status::OK();
    const Param& p = it->second;
    if (!p.is_list) return error(name, "must be a list of numbers");
    for (const Scalar& s : p.values) {
      if (s.is_null) return error(name, "must not contain nulls");
      if (s.type == DType::kInt64) {
        out->push_back(static_cast<double>(s.i));
      } else if (s.type == DType::kFloat64) {
        out->push_back(s.f);
      } else {
        return error(name, "must contain only int64 or float64 values");
      }
    }
    *present = true;
    return Status::OK();
  }

 private:
  const char* kind_;
  const Params& params_;
};

// ---- exact arithmetic ----------------------------------------------------------------

/// Unsigned big integer: little-endian base-2^32 digits, no leading zero digits.
using BigNat = std::vector<uint32_t>;

void trim(BigNat* a) {
  while (!a->empty() && a->back() == 0) a->pop_back();
}

BigNat mul_u64(const BigNat& a, uint64_t m) {
  BigNat r;
  r.reserve(a.size() + 2);
  u128 carry = 0;
  for (uint32_t d : a) {
    const u128 t = static_cast<u128>(d) * m + carry;
    r.push_back(static_cast<uint32_t>(t));
    carry = t >> 32;
  }
  while (carry != 0) {
    r.push_back(static_cast<uint32_t>(carry));
    carry >>= 32;
  }
  trim(&r);
  return r;
}

BigNat mul(const BigNat& a, const BigNat& b) {
  if (a.empty() || b.empty()) return BigNat();
  BigNat r(a.size() + b.size(), 0);
  for (size_t i = 0; i < a.size(); ++i) {
    uint64_t carry = 0;
    for (size_t j = 0; j < b.size(); ++j) {
      // < 2^64: (2^32-1)^2 + 2 * (2^32-1)
      const uint64_t t = static_cast<uint64_t>(a[i]) * b[j] + r[i + j] + carry;
      r[i + j] = static_cast<uint32_t>(t);
      carry = t >> 32;
    }
    size_t k = i + b.size();
    while (carry != 0) {
      const uint64_t t = static_cast<uint64_t>(r[k]) + carry;
      r[k] = static_cast<uint32_t>(t);
      carry = t >> 32;
      ++k;
    }
  }
  trim(&r);
  return r;
}

int cmp(const BigNat& a, const BigNat& b) {
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  for (size_t i = a.size(); i-- > 0;) {
    if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
  }
  return 0;
}

/// a - b for a >= b.
BigNat sub(const BigNat& a, const BigNat& b) {
  BigNat r(a);
  int64_t borrow = 0;
  for (size_t i = 0; i < r.size(); ++i) {
    int64_t t = static_cast<int64_t>(r[i]) - borrow - (i < b.size() ? static_cast<int64_t>(b[i]) : 0);
    borrow = 0;
    if (t < 0) {
      t += int64_t{1} << 32;
      borrow = 1;
    }
    r[i] = static_cast<uint32_t>(t);
  }
  trim(&r);
  return r;
}

int64_t bit_length(const BigNat& a) {
  if (a.empty()) return 0;
  uint32_t top = a.back();
  int64_t bits = 0;
  while (top != 0) {
    ++bits;
    top >>= 1;
  }
  return static_cast<int64_t>(a.size() - 1) * 32 + bits;
}

bool bit_at(const BigNat& a, int64_t pos) {
  const size_t d = static_cast<size_t>(pos >> 5);
  if (pos < 0 || d >= a.size()) return false;
  return ((a[d] >> (pos & 31)) & 1u) != 0;
}

/// Bits [pos, pos + count) as an integer, count <= 64, pos >= 0.
uint64_t bits_at(const BigNat& a, int64_t pos, int count) {
  uint64_t r = 0;
  for (int i = count - 1; i >= 0; --i) r = (r << 1) | (bit_at(a, pos + i) ? 1u : 0u);
  return r;
}

/// True when any bit below `pos` is set.
bool any_below(const BigNat& a, int64_t pos) {
  if (pos <= 0) return false;
  const size_t full = static_cast<size_t>(pos >> 5);
  for (size_t i = 0; i < full && i < a.size(); ++i) {
    if (a[i] != 0) return true;
  }
  if (full < a.size() && (pos & 31) != 0) {
    const uint32_t mask = (uint32_t{1} << (pos & 31)) - 1u;
    if ((a[full] & mask) != 0) return true;
  }
  return false;
}

/// mag * 2^base_exp rounded to 53 significant bits (half to even) with an unbounded
/// exponent and the double subnormal rule: the result is q * 2^lsb_exp, q <= 2^53, and
/// lsb_exp >= -1074. Returns false for zero.
bool round_to_double_bits(const BigNat& mag, int base_exp, uint64_t* q, int64_t* lsb_exp) {
  const int64_t len = bit_length(mag);
  if (len == 0) return false;
  const int64_t top_exp = base_exp + len - 1;
  *lsb_exp = std::max<int64_t>(top_exp - 52, -1074);
  const int64_t shift = *lsb_exp - base_exp;  // bits dropped
  if (shift <= 0) {
    // At most 53 significant bits: exact.
    *q = bits_at(mag, 0, static_cast<int>(std::min<int64_t>(len, 64)));
    *lsb_exp = base_exp;
    return true;
  }
  uint64_t r = bits_at(mag, shift, 53);
  const bool round = bit_at(mag, shift - 1);
  const bool sticky = any_below(mag, shift - 1);
  if (round && (sticky || (r & 1u) != 0)) ++r;  // r <= 2^53: exact in double
  *q = r;
  return true;
}

/// (-1)^negative * mag * 2^base_exp / count^divisions (divisions in {1, 2}), computed as
/// to_double(mag * 2^base_exp) / count [/ count] with a correctly rounded to_double, as
/// IEEE double operations. When that to_double would overflow, the same operations are
/// done on the 53-bit significand and the power of two applied last (exact unless the
/// quotient itself overflows), so a large sum does not make a finite quotient infinite.
double divide_rounded(const BigNat& mag, int base_exp, bool negative, int64_t count, int divisions) {
  uint64_t q = 0;
  int64_t lsb = 0;
  if (!round_to_double_bits(mag, base_exp, &q, &lsb)) return 0.0;
  const double n = static_cast<double>(count);
  const double sig = negative ? -static_cast<double>(q) : static_cast<double>(q);
  int64_t top = lsb;  // exponent of the top bit of q * 2^lsb
  for (uint64_t t = q; t > 1; t >>= 1) ++top;
  if (top < 1024) {
    // q * 2^lsb is a double (subnormals included): the plain formula.
    double r = std::ldexp(sig, static_cast<int>(lsb)) / n;
    if (divisions == 2) r /= n;
    return r;
  }
  // |value| >= 2^1024 while the quotient is >= 2^(1024 - 126): scaling by 2^lsb commutes
  // with the divisions as long as nothing underflows, and sig / n / n >= 2^-74 does not.
  double r = sig / n;
  if (divisions == 2) r /= n;
  return lsb > 2100 ? (r > 0 ? kInf : -kInf) : std::ldexp(r, static_cast<int>(lsb));
}

/// Fixed-point accumulator of sum(mag_i * 2^exp_i): int64 limbs holding base-2^32 digits,
/// limb j weighing 2^(base + 32 j), with lazy carries. Each add changes a limb by less
/// than 2^33; limbs are renormalised (digits back into [0, 2^32), the signed remainder
/// in the top limb) every kNormalizeEvery adds, so |limb| < 2^32 + 2^53 always.
class FixedAcc {
 public:
  FixedAcc(int base_exp, size_t limbs) : base_(base_exp), limbs_(limbs, 0) {}

  /// Adds (or subtracts) mag * 2^exp; mag < 2^128, exp >= base, and the shifted value
  /// must leave at least one limb of headroom (guaranteed by the callers' sizing).
  void add(u128 mag, int exp, bool negative) {
    const int off = exp - base_;
    const size_t j = static_cast<size_t>(off >> 5);
    const unsigned s = static_cast<unsigned>(off & 31);
    for (size_t k = 0; mag != 0; ++k, mag >>= 32) {
      const uint64_t c = static_cast<uint64_t>(mag) & 0xffffffffu;
      if (c == 0) continue;
      const uint64_t v = c << s;  // < 2^63
      const int64_t lo = static_cast<int64_t>(v & 0xffffffffu);
      const int64_t hi = static_cast<int64_t>(v >> 32);
      if (negative) {
        limbs_[j + k] -= lo;
        limbs_[j + k + 1] -= hi;
      } else {
        limbs_[j + k] += lo;
        limbs_[j + k + 1] += hi;
      }
    }
    if (++pending_ >= kNormalizeEvery) normalize();
  }

  /// Adds another accumulator of the same shape.
  void add(const FixedAcc& o) {
    const std::vector<int64_t> other = o.limbs_;  // `o` may be *this
    const int64_t other_pending = o.pending_;
    if (pending_ + other_pending + 1 >= kNormalizeEvery) normalize();
    for (size_t i = 0; i < limbs_.size(); ++i) limbs_[i] += other[i];
    pending_ += other_pending + 1;
    if (pending_ >= kNormalizeEvery) normalize();
  }

  /// The value as sign and magnitude (digits of weight 2^(base + 32 j)).
  BigNat magnitude(bool* negative) const {
    std::vector<int64_t> t = limbs_;
    normalize(&t);
    *negative = t.back() < 0;
    if (*negative) {
      for (int64_t& x : t) x = -x;
      normalize(&t);
    }
    BigNat r;
    r.reserve(t.size() + 1);
    for (size_t i = 0; i + 1 < t.size(); ++i) r.push_back(static_cast<uint32_t>(t[i]));
    const uint64_t top = static_cast<uint64_t>(t.back());  // >= 0 here
    r.push_back(static_cast<uint32_t>(top));
    r.push_back(static_cast<uint32_t>(top >> 32));
    trim(&r);
    return r;
  }

  int base() const { return base_; }

 private:
  static constexpr int64_t kNormalizeEvery = int64_t{1} << 20;

  static void normalize(std::vector<int64_t>* limbs) {
    std::vector<int64_t>& l = *limbs;
    for (size_t i = 0; i + 1 < l.size(); ++i) {
      const int64_t v = l[i];
      const int64_t lo = static_cast<int64_t>(static_cast<uint64_t>(v) & 0xffffffffu);
      l[i] = lo;
      l[i + 1] += (v - lo) / (int64_t{1} << 32);  // exact division
    }
  }
  void normalize() {
    normalize(&limbs_);
    pending_ = 0;
  }

  int base_;
  std::vector<int64_t> limbs_;
  int64_t pending_ = 0;
};

/// |x| = m * 2^e with m < 2^53 an integer, for finite x.
inline void decompose(double x, uint64_t* m, int* e) {
  uint64_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  const int biased = static_cast<int>((bits >> 52) & 0x7ff);
  const uint64_t frac = bits & ((uint64_t{1} << 52) - 1);
  if (biased == 0) {
    *m = frac;
    *e = -1074;
  } else {
    *m = frac | (uint64_t{1} << 52);
    *e = biased - 1075;
  }
}

/// Feeds each present value of a float64, int64 or bool slot to `add` as a double (the
/// numeric analyzers' common input conversion); returns the number of null rows.
template <typename Add>
int64_t for_each_number(DType input, const Slot& values, int64_t n, Add add) {
  const uint8_t* valid = values.valid;
  int64_t nulls = 0;
  switch (input) {
    case DType::kFloat64: {
      const double* d = values.as<double>();
      for (int64_t i = 0; i < n; ++i) {
        if (valid[i]) add(d[i]); else ++nulls;
      }
      break;
    }
    case DType::kInt64: {
      const int64_t* d = values.as<int64_t>();
      for (int64_t i = 0; i < n; ++i) {
        if (valid[i]) add(static_cast<double>(d[i])); else ++nulls;
      }
      break;
    }
    default: {  // kBool
      const uint8_t* d = values.as<uint8_t>();
      for (int64_t i = 0; i < n; ++i) {
        if (valid[i]) add(d[i] != 0 ? 1.0 : 0.0); else ++nulls;
      }
      break;
    }
  }
  return nulls;
}

// ---- moments -------------------------------------------------------------------------

// S1: values m * 2^e with e in [-1074, 971], m < 2^53, at most 2^63 of them: |S1| < 2^1087.
// Base -1088 puts bit 1086 at offset 2174, i.e. limb 67; 70 limbs leave headroom.
constexpr int kS1Base = -1088;
constexpr size_t kS1Limbs = 70;
// S2: squares m^2 * 2^(2e), 2e in [-2148, 1942], m^2 < 2^106: |S2| < 2^2111, offset 4287
// from base -2176 (= 2 * kS1Base, so S1^2 has the same base), limb 133; 136 limbs.
constexpr int kS2Base = -2176;
constexpr size_t kS2Limbs = 136;

// The shared front of the numeric analyzers: the input type check, the error latch, the
// null count, and every non-null number handed to Derived::add(double).
template <typename Derived>
class NumberAnalyzer : public Analyzer {
 public:
  /// The error recorded by update(), if any.
  const Status& error() const { return error_; }

  void update(const Slot& values, int64_t n) override {
    if (!error_.ok()) return;
    error_ = check_slot(kind(), input_, values, n);
    if (!error_.ok()) return;
    Derived* self = static_cast<Derived*>(this);
    null_count_ += for_each_number(input_, values, n, [self](double x) { self->add(x); });
  }

 protected:
  explicit NumberAnalyzer(DType input) : input_(input) {}
  NumberAnalyzer(const NumberAnalyzer& o)
      : Analyzer(), input_(o.input_), error_(o.error_), null_count_(o.null_count_) {}

  DType input_;
  Status error_;
  int64_t null_count_ = 0;
};

class MomentsAnalyzer final : public NumberAnalyzer<MomentsAnalyzer> {
  friend class NumberAnalyzer<MomentsAnalyzer>;

 public:
  explicit MomentsAnalyzer(DType input) : NumberAnalyzer(input) {}

  const char* kind() const override { return "moments"; }

  Status merge(const Analyzer& other) override {
    const MomentsAnalyzer* o = nullptr;
    FP_RETURN_NOT_OK(merge_source(other, "moments", &error_, &o));
    if (o->input_ != input_) return plan_error("cannot merge 'moments' analyzers of different input types");
    // Read everything from `o` before writing (o may be this).
    const int64_t count = o->count_, nulls = o->null_count_, nans = o->nan_count_;
    const int64_t pinf = o->pos_inf_, ninf = o->neg_inf_;
    const bool has = o->has_minmax_;
    const double mn = o->min_, mx = o->max_;
    flush();  // if o is this, its staging is now empty too
    drain(o->b1_, o->b2_, &s1_, &s2_);
    s1_.add(o->s1_);
    s2_.add(o->s2_);
    count_ += count;
    null_count_ += nulls;
    nan_count_ += nans;
    pos_inf_ += pinf;
    neg_inf_ += ninf;
    if (has) {
      observe_minmax(mn);
      observe_minmax(mx);
    }
    return Status::OK();
  }

  std::unique_ptr<Analyzer> empty_clone() const override {
    return std::unique_ptr<Analyzer>(new MomentsAnalyzer(input_));
  }

  Result<AnalyzerResult> finalize() const override {
    if (!error_.ok()) return error_;
    AnalyzerResult r;
    r.scalars["count"] = Scalar::Int(count_);
    r.scalars["null_count"] = Scalar::Int(null_count_);
    r.scalars["nan_count"] = Scalar::Int(nan_count_);
    r.scalars["pos_inf_count"] = Scalar::Int(pos_inf_);
    r.scalars["neg_inf_count"] = Scalar::Int(neg_inf_);
    const char* float_keys[] = {"min", "max", "mean", "variance", "std"};
    if (count_ == 0) {
      for (const char* k : float_keys) r.scalars[k] = Scalar::Null(DType::kFloat64);
      return r;
    }
    r.scalars["min"] = Scalar::Float(min_);
    r.scalars["max"] = Scalar::Float(max_);
    double mean, var;
    if (pos_inf_ > 0 || neg_inf_ > 0) {
      mean = (pos_inf_ > 0 && neg_inf_ > 0) ? kNaN : (pos_inf_ > 0 ? kInf : -kInf);
      var = kNaN;
    } else {
      bool s1_negative = false, s2_negative = false;
      FixedAcc a1 = s1_, a2 = s2_;
      drain(b1_, b2_, &a1, &a2);
      const BigNat s1 = a1.magnitude(&s1_negative);
      const BigNat s2 = a2.magnitude(&s2_negative);  // never negative
      mean = divide_rounded(s1, kS1Base, s1_negative, count_, 1);
      const BigNat ns2 = mul_u64(s2, static_cast<uint64_t>(count_));
      const BigNat s1sq = mul(s1, s1);
      // n*S2 - S1^2 >= 0 (Cauchy-Schwarz; both sums are exact).
      const BigNat d = cmp(ns2, s1sq) > 0 ? sub(ns2, s1sq) : BigNat();
      var = divide_rounded(d, kS2Base, false, count_, 2);
      if (!(var >= 0.0)) var = 0.0;
    }
    r.scalars["mean"] = Scalar::Float(mean);
    r.scalars["variance"] = Scalar::Float(var);
    r.scalars["std"] = Scalar::Float(std::sqrt(var));
    return r;
  }

 private:
  void observe_minmax(double x) {
    if (!has_minmax_) {
      min_ = max_ = x;
      has_minmax_ = true;
      return;
    }
    if (total_less(x, min_)) min_ = x;
    if (total_less(max_, x)) max_ = x;
  }

  void add(double x) {
    if (std::isnan(x)) {
      ++nan_count_;
      return;
    }
    ++count_;
    observe_minmax(x);
    if (std::isinf(x)) {
      if (x > 0) ++pos_inf_; else ++neg_inf_;
      return;
    }
    if (x == 0.0) return;
    uint64_t m;
    int e;
    decompose(x, &m, &e);
    // Values sharing an exponent add exactly in 128-bit integers first; the fixed-point
    // accumulators take the per-exponent totals at flush time.
    const size_t idx = static_cast<size_t>(e + kExpOffset);
    b1_[idx] += x < 0 ? -static_cast<i128>(m) : static_cast<i128>(m);
    b2_[idx] += static_cast<u128>(m) * m;
    if (++staged_ >= kStageEvery) flush();
  }

  // Exponents e of decompose() lie in [-1074, 971].
  static constexpr int kExpOffset = 1074;
  static constexpr size_t kExpBuckets = 2046;
  // m^2 < 2^106, so 2^20 staged squares stay below 2^126 (two merged stagings below 2^127).
  static constexpr int64_t kStageEvery = int64_t{1} << 20;

  static void drain(const std::vector<i128>& b1, const std::vector<u128>& b2, FixedAcc* s1, FixedAcc* s2) {
    for (size_t i = 0; i < kExpBuckets; ++i) {
      const int e = static_cast<int>(i) - kExpOffset;
      if (b1[i] != 0) {
        const bool neg = b1[i] < 0;
        s1->add(neg ? static_cast<u128>(-b1[i]) : static_cast<u128>(b1[i]), e, neg);
      }
      if (b2[i] != 0) s2->add(b2[i], 2 * e, false);
    }
  }

  void flush() {
    if (staged_ == 0) return;
    drain(b1_, b2_, &s1_, &s2_);
    std::fill(b1_.begin(), b1_.end(), i128{0});
    std::fill(b2_.begin(), b2_.end(), u128{0});
    staged_ = 0;
  }

  int64_t count_ = 0, nan_count_ = 0, pos_inf_ = 0, neg_inf_ = 0;
  bool has_minmax_ = false;
  double min_ = 0.0, max_ = 0.0;
  FixedAcc s1_{kS1Base, kS1Limbs};
  FixedAcc s2_{kS2Base, kS2Limbs};
  std::vector<i128> b1_ = std::vector<i128>(kExpBuckets);
  std::vector<u128> b2_ = std::vector<u128>(kExpBuckets);
  int64_t staged_ = 0;
};

// ---- quantiles -----------------------------------------------------------------------

/// KLL sketch (Karnin, Lang, Liberty 2016) over doubles (no NaN). See analyzers.h for
/// the error bound.
class Kll {
 public:
  explicit Kll(int64_t k) : k_(k) {
    levels_.emplace_back();
    compactions_.push_back(0);
    recompute_capacity();
  }

  void insert(double x) {
    observe(x);
    ++n_;
    levels_[0].push_back(x);
    ++size_;
    if (size_ >= total_capacity_) compress();
  }

  void merge(const Kll& o) {
    if (&o == this) {
      const Kll copy(o);
      merge(copy);
      return;
    }
    if (o.n_ == 0) return;
    while (levels_.size() < o.levels_.size()) {
      levels_.emplace_back();
      compactions_.push_back(0);
    }
    for (size_t h = 0; h < o.levels_.size(); ++h) {
      levels_[h].insert(levels_[h].end(), o.levels_[h].begin(), o.levels_[h].end());
      compactions_[h] += o.compactions_[h];
      size_ += o.levels_[h].size();
    }
    observe(o.min_);
    observe(o.max_);
    n_ += o.n_;
    uint64_t mix = o.rng_ ^ 0xD1B54A32D192ED03ULL;
    rng_ ^= splitmix64(&mix);
    recompute_capacity();
    if (size_ >= total_capacity_) compress();
  }

  int64_t n() const { return n_; }
  double min() const { return min_; }
  double max() const { return max_; }

  /// Retained samples with their weights, sorted by value (total order).
  void samples(std::vector<std::pair<double, uint64_t>>* out) const {
    out->clear();
    out->reserve(size_);
    for (size_t h = 0; h < levels_.size(); ++h) {
      for (double x : levels_[h]) out->emplace_back(x, uint64_t{1} << h);
    }
    std::sort(out->begin(), out->end(), [](const std::pair<double, uint64_t>& a,
                                           const std::pair<double, uint64_t>& b) {
      if (total_less(a.first, b.first)) return true;
      if (total_less(b.first, a.first)) return false;
      return a.second < b.second;
    });
  }

  /// The documented rank bound (t + 1) / n with delta = 1e-3.
  double rank_epsilon() const {
    if (n_ == 0) return 0.0;
    double v = 0.0;  // sum over compactions of 4^h
    for (size_t h = 0; h < compactions_.size(); ++h) {
      v += static_cast<double>(compactions_[h]) * std::ldexp(1.0, 2 * static_cast<int>(h));
    }
    const double t = std::sqrt(2.0 * std::log(2.0 / 1e-3) * v);
    return (t + 1.0) / static_cast<double>(n_);
  }

 private:
  static constexpr uint64_t kMinWidth = 8;

  /// max(8, ceil(k * (2/3)^depth)) for level h, depth = top level - h.
  uint64_t compute_capacity(size_t h) const {
    const size_t depth = levels_.size() - 1 - h;
    if (depth > 40) return kMinWidth;  // k * (2/3)^41 < 1 for k <= 2^20
    uint64_t pow3 = 1;
    for (size_t i = 0; i < depth; ++i) pow3 *= 3;  // <= 3^40 < 2^64
    const u128 num = static_cast<u128>(static_cast<uint64_t>(k_)) << depth;
    const uint64_t c = static_cast<uint64_t>((num + pow3 - 1) / pow3);
    return std::max(c, kMinWidth);
  }

  /// Level capacities depend only on the number of levels: recomputed when it changes.
  void recompute_capacity() {
    capacity_.resize(levels_.size());
    total_capacity_ = 0;
    for (size_t h = 0; h < levels_.size(); ++h) {
      capacity_[h] = compute_capacity(h);
      total_capacity_ += capacity_[h];
    }
  }

  void observe(double x) {
    if (!has_minmax_) {
      min_ = max_ = x;
      has_minmax_ = true;
      return;
    }
    if (total_less(x, min_)) min_ = x;
    if (total_less(max_, x)) max_ = x;
  }

  void compress() {
    while (size_ >= total_capacity_) {
      size_t h = 0;
      while (h + 1 < levels_.size() && levels_[h].size() < capacity_[h]) ++h;
      compact(h);
    }
  }

  /// Sorts level h and promotes every other item (pseudo-random offset) to level h + 1,
  /// keeping the smallest item back when the count is odd.
  void compact(size_t h) {
    const bool grow = h + 1 == levels_.size();
    if (grow) {
      levels_.emplace_back();
      compactions_.push_back(0);
    }
    std::vector<double>& lv = levels_[h];
    std::vector<double>& up = levels_[h + 1];
    std::sort(lv.begin(), lv.end(), total_less);
    const size_t start = lv.size() % 2;
    const size_t offset = static_cast<size_t>(splitmix64(&rng_) >> 63);
    for (size_t i = start + offset; i < lv.size(); i += 2) up.push_back(lv[i]);
    size_ -= (lv.size() - start) / 2;
    lv.resize(start);
    compactions_[h] += 1;
    if (grow) recompute_capacity();
  }

  int64_t k_;
  std::vector<std::vector<double>> levels_;  // level h: samples of weight 2^h
  std::vector<uint64_t> compactions_;        // compactions per level
  std::vector<uint64_t> capacity_;           // per level, see compute_capacity
  uint64_t rng_ = 0x6A09E667F3BCC909ULL;     // fixed seed
  uint64_t size_ = 0, total_capacity_ = 0;
  int64_t n_ = 0;
  bool has_minmax_ = false;
  double min_ = 0.0, max_ = 0.0;
};

/// Order-preserving key of a non-NaN double: unsigned key order == total_less order.
inline uint64_t order_key(double x) {
  uint64_t b;
  std::memcpy(&b, &x, sizeof b);
  return (b >> 63) != 0 ? ~b : b | (uint64_t{1} << 63);
}
inline double from_order_key(uint64_t k) {
  const uint64_t b = (k >> 63) != 0 ? k & ~(uint64_t{1} << 63) : ~k;
  double x;
  std::memcpy(&x, &b, sizeof x);
  return x;
}

/// The order statistics a finalize needs, selected (not sorted) from the values: only the
/// requested ranks are materialised, in O(n log k) for k ranks instead of a full sort.
class SelectedRanks {
 public:
  SelectedRanks(const std::vector<double>& values, std::vector<size_t> ranks) : n_(values.size()) {
    std::vector<uint64_t> keys(n_);
    for (size_t i = 0; i < n_; ++i) keys[i] = order_key(values[i]);
    std::sort(ranks.begin(), ranks.end());
    ranks.erase(std::unique(ranks.begin(), ranks.end()), ranks.end());
    select(keys, ranks, 0, ranks.size(), 0, n_);
    for (size_t r : ranks) at_[r] = from_order_key(keys[r]);
  }
  size_t size() const { return n_; }
  double operator[](size_t i) const { return at_.at(i); }

 private:
  // Places ranks[lo, hi) (all within [begin, end)) at their sorted positions.
  static void select(std::vector<uint64_t>& keys, const std::vector<size_t>& ranks, size_t lo, size_t hi,
                     size_t begin, size_t end) {
    if (lo >= hi || begin >= end) return;
    size_t mid = lo + (hi - lo) / 2;
    size_t r = ranks[mid];
    std::nth_element(keys.begin() + static_cast<std::ptrdiff_t>(begin), keys.begin() + static_cast<std::ptrdiff_t>(r),
                     keys.begin() + static_cast<std::ptrdiff_t>(end));
    select(keys, ranks, lo, mid, begin, r);
    select(keys, ranks, mid + 1, hi, r + 1, end);
  }
  size_t n_;
  std::map<size_t, double> at_;
};

/// The ranks quantile_linear reads for probability p over n values.
void linear_ranks(size_t n, double p, std::vector<size_t>* out) {
  const double last = static_cast<double>(n - 1);
  const double h = last * p;
  if (h >= last) {
    out->push_back(n - 1);
    return;
  }
  const size_t lo = static_cast<size_t>(std::floor(h));
  out->push_back(lo);
  out->push_back(lo + 1);
}

/// numpy's linear interpolation (_lerp) with numpy's index rule; see analyzers.h.
template <typename Sorted>
double quantile_linear(const Sorted& v, double p) {
  const size_t n = v.size();
  const double last = static_cast<double>(n - 1);
  const double h = last * p;
  size_t lo, hi;
  double t;
  if (h >= last) {
    lo = hi = n - 1;
    t = h + 1.0;  // numpy: gamma = h - (previous index -1)
  } else {
    const double fl = std::floor(h);
    lo = static_cast<size_t>(fl);
    hi = lo + 1;
    t = h - fl;
  }
  const double a = v[lo], b = v[hi];
  if (std::isfinite(a) && std::isfinite(b)) {
    const double diff = b - a;
    return t >= 0.5 ? b - diff * (1.0 - t) : a + diff * t;
  }
  if (a == b || t == 0.0) return a;
  if (t >= 1.0) return b;
  if (std::isinf(a) && std::isinf(b)) return kNaN;  // -inf .. +inf
  return std::isinf(a) ? a : b;
}

/// numpy.median of sorted v (non-empty): the mean of the middle one or two values.
template <typename Sorted>
double median_numpy(const Sorted& v) {
  const size_t n = v.size();
  if (n % 2 == 1) return v[n / 2] + 0.0;  // add.reduce turns -0.0 into 0.0
  return ((v[n / 2 - 1] + v[n / 2]) + 0.0) / 2.0;
}

class QuantilesAnalyzer final : public NumberAnalyzer<QuantilesAnalyzer> {
  friend class NumberAnalyzer<QuantilesAnalyzer>;

 public:
  QuantilesAnalyzer(DType input, std::vector<double> probs, int64_t budget, int64_t k)
      : NumberAnalyzer(input), probs_(std::move(probs)), budget_(budget), k_(k) {}

  const char* kind() const override { return "quantiles"; }

  Status merge(const Analyzer& other) override {
    const QuantilesAnalyzer* o = nullptr;
    FP_RETURN_NOT_OK(merge_source(other, "quantiles", &error_, &o));
    if (o->input_ != input_ || o->probs_ != probs_ || o->budget_ != budget_ || o->k_ != k_) {
      return plan_error("cannot merge 'quantiles' analyzers of different configurations");
    }
    if (o == this) {
      std::unique_ptr<QuantilesAnalyzer> copy(new QuantilesAnalyzer(*this));
      return merge(*copy);
    }
    count_ += o->count_;
    nan_count_ += o->nan_count_;
    null_count_ += o->null_count_;
    if (!kll_ && !o->kll_ &&
        values_.size() + o->values_.size() <= static_cast<uint64_t>(budget_)) {
      values_.insert(values_.end(), o->values_.begin(), o->values_.end());
      return Status::OK();
    }
    to_sketch();
    if (o->kll_) {
      kll_->merge(*o->kll_);
    } else {
      for (double x : o->values_) kll_->insert(x);
    }
    return Status::OK();
  }

  std::unique_ptr<Analyzer> empty_clone() const override {
    return std::unique_ptr<Analyzer>(new QuantilesAnalyzer(input_, probs_, budget_, k_));
  }

  Result<AnalyzerResult> finalize() const override {
    if (!error_.ok()) return error_;
    AnalyzerResult r;
    r.scalars["count"] = Scalar::Int(count_);
    r.scalars["nan_count"] = Scalar::Int(nan_count_);
    r.scalars["null_count"] = Scalar::Int(null_count_);
    r.scalars["exact"] = Scalar::Bool(!kll_);
    r.scalars["rank_epsilon"] = Scalar::Float(kll_ ? kll_->rank_epsilon() : 0.0);
    std::vector<Scalar>& q = r.lists["quantiles"];
    if (count_ == 0) {
      for (size_t i = 0; i < probs_.size(); ++i) q.push_back(Scalar::Null(DType::kFloat64));
      r.scalars["median_midpoint"] = Scalar::Null(DType::kFloat64);
      return r;
    }
    if (!kll_) {
      const size_t n = values_.size();
      std::vector<size_t> ranks = {n / 2};
      if (n % 2 == 0) ranks.push_back(n / 2 - 1);
      for (double p : probs_) linear_ranks(n, p, &ranks);
      const SelectedRanks v(values_, std::move(ranks));
      for (double p : probs_) q.push_back(Scalar::Float(quantile_linear(v, p)));
      r.scalars["median_midpoint"] = Scalar::Float(median_numpy(v));
      return r;
    }
    std::vector<std::pair<double, uint64_t>> s;
    kll_->samples(&s);
    std::vector<double> cum(s.size());
    uint64_t c = 0;
    for (size_t i = 0; i < s.size(); ++i) {
      c += s[i].second;
      cum[i] = static_cast<double>(c);
    }
    const double last = static_cast<double>(kll_->n() - 1);
    auto estimate = [&](double p) {
      if (p == 0.0) return kll_->min();
      if (p == 1.0) return kll_->max();
      const double target = last * p;
      size_t i = static_cast<size_t>(std::upper_bound(cum.begin(), cum.end(), target) - cum.begin());
      if (i >= s.size()) i = s.size() - 1;
      return s[i].first;
    };
    for (double p : probs_) q.push_back(Scalar::Float(estimate(p)));
    r.scalars["median_midpoint"] = Scalar::Float(estimate(0.5));
    return r;
  }

 private:
  QuantilesAnalyzer(const QuantilesAnalyzer& o)
      : NumberAnalyzer(o), probs_(o.probs_), budget_(o.budget_), k_(o.k_), count_(o.count_),
        nan_count_(o.nan_count_), values_(o.values_), kll_(o.kll_ ? new Kll(*o.kll_) : nullptr) {}

  void add(double x) {
    if (std::isnan(x)) {
      ++nan_count_;
      return;
    }
    ++count_;
    if (!kll_) {
      if (values_.size() < static_cast<uint64_t>(budget_)) {
        values_.push_back(x);
        return;
      }
      to_sketch();
    }
    kll_->insert(x);
  }

  /// Switches (once) from exact values to a sketch holding them.
  void to_sketch() {
    if (kll_) return;
    kll_.reset(new Kll(k_));
    for (double x : values_) kll_->insert(x);
    std::vector<double>().swap(values_);
  }

  std::vector<double> probs_;
  int64_t budget_, k_;
  int64_t count_ = 0, nan_count_ = 0;
  std::vector<double> values_;  // exact mode
  std::unique_ptr<Kll> kll_;    // sketch mode when set
};

// ---- vocabulary ----------------------------------------------------------------------

class VocabularyAnalyzer final : public Analyzer {
 public:
  VocabularyAnalyzer(DType input, bool has_top_k, int64_t top_k, int64_t min_frequency,
                     bool by_value)
      : input_(input), has_top_k_(has_top_k), top_k_(top_k), min_frequency_(min_frequency),
        by_value_(by_value) {}
  // The count map holds views of `store_`: a copy would point into the original.
  VocabularyAnalyzer(const VocabularyAnalyzer&) = delete;
  VocabularyAnalyzer& operator=(const VocabularyAnalyzer&) = delete;

  const char* kind() const override { return "vocabulary"; }
  /// The error recorded by update(), if any.
  const Status& error() const { return error_; }

  void update(const Slot& values, int64_t n) override {
    if (!error_.ok()) return;
    error_ = check_slot(kind(), input_, values, n);
    if (!error_.ok()) return;
    const uint8_t* valid = values.valid;
    switch (input_) {
      case DType::kString: {
        const StrView* d = values.as<StrView>();
        for (int64_t i = 0; i < n; ++i) {
          if (!valid[i]) {
            ++null_count_;
            continue;
          }
          add_string(std::string_view(d[i].ptr, d[i].len), 1);
        }
        break;
      }
      case DType::kInt64: {
        const int64_t* d = values.as<int64_t>();
        for (int64_t i = 0; i < n; ++i) {
          if (valid[i]) ++int_counts_[d[i]]; else ++null_count_;
        }
        break;
      }
      default: {  // kBool
        const uint8_t* d = values.as<uint8_t>();
        for (int64_t i = 0; i < n; ++i) {
          if (valid[i]) ++int_counts_[d[i] != 0 ? 1 : 0]; else ++null_count_;
        }
        break;
      }
    }
  }

  Status merge(const Analyzer& other) override {
    const VocabularyAnalyzer* o = nullptr;
    FP_RETURN_NOT_OK(merge_source(other, "vocabulary", &error_, &o));
    if (o->input_ != input_ || o->has_top_k_ != has_top_k_ || (has_top_k_ && o->top_k_ != top_k_) ||
        o->min_frequency_ != min_frequency_ || o->by_value_ != by_value_) {
      return plan_error("cannot merge 'vocabulary' analyzers of different configurations");
    }
    if (o == this) {
      // Doubling every count; no new keys.
      for (auto& kv : str_counts_) kv.second *= 2;
      for (auto& kv : int_counts_) kv.second *= 2;
      null_count_ *= 2;
      return Status::OK();
    }
    null_count_ += o->null_count_;
    for (const auto& kv : o->str_counts_) add_string(kv.first, kv.second);
    for (const auto& kv : o->int_counts_) int_counts_[kv.first] += kv.second;
    return Status::OK();
  }

  std::unique_ptr<Analyzer> empty_clone() const override {
    return std::unique_ptr<Analyzer>(
        new VocabularyAnalyzer(input_, has_top_k_, top_k_, min_frequency_, by_value_));
  }

  Result<AnalyzerResult> finalize() const override {
    if (!error_.ok()) return error_;
    AnalyzerResult r;
    r.scalars["null_count"] = Scalar::Int(null_count_);
    std::vector<Scalar>& keys = r.lists["keys"];
    std::vector<Scalar>& counts = r.lists["counts"];
    if (input_ == DType::kString) {
      r.scalars["distinct"] = Scalar::Int(static_cast<int64_t>(str_counts_.size()));
      std::vector<std::pair<std::string_view, int64_t>> e(str_counts_.begin(), str_counts_.end());
      select(&e);
      for (const auto& kv : e) {
        keys.push_back(Scalar::Str(std::string(kv.first)));
        counts.push_back(Scalar::Int(kv.second));
      }
    } else {
      r.scalars["distinct"] = Scalar::Int(static_cast<int64_t>(int_counts_.size()));
      std::vector<std::pair<int64_t, int64_t>> e(int_counts_.begin(), int_counts_.end());
      select(&e);
      for (const auto& kv : e) {
        keys.push_back(input_ == DType::kBool ? Scalar::Bool(kv.first != 0) : Scalar::Int(kv.first));
        counts.push_back(Scalar::Int(kv.second));
      }
    }
    return r;
  }

 private:
  void add_string(std::string_view s, int64_t count) {
    auto it = str_counts_.find(s);
    if (it != str_counts_.end()) {
      it->second += count;
      return;
    }
    store_.emplace_back(s);  // deque: the string objects (and their bytes) never move
    str_counts_.emplace(std::string_view(store_.back()), count);
  }

  /// Filter by min_frequency, keep the top_k most frequent, order.
  template <typename K>
  void select(std::vector<std::pair<K, int64_t>>* e) const {
    const int64_t min_freq = min_frequency_;
    e->erase(std::remove_if(e->begin(), e->end(),
                            [min_freq](const std::pair<K, int64_t>& x) { return x.second < min_freq; }),
             e->end());
    auto by_frequency = [](const std::pair<K, int64_t>& a, const std::pair<K, int64_t>& b) {
      if (a.second != b.second) return a.second > b.second;
      return a.first < b.first;
    };
    std::sort(e->begin(), e->end(), by_frequency);
    if (has_top_k_ && static_cast<uint64_t>(top_k_) < e->size()) e->resize(static_cast<size_t>(top_k_));
    if (by_value_) {
      std::sort(e->begin(), e->end(), [](const std::pair<K, int64_t>& a, const std::pair<K, int64_t>& b) {
        return a.first < b.first;
      });
    }
  }

  DType input_;
  bool has_top_k_;
  int64_t top_k_, min_frequency_;
  bool by_value_;
  Status error_;
  int64_t null_count_ = 0;
  std::deque<std::string> store_;  // owned string keys
  // Seeded (table_hash.h): keys come from training data; finalize sorts them.
  std::unordered_map<std::string_view, int64_t, SeededStrHash> str_counts_;
  std::unordered_map<int64_t, int64_t, SeededIntHash> int_counts_;  // int64 keys; bool as 0 / 1
};

// ---- factory -------------------------------------------------------------------------

Status unsupported_input(const char* kind, DType input) {
  return type_error(std::string("analyzer '") + kind + "' does not accept " + dtype_name(input) +
                    " input");
}

Result<std::unique_ptr<Analyzer>> make_moments(DType input, const Params& params) {
  ParamReader pr("moments", params);
  FP_RETURN_NOT_OK(pr.only({}));
  if (input != DType::kFloat64 && input != DType::kInt64 && input != DType::kBool) {
    return unsupported_input("moments", input);
  }
  return std::unique_ptr<Analyzer>(new MomentsAnalyzer(input));
}

Result<std::unique_ptr<Analyzer>> make_quantiles(DType input, const Params& params) {
  ParamReader pr("quantiles", params);
  FP_RETURN_NOT_OK(pr.only({"probabilities", "exact_budget", "k"}));
  bool present = false;
  std::vector<double> probs;
  FP_RETURN_NOT_OK(pr.get_number_list("probabilities", &present, &probs));
  if (!present) return pr.error("probabilities", "is required");
  for (double p : probs) {
    if (!(p >= 0.0 && p <= 1.0)) return pr.error("probabilities", "must contain values in [0, 1]");
  }
  int64_t budget = 10000000;
  int64_t v = 0;
  FP_RETURN_NOT_OK(pr.get_int("exact_budget", false, &present, &v));
  if (present) {
    if (v < 0) return pr.error("exact_budget", "must be >= 0");
    budget = v;
  }
  int64_t k = 400;
  FP_RETURN_NOT_OK(pr.get_int("k", false, &present, &v));
  if (present) {
    if (v < 8 || v > (int64_t{1} << 20)) return pr.error("k", "must be in [8, 1048576]");
    k = v;
  }
  if (input != DType::kFloat64 && input != DType::kInt64) return unsupported_input("quantiles", input);
  return std::unique_ptr<Analyzer>(new QuantilesAnalyzer(input, std::move(probs), budget, k));
}

Result<std::unique_ptr<Analyzer>> make_vocabulary(DType input, const Params& params) {
  ParamReader pr("vocabulary", params);
  FP_RETURN_NOT_OK(pr.only({"top_k", "min_frequency", "order"}));
  bool has_top_k = false, present = false;
  int64_t top_k = 0, min_frequency = 1, v = 0;
  FP_RETURN_NOT_OK(pr.get_int("top_k", true, &has_top_k, &top_k));
  if (has_top_k && top_k < 0) return pr.error("top_k", "must be >= 0");
  FP_RETURN_NOT_OK(pr.get_int("min_frequency", false, &present, &v));
  if (present) {
    if (v < 0) return pr.error("min_frequency", "must be >= 0");
    min_frequency = v;
  }
  std::string order = "frequency";
  FP_RETURN_NOT_OK(pr.get_string("order", &present, &order));
  if (order != "frequency" && order != "value") {
    return pr.error("order", "must be \"frequency\" or \"value\"");
  }
  if (input != DType::kString && input != DType::kInt64 && input != DType::kBool) {
    return unsupported_input("vocabulary", input);
  }
  return std::unique_ptr<Analyzer>(
      new VocabularyAnalyzer(input, has_top_k, top_k, min_frequency, order == "value"));
}

}  // namespace

Result<std::unique_ptr<Analyzer>> make_analyzer(const std::string& kind, DType input,
                                                const Params& params) {
  if (kind == "moments") return make_moments(input, params);
  if (kind == "quantiles") return make_quantiles(input, params);
  if (kind == "vocabulary") return make_vocabulary(input, params);
  return plan_error("unknown analyzer kind '" + kind + "' (expected moments, quantiles or vocabulary)");
}

}  // namespace featureplat
