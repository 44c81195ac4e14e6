// Decoding Feast Value messages: vectors produced by protobuf's own serializer
// (feast.types.Value(...).SerializeToString() with Feast 0.67), and malformed input.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "check.h"
#include "featureplat/feast_value.h"

using namespace featureplat;

namespace {

FeastValue decode(const std::vector<uint8_t>& b) {
  FeastValue v;
  CHECK(decode_feast_value(b.data(), b.size(), &v).ok());
  return v;
}

bool fails(const std::vector<uint8_t>& b) {
  FeastValue v;
  return decode_feast_value(b.data(), b.size(), &v).code() == ErrorCode::kInputError;
}

}  // namespace

TEST_CASE(feast_value_integers) {
  FeastValue v = decode({32, 251, 255, 255, 255, 255, 255, 255, 255, 255, 1});
  CHECK(v.field == FeastField::kInt64);
  CHECK_EQ(v.i, -5);
  v = decode({32, 0});  // an explicit zero is present, not null (oneof presence)
  CHECK(v.field == FeastField::kInt64);
  CHECK_EQ(v.i, 0);
  v = decode({32, 255, 255, 255, 255, 255, 255, 255, 255, 127});
  CHECK_EQ(v.i, std::numeric_limits<int64_t>::max());
  v = decode({24, 255, 255, 255, 255, 255, 255, 255, 255, 255, 1});
  CHECK(v.field == FeastField::kInt32);
  CHECK_EQ(v.i, -1);
  v = decode({64, 192, 211, 212, 212, 6});
  CHECK(v.field == FeastField::kUnixTimestamp);
  CHECK_EQ(v.i, 1788160448);
  v = decode({64, 128, 128, 128, 128, 128, 128, 128, 128, 128, 1});
  CHECK_EQ(v.i, std::numeric_limits<int64_t>::min());  // Feast's null timestamp marker
}

TEST_CASE(feast_value_floats_bools_strings) {
  FeastValue v = decode({41, 0, 0, 0, 0, 0, 0, 248, 127});
  CHECK(v.field == FeastField::kDouble);
  CHECK(std::isnan(v.f));
  v = decode({41, 0, 0, 0, 0, 0, 0, 0, 128});
  CHECK(v.f == 0.0 && std::signbit(v.f));
  v = decode({53, 0, 0, 192, 63});
  CHECK(v.field == FeastField::kFloat);
  CHECK(v.f == 1.5);
  v = decode({56, 1});
  CHECK(v.field == FeastField::kBool && v.i == 1);
  v = decode({56, 0});
  CHECK(v.field == FeastField::kBool && v.i == 0);
  const std::vector<uint8_t> text = {18, 6, 104, 195, 169, 108, 108, 111};  // the view points into it
  v = decode(text);
  CHECK(v.field == FeastField::kString);
  CHECK_EQ(v.s.len, 6u);
  CHECK(std::memcmp(v.s.ptr, "h\xc3\xa9llo", 6) == 0);
  v = decode({18, 0});
  CHECK(v.field == FeastField::kString && v.s.len == 0);
}

TEST_CASE(feast_value_null_other_and_merge) {
  CHECK(decode({}).field == FeastField::kNull);
  CHECK(decode({152, 1, 0}).field == FeastField::kNull);  // null_val = 19
  FeastValue v = decode({114, 4, 10, 2, 1, 2});          // int64_list_val
  CHECK(v.field == FeastField::kOther);
  CHECK_EQ(v.other, 14u);
  v = decode({32, 7, 56, 1});  // two oneof members: the last one wins
  CHECK(v.field == FeastField::kBool);
}

TEST_CASE(feast_value_malformed) {
  CHECK(fails({32}));                      // varint missing
  CHECK(fails({32, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 1}));  // over 10 bytes
  CHECK(fails({41, 0, 0, 0}));             // fixed64 cut short
  CHECK(fails({18, 9, 104}));              // length past the end
  CHECK(fails({0, 1}));                    // field number 0
  CHECK(fails({35}));                      // wire type 3 (groups) not supported
  CHECK(fails({33, 0, 0, 0, 0, 0, 0, 0, 0}));  // int64 field with a fixed64 wire type
}
