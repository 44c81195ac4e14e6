"""Plans: data that describes features, never code.

A plan file is a small binary header followed by canonical JSON::

    magic      8 bytes   b"FPPLAN\\x00\\x01"
    version    4 bytes   plan format version, little-endian uint32
    length     8 bytes   body length in bytes, little-endian uint64
    checksum  32 bytes   sha256 of the body
    body       length    canonical JSON: {"meta": {...}, "plan": {...}}

``plan_hash`` is the sha256 of the canonical JSON of ``plan`` alone (``meta`` records
which featureplat wrote it and does not affect results). Loading validates every layer
and never executes code: a malformed, truncated or hostile file raises PlanError.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import struct
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pyarrow as pa

from featureplat import _core
from featureplat.errors import FeatureplatError, InputError, PlanError
from featureplat.plan.dtypes import DTYPES
from featureplat.plan.fit import DEFAULT_EXACT_BUDGET, FITTED_OPS, fit_document
from featureplat.plan.inputs import to_batches
from featureplat.plan.names import check_name
from featureplat.plan.threads import thread_count
from featureplat.version import __version__

FORMAT_VERSION: int = _core.PLAN_FORMAT_VERSION
MAGIC = b"FPPLAN\x00\x01"
_HEADER = struct.Struct("<8sIQ32s")
MAX_PLAN_BYTES = 64 * 1024 * 1024
_FLOAT_TEXT = re.compile(r"^-?(?:\d+\.\d+(?:e[+-]\d+)?|\d+e[+-]\d+|inf|nan)$")


def _force_row() -> bool:
    return os.environ.get("FEATUREPLAT_FORCE_ROW", "") not in ("", "0")


# ---- canonical JSON ------------------------------------------------------------------

def _encode(obj: Any) -> Any:
    """Floats become their shortest round-trip text so JSON carries them exactly."""
    if isinstance(obj, dict):
        if set(obj) == {"dtype", "value"} and obj["dtype"] in ("float64", "float32") and isinstance(obj["value"], float):
            return {"dtype": obj["dtype"], "value": repr(obj["value"])}
        return {k: _encode(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_encode(v) for v in obj]
    if isinstance(obj, float):
        raise PlanError("internal: bare float outside a scalar in a plan")
    return obj


def _decode(obj: Any, where: str = "plan") -> Any:
    if isinstance(obj, dict):
        if set(obj) == {"dtype", "value"} and obj.get("dtype") in ("float64", "float32") and obj["value"] is not None:
            text = obj["value"]
            if not isinstance(text, str) or not _FLOAT_TEXT.match(text):
                raise PlanError(f"{where}: float value must be canonical text, got {text!r}")
            value = float(text)
            if repr(value) != text:
                raise PlanError(f"{where}: float value {text!r} is not in canonical form")
            return {"dtype": obj["dtype"], "value": value}
        return {k: _decode(v, f"{where}.{k}") for k, v in obj.items()}
    if isinstance(obj, list):
        return [_decode(v, f"{where}[{i}]") for i, v in enumerate(obj)]
    if isinstance(obj, float):
        raise PlanError(f"{where}: bare JSON number {obj!r}; floats are stored as scalar text")
    return obj


def canonical_json(obj: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8, floats as exact text."""
    return json.dumps(_encode(obj), sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def _check_document(doc: Any) -> dict:
    if not isinstance(doc, dict):
        raise PlanError("plan must be a JSON object")
    for key, kind in (("format_version", int), ("name", str), ("inputs", list), ("steps", list), ("outputs", list),
                      ("fitted", list)):
        if key not in doc:
            raise PlanError(f"plan is missing {key!r}")
        if not isinstance(doc[key], kind) or isinstance(doc[key], bool):
            raise PlanError(f"plan {key!r} must be a {kind.__name__}")
    check_name(doc["name"], "plan name")
    if doc["format_version"] != FORMAT_VERSION:
        raise PlanError(f"plan format version {doc['format_version']} is not supported "
                        f"(this featureplat reads version {FORMAT_VERSION})")
    extra = set(doc) - {"format_version", "name", "inputs", "steps", "outputs", "fitted"}
    if extra:
        raise PlanError(f"plan has unknown fields {sorted(extra)}")
    for i, inp in enumerate(doc["inputs"]):
        if not isinstance(inp, dict) or set(inp) != {"name", "dtype", "source"} or not isinstance(inp["source"], str):
            raise PlanError(f"plan inputs[{i}] must have exactly name, dtype and source")
    for i, rec in enumerate(doc["fitted"]):
        if not isinstance(rec, dict) or set(rec) != {"features", "transform", "expression", "rows", "statistics"} \
                or not isinstance(rec["statistics"], dict):
            raise PlanError(f"plan fitted[{i}] is malformed")
    return doc


def _unfitted_ops(doc: dict) -> list[str]:
    return [s.get("op") for s in doc["steps"] if isinstance(s, dict) and s.get("op") in FITTED_OPS]


class Plan:
    """A compiled feature plan: run it on a batch (training) or a row (serving).

    >>> import featureplat as fp
    >>> fs = fp.FeatureSet("demo", inputs={"x": fp.request("float64")},
    ...                    features={"y": (fp.col("x") + 1).log()})
    >>> plan = fp.compile(fs)
    >>> plan.transform({"x": [0.0, 1.0]}).column("y").to_pylist()
    [0.0, 0.6931471805599453]
    >>> plan.transform_row({"x": 1.0})
    {'y': 0.6931471805599453}
    """

    def __init__(self, document: Mapping[str, Any]):
        if not isinstance(document, Mapping):
            raise PlanError(f"a plan document must be a mapping, got {type(document).__name__}")
        # A private deep copy: later changes to the caller's dict cannot reach this plan.
        doc = _check_document(_decode(json.loads(canonical_json(dict(document)))))
        self._unfitted = _unfitted_ops(doc)
        try:
            if self._unfitted:
                _core.validate(doc)
                program = None
            else:
                program = _core.Program(doc)
        except RecursionError:
            raise PlanError("plan is nested too deeply") from None
        self._doc = doc
        self._program = program
        self._canonical = canonical_json(doc)
        self._hash = hashlib.sha256(self._canonical).hexdigest()
        self._inputs = [i["name"] for i in doc["inputs"]]
        self._features = [o["name"] for o in doc["outputs"]]
        self._types = [doc["steps"][o["step"]]["dtype"] for o in doc["outputs"]]

    # ---- identity ---------------------------------------------------------------------
    @property
    def plan_hash(self) -> str:
        """sha256 of the canonical serialization: same definitions, same hash, anywhere."""
        return self._hash

    @property
    def name(self) -> str:
        """The feature set's name."""
        return self._doc["name"]

    @property
    def format_version(self) -> int:
        """Plan format version."""
        return self._doc["format_version"]

    @property
    def inputs(self) -> list[dict]:
        """Declared inputs: name, dtype and source (``feast:view:feature`` or ``request``)."""
        return [dict(i) for i in self._doc["inputs"]]

    @property
    def input_names(self) -> list[str]:
        """Declared input names, in order."""
        return list(self._inputs)

    @property
    def features(self) -> list[str]:
        """Output feature names, in order."""
        return list(self._features)

    @property
    def feature_types(self) -> dict[str, str]:
        """Output feature -> dtype."""
        return dict(zip(self._features, self._types))

    @property
    def steps(self) -> list[dict]:
        """The flat step list."""
        return json.loads(json.dumps(_encode(self._doc["steps"])))

    def to_dict(self) -> dict:
        """The plan document (floats as Python floats)."""
        return _decode(json.loads(self._canonical))

    def __repr__(self) -> str:
        return (f"Plan({self.name!r}, inputs={self._inputs}, features={self._features}, "
                f"steps={len(self._doc['steps'])}, hash={self._hash[:12]})")

    def __eq__(self, other) -> bool:
        return isinstance(other, Plan) and other._canonical == self._canonical

    __hash__ = None  # type: ignore[assignment]

    # ---- persistence ------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        """The plan file contents."""
        body = canonical_json({"meta": {"featureplat_version": __version__}, "plan": self._doc})
        return _HEADER.pack(MAGIC, FORMAT_VERSION, len(body), hashlib.sha256(body).digest()) + body

    def save(self, path: str | os.PathLike) -> Path:
        """Write the plan file; returns its path."""
        p = Path(path)
        tmp = p.with_name(p.name + ".tmp")
        tmp.write_bytes(self.to_bytes())
        tmp.replace(p)
        return p

    # ---- fitting ----------------------------------------------------------------------
    @property
    def needs_fit(self) -> bool:
        """True while the plan has fitted transforms without statistics."""
        return bool(self._unfitted)

    def fit(self, data: Any, *, threads: int = 1, exact_budget: int | None = None) -> "FittedPlan":
        """Compute the statistics of every fitted transform on training ``data`` and return
        the :class:`FittedPlan` with them frozen in as constants.

        ``data``: a Table/RecordBatch/DataFrame/dict, an iterable of them (streamed; memory
        does not grow with the number of rows), or a function returning a fresh iterable
        (needed for one-shot sources when fitted transforms are nested). Every analyzer of
        one nesting level runs in the same pass. Quantiles are exact while at most
        ``exact_budget`` values are held per quantile transform, a KLL sketch beyond.
        """
        workers = thread_count(threads)
        budget = DEFAULT_EXACT_BUDGET if exact_budget is None else exact_budget
        if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
            raise InputError(f"exact_budget must be a positive integer, got {exact_budget!r}")
        return FittedPlan(fit_document(self._doc, data, threads=workers,
                                       exact_budget=budget))

    def _require_program(self):
        if self._program is None:
            raise PlanError(
                f"plan {self.name!r} has fitted transforms ({', '.join(sorted(set(self._unfitted)))}) that have "
                "not been fitted: call plan.fit(training_data) and use the FittedPlan it returns")
        return self._program

    # ---- execution --------------------------------------------------------------------
    def transform(self, data: Any, *, threads: int = 1, to: str = "arrow"):
        """Compute every feature for every row of ``data``.

        ``data``: pyarrow Table/RecordBatch, an Arrow C stream/array exporter, a pandas
        DataFrame or a dict of arrays. Returns a pyarrow Table, or with ``to="numpy"`` a
        float64 matrix (rows x features, null -> NaN). ``threads`` > 1 splits rows across
        threads; 0 uses every core. Results never depend on ``threads``.
        """
        if to not in ("arrow", "numpy"):
            raise InputError(f"to must be 'arrow' or 'numpy', got {to!r}")
        threads = thread_count(threads)
        self._require_program()
        batches = to_batches(data, self._inputs)
        payload = _payload(batches)
        if _force_row():
            self._program.check_batches(payload)  # the same schema check as the batch path
            return self._transform_rows(batches, to)
        if to == "numpy":
            return self._program.transform_matrix(payload, threads)
        cols = self._program.transform(payload, threads)
        return pa.Table.from_arrays([_column(c) for c in cols], names=self._features)

    def check_inputs(self, data: Any) -> None:
        """Raise InputError when ``data`` cannot be given for the plan's inputs (a missing
        column, values of a kind an input's declared type refuses, timestamps without a
        time zone): the check :meth:`transform` makes before it reads a value, without
        running the plan. Single values that do not fit (e.g. 1400.5 for an int64 input)
        are found when the plan runs."""
        program = self._require_program()
        program.check_batches(_payload(to_batches(data, self._inputs)))

    def transform_row(self, row: Mapping[str, Any], *, to: str = "dict"):
        """Compute the features of one request with the same kernels as :meth:`transform`.

        ``row`` maps each input name to a Python value (None for null). Returns a dict, or
        with ``to="numpy"`` a float64 vector in feature order (null -> NaN).
        """
        program = self._program or self._require_program()
        if not isinstance(row, dict):
            if not isinstance(row, Mapping):
                raise InputError(f"a row must be a dict of input name -> value, got {type(row).__name__}")
            row = dict(row)
        if to == "numpy":
            return program.row_vector(row)
        if to == "dict":
            return program.row_dict(row)
        raise InputError(f"to must be 'dict' or 'numpy', got {to!r}")

    def _transform_rows(self, batches: list[pa.RecordBatch], to: str):
        """FEATUREPLAT_FORCE_ROW=1: every batch row goes through the row path."""
        if to == "numpy":
            # index: the batch row, so conversion errors read as the batch path's.
            rows = [self._program.row_vector(r, i) for i, r in enumerate(_iter_rows(batches, self._inputs))]
            return np.array(rows, dtype=np.float64).reshape(len(rows), len(self._features))
        values: list[list] = [[] for _ in self._features]
        for i, r in enumerate(_iter_rows(batches, self._inputs)):
            out = self._program.row_dict(r, True, i)
            for j, f in enumerate(self._features):
                values[j].append(out[f])
        arrays = []
        for vals, t in zip(values, self._types):
            if t == "timestamp":
                arrays.append(pa.array(vals, pa.int64()).cast(DTYPES[t].arrow))
            else:
                arrays.append(pa.array(vals, DTYPES[t].arrow))
        return pa.Table.from_arrays(arrays, names=self._features)


class FittedPlan(Plan):
    """A plan whose fitted transforms carry statistics from training data. It is an
    ordinary plan (the statistics are constants in its steps, covered by ``plan_hash``),
    so serving it never runs an analyzer.
    """

    def statistics(self) -> dict[str, list[dict]]:
        """Per feature, the fitted transforms it uses with their frozen statistics."""
        out: dict[str, list[dict]] = {}
        for rec in _decode(json.loads(canonical_json(self._doc["fitted"]))):
            stats = {k: ([x["value"] for x in v] if isinstance(v, list) else v["value"])
                     for k, v in rec["statistics"].items()}
            entry = {"transform": rec["transform"], "expression": rec["expression"], "rows": rec["rows"]["value"],
                     **stats}
            for f in rec["features"]:
                out.setdefault(f, []).append(entry)
        return out


def _payload(batches: list[pa.RecordBatch]) -> list:
    """What the core reads: (rows, [(schema capsule, array capsule) per input]) per batch."""
    return [(b.num_rows, [c.__arrow_c_array__() for c in b.columns]) for b in batches]


def _iter_rows(batches: list[pa.RecordBatch], names: list[str]):
    for b in batches:
        cols = []
        for c in b.columns:
            if pa.types.is_timestamp(c.type):
                # Raw values scaled to microseconds by the core's own function, then
                # handed over as integers (an int for a timestamp input is microseconds).
                unit = c.type.unit
                raw = c.view(pa.int64()).to_pylist()
                cols.append([None if v is None else _core.timestamp_to_micros(v, unit) for v in raw])
            else:
                cols.append(c.to_pylist())
        for i in range(b.num_rows):
            yield {n: col[i] for n, col in zip(names, cols)}


def _column(c) -> pa.Array:
    dtype, n, null_count, validity, data, offsets, chars = c
    vbuf = pa.py_buffer(validity) if validity is not None else None
    if dtype == "string":
        return pa.Array.from_buffers(pa.large_string(), n, [vbuf, pa.py_buffer(offsets), pa.py_buffer(chars)],
                                     null_count)
    return pa.Array.from_buffers(DTYPES[dtype].arrow, n, [vbuf, pa.py_buffer(data)], null_count)


def plan_from_bytes(blob: bytes, source: str = "<bytes>") -> Plan:
    """Parse plan file contents; raises PlanError naming ``source`` on any defect."""
    if len(blob) < _HEADER.size:
        raise PlanError(f"{source}: truncated plan file ({len(blob)} bytes, header needs {_HEADER.size})")
    magic, version, length, checksum = _HEADER.unpack_from(blob)
    if magic != MAGIC:
        raise PlanError(f"{source}: not a featureplat plan file (bad magic {magic!r})")
    if version != FORMAT_VERSION:
        raise PlanError(f"{source}: plan format version {version} is not supported "
                        f"(this featureplat reads version {FORMAT_VERSION})")
    actual = len(blob) - _HEADER.size
    if length > MAX_PLAN_BYTES:
        raise PlanError(f"{source}: declared body length {length} exceeds the {MAX_PLAN_BYTES}-byte limit")
    if length != actual:
        what = "truncated" if length > actual else "has trailing bytes"
        raise PlanError(f"{source}: plan file {what}: header declares {length} body bytes, file has {actual}")
    body = blob[_HEADER.size:]
    if hashlib.sha256(body).digest() != checksum:
        raise PlanError(f"{source}: checksum mismatch: the plan file is corrupted")
    try:
        text = body.decode("utf-8")
        outer = json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise PlanError(f"{source}: plan body is not valid JSON: {err}") from None
    if not isinstance(outer, dict) or set(outer) != {"meta", "plan"}:
        raise PlanError(f"{source}: plan body must be an object with 'meta' and 'plan'")
    try:
        doc = _decode(outer["plan"])
        plan = FittedPlan(doc) if isinstance(doc, dict) and doc.get("fitted") else Plan(doc)
    except RecursionError:
        raise PlanError(f"{source}: plan is nested too deeply") from None
    except FeatureplatError as err:
        raise PlanError(f"{source}: {err}") from None
    try:
        canonical = canonical_json({"meta": outer["meta"], "plan": doc})
    except (TypeError, ValueError) as err:
        raise PlanError(f"{source}: plan metadata is malformed: {err}") from None
    if canonical != body:
        raise PlanError(f"{source}: plan body is not in canonical form")
    return plan


def load_plan(path: str | os.PathLike) -> Plan:
    """Load a plan file written by :meth:`Plan.save`. Never executes code."""
    if not isinstance(path, (str, os.PathLike)):
        raise PlanError(f"load_plan expects a path, got {type(path).__name__}")
    p = Path(path)
    limit = MAX_PLAN_BYTES + _HEADER.size
    try:
        if not p.exists():
            raise PlanError(f"{p}: cannot read plan file: no such file")
        if not p.is_file():
            raise PlanError(f"{p}: cannot read plan file: not a regular file")
        with open(p, "rb") as f:
            blob = f.read(limit + 1)  # never more than the limit, whatever stat() says
    except OSError as err:
        raise PlanError(f"{p}: cannot read plan file: {err.strerror}") from None
    if len(blob) > limit:
        raise PlanError(f"{p}: plan file is over the {MAX_PLAN_BYTES}-byte limit")
    return plan_from_bytes(blob, str(p))


def ops() -> list[dict]:
    """Every registered op with its documented semantics (null, NaN, overflow, division
    by zero), in registry order.

    >>> any(o["name"] == "log1p" for o in ops())
    True
    """
    return _core.ops()
