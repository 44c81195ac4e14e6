// Point-in-time join: sort the feature rows by (key, event ts, created ts, row) once, then
// one binary search per entity row. See pit_join.h for the semantics and their source.
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

// Feature rows grouped by key: unique keys with their [start, start of next) range into
// the per-row arrays, which are sorted by (ts, created, row) within a key.
struct Index {
  std::vector<int64_t> keys;    // unique keys, ascending
  std::vector<int64_t> starts;  // keys.size() + 1 offsets
  std::vector<int64_t> ts;      // event timestamps, sorted within a key
  std::vector<int64_t> rows;    // original feature row per position
};

Index build_index(const int64_t* feat_key, const uint8_t* feat_key_valid, const int64_t* feat_ts,
                  const int64_t* feat_created, int64_t n_feat) {
  std::vector<FeatRow> v;
  v.reserve(static_cast<size_t>(n_feat));
  for (int64_t r = 0; r < n_feat; ++r) {
    if (feat_key_valid != nullptr && feat_key_valid[r] == 0) continue;
    v.push_back(FeatRow{feat_key[r], feat_ts[r], feat_created != nullptr ? feat_created[r] : 0, r});
  }
  std::sort(v.begin(), v.end(), [](const FeatRow& a, const FeatRow& b) {
    if (a.key != b.key) return a.key < b.key;
    if (a.ts != b.ts) return a.ts < b.ts;
    if (a.created != b.created) return a.created < b.created;
    return a.row < b.row;
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

// The chosen feature row for one entity row, or -1.
inline int64_t lookup(const Index& ix, int64_t key, int64_t ts, int64_t ttl_us) {
  auto kit = std::lower_bound(ix.keys.begin(), ix.keys.end(), key);
  if (kit == ix.keys.end() || *kit != key) return -1;
  size_t k = static_cast<size_t>(kit - ix.keys.begin());
  const int64_t* first = ix.ts.data() + ix.starts[k];
  const int64_t* last = ix.ts.data() + ix.starts[k + 1];
  // Last position with feature ts <= entity ts: the greatest (ts, created, row).
  const int64_t* p = std::upper_bound(first, last, ts);
  if (p == first) return -1;
  --p;
  if (ttl_us > 0) {
    // Inclusive lower bound ts - ttl, saturating instead of overflowing.
    int64_t lower = ts < std::numeric_limits<int64_t>::min() + ttl_us ? std::numeric_limits<int64_t>::min()
                                                                       : ts - ttl_us;
    if (*p < lower) return -1;
  }
  return ix.rows[static_cast<size_t>(p - ix.ts.data())];
}

constexpr int64_t kMorsel = 16384;

}  // namespace

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

  const Index ix = build_index(feat_key, feat_key_valid, feat_ts, feat_created, n_feat);

  auto run_range = [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      if (entity_key_valid != nullptr && entity_key_valid[i] == 0) {
        out_index[i] = -1;
      } else {
        out_index[i] = lookup(ix, entity_key[i], entity_ts[i], ttl_us);
      }
    }
  };

  const int64_t morsels = (n_entities + kMorsel - 1) / kMorsel;
  const int nt = static_cast<int>(std::min<int64_t>(threads, morsels));
  if (nt <= 1) {
    run_range(0, n_entities);
    return Status::OK();
  }
  std::atomic<int64_t> next{0};
  auto worker = [&] {
    for (int64_t m; (m = next.fetch_add(1)) < morsels;) {
      run_range(m * kMorsel, std::min(n_entities, (m + 1) * kMorsel));
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(static_cast<size_t>(nt - 1));
  for (int t = 1; t < nt; ++t) {
    try {
      pool.emplace_back(worker);
    } catch (const std::system_error&) {
      break;  // fewer workers; the calling thread still covers every morsel
    }
  }
  worker();  // the calling thread takes morsels too
  for (auto& th : pool) th.join();
  return Status::OK();
}

}  // namespace featureplat
