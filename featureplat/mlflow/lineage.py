"""Where a model came from and what depends on what: the chain data -> feature views ->
plan -> run -> model version, the model versions that read a feature view, and whether a
run's training matrix can be rebuilt bit for bit."""
from __future__ import annotations

import datetime as _dt
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any


from featureplat.feast.repo import feature_store
from featureplat.feast.training import training_set
from featureplat.mlflow.registry import LineageError, load_model_plan
from featureplat.mlflow.runs import PLAN_ARTIFACT, RUN_DIR, TAG, content_digest
from featureplat.mlflow.tracking import _mlflow, tracking_call, tracking_client, use_repo_tracking
from featureplat.plan import load_plan
from featureplat.plan.files import read_parquet

__all__ = ["Reproduction", "format_lineage", "lineage", "models_using_view", "reproduce"]


@tracking_call
def lineage(uri: str) -> dict:
    """The chain data -> feature views -> plan -> run -> model version for ``uri``."""
    rec = load_model_plan(uri)
    client = tracking_client()
    run = client.get_run(rec.run_id)
    mv = client.get_model_version(rec.name, rec.version)
    rt = run.data.tags
    inputs = []
    for d in (run.inputs.dataset_inputs if run.inputs else []):
        inputs.append({"name": d.dataset.name, "digest": d.dataset.digest, "source": d.dataset.source,
                       "tags": {t.key: t.value for t in d.tags}})
    return {
        "data": {"digest": rt.get(TAG + "data_digest"), "rows": int(rt.get(TAG + "entity_rows", "0")),
                 "entity_start": rt.get(TAG + "entity_start"), "entity_end": rt.get(TAG + "entity_end"),
                 "labels": json.loads(rt.get(TAG + "labels", "[]")), "datasets": inputs},
        "feature_views": json.loads(rt.get(TAG + "feature_views", "{}")),
        "feast": {"project": rt.get("feast.project"), "feature_refs": json.loads(rt.get(TAG + "feature_refs", "[]"))},
        "plan": {"hash": rec.plan.plan_hash, "name": rec.plan.name, "format_version": rec.plan.format_version,
                 "features": rec.plan.features, "core_version": rt.get(TAG + "core_version")},
        "run": {"id": run.info.run_id, "experiment_id": run.info.experiment_id, "user": run.info.user_id,
                "start": _ms(run.info.start_time), "end": _ms(run.info.end_time), "status": run.info.status},
        "model_version": {"name": rec.name, "version": rec.version, "aliases": list(mv.aliases or []),
                          "created": _ms(mv.creation_timestamp), "user": mv.user_id or None, "source": mv.source},
    }


def _ms(ms: int | None) -> str | None:
    if not ms:
        return None
    return _dt.datetime.fromtimestamp(ms / 1000, tz=_dt.timezone.utc).isoformat()


def format_lineage(doc: dict) -> str:
    """A readable rendering of :func:`lineage`."""
    d, p, r, m = doc["data"], doc["plan"], doc["run"], doc["model_version"]
    lines = [f"data        digest {d['digest']}",
             f"            {d['rows']} entity rows, {d['entity_start']} .. {d['entity_end']}; labels {d['labels']}"]
    for v, info in sorted(doc["feature_views"].items()):
        lines.append(f"  view      {v}: version {info.get('version')}, ttl {info.get('ttl_seconds')} s, "
                     f"source {info.get('source')}")
    lines += [f"  feast     project {doc['feast']['project']}, {len(doc['feast']['feature_refs'])} feature refs",
              f"plan        {p['name']} {p['hash']} (format {p['format_version']}, core {p['core_version']}, "
              f"{len(p['features'])} features)",
              f"run         {r['id']} by {r['user']}, {r['start']} .. {r['end']} ({r['status']})",
              f"model       {m['name']} version {m['version']} aliases {m['aliases']} created {m['created']}"]
    return "\n".join(lines)


@tracking_call
def models_using_view(view: str, name: str | None = None) -> list[dict]:
    """Registered model versions whose plan reads feature view ``view`` (optionally only
    versions of model ``name``)."""
    client = tracking_client()
    flt = f"name = '{name}'" if name else ""
    out = []
    aliases: dict[str, dict[str, list[str]]] = {}  # model -> version -> its aliases
    for mv in client.search_model_versions(flt):
        views = json.loads(mv.tags.get(TAG + "feature_views", "{}") or "{}")
        if view in views:
            if mv.name not in aliases:
                # search_model_versions leaves a version's aliases empty; the registered model holds them.
                by_version: dict[str, list[str]] = {}
                for alias, version in sorted((client.get_registered_model(mv.name).aliases or {}).items()):
                    by_version.setdefault(str(version), []).append(alias)
                aliases[mv.name] = by_version
            out.append({"name": mv.name, "version": str(mv.version),
                        "aliases": aliases[mv.name].get(str(mv.version), []),
                        "run_id": mv.run_id, "plan_hash": mv.tags.get(TAG + "plan_hash"),
                        "view_version": views[view].get("version")})
    return sorted(out, key=lambda x: (x["name"], int(x["version"])))


# ---- reproduce ----------------------------------------------------------------------------

@dataclass
class Reproduction:
    """The outcome of :func:`reproduce`."""

    run_id: str
    logged: str
    rebuilt: str
    rows_logged: int
    rows_rebuilt: int
    differing_columns: list

    @property
    def matches(self) -> bool:
        return self.logged == self.rebuilt


@tracking_call
def reproduce(run_id: str, *, store: Any = None, method: str = "native", threads: int = 1) -> Reproduction:
    """Rebuilds a run's training matrix from Feast with its logged plan and entity set and
    compares it with the logged digest (overall and per column). With ``store``, the run
    is looked up in the tracking URI set for MLflow, else in the store's repo database."""
    mlflow = _mlflow()
    if store is not None:
        store = feature_store(store)
        use_repo_tracking(store)
    client = tracking_client()
    run = client.get_run(run_id)
    tags = run.data.tags
    if TAG + "data_digest" not in tags:
        raise LineageError(f"run {run_id} was not logged by featureplat (no {TAG}data_digest tag)")
    store = feature_store(store if store is not None else tags[TAG + "repo"])
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=RUN_DIR, dst_path=tmp))
        plan = load_plan(local / PLAN_ARTIFACT)
        if plan.plan_hash != tags[TAG + "plan_hash"]:
            raise LineageError(f"run {run_id}: the plan artifact hashes to {plan.plan_hash[:16]}, the run logged "
                               f"{tags[TAG + 'plan_hash'][:16]}")
        entity = read_parquet(local / "entity_set.parquet", what=f"run {run_id}'s entity set")
        logged = json.loads((local / "digest.json").read_text())
    ts = training_set(store, plan, entity, label=json.loads(tags.get(TAG + "labels", "[]")) or None,
                      timestamp=tags.get(TAG + "timestamp") or None, method=method, threads=threads)
    rebuilt = content_digest(ts)
    differing = sorted(k for k in set(logged["columns"]) | set(rebuilt["columns"])
                       if logged["columns"].get(k) != rebuilt["columns"].get(k))
    return Reproduction(run_id=run_id, logged=logged["digest"], rebuilt=rebuilt["digest"],
                        rows_logged=logged["rows"], rows_rebuilt=rebuilt["rows"], differing_columns=differing)
