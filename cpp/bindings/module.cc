// The only file that knows Python: converts plan dicts, Arrow C Data capsules and row
// dicts into core calls, and core Status values into featureplat.errors exceptions.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
// After pybind11, which brings in Python.h.
#include <datetime.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "featureplat/analyzers.h"
#include "featureplat/executor.h"
#include "featureplat/feast_value.h"
#include "featureplat/fit_rewrite.h"
#include "featureplat/pit_join.h"
#include "featureplat/plan.h"
#include "featureplat/plan_json.h"
#include "featureplat/registry.h"
#include "featureplat/scalar_fns.h"

namespace py = pybind11;
using namespace featureplat;

namespace {

py::object errors_module() {
  // Leaked on purpose: a static py::object would be destroyed after the interpreter
  // has finalized, crashing the process at exit.
  static py::object* mod = new py::object(py::module_::import("featureplat.errors"));
  return *mod;
}

[[noreturn]] void raise(const char* type, const std::string& msg, int64_t index = -1) {
  py::object cls = errors_module().attr(type);
  // Messages quote data (a parameter cut at 40 bytes, a byte of a plan file): bytes that
  // are not UTF-8 become U+FFFD rather than a UnicodeDecodeError in place of the error.
  py::object text = py::reinterpret_steal<py::object>(
      PyUnicode_DecodeUTF8(msg.data(), static_cast<Py_ssize_t>(msg.size()), "replace"));
  if (!text) throw py::error_already_set();
  py::object exc = cls(text);
  exc.attr("index") = index < 0 ? py::object(py::none()) : py::object(py::int_(index));
  PyErr_SetObject(cls.ptr(), exc.ptr());
  throw py::error_already_set();
}

[[noreturn]] void raise_status(const Status& st) {
  switch (st.code()) {
    case ErrorCode::kPlanError: raise("PlanError", st.message(), st.index());
    case ErrorCode::kTypeError: raise("FeatureTypeError", st.message(), st.index());
    default: raise("InputError", st.message(), st.index());
  }
}

void check(const Status& st) {
  if (!st.ok()) raise_status(st);
}

// ---- plan dict <-> PlanSpec --------------------------------------------------------

py::dict as_dict(py::handle h, const std::string& where) {
  if (!py::isinstance<py::dict>(h)) raise("PlanError", where + " must be an object");
  return py::reinterpret_borrow<py::dict>(h);
}

py::handle get(const py::dict& d, const char* key, const std::string& where) {
  PyObject* v = PyDict_GetItemString(d.ptr(), key);
  if (!v) raise("PlanError", where + " is missing '" + key + "'");
  return v;
}

// The UTF-8 bytes of a str; a str with no UTF-8 form (a lone surrogate) is a PlanError.
std::string utf8_of(PyObject* v, const std::string& where) {
  Py_ssize_t len = 0;
  const char* p = PyUnicode_AsUTF8AndSize(v, &len);
  if (!p) {
    PyErr_Clear();
    raise("PlanError", where + " is not valid UTF-8 text (a lone surrogate?)");
  }
  return std::string(p, static_cast<size_t>(len));
}

std::string get_str(const py::dict& d, const char* key, const std::string& where) {
  py::handle v = get(d, key, where);
  if (!PyUnicode_Check(v.ptr())) raise("PlanError", where + "." + key + " must be a string");
  return utf8_of(v.ptr(), where + "." + key);
}

int64_t as_int64(py::handle v, const std::string& where) {
  if (!PyLong_Check(v.ptr()) || PyBool_Check(v.ptr())) raise("PlanError", where + " must be an integer");
  int overflow = 0;
  long long x = PyLong_AsLongLongAndOverflow(v.ptr(), &overflow);
  if (overflow) raise("PlanError", where + " does not fit int64");
  return x;
}

DType as_dtype(const std::string& name, const std::string& where) {
  DType t;
  if (!dtype_from_name(name, &t)) raise("PlanError", where + ": unknown dtype '" + name + "'");
  return t;
}

// One scalar {"dtype", "value"}. `where()` names it and is only called for an error: a
// plan holds up to a million scalars, and most are read in long lists.
template <typename Where>
Scalar to_scalar_at(py::handle h, const Where& where) {
  static PyObject* const kDtypeKey = PyUnicode_InternFromString("dtype");
  static PyObject* const kValueKey = PyUnicode_InternFromString("value");
  if (!PyDict_Check(h.ptr())) raise("PlanError", where() + " must be an object");
  PyObject* dt = PyDict_GetItemWithError(h.ptr(), kDtypeKey);
  PyObject* v = dt ? PyDict_GetItemWithError(h.ptr(), kValueKey) : nullptr;
  if (!dt || !v) {
    if (PyErr_Occurred()) throw py::error_already_set();
    raise("PlanError", where() + " is missing '" + (dt ? "value" : "dtype") + "'");
  }
  if (!PyUnicode_Check(dt)) raise("PlanError", where() + ".dtype must be a string");
  Py_ssize_t len = 0;
  const char* name = PyUnicode_AsUTF8AndSize(dt, &len);
  if (!name) {
    PyErr_Clear();
    raise("PlanError", where() + ".dtype is not valid UTF-8 text");
  }
  Scalar s;
  if (!dtype_from_name(std::string(name, static_cast<size_t>(len)), &s.type)) {
    raise("PlanError", where() + ": unknown dtype '" + std::string(name, static_cast<size_t>(len)) + "'");
  }
  if (v == Py_None) {
    s.is_null = true;
    return s;
  }
  s.is_null = false;
  switch (s.type) {
    case DType::kBool:
      if (!PyBool_Check(v)) raise("PlanError", where() + ": bool value expected");
      s.b = v == Py_True;
      break;
    case DType::kInt64:
    case DType::kTimestamp: {
      int overflow = 0;
      const long long x = PyLong_Check(v) && !PyBool_Check(v) ? PyLong_AsLongLongAndOverflow(v, &overflow) : 0;
      if (!PyLong_Check(v) || PyBool_Check(v)) raise("PlanError", where() + ".value must be an integer");
      if (overflow) raise("PlanError", where() + ".value does not fit int64");
      s.i = x;
      break;
    }
    case DType::kFloat64:
    case DType::kFloat32:
      if (!PyFloat_Check(v)) raise("PlanError", where() + ": float value expected");
      s.f = PyFloat_AS_DOUBLE(v);
      break;
    case DType::kString: {
      if (!PyUnicode_Check(v)) raise("PlanError", where() + ": string value expected");
      Py_ssize_t n = 0;
      const char* p = PyUnicode_AsUTF8AndSize(v, &n);
      if (!p) {
        PyErr_Clear();
        raise("PlanError", where() + " is not valid UTF-8 text (a lone surrogate?)");
      }
      s.s.assign(p, static_cast<size_t>(n));
      break;
    }
    case DType::kNull: raise("PlanError", where() + ": a null-typed constant must have value null");
  }
  return s;
}

Scalar to_scalar(py::handle h, const std::string& where) {
  return to_scalar_at(h, [&] { return where; });
}

// The scalars of a list parameter (a tuple copy of it), `where[k]` in errors.
std::vector<Scalar> to_scalars(const py::tuple& items, const std::string& where) {
  std::vector<Scalar> out;
  const Py_ssize_t n = PyTuple_GET_SIZE(items.ptr());
  out.reserve(static_cast<size_t>(n));
  for (Py_ssize_t k = 0; k < n; ++k) {
    out.push_back(to_scalar_at(PyTuple_GET_ITEM(items.ptr(), k), [&] { return where + "[" + std::to_string(k) + "]"; }));
  }
  return out;
}

py::dict from_scalar(const Scalar& s) {
  py::dict d;
  d["dtype"] = dtype_name(s.type);
  if (s.is_null) {
    d["value"] = py::none();
    return d;
  }
  switch (s.type) {
    case DType::kBool: d["value"] = py::bool_(s.b); break;
    case DType::kFloat64:
    case DType::kFloat32: d["value"] = py::float_(s.f); break;
    case DType::kString: d["value"] = py::str(s.s); break;
    default: d["value"] = py::int_(s.i); break;
  }
  return d;
}

PlanSpec to_spec(py::handle h) {
  py::dict d = as_dict(h, "plan");
  PlanSpec spec;
  py::handle inputs = get(d, "inputs", "plan");
  py::handle steps = get(d, "steps", "plan");
  py::handle outputs = get(d, "outputs", "plan");
  if (!py::isinstance<py::list>(inputs) || !py::isinstance<py::list>(steps) || !py::isinstance<py::list>(outputs)) {
    raise("PlanError", "plan inputs, steps and outputs must be lists");
  }
  // Tuple copies hold the elements: a dict lookup may run a key's __eq__, which could
  // change a list while it is iterated (the loader's documents are plain, a caller's
  // need not be).
  auto pinned = [](py::handle list) {
    py::tuple t = py::reinterpret_steal<py::tuple>(PySequence_Tuple(list.ptr()));
    if (!t) throw py::error_already_set();
    return t;
  };
  const py::tuple input_items = pinned(inputs), step_items = pinned(steps), output_items = pinned(outputs);
  int i = 0;
  for (py::handle in : input_items) {
    std::string w = "inputs[" + std::to_string(i++) + "]";
    py::dict di = as_dict(in, w);
    spec.inputs.push_back({get_str(di, "name", w), as_dtype(get_str(di, "dtype", w), w)});
  }
  i = 0;
  for (py::handle st : step_items) {
    std::string w = "steps[" + std::to_string(i++) + "]";
    py::dict ds = as_dict(st, w);
    PlanStep ps;
    ps.op = get_str(ds, "op", w);
    py::handle args = get(ds, "args", w);
    if (!py::isinstance<py::list>(args)) raise("PlanError", w + ".args must be a list");
    for (py::handle a : pinned(args)) {
      int64_t v = as_int64(a, w + ".args");
      if (v < 0 || v > std::numeric_limits<int32_t>::max()) raise("PlanError", w + ": argument id out of range", i - 1);
      ps.args.push_back(static_cast<int32_t>(v));
    }
    py::dict params = as_dict(get(ds, "params", w), w + ".params");
    py::list items = py::reinterpret_steal<py::list>(PyDict_Items(params.ptr()));  // held, as above
    if (!items) throw py::error_already_set();
    for (py::handle item : items) {
      py::handle key = PyTuple_GET_ITEM(item.ptr(), 0), value = PyTuple_GET_ITEM(item.ptr(), 1);
      if (!PyUnicode_Check(key.ptr())) raise("PlanError", w + ": parameter names must be strings");
      std::string name = utf8_of(key.ptr(), w + ": a parameter name");
      std::string pw = w + ".params." + name;
      Param p;
      if (PyList_Check(value.ptr())) {
        p.is_list = true;
        p.values = to_scalars(pinned(value), pw);
      } else {
        p.values.push_back(to_scalar(value, pw));
      }
      ps.params.emplace(std::move(name), std::move(p));
    }
    PyObject* dt = PyDict_GetItemString(ds.ptr(), "dtype");
    if (dt && dt != Py_None) {
      if (!PyUnicode_Check(dt)) raise("PlanError", w + ".dtype must be a string");
      ps.dtype = as_dtype(utf8_of(dt, w + ".dtype"), w);
    }
    spec.steps.push_back(std::move(ps));
  }
  i = 0;
  for (py::handle o : output_items) {
    std::string w = "outputs[" + std::to_string(i++) + "]";
    py::dict dout = as_dict(o, w);
    int64_t step = as_int64(get(dout, "step", w), w + ".step");
    if (step < 0 || step > std::numeric_limits<int32_t>::max()) raise("PlanError", w + ": step out of range");
    spec.outputs.push_back({get_str(dout, "name", w), static_cast<int32_t>(step)});
  }
  return spec;
}

py::dict from_params(const Params& params) {
  py::dict out;
  for (const auto& kv : params) {
    if (kv.second.is_list) {
      py::list l;
      for (const Scalar& s : kv.second.values) l.append(from_scalar(s));
      out[py::str(kv.first)] = l;
    } else {
      out[py::str(kv.first)] = from_scalar(kv.second.values[0]);
    }
  }
  return out;
}

py::dict from_spec(const PlanSpec& spec) {
  py::list inputs, steps, outputs;
  for (const PlanInput& in : spec.inputs) {
    py::dict d;
    d["name"] = in.name;
    d["dtype"] = dtype_name(in.declared);
    inputs.append(d);
  }
  for (const PlanStep& st : spec.steps) {
    py::dict d;
    d["op"] = st.op;
    py::list args;
    for (int32_t a : st.args) args.append(a);
    d["args"] = args;
    d["params"] = from_params(st.params);
    d["dtype"] = dtype_name(st.dtype);
    steps.append(d);
  }
  for (const PlanOutput& o : spec.outputs) {
    py::dict d;
    d["name"] = o.name;
    d["step"] = o.step;
    outputs.append(d);
  }
  py::dict out;
  out["inputs"] = inputs;
  out["steps"] = steps;
  out["outputs"] = outputs;
  return out;
}

// ---- numpy views of vectors the core produced --------------------------------------


py::array take(const Buffer& b) {
  auto* holder = new std::shared_ptr<uint8_t>(b.share());
  py::capsule owner(holder, [](void* p) { delete static_cast<std::shared_ptr<uint8_t>*>(p); });
  static uint8_t empty = 0;
  uint8_t* ptr = b.size() ? b.share().get() : &empty;
  return py::array_t<uint8_t>({static_cast<py::ssize_t>(b.size())}, {1}, ptr, owner);
}

// ---- batches -------------------------------------------------------------------------

// Batches as the core reads them, with the Python objects that own their memory pinned:
// the core reads the capsules' buffers with the GIL released, so a caller's thread that
// empties the list meanwhile must not free them.
struct Batches {
  std::vector<BatchInput> inputs;
  std::vector<py::object> pinned;  // tuple copies of the lists given (their items are the owners)
};

Batches to_batches(const py::handle& batches, size_t ninputs) {
  Batches out;
  auto pin = [&](py::handle list, const char* what) -> py::tuple {
    if (!PyList_Check(list.ptr()) && !PyTuple_Check(list.ptr())) raise("InputError", std::string("internal: ") + what + " must be a list");
    py::tuple t = py::reinterpret_steal<py::tuple>(PySequence_Tuple(list.ptr()));
    if (!t) throw py::error_already_set();
    out.pinned.push_back(t);
    return t;
  };
  for (py::handle b : pin(batches, "batches")) {
    // (length, [(schema_capsule, array_capsule)...])
    if (!PyTuple_Check(b.ptr()) || PyTuple_GET_SIZE(b.ptr()) != 2) raise("InputError", "internal: a batch must be a pair");
    py::tuple t = py::reinterpret_borrow<py::tuple>(b);
    BatchInput bi;
    bi.length = t[0].cast<int64_t>();
    py::tuple cols = pin(t[1], "batch columns");
    if (cols.size() != ninputs) raise("InputError", "internal: batch column count mismatch");
    for (py::handle c : cols) {
      if (!PyTuple_Check(c.ptr()) || PyTuple_GET_SIZE(c.ptr()) != 2) raise("InputError", "internal: a column must be a capsule pair");
      py::tuple pair = py::reinterpret_borrow<py::tuple>(c);
      auto* schema = static_cast<const ArrowSchema*>(PyCapsule_GetPointer(pair[0].ptr(), "arrow_schema"));
      if (!schema) throw py::error_already_set();
      auto* array = static_cast<const ArrowArray*>(PyCapsule_GetPointer(pair[1].ptr(), "arrow_array"));
      if (!array) throw py::error_already_set();
      bi.schemas.push_back(schema);
      bi.arrays.push_back(array);
    }
    out.inputs.push_back(std::move(bi));
  }
  return out;
}

// ---- rows ----------------------------------------------------------------------------

// A datetime's fields and UTC offset, for the core's conversion (civil_to_micros). A
// datetime whose utcoffset() is None is naive, as Python defines it; UTC needs no call
// (utcoffset may run Python code). `what` names the value in errors ("input 'x' row 3").
// The caller holds a reference to `v`: utcoffset may drop every other one.
CivilTime civil_of(PyObject* v, const std::string& what) {
  CivilTime t;
  t.year = PyDateTime_GET_YEAR(v);
  t.month = PyDateTime_GET_MONTH(v);
  t.day = PyDateTime_GET_DAY(v);
  t.hour = PyDateTime_DATE_GET_HOUR(v);
  t.minute = PyDateTime_DATE_GET_MINUTE(v);
  t.second = PyDateTime_DATE_GET_SECOND(v);
  t.microsecond = PyDateTime_DATE_GET_MICROSECOND(v);
  PyObject* tz = PyDateTime_DATE_GET_TZINFO(v);
  if (tz == Py_None) return t;
  t.has_offset = true;
  if (tz == PyDateTime_TimeZone_UTC) return t;
  py::object off = py::reinterpret_borrow<py::object>(v).attr("utcoffset")();
  if (off.is_none()) {
    t.has_offset = false;
    return t;
  }
  if (!PyDelta_Check(off.ptr())) {  // a datetime subclass (pandas' NaT) may answer anything
    auto name_of = [](PyObject* o) { return py::str(py::type::handle_of(py::handle(o)).attr("__name__")).cast<std::string>(); };
    raise("InputError", what + ": a " + name_of(v) + " whose utcoffset() returned " + name_of(off.ptr()) +
                            ", not a timedelta");
  }
  t.offset_us = (int64_t{PyDateTime_DELTA_GET_DAYS(off.ptr())} * 86400 + PyDateTime_DELTA_GET_SECONDS(off.ptr())) *
                    1000000 +
                PyDateTime_DELTA_GET_MICROSECONDS(off.ptr());
  return t;
}

// Microseconds of an aware datetime; `what` names it in errors ("input 'x'", "'at'").
int64_t datetime_micros(PyObject* v, const std::string& what) {
  if (!PyDateTime_Check(v)) {
    raise("InputError", what + ": expected a datetime, got " + std::string(Py_TYPE(v)->tp_name));
  }
  int64_t us = 0;
  Status st = civil_to_micros(civil_of(v, what), &us);
  if (!st.ok()) raise_status(Status(st.code(), what + ": " + st.message()));
  return us;
}

// pandas' NaT: a datetime without a zone that is not equal to itself.
// (PyObject_RichCompareBool would short-cut on identity.)
bool is_nat(PyObject* v) {
  py::object ne = py::reinterpret_steal<py::object>(PyObject_RichCompare(v, v, Py_NE));
  if (!ne) throw py::error_already_set();
  const int r = PyObject_IsTrue(ne.ptr());
  if (r < 0) throw py::error_already_set();
  return r != 0;
}

// "input 'x' row 3", the prefix of value errors on every path.
std::string input_row(const std::string& name, int64_t row) {
  return "input '" + name + "' row " + std::to_string(row);
}

// A string value of `nbytes` bytes that does not exist: what the row path's batch
// emulation (FEATUREPLAT_FORCE_ROW) hands over for an Arrow string over the limit, so
// that the row path refuses it with its own words without the bytes being copied.
struct OversizedString {
  uint64_t nbytes = 0;
};

// One Python value of input `name` at the caller's row `row`, as the core reads it. The
// caller holds a reference to `v` (conversion may run Python code: utcoffset, __ne__).
SourceValue to_source(PyObject* v, const std::string& name, int64_t row) {
  SourceValue s;
  if (v == Py_None) return s;
  if (PyBool_Check(v)) {
    s.kind = SourceKind::kBool;
    s.b = v == Py_True;
    return s;
  }
  if (PyFloat_Check(v)) {
    s.kind = SourceKind::kFloat64;
    s.f = PyFloat_AS_DOUBLE(v);
    return s;
  }
  if (PyLong_Check(v)) {
    int overflow = 0;
    long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
    if (!overflow) {
      s.kind = SourceKind::kInt64;
      s.i = x;
      return s;
    }
    unsigned long long u = PyLong_AsUnsignedLongLong(v);
    if (PyErr_Occurred()) {
      PyErr_Clear();
      raise("InputError", input_row(name, row) + ": integer " + py::str(v).cast<std::string>() + " does not fit 64 bits");
    }
    s.kind = SourceKind::kUInt64;
    s.u = u;
    return s;
  }
  if (PyUnicode_Check(v)) {
    s.kind = SourceKind::kString;
    Py_ssize_t len = 0;
    const char* p = PyUnicode_AsUTF8AndSize(v, &len);
    if (!p) {
      // A str holding a lone surrogate has no UTF-8 form: the core refuses it (with the
      // batch path's words for invalid UTF-8) naming the input and the row.
      if (!PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) throw py::error_already_set();
      PyErr_Clear();
      s.bad_utf8 = true;
      return s;
    }
    // The core checks the length against the limit before it reads a byte.
    s.bytes = static_cast<uint64_t>(len);
    s.s = StrView{p, static_cast<uint32_t>(std::min<uint64_t>(s.bytes, kMaxStringBytes))};
    return s;
  }
  if (PyDateTime_Check(v)) {
    // A naive one is refused by the core's check_source, with the batch path's words.
    CivilTime t = civil_of(v, input_row(name, row));
    if (!t.has_offset && is_nat(v)) return s;  // pandas' NaT: a null
    s.kind = SourceKind::kTimestamp;
    s.naive = !t.has_offset;
    if (!s.naive) {
      Status st = civil_to_micros(t, &s.i);
      if (!st.ok()) raise_status(Status(st.code(), input_row(name, row) + ": " + st.message(), row));
    }
    return s;
  }
  py::handle h(v);
  if (py::isinstance<OversizedString>(h)) {
    s.kind = SourceKind::kString;
    s.bytes = h.cast<const OversizedString&>().nbytes;
    return s;
  }
  // numpy scalars and other number-likes.
  py::object np = py::module_::import("numpy");
  if (py::isinstance(h, np.attr("bool_"))) {
    s.kind = SourceKind::kBool;
    s.b = py::bool_(h.attr("item")()).cast<bool>();
    return s;
  }
  if (py::isinstance(h, np.attr("datetime64"))) {
    // numpy datetimes have no time zone: naive, refused by check_source (NaT is null).
    if (np.attr("isnat")(h).cast<bool>()) return s;
    s.kind = SourceKind::kTimestamp;
    s.naive = true;
    return s;
  }
  if (py::isinstance(h, np.attr("integer"))) {
    py::object item = h.attr("item")();
    return to_source(item.ptr(), name, row);
  }
  if (py::isinstance(h, np.attr("floating"))) {
    s.kind = py::isinstance(h, np.attr("float32")) ? SourceKind::kFloat32 : SourceKind::kFloat64;
    s.f = h.attr("item")().cast<double>();
    return s;
  }
  raise("InputError", "input '" + name + "': unsupported value of type " +
                          py::str(py::type::handle_of(h).attr("__name__")).cast<std::string>());
}

Params to_params(const py::dict& params, const std::string& where) {
  Params out;
  for (auto kv : params) {
    std::string name = kv.first.cast<std::string>();
    Param p;
    if (py::isinstance<py::list>(kv.second)) {
      p.is_list = true;
      int k = 0;
      for (py::handle e : kv.second) p.values.push_back(to_scalar(e, where + "." + name + "[" + std::to_string(k++) + "]"));
    } else {
      p.values.push_back(to_scalar(kv.second, where + "." + name));
    }
    out.emplace(name, std::move(p));
  }
  return out;
}

py::object scalar_value(const Scalar& s) {
  if (s.is_null) return py::none();
  switch (s.type) {
    case DType::kBool: return py::bool_(s.b);
    case DType::kFloat64:
    case DType::kFloat32: return py::float_(s.f);
    case DType::kString: return py::str(s.s);
    default: return py::int_(s.i);
  }
}

// ---- fit: plan documents and values between the driver and the rewrite ----------------

// A Python value as an analyzer statistic (what PyAnalyzer::result() gave out).
Scalar value_scalar(py::handle v, const std::string& where) {
  if (v.is_none()) return Scalar::Null();
  if (PyBool_Check(v.ptr())) return Scalar::Bool(v.ptr() == Py_True);
  if (PyLong_Check(v.ptr())) return Scalar::Int(as_int64(v, where));
  if (PyFloat_Check(v.ptr())) return Scalar::Float(PyFloat_AS_DOUBLE(v.ptr()));
  if (PyUnicode_Check(v.ptr())) return Scalar::Str(v.cast<std::string>());
  raise("PlanError", where + ": expected None, a bool, an int, a float or a str");
}

AnalyzerResult to_analyzer_result(py::handle h, const std::string& where) {
  AnalyzerResult r;
  for (auto kv : as_dict(h, where)) {
    if (!PyUnicode_Check(kv.first.ptr())) raise("PlanError", where + ": statistic names must be strings");
    std::string name = kv.first.cast<std::string>();
    if (py::isinstance<py::list>(kv.second)) {
      std::vector<Scalar>& l = r.lists[name];
      for (py::handle e : kv.second) l.push_back(value_scalar(e, where + "." + name));
    } else {
      r.scalars[name] = value_scalar(kv.second, where + "." + name);
    }
  }
  return r;
}

// The rewrite names steps through the driver's renderer (display text lives in Python).
StepDescriber describer(const py::object& describe) {
  if (describe.is_none()) return [](int32_t step) { return "step " + std::to_string(step); };
  return [describe](int32_t step) { return py::str(describe(step)).cast<std::string>(); };
}

// `doc` with the steps and outputs of `spec` (name, inputs, format version kept).
py::dict document_like(py::handle doc, const PlanSpec& spec) {
  py::dict out;
  for (auto kv : as_dict(doc, "plan")) out[kv.first] = kv.second;
  py::dict body = from_spec(spec);
  out["steps"] = body["steps"];
  out["outputs"] = body["outputs"];
  return out;
}

// The next level's document. A step carried over from `doc` lists its parameters in the
// order `doc` has them, a step a rewrite created in its op's declared order (the order the
// DSL writes them in): the order shows in display text, which the fit records.
py::dict applied_document(py::handle doc, const FitApplied& applied) {
  py::dict out = document_like(doc, applied.plan);
  py::handle old_steps = get(as_dict(doc, "plan"), "steps", "plan");
  py::list steps = out["steps"];
  for (size_t k = 0; k < applied.plan.steps.size(); ++k) {
    const PlanStep& st = applied.plan.steps[k];
    std::vector<std::string> order;
    if (applied.origin[k] >= 0) {
      py::dict written = as_dict(as_dict(old_steps[py::int_(applied.origin[k])], "step")["params"], "step params");
      for (auto kv : written) order.push_back(py::str(kv.first).cast<std::string>());
    } else if (const OpDef* def = Registry::Get().find(st.op)) {
      for (const ParamSpec& ps : def->params) order.push_back(ps.name);
    }
    py::dict all = from_params(st.params), params;
    for (const std::string& name : order) {
      if (all.contains(name)) params[py::str(name)] = all[py::str(name)];
    }
    for (auto kv : all) {
      if (!params.contains(kv.first)) params[kv.first] = kv.second;
    }
    as_dict(steps[k], "step")["params"] = params;
  }
  return out;
}

std::string doc_name(py::handle doc) {
  PyObject* v = PyDict_GetItemString(as_dict(doc, "plan").ptr(), "name");
  return v && PyUnicode_Check(v) ? py::str(v).cast<std::string>() : std::string("plan");
}

py::dict from_record(const FitRecord& r) {
  py::dict d;
  d["features"] = py::cast(r.features);
  d["transform"] = r.transform;
  d["expression"] = r.expression;
  d["rows"] = from_scalar(Scalar::Int(r.rows));
  d["statistics"] = from_params(r.statistics);
  return d;
}

FitRecord to_record(py::handle h, const std::string& where) {
  py::dict d = as_dict(h, where);
  FitRecord r;
  py::handle features = get(d, "features", where);
  if (!py::isinstance<py::list>(features)) raise("PlanError", where + ".features must be a list");
  for (py::handle f : features) {
    if (!PyUnicode_Check(f.ptr())) raise("PlanError", where + ".features must hold strings");
    r.features.push_back(f.cast<std::string>());
  }
  r.transform = get_str(d, "transform", where);
  r.statistics = to_params(as_dict(get(d, "statistics", where), where + ".statistics"), where + ".statistics");
  return r;
}

// An analyzer state owned by Python (fit keeps one per fitted transform).
class PyAnalyzer {
 public:
  PyAnalyzer(const std::string& kind, const std::string& dtype, const py::dict& params) {
    DType t = as_dtype(dtype, "analyzer");
    Result<std::unique_ptr<Analyzer>> r = make_analyzer(kind, t, to_params(params, "analyzer params"));
    if (!r.ok()) raise_status(r.status());
    state_ = std::move(r.value());
  }
  explicit PyAnalyzer(std::unique_ptr<Analyzer> s) : state_(std::move(s)) {}
  Analyzer* get() { return state_.get(); }
  /// Claims the state for work done without the GIL (claimed and released under the GIL).
  void claim() {
    if (*busy_) raise("InputError", "this analyzer is in use by another thread (or listed twice)");
    *busy_ = true;
  }
  void release() { *busy_ = false; }
  std::string kind() const { return state_->kind(); }
  void merge(PyAnalyzer& other) {
    if (*busy_ || *other.busy_) raise("InputError", "this analyzer is in use by another thread");
    check(state_->merge(*other.state_));
  }
  PyAnalyzer empty_clone() const { return PyAnalyzer(state_->empty_clone()); }
  py::dict result() {
    Result<AnalyzerResult> r = Status();
    claim();
    {
      py::gil_scoped_release release;  // finalize may select among millions of values
      r = state_->finalize();
    }
    release();
    if (!r.ok()) raise_status(r.status());
    py::dict out;
    for (const auto& kv : r.value().scalars) out[py::str(kv.first)] = scalar_value(kv.second);
    for (const auto& kv : r.value().lists) {
      py::list l;
      for (const Scalar& x : kv.second) l.append(scalar_value(x));
      out[py::str(kv.first)] = l;
    }
    return out;
  }

 private:
  std::shared_ptr<Analyzer> state_;
  std::shared_ptr<bool> busy_ = std::make_shared<bool>(false);
};

class PyProgram {
 public:
  // `limits`: None, or a dict lowering some of value_bytes, row_bytes, batch_bytes (tests).
  explicit PyProgram(py::handle plan, py::handle limits = py::none()) {
    PlanSpec spec = to_spec(plan);
    StringLimits lim;
    if (!limits.is_none()) {
      for (auto kv : as_dict(limits, "limits")) {
        const std::string key = py::str(kv.first).cast<std::string>();
        const uint64_t v = kv.second.cast<uint64_t>();
        if (key == "value_bytes") lim.value_bytes = v;
        else if (key == "row_bytes") lim.row_bytes = v;
        else if (key == "batch_bytes") lim.batch_bytes = v;
        else raise("InputError", "unknown string limit '" + key + "'");
      }
    }
    Result<std::shared_ptr<Program>> r = Program::Make(spec, lim);
    if (!r.ok()) raise_status(r.status());
    program_ = r.value();
    runner_ = std::make_unique<RowRunner>(program_);
    for (const PlanInput& in : program_->plan().inputs) input_keys_.push_back(py::str(in.name));
    for (const PlanOutput& o : program_->plan().outputs) {
      output_keys_.push_back(py::str(o.name));
      DType t = program_->plan().steps[o.step].out;
      output_types_.push_back(t);
      if (t == DType::kString || t == DType::kTimestamp) numeric_ = false;
    }
  }

  py::list transform(const py::list& batches, int threads) {
    Batches pinned = to_batches(batches, program_->plan().inputs.size());
    const std::vector<BatchInput>& bs = pinned.inputs;
    std::vector<OutputColumn> cols;
    Status st;
    {
      py::gil_scoped_release release;
      st = program_->transform(bs, threads, &cols);
    }
    check(st);
    py::list out;
    for (OutputColumn& c : cols) {
      py::object validity = c.null_count ? py::object(take(c.validity)) : py::object(py::none());
      py::object data = py::none(), offsets = py::none(), chars = py::none();
      if (c.type == DType::kString) {
        offsets = take(c.offsets);
        chars = take(c.chars);
      } else {
        data = take(c.data);
      }
      out.append(py::make_tuple(dtype_name(c.type), c.length, c.null_count, validity, data, offsets, chars));
    }
    return out;
  }

  // The analyzers of a call, claimed (one thread at a time uses a state) and released
  // when the call ends, however it ends. `allow_none`: None entries stand for no analyzer.
  class Claimed {
   public:
    Claimed(const py::list& analyzers, bool allow_none) {
      try {
        for (py::handle a : analyzers) {
          if (allow_none && a.is_none()) { states.push_back(nullptr); continue; }
          PyAnalyzer& pa = a.cast<PyAnalyzer&>();
          pa.claim();
          claimed_.push_back(&pa);
          states.push_back(pa.get());
        }
      } catch (...) {
        release();
        throw;
      }
    }
    ~Claimed() { release(); }
    Claimed(const Claimed&) = delete;
    Claimed& operator=(const Claimed&) = delete;
    std::vector<Analyzer*> states;

   private:
    void release() {
      for (PyAnalyzer* c : claimed_) c->release();
      claimed_.clear();
    }
    std::vector<PyAnalyzer*> claimed_;
  };

  void analyze(const py::list& batches, int threads, const py::list& analyzers) {
    Batches pinned = to_batches(batches, program_->plan().inputs.size());
    Claimed claimed(analyzers, false);
    Status st;
    {
      py::gil_scoped_release release;
      st = program_->analyze(pinned.inputs, threads, claimed.states);
    }
    check(st);
  }

  // One pass: outputs [0, flags) as a rows x flags uint8 matrix (null -> 0), and every
  // output with an analyzer (None: none) fed to it.
  py::array_t<uint8_t> validate(const py::list& batches, int threads, const py::list& analyzers, size_t flags) {
    Batches pinned = to_batches(batches, program_->plan().inputs.size());
    int64_t total = 0;
    for (const auto& b : pinned.inputs) total += b.length;
    Claimed claimed(analyzers, true);
    py::array_t<uint8_t> out({static_cast<py::ssize_t>(total), static_cast<py::ssize_t>(flags)});
    uint8_t* ptr = out.mutable_data();
    Status st;
    {
      py::gil_scoped_release release;
      st = program_->validate(pinned.inputs, threads, claimed.states, flags, ptr);
    }
    check(st);
    return out;
  }

  void check_batches(const py::list& batches) {
    check(program_->check_batches(to_batches(batches, program_->plan().inputs.size()).inputs));
  }

  py::array_t<double> transform_matrix(const py::list& batches, int threads) {
    Batches pinned = to_batches(batches, program_->plan().inputs.size());
    const std::vector<BatchInput>& bs = pinned.inputs;
    int64_t total = 0;
    for (const auto& b : bs) total += b.length;
    size_t no = program_->plan().outputs.size();
    py::array_t<double> out({static_cast<py::ssize_t>(total), static_cast<py::ssize_t>(no)});
    double* ptr = out.mutable_data();
    Status st;
    {
      py::gil_scoped_release release;
      st = program_->transform_matrix(bs, threads, ptr);
    }
    check(st);
    return out;
  }

  // The row path in three phases. Phase 1 reads and converts every input and may call
  // Python (tzinfo.utcoffset, numpy scalars), so another thread can run meanwhile; it
  // touches no shared state. Phase 2 runs the plan and copies the outputs out without a
  // single Python call, so no other thread can interleave. Phase 3 builds Python objects.
  // Fixed inline storage for typical rows (no allocation per call), heap beyond it.
  template <typename T, size_t N>
  class SmallBuf {
   public:
    explicit SmallBuf(size_t n) : p_(inline_) {
      if (n > N) {
        heap_.resize(n);
        p_ = heap_.data();
      }
    }
    T& operator[](size_t i) { return p_[i]; }
    const T& operator[](size_t i) const { return p_[i]; }

   private:
    T inline_[N];
    std::vector<T> heap_;
    T* p_;
  };

  struct RowInputs {
    explicit RowInputs(size_t n) : values(n), held(n) {}
    ~RowInputs() {
      for (size_t i = 0; i < nheld; ++i) Py_DECREF(held[i]);
    }
    SmallBuf<SourceValue, 32> values;
    // Owned references to every value of the row, taken before any is converted: a
    // conversion may run Python code (utcoffset, __ne__) that mutates the row, and
    // string values are read in place until the row has run.
    SmallBuf<PyObject*, 32> held;
    size_t nheld = 0;
  };

  // A row is a dict of input name -> value, or a list/tuple of values in input order.
  // `index`: the caller's row number, named in value errors.
  void read_row(const py::handle& row, RowInputs* in, int64_t index) const {
    const bool seq = PyList_Check(row.ptr()) || PyTuple_Check(row.ptr());
    if (!seq && !PyDict_Check(row.ptr())) {
      raise("InputError", std::string("a row must be a dict of input name -> value (or a list of values in "
                                      "input order), got ") + Py_TYPE(row.ptr())->tp_name);
    }
    if (seq && static_cast<size_t>(PySequence_Fast_GET_SIZE(row.ptr())) != input_keys_.size()) {
      raise("InputError", "a row given as a list must hold " + std::to_string(input_keys_.size()) +
                              " values (one per input), got " + std::to_string(PySequence_Fast_GET_SIZE(row.ptr())));
    }
    // First every value is looked up and held (no Python code of the caller runs here)...
    for (size_t i = 0; i < input_keys_.size(); ++i) {
      PyObject* v = seq ? PySequence_Fast_GET_ITEM(row.ptr(), static_cast<Py_ssize_t>(i))
                        : PyDict_GetItemWithError(row.ptr(), input_keys_[i].ptr());
      if (!v) {
        if (PyErr_Occurred()) throw py::error_already_set();
        raise("InputError", "missing input '" + program_->plan().inputs[i].name + "'");
      }
      Py_INCREF(v);
      in->held[in->nheld++] = v;
    }
    // ...then converted, from the held references only.
    for (size_t i = 0; i < input_keys_.size(); ++i) {
      in->values[i] = to_source(in->held[i], program_->plan().inputs[i].name, index);
    }
  }

  // `index`: the caller's row number, named in conversion errors as the batch path names it.
  template <typename CopyOut>
  void run_row(const RowInputs& in, int64_t index, CopyOut copy_out) {
    RowRunner* r = runner_.get();
    std::unique_ptr<RowRunner> own;
    if (busy_) {  // defensive: phase 2 makes no Python calls, so this should not happen
      own = std::make_unique<RowRunner>(program_);
      r = own.get();
    } else {
      busy_ = true;
    }
    Status st;
    for (size_t i = 0; i < input_keys_.size() && st.ok(); ++i) st = r->set_input(static_cast<int>(i), in.values[i], index);
    if (st.ok()) st = r->run(index);
    if (st.ok()) copy_out(*r);
    if (!own) busy_ = false;
    if (!st.ok()) raise_status(st);
  }

  py::array_t<double> row_vector(const py::handle& row, int64_t index) {
    if (!numeric_) raise("InputError", "the plan has string or timestamp features; use to='dict'");
    py::array_t<double> out(static_cast<py::ssize_t>(output_keys_.size()));
    vector_into(row, out.mutable_data(), index);
    return out;
  }

  // Many rows through the row path into one (rows x features) float64 matrix.
  py::array_t<double> rows_matrix(const py::handle& rows) {
    if (!numeric_) raise("InputError", "the plan has string or timestamp features; use to='dict'");
    if (!PyList_Check(rows.ptr())) raise("InputError", "rows must be a list of rows");
    // A copy of the list holds every row: converting a value may run Python code that
    // empties or refills the caller's list.
    py::tuple pinned = py::reinterpret_steal<py::tuple>(PySequence_Tuple(rows.ptr()));
    if (!pinned) throw py::error_already_set();
    const Py_ssize_t n = PyTuple_GET_SIZE(pinned.ptr());
    const size_t no = output_keys_.size();
    py::array_t<double> out({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(no)});
    double* p = out.mutable_data();
    for (Py_ssize_t i = 0; i < n; ++i) vector_into(PyTuple_GET_ITEM(pinned.ptr(), i), p + static_cast<size_t>(i) * no, i);
    return out;
  }

  void vector_into(const py::handle& row, double* p, int64_t index) {
    RowInputs in(input_keys_.size());
    read_row(row, &in, index);
    size_t no = output_keys_.size();
    run_row(in, index, [&](const RowRunner& r) {
      for (size_t j = 0; j < no; ++j) {
        const Slot& s = r.output(static_cast<int>(j));
        if (!s.valid[0]) { p[j] = std::numeric_limits<double>::quiet_NaN(); continue; }
        switch (s.type) {
          case DType::kFloat64: p[j] = s.as<double>()[0]; break;
          case DType::kInt64: p[j] = static_cast<double>(s.as<int64_t>()[0]); break;
          default: p[j] = s.as<uint8_t>()[0] ? 1.0 : 0.0; break;
        }
      }
    });
  }

  struct OutValue {
    bool valid = false;
    DType type = DType::kNull;
    double f = 0.0;
    int64_t i = 0;
    std::string s;
  };

  // raw: timestamps as int microseconds (any int64), else Python datetimes in UTC.
  py::dict row_dict(const py::handle& row, bool raw, int64_t index) {
    RowInputs in(input_keys_.size());
    read_row(row, &in, index);
    const size_t no = output_keys_.size();
    SmallBuf<OutValue, 32> vals(no);
    run_row(in, index, [&](const RowRunner& r) {
      for (size_t j = 0; j < no; ++j) {
        const Slot& s = r.output(static_cast<int>(j));
        OutValue& o = vals[j];
        o.valid = s.valid[0] != 0;
        o.type = s.type;
        switch (s.type) {
          case DType::kFloat64: o.f = s.as<double>()[0]; break;
          case DType::kBool: o.i = s.as<uint8_t>()[0]; break;
          case DType::kString: {
            StrView sv = s.as<StrView>()[0];
            if (o.valid) o.s.assign(sv.ptr, sv.len);
            break;
          }
          default: o.i = s.as<int64_t>()[0]; break;
        }
      }
    });
    py::dict out;
    for (size_t j = 0; j < no; ++j) {
      const OutValue& o = vals[j];
      py::object v;
      if (!o.valid) v = py::none();
      else switch (o.type) {
        case DType::kFloat64: v = py::float_(o.f); break;
        case DType::kInt64: v = py::int_(o.i); break;
        case DType::kBool: v = py::bool_(o.i != 0); break;
        case DType::kString: {
          PyObject* u = PyUnicode_DecodeUTF8(o.s.data(), static_cast<Py_ssize_t>(o.s.size()), "strict");
          if (!u) throw py::error_already_set();
          v = py::reinterpret_steal<py::object>(u);
          break;
        }
        case DType::kTimestamp: {
          int64_t us = o.i;
          if (raw) { v = py::int_(us); break; }
          const CivilTime t = civil_from_micros(us);
          if (t.year < 1 || t.year > 9999) {
            raise("InputError", "feature '" + py::str(output_keys_[j]).cast<std::string>() +
                                    "': timestamp outside Python's datetime range (years 1-9999)");
          }
          PyObject* dt = PyDateTimeAPI->DateTime_FromDateAndTime(
              static_cast<int>(t.year), t.month, t.day, t.hour, t.minute, t.second, t.microsecond,
              PyDateTime_TimeZone_UTC, PyDateTimeAPI->DateTimeType);
          if (!dt) throw py::error_already_set();
          v = py::reinterpret_steal<py::object>(dt);
          break;
        }
        default: v = py::none();
      }
      out[output_keys_[j]] = v;
    }
    return out;
  }

  // The batch limit on string features, for the row path's batch emulation.
  void check_string_bytes(uint64_t bytes) const { check(program_->check_batch_string_bytes(bytes)); }

  py::list output_types() const {
    py::list l;
    for (DType t : output_types_) l.append(dtype_name(t));
    return l;
  }

 private:
  std::shared_ptr<Program> program_;
  std::unique_ptr<RowRunner> runner_;  // used under the GIL, in phase 2 only
  bool busy_ = false;
  std::vector<py::str> input_keys_, output_keys_;
  std::vector<DType> output_types_;
  bool numeric_ = true;
};

const char* param_kind_name(ParamKind k) {
  switch (k) {
    case ParamKind::kInt: return "int";
    case ParamKind::kNumber: return "number";
    case ParamKind::kString: return "string";
    case ParamKind::kDType: return "dtype";
    case ParamKind::kScalar: return "scalar";
    case ParamKind::kNumberList: return "number list";
    case ParamKind::kScalarList: return "scalar list";
  }
  return "?";
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  PyDateTime_IMPORT;
  m.doc() = "featureplat compiled core";
  m.attr("PLAN_FORMAT_VERSION") = kPlanFormatVersion;
  // The documented limits (README "Limits"), one definition for the core and the loader.
  m.attr("MAX_STRING_BYTES") = kMaxStringBytes;
  m.attr("MAX_ROW_STRING_BYTES") = kMaxRowStringBytes;
  m.attr("MAX_BATCH_STRING_BYTES") = kMaxBatchStringBytes;
  m.attr("MAX_PLAN_STEPS") = kMaxPlanSteps;
  m.attr("MAX_PLAN_INPUTS") = kMaxPlanInputs;
  m.attr("MAX_PLAN_OUTPUTS") = kMaxPlanOutputs;
  m.attr("MAX_STEP_ARGS") = kMaxStepArgs;
  m.attr("MAX_LIST_PARAM") = kMaxListParam;
  m.attr("MAX_PLAN_SCALARS") = kMaxPlanScalars;
  m.attr("MAX_PLAN_VALUES") = kMaxPlanValues;
  m.attr("MAX_PLAN_DEPTH") = kMaxPlanDepth;

  m.def("check_plan_json", [](py::bytes body) {
    char* data = nullptr;
    Py_ssize_t n = 0;
    if (PyBytes_AsStringAndSize(body.ptr(), &data, &n) != 0) throw py::error_already_set();
    Status st;
    {
      py::gil_scoped_release release;  // bytes are immutable; 64 MiB take a moment
      st = check_plan_json(data, static_cast<size_t>(n));
    }
    check(st);
  }, py::arg("body"),
     "Raises PlanError unless `body` is canonical plan JSON (see plan_json.h): one linear pass, "
     "at most MAX_PLAN_VALUES values nested at most MAX_PLAN_DEPTH deep, before anything parses it.");

  m.def("ops", [] {
    py::list out;
    for (const OpDef& d : Registry::Get().ops()) {
      py::dict e;
      e["name"] = d.name;
      e["family"] = d.family;
      e["signature"] = d.signature;
      e["doc"] = d.doc;
      e["min_args"] = d.min_args;
      e["max_args"] = d.max_args;
      e["transcendental"] = d.transcendental;
      py::list params;
      for (const ParamSpec& p : d.params) {
        py::dict pd;
        pd["name"] = p.name;
        pd["kind"] = param_kind_name(p.kind);
        pd["required"] = p.required;
        params.append(pd);
      }
      e["params"] = params;
      out.append(e);
    }
    return out;
  }, "Every registered op with its documented semantics.");

  m.def("optimize", [](py::handle plan) {
    PlanSpec spec = to_spec(plan);
    Result<PlanSpec> r = optimize_plan(spec);
    if (!r.ok()) raise_status(r.status());
    return from_spec(r.value());
  }, "Casts made explicit, constants folded, common subexpressions merged, dead steps removed.");

  m.def("validate", [](py::handle plan) {
    Result<BoundPlan> r = bind_plan(to_spec(plan));
    if (!r.ok()) raise_status(r.status());
  }, "Strictly binds a stored plan; raises PlanError when it does not.");

  // The analyze pass (featureplat/plan/fit.py drives it; the rules are in fit_rewrite.h).
  m.def("fit_level", [](py::handle doc, int64_t exact_budget, py::object describe) -> py::object {
    Result<std::optional<FitLevel>> r = fit_level(to_spec(doc), exact_budget, describer(describe));
    if (!r.ok()) raise_status(r.status());
    if (!r.value()) return py::none();
    const FitLevel& level = *r.value();
    py::list steps;
    for (const ReadyStep& s : level.ready) {
      py::list analyzers;
      for (const AnalyzerSpec& a : s.analyzers) analyzers.append(py::make_tuple(a.kind, from_params(a.params)));
      py::dict d;
      d["step"] = s.step;
      d["features"] = py::cast(s.features);
      d["dtype"] = dtype_name(s.input);
      d["analyzers"] = analyzers;
      steps.append(d);
    }
    py::dict out;
    out["analysis"] = from_spec(level.analysis);
    out["steps"] = steps;
    return out;
  }, py::arg("doc"), py::arg("exact_budget"), py::arg("describe") = py::none(),
     "The next analysis pass of a plan document: None when no fitted step is left, else "
     "{'analysis': plan whose output i is the argument of ready step i, 'steps': [{'step', "
     "'features', 'dtype', 'analyzers': [(kind, params)]}]}. describe(step) -> str names steps in "
     "messages.");

  m.def("fit_apply", [](py::handle doc, const py::list& results, int64_t rows, py::object describe) {
    std::vector<AnalyzerResult> rs;
    size_t k = 0;
    for (py::handle h : results) rs.push_back(to_analyzer_result(h, "results[" + std::to_string(k++) + "]"));
    Result<FitApplied> r = fit_apply(to_spec(doc), doc_name(doc), rs, rows, describer(describe));
    if (!r.ok()) raise_status(r.status());
    py::list records;
    for (const FitRecord& rec : r.value().records) records.append(from_record(rec));
    return py::make_tuple(applied_document(doc, r.value()), records);
  }, py::arg("doc"), py::arg("results"), py::arg("rows"), py::arg("describe") = py::none(),
     "Rewrites the ready fitted steps of a plan document with their analyzer results (one per "
     "analyzer fit_level named, in its order): (next document, [record per ready step]).");

  m.def("fit_finish", [](py::handle doc, const py::list& records) {
    std::vector<FitRecord> rs;
    size_t k = 0;
    for (py::handle h : records) rs.push_back(to_record(h, "records[" + std::to_string(k++) + "]"));
    Result<PlanSpec> r = fit_finish(to_spec(doc), doc_name(doc), rs);
    if (!r.ok()) raise_status(r.status());
    return document_like(doc, r.value());
  }, py::arg("doc"), py::arg("records"),
     "The fitted document: one_hot features (named in this fit's records) expanded into their "
     "columns, then optimized.");

  m.def("timestamp_to_micros", [](int64_t value, const std::string& unit) {
    int64_t us = 0;
    char u = unit == "s" ? 's' : unit == "ms" ? 'm' : unit == "us" ? 'u' : unit == "ns" ? 'n' : '?';
    if (u == '?') raise("InputError", "unknown timestamp unit '" + unit + "'");
    if (!timestamp_to_micros(value, u, &us)) raise("InputError", "timestamp is outside the microsecond range");
    return us;
  }, "Scales an Arrow timestamp value to microseconds exactly as the batch path does.");

  m.def("datetime_to_micros", [](py::handle value, const std::string& what) {
    return datetime_micros(value.ptr(), what);
  }, py::arg("value"), py::arg("what") = "datetime",
     "Microseconds since the epoch (UTC) of an aware datetime: the conversion row inputs get. A naive "
     "datetime is an InputError naming `what`.");

  m.def("datetime_column", [](py::handle values, const std::string& name, bool nan_is_null) {
    // A tuple copy holds every value: utcoffset() and __ne__ may run Python code that
    // mutates the caller's list while it is read.
    py::tuple items = py::reinterpret_steal<py::tuple>(PySequence_Tuple(values.ptr()));
    if (!items) throw py::error_already_set();
    const Py_ssize_t n = PyTuple_GET_SIZE(items.ptr());
    py::array_t<int64_t> micros(n);
    py::array_t<bool> valid(n);
    int64_t* mp = micros.mutable_data();
    bool* vp = valid.mutable_data();
    bool naive = false;
    for (Py_ssize_t i = 0; i < n; ++i) {
      PyObject* v = PyTuple_GET_ITEM(items.ptr(), i);
      mp[i] = 0;
      vp[i] = false;
      if (v == Py_None || (nan_is_null && PyFloat_Check(v) && std::isnan(PyFloat_AS_DOUBLE(v)))) continue;
      const std::string what = input_row(name, i);
      if (!PyDateTime_Check(v)) {
        raise("InputError", what + ": expected a datetime (or None), got " + std::string(Py_TYPE(v)->tp_name), i);
      }
      CivilTime t = civil_of(v, what);
      if (!t.has_offset) {
        if (is_nat(v)) continue;
        // Refused for the whole column by check_source, with the words of every path;
        // the value is read as UTC only so that the column is well formed.
        naive = true;
        t.has_offset = true;
        t.offset_us = 0;
      }
      Status st = civil_to_micros(t, &mp[i]);
      if (!st.ok()) raise_status(Status(st.code(), what + ": " + st.message(), i));
      vp[i] = true;
    }
    return py::make_tuple(micros, valid, naive);
  }, py::arg("values"), py::arg("name"), py::arg("nan_is_null") = false,
     "A sequence of Python datetimes (None for null, pandas' NaT too, NaN with nan_is_null) as "
     "(int64 microseconds since the epoch UTC, validity, any naive): the batch path's reading of "
     "datetime objects, the row path's rule (a datetime whose utcoffset() is not a timedelta is an "
     "InputError naming the input and the row).");

  m.def("visible_mask", [](py::handle event_ts, py::handle ttl_us, int64_t t) {
    // Lists of ints (what serving builds per request) or 1-D int64 numpy arrays.
    auto int64s = [](py::handle h, const char* name) {
      std::vector<int64_t> v;
      if (PyList_Check(h.ptr()) || PyTuple_Check(h.ptr())) {
        const Py_ssize_t n = PySequence_Fast_GET_SIZE(h.ptr());
        v.resize(static_cast<size_t>(n));
        for (Py_ssize_t i = 0; i < n; ++i) {
          PyObject* x = PySequence_Fast_GET_ITEM(h.ptr(), i);
          int overflow = 0;
          long long y = PyLong_Check(x) && !PyBool_Check(x) ? PyLong_AsLongLongAndOverflow(x, &overflow) : 0;
          if (!PyLong_Check(x) || PyBool_Check(x) || overflow) {
            raise("InputError", std::string("visible_mask: ") + name + "[" + std::to_string(i) +
                                    "] must be an int64 integer");
          }
          v[static_cast<size_t>(i)] = y;
        }
        return v;
      }
      if (!py::isinstance<py::array>(h)) {
        raise("InputError", std::string("visible_mask: ") + name + " must be a list of ints or an int64 array");
      }
      py::array a = py::reinterpret_borrow<py::array>(h);
      if (a.ndim() != 1 || a.dtype().kind() != 'i' || a.dtype().itemsize() != 8) {
        raise("InputError", std::string("visible_mask: ") + name + " must be a one-dimensional int64 array");
      }
      auto c = py::array_t<int64_t, py::array::c_style>::ensure(a);
      v.assign(c.data(), c.data() + c.shape(0));
      return v;
    };
    std::vector<int64_t> ev = int64s(event_ts, "event_ts"), ttl = int64s(ttl_us, "ttl_us");
    if (ev.size() != ttl.size()) {
      raise("InputError", "visible_mask: " + std::to_string(ev.size()) + " event times but " +
                              std::to_string(ttl.size()) + " TTLs");
    }
    std::string out(ev.size(), '\0');
    visible_mask(ev.data(), ttl.data(), static_cast<int64_t>(ev.size()), t,
                 reinterpret_cast<uint8_t*>(&out[0]));
    return py::bytes(out);
  }, py::arg("event_ts"), py::arg("ttl_us"), py::arg("t"),
     "The point-in-time join's TTL rule (see pit_join.h) over (event time, ttl) pairs at time t: "
     "bytes, 1 where visible.");

  m.def("xxh64", [](py::bytes data, uint64_t seed) {
    std::string s = data;
    return scalar::xxh64(s.data(), s.size(), seed);
  }, py::arg("data"), py::arg("seed") = 0);

  py::class_<OversizedString>(m, "OversizedString",
                              "A string input value of `nbytes` bytes, refused by the row path as over the "
                              "limit per value without existing (FEATUREPLAT_FORCE_ROW reads Arrow strings over "
                              "the limit as these).")
      .def(py::init([](uint64_t nbytes) { return OversizedString{nbytes}; }), py::arg("nbytes"))
      .def_readonly("nbytes", &OversizedString::nbytes);

  py::class_<PyAnalyzer>(m, "Analyzer")
      .def(py::init<const std::string&, const std::string&, const py::dict&>(), py::arg("kind"), py::arg("dtype"),
           py::arg("params"))
      .def_property_readonly("kind", &PyAnalyzer::kind)
      .def("merge", &PyAnalyzer::merge)
      .def("empty_clone", &PyAnalyzer::empty_clone)
      .def("result", &PyAnalyzer::result);

  py::class_<PyProgram>(m, "Program")
      .def(py::init<py::handle, py::handle>(), py::arg("plan"), py::arg("limits") = py::none())
      .def("transform", &PyProgram::transform)
      .def("transform_matrix", &PyProgram::transform_matrix)
      .def("check_batches", &PyProgram::check_batches)
      .def("analyze", &PyProgram::analyze)
      .def("validate", &PyProgram::validate, py::arg("batches"), py::arg("threads"), py::arg("analyzers"),
           py::arg("flags"))
      .def("row_vector", &PyProgram::row_vector, py::arg("row"), py::arg("index") = 0)
      .def("rows_matrix", &PyProgram::rows_matrix)
      .def("row_dict", &PyProgram::row_dict, py::arg("row"), py::arg("raw") = false, py::arg("index") = 0)
      .def("check_string_bytes", &PyProgram::check_string_bytes, py::arg("bytes"),
           "Raises the batch path's InputError when `bytes` of string features exceed the limit per batch call.")
      .def("output_types", &PyProgram::output_types);

  // Point-in-time (as-of) join core; see featureplat/pit_join.h. The helper lambda checks
  // one argument: a 1-D numpy array of the given dtype (or None where optional), and
  // returns a C-contiguous view of it (a copy only for strided input).
  m.def("feast_values", [](const py::list& blobs, const std::string& kinds, const py::list& names) {
    // kinds[j % k] is what slot j's plan input declares: i int64, f float64/float32,
    // s string, b bool, t timestamp (Feast seconds -> microseconds). NaN reads as null,
    // as the online store would hold it. names[j % k] name the slot in errors.
    const size_t k = kinds.size();
    if (k == 0 || static_cast<size_t>(PyList_GET_SIZE(names.ptr())) != k) {
      raise("InputError", "feast_values: one kind and one name per slot");
    }
    const Py_ssize_t n = PyList_GET_SIZE(blobs.ptr());
    if (static_cast<size_t>(n) % k != 0) raise("InputError", "feast_values: blobs must fill whole rows of slots");
    py::list out(n);
    for (Py_ssize_t j = 0; j < n; ++j) {
      PyObject* b = PyList_GET_ITEM(blobs.ptr(), j);
      const char want = kinds[static_cast<size_t>(j) % k];
      PyObject* value = nullptr;
      FeastValue v;
      if (b != Py_None) {
        if (!PyBytes_Check(b)) raise("InputError", "feast_values: values must be bytes or None");
        Status st = decode_feast_value(reinterpret_cast<const uint8_t*>(PyBytes_AS_STRING(b)),
                                       static_cast<size_t>(PyBytes_GET_SIZE(b)), &v);
        if (!st.ok()) {
          raise("InputError", py::str(PyList_GET_ITEM(names.ptr(), static_cast<Py_ssize_t>(j % k))).cast<std::string>() +
                                  ": " + st.message());
        }
      }
      const FeastField f = v.field;
      bool ok = true;
      if (f == FeastField::kNull) {
        value = Py_None;
        Py_INCREF(value);
      } else if (want == 'i' && (f == FeastField::kInt64 || f == FeastField::kInt32)) {
        value = PyLong_FromLongLong(v.i);
      } else if (want == 'f' && (f == FeastField::kDouble || f == FeastField::kFloat || f == FeastField::kInt64 ||
                                 f == FeastField::kInt32)) {
        const double d = (f == FeastField::kDouble || f == FeastField::kFloat) ? v.f : static_cast<double>(v.i);
        value = std::isnan(d) ? (Py_INCREF(Py_None), Py_None) : PyFloat_FromDouble(d);
      } else if (want == 's' && f == FeastField::kString) {
        // The row path refuses text that is not UTF-8; here it is the store that holds it.
        if (!scalar::utf8_valid(v.s.ptr, v.s.len)) {
          raise("InputError", py::str(PyList_GET_ITEM(names.ptr(), static_cast<Py_ssize_t>(j % k))).cast<std::string>() +
                                  ": the online store holds a string that is not valid UTF-8");
        }
        value = PyUnicode_DecodeUTF8(v.s.ptr, static_cast<Py_ssize_t>(v.s.len), "strict");
        if (!value) throw py::error_already_set();
      } else if (want == 'b' && f == FeastField::kBool) {
        value = PyBool_FromLong(v.i != 0);
      } else if (want == 't' && f == FeastField::kUnixTimestamp) {
        if (v.i == std::numeric_limits<int64_t>::min()) {
          value = Py_None;  // Feast's null timestamp marker
          Py_INCREF(value);
        } else {
          int64_t us = 0;
          if (!timestamp_to_micros(v.i, 's', &us)) {
            raise("InputError", py::str(PyList_GET_ITEM(names.ptr(), static_cast<Py_ssize_t>(j % k))).cast<std::string>() +
                                    ": timestamp outside the microsecond range");
          }
          value = PyLong_FromLongLong(us);
        }
      } else {
        ok = false;
      }
      if (!ok) {
        static const char* kField[] = {"null", "bytes", "string", "int32", "int64", "double", "float", "bool",
                                       "unix_timestamp"};
        const std::string held = f == FeastField::kOther ? "field " + std::to_string(v.other)
                                                         : std::string(kField[static_cast<int>(f)]);
        const char* decl = want == 'i' ? "int64" : want == 'f' ? "float64" : want == 's' ? "string"
                         : want == 'b' ? "bool" : "timestamp";
        raise("InputError", py::str(PyList_GET_ITEM(names.ptr(), static_cast<Py_ssize_t>(j % k))).cast<std::string>() +
                                ": the online store holds a " + held + " value, the plan declares " + decl);
      }
      if (!value) throw py::error_already_set();
      PyList_SET_ITEM(out.ptr(), j, value);
    }
    return out;
  }, py::arg("blobs"), py::arg("kinds"), py::arg("names"),
     "Decodes Feast Value messages (bytes or None) into the values plan inputs of `kinds` read.");

  m.def("asof_join", [](py::object entity_key, py::object entity_key_valid, py::object entity_ts,
                        py::object feat_key, py::object feat_key_valid, py::object feat_ts,
                        py::object feat_created, int64_t ttl_us, int threads) {
    auto arg = [](py::object o, const char* name, bool is_valid, bool optional) -> py::array {
      if (o.is_none()) {
        if (optional) return py::array();
        raise("InputError", std::string("asof_join: ") + name + " is required");
      }
      if (!py::isinstance<py::array>(o)) {
        raise("InputError", std::string("asof_join: ") + name + " must be a numpy array, got " +
                                py::str(py::type::handle_of(o).attr("__name__")).cast<std::string>());
      }
      py::array a = py::reinterpret_borrow<py::array>(o);
      if (a.ndim() != 1) raise("InputError", std::string("asof_join: ") + name + " must be one-dimensional");
      py::dtype dt = a.dtype();
      bool ok = is_valid ? (dt.itemsize() == 1 && (dt.kind() == 'u' || dt.kind() == 'b'))
                         : (dt.itemsize() == 8 && dt.kind() == 'i');
      if (!ok) {
        raise("InputError", std::string("asof_join: ") + name + " must have dtype " + (is_valid ? "uint8" : "int64") +
                                ", got " + py::str(dt).cast<std::string>());
      }
      if (is_valid) return py::array_t<uint8_t, py::array::c_style>::ensure(a.view("uint8"));
      return py::array_t<int64_t, py::array::c_style>::ensure(a);
    };
    py::array ek = arg(entity_key, "entity_key", false, false);
    py::array ev = arg(entity_key_valid, "entity_key_valid", true, true);
    py::array et = arg(entity_ts, "entity_ts", false, false);
    py::array fk = arg(feat_key, "feat_key", false, false);
    py::array fv = arg(feat_key_valid, "feat_key_valid", true, true);
    py::array ft = arg(feat_ts, "feat_ts", false, false);
    py::array fc = arg(feat_created, "feat_created", false, true);
    const py::ssize_t n = ek.shape(0), m = fk.shape(0);
    auto same_len = [](const py::array& a, py::ssize_t len, const char* name, const char* of) {
      if (a.ptr() != nullptr && a.ndim() == 1 && a.shape(0) != len) {
        raise("InputError", std::string("asof_join: ") + name + " has " + std::to_string(a.shape(0)) +
                                " rows but " + of + " has " + std::to_string(len));
      }
    };
    same_len(et, n, "entity_ts", "entity_key");
    if (!entity_key_valid.is_none()) same_len(ev, n, "entity_key_valid", "entity_key");
    same_len(ft, m, "feat_ts", "feat_key");
    if (!feat_key_valid.is_none()) same_len(fv, m, "feat_key_valid", "feat_key");
    if (!feat_created.is_none()) same_len(fc, m, "feat_created", "feat_key");
    if (threads < 1) raise("InputError", "asof_join: threads must be >= 1, got " + std::to_string(threads));
    const int64_t* ekp = static_cast<const int64_t*>(ek.data());
    const uint8_t* evp = entity_key_valid.is_none() ? nullptr : static_cast<const uint8_t*>(ev.data());
    const int64_t* etp = static_cast<const int64_t*>(et.data());
    const int64_t* fkp = static_cast<const int64_t*>(fk.data());
    const uint8_t* fvp = feat_key_valid.is_none() ? nullptr : static_cast<const uint8_t*>(fv.data());
    const int64_t* ftp = static_cast<const int64_t*>(ft.data());
    const int64_t* fcp = feat_created.is_none() ? nullptr : static_cast<const int64_t*>(fc.data());
    py::array_t<int64_t> out(n);
    int64_t* outp = out.mutable_data();
    Status st;
    {
      py::gil_scoped_release release;
      st = asof_join(ekp, evp, etp, n, fkp, fvp, ftp, fcp, m, ttl_us, threads, outp);
    }
    check(st);
    return out;
  }, py::arg("entity_key"), py::arg("entity_key_valid"), py::arg("entity_ts"), py::arg("feat_key"),
     py::arg("feat_key_valid"), py::arg("feat_ts"), py::arg("feat_created"), py::arg("ttl_us"), py::arg("threads"),
     "Point-in-time join: per entity row the chosen feature row index, or -1 (Feast semantics, see pit_join.h).");
}
