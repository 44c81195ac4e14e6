// A tiny self-registering test harness.
//
//   TEST_CASE(my_test) {
//     CHECK(x > 0);
//     CHECK_EQ(f(2), 4);
//   }
//
// Failed checks print file:line and both values, are counted, and do not abort the
// test case. test_main.cc runs every registered case (or one named on the command line).
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ostream>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace check {

/// A registered test case.
struct TestCase {
  const char* name;  ///< identifier given to TEST_CASE
  void (*fn)();      ///< body
  const char* file;  ///< defining file
  int line;          ///< defining line
};

/// All test cases, in registration order (function-local static: safe during static init).
inline std::vector<TestCase>& registry() {
  static std::vector<TestCase> cases;
  return cases;
}

/// Total number of failed checks so far, across all test cases.
inline int64_t& failure_count() {
  static int64_t count = 0;
  return count;
}

/// Name of the test case currently running (for failure messages).
inline const char*& current_test() {
  static const char* name = "";
  return name;
}

/// Adds a test case to the registry from a namespace-scope constructor.
struct Registrar {
  Registrar(const char* name, void (*fn)(), const char* file, int line) {
    registry().push_back(TestCase{name, fn, file, line});
  }
};

namespace detail {

template <typename T, typename = void>
struct is_streamable : std::false_type {};
template <typename T>
struct is_streamable<T, std::void_t<decltype(std::declval<std::ostream&>() << std::declval<const T&>())>>
    : std::true_type {};

template <typename T>
constexpr bool is_char_type = std::is_same_v<T, char> || std::is_same_v<T, signed char> ||
                              std::is_same_v<T, unsigned char>;

template <typename T>
constexpr bool is_c_string = std::is_same_v<std::decay_t<T>, const char*> ||
                             std::is_same_v<std::decay_t<T>, char*>;

// A C string (array or pointer) as a pointer; hides arrays from -Waddress null checks.
inline const char* as_c_string(const char* p) { return p; }

inline std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u >= 0x20 && u < 0x7f) {
      out += c;
    } else {
      char esc[8];
      std::snprintf(esc, sizeof esc, "\\x%02x", u);
      out += esc;
    }
  }
  out += '"';
  return out;
}

}  // namespace detail

/// Printable form of a value for failure messages.
template <typename T>
std::string show(const T& v) {
  using D = std::decay_t<T>;
  if constexpr (std::is_same_v<D, bool>) {
    return v ? "true" : "false";
  } else if constexpr (detail::is_char_type<D>) {
    const unsigned char u = static_cast<unsigned char>(v);
    std::string out = std::to_string(static_cast<int>(v));
    if (u >= 0x20 && u < 0x7f) out += std::string(" '") + static_cast<char>(u) + "'";
    return out;
  } else if constexpr (std::is_integral_v<D>) {
    std::string out = std::to_string(v);
    if constexpr (std::is_unsigned_v<D> && sizeof(D) >= 4) {
      char hex[24];
      std::snprintf(hex, sizeof hex, " (0x%llx)", static_cast<unsigned long long>(v));
      out += hex;
    }
    return out;
  } else if constexpr (std::is_floating_point_v<D>) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", static_cast<double>(v));
    return buf;
  } else if constexpr (std::is_same_v<D, std::nullptr_t>) {
    return "nullptr";
  } else if constexpr (std::is_array_v<T> && detail::is_c_string<T>) {
    return detail::quote(v);
  } else if constexpr (detail::is_c_string<T>) {
    return v != nullptr ? detail::quote(v) : std::string("(null)");
  } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    return detail::quote(std::string_view(v));
  } else if constexpr (detail::is_streamable<T>::value) {
    std::ostringstream os;
    os << v;
    return os.str();
  } else {
    return "<unprintable>";
  }
}

/// Equality used by CHECK_EQ: value-correct for mixed signed/unsigned integers and
/// compares C strings by content; everything else uses operator==.
template <typename A, typename B>
bool equal(const A& a, const B& b) {
  using DA = std::decay_t<A>;
  using DB = std::decay_t<B>;
  if constexpr (std::is_integral_v<DA> && std::is_integral_v<DB>) {
    if constexpr (std::is_signed_v<DA> == std::is_signed_v<DB>) {
      return a == b;
    } else if constexpr (std::is_signed_v<DA>) {
      return a >= 0 && static_cast<std::make_unsigned_t<DA>>(a) == b;
    } else {
      return b >= 0 && a == static_cast<std::make_unsigned_t<DB>>(b);
    }
  } else if constexpr (detail::is_c_string<A> && detail::is_c_string<B>) {
    const char* pa = detail::as_c_string(a);
    const char* pb = detail::as_c_string(b);
    if (pa == nullptr || pb == nullptr) return pa == pb;
    return std::strcmp(pa, pb) == 0;
  } else {
    return a == b;
  }
}

/// Backs CHECK: reports and counts a failure when `ok` is false.
inline bool check_true(bool ok, const char* expr, const char* file, int line) {
  if (!ok) {
    ++failure_count();
    std::fprintf(stderr, "%s:%d: [%s] CHECK(%s) failed\n", file, line, current_test(), expr);
  }
  return ok;
}

/// Backs CHECK_EQ: reports both values and counts a failure when they differ.
template <typename A, typename B>
bool check_eq(const A& a, const B& b, const char* ea, const char* eb, const char* file, int line) {
  if (equal(a, b)) return true;
  ++failure_count();
  std::fprintf(stderr, "%s:%d: [%s] CHECK_EQ(%s, %s) failed\n  left:  %s\n  right: %s\n", file,
               line, current_test(), ea, eb, show(a).c_str(), show(b).c_str());
  return false;
}

}  // namespace check

/// Define and register a test case named by identifier `name`.
#define TEST_CASE(name)                                                               \
  static void check_test_fn_##name();                                                 \
  static const ::check::Registrar check_test_reg_##name(#name, &check_test_fn_##name, \
                                                        __FILE__, __LINE__);          \
  static void check_test_fn_##name()

/// Record a failure (without aborting) when `cond` is false; evaluates to the bool result.
#define CHECK(cond) ::check::check_true(static_cast<bool>(cond), #cond, __FILE__, __LINE__)

/// Record a failure printing both values (without aborting) when a != b; evaluates each once.
#define CHECK_EQ(a, b) ::check::check_eq((a), (b), #a, #b, __FILE__, __LINE__)
