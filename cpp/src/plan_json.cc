// The canonical-text check of plan files. Python's json.dumps(sort_keys=True,
// separators=(",", ":"), ensure_ascii=False) escapes exactly '"', '\\' and the control
// characters (\b \f \n \r \t by name, the rest as \u00xx in lowercase hex), writes every
// other character as its UTF-8 bytes, sorts object keys by code point (the order of their
// UTF-8 bytes) and writes integers in plain decimal; a body is canonical exactly when it
// has that form, which this pass checks without building any value.
#include "featureplat/plan_json.h"

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

namespace featureplat {
namespace {

class Checker {
 public:
  Checker(const char* text, size_t n, size_t max_values, size_t max_depth)
      : p_(reinterpret_cast<const unsigned char*>(text)), n_(n), max_values_(max_values), max_depth_(max_depth) {}

  Status run() {
    FP_RETURN_NOT_OK(value(0));
    if (i_ != n_) return error("trailing bytes after the document");
    return Status::OK();
  }

 private:
  Status error(const std::string& what) const {
    return Status(ErrorCode::kPlanError,
                  "plan body is not in canonical form: " + what + " at byte " + std::to_string(i_));
  }

  bool at(unsigned char c) const { return i_ < n_ && p_[i_] == c; }

  Status value(size_t depth) {
    if (++values_ > max_values_) {
      return Status(ErrorCode::kPlanError, "plan body holds more than " + std::to_string(max_values_) +
                                               " JSON values, over the limit");
    }
    if (i_ >= n_) return error("unexpected end");
    switch (p_[i_]) {
      case '{': return object(depth + 1);
      case '[': return array(depth + 1);
      case '"': return string(nullptr);
      case 't': return literal("true");
      case 'f': return literal("false");
      case 'n': return literal("null");
      default: {
        if (p_[i_] == '-' || (p_[i_] >= '0' && p_[i_] <= '9')) return number();
        char shown[8];
        if (p_[i_] >= 0x20 && p_[i_] < 0x7f) std::snprintf(shown, sizeof shown, "'%c'", p_[i_]);
        else std::snprintf(shown, sizeof shown, "0x%02x", p_[i_]);
        return error(std::string("unexpected character ") + shown);
      }
    }
  }

  Status nested(size_t depth) const {
    if (depth > max_depth_) {
      return Status(ErrorCode::kPlanError, "plan is nested too deeply (more than " + std::to_string(max_depth_) +
                                               " levels)");
    }
    return Status::OK();
  }

  Status object(size_t depth) {
    FP_RETURN_NOT_OK(nested(depth));
    ++i_;  // '{'
    if (at('}')) {
      ++i_;
      return Status::OK();
    }
    std::string prev, key;
    for (bool first = true;; first = false) {
      if (!at('"')) return error("expected a string key");
      key.clear();
      FP_RETURN_NOT_OK(string(&key));
      // Decoded keys compared as UTF-8 bytes: code point order, json.dumps' sort order.
      if (!first && !(prev < key)) return error("object keys out of order or repeated");
      if (!at(':')) return error("expected ':'");
      ++i_;
      FP_RETURN_NOT_OK(value(depth));
      if (at(',')) {
        ++i_;
        prev.swap(key);
        continue;
      }
      if (at('}')) {
        ++i_;
        return Status::OK();
      }
      return error("expected ',' or '}'");
    }
  }

  Status array(size_t depth) {
    FP_RETURN_NOT_OK(nested(depth));
    ++i_;  // '['
    if (at(']')) {
      ++i_;
      return Status::OK();
    }
    for (;;) {
      FP_RETURN_NOT_OK(value(depth));
      if (at(',')) {
        ++i_;
        continue;
      }
      if (at(']')) {
        ++i_;
        return Status::OK();
      }
      return error("expected ',' or ']'");
    }
  }

  static int hex_value(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;  // json.dumps writes lowercase hex only
  }

  // A string; its decoded UTF-8 bytes go to `out` when given (object keys).
  Status string(std::string* out) {
    ++i_;  // '"'
    for (;;) {
      if (i_ >= n_) return error("unterminated string");
      const unsigned char c = p_[i_];
      if (c == '"') {
        ++i_;
        return Status::OK();
      }
      if (c < 0x20) return error("a control character written raw in a string");
      if (c == '\\') {
        if (i_ + 1 >= n_) return error("unterminated escape");
        const unsigned char e = p_[i_ + 1];
        char decoded = 0;
        switch (e) {
          case '"': decoded = '"'; break;
          case '\\': decoded = '\\'; break;
          case 'n': decoded = '\n'; break;
          case 'r': decoded = '\r'; break;
          case 't': decoded = '\t'; break;
          case 'b': decoded = '\b'; break;
          case 'f': decoded = '\f'; break;
          case 'u': {
            if (n_ - i_ < 6) return error("truncated \\u escape");
            int v = 0;
            for (size_t k = 2; k < 6; ++k) {
              const int h = hex_value(p_[i_ + k]);
              if (h < 0) return error("a \\u escape that is not four lowercase hex digits");
              v = v * 16 + h;
            }
            if (v >= 0xD800 && v <= 0xDFFF) {
              return Status(ErrorCode::kPlanError,
                            "plan holds an escaped surrogate (\\u" + std::string(reinterpret_cast<const char*>(p_ + i_ + 2), 4) +
                                ") at byte " + std::to_string(i_) +
                                ": text that is not valid UTF-8, or not written canonically");
            }
            // Only the control characters without a short name are written as \u00xx.
            if (v >= 0x20 || v == '\b' || v == '\f' || v == '\n' || v == '\r' || v == '\t') {
              return error("a \\u escape json.dumps would not write");
            }
            decoded = static_cast<char>(v);
            i_ += 4;
            break;
          }
          default: return error("an escape json.dumps would not write");
        }
        if (out) out->push_back(decoded);
        i_ += 2;
        continue;
      }
      if (c < 0x80) {
        if (out) out->push_back(static_cast<char>(c));
        ++i_;
        continue;
      }
      // One UTF-8 sequence, checked as Python's strict decoder does (Table 3-7).
      size_t len;
      unsigned char lo = 0x80, hi = 0xBF;
      if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
      } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0) lo = 0xA0;
        else if (c == 0xED) hi = 0x9F;
      } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0) lo = 0x90;
        else if (c == 0xF4) hi = 0x8F;
      } else {
        return error("malformed UTF-8");
      }
      if (n_ - i_ < len || p_[i_ + 1] < lo || p_[i_ + 1] > hi) return error("malformed UTF-8");
      for (size_t k = 2; k < len; ++k) {
        if ((p_[i_ + k] & 0xC0u) != 0x80u) return error("malformed UTF-8");
      }
      if (out) out->append(reinterpret_cast<const char*>(p_ + i_), len);
      i_ += len;
    }
  }

  Status number() {
    const size_t start = i_;
    if (at('-')) ++i_;
    if (i_ >= n_ || p_[i_] < '0' || p_[i_] > '9') return error("a number without digits (NaN or Infinity?)");
    if (p_[i_] == '0') {
      ++i_;
      if (i_ < n_ && p_[i_] >= '0' && p_[i_] <= '9') return error("an integer with a leading zero");
      if (i_ - start == 2) return error("-0 (written 0)");
    } else {
      while (i_ < n_ && p_[i_] >= '0' && p_[i_] <= '9') ++i_;
    }
    if (at('.') || at('e') || at('E')) {
      return Status(ErrorCode::kPlanError, "bare JSON number at byte " + std::to_string(start) +
                                               "; floats are stored as scalar text");
    }
    return Status::OK();
  }

  Status literal(const char* word) {
    const size_t len = std::strlen(word);
    if (n_ - i_ < len || std::memcmp(p_ + i_, word, len) != 0) return error("an unknown literal");
    i_ += len;
    return Status::OK();
  }

  const unsigned char* p_;
  size_t n_;
  size_t i_ = 0;
  size_t values_ = 0;
  size_t max_values_, max_depth_;
};

}  // namespace

Status check_plan_json(const char* text, size_t n, size_t max_values, size_t max_depth) {
  return Checker(text, n, max_values, max_depth).run();
}

}  // namespace featureplat
