// Point-in-time (as-of) join with Feast's offline-store semantics: for every entity row,
// the index of the feature row a Feast `get_historical_features` call would join to it.
//
// Semantics (read from feast-dev/feast, sdk/python/feast/infra/offline_stores/bigquery.py,
// MULTIPLE_FEATURE_VIEW_POINT_IN_TIME_JOIN -- the template the Redshift, Snowflake,
// Postgres, Spark, Trino, MSSQL, Athena and ClickHouse stores copy -- and the pandas/dask
// file store, sdk/python/feast/infra/offline_stores/file.py, _filter_ttl/_drop_duplicates):
//
//  * Candidates for an entity row are the feature rows with the same join key and
//        feature.event_timestamp <= entity.event_timestamp                 (both stores)
//    and, when the feature view has a TTL (ttl != 0 / not None),
//        feature.event_timestamp >= entity.event_timestamp - ttl
//    -- the bound is INCLUSIVE: `subquery.event_timestamp >= Timestamp_sub(entity_timestamp,
//    interval ttl second)` in the SQL template, `df[ts] >= df[entity_ts] - fv.ttl` in the
//    file store. A TTL of 0 or None means "no lower bound" (`{% if featureview.ttl == 0 %}`).
//  * Among candidates the row with the greatest event_timestamp wins; equal event
//    timestamps are broken by the greatest created_timestamp (`ROW_NUMBER() OVER
//    (PARTITION BY entity_row ORDER BY event_timestamp DESC, created_timestamp DESC)` after
//    a `MAX(created_timestamp)` dedup step; the file store sorts by created then event
//    timestamp and keeps the last row).
//  * No candidate: the entity row is kept with null features (LEFT JOIN from the entity
//    dataframe). Every entity row yields exactly one output row; duplicate entity rows
//    (same key and timestamp) each get the same answer, as in the SQL stores.
//  * Full ties (same key, event and created timestamp) are not defined by Feast: the SQL
//    template joins `__latest` back to `__base` USING (row id, event_timestamp,
//    created_timestamp), so it emits one output row per tied feature row (duplicates),
//    and the file store keeps whichever row its (unstable) sort put last. Our choice:
//    the tied row that appears LAST in the feature table wins (deterministic, and what
//    a stable sort plus the file store's keep="last" gives).
//  * Null join keys never match (SQL `=` with NULL is not true); a feature row with a
//    null event timestamp is never a candidate; an entity row with a null timestamp gets
//    no match. The caller encodes those as invalid keys. A null created timestamp is
//    passed as INT64_MIN, i.e. older than every present one (the file store's
//    na_position="first"; BigQuery orders NULLs last under DESC).
//
// Keys are int64 codes (the caller encodes key columns of both tables into one code
// space); timestamps are int64 microseconds since the epoch (UTC).
#pragma once

#include <cstdint>
#include <limits>

#include "featureplat/status.h"

namespace featureplat {

/// The TTL rule of the point-in-time join and of online serving, the one implementation
/// of both: a feature row with event time `event_ts` is visible at time `t` when
///     event_ts <= t  and  (ttl_us <= 0  or  event_ts >= t - ttl_us)
/// (both bounds inclusive; ttl_us <= 0 means unlimited). `t - ttl_us` saturates at
/// INT64_MIN instead of overflowing, so every int64 argument has a defined answer.
inline bool visible_at(int64_t event_ts, int64_t t, int64_t ttl_us) {
  if (event_ts > t) return false;
  if (ttl_us <= 0) return true;
  // t - ttl_us underflows exactly when t < INT64_MIN + ttl_us (no overflow: ttl_us > 0).
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  const int64_t lower = t < kMin + ttl_us ? kMin : t - ttl_us;
  return event_ts >= lower;
}

/// visible_at over n (event time, ttl) pairs at one time `t`: out[i] = 1 when row i is
/// visible, else 0. Serving calls it once per request over every (row, view) it read.
void visible_mask(const int64_t* event_ts, const int64_t* ttl_us, int64_t n, int64_t t, uint8_t* out);

/// For each entity row i writes to out_index[i] the index (into the feature arrays) of
/// the feature row Feast's point-in-time join selects, or -1 when there is none:
/// same key, feat_ts <= entity_ts, feat_ts >= entity_ts - ttl_us when ttl_us > 0; the
/// greatest (feat_ts, feat_created, row index) wins. `*_key_valid` arrays are optional
/// (nullptr = all valid; a 0 byte = null key, never matching). `feat_created` is
/// optional (nullptr = no created timestamp column). `ttl_us` <= 0 means unlimited.
/// Feature rows are grouped by key once (a counting sort when the keys are dense codes,
/// else a comparison sort) and sorted within each key; each entity row is a binary
/// search. `threads` >= 1 workers split the per-key sorts and the entity rows; the result
/// does not depend on it.
/// Returns kInputError for negative lengths, missing arrays or threads < 1.
Status asof_join(const int64_t* entity_key, const uint8_t* entity_key_valid, const int64_t* entity_ts,
                 int64_t n_entities, const int64_t* feat_key, const uint8_t* feat_key_valid,
                 const int64_t* feat_ts, const int64_t* feat_created, int64_t n_feat, int64_t ttl_us,
                 int threads, int64_t* out_index);

}  // namespace featureplat
