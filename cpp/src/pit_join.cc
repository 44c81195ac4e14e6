// Point-in-time join: group the feature rows by key and sort them by (event ts, created ts,
// row) once, then one binary search per entity row. See pit_join.h for the semantics.
#include "featureplat/pit_join.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <limits>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace featureplat {

namespace {

struct FeatRow {
  int64_t key;
  int64_t ts;
  int64_t created;
  int64_t row;
};

inline bool before(const FeatRow& a, const FeatRow& b) {
  if (a.ts != b.ts) return a.ts < b.ts;
  if (a.created != b.created) return a.created < b.created;
  return a.row < b.row;
}

// Feature rows grouped by key, sorted by (ts, created, row) within a key. Dense keys
// (the caller's dictionary codes: a range at most a few times the row count) index
// `starts` directly; other key sets keep their unique keys for a binary search.
struct Index {
  bool dense = false;
  int64_t lo = 0;               // dense: the smallest key; starts[key - lo]
  std::vector<int64_t> keys;    // sparse: unique keys, ascending
  std::vector<int64_t> starts;  // one offset per key slot, plus the end
  std::vector<int64_t> ts;      // event timestamps, sorted within a key
  std::vector<int64_t> rows;    // original feature row per position
};

// Runs fn(begin, end) over [0, n) in blocks of `block`, on up to `threads` threads.
template <typename Fn>
void parallel_blocks(int64_t n, int64_t block, int threads, Fn&& fn) {
  const int64_t blocks = (n + block - 1) / block;
  const int nt = static_cast<int>(std::min<int64_t>(threads, blocks));
  std::atomic<int64_t> next{0};
  auto worker = [&] {
    for (int64_t b; (b = next.fetch_add(1)) < blocks;) fn(b * block, std::min(n, (b + 1) * block));
  };
  std::vector<std::thread> pool;
  if (nt > 1) pool.reserve(static_cast<size_t>(nt - 1));
  for (int t = 1; t < nt; ++t) {
    try {
      pool.emplace_back(worker);
    } catch (const std::system_error&) {
      break;  // fewer workers; the calling thread still covers every block
    }
  }
  worker();
  for (auto& th : pool) th.join();
}

Index build_sparse(const int64_t* feat_key, const uint8_t* feat_key_valid, const int64_t* feat_ts,
                   const int64_t* feat_created, int64_t n_feat) {
  std::vector<FeatRow> v;
  v.reserve(static_cast<size_t>(n_feat));
  for (int64_t r = 0; r < n_feat; ++r) {
    if (feat_key_valid != nullptr && feat_key_valid[r] == 0) continue;
    v.push_back(FeatRow{feat_key[r], feat_ts[r], feat_created != nullptr ? feat_created[r] : 0, r});
  }
  std::sort(v.begin(), v.end(), [](const FeatRow& a, const FeatRow& b) {
    return a.key != b.key ? a.key < b.key : before(a, b);
  });
  Index ix;
  ix.ts.resize(v.size());
  ix.rows.resize(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    if (i == 0 || v[i].key != v[i - 1].key) {
      ix.keys.push_back(v[i].key);
      ix.starts.push_back(static_cast<int64_t>(i));
    }
    ix.ts[i] = v[i].ts;
    ix.rows[i] = v[i].row;
  }
  ix.starts.push_back(static_cast<int64_t>(v.size()));
  return ix;
}

// Counting sort by key (stable: rows keep table order within a key), then each key's
// rows sorted by (ts, created, row) -- usually already in order -- on `threads` threads.
Index build_dense(const int64_t* feat_key, const uint8_t* feat_key_valid, const int64_t* feat_ts,
                  const int64_t* feat_created, int64_t n_feat, int64_t lo, int64_t slots, int threads) {
  Index ix;
  ix.dense = true;
  ix.lo = lo;
  ix.starts.assign(static_cast<size_t>(slots + 1), 0);
  for (int64_t r = 0; r < n_feat; ++r) {
    if (feat_key_valid != nullptr && feat_key_valid[r] == 0) continue;
    ++ix.starts[static_cast<size_t>(feat_key[r] - lo + 1)];
  }
  for (int64_t k = 0; k < slots; ++k) ix.starts[k + 1] += ix.starts[k];
  const int64_t total = ix.starts[static_cast<size_t>(slots)];
  ix.rows.resize(static_cast<size_t>(total));
  ix.ts.resize(static_cast<size_t>(total));
  {
    std::vector<int64_t> cursor(ix.starts.begin(), ix.starts.end() - 1);
    for (int64_t r = 0; r < n_feat; ++r) {
      if (feat_key_valid != nullptr && feat_key_valid[r] == 0) continue;
      ix.rows[static_cast<size_t>(cursor[static_cast<size_t>(feat_key[r] - lo)]++)] = r;
    }
  }
  parallel_blocks(slots, 4096, threads, [&](int64_t kb, int64_t ke) {
    std::vector<FeatRow> scratch;
    for (int64_t k = kb; k < ke; ++k) {
      const int64_t b = ix.starts[static_cast<size_t>(k)], e = ix.starts[static_cast<size_t>(k + 1)];
      if (e == b) continue;
      scratch.clear();
      bool sorted = true;
      for (int64_t p = b; p < e; ++p) {
        const int64_t r = ix.rows[static_cast<size_t>(p)];
        scratch.push_back(FeatRow{0, feat_ts[r], feat_created != nullptr ? feat_created[r] : 0, r});
        if (scratch.size() > 1 && before(scratch.back(), scratch[scratch.size() - 2])) sorted = false;
      }
      if (!sorted) std::sort(scratch.begin(), scratch.end(), before);
      for (int64_t p = b; p < e; ++p) {
        ix.ts[static_cast<size_t>(p)] = scratch[static_cast<size_t>(p - b)].ts;
        ix.rows[static_cast<size_t>(p)] = scratch[static_cast<size_t>(p - b)].row;
      }
    }
  });
  return ix;
}

Index build_index(const int64_t* feat_key, const uint8_t* feat_key_valid, const int64_t* feat_ts,
                  const int64_t* feat_created, int64_t n_feat, int threads) {
  int64_t lo = std::numeric_limits<int64_t>::max(), hi = std::numeric_limits<int64_t>::min(), count = 0;
  for (int64_t r = 0; r < n_feat; ++r) {
    if (feat_key_valid != nullptr && feat_key_valid[r] == 0) continue;
    lo = std::min(lo, feat_key[r]);
    hi = std::max(hi, feat_key[r]);
    ++count;
  }
  if (count > 0) {
    // The key range, computed without overflow; dense when it is small next to the rows.
    const uint64_t range = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo);
    if (range < static_cast<uint64_t>(4 * count + 1024)) {
      return build_dense(feat_key, feat_key_valid, feat_ts, feat_created, n_feat, lo,
                         static_cast<int64_t>(range) + 1, threads);
    }
  }
  return build_sparse(feat_key, feat_key_valid, feat_ts, feat_created, n_feat);
}

// The chosen feature row for one entity row, or -1.
inline int64_t lookup(const Index& ix, int64_t key, int64_t ts, int64_t ttl_us) {
  size_t k;
  if (ix.dense) {
    // Unsigned difference: keys below lo wrap to huge values and fall out of range.
    const uint64_t d = static_cast<uint64_t>(key) - static_cast<uint64_t>(ix.lo);
    if (d >= ix.starts.size() - 1) return -1;
    k = static_cast<size_t>(d);
  } else {
    auto kit = std::lower_bound(ix.keys.begin(), ix.keys.end(), key);
    if (kit == ix.keys.end() || *kit != key) return -1;
    k = static_cast<size_t>(kit - ix.keys.begin());
  }
  const int64_t* first = ix.ts.data() + ix.starts[k];
  const int64_t* last = ix.ts.data() + ix.starts[k + 1];
  // Last position with feature ts <= entity ts: the greatest (ts, created, row).
  const int64_t* p = std::upper_bound(first, last, ts);
  if (p == first) return -1;
  --p;
  // The latest candidate is within the TTL or none is: the rule serving applies too.
  if (!visible_at(*p, ts, ttl_us)) return -1;
  return ix.rows[static_cast<size_t>(p - ix.ts.data())];
}

constexpr int64_t kMorsel = 16384;

}  // namespace

void visible_mask(const int64_t* event_ts, const int64_t* ttl_us, int64_t n, int64_t t, uint8_t* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = visible_at(event_ts[i], t, ttl_us[i]) ? 1 : 0;
}

Status asof_join(const int64_t* entity_key, const uint8_t* entity_key_valid, const int64_t* entity_ts,
                 int64_t n_entities, const int64_t* feat_key, const uint8_t* feat_key_valid,
                 const int64_t* feat_ts, const int64_t* feat_created, int64_t n_feat, int64_t ttl_us,
                 int threads, int64_t* out_index) {
  if (n_entities < 0) return Status(ErrorCode::kInputError, "asof_join: negative entity row count");
  if (n_feat < 0) return Status(ErrorCode::kInputError, "asof_join: negative feature row count");
  if (threads < 1) {
    return Status(ErrorCode::kInputError, "asof_join: threads must be >= 1, got " + std::to_string(threads));
  }
  if (n_entities > 0 && (entity_key == nullptr || entity_ts == nullptr || out_index == nullptr)) {
    return Status(ErrorCode::kInputError, "asof_join: entity keys, entity timestamps and the output are required");
  }
  if (n_feat > 0 && (feat_key == nullptr || feat_ts == nullptr)) {
    return Status(ErrorCode::kInputError, "asof_join: feature keys and feature timestamps are required");
  }
  if (n_entities == 0) return Status::OK();

  const Index ix = build_index(feat_key, feat_key_valid, feat_ts, feat_created, n_feat, threads);
  parallel_blocks(n_entities, kMorsel, threads, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      if (entity_key_valid != nullptr && entity_key_valid[i] == 0) {
        out_index[i] = -1;
      } else {
        out_index[i] = lookup(ix, entity_key[i], entity_ts[i], ttl_us);
      }
    }
  });
  return Status::OK();
}

}  // namespace featureplat
