// Shared helpers of the C++ unit tests: bit views of doubles, a deterministic generator
// and an owning column that lends Slots to kernels and analyzers.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "featureplat/types.h"

namespace featureplat_test {

/// The IEEE 754 bits of `v`.
inline uint64_t bits_of(double v) {
  uint64_t b;
  std::memcpy(&b, &v, sizeof b);
  return b;
}

/// The double with bits `b`.
inline double double_of(uint64_t b) {
  double v;
  std::memcpy(&v, &b, sizeof v);
  return v;
}

/// Deterministic 64-bit generator (splitmix64); test scripts in Python mirror it.
struct Rng {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  /// Uniform in [lo, hi], hi - lo < 2^63.
  int64_t in(int64_t lo, int64_t hi) {
    const uint64_t span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo) + 1u;
    return static_cast<int64_t>(static_cast<uint64_t>(lo) + next() % span);
  }
  /// Uniform in [0, n).
  size_t below(size_t n) { return static_cast<size_t>(next() % n); }
  /// Uniform in (0, 1].
  double unit() { return static_cast<double>((next() >> 11) + 1) * 0x1p-53; }
  /// True with probability percent / 100.
  bool chance(int percent) { return static_cast<int>(next() % 100) < percent; }
  template <typename T>
  const T& pick(const std::vector<T>& v) { return v[next() % v.size()]; }
};

/// An owning column of one physical type; slot() views it.
struct Col {
  featureplat::DType type = featureplat::DType::kNull;
  std::vector<uint8_t> valid;
  std::vector<uint8_t> b;
  std::vector<int64_t> i;
  std::vector<double> f;
  std::vector<featureplat::StrView> s;
  std::vector<std::unique_ptr<std::string>> owned;  // stable storage behind `s`

  size_t size() const { return valid.size(); }
  featureplat::Slot slot(size_t offset = 0) {
    featureplat::Slot sl;
    sl.type = type;
    sl.valid = valid.data() + offset;
    switch (type) {
      case featureplat::DType::kBool: sl.data = b.data() + offset; break;
      case featureplat::DType::kFloat64: sl.data = f.data() + offset; break;
      case featureplat::DType::kString: sl.data = s.data() + offset; break;
      default: sl.data = i.data() + offset; break;
    }
    return sl;
  }
  bool is_null(size_t r) const { return valid[r] == 0; }
  std::string str(size_t r) const { return std::string(s[r].ptr, s[r].len); }
};

}  // namespace featureplat_test
