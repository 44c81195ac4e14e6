// Tests of the point-in-time join core (pit_join.h): ties, the TTL edge, missing history,
// null keys, duplicate entity rows, and thread-count independence against a brute force.
#include <cstdint>
#include <limits>
#include <vector>

#include "check.h"
#include "featureplat/pit_join.h"

using namespace featureplat;

namespace {

struct Feat {
  std::vector<int64_t> key, ts, created;
  std::vector<uint8_t> valid;
  void add(int64_t k, int64_t t, int64_t c = 0, bool v = true) {
    key.push_back(k);
    ts.push_back(t);
    created.push_back(c);
    valid.push_back(v ? 1 : 0);
  }
  int64_t n() const { return static_cast<int64_t>(key.size()); }
};

struct Ent {
  std::vector<int64_t> key, ts;
  std::vector<uint8_t> valid;
  void add(int64_t k, int64_t t, bool v = true) {
    key.push_back(k);
    ts.push_back(t);
    valid.push_back(v ? 1 : 0);
  }
  int64_t n() const { return static_cast<int64_t>(key.size()); }
};

std::vector<int64_t> join(const Ent& e, const Feat& f, int64_t ttl, int threads = 1, bool created = true,
                          bool use_valid = true) {
  std::vector<int64_t> out(e.key.size(), -7);
  Status st = asof_join(e.key.data(), use_valid ? e.valid.data() : nullptr, e.ts.data(), e.n(), f.key.data(),
                        use_valid ? f.valid.data() : nullptr, f.ts.data(), created ? f.created.data() : nullptr,
                        f.n(), ttl, threads, out.data());
  CHECK(st.ok());
  return out;
}

// O(n*m) reference of the same rule.
std::vector<int64_t> brute(const Ent& e, const Feat& f, int64_t ttl, bool created = true) {
  std::vector<int64_t> out(e.key.size(), -1);
  for (size_t i = 0; i < e.key.size(); ++i) {
    if (!e.valid[i]) continue;
    int64_t best = -1;
    for (size_t r = 0; r < f.key.size(); ++r) {
      if (!f.valid[r] || f.key[r] != e.key[i] || f.ts[r] > e.ts[i]) continue;
      if (ttl > 0 && f.ts[r] < e.ts[i] - ttl) continue;
      if (best < 0) { best = static_cast<int64_t>(r); continue; }
      size_t b = static_cast<size_t>(best);
      int64_t cb = created ? f.created[b] : 0, cr = created ? f.created[r] : 0;
      if (f.ts[r] > f.ts[b] || (f.ts[r] == f.ts[b] && cr >= cb)) best = static_cast<int64_t>(r);
    }
    out[i] = best;
  }
  return out;
}

uint64_t splitmix(uint64_t& s) {
  uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

TEST_CASE(pit_latest_at_or_before) {
  Feat f;
  f.add(1, 10);  // 0
  f.add(1, 20);  // 1
  f.add(1, 30);  // 2
  f.add(2, 15);  // 3
  Ent e;
  e.add(1, 5);   // before any history
  e.add(1, 10);  // exactly at a feature ts: included
  e.add(1, 25);
  e.add(1, 100);
  e.add(2, 15);
  e.add(3, 50);  // key with no history
  std::vector<int64_t> want = {-1, 0, 1, 2, 3, -1};
  CHECK(join(e, f, 0) == want);
  CHECK(join(e, f, -5) == want);  // negative TTL: unlimited too
}

TEST_CASE(pit_ttl_bound_is_inclusive) {
  Feat f;
  f.add(1, 100);
  Ent e;
  e.add(1, 150);  // 150 - 50 = 100: exactly at the bound, kept
  e.add(1, 151);  // 101 > 100: expired
  e.add(1, 100);
  e.add(1, 99);
  std::vector<int64_t> want = {0, -1, 0, -1};
  CHECK(join(e, f, 50) == want);
  // TTL 0 is unlimited.
  std::vector<int64_t> unlimited = {0, 0, 0, -1};
  CHECK(join(e, f, 0) == unlimited);
}

TEST_CASE(pit_visible_at_boundaries) {
  // The TTL rule serving and the join share: t - ttl <= event <= t, ttl <= 0 unlimited.
  const int64_t lo = std::numeric_limits<int64_t>::min(), hi = std::numeric_limits<int64_t>::max();
  CHECK(visible_at(100, 100, 50));   // event == t
  CHECK(!visible_at(101, 100, 50));  // newer than t
  CHECK(visible_at(50, 100, 50));    // event == t - ttl: the bound is inclusive
  CHECK(!visible_at(49, 100, 50));   // one microsecond older: expired
  CHECK(visible_at(lo, 100, 0));     // ttl 0: no lower bound
  CHECK(visible_at(lo, 100, -5));    // a negative ttl is unlimited too
  CHECK(!visible_at(101, 100, 0));   // but never newer than t
  // Extremes: t - ttl would overflow below INT64_MIN and saturates instead.
  CHECK(visible_at(lo, lo, 1));
  CHECK(visible_at(lo, lo + 5, hi));
  CHECK(!visible_at(lo, 0, hi));     // 0 - INT64_MAX = INT64_MIN + 1 > lo: expired
  CHECK(!visible_at(lo, 1, hi));     // 1 - INT64_MAX = INT64_MIN + 2 > lo: expired
  CHECK(visible_at(lo + 2, 1, hi));  // exactly at the bound
  CHECK(visible_at(hi, hi, hi));
  CHECK(visible_at(0, hi, hi));      // hi - hi = 0: at the bound
  CHECK(!visible_at(-1, hi, hi));
  CHECK(!visible_at(hi, lo, 0));
  CHECK(visible_at(lo, lo, hi));
}

TEST_CASE(pit_visible_mask_is_visible_at_and_the_join_uses_it) {
  const int64_t lo = std::numeric_limits<int64_t>::min(), hi = std::numeric_limits<int64_t>::max();
  const std::vector<int64_t> specials = {lo, lo + 1, lo + 2, -1, 0, 1, 49, 50, 51, 100, 101, hi - 1, hi};
  uint64_t seed = 99;
  std::vector<int64_t> ev, ttl;
  for (int i = 0; i < 4000; ++i) {
    const uint64_t r = splitmix(seed);
    ev.push_back(r % 3 == 0 ? specials[splitmix(seed) % specials.size()]
                            : static_cast<int64_t>(splitmix(seed) % 400) - 100);
    ttl.push_back(r % 5 == 0 ? specials[splitmix(seed) % specials.size()] : static_cast<int64_t>(splitmix(seed) % 120));
  }
  for (int64_t t : {lo, int64_t{-1}, int64_t{0}, int64_t{100}, hi}) {
    std::vector<uint8_t> mask(ev.size(), 7);
    visible_mask(ev.data(), ttl.data(), static_cast<int64_t>(ev.size()), t, mask.data());
    int64_t wrong = 0;
    for (size_t i = 0; i < ev.size(); ++i) {
      // Reference in 128-bit arithmetic: no saturation needed.
      const __int128 lower = static_cast<__int128>(t) - ttl[i];
      const bool want = ev[i] <= t && (ttl[i] <= 0 || ev[i] >= lower);
      if (mask[i] != (want ? 1 : 0) || visible_at(ev[i], t, ttl[i]) != want) ++wrong;
      // The join over a one-row feature table answers the same.
      if (i < 600 && ttl[i] >= 0) {
        Feat f;
        f.add(1, ev[i]);
        Ent e;
        e.add(1, t);
        if (join(e, f, ttl[i])[0] != (want ? 0 : -1)) ++wrong;
      }
    }
    CHECK_EQ(wrong, 0);
  }
  visible_mask(nullptr, nullptr, 0, 0, nullptr);  // empty: touches nothing
}

TEST_CASE(pit_ttl_does_not_fall_back_to_older_rows) {
  // The latest row at or before the entity ts is expired; an even older row is too.
  Feat f;
  f.add(1, 10);
  f.add(1, 20);
  Ent e;
  e.add(1, 100);
  CHECK_EQ(join(e, f, 50)[0], -1);
  CHECK_EQ(join(e, f, 80)[0], 1);
  CHECK_EQ(join(e, f, 0)[0], 1);
}

TEST_CASE(pit_ties_broken_by_created_then_row_order) {
  Feat f;
  f.add(1, 10, 5);  // 0
  f.add(1, 10, 9);  // 1: latest created
  f.add(1, 10, 7);  // 2: a late row with an older created timestamp
  f.add(2, 10, 3);  // 3
  f.add(2, 10, 3);  // 4: full tie: the last row wins
  f.add(2, 10, 1);  // 5
  Ent e;
  e.add(1, 10);
  e.add(2, 11);
  std::vector<int64_t> want = {1, 4};
  CHECK(join(e, f, 0) == want);
  // Without a created column, equal event timestamps go to the last row.
  std::vector<int64_t> no_created = {2, 5};
  CHECK(join(e, f, 0, 1, false) == no_created);
}

TEST_CASE(pit_created_does_not_override_event_ts) {
  Feat f;
  f.add(1, 20, 0);    // newer event, older created
  f.add(1, 10, 999);  // older event, newer created
  Ent e;
  e.add(1, 30);
  CHECK_EQ(join(e, f, 0)[0], 0);
}

TEST_CASE(pit_null_keys_never_match) {
  Feat f;
  f.add(0, 10, 0, false);  // null feature key that happens to hold code 0
  f.add(1, 10, 0, false);
  f.add(1, 5);
  Ent e;
  e.add(0, 20);         // valid key 0: the only key-0 feature row is null
  e.add(0, 20, false);  // null entity key
  e.add(1, 20);         // skips the null-keyed feature row at ts 10
  std::vector<int64_t> want = {-1, -1, 2};
  CHECK(join(e, f, 0) == want);
  // Without validity arrays every key is valid.
  std::vector<int64_t> all_valid = {0, 0, 1};
  CHECK(join(e, f, 0, 1, true, false) == all_valid);
}

TEST_CASE(pit_duplicate_entity_rows_get_the_same_answer) {
  Feat f;
  f.add(7, 1);
  f.add(7, 3);
  Ent e;
  e.add(7, 2);
  e.add(7, 2);
  e.add(7, 4);
  e.add(7, 2);
  std::vector<int64_t> want = {0, 0, 1, 0};
  CHECK(join(e, f, 0) == want);
}

TEST_CASE(pit_empty_inputs_and_extremes) {
  Feat f;
  Ent e;
  e.add(1, 0);
  CHECK_EQ(join(e, f, 0)[0], -1);  // no feature rows
  Ent none;
  CHECK(join(none, f, 0).empty());
  Feat g;
  const int64_t lo = std::numeric_limits<int64_t>::min(), hi = std::numeric_limits<int64_t>::max();
  g.add(1, lo);
  g.add(1, hi);
  Ent x;
  x.add(1, lo + 5);
  x.add(1, hi);
  std::vector<int64_t> want = {0, 1};
  CHECK(join(x, g, hi) == want);  // ts - ttl saturates instead of overflowing
  CHECK(join(x, g, 10) == want);
}

TEST_CASE(pit_bad_arguments) {
  int64_t k = 1, t = 1, out = 0;
  CHECK(asof_join(&k, nullptr, &t, 1, &k, nullptr, &t, nullptr, 1, 0, 0, &out).code() == ErrorCode::kInputError);
  CHECK(asof_join(&k, nullptr, &t, -1, &k, nullptr, &t, nullptr, 1, 0, 1, &out).code() == ErrorCode::kInputError);
  CHECK(asof_join(&k, nullptr, &t, 1, &k, nullptr, &t, nullptr, -1, 0, 1, &out).code() == ErrorCode::kInputError);
  CHECK(asof_join(&k, nullptr, &t, 1, nullptr, nullptr, &t, nullptr, 1, 0, 1, &out).code() == ErrorCode::kInputError);
  CHECK(asof_join(&k, nullptr, &t, 1, &k, nullptr, &t, nullptr, 1, 0, 1, nullptr).code() == ErrorCode::kInputError);
  CHECK(asof_join(nullptr, nullptr, nullptr, 0, nullptr, nullptr, nullptr, nullptr, 0, 0, 1, nullptr).ok());
  CHECK(asof_join(&k, nullptr, &t, 1, &k, nullptr, &t, nullptr, 1, 0, 1, &out).ok());
  CHECK_EQ(out, 0);
}

TEST_CASE(pit_random_matches_brute_force_and_threads_agree) {
  uint64_t seed = 12345;
  for (int round = 0; round < 6; ++round) {
    Feat f;
    Ent e;
    const int64_t nkeys = 1 + static_cast<int64_t>(splitmix(seed) % 50);
    const int64_t m = static_cast<int64_t>(splitmix(seed) % 3000);
    for (int64_t r = 0; r < m; ++r) {
      f.add(static_cast<int64_t>(splitmix(seed) % nkeys), static_cast<int64_t>(splitmix(seed) % 200),
            static_cast<int64_t>(splitmix(seed) % 4), splitmix(seed) % 17 != 0);
    }
    const int64_t n = 40000 + static_cast<int64_t>(splitmix(seed) % 5000);  // several morsels
    for (int64_t i = 0; i < n; ++i) {
      e.add(static_cast<int64_t>(splitmix(seed) % (nkeys + 2)), static_cast<int64_t>(splitmix(seed) % 220) - 10,
            splitmix(seed) % 13 != 0);
    }
    const int64_t ttl = round % 3 == 0 ? 0 : static_cast<int64_t>(splitmix(seed) % 60);
    const bool created = round % 2 == 0;
    std::vector<int64_t> one = join(e, f, ttl, 1, created);
    CHECK(one == join(e, f, ttl, 2, created));
    CHECK(one == join(e, f, ttl, 5, created));
    // Brute force on a prefix (it is quadratic).
    Ent head;
    for (int64_t i = 0; i < 3000; ++i) head.add(e.key[i], e.ts[i], e.valid[i] != 0);
    std::vector<int64_t> want = brute(head, f, ttl, created);
    CHECK(std::vector<int64_t>(one.begin(), one.begin() + 3000) == want);
  }
}

// Dense keys (dictionary codes) take the counting-sort path, spread-out keys the
// comparison sort; keys near the int64 extremes must work in both. Same answers.
TEST_CASE(pit_dense_and_sparse_key_paths_agree) {
  uint64_t seed = 777;
  Feat f;
  Ent e;
  for (int64_t r = 0; r < 5000; ++r) {
    f.add(static_cast<int64_t>(splitmix(seed) % 40), static_cast<int64_t>(splitmix(seed) % 300),
          static_cast<int64_t>(splitmix(seed) % 3), splitmix(seed) % 11 != 0);
  }
  for (int64_t i = 0; i < 20000; ++i) {
    e.add(static_cast<int64_t>(splitmix(seed) % 45), static_cast<int64_t>(splitmix(seed) % 320) - 10,
          splitmix(seed) % 9 != 0);
  }
  const std::vector<int64_t> base = join(e, f, 50, 2);
  const int64_t lo = std::numeric_limits<int64_t>::min(), hi = std::numeric_limits<int64_t>::max();
  // Maps that keep keys distinct: spread far apart (sparse), shifted to either extreme (dense).
  const auto spread = [](int64_t k) { return k * 100000000000000LL - 4000000000000000000LL; };
  const auto at_min = [lo](int64_t k) { return lo + k; };
  const auto at_max = [hi](int64_t k) { return hi - k; };
  for (int mode = 0; mode < 3; ++mode) {
    Feat g = f;
    Ent x = e;
    for (auto& k : g.key) k = mode == 0 ? spread(k) : mode == 1 ? at_min(k) : at_max(k);
    for (auto& k : x.key) k = mode == 0 ? spread(k) : mode == 1 ? at_min(k) : at_max(k);
    CHECK(join(x, g, 50, 1) == base);
    CHECK(join(x, g, 50, 3) == base);
  }
  // One key at each extreme: a range that does not fit int64 arithmetic.
  Feat h;
  h.add(lo, 5);
  h.add(hi, 6);
  Ent y;
  y.add(lo, 10);
  y.add(hi, 10);
  y.add(0, 10);
  const std::vector<int64_t> want = {0, 1, -1};
  CHECK(join(y, h, 0) == want);
}
