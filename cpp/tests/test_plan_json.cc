// Tests of the canonical-text check of plan files (plan_json.h). The rule is "exactly what
// Python's json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False) writes";
// tests/unit/test_plan_limits.py checks the verdicts against json.dumps itself.
#include <string>
#include <vector>

#include "check.h"
#include "featureplat/plan_json.h"

using namespace featureplat;

namespace {

Status verdict(const std::string& text, size_t max_values = kMaxPlanValues, size_t max_depth = kMaxPlanDepth) {
  return check_plan_json(text.data(), text.size(), max_values, max_depth);
}

bool has(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

}  // namespace

TEST_CASE(plan_json_accepts_canonical_text) {
  const std::vector<std::string> good = {
      "{}",
      "[]",
      R"({"a":1,"b":[true,false,null],"c":{"d":"x"}})",
      R"({"meta":{"featureplat_version":"0.1.0"},"plan":{"fitted":[],"format_version":3}})",
      R"(["-1",-1,0,12345678901234567890123])",
      // json.dumps escapes only '"', '\\' and the control characters.
      R"(["a\"b\\c\n\r\t\b\f\u0000\u001f","é€😀",""])",
      "[\"\x7f\xe2\x80\xa8\"]",  // DEL and U+2028 are written raw
      // Keys in code point order: "Z" < "a" < "é" < "😀".
      R"({"Z":0,"a":0,"é":0,"😀":0})",
      // An escaped quote sorts as '"' (0x22), before '#'.
      R"({"a\"":0,"a#":0})",
  };
  for (const std::string& text : good) {
    Status st = verdict(text);
    if (!CHECK(st.ok())) std::fprintf(stderr, "  %s: %s\n", text.c_str(), st.message().c_str());
  }
}

TEST_CASE(plan_json_refuses_every_other_form) {
  struct Case {
    std::string text;
    const char* fragment;
  };
  const std::vector<Case> bad = {
      {"{ }", "expected a string key"},
      {"{\"a\":1 }", "expected ','"},
      {"[1, 2]", "unexpected character"},
      {R"({"b":0,"a":0})", "out of order"},
      {R"({"a":0,"a":1})", "out of order or repeated"},
      {R"({"a#":0,"a\"":0})", "out of order"},
      {R"(["\/"])", "escape json.dumps would not write"},
      {R"(["\u0041"])", "escape json.dumps would not write"},
      {R"(["\u000a"])", "escape json.dumps would not write"},
      {R"(["\u001F"])", "lowercase hex"},
      {R"(["\ud800"])", "escaped surrogate"},
      {R"(["\ud83d\ude00"])", "escaped surrogate"},
      {"[\"\x01\"]", "control character"},
      {"[\"\xff\"]", "malformed UTF-8"},
      {"[\"\xc0\xaf\"]", "malformed UTF-8"},          // overlong '/'
      {"[\"\xed\xa0\x80\"]", "malformed UTF-8"},      // an encoded surrogate
      {"[\"\xf4\x90\x80\x80\"]", "malformed UTF-8"},  // above U+10FFFF
      {"[\"\xe2\x82\"]", "malformed UTF-8"},          // truncated
      {"[1.5]", "bare JSON number"},
      {"[1e5]", "bare JSON number"},
      {"[-0]", "-0"},
      {"[01]", "leading zero"},
      {"[NaN]", "unexpected character 'N'"},
      {"[\xbb]", "unexpected character 0xbb"},  // shown as hex: the message stays UTF-8
      {"[-Infinity]", "without digits"},
      {"[tru]", "unknown literal"},
      {"[\"abc", "unterminated string"},
      {"[1", "expected ','"},
      {"{}{}", "trailing bytes"},
      {"", "unexpected end"},
  };
  for (const Case& c : bad) {
    Status st = verdict(c.text);
    CHECK(st.code() == ErrorCode::kPlanError);
    if (!CHECK(has(st.message(), c.fragment))) {
      std::fprintf(stderr, "  %s: %s (want %s)\n", c.text.c_str(), st.message().c_str(), c.fragment);
    }
  }
}

TEST_CASE(plan_json_bounds_values_and_depth) {
  // Counting stops at the limit: a body of empty arrays is refused without parsing it.
  std::string many = "[";
  for (int i = 0; i < 100; ++i) many += "[],";
  many += "[]]";
  CHECK(verdict(many, 102).ok());  // the outer array and its 101 elements: 102 values
  Status st = verdict(many, 101);
  CHECK(has(st.message(), "more than 101 JSON values"));
  // Object keys are not values.
  CHECK(verdict(R"({"a":1,"b":2})", 3).ok());
  CHECK(!verdict(R"({"a":1,"b":2})", 2).ok());
  // Depth: 32 levels pass, 33 do not; a hostile 100000 levels end at the 33rd.
  CHECK(verdict(std::string(32, '[') + std::string(32, ']')).ok());
  Status deep = verdict(std::string(33, '[') + std::string(33, ']'));
  CHECK(has(deep.message(), "nested too deeply"));
  CHECK(has(verdict(std::string(100000, '[')).message(), "nested too deeply"));
}
