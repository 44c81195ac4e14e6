// Decoder for Feast's Value protobuf messages; see feast_value.h.
#include "featureplat/feast_value.h"

#include <cstring>
#include <limits>
#include <string>

namespace featureplat {

namespace {

bool read_varint(const uint8_t*& p, const uint8_t* end, uint64_t* out) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (p == end) return false;
    const uint8_t b = *p++;
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      *out = v;
      return true;
    }
  }
  return false;  // more than 10 bytes
}

Status malformed(const char* what) {
  return Status(ErrorCode::kInputError, std::string("malformed Feast value: ") + what);
}

}  // namespace

Status decode_feast_value(const uint8_t* data, size_t size, FeastValue* out) {
  *out = FeastValue{};
  static const char kEmpty[] = "";
  out->s = StrView{kEmpty, 0};
  const uint8_t* p = data;
  const uint8_t* end = data + size;
  while (p < end) {
    uint64_t tag = 0;
    if (!read_varint(p, end, &tag)) return malformed("truncated tag");
    const uint64_t field = tag >> 3;
    const unsigned wire = static_cast<unsigned>(tag & 7);
    if (field == 0) return malformed("field number 0");
    uint64_t v = 0;
    const uint8_t* payload = nullptr;
    uint64_t len = 0;
    switch (wire) {
      case 0:
        if (!read_varint(p, end, &v)) return malformed("truncated varint");
        break;
      case 1:
        if (end - p < 8) return malformed("truncated fixed64");
        std::memcpy(&v, p, 8);
        p += 8;
        break;
      case 2:
        if (!read_varint(p, end, &len)) return malformed("truncated length");
        if (len > static_cast<uint64_t>(end - p)) return malformed("length past the end");
        payload = p;
        p += len;
        break;
      case 5: {
        if (end - p < 4) return malformed("truncated fixed32");
        uint32_t w;
        std::memcpy(&w, p, 4);
        v = w;
        p += 4;
        break;
      }
      default:
        return malformed("unsupported wire type");
    }
    // Only members of the `val` oneof set the value; each resets it (last one wins).
    switch (field) {
      case 1:
      case 2:
        if (wire != 2) return malformed("string/bytes with a non-length wire type");
        if (len > std::numeric_limits<uint32_t>::max()) return malformed("string too long");
        out->field = field == 1 ? FeastField::kBytes : FeastField::kString;
        out->s = StrView{len ? reinterpret_cast<const char*>(payload) : kEmpty, static_cast<uint32_t>(len)};
        break;
      case 3:  // int32: sign-extended varint
        if (wire != 0) return malformed("int32 with a non-varint wire type");
        out->field = FeastField::kInt32;
        out->i = static_cast<int32_t>(static_cast<uint32_t>(v));
        break;
      case 4:
      case 8:
        if (wire != 0) return malformed("int64 with a non-varint wire type");
        out->field = field == 4 ? FeastField::kInt64 : FeastField::kUnixTimestamp;
        out->i = static_cast<int64_t>(v);
        break;
      case 5: {
        if (wire != 1) return malformed("double with a non-fixed64 wire type");
        double d;
        std::memcpy(&d, &v, 8);
        out->field = FeastField::kDouble;
        out->f = d;
        break;
      }
      case 6: {
        if (wire != 5) return malformed("float with a non-fixed32 wire type");
        const uint32_t w = static_cast<uint32_t>(v);
        float f;
        std::memcpy(&f, &w, 4);
        out->field = FeastField::kFloat;
        out->f = static_cast<double>(f);
        break;
      }
      case 7:
        if (wire != 0) return malformed("bool with a non-varint wire type");
        out->field = FeastField::kBool;
        out->i = v != 0;
        break;
      case 19:
        out->field = FeastField::kNull;
        break;
      default:
        // Every field of Value is a member of the oneof: the others (lists, maps, ...)
        // hold values featureplat does not read.
        out->field = FeastField::kOther;
        out->other = static_cast<uint32_t>(field);
        break;
    }
  }
  return Status::OK();
}

}  // namespace featureplat
