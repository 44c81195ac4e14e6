"""Each view's lookup outcome per entity row (found, expired, future, missing), in process,
and the SQLite reader past SQLite's limit on bound variables (issue 11: an emptied store
answered with imputed features and no signal; 100k entities failed on that limit)."""
from __future__ import annotations

import datetime as dt
import shutil
import sqlite3

import numpy as np
import pytest

from featureplat.examples.churn import START
from featureplat.feast.serving import OUTCOMES, OnlineFeatures
from tests.feast.conftest import build_served_repo, data_end

REQ = {"offer_discount_pct": 5.0, "channel": "app"}
KNOWN = {"customer_id": 1001, "region": "PT-LIS"}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    return build_served_repo(tmp_path_factory.mktemp("outcomes") / "repo", "sqlite")


@pytest.fixture(scope="module")
def sv(served):
    store, plan = served
    return OnlineFeatures(store, plan)


def _stored_event_times(store, sv: OnlineFeatures, customer: int, region: str) -> dict[str, dt.datetime]:
    """The online store's event time per view for one entity, by Feast's own online read
    (the test's reference)."""
    got = {}
    for view in sv.view_names:
        feature = next(i["source"].rsplit(":", 1)[1] for i in sv.plan.inputs if i["source"].startswith(f"feast:{view}:"))
        resp = store.get_online_features(features=[f"{view}:{feature}"],
                                         entity_rows=[{"customer_id": customer, "region": region}])
        seconds = resp.to_dict(include_event_timestamps=True)[f"{feature}__ts"][0]
        got[view] = dt.datetime.fromtimestamp(seconds, dt.timezone.utc) if seconds else None
    return got


def test_outcomes_follow_the_ttl_rule(served, sv):
    store, _ = served
    ttl = {fv.name: fv.ttl for fv in store.list_feature_views()}
    stored = _stored_event_times(store, sv, 1001, "PT-LIS")
    assert all(stored.values())
    for at in (data_end() + dt.timedelta(hours=6), data_end() + dt.timedelta(days=5),
               data_end() + dt.timedelta(days=60), START - dt.timedelta(days=1)):
        vec, report = sv.get(KNOWN, REQ, at=at, report=True)
        want = {}
        for view, ts in stored.items():
            if ts > at:
                want[view] = "future"
            elif ttl[view] and ts < at - ttl[view]:
                want[view] = "expired"
            else:
                want[view] = "found"
        assert report == want, at
        raw = sv.raw(KNOWN, REQ, at=at)[0]
        for i in sv.plan.inputs:  # a view's inputs are null exactly where it was not found
            view = i["source"].split(":")[1] if i["source"].startswith("feast:") else None
            if view and report[view] != "found":
                assert raw[i["name"]] is None, (at, i["name"])
        assert np.array_equal(vec, sv.get(KNOWN, REQ, at=at), equal_nan=True)
    seen = {o for at in (data_end() + dt.timedelta(days=5), START - dt.timedelta(days=1))
            for o in sv.get(KNOWN, REQ, at=at, report=True)[1].values()}
    assert seen == {"found", "expired", "future"}  # the sample reaches every stored outcome


def test_unknown_entities_and_null_keys_are_missing(sv):
    at = data_end() + dt.timedelta(hours=6)
    rows = [KNOWN, {"customer_id": 999_999, "region": "PT-LIS"}, {"customer_id": None, "region": None}]
    matrix, report = sv.get(rows, REQ, at=at, report=True, to="numpy")
    assert matrix.shape == (3, len(sv.feature_names))
    assert set(report[0].values()) == {"found"}
    assert report[1]["region_stats"] == "found"
    assert {v for k, v in report[1].items() if k != "region_stats"} == {"missing"}
    assert report[2] == {v: "missing" for v in sv.view_names}
    found = sv.lookup(rows, REQ, at=at, to="dict")
    assert found.report() == report and found.rows == 3 and not found.single
    counts = found.counts()
    assert set(counts) == {(v, o) for v in sv.view_names for o in OUTCOMES}
    assert counts[("region_stats", "found")] == 2 and counts[("customer_activity", "missing")] == 2
    assert sum(counts.values()) == 3 * len(sv.view_names)


def test_an_emptied_store_reports_every_view_missing(served, tmp_path):
    store, plan = served
    repo = tmp_path / "repo"
    shutil.copytree(store.repo_path, repo)
    db = sqlite3.connect(repo / "data" / "online_store.db")
    for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
        db.execute(f'DELETE FROM "{table}"')
    db.commit()
    db.close()
    empty = OnlineFeatures(repo, plan)
    _, report = empty.get(KNOWN, REQ, at=data_end() + dt.timedelta(hours=6), report=True)
    assert report == {v: "missing" for v in empty.view_names}


def test_sqlite_reads_past_the_variable_limit(served, sv, monkeypatch):
    """100k distinct entities in one request overflowed SQLite's bound-variable limit (a
    misleading StoreUnavailable); the reader now splits the keys over statements."""
    store, plan = served
    at = data_end() + dt.timedelta(hours=6)
    rows = [{"customer_id": 1000 + i % 400, "region": "PT-LIS"} for i in range(100_000)]
    rows += [{"customer_id": 10_000_000 + i, "region": "PT-LIS"} for i in range(100_000)]  # distinct, unknown
    big, report = sv.get(rows, REQ, at=at, report=True)
    sample = [0, 1, 399, 400, 99_999, 100_000, 199_999]
    for i in sample:
        assert np.array_equal(big[i], sv.get(rows[i], REQ, at=at), equal_nan=True)
        assert report[i] == sv.get(rows[i], REQ, at=at, report=True)[1]
    # Small statements, and statements that mix views, give the same answer as one.
    small = OnlineFeatures(store, plan)
    monkeypatch.setattr(small._reader, "keys_per_statement", 7)
    few = rows[:250] + rows[100_000:100_050]
    assert np.array_equal(small.get(few, REQ, at=at), sv.get(few, REQ, at=at), equal_nan=True)
    assert small.get(few, REQ, at=at, report=True)[1] == sv.get(few, REQ, at=at, report=True)[1]
