"""Registry resolution: which feature views a plan reads, checked against the Feast
registry, and what the native join needs of each (offline file, keys and their declared
types, timestamps, TTL)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from featureplat.compile import compile as compile_feature_set
from featureplat.dsl.feature_set import FeatureSet
from featureplat.errors import InputError, PlanError
from featureplat.feast.point_in_time import key_kind
from featureplat.feast.repo import check_inputs, feast_type_name, registered_plan
from featureplat.plan import Plan
from featureplat.plan.files import parquet_schema, read_parquet
from featureplat.plan.sources import feast_ref

__all__ = ["ViewSource", "check_key_type", "feast_refs", "resolve_plan", "resolve_views"]

# The kind of Arrow column (point_in_time.key_kind) a join key of each Feast value type
# is held in. Feast's own retrieval refuses the others; the native join must too, or a
# bool column joins every customer and zero-padded strings match no integer key.
_FEAST_KEY_KINDS = {"Int32": "integer", "Int64": "integer", "String": "string", "Bytes": "binary",
                    "Bool": "bool", "Float32": "float", "Float64": "float", "UnixTimestamp": "timestamp"}
_KIND_TEXT = {"integer": "an integer type (int8 ... int64, uint8 ... uint64)", "string": "string or large_string",
              "binary": "binary or large_binary", "bool": "bool", "float": "float32 or float64",
              "timestamp": "a timestamp type", "date": "a date type"}


def check_key_type(what: str, column: str, found: pa.DataType, feast_type: str | None) -> None:
    """Raises InputError unless an Arrow column of type ``found`` can hold join keys of
    Feast value type ``feast_type`` (no check for a type Feast left undeclared). An
    all-null column is accepted: it matches nothing."""
    expected = _FEAST_KEY_KINDS.get(feast_type or "")
    kind = key_kind(found)
    if expected is None or kind == "null" or kind == expected:
        return
    raise InputError(f"{what}: join key column {column!r} has type {found}, but the entity's key is {feast_type} "
                     f"in Feast: expected {_KIND_TEXT[expected]}")


@dataclass
class ViewSource:
    """What the native join needs of one feature view: its offline file and columns."""

    name: str
    path: str
    join_keys: list[str]  # the view's key columns (Feast names)
    entity_keys: list[str]  # the entity-table columns they join to
    timestamp: str
    created: str | None
    ttl_us: int
    features: dict[str, str]  # requested feature -> Feast type name
    source_columns: dict[str, str] = field(default_factory=dict)  # Feast name -> file column
    feature_view: Any = None  # the Feast FeatureView this was resolved from
    key_types: dict[str, str] = field(default_factory=dict)  # join key -> its entity's Feast value type

    def read(self) -> pa.Table:
        """The columns of the view's parquet file the join needs, under Feast's names,
        with the file's page checksums verified and its key columns' types checked
        against the entities' declared types (InputError naming the file otherwise)."""
        if not os.path.isfile(self.path):
            raise InputError(f"feature view {self.name!r}: source file {self.path} does not exist")
        wanted = [*self.join_keys, self.timestamp, *([self.created] if self.created else []), *self.features]
        cols = list(dict.fromkeys(self.source_columns.get(c, c) for c in wanted))
        what = f"feature view {self.name!r}: source file"
        schema = parquet_schema(self.path, what)
        missing = [c for c in cols if c not in schema.names]
        if missing:
            raise InputError(f"feature view {self.name!r}: {self.path} has no column(s) {missing}")
        twice = [c for c in cols if len(schema.get_all_field_indices(c)) > 1]
        if twice:
            raise InputError(f"feature view {self.name!r}: {self.path} has more than one column named {twice}")
        for key in self.join_keys:
            column = self.source_columns.get(key, key)
            check_key_type(f"feature view {self.name!r}: source file {self.path}", column,
                           schema.field(column).type, self.key_types.get(key))
        table = read_parquet(self.path, cols, what)
        rename = {v: k for k, v in self.source_columns.items()}
        return table.rename_columns([rename.get(c, c) for c in table.column_names])

    def check_entity(self, entity: pa.Table) -> None:
        """Raises InputError unless the entity table's columns for this view's join keys
        exist and have types that fit the keys' declared Feast value types."""
        for key, column in zip(self.join_keys, self.entity_keys):
            found = entity.schema.get_all_field_indices(column)
            if not found:
                raise InputError(f"entity table has no column {column!r}, the join key of feature view "
                                 f"{self.name!r} (columns: {entity.column_names})")
            if len(found) > 1:
                raise InputError(f"entity table: column {column!r} appears {len(found)} times")
            check_key_type(f"entity table (feature view {self.name!r})", column,
                           entity.schema.field(found[0]).type, self.key_types.get(key))

    def join_spec(self, table: pa.Table) -> dict:
        return {"table": table, "keys": self.join_keys, "entity_keys": self.entity_keys,
                "timestamp": self.timestamp, "created": self.created, "ttl_us": self.ttl_us,
                "features": list(self.features), "prefix": self.name}


def resolve_plan(store: Any, feature_set: Any) -> Plan:
    """A plan from a FeatureSet (compiled), a plan, or the name of an applied feature set."""
    if isinstance(feature_set, Plan):
        return feature_set
    if isinstance(feature_set, FeatureSet):
        return compile_feature_set(feature_set)
    if isinstance(feature_set, str):
        return registered_plan(store, feature_set)
    raise InputError(f"feature_set must be a FeatureSet, a Plan or an applied feature set's name, "
                     f"got {type(feature_set).__name__}")


def _feature_view(store: Any, name: str):
    from feast.errors import FeatureViewNotFoundException

    try:
        return store.get_feature_view(name)
    except FeatureViewNotFoundException:
        known = ", ".join(sorted(v.name for v in store.list_feature_views())) or "none"
        raise InputError(f"unknown feature view {name!r} in project {store.config.project!r} "
                         f"(known: {known}); was the repo applied?") from None


def feast_refs(plan: Plan) -> dict[str, list[str]]:
    """The Feast features the plan's inputs read: view -> features, in input order."""
    refs: dict[str, list[str]] = {}
    for i in plan.inputs:
        ref = feast_ref(i["source"])
        if ref is not None:
            view, feature = ref
            features = refs.setdefault(view, [])
            if feature not in features:
                features.append(feature)
    return refs


def resolve_views(store: Any, plan: Plan) -> list[ViewSource]:
    """The feature views the plan's Feast inputs read, checked against the registry:
    unknown views or features and mismatched types raise, naming them."""
    from feast import FileSource

    refs = feast_refs(plan)
    fvs = {v: _feature_view(store, v) for v in refs}
    views_schema = {v: {f.name: feast_type_name(f.dtype) for f in fv.features} for v, fv in fvs.items()}
    triples = [(i["name"], i["dtype"], i["source"]) for i in plan.inputs]
    try:
        check_inputs(f"plan {plan.name!r}", triples, views_schema, {})
    except PlanError as e:
        raise InputError(str(e)) from None
    out = []
    for v, features in refs.items():
        fv = fvs[v]
        src = fv.batch_source
        keys = [c.name for c in fv.entity_columns]
        key_types = {c.name: feast_type_name(c.dtype) for c in fv.entity_columns}
        key_map = dict(fv.projection.join_key_map or {})
        if not isinstance(src, FileSource):
            raise InputError(f"feature view {v!r}: its source is a {type(src).__name__}, which the native join "
                             "cannot read; use method='feast'")
        path = FileSource.get_uri_for_file_path(store.repo_path, src.path)
        if "://" in str(path):
            raise InputError(f"feature view {v!r}: source {path} is remote; use method='feast'")
        ttl = int(fv.ttl.total_seconds() * 1_000_000) if fv.ttl else 0
        out.append(ViewSource(
            name=v, path=str(path), join_keys=keys, entity_keys=[key_map.get(k, k) for k in keys],
            timestamp=src.timestamp_field, created=src.created_timestamp_column or None, ttl_us=ttl,
            features={f: views_schema[v][f] for f in features},
            source_columns={dst: s for s, dst in (src.field_mapping or {}).items()}, feature_view=fv,
            key_types=key_types))
    return out
