// Tests of the bounds on text and on plans (README "Limits"): string inputs over the
// limit per value or not UTF-8 are refused from the Arrow offsets on both paths alike;
// strings a plan computes are held to the limits per value, per row and per batch call,
// before they are allocated, with errors naming the feature and the row; a chunk whose
// strings go past the per-run budget is run row by row with the same results; the
// structural limits of plan.h are refused by the binder; map keys hash with a seed.
#include <chrono>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "check.h"
#include "featureplat/arrow_abi.h"
#include "featureplat/executor.h"
#include "featureplat/plan.h"
#include "featureplat/scalar_fns.h"

using namespace featureplat;

namespace {

bool has(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

void release_schema_noop(ArrowSchema*) {}
void release_array_noop(ArrowArray*) {}

// A large_string ("U") column with the given offsets over `chars`, which may be far
// shorter than the offsets claim: the core must refuse such values before reading them.
struct StrCol {
  std::vector<int64_t> offsets;
  std::string chars;
  const void* buffers[3] = {nullptr, nullptr, nullptr};
  ArrowSchema schema{};
  ArrowArray array{};

  StrCol(std::vector<int64_t> offs, std::string text) : offsets(std::move(offs)), chars(std::move(text)) {
    buffers[1] = offsets.data();
    buffers[2] = chars.data();
    schema.format = "U";
    schema.name = "s";
    schema.flags = ARROW_FLAG_NULLABLE;
    schema.release = release_schema_noop;
    array.length = static_cast<int64_t>(offsets.size()) - 1;
    array.n_buffers = 3;
    array.buffers = buffers;
    array.release = release_array_noop;
  }
  BatchInput input() {
    BatchInput b;
    b.schemas.push_back(&schema);
    b.arrays.push_back(&array);
    b.length = array.length;
    return b;
  }
};

// A column of the given strings (contiguous offsets).
std::unique_ptr<StrCol> strings(const std::vector<std::string>& values) {
  std::vector<int64_t> offs{0};
  std::string text;
  for (const std::string& v : values) {
    text += v;
    offs.push_back(static_cast<int64_t>(text.size()));
  }
  return std::make_unique<StrCol>(std::move(offs), std::move(text));
}

Param P(Scalar s) {
  Param p;
  p.values.push_back(std::move(s));
  return p;
}

PlanStep step(const std::string& op, std::vector<int32_t> args, DType dtype, Params params = {}) {
  PlanStep s;
  s.op = op;
  s.args = std::move(args);
  s.dtype = dtype;
  s.params = std::move(params);
  return s;
}

// Input s (string); `doublings` steps of str_concat(x, x); output "big" = the last, and
// output "n" = str_len of it.
PlanSpec doubling_plan(int doublings) {
  PlanSpec spec;
  spec.inputs.push_back({"s", DType::kString});
  spec.steps.push_back(step("input", {}, DType::kString, {{"index", P(Scalar::Int(0))}}));
  for (int i = 0; i < doublings; ++i) {
    spec.steps.push_back(step("str_concat", {i, i}, DType::kString));
  }
  const int32_t last = doublings;
  spec.steps.push_back(step("str_len", {last}, DType::kInt64));
  spec.outputs.push_back({"n", last + 1});
  spec.outputs.push_back({"big", last});
  return spec;
}

std::shared_ptr<Program> make(const PlanSpec& spec, const StringLimits& limits = StringLimits()) {
  Result<std::shared_ptr<Program>> p = Program::Make(spec, limits);
  if (!CHECK(p.ok())) {
    std::fprintf(stderr, "  Program::Make: %s\n", p.status().message().c_str());
    return nullptr;
  }
  return p.value();
}

SourceValue str_value(const std::string& s) {
  SourceValue v;
  v.kind = SourceKind::kString;
  v.s = StrView{s.data(), static_cast<uint32_t>(s.size())};
  return v;
}

// Runs the row path on input values, one row each; the first error or OK.
Status run_rows(const std::shared_ptr<Program>& prog, const std::vector<std::string>& values,
                std::vector<int64_t>* lens = nullptr) {
  RowRunner rr(prog);
  for (size_t r = 0; r < values.size(); ++r) {
    FP_RETURN_NOT_OK(rr.set_input(0, str_value(values[r]), static_cast<int64_t>(r)));
    FP_RETURN_NOT_OK(rr.run(static_cast<int64_t>(r)));
    if (lens) lens->push_back(rr.output(0).as<int64_t>()[0]);
  }
  return Status::OK();
}

}  // namespace

TEST_CASE(string_inputs_over_the_limit_are_refused_from_the_offsets) {
  PlanSpec spec;
  spec.inputs.push_back({"s", DType::kString});
  spec.steps.push_back(step("input", {}, DType::kString, {{"index", P(Scalar::Int(0))}}));
  spec.steps.push_back(step("str_len", {0}, DType::kInt64));
  spec.outputs.push_back({"n", 1});
  std::shared_ptr<Program> prog = make(spec);
  if (!prog) return;
  // Row 1 claims 4 GiB + 5 bytes over a 3-byte buffer: refused without a read (ASan
  // would see one), not truncated to 5.
  StrCol col({0, 1, int64_t{1} + (int64_t{1} << 32) + 5}, "abc");
  std::vector<OutputColumn> out;
  Status st = prog->transform({col.input()}, 1, &out);
  const std::string want = "input 's' row 1: string of 4294967301 bytes is over the limit of 67108864 bytes per "
                           "string value";
  CHECK(st.code() == ErrorCode::kValueError);
  CHECK_EQ(st.message(), want);
  CHECK_EQ(st.index(), 1);
  // The row path says the same for a value whose length is known to exceed the limit.
  RowRunner rr(prog);
  SourceValue big;
  big.kind = SourceKind::kString;
  big.bytes = (uint64_t{1} << 32) + 5;
  Status sr = rr.set_input(0, big, 1);
  CHECK_EQ(sr.message(), want);
  // Exactly at the limit is fine (the test lowers the limit to keep the data small).
  StringLimits small;
  small.value_bytes = 4;
  std::shared_ptr<Program> p4 = make(spec, small);
  if (!p4) return;
  auto ok = strings({"abcd", "", "xy"});
  CHECK(p4->transform({ok->input()}, 1, &out).ok());
  auto over = strings({"abcd", "abcde"});
  CHECK(has(p4->transform({over->input()}, 1, &out).message(), "input 's' row 1: string of 5 bytes"));
  // Decreasing offsets are a malformed array, not a huge length.
  StrCol bad({0, 3, 1}, "abc");
  CHECK(has(prog->transform({bad.input()}, 1, &out).message(), "input 's' row 1: malformed Arrow array"));
}

TEST_CASE(string_inputs_must_be_utf8_on_both_paths) {
  PlanSpec spec;
  spec.inputs.push_back({"s", DType::kString});
  spec.steps.push_back(step("input", {}, DType::kString, {{"index", P(Scalar::Int(0))}}));
  spec.outputs.push_back({"s", 0});
  std::shared_ptr<Program> prog = make(spec);
  if (!prog) return;
  const std::vector<std::string> bad = {"\xff", "a\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82",
                                        "abcdefgh\x80"};
  for (const std::string& b : bad) {
    auto col = strings({"fine", "ünïcödé 😀", b});
    std::vector<OutputColumn> out;
    Status st = prog->transform({col->input()}, 1, &out);
    CHECK_EQ(st.message(), std::string("input 's' row 2: string is not valid UTF-8"));
    RowRunner rr(prog);
    CHECK_EQ(rr.set_input(0, str_value(b), 2).message(), st.message());
  }
  auto good = strings({"", "ascii only text", "é", "€", "😀", "\x7f"});
  std::vector<OutputColumn> out;
  CHECK(prog->transform({good->input()}, 1, &out).ok());
  // A caller that could not encode its value (a Python str with a lone surrogate).
  SourceValue v = str_value("");
  v.bad_utf8 = true;
  RowRunner rr(prog);
  CHECK_EQ(rr.set_input(0, v, 7).message(), std::string("input 's' row 7: string is not valid UTF-8"));
  for (const char* t : {"", "a", "\xc3\xa9", "\xef\xbf\xbf", "\xf4\x8f\xbf\xbf"}) CHECK(scalar::utf8_valid(t, std::strlen(t)));
}

TEST_CASE(computed_strings_are_held_to_the_limit_per_value) {
  // 31 doublings of one byte would need 4 GiB for one row; refused at the step that would
  // pass 64 MiB, before it allocates, naming the feature, the step and the row.
  std::shared_ptr<Program> prog = make(doubling_plan(31));
  if (!prog) return;
  auto col = strings({"a", "b"});
  std::vector<OutputColumn> out;
  const auto t0 = std::chrono::steady_clock::now();
  Status st = prog->transform({col->input()}, 1, &out);
  CHECK(st.code() == ErrorCode::kInputError);
  CHECK_EQ(st.message(), std::string("feature 'n' row 0: step 27 (str_concat) would make a string of 134217728 "
                                     "bytes, over the limit of 67108864 bytes per string value"));
  CHECK_EQ(st.index(), 0);
  Status sr = run_rows(prog, {"a"});
  CHECK_EQ(sr.message(), st.message());
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(30));
  // Under the limit the same plan runs and both paths agree.
  StringLimits lim;
  lim.value_bytes = 1024;
  lim.row_bytes = 4096;
  std::shared_ptr<Program> small = make(doubling_plan(6), lim);  // 64 bytes from 1
  if (!small) return;
  auto rows = strings({"a", "", "xy"});
  CHECK(small->transform({rows->input()}, 1, &out).ok());
  CHECK_EQ(out[0].data.as<int64_t>()[0], 64);
  CHECK_EQ(out[0].data.as<int64_t>()[2], 128);
  auto over = strings({"a", "0123456789abcdefg"});  // 17 * 64 = 1088 bytes > 1024
  Status so = small->transform({over->input()}, 1, &out);
  CHECK_EQ(so.message(), std::string("feature 'n' row 1: step 6 (str_concat) would make a string of 1088 bytes, over "
                                     "the limit of 1024 bytes per string value"));
  CHECK_EQ(run_rows(small, {"a", "0123456789abcdefg"}).message(), so.message());
}

TEST_CASE(computed_strings_are_held_to_the_limit_per_row) {
  // Many steps each making a modest string: every value is under the limit per value,
  // together they pass the limit per row.
  PlanSpec spec;
  spec.inputs.push_back({"s", DType::kString});
  spec.steps.push_back(step("input", {}, DType::kString, {{"index", P(Scalar::Int(0))}}));
  for (int i = 0; i < 10; ++i) spec.steps.push_back(step(i % 2 ? "str_upper" : "str_lower", {i}, DType::kString));
  spec.steps.push_back(step("str_len", {10}, DType::kInt64));
  spec.outputs.push_back({"n", 11});
  StringLimits lim;
  lim.value_bytes = 100;
  lim.row_bytes = 500;
  std::shared_ptr<Program> prog = make(spec, lim);
  if (!prog) return;
  auto col = strings({std::string(40, 'x'), std::string(60, 'y')});  // 400 bytes, then 600
  std::vector<OutputColumn> out;
  Status st = prog->transform({col->input()}, 1, &out);
  CHECK_EQ(st.message(), std::string("feature 'n' row 1: the strings computed for this row would take 540 bytes at "
                                     "step 9 (str_lower), over the limit of 500 bytes per row"));
  CHECK_EQ(run_rows(prog, {std::string(40, 'x'), std::string(60, 'y')}).message(), st.message());
  // A step no output needs is named by its number.
  spec.outputs[0].step = 0;
  std::shared_ptr<Program> dead = make(spec, lim);
  if (!dead) return;
  CHECK(has(dead->transform({col->input()}, 1, &out).message(), "step 9 (str_lower) row 1: the strings computed"));
}

TEST_CASE(a_chunk_past_the_run_budget_is_run_row_by_row_alike) {
  // Each row makes 300 bytes, the budget of one run is 1000: a chunk of 1024 rows goes
  // past it and is rerun one row at a time, with the row path's results and no error.
  PlanSpec spec;
  spec.inputs.push_back({"s", DType::kString});
  spec.steps.push_back(step("input", {}, DType::kString, {{"index", P(Scalar::Int(0))}}));
  spec.steps.push_back(step("str_upper", {0}, DType::kString));
  spec.steps.push_back(step("str_concat", {1, 0}, DType::kString));
  spec.steps.push_back(step("str_len", {2}, DType::kInt64));
  spec.outputs.push_back({"n", 3});
  spec.outputs.push_back({"s", 2});
  StringLimits lim;
  lim.value_bytes = 1000;
  lim.row_bytes = 1000;
  std::shared_ptr<Program> prog = make(spec, lim);
  if (!prog) return;
  std::vector<std::string> values;
  for (int r = 0; r < 3000; ++r) values.push_back(std::string(100, static_cast<char>('a' + r % 26)));
  auto col = strings(values);
  for (int threads : {1, 2}) {
    std::vector<OutputColumn> out;
    Status st = prog->transform({col->input()}, threads, &out);
    if (!CHECK(st.ok())) {
      std::fprintf(stderr, "  %s\n", st.message().c_str());
      continue;
    }
    std::vector<int64_t> lens;
    CHECK(run_rows(prog, values, &lens).ok());
    for (int r = 0; r < 3000; r += 97) CHECK_EQ(out[0].data.as<int64_t>()[r], lens[r]);
    CHECK_EQ(out[1].offsets.as<int64_t>()[3000], int64_t{3000} * 200);
    const std::string first(out[1].chars.as<char>(), 200);
    CHECK_EQ(first, std::string(100, 'A') + std::string(100, 'a'));
  }
}

TEST_CASE(string_features_are_held_to_the_limit_per_batch_call) {
  PlanSpec spec;
  spec.inputs.push_back({"s", DType::kString});
  spec.steps.push_back(step("input", {}, DType::kString, {{"index", P(Scalar::Int(0))}}));
  spec.steps.push_back(step("str_lower", {0}, DType::kString));
  spec.outputs.push_back({"low", 1});
  spec.outputs.push_back({"raw", 0});
  StringLimits lim;
  lim.batch_bytes = 1000;
  std::shared_ptr<Program> prog = make(spec, lim);
  if (!prog) return;
  auto fits = strings(std::vector<std::string>(50, "0123456789"));  // 2 x 500 bytes
  std::vector<OutputColumn> out;
  CHECK(prog->transform({fits->input()}, 1, &out).ok());
  auto over = strings(std::vector<std::string>(51, "0123456789"));
  for (int threads : {1, 2}) {
    Status st = prog->transform({over->input(), over->input()}, threads, &out);
    CHECK(st.code() == ErrorCode::kInputError);
    CHECK_EQ(st.message(), std::string("the string features ('low', 'raw') of one batch call would hold more than "
                                       "1000 bytes, the limit per batch call; transform the data in parts"));
    CHECK_EQ(prog->check_batch_string_bytes(1001).message(), st.message());
  }
  CHECK(prog->check_batch_string_bytes(1000).ok());
  // Limits can only be lowered.
  StringLimits high;
  high.value_bytes = kMaxStringBytes + 1;
  CHECK(!Program::Make(spec, high).ok());
}

TEST_CASE(constant_folding_leaves_strings_over_the_limit_to_run) {
  PlanSpec spec;
  spec.inputs.push_back({"s", DType::kString});
  spec.steps.push_back(step("const", {}, DType::kString, {{"value", P(Scalar::Str(std::string(1 << 20, 'z')))}}));
  for (int i = 0; i < 7; ++i) spec.steps.push_back(step("str_concat", {i, i}, DType::kNull));
  spec.steps.push_back(step("str_len", {7}, DType::kNull));
  spec.outputs.push_back({"n", 8});
  // 1 MiB doubled 6 times is 64 MiB (folded); the 7th doubling (128 MiB) is not.
  Result<PlanSpec> opt = optimize_plan(spec);
  if (!CHECK(opt.ok())) return;
  size_t concats = 0;
  for (const PlanStep& st : opt.value().steps) concats += st.op == "str_concat";
  CHECK_EQ(concats, size_t{1});
  std::shared_ptr<Program> prog = make(opt.value());
  if (!prog) return;
  CHECK(has(run_rows(prog, {"x"}).message(), "feature 'n' row 0: step 1 (str_concat) would make a string of "
                                             "134217728 bytes"));
}

TEST_CASE(binder_refuses_plans_over_the_structural_limits) {
  auto base = [] {
    PlanSpec spec;
    spec.inputs.push_back({"s", DType::kString});
    spec.steps.push_back(step("input", {}, DType::kString, {{"index", P(Scalar::Int(0))}}));
    spec.outputs.push_back({"s", 0});
    return spec;
  };
  auto refused = [](const PlanSpec& spec, const std::string& fragment) {
    Result<BoundPlan> r = bind_plan(spec);
    CHECK(!r.ok() && r.status().code() == ErrorCode::kPlanError);
    if (!CHECK(has(r.status().message(), fragment))) std::fprintf(stderr, "  %s\n", r.status().message().c_str());
  };
  PlanSpec args = base();
  args.steps.push_back(step("str_concat", std::vector<int32_t>(kMaxStepArgs + 1, 0), DType::kString));
  refused(args, "step 1: 1025 arguments, over the limit of 1024");
  PlanSpec at = base();
  at.steps.push_back(step("str_concat", std::vector<int32_t>(kMaxStepArgs, 0), DType::kString));
  CHECK(bind_plan(at).ok());
  PlanSpec list = base();
  Param keys, one;
  keys.is_list = one.is_list = true;
  keys.values.assign(kMaxListParam + 1, Scalar::Int(1));
  one.values.assign(1, Scalar::Int(1));
  list.steps.push_back(step("map", {0}, DType::kInt64, {{"keys", keys}, {"values", one}}));
  refused(list, "step 1: parameter 'keys' has 500001 elements, over the limit of 500000");
  PlanSpec scalars = base();
  Param half;
  half.is_list = true;
  half.values.assign(kMaxPlanScalars / 2 + 1, Scalar::Int(1));
  scalars.steps.push_back(step("bucketize", {0}, DType::kInt64, {{"boundaries", half}}));
  scalars.steps.push_back(step("bucketize", {0}, DType::kInt64, {{"boundaries", half}}));
  refused(scalars, "plan has 1000003 scalars, over the limit of 1000000");  // with the input's index
  PlanSpec text = base();
  text.steps.push_back(step("str_contains", {0}, DType::kBool,
                            {{"pattern", P(Scalar::Str(std::string(kMaxStringBytes + 1, 'p')))}}));
  refused(text, "holds a string of 67108865 bytes, over the limit of 67108864");
  PlanSpec ins = base();
  for (size_t i = 0; i < kMaxPlanInputs; ++i) ins.inputs.push_back({"x" + std::to_string(i), DType::kInt64});
  refused(ins, "plan has 20001 inputs, over the limit of 20000");
  PlanSpec outs = base();
  for (size_t i = 0; i < kMaxPlanOutputs; ++i) outs.outputs.push_back({"o" + std::to_string(i), 0});
  refused(outs, "plan has 20001 outputs, over the limit of 20000");
}

TEST_CASE(map_keys_chosen_to_collide_do_not_make_binding_quadratic) {
  // Multiples of the table's bucket count all land in one bucket under std::hash (the
  // identity); the seeded hash spreads them. 100000 such keys took seconds before.
  const size_t n = 100000;
  std::unordered_map<int64_t, uint32_t> probe;
  probe.reserve(n);
  const int64_t buckets = static_cast<int64_t>(probe.bucket_count());
  Param keys, values;
  keys.is_list = values.is_list = true;
  for (size_t i = 0; i < n; ++i) {
    keys.values.push_back(Scalar::Int(static_cast<int64_t>(i) * buckets));
    values.values.push_back(Scalar::Int(static_cast<int64_t>(i)));
  }
  PlanSpec spec;
  spec.inputs.push_back({"k", DType::kInt64});
  spec.steps.push_back(step("input", {}, DType::kInt64, {{"index", P(Scalar::Int(0))}}));
  spec.steps.push_back(step("map", {0}, DType::kInt64, {{"keys", keys}, {"values", values}}));
  spec.outputs.push_back({"v", 1});
  const auto t0 = std::chrono::steady_clock::now();
  std::shared_ptr<Program> prog = make(spec);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(3));
  if (!prog) return;
  RowRunner rr(prog);
  SourceValue v;
  v.kind = SourceKind::kInt64;
  v.i = 777 * buckets;
  CHECK(rr.set_input(0, v).ok());
  CHECK(rr.run().ok());
  CHECK_EQ(rr.output(0).as<int64_t>()[0], 777);
}

TEST_CASE(civil_from_micros_is_defined_for_every_int64) {
  // INT64_MIN overflowed (us - days * 86400000000) in the Python conversion; run this in
  // the sanitizer build (HACKING.md) to see it stay defined.
  const int64_t kMin = std::numeric_limits<int64_t>::min(), kMax = std::numeric_limits<int64_t>::max();
  CivilTime lo = civil_from_micros(kMin);
  CHECK_EQ(lo.year, int64_t{-290308});
  CHECK_EQ(lo.month, 12);
  CHECK_EQ(lo.day, 21);
  CHECK_EQ(lo.hour, 19);
  CHECK_EQ(lo.minute, 59);
  CHECK_EQ(lo.second, 5);
  CHECK_EQ(lo.microsecond, 224192);
  CivilTime hi = civil_from_micros(kMax);
  CHECK_EQ(hi.year, int64_t{294247});
  CHECK_EQ(hi.microsecond, 775807);
  for (int64_t us : {int64_t{-9000000000000000000}, int64_t{-1}, int64_t{0}, int64_t{1}, int64_t{951782400000000},
                     int64_t{9000000000000000000}}) {  // civil_to_micros takes |year| <= 290000
    int64_t back = 0;
    CHECK(civil_to_micros(civil_from_micros(us), &back).ok());
    CHECK_EQ(back, us);
  }
  CivilTime epoch = civil_from_micros(-1);
  CHECK_EQ(epoch.year, int64_t{1969});
  CHECK_EQ(epoch.second, 59);
  CHECK_EQ(epoch.microsecond, 999999);
}
