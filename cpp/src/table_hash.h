// Hashers for the core's lookup tables whose keys come from outside: map keys from plan
// files, vocabulary keys from training data. A fixed public hash (std::hash is the
// identity on integers) would let a hostile plan or data set put every key in one bucket
// and make building the table quadratic, so these hash with xxHash64 under a seed drawn
// once per process. The seed decides only where keys are stored, never a result: every
// result read from these tables is looked up by key or sorted first.
#pragma once

#include <cstdint>
#include <cstring>
#include <random>
#include <string_view>

#include "featureplat/scalar_fns.h"

namespace featureplat {

/// The per-process seed of the table hashers.
inline uint64_t table_seed() {
  static const uint64_t seed = [] {
    std::random_device rd;
    return (static_cast<uint64_t>(rd()) << 32) ^ static_cast<uint64_t>(rd());
  }();
  return seed;
}

/// Seeded hash of a byte string key.
struct SeededStrHash {
  size_t operator()(std::string_view k) const {
    return static_cast<size_t>(scalar::xxh64(k.data(), k.size(), table_seed()));
  }
};

/// Seeded hash of an int64 key (its 8 bytes).
struct SeededIntHash {
  size_t operator()(int64_t k) const {
    unsigned char bytes[8];
    std::memcpy(bytes, &k, 8);
    return static_cast<size_t>(scalar::xxh64(bytes, 8, table_seed()));
  }
};

}  // namespace featureplat
