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
import pyarrow.compute as pc

from featureplat import _core
from featureplat.errors import FeatureplatError, InputError, PlanError
from featureplat.plan.dtypes import DTYPES
from featureplat.plan.files import atomic_write_bytes
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


def canonical_json(obj: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8, floats as exact text."""
    return json.dumps(_encode(obj), sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def _dumps(obj: Any) -> bytes:
    """The canonical text of a JSON document whose floats are already text."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


# ---- reading a plan document ---------------------------------------------------------
# One schema walk, shared by the loader and Plan(): it checks the type of every field a
# reader (Python or the core) relies on, applies the structural limits before it looks
# inside a step, and turns the float text of scalars into floats in place. The document
# it is given is a fresh json.loads result (floats still text), never a caller's object.

_DTYPES = frozenset(("null", "bool", "int64", "float64", "float32", "string", "timestamp"))
_PLAN_KEYS = frozenset(("format_version", "name", "inputs", "steps", "outputs", "fitted"))
_INPUT_KEYS = frozenset(("name", "dtype", "source"))
_STEP_KEYS = frozenset(("op", "args", "params", "dtype"))
_OUTPUT_KEYS = frozenset(("name", "step"))
_FITTED_KEYS = frozenset(("features", "transform", "expression", "rows", "statistics"))
_SCALAR_KEYS = frozenset(("dtype", "value"))
#: The structural limits of a plan (README "Limits"); the core defines them.
LIMITS = {
    "steps": _core.MAX_PLAN_STEPS, "inputs": _core.MAX_PLAN_INPUTS, "outputs": _core.MAX_PLAN_OUTPUTS,
    "arguments per step": _core.MAX_STEP_ARGS, "elements per list parameter": _core.MAX_LIST_PARAM,
    "scalars": _core.MAX_PLAN_SCALARS, "fitted records": _core.MAX_PLAN_STEPS,
}


def _is_int(v: Any) -> bool:
    return type(v) is int


def _read_scalar(s: Any, where: Any) -> None:
    """Checks one scalar {"dtype", "value"} and makes float text a float, in place."""
    if type(s) is not dict or s.keys() != _SCALAR_KEYS:
        raise PlanError(f"{where()}: a scalar must be an object with exactly 'dtype' and 'value'")
    dtype, value = s["dtype"], s["value"]
    if type(dtype) is not str or dtype not in _DTYPES:
        raise PlanError(f"{where()}: unknown scalar dtype {dtype!r}")
    if value is None:
        return
    if dtype in ("float64", "float32"):
        if type(value) is not str or not _FLOAT_TEXT.match(value):
            raise PlanError(f"{where()}: float value must be canonical text, got {value!r}")
        f = float(value)
        if repr(f) != value:
            raise PlanError(f"{where()}: float value {value!r} is not in canonical form")
        s["value"] = f
    elif dtype in ("int64", "timestamp"):
        if type(value) is not int or not -2**63 <= value < 2**63:
            raise PlanError(f"{where()}: {dtype} value must be an integer in the int64 range, got {value!r}")
    elif dtype == "bool":
        if type(value) is not bool:
            raise PlanError(f"{where()}: bool value must be true or false, got {value!r}")
    elif dtype == "string":
        if type(value) is not str:
            raise PlanError(f"{where()}: string value must be text, got {value!r}")
    else:
        raise PlanError(f"{where()}: a null-typed scalar must have value null")


def _read_params(params: Any, where: Any) -> int:
    """Checks {name: scalar or [scalar, ...]} (step parameters, fitted statistics); returns
    the number of scalars."""
    if type(params) is not dict:
        raise PlanError(f"{where()} must be an object")
    limit = _core.MAX_LIST_PARAM
    count = 0
    for name, value in params.items():
        if type(value) is not list:
            _read_scalar(value, lambda: f"{where()}.{name}")
            count += 1
            continue
        count += len(value)
        if len(value) > limit:
            raise PlanError(f"{where()}.{name} has {len(value)} elements, over the limit of {limit}")
        for k, scalar in enumerate(value):
            # Fast path for the long lists (map keys and values): int64 and string scalars.
            if type(scalar) is dict and scalar.keys() == _SCALAR_KEYS:
                d, v = scalar["dtype"], scalar["value"]
                if (d == "string" and type(v) is str) or (d == "int64" and type(v) is int and -2**63 <= v < 2**63):
                    continue
            _read_scalar(scalar, lambda: f"{where()}.{name}[{k}]")
    return count


def _read_list(doc: dict, key: str, limit_name: str | None = None) -> list:
    value = doc[key]
    if type(value) is not list:
        raise PlanError(f"plan {key!r} must be a list")
    if limit_name is not None and len(value) > LIMITS[limit_name]:
        raise PlanError(f"plan has {len(value)} {limit_name}, over the limit of {LIMITS[limit_name]}")
    return value


def _read_document(doc: Any) -> dict:
    """Checks a freshly parsed plan document (floats as text) and returns it with floats."""
    if type(doc) is not dict:
        raise PlanError("plan must be a JSON object")
    missing = [k for k in ("format_version", "name", "inputs", "steps", "outputs", "fitted") if k not in doc]
    if missing:
        raise PlanError(f"plan is missing {missing[0]!r}")
    extra = doc.keys() - _PLAN_KEYS
    if extra:
        raise PlanError(f"plan has unknown fields {sorted(extra)}")
    if not _is_int(doc["format_version"]):
        raise PlanError("plan 'format_version' must be an int")
    if doc["format_version"] != FORMAT_VERSION:
        raise PlanError(f"plan format version {doc['format_version']} is not supported "
                        f"(this featureplat reads version {FORMAT_VERSION})")
    if type(doc["name"]) is not str:
        raise PlanError("plan 'name' must be a str")
    check_name(doc["name"], "plan name")
    # Every list's length is checked before any of its elements is looked at.
    inputs = _read_list(doc, "inputs", "inputs")
    steps = _read_list(doc, "steps", "steps")
    outputs = _read_list(doc, "outputs", "outputs")
    fitted = _read_list(doc, "fitted", "fitted records")  # one per fitted step at most
    for i, inp in enumerate(inputs):
        if type(inp) is not dict or inp.keys() != _INPUT_KEYS or any(type(v) is not str for v in inp.values()):
            raise PlanError(f"plan inputs[{i}] must have exactly name, dtype and source, all strings")
    max_args = _core.MAX_STEP_ARGS
    scalars = 0
    for i, st in enumerate(steps):
        if type(st) is not dict or st.keys() != _STEP_KEYS:
            raise PlanError(f"plan steps[{i}] must have exactly op, args, params and dtype")
        if type(st["op"]) is not str or type(st["dtype"]) is not str:
            raise PlanError(f"plan steps[{i}]: op and dtype must be strings")
        args = st["args"]
        if type(args) is not list:
            raise PlanError(f"plan steps[{i}].args must be a list")
        if len(args) > max_args:
            raise PlanError(f"plan steps[{i}] has {len(args)} arguments, over the limit of {max_args}")
        if not all(type(a) is int for a in args):
            raise PlanError(f"plan steps[{i}].args must be step ids (integers)")
        scalars += _read_params(st["params"], lambda: f"plan steps[{i}].params")
    for i, out in enumerate(outputs):
        if type(out) is not dict or out.keys() != _OUTPUT_KEYS or type(out["name"]) is not str \
                or not _is_int(out["step"]):
            raise PlanError(f"plan outputs[{i}] must have exactly a name (string) and a step (integer)")
        if not 0 <= out["step"] < len(steps):
            raise PlanError(f"plan outputs[{i}] refers to missing step {out['step']}")
    for i, rec in enumerate(fitted):
        if type(rec) is not dict or rec.keys() != _FITTED_KEYS or type(rec["features"]) is not list \
                or not all(type(f) is str for f in rec["features"]) or type(rec["transform"]) is not str \
                or type(rec["expression"]) is not str:
            raise PlanError(f"plan fitted[{i}] is malformed")
        _read_scalar(rec["rows"], lambda: f"plan fitted[{i}].rows")
        if rec["rows"]["dtype"] != "int64" or rec["rows"]["value"] is None:
            raise PlanError(f"plan fitted[{i}].rows must be an int64 count")
        scalars += 1 + _read_params(rec["statistics"], lambda: f"plan fitted[{i}].statistics")
    if scalars > LIMITS["scalars"]:
        raise PlanError(f"plan has {scalars} scalars, over the limit of {LIMITS['scalars']}")
    return doc


def _parse_document(document: Mapping[str, Any]) -> tuple[dict, bytes]:
    """A private, checked copy of a caller's plan document and its canonical text."""
    try:
        canonical = canonical_json(dict(document))
    except UnicodeEncodeError:
        raise PlanError("plan holds text that is not valid UTF-8 (a lone surrogate such as '\\ud800')") from None
    except RecursionError:
        raise PlanError("plan is nested too deeply") from None
    except (TypeError, ValueError) as err:
        raise PlanError(f"plan document cannot be written as JSON: {err}") from None
    return _read_document(json.loads(canonical)), canonical


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
        doc, canonical = _parse_document(document)
        self._init(doc, canonical)

    def _init(self, doc: dict, canonical: bytes) -> None:
        """Binds a document checked by _read_document whose canonical text is `canonical`."""
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
        self._canonical = canonical
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
        return _read_document(json.loads(self._canonical))

    def __repr__(self) -> str:
        return (f"Plan({self.name!r}, inputs={self._inputs}, features={self._features}, "
                f"steps={len(self._doc['steps'])}, hash={self._hash[:12]})")

    def __eq__(self, other) -> bool:
        return isinstance(other, Plan) and other._canonical == self._canonical

    __hash__ = None  # type: ignore[assignment]

    # ---- persistence ------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        """The plan file contents."""
        # Sorted keys: "meta" before "plan", whose canonical text is already known.
        body = b'{"meta":' + _dumps({"featureplat_version": __version__}) + b',"plan":' + self._canonical + b"}"
        return _HEADER.pack(MAGIC, FORMAT_VERSION, len(body), hashlib.sha256(body).digest()) + body

    def save(self, path: str | os.PathLike) -> Path:
        """Write the plan file atomically (a crash leaves the earlier file or this one,
        never a torn one); returns its path."""
        return atomic_write_bytes(path, self.to_bytes())

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
        string_bytes = 0
        for vals, t in zip(values, self._types):
            if t == "timestamp":
                arrays.append(pa.array(vals, pa.int64()).cast(DTYPES[t].arrow))
            else:
                arrays.append(pa.array(vals, DTYPES[t].arrow))
            if t == "string":
                # The batch path's limit on the string features of one call, its words.
                string_bytes += pc.sum(pc.binary_length(arrays[-1])).as_py() or 0
                self._program.check_string_bytes(string_bytes)
        return pa.Table.from_arrays(arrays, names=self._features)


class FittedPlan(Plan):
    """A plan whose fitted transforms carry statistics from training data. It is an
    ordinary plan (the statistics are constants in its steps, covered by ``plan_hash``),
    so serving it never runs an analyzer.
    """

    def statistics(self) -> dict[str, list[dict]]:
        """Per feature, the fitted transforms it uses with their frozen statistics."""
        out: dict[str, list[dict]] = {}
        for rec in self._doc["fitted"]:  # only read: every entry below is a new object or immutable
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
            elif pa.types.is_string(c.type) or pa.types.is_large_string(c.type):
                cols.append(_strings(c))
            else:
                cols.append(c.to_pylist())
        for i in range(b.num_rows):
            yield {n: col[i] for n, col in zip(names, cols)}


def _strings(c: pa.Array) -> list:
    """An Arrow string column as the row path's values, refused there as on the batch path:
    a value over the limit per value is read from the offsets only (as a core marker of its
    length, never copied), invalid UTF-8 as a str with lone surrogates (surrogateescape)."""
    lengths = pc.binary_length(c)
    if pc.any(pc.greater(lengths, _core.MAX_STRING_BYTES)).as_py():
        raw = c.cast(pa.large_binary())
        return [None if n is None else _core.OversizedString(n) if n > _core.MAX_STRING_BYTES
                else raw[i].as_py().decode("utf-8", "surrogateescape") for i, n in enumerate(lengths.to_pylist())]
    try:
        return c.to_pylist()
    except UnicodeDecodeError:
        return [None if v is None else v.decode("utf-8", "surrogateescape")
                for v in c.cast(pa.large_binary()).to_pylist()]


def _column(c) -> pa.Array:
    dtype, n, null_count, validity, data, offsets, chars = c
    vbuf = pa.py_buffer(validity) if validity is not None else None
    if dtype == "string":
        return pa.Array.from_buffers(pa.large_string(), n, [vbuf, pa.py_buffer(offsets), pa.py_buffer(chars)],
                                     null_count)
    return pa.Array.from_buffers(DTYPES[dtype].arrow, n, [vbuf, pa.py_buffer(data)], null_count)


def plan_from_bytes(blob: bytes, source: str = "<bytes>") -> Plan:
    """Parse plan file contents; raises PlanError naming ``source`` on any defect."""
    try:
        return _plan_from_bytes(blob, source)
    except PlanError:
        raise
    except RecursionError:
        raise PlanError(f"{source}: plan is nested too deeply") from None
    except Exception as err:  # noqa: BLE001 -- the promise: PlanError for every bad file
        # A defect the checks above did not name. Still the file's fault, still a
        # PlanError; marked so that the loader's fuzz target reports it as a gap.
        exc = PlanError(f"{source}: malformed plan file ({type(err).__name__}: {err})")
        exc.unexpected = True
        raise exc from None


def _bare_number(text: str):
    raise PlanError(f"bare JSON number {text}; floats are stored as scalar text")


def _plan_from_bytes(blob: bytes, source: str) -> Plan:
    if not isinstance(blob, (bytes, bytearray, memoryview)):
        raise PlanError(f"{source}: plan file contents must be bytes, got {type(blob).__name__}")
    blob = bytes(blob)
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
    # The size of the document before it is parsed: in canonical text every scalar, and
    # nothing else, carries a "value" key after its "dtype" (a string cannot hold a bare
    # quote). A body that is not canonical is refused below whatever this counts.
    scalars = body.count(b',"value":')
    if scalars > LIMITS["scalars"]:
        raise PlanError(f"{source}: plan has {scalars} scalars, over the limit of {LIMITS['scalars']}")
    # The canonical check, the nesting and the number of values, in one pass of the core
    # over the bytes: nothing is parsed unless the body is canonical and bounded.
    try:
        _core.check_plan_json(body)
    except PlanError as err:
        raise PlanError(f"{source}: {err}") from None
    try:
        outer = json.loads(body.decode("utf-8"), parse_float=_bare_number, parse_constant=_bare_number)
    except PlanError as err:
        raise PlanError(f"{source}: {err}") from None
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise PlanError(f"{source}: plan body is not valid JSON: {err}") from None
    if type(outer) is not dict or outer.keys() != {"meta", "plan"}:
        raise PlanError(f"{source}: plan body must be an object with 'meta' and 'plan'")
    meta = outer["meta"]
    if type(meta) is not dict or not all(type(v) is str for v in meta.values()):
        raise PlanError(f"{source}: plan 'meta' must be an object of strings")
    prefix = b'{"meta":' + _dumps(meta) + b',"plan":'
    if not body.startswith(prefix):  # canonical text always does
        raise PlanError(f"{source}: plan body is not in canonical form")
    try:
        doc = _read_document(outer["plan"])
        cls = FittedPlan if doc["fitted"] else Plan
        plan = cls.__new__(cls)
        # The plan's canonical text is the body's: {"meta":...,"plan":<it>}.
        plan._init(doc, body[len(prefix):-1])
    except FeatureplatError as err:
        raise PlanError(f"{source}: {err}") from None
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
