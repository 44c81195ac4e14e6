"""Feature repos: Feast definitions plus featureplat feature sets, applied together.

A repo is a Feast feature repo (``feature_store.yaml`` and definition modules). Any
module of it may also define :class:`~featureplat.FeatureSet` objects. :func:`apply`
checks every feature set against the repo's feature views and request sources (unknown
views or features and mismatched types are refused, naming each one, before anything is
applied), runs Feast's apply, then compiles each feature set and records its plan next to
the Feast registry (``<registry dir>/featureplat/``), with an index of plan hashes and
the feature-view versions each plan reads.

>>> import featureplat as fp
>>> fs = fp.FeatureSet("f", inputs={"x": fp.feast("stats:x", "int64")}, features={"y": fp.col("x") + 1})
>>> check_feature_set(fs, {"stats": {"x": "Int64"}}, {})
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

from featureplat.compile import compile as compile_feature_set
from featureplat.dsl.feature_set import FeatureSet
from featureplat.errors import InputError, PlanError
from featureplat.plan import Plan, load_plan
from featureplat.plan.dtypes import feast_input_dtypes, feast_readable_types
from featureplat.plan.files import atomic_write_text
from featureplat.plan.names import check_name
from featureplat.plan.sources import feast_ref

__all__ = ["AppliedRepo", "RepoDefinitions", "apply", "check_feature_set", "check_inputs", "feature_store",
           "load_repo", "plan_index", "registered_plan", "repo_objects"]

_INDEX = "index.json"


def _feast():
    try:
        import feast  # noqa: F401
        from feast import repo_operations
    except ImportError as e:  # pragma: no cover - feast is a declared dependency of this module
        raise InputError("featureplat's Feast integration needs the 'feast' package") from e
    return repo_operations


def feast_type_name(dtype: Any) -> str:
    """``Int64``, ``String``, ... for a Feast field dtype (``str`` of Feast's type)."""
    return str(dtype)


def feature_store(repo: Any):
    """A ``feast.FeatureStore`` for ``repo`` (a path or an existing store). A local
    registry file that exists is read now, so a corrupt or truncated one is an InputError
    naming it rather than a protobuf error from whichever call first reads it."""
    from feast import FeatureStore

    if isinstance(repo, FeatureStore):
        return repo
    path = Path(repo)
    if not (path / "feature_store.yaml").is_file():
        raise InputError(f"{path} is not a feature repo: it has no feature_store.yaml")
    store = FeatureStore(repo_path=str(path.resolve()))
    registry = _registry_file(store)
    if registry is not None and registry.is_file():
        from google.protobuf.message import DecodeError

        try:
            store.registry  # noqa: B018 - reads and parses the registry file
        except DecodeError as err:
            raise InputError(f"the Feast registry file {registry} is corrupt or truncated ({err}); restore it or "
                             "run `featureplat apply` on a fresh registry") from None
    return store


def _registry_file(store: Any) -> Path | None:
    """The local file of the store's registry, or None (a SQL or remote registry)."""
    reg = store.config.registry
    if getattr(reg, "registry_type", "file") != "file":
        return None
    path = getattr(reg, "path", None) or ""
    if not path or "://" in str(path):
        return None
    p = Path(path)
    return p if p.is_absolute() else Path(store.repo_path) / p


def _module_names(root: Path) -> list[str]:
    """Module names of the repo's definition files (as Feast imports them from ``root``)."""
    files = _feast().get_repo_files(root)
    return [".".join(p.relative_to(root).with_suffix("").parts) for p in files]


@contextlib.contextmanager
def _in_repo(root: Path) -> Iterator[None]:
    """Import modules of ``root`` afresh (another repo's same-named modules must not be
    reused), with ``root`` as the working directory, restoring both afterwards."""
    names = _module_names(root)
    old_cwd = os.getcwd()
    saved = {n: sys.modules.pop(n) for n in names if n in sys.modules}
    sys.path.insert(0, str(root))
    os.chdir(root)
    try:
        yield
    finally:
        os.chdir(old_cwd)
        with contextlib.suppress(ValueError):
            sys.path.remove(str(root))
        for n in names:
            sys.modules.pop(n, None)
        sys.modules.update(saved)


@dataclass
class RepoDefinitions:
    """What a repo defines: Feast's parsed contents and the feature sets, by name."""

    root: Path
    feast: Any
    feature_sets: dict[str, FeatureSet] = field(default_factory=dict)

    def views(self) -> dict[str, dict[str, str]]:
        """Feature view name -> {feature name: Feast type name}."""
        out = {}
        for fv in list(self.feast.feature_views) + list(self.feast.stream_feature_views):
            out[fv.name] = {f.name: feast_type_name(f.dtype) for f in fv.features}
        return out

    def request_fields(self) -> dict[str, str]:
        """Request field name -> Feast type name, over every request source."""
        from feast import RequestSource

        out = {}
        for ds in self.feast.data_sources:
            if isinstance(ds, RequestSource):
                for f in ds.schema:
                    out[f.name] = feast_type_name(f.dtype)
        return out


def _repo_root(repo: str | os.PathLike) -> Path:
    root = Path(repo).resolve()
    if not (root / "feature_store.yaml").is_file():
        raise InputError(f"{root} is not a feature repo: it has no feature_store.yaml")
    return root


def _module_objects(root: Path, kind: type) -> Iterator[Any]:
    """Every instance of ``kind`` bound at the top level of the repo's modules (imported
    by the caller, inside :func:`_in_repo`)."""
    for module_name in _module_names(root):
        module = sys.modules.get(module_name)
        for attr in dir(module) if module is not None else ():
            obj = getattr(module, attr)
            if isinstance(obj, kind):
                yield obj


def repo_objects(repo: str | os.PathLike, kind: type) -> list[Any]:
    """The distinct instances of ``kind`` the repo's modules define (how other layers find
    their own declarations in a repo, e.g. the MLflow layer's retrainings)."""
    root = _repo_root(repo)
    out: list[Any] = []
    with _in_repo(root):
        _feast().parse_repo(Path("."))
        for obj in _module_objects(root, kind):
            if not any(o is obj for o in out):
                out.append(obj)
    return out


def load_repo(repo: str | os.PathLike) -> RepoDefinitions:
    """Imports the repo's modules (honouring ``.feastignore``) and collects Feast objects
    and feature sets. Two feature sets with one name are refused."""
    repo_ops = _feast()
    root = _repo_root(repo)
    with _in_repo(root):
        contents = repo_ops.parse_repo(Path("."))
        sets: dict[str, FeatureSet] = {}
        for obj in _module_objects(root, FeatureSet):
            other = sets.get(obj.name)
            if other is not None and other is not obj:
                raise PlanError(f"feature set name {obj.name!r} is defined twice in {root}")
            sets[obj.name] = obj
    return RepoDefinitions(root, contents, sets)


def check_feature_set(fs: FeatureSet, views: Mapping[str, Mapping[str, str]],
                      request_fields: Mapping[str, str]) -> None:
    """Raises PlanError listing every input of ``fs`` that names an unknown feature view or
    feature, or whose declared dtype does not fit the Feast type; request inputs that a
    request source declares must match its type too."""
    check_inputs(f"feature set {fs.name!r}", [(n, i.dtype, i.source) for n, i in fs.inputs.items()],
                 views, request_fields)


def check_inputs(what: str, inputs: list[tuple[str, str, str]], views: Mapping[str, Mapping[str, str]],
                 request_fields: Mapping[str, str]) -> None:
    """:func:`check_feature_set` over ``(name, dtype, source)`` triples (a plan's inputs)."""
    problems = []
    for name, dtype, source in inputs:
        parsed = feast_ref(source)
        if parsed is None:
            ftype = request_fields.get(name)
            if ftype is not None and dtype not in feast_input_dtypes(ftype):
                problems.append(f"input {name!r}: request field {name!r} is {ftype} in the request source, "
                                f"declared {dtype}")
            continue
        view, feature = parsed
        ref = f"{view}:{feature}"
        if view not in views:
            known = ", ".join(sorted(views)) or "none"
            problems.append(f"input {name!r}: unknown feature view {view!r} (known: {known})")
            continue
        ftype = views[view].get(feature)
        if ftype is None:
            known = ", ".join(sorted(views[view])) or "none"
            problems.append(f"input {name!r}: unknown feature reference {ref!r}: feature view {view!r} "
                            f"has no feature {feature!r} (it has: {known})")
            continue
        allowed = feast_input_dtypes(ftype)
        if not allowed:
            problems.append(f"input {name!r}: {ref} has Feast type {ftype}, which featureplat cannot read "
                            f"(supported: {', '.join(feast_readable_types())})")
        elif dtype not in allowed:
            problems.append(f"input {name!r}: {ref} is {ftype} in Feast but declared {dtype} "
                            f"(use {' or '.join(allowed)})")
    if problems:
        raise PlanError(f"{what} does not match the feature repo:\n  " + "\n  ".join(problems))


def _plans_dir(store) -> Path:
    reg = store.config.registry
    path = getattr(reg, "path", None) or ""
    if "://" in str(path) or not path:
        return Path(store.repo_path) / ".featureplat"
    p = Path(path)
    if not p.is_absolute():
        p = Path(store.repo_path) / p
    return p.parent / "featureplat"


@dataclass
class AppliedRepo:
    """The outcome of :func:`apply`: the store and the recorded plans, by name."""

    store: Any
    plans: dict[str, Plan]
    index: dict[str, Any]


def view_records(store: Any, names: list[str]) -> dict[str, Any]:
    """What lineage records of each named feature view, as the registry has it now:
    version, TTL, source and last update."""
    out = {}
    for v in sorted(set(names)):
        fv = store.get_feature_view(v)
        src = fv.batch_source
        out[v] = {"version": getattr(fv, "current_version_number", None),
                  "ttl_seconds": int(fv.ttl.total_seconds()) if fv.ttl else 0,
                  "source": getattr(src, "path", None) or type(src).__name__,
                  "updated": fv.last_updated_timestamp.isoformat() if fv.last_updated_timestamp else None}
    return out


def apply(repo: str | os.PathLike, *, skip_source_validation: bool = False) -> AppliedRepo:
    """Checks the repo's feature sets against its Feast definitions, runs Feast's apply,
    compiles every feature set and records its plan. Returns the store and the plans.

    Nothing is applied when any feature set does not match (PlanError names each input).
    """
    repo_ops = _feast()
    defs = load_repo(repo)
    views, requests = defs.views(), defs.request_fields()
    for fs in defs.feature_sets.values():
        check_feature_set(fs, views, requests)
    plans = {name: compile_feature_set(fs) for name, fs in sorted(defs.feature_sets.items())}

    store = feature_store(defs.root)
    project = store.config.project
    with _in_repo(defs.root):
        contents = repo_ops._get_repo_contents(Path("."), project, store.config)
        repo_ops.apply_total_with_repo_instance(store, project, store.registry, contents,
                                                skip_source_validation)
    store = feature_store(defs.root)  # a fresh view of the registry just written

    out_dir = _plans_dir(store)
    out_dir.mkdir(parents=True, exist_ok=True)
    index: dict[str, Any] = {"project": project, "applied_at": _dt.datetime.now(_dt.timezone.utc).isoformat(),
                             "feature_sets": {}}
    for name, plan in plans.items():
        path = plan.save(out_dir / _plan_file(name))
        parsed = [r for r in (feast_ref(i["source"]) for i in plan.inputs) if r is not None]
        refs = [f"{view}:{feature}" for view, feature in parsed]
        index["feature_sets"][name] = {
            "plan_hash": plan.plan_hash, "file": path.name, "feature_refs": refs,
            "request_inputs": [i["name"] for i in plan.inputs if feast_ref(i["source"]) is None],
            "feature_views": view_records(store, [view for view, _ in parsed]),
        }
    for stale in out_dir.glob("*.fpplan"):
        if stale.stem not in plans:
            stale.unlink()
    atomic_write_text(out_dir / _INDEX, json.dumps(index, indent=2, sort_keys=True))
    return AppliedRepo(store, plans, index)


def _plan_file(name: str) -> str:
    """The file a feature set's plan is recorded in: its checked name, inside the plans dir."""
    return check_name(name, "feature set name") + ".fpplan"


def plan_index(store: Any) -> dict[str, Any]:
    """The index :func:`apply` recorded for ``store`` (a FeatureStore or repo path)."""
    store = feature_store(store)
    path = _plans_dir(store) / _INDEX
    if not path.is_file():
        raise InputError(f"no featureplat plans recorded for the repo at {store.repo_path}; run `featureplat apply`")
    try:
        index = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise PlanError(f"the plan index {path} is corrupt or truncated ({err}); run `featureplat apply`") from None
    except OSError as err:
        raise PlanError(f"the plan index {path} cannot be read: {err.strerror}") from None
    sets = index.get("feature_sets") if isinstance(index, dict) else None
    if not isinstance(sets, dict) or not all(isinstance(e, dict) for e in sets.values()):
        raise PlanError(f"the plan index {path} is malformed: it needs a 'feature_sets' object of entries; "
                        "run `featureplat apply`")
    return index


def registered_plan(store: Any, name: str) -> Plan:
    """The plan recorded by :func:`apply` for feature set ``name``; its hash is checked
    against the index."""
    store = feature_store(store)
    entry = plan_index(store)["feature_sets"].get(name)
    if entry is None:
        known = ", ".join(sorted(plan_index(store)["feature_sets"])) or "none"
        raise InputError(f"no feature set {name!r} was applied (applied: {known})")
    if entry.get("file") != _plan_file(name):
        raise PlanError(f"the plan index records file {entry.get('file')!r} for feature set {name!r}, "
                        f"expected {_plan_file(name)!r}: the index was altered")
    plan = load_plan(_plans_dir(store) / _plan_file(name))
    if plan.plan_hash != entry.get("plan_hash"):
        raise PlanError(f"recorded plan for {name!r} has hash {plan.plan_hash}, the index says "
                        f"{entry.get('plan_hash')}")
    return plan
