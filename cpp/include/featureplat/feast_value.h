// Decoding of Feast's `feast.types.Value` protobuf messages (the bytes Feast's online
// stores hold per feature) into the scalar a plan input reads, without a protobuf runtime.
//
// Wire format (feast/protos/feast/types/Value.proto, a proto3 oneof `val`): bytes_val = 1,
// string_val = 2 (length-delimited), int32_val = 3, int64_val = 4 (varint), double_val = 5
// (fixed64), float_val = 6 (fixed32), bool_val = 7, unix_timestamp_val = 8 (varint,
// seconds), null_val = 19. An empty message, or null_val, is null. The last oneof member
// on the wire wins (protobuf's merge rule); unknown fields are skipped by wire type.
#pragma once

#include <cstddef>
#include <cstdint>

#include "featureplat/status.h"
#include "featureplat/types.h"

namespace featureplat {

enum class FeastField : uint8_t {
  kNull = 0,
  kBytes = 1,
  kString = 2,
  kInt32 = 3,
  kInt64 = 4,
  kDouble = 5,
  kFloat = 6,
  kBool = 7,
  kUnixTimestamp = 8,
  kOther = 255,  // a list, map, or other member featureplat does not read
};

struct FeastValue {
  FeastField field = FeastField::kNull;
  int64_t i = 0;    // int32/int64/bool/unix_timestamp (seconds)
  double f = 0.0;   // double, or float widened
  StrView s{};      // string/bytes, pointing into the input
  uint32_t other = 0;  // the field number when field == kOther
};

/// Decodes one serialized Value. kInputError for malformed bytes.
Status decode_feast_value(const uint8_t* data, size_t size, FeastValue* out);

}  // namespace featureplat
