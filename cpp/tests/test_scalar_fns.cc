// Tests for featureplat::scalar (scalar_fns.h).
//
// Expected values come from two places:
//  * the xxHash project's own sanity vectors (Cyan4973/xxHash, cli/xsum_sanity_check.c,
//    table XSUM_XXH64_testdata), hashing its pseudo-random "sanity buffer";
//  * Python 3.11 (CPython, with the `xxhash` 4.1.0 package from the project venv), via a
//    one-off generator run when these tests were written: xxhash.xxh64(...).intdigest(),
//    datetime.date.toordinal() (years outside 1..9999 shifted by whole 400-year eras of
//    146097 days), datetime arithmetic for timestamps, repr(float), float(str), int // and %,
//    and len(str). The generated values are hard-coded below.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "check.h"
#include "test_support.h"
#include "featureplat/scalar_fns.h"

using namespace featureplat_test;

namespace {

using namespace featureplat::scalar;

constexpr uint64_t kPrime32 = 2654435761ULL;
constexpr uint64_t kPrime64 = 11400714785074694797ULL;

// The xxHash project's sanity-test input: byte i is the top byte of PRIME32 * PRIME64^i.
std::vector<unsigned char> sanity_buffer(size_t n) {
  std::vector<unsigned char> buf(n);
  uint64_t gen = kPrime32;
  for (size_t i = 0; i < n; ++i) {
    buf[i] = static_cast<unsigned char>(gen >> 56);
    gen *= kPrime64;
  }
  return buf;
}

std::string repr(double v) {
  char buf[48];
  const size_t n = format_double_repr(v, buf);
  return std::string(buf, n);
}

std::string iso(int64_t us) {
  char buf[48];
  const size_t n = format_timestamp_iso(us, buf);
  return std::string(buf, n);
}

std::string int_str(int64_t v) {
  char buf[32];
  const size_t n = format_int64(v, buf);
  return std::string(buf, n);
}

bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned month_length(int64_t y, unsigned m) {
  static const unsigned kLen[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29u : kLen[m - 1];
}

}  // namespace

// ---------------------------------------------------------------------------
// xxh64
// ---------------------------------------------------------------------------

TEST_CASE(xxh64_published_sanity_vectors) {
  // Cyan4973/xxHash cli/xsum_sanity_check.c, XSUM_XXH64_testdata {len, seed, result}.
  struct V { size_t len; uint64_t seed; uint64_t expect; };
  const V vectors[] = {
      {0, 0, 0xEF46DB3751D8E999ULL},   {0, kPrime32, 0xAC75FDA2929B17EFULL},
      {1, 0, 0xE934A84ADB052768ULL},   {1, kPrime32, 0x5014607643A9B4C3ULL},
      {4, 0, 0x9136A0DCA57457EEULL},   {14, 0, 0x8282DCC4994E35C8ULL},
      {14, kPrime32, 0xC3BD6BF63DEB6DF0ULL}, {222, 0, 0xB641AE8CB691C174ULL},
      {222, kPrime32, 0x20CB8AB7AE10C14AULL},
  };
  const std::vector<unsigned char> buf = sanity_buffer(222);
  for (const V& v : vectors) {
    CHECK_EQ(xxh64(v.len == 0 ? nullptr : buf.data(), v.len, v.seed), v.expect);
  }
}

TEST_CASE(xxh64_python_vectors) {
  // Python: xxhash.xxh64(sanity_buffer[:len], seed=seed).intdigest()
  struct V { size_t len; uint64_t seed; uint64_t expect; };
  const V vectors[] = {
    {0, 0x0ULL, 0xEF46DB3751D8E999ULL},
    {0, 0x9E3779B1ULL, 0xAC75FDA2929B17EFULL},
    {0, 0x9E3779B185EBCA8DULL, 0x0B303D920EC349DFULL},
    {0, 0xFFFFFFFFFFFFFFFFULL, 0x298F4C84B24F5380ULL},
    {1, 0x0ULL, 0xE934A84ADB052768ULL},
    {1, 0x9E3779B1ULL, 0x5014607643A9B4C3ULL},
    {1, 0x9E3779B185EBCA8DULL, 0x9C6678669FCD2E6DULL},
    {1, 0xFFFFFFFFFFFFFFFFULL, 0x8BA3328805E37C90ULL},
    {2, 0x0ULL, 0x5D48CD60A77E23FFULL},
    {2, 0x9E3779B1ULL, 0x9E93152232D54A39ULL},
    {2, 0x9E3779B185EBCA8DULL, 0x8469CBF08335C09CULL},
    {2, 0xFFFFFFFFFFFFFFFFULL, 0xB717B1919A269B1EULL},
    {3, 0x0ULL, 0xFF7E1959CB50794AULL},
    {3, 0x9E3779B1ULL, 0xAA8584E83660F7D1ULL},
    {3, 0x9E3779B185EBCA8DULL, 0x281B7CBB86CC6A05ULL},
    {3, 0xFFFFFFFFFFFFFFFFULL, 0xD98FF19E5346B786ULL},
    {4, 0x0ULL, 0x9136A0DCA57457EEULL},
    {4, 0x9E3779B1ULL, 0xCAAB286BD8E9FDB5ULL},
    {4, 0x9E3779B185EBCA8DULL, 0xCCFE4EAD7E01983CULL},
    {4, 0xFFFFFFFFFFFFFFFFULL, 0x159FBDB3FC3FC1D6ULL},
    {5, 0x0ULL, 0x9B046FB1397F09A5ULL},
    {5, 0x9E3779B1ULL, 0x2AF5249930F984ECULL},
    {5, 0x9E3779B185EBCA8DULL, 0x9099058D286EF837ULL},
    {5, 0xFFFFFFFFFFFFFFFFULL, 0xBEB995D7AE545217ULL},
    {7, 0x0ULL, 0x6C83909A9F01ED25ULL},
    {7, 0x9E3779B1ULL, 0xF98D03B1AD6F9293ULL},
    {7, 0x9E3779B185EBCA8DULL, 0x3C18DF70E6EF9D24ULL},
    {7, 0xFFFFFFFFFFFFFFFFULL, 0x73BDE04667CA6BF4ULL},
    {8, 0x0ULL, 0xCDBCF538E71D1348ULL},
    {8, 0x9E3779B1ULL, 0xFE0C047A5353CDACULL},
    {8, 0x9E3779B185EBCA8DULL, 0x768161B4E5A58DFAULL},
    {8, 0xFFFFFFFFFFFFFFFFULL, 0x568E81B1596E8283ULL},
    {9, 0x0ULL, 0x554B1AE991EDA6B6ULL},
    {9, 0x9E3779B1ULL, 0x7908265248F6D73FULL},
    {9, 0x9E3779B185EBCA8DULL, 0x6A7EF24927B938A0ULL},
    {9, 0xFFFFFFFFFFFFFFFFULL, 0x82763E2471C59DEDULL},
    {12, 0x0ULL, 0x0723BF50086EAD9AULL},
    {12, 0x9E3779B1ULL, 0x8252819F4E506951ULL},
    {12, 0x9E3779B185EBCA8DULL, 0x0F2C37856FC19ED9ULL},
    {12, 0xFFFFFFFFFFFFFFFFULL, 0x3076E05B0AB6ECE0ULL},
    {14, 0x0ULL, 0x8282DCC4994E35C8ULL},
    {14, 0x9E3779B1ULL, 0xC3BD6BF63DEB6DF0ULL},
    {14, 0x9E3779B185EBCA8DULL, 0x12DCD5DB160CC92BULL},
    {14, 0xFFFFFFFFFFFFFFFFULL, 0x8523C9EE6F9548EDULL},
    {15, 0x0ULL, 0x180719316D622D84ULL},
    {15, 0x9E3779B1ULL, 0xD61105C20E91F99FULL},
    {15, 0x9E3779B185EBCA8DULL, 0xAC31EE102E5CF442ULL},
    {15, 0xFFFFFFFFFFFFFFFFULL, 0xABA497CF6BECE3A5ULL},
    {16, 0x0ULL, 0x98C90B57FDFCB55CULL},
    {16, 0x9E3779B1ULL, 0xC900AD2D536B607EULL},
    {16, 0x9E3779B185EBCA8DULL, 0x85446BBA49CB7DF1ULL},
    {16, 0xFFFFFFFFFFFFFFFFULL, 0x2A361A78823233FEULL},
    {17, 0x0ULL, 0x0D39A2D051A30C2CULL},
    {17, 0x9E3779B1ULL, 0x495CD68A647C7A22ULL},
    {17, 0x9E3779B185EBCA8DULL, 0x1DD902D73122EDA0ULL},
    {17, 0xFFFFFFFFFFFFFFFFULL, 0x29CB6DD1A6236E81ULL},
    {31, 0x0ULL, 0x299B39A290E6D783ULL},
    {31, 0x9E3779B1ULL, 0xDA673D5FEB5C1D79ULL},
    {31, 0x9E3779B185EBCA8DULL, 0x51AAF1A336575F00ULL},
    {31, 0xFFFFFFFFFFFFFFFFULL, 0x6ED1061F61C686E5ULL},
    {32, 0x0ULL, 0x18B216492BB44B70ULL},
    {32, 0x9E3779B1ULL, 0xB3F33BDF93ADE409ULL},
    {32, 0x9E3779B185EBCA8DULL, 0x21D817283F4B6283ULL},
    {32, 0xFFFFFFFFFFFFFFFFULL, 0x3A793D9020113C2AULL},
    {33, 0x0ULL, 0x55C8DC3E578F5B59ULL},
    {33, 0x9E3779B1ULL, 0xE92C292F64BC3071ULL},
    {33, 0x9E3779B185EBCA8DULL, 0xB09782549294DF85ULL},
    {33, 0xFFFFFFFFFFFFFFFFULL, 0x3E29B6E70F2543DAULL},
    {35, 0x0ULL, 0xCB0AA8E2A7A29707ULL},
    {35, 0x9E3779B1ULL, 0xECE3515C236504C7ULL},
    {35, 0x9E3779B185EBCA8DULL, 0x1CD1F162EECED979ULL},
    {35, 0xFFFFFFFFFFFFFFFFULL, 0xB1CD15559E8D9E94ULL},
    {40, 0x0ULL, 0x23B3810D7D8B1731ULL},
    {40, 0x9E3779B1ULL, 0x5A57F246772BC540ULL},
    {40, 0x9E3779B185EBCA8DULL, 0xADFD792CA853C064ULL},
    {40, 0xFFFFFFFFFFFFFFFFULL, 0x5F341658CA9B0367ULL},
    {63, 0x0ULL, 0xA9EFBE0FA0F3F4E7ULL},
    {63, 0x9E3779B1ULL, 0x6C911FADB05B6FC2ULL},
    {63, 0x9E3779B185EBCA8DULL, 0x34C3933DC0040446ULL},
    {63, 0xFFFFFFFFFFFFFFFFULL, 0x93B7C9E8CE6DE24CULL},
    {64, 0x0ULL, 0xEF558F8ACAC2B5CDULL},
    {64, 0x9E3779B1ULL, 0xB5EEBA99264CC44FULL},
    {64, 0x9E3779B185EBCA8DULL, 0xF90D26FED8023D61ULL},
    {64, 0xFFFFFFFFFFFFFFFFULL, 0xD48294C0C6D5D9FDULL},
    {65, 0x0ULL, 0xDE0F20DC2631AF7AULL},
    {65, 0x9E3779B1ULL, 0xD3F6FF3941E310CAULL},
    {65, 0x9E3779B185EBCA8DULL, 0x7814174CD6405BEEULL},
    {65, 0xFFFFFFFFFFFFFFFFULL, 0xD3366084A3FD665BULL},
    {100, 0x0ULL, 0x4BFE019CD91D9EA4ULL},
    {100, 0x9E3779B1ULL, 0x4853706DC9625CAEULL},
    {100, 0x9E3779B185EBCA8DULL, 0x38F1D4AABFD12D0FULL},
    {100, 0xFFFFFFFFFFFFFFFFULL, 0x2FE1B1460F4666C4ULL},
    {127, 0x0ULL, 0x3C7A21119AA662B0ULL},
    {127, 0x9E3779B1ULL, 0xB0D6DC189C06CEEDULL},
    {127, 0x9E3779B185EBCA8DULL, 0x9238093F3286F85AULL},
    {127, 0xFFFFFFFFFFFFFFFFULL, 0xED1EB4453B50315CULL},
    {222, 0x0ULL, 0xB641AE8CB691C174ULL},
    {222, 0x9E3779B1ULL, 0x20CB8AB7AE10C14AULL},
    {222, 0x9E3779B185EBCA8DULL, 0xCCB064AC93EBB562ULL},
    {222, 0xFFFFFFFFFFFFFFFFULL, 0x61920BEF9B9A65CAULL},
    {255, 0x0ULL, 0xA80F35BB0DC8E3A7ULL},
    {255, 0x9E3779B1ULL, 0x8E7A59762640754FULL},
    {255, 0x9E3779B185EBCA8DULL, 0x03D699D52E8CD292ULL},
    {255, 0xFFFFFFFFFFFFFFFFULL, 0x824442449E327620ULL},
    {256, 0x0ULL, 0x5E3F5BF94D574981ULL},
    {256, 0x9E3779B1ULL, 0x34733CBD9CC1B0D5ULL},
    {256, 0x9E3779B185EBCA8DULL, 0xA1CBBC0DA72934FEULL},
    {256, 0xFFFFFFFFFFFFFFFFULL, 0xAF5F8BC6A9EA05FCULL},
    {1000, 0x0ULL, 0x52BD1358F22E9EF7ULL},
    {1000, 0x9E3779B1ULL, 0x72751A2408017E26ULL},
    {1000, 0x9E3779B185EBCA8DULL, 0x3FE6446814FAE5EDULL},
    {1000, 0xFFFFFFFFFFFFFFFFULL, 0xF681D3B0E9E495AEULL},
    {2367, 0x0ULL, 0xA82418DDEC0EA581ULL},
    {2367, 0x9E3779B1ULL, 0xA36A93C18052673AULL},
    {2367, 0x9E3779B185EBCA8DULL, 0x363B532C35E01E25ULL},
    {2367, 0xFFFFFFFFFFFFFFFFULL, 0x14371C2901C92A60ULL},
  };
  const std::vector<unsigned char> buf = sanity_buffer(2367);
  for (const V& v : vectors) {
    if (!CHECK_EQ(xxh64(buf.data(), v.len, v.seed), v.expect)) {
      std::fprintf(stderr, "  (len=%zu seed=0x%llx)\n", v.len, static_cast<unsigned long long>(v.seed));
    }
  }
}

TEST_CASE(xxh64_unaligned_input) {
  // Python: xxhash.xxh64(sanity_buffer[off:off+len], seed=0).intdigest()
  struct V { size_t off; size_t len; uint64_t expect; };
  const V vectors[] = {
    {1, 3, 0xA2474AABCFB1A740ULL},
    {1, 13, 0x19C91501686F894BULL},
    {1, 40, 0xB7BA89FA043E9585ULL},
    {1, 101, 0xFE060508E933BDE4ULL},
    {2, 3, 0x90C79E55EAEEA709ULL},
    {2, 13, 0x777A01060176C16CULL},
    {2, 40, 0x87ADD0877EC3C0D8ULL},
    {2, 101, 0x0EFF8E57F2A63742ULL},
    {3, 3, 0xF8C66AAEB2134D25ULL},
    {3, 13, 0x31938E2FDCA6E7D7ULL},
    {3, 40, 0x592F09CD2835AB98ULL},
    {3, 101, 0x231001C435463539ULL},
    {5, 3, 0xF87F8DE5F0E31294ULL},
    {5, 13, 0x0C98D1E5C80788BDULL},
    {5, 40, 0x02EF01399DC7DE22ULL},
    {5, 101, 0x709661E9B7575663ULL},
    {7, 3, 0x58D16DF10298A4B8ULL},
    {7, 13, 0x644E9D6155913483ULL},
    {7, 40, 0x9B3DA018E9FB0D38ULL},
    {7, 101, 0x87DA46148647E754ULL},
  };
  const std::vector<unsigned char> buf = sanity_buffer(2367);
  for (const V& v : vectors) {
    CHECK_EQ(xxh64(buf.data() + v.off, v.len, 0), v.expect);
    // Same bytes from a fresh (differently aligned) heap copy give the same hash.
    std::vector<unsigned char> copy(buf.begin() + static_cast<std::ptrdiff_t>(v.off),
                                    buf.begin() + static_cast<std::ptrdiff_t>(v.off + v.len));
    CHECK_EQ(xxh64(copy.data(), copy.size(), 0), v.expect);
  }
  // Every alignment of one 100-byte window hashes identically.
  std::vector<unsigned char> big(200, 0);
  const uint64_t ref = xxh64(buf.data(), 100, 7);
  for (size_t shift = 0; shift < 16; ++shift) {
    std::memcpy(big.data() + shift, buf.data(), 100);
    CHECK_EQ(xxh64(big.data() + shift, 100, 7), ref);
  }
}

TEST_CASE(xxh64_strings) {
  // Python: xxhash.xxh64(bytes, seed=seed).intdigest()
  struct V { const char* s; size_t len; uint64_t seed; uint64_t expect; };
  const V vectors[] = {
    {"a", 1, 0ULL, 0xD24EC4F1A98C6E5BULL},
    {"a", 1, 1ULL, 0xDEC2BC81C3CD46C6ULL},
    {"a", 1, 42ULL, 0x88E4FE59ADF7B0CCULL},
    {"abc", 3, 0ULL, 0x44BC2CF5AD770999ULL},
    {"abc", 3, 1ULL, 0xBEA9CA8199328908ULL},
    {"abc", 3, 42ULL, 0x13C1D910702770E6ULL},
    {"Hello World!", 12, 0ULL, 0xA52B286A3E7F4D91ULL},
    {"Hello World!", 12, 1ULL, 0x44589BE0A101D2EDULL},
    {"Hello World!", 12, 42ULL, 0x3738C158F6016BD0ULL},
    {"The quick brown fox jumps over the lazy dog", 43, 0ULL, 0x0B242D361FDA71BCULL},
    {"The quick brown fox jumps over the lazy dog", 43, 1ULL, 0xDF5091B6DAD2C6DBULL},
    {"The quick brown fox jumps over the lazy dog", 43, 42ULL, 0xAA9F288A8BAA3D3FULL},
    {"featureplat", 11, 0ULL, 0x21BEA75E60E1E978ULL},
    {"featureplat", 11, 1ULL, 0xFACBDAC01EC73956ULL},
    {"featureplat", 11, 42ULL, 0xF593005103D23AAAULL},
    {"\x00", 1, 0ULL, 0xE934A84ADB052768ULL},
    {"\x00", 1, 1ULL, 0x771917C7F6EE2451ULL},
    {"\x00", 1, 42ULL, 0x83A7B47F8D92D727ULL},
    {"\x00\x00\x00\x00\x00\x00\x00\x00", 8, 0ULL, 0x34C96ACDCADB1BBBULL},
    {"\x00\x00\x00\x00\x00\x00\x00\x00", 8, 1ULL, 0x22C76AFD15F0110FULL},
    {"\x00\x00\x00\x00\x00\x00\x00\x00", 8, 42ULL, 0xB71B47EBDA15746CULL},
  };
  for (const V& v : vectors) {
    CHECK_EQ(xxh64(v.s, v.len, v.seed), v.expect);
  }
  CHECK_EQ(xxh64(nullptr, 0, 0), 0xEF46DB3751D8E999ULL);
  CHECK_EQ(xxh64("", 0, 0), 0xEF46DB3751D8E999ULL);
}

// ---------------------------------------------------------------------------
// Calendar
// ---------------------------------------------------------------------------

TEST_CASE(civil_python_dates) {
  // Python: datetime.date(y, m, d).toordinal() - datetime.date(1970, 1, 1).toordinal()
  struct V { int64_t y; unsigned m; unsigned d; int64_t days; };
  const V vectors[] = {
    {1970, 1, 1, 0LL},
    {1969, 12, 31, -1LL},
    {1970, 1, 2, 1LL},
    {2000, 2, 29, 11016LL},
    {2000, 3, 1, 11017LL},
    {2000, 1, 1, 10957LL},
    {1900, 2, 28, -25509LL},
    {1900, 3, 1, -25508LL},
    {1600, 2, 29, -135081LL},
    {1600, 3, 1, -135080LL},
    {1600, 1, 1, -135140LL},
    {1, 1, 1, -719162LL},
    {9999, 12, 31, 2932896LL},
    {2024, 2, 29, 19782LL},
    {2023, 2, 28, 19416LL},
    {2023, 3, 1, 19417LL},
    {1582, 10, 15, -141427LL},
    {1582, 10, 4, -141438LL},
    {2038, 1, 19, 24855LL},
    {2038, 1, 20, 24856LL},
    {2100, 2, 28, 47540LL},
    {2100, 3, 1, 47541LL},
    {2400, 2, 29, 157113LL},
    {1804, 2, 29, -60572LL},
    {1, 2, 28, -719104LL},
    {1, 3, 1, -719103LL},
    {4, 2, 29, -718008LL},
    {100, 3, 1, -682944LL},
    {400, 2, 29, -573372LL},
    {1999, 12, 31, 10956LL},
    {2001, 1, 1, 11323LL},
    {1901, 12, 13, -24856LL},
    {2262, 4, 11, 106751LL},
    {1677, 9, 21, -106752LL},
    {6981, 2, 21, 1830282LL},
    {9405, 7, 17, 2715775LL},
    {8853, 10, 26, 2514263LL},
    {3877, 9, 12, 696772LL},
    {2973, 7, 10, 366529LL},
    {9288, 9, 15, 2673103LL},
    {1721, 9, 16, -90687LL},
    {4199, 3, 17, 814201LL},
    {8249, 1, 12, 2293369LL},
    {8696, 4, 30, 2456741LL},
    {9934, 5, 16, 2908926LL},
    {4236, 3, 22, 827720LL},
    {3844, 1, 26, 684489LL},
    {197, 11, 1, -647270LL},
    {2660, 8, 16, 252245LL},
    {8051, 1, 31, 2221070LL},
    {7786, 11, 18, 2124572LL},
    {3495, 1, 24, 557018LL},
    {6825, 8, 29, 1773493LL},
    {1427, 12, 30, -197964LL},
    {9928, 5, 17, 2906736LL},
    {574, 6, 17, -509711LL},
    {4675, 5, 19, 988119LL},
    {4113, 8, 3, 782929LL},
    {8600, 10, 13, 2421843LL},
    {3439, 9, 22, 536805LL},
    {7842, 10, 28, 2145004LL},
    {6911, 1, 24, 1804686LL},
    {967, 9, 22, -366074LL},
    {2087, 4, 22, 42845LL},
    {1433, 11, 11, -195821LL},
    {357, 3, 14, -589064LL},
    {2331, 11, 7, 132162LL},
    {3752, 10, 3, 651138LL},
    {39, 3, 12, -705213LL},
    {2698, 8, 26, 266134LL},
    {3444, 6, 1, 538519LL},
    {3458, 9, 14, 543737LL},
    {9474, 7, 15, 2740975LL},
    {4767, 7, 18, 1021781LL},
    {4601, 5, 8, 961080LL},
    {2413, 10, 21, 162096LL},
    {9397, 5, 14, 2712790LL},
    {5309, 10, 1, 1219818LL},
    {7141, 7, 28, 1888877LL},
    {7867, 7, 9, 2154024LL},
    {8386, 1, 26, 2343421LL},
    {7621, 3, 17, 2064061LL},
    {4300, 7, 4, 851199LL},
    {4738, 12, 11, 1011335LL},
    {9644, 7, 16, 2803068LL},
    {2832, 8, 31, 315082LL},
    {9829, 3, 18, 2870517LL},
    {8164, 2, 22, 2262364LL},
    {641, 5, 30, -485258LL},
    {8580, 4, 26, 2414369LL},
    {6562, 12, 29, 1677556LL},
    {2969, 2, 12, 364920LL},
    {4254, 3, 9, 834281LL},
    {3203, 4, 26, 450459LL},
  };
  for (const V& v : vectors) {
    CHECK_EQ(days_from_civil(v.y, v.m, v.d), v.days);
    int64_t y = 0;
    unsigned m = 0, d = 0;
    civil_from_days(v.days, &y, &m, &d);
    CHECK_EQ(y, v.y);
    CHECK_EQ(m, v.m);
    CHECK_EQ(d, v.d);
  }
}

TEST_CASE(civil_far_dates) {
  // Python: toordinal() of the date moved by whole 400-year eras into 2000..2399, plus
  // the same number of eras times 146097 days (the proleptic Gregorian calendar repeats
  // every 400 years); year 0 is 1 BC, year -1 is 2 BC.
  struct V { int64_t y; unsigned m; unsigned d; int64_t days; };
  const V vectors[] = {
    {0, 1, 1, -719528LL},
    {0, 2, 29, -719469LL},
    {0, 3, 1, -719468LL},
    {0, 12, 31, -719163LL},
    {-1, 12, 31, -719529LL},
    {-1, 1, 1, -719893LL},
    {-1, 3, 1, -719834LL},
    {-4, 2, 29, -720930LL},
    {-100, 3, 1, -755993LL},
    {-400, 2, 29, -865566LL},
    {-4713, 11, 24, -2440588LL},
    {-44, 3, 15, -735525LL},
    {10000, 1, 1, 2932897LL},
    {12345, 6, 7, 3789548LL},
    {99999, 12, 31, 35804721LL},
    {-99999, 1, 1, -37243412LL},
    {200000, 2, 29, 72329031LL},
    {-200000, 2, 29, -73767969LL},
    {292277, 12, 31, 106032819LL},
    {-292277, 1, 1, -107471510LL},
    {294247, 1, 10, 106751991LL},
    {-290308, 12, 21, -106751992LL},
    {294247, 1, 9, 106751990LL},
    {-290308, 12, 22, -106751991LL},
    {1000000, 1, 1, 364522972LL},
    {-1000000, 1, 1, -365962028LL},
    {95393, 4, 27, 34122167LL},
    {-71495, 9, 5, -26832293LL},
    {149464, 11, 2, 53871383LL},
    {94415, 1, 11, 33764853LL},
    {244012, 7, 12, 88404218LL},
    {-200041, 11, 14, -73782686LL},
    {162767, 6, 26, 58730074LL},
    {-237345, 2, 19, -87407960LL},
    {-111566, 11, 2, -41467867LL},
    {4747, 12, 25, 1014636LL},
    {41490, 12, 7, 14434724LL},
    {246766, 1, 11, 89409913LL},
    {268323, 1, 8, 97283442LL},
    {-39618, 6, 12, -15189543LL},
    {252783, 12, 27, 91607927LL},
    {146620, 12, 2, 52832663LL},
    {278026, 3, 3, 100827445LL},
    {-34874, 5, 1, -13456875LL},
    {175870, 5, 20, 63515810LL},
    {-158371, 2, 8, -58563309LL},
    {29636, 6, 15, 10104965LL},
    {190018, 7, 2, 68683304LL},
    {-218197, 5, 8, -80414219LL},
    {-134278, 8, 20, -49763329LL},
    {131708, 3, 6, 47385896LL},
    {-1105, 10, 2, -1122846LL},
    {282026, 1, 23, 102288376LL},
    {166986, 6, 22, 60271029LL},
    {-225248, 7, 12, -82989478LL},
    {134852, 2, 23, 48534207LL},
    {1690, 1, 12, -102256LL},
    {-97441, 3, 7, -36309057LL},
    {38537, 3, 14, 13355895LL},
    {-221703, 6, 20, -81694715LL},
    {33809, 7, 26, 11629162LL},
    {-10856, 2, 20, -4684551LL},
    {-256759, 7, 19, -94498627LL},
    {197855, 9, 21, 71545790LL},
    {13161, 5, 26, 4087574LL},
    {-42770, 7, 23, -16340746LL},
  };
  for (const V& v : vectors) {
    CHECK_EQ(days_from_civil(v.y, v.m, v.d), v.days);
    int64_t y = 0;
    unsigned m = 0, d = 0;
    civil_from_days(v.days, &y, &m, &d);
    CHECK_EQ(y, v.y);
    CHECK_EQ(m, v.m);
    CHECK_EQ(d, v.d);
  }
}

TEST_CASE(civil_consecutive_days) {
  // Walk day by day across +-3 million days (about +-8200 years around 1970): each day
  // is the calendar successor of the previous one and round-trips.
  const int64_t first = -3000000;
  int64_t py = 0;
  unsigned pm = 0, pd = 0;
  civil_from_days(first, &py, &pm, &pd);
  int64_t failures = 0;
  for (int64_t day = first + 1; day <= 3000000 && failures < 5; ++day) {
    int64_t y = 0;
    unsigned m = 0, d = 0;
    civil_from_days(day, &y, &m, &d);
    int64_t ey = py;
    unsigned em = pm, ed = pd + 1;
    if (ed > month_length(py, pm)) {
      ed = 1;
      if (++em > 12) {
        em = 1;
        ++ey;
      }
    }
    const bool ok = y == ey && m == em && d == ed && days_from_civil(y, m, d) == day;
    if (!CHECK(ok)) {
      std::fprintf(stderr, "  day %lld -> %lld-%u-%u\n", static_cast<long long>(day),
                   static_cast<long long>(y), m, d);
      ++failures;
    }
    py = y;
    pm = m;
    pd = d;
  }
}

TEST_CASE(civil_round_trip_wide) {
  Rng rng{12345};
  // Whole int64 microsecond range (about +-1.07e8 days) and then the whole int64 day range.
  const int64_t kMicrosDayLimit = std::numeric_limits<int64_t>::max() / 86400000000LL + 2;
  std::vector<int64_t> days = {0, -1, 1, kMicrosDayLimit, -kMicrosDayLimit,
                               std::numeric_limits<int64_t>::max(),
                               std::numeric_limits<int64_t>::min(),
                               std::numeric_limits<int64_t>::max() - 1,
                               std::numeric_limits<int64_t>::min() + 1,
                               std::numeric_limits<int64_t>::max() - 146097,
                               std::numeric_limits<int64_t>::min() + 146097};
  for (int i = 0; i < 20000; ++i) days.push_back(rng.in(-kMicrosDayLimit, kMicrosDayLimit));
  for (int i = 0; i < 20000; ++i) days.push_back(static_cast<int64_t>(rng.next()));
  int64_t failures = 0;
  for (int64_t day : days) {
    int64_t y = 0;
    unsigned m = 0, d = 0;
    civil_from_days(day, &y, &m, &d);
    const bool ok = m >= 1 && m <= 12 && d >= 1 && d <= month_length(y, m) &&
                    days_from_civil(y, m, d) == day;
    if (!CHECK(ok) && ++failures > 5) break;
  }
  // Near the int64 edges the successor relation still holds.
  int64_t y1 = 0, y2 = 0;
  unsigned m1 = 0, d1 = 0, m2 = 0, d2 = 0;
  civil_from_days(std::numeric_limits<int64_t>::max(), &y1, &m1, &d1);
  civil_from_days(std::numeric_limits<int64_t>::max() - 1, &y2, &m2, &d2);
  CHECK(y1 > 25000000000000000LL);
  CHECK((y1 == y2 && m1 == m2 && d1 == d2 + 1) || (y1 == y2 && m1 == m2 + 1 && d1 == 1) ||
        (y1 == y2 + 1 && m1 == 1 && d1 == 1));
  civil_from_days(std::numeric_limits<int64_t>::min(), &y1, &m1, &d1);
  CHECK(y1 < -25000000000000000LL);
}

TEST_CASE(civil_era_periodicity) {
  Rng rng{777};
  for (int i = 0; i < 20000; ++i) {
    const int64_t y = rng.in(-1000000000LL, 1000000000LL);
    const unsigned m = static_cast<unsigned>(rng.in(1, 12));
    const unsigned d = static_cast<unsigned>(rng.in(1, month_length(y, m)));
    const int64_t base = days_from_civil(y, m, d);
    if (!CHECK_EQ(days_from_civil(y + 400, m, d), base + 146097)) break;
    if (!CHECK_EQ(days_from_civil(y - 4000, m, d), base - 1460970)) break;
    if (m != 12 || d != 31) {
      // The next calendar day is the next day number.
      const bool month_end = d == month_length(y, m);
      CHECK_EQ(days_from_civil(y, month_end ? m + 1 : m, month_end ? 1 : d + 1), base + 1);
    } else {
      CHECK_EQ(days_from_civil(y + 1, 1, 1), base + 1);
    }
  }
  // Year lengths: 366 in leap years, 365 otherwise, including negative years.
  for (int64_t y = -2001; y <= 2401; ++y) {
    CHECK_EQ(days_from_civil(y + 1, 1, 1) - days_from_civil(y, 1, 1), is_leap(y) ? 366 : 365);
  }
}

// ---------------------------------------------------------------------------
// floor_div / floor_mod
// ---------------------------------------------------------------------------

TEST_CASE(floor_div_mod_python_table) {
  // Python: a // b and a % b
  struct V { int64_t a; int64_t b; int64_t q; int64_t r; };
  const V vectors[] = {
    {0LL, 1LL, 0LL, 0LL},
    {0LL, -1LL, 0LL, 0LL},
    {0LL, 2LL, 0LL, 0LL},
    {0LL, -2LL, 0LL, 0LL},
    {0LL, 3LL, 0LL, 0LL},
    {0LL, -3LL, 0LL, 0LL},
    {0LL, 7LL, 0LL, 0LL},
    {0LL, -7LL, 0LL, 0LL},
    {0LL, 10LL, 0LL, 0LL},
    {0LL, -10LL, 0LL, 0LL},
    {0LL, 86400000000LL, 0LL, 0LL},
    {0LL, -86400000000LL, 0LL, 0LL},
    {0LL, 9223372036854775807LL, 0LL, 0LL},
    {0LL, INT64_MIN, 0LL, 0LL},
    {0LL, -9223372036854775807LL, 0LL, 0LL},
    {1LL, 1LL, 1LL, 0LL},
    {1LL, -1LL, -1LL, 0LL},
    {1LL, 2LL, 0LL, 1LL},
    {1LL, -2LL, -1LL, -1LL},
    {1LL, 3LL, 0LL, 1LL},
    {1LL, -3LL, -1LL, -2LL},
    {1LL, 7LL, 0LL, 1LL},
    {1LL, -7LL, -1LL, -6LL},
    {1LL, 10LL, 0LL, 1LL},
    {1LL, -10LL, -1LL, -9LL},
    {1LL, 86400000000LL, 0LL, 1LL},
    {1LL, -86400000000LL, -1LL, -86399999999LL},
    {1LL, 9223372036854775807LL, 0LL, 1LL},
    {1LL, INT64_MIN, -1LL, -9223372036854775807LL},
    {1LL, -9223372036854775807LL, -1LL, -9223372036854775806LL},
    {-1LL, 1LL, -1LL, 0LL},
    {-1LL, -1LL, 1LL, 0LL},
    {-1LL, 2LL, -1LL, 1LL},
    {-1LL, -2LL, 0LL, -1LL},
    {-1LL, 3LL, -1LL, 2LL},
    {-1LL, -3LL, 0LL, -1LL},
    {-1LL, 7LL, -1LL, 6LL},
    {-1LL, -7LL, 0LL, -1LL},
    {-1LL, 10LL, -1LL, 9LL},
    {-1LL, -10LL, 0LL, -1LL},
    {-1LL, 86400000000LL, -1LL, 86399999999LL},
    {-1LL, -86400000000LL, 0LL, -1LL},
    {-1LL, 9223372036854775807LL, -1LL, 9223372036854775806LL},
    {-1LL, INT64_MIN, 0LL, -1LL},
    {-1LL, -9223372036854775807LL, 0LL, -1LL},
    {2LL, 1LL, 2LL, 0LL},
    {2LL, -1LL, -2LL, 0LL},
    {2LL, 2LL, 1LL, 0LL},
    {2LL, -2LL, -1LL, 0LL},
    {2LL, 3LL, 0LL, 2LL},
    {2LL, -3LL, -1LL, -1LL},
    {2LL, 7LL, 0LL, 2LL},
    {2LL, -7LL, -1LL, -5LL},
    {2LL, 10LL, 0LL, 2LL},
    {2LL, -10LL, -1LL, -8LL},
    {2LL, 86400000000LL, 0LL, 2LL},
    {2LL, -86400000000LL, -1LL, -86399999998LL},
    {2LL, 9223372036854775807LL, 0LL, 2LL},
    {2LL, INT64_MIN, -1LL, -9223372036854775806LL},
    {2LL, -9223372036854775807LL, -1LL, -9223372036854775805LL},
    {-2LL, 1LL, -2LL, 0LL},
    {-2LL, -1LL, 2LL, 0LL},
    {-2LL, 2LL, -1LL, 0LL},
    {-2LL, -2LL, 1LL, 0LL},
    {-2LL, 3LL, -1LL, 1LL},
    {-2LL, -3LL, 0LL, -2LL},
    {-2LL, 7LL, -1LL, 5LL},
    {-2LL, -7LL, 0LL, -2LL},
    {-2LL, 10LL, -1LL, 8LL},
    {-2LL, -10LL, 0LL, -2LL},
    {-2LL, 86400000000LL, -1LL, 86399999998LL},
    {-2LL, -86400000000LL, 0LL, -2LL},
    {-2LL, 9223372036854775807LL, -1LL, 9223372036854775805LL},
    {-2LL, INT64_MIN, 0LL, -2LL},
    {-2LL, -9223372036854775807LL, 0LL, -2LL},
    {6LL, 1LL, 6LL, 0LL},
    {6LL, -1LL, -6LL, 0LL},
    {6LL, 2LL, 3LL, 0LL},
    {6LL, -2LL, -3LL, 0LL},
    {6LL, 3LL, 2LL, 0LL},
    {6LL, -3LL, -2LL, 0LL},
    {6LL, 7LL, 0LL, 6LL},
    {6LL, -7LL, -1LL, -1LL},
    {6LL, 10LL, 0LL, 6LL},
    {6LL, -10LL, -1LL, -4LL},
    {6LL, 86400000000LL, 0LL, 6LL},
    {6LL, -86400000000LL, -1LL, -86399999994LL},
    {6LL, 9223372036854775807LL, 0LL, 6LL},
    {6LL, INT64_MIN, -1LL, -9223372036854775802LL},
    {6LL, -9223372036854775807LL, -1LL, -9223372036854775801LL},
    {-6LL, 1LL, -6LL, 0LL},
    {-6LL, -1LL, 6LL, 0LL},
    {-6LL, 2LL, -3LL, 0LL},
    {-6LL, -2LL, 3LL, 0LL},
    {-6LL, 3LL, -2LL, 0LL},
    {-6LL, -3LL, 2LL, 0LL},
    {-6LL, 7LL, -1LL, 1LL},
    {-6LL, -7LL, 0LL, -6LL},
    {-6LL, 10LL, -1LL, 4LL},
    {-6LL, -10LL, 0LL, -6LL},
    {-6LL, 86400000000LL, -1LL, 86399999994LL},
    {-6LL, -86400000000LL, 0LL, -6LL},
    {-6LL, 9223372036854775807LL, -1LL, 9223372036854775801LL},
    {-6LL, INT64_MIN, 0LL, -6LL},
    {-6LL, -9223372036854775807LL, 0LL, -6LL},
    {7LL, 1LL, 7LL, 0LL},
    {7LL, -1LL, -7LL, 0LL},
    {7LL, 2LL, 3LL, 1LL},
    {7LL, -2LL, -4LL, -1LL},
    {7LL, 3LL, 2LL, 1LL},
    {7LL, -3LL, -3LL, -2LL},
    {7LL, 7LL, 1LL, 0LL},
    {7LL, -7LL, -1LL, 0LL},
    {7LL, 10LL, 0LL, 7LL},
    {7LL, -10LL, -1LL, -3LL},
    {7LL, 86400000000LL, 0LL, 7LL},
    {7LL, -86400000000LL, -1LL, -86399999993LL},
    {7LL, 9223372036854775807LL, 0LL, 7LL},
    {7LL, INT64_MIN, -1LL, -9223372036854775801LL},
    {7LL, -9223372036854775807LL, -1LL, -9223372036854775800LL},
    {-7LL, 1LL, -7LL, 0LL},
    {-7LL, -1LL, 7LL, 0LL},
    {-7LL, 2LL, -4LL, 1LL},
    {-7LL, -2LL, 3LL, -1LL},
    {-7LL, 3LL, -3LL, 2LL},
    {-7LL, -3LL, 2LL, -1LL},
    {-7LL, 7LL, -1LL, 0LL},
    {-7LL, -7LL, 1LL, 0LL},
    {-7LL, 10LL, -1LL, 3LL},
    {-7LL, -10LL, 0LL, -7LL},
    {-7LL, 86400000000LL, -1LL, 86399999993LL},
    {-7LL, -86400000000LL, 0LL, -7LL},
    {-7LL, 9223372036854775807LL, -1LL, 9223372036854775800LL},
    {-7LL, INT64_MIN, 0LL, -7LL},
    {-7LL, -9223372036854775807LL, 0LL, -7LL},
    {100LL, 1LL, 100LL, 0LL},
    {100LL, -1LL, -100LL, 0LL},
    {100LL, 2LL, 50LL, 0LL},
    {100LL, -2LL, -50LL, 0LL},
    {100LL, 3LL, 33LL, 1LL},
    {100LL, -3LL, -34LL, -2LL},
    {100LL, 7LL, 14LL, 2LL},
    {100LL, -7LL, -15LL, -5LL},
    {100LL, 10LL, 10LL, 0LL},
    {100LL, -10LL, -10LL, 0LL},
    {100LL, 86400000000LL, 0LL, 100LL},
    {100LL, -86400000000LL, -1LL, -86399999900LL},
    {100LL, 9223372036854775807LL, 0LL, 100LL},
    {100LL, INT64_MIN, -1LL, -9223372036854775708LL},
    {100LL, -9223372036854775807LL, -1LL, -9223372036854775707LL},
    {-100LL, 1LL, -100LL, 0LL},
    {-100LL, -1LL, 100LL, 0LL},
    {-100LL, 2LL, -50LL, 0LL},
    {-100LL, -2LL, 50LL, 0LL},
    {-100LL, 3LL, -34LL, 2LL},
    {-100LL, -3LL, 33LL, -1LL},
    {-100LL, 7LL, -15LL, 5LL},
    {-100LL, -7LL, 14LL, -2LL},
    {-100LL, 10LL, -10LL, 0LL},
    {-100LL, -10LL, 10LL, 0LL},
    {-100LL, 86400000000LL, -1LL, 86399999900LL},
    {-100LL, -86400000000LL, 0LL, -100LL},
    {-100LL, 9223372036854775807LL, -1LL, 9223372036854775707LL},
    {-100LL, INT64_MIN, 0LL, -100LL},
    {-100LL, -9223372036854775807LL, 0LL, -100LL},
    {12345678901LL, 1LL, 12345678901LL, 0LL},
    {12345678901LL, -1LL, -12345678901LL, 0LL},
    {12345678901LL, 2LL, 6172839450LL, 1LL},
    {12345678901LL, -2LL, -6172839451LL, -1LL},
    {12345678901LL, 3LL, 4115226300LL, 1LL},
    {12345678901LL, -3LL, -4115226301LL, -2LL},
    {12345678901LL, 7LL, 1763668414LL, 3LL},
    {12345678901LL, -7LL, -1763668415LL, -4LL},
    {12345678901LL, 10LL, 1234567890LL, 1LL},
    {12345678901LL, -10LL, -1234567891LL, -9LL},
    {12345678901LL, 86400000000LL, 0LL, 12345678901LL},
    {12345678901LL, -86400000000LL, -1LL, -74054321099LL},
    {12345678901LL, 9223372036854775807LL, 0LL, 12345678901LL},
    {12345678901LL, INT64_MIN, -1LL, -9223372024509096907LL},
    {12345678901LL, -9223372036854775807LL, -1LL, -9223372024509096906LL},
    {-12345678901LL, 1LL, -12345678901LL, 0LL},
    {-12345678901LL, -1LL, 12345678901LL, 0LL},
    {-12345678901LL, 2LL, -6172839451LL, 1LL},
    {-12345678901LL, -2LL, 6172839450LL, -1LL},
    {-12345678901LL, 3LL, -4115226301LL, 2LL},
    {-12345678901LL, -3LL, 4115226300LL, -1LL},
    {-12345678901LL, 7LL, -1763668415LL, 4LL},
    {-12345678901LL, -7LL, 1763668414LL, -3LL},
    {-12345678901LL, 10LL, -1234567891LL, 9LL},
    {-12345678901LL, -10LL, 1234567890LL, -1LL},
    {-12345678901LL, 86400000000LL, -1LL, 74054321099LL},
    {-12345678901LL, -86400000000LL, 0LL, -12345678901LL},
    {-12345678901LL, 9223372036854775807LL, -1LL, 9223372024509096906LL},
    {-12345678901LL, INT64_MIN, 0LL, -12345678901LL},
    {-12345678901LL, -9223372036854775807LL, 0LL, -12345678901LL},
    {9223372036854775807LL, 1LL, 9223372036854775807LL, 0LL},
    {9223372036854775807LL, -1LL, -9223372036854775807LL, 0LL},
    {9223372036854775807LL, 2LL, 4611686018427387903LL, 1LL},
    {9223372036854775807LL, -2LL, -4611686018427387904LL, -1LL},
    {9223372036854775807LL, 3LL, 3074457345618258602LL, 1LL},
    {9223372036854775807LL, -3LL, -3074457345618258603LL, -2LL},
    {9223372036854775807LL, 7LL, 1317624576693539401LL, 0LL},
    {9223372036854775807LL, -7LL, -1317624576693539401LL, 0LL},
    {9223372036854775807LL, 10LL, 922337203685477580LL, 7LL},
    {9223372036854775807LL, -10LL, -922337203685477581LL, -3LL},
    {9223372036854775807LL, 86400000000LL, 106751991LL, 14454775807LL},
    {9223372036854775807LL, -86400000000LL, -106751992LL, -71945224193LL},
    {9223372036854775807LL, 9223372036854775807LL, 1LL, 0LL},
    {9223372036854775807LL, INT64_MIN, -1LL, -1LL},
    {9223372036854775807LL, -9223372036854775807LL, -1LL, 0LL},
    {INT64_MIN, 1LL, INT64_MIN, 0LL},
    {INT64_MIN, 2LL, -4611686018427387904LL, 0LL},
    {INT64_MIN, -2LL, 4611686018427387904LL, 0LL},
    {INT64_MIN, 3LL, -3074457345618258603LL, 1LL},
    {INT64_MIN, -3LL, 3074457345618258602LL, -2LL},
    {INT64_MIN, 7LL, -1317624576693539402LL, 6LL},
    {INT64_MIN, -7LL, 1317624576693539401LL, -1LL},
    {INT64_MIN, 10LL, -922337203685477581LL, 2LL},
    {INT64_MIN, -10LL, 922337203685477580LL, -8LL},
    {INT64_MIN, 86400000000LL, -106751992LL, 71945224192LL},
    {INT64_MIN, -86400000000LL, 106751991LL, -14454775808LL},
    {INT64_MIN, 9223372036854775807LL, -2LL, 9223372036854775806LL},
    {INT64_MIN, INT64_MIN, 1LL, 0LL},
    {INT64_MIN, -9223372036854775807LL, 1LL, -1LL},
    {9223372036854775806LL, 1LL, 9223372036854775806LL, 0LL},
    {9223372036854775806LL, -1LL, -9223372036854775806LL, 0LL},
    {9223372036854775806LL, 2LL, 4611686018427387903LL, 0LL},
    {9223372036854775806LL, -2LL, -4611686018427387903LL, 0LL},
    {9223372036854775806LL, 3LL, 3074457345618258602LL, 0LL},
    {9223372036854775806LL, -3LL, -3074457345618258602LL, 0LL},
    {9223372036854775806LL, 7LL, 1317624576693539400LL, 6LL},
    {9223372036854775806LL, -7LL, -1317624576693539401LL, -1LL},
    {9223372036854775806LL, 10LL, 922337203685477580LL, 6LL},
    {9223372036854775806LL, -10LL, -922337203685477581LL, -4LL},
    {9223372036854775806LL, 86400000000LL, 106751991LL, 14454775806LL},
    {9223372036854775806LL, -86400000000LL, -106751992LL, -71945224194LL},
    {9223372036854775806LL, 9223372036854775807LL, 0LL, 9223372036854775806LL},
    {9223372036854775806LL, INT64_MIN, -1LL, -2LL},
    {9223372036854775806LL, -9223372036854775807LL, -1LL, -1LL},
    {-9223372036854775807LL, 1LL, -9223372036854775807LL, 0LL},
    {-9223372036854775807LL, -1LL, 9223372036854775807LL, 0LL},
    {-9223372036854775807LL, 2LL, -4611686018427387904LL, 1LL},
    {-9223372036854775807LL, -2LL, 4611686018427387903LL, -1LL},
    {-9223372036854775807LL, 3LL, -3074457345618258603LL, 2LL},
    {-9223372036854775807LL, -3LL, 3074457345618258602LL, -1LL},
    {-9223372036854775807LL, 7LL, -1317624576693539401LL, 0LL},
    {-9223372036854775807LL, -7LL, 1317624576693539401LL, 0LL},
    {-9223372036854775807LL, 10LL, -922337203685477581LL, 3LL},
    {-9223372036854775807LL, -10LL, 922337203685477580LL, -7LL},
    {-9223372036854775807LL, 86400000000LL, -106751992LL, 71945224193LL},
    {-9223372036854775807LL, -86400000000LL, 106751991LL, -14454775807LL},
    {-9223372036854775807LL, 9223372036854775807LL, -1LL, 0LL},
    {-9223372036854775807LL, INT64_MIN, 0LL, -9223372036854775807LL},
    {-9223372036854775807LL, -9223372036854775807LL, 1LL, 0LL},
  };
  for (const V& v : vectors) {
    if (!CHECK_EQ(floor_div(v.a, v.b), v.q) || !CHECK_EQ(floor_mod(v.a, v.b), v.r)) {
      std::fprintf(stderr, "  a=%lld b=%lld\n", static_cast<long long>(v.a), static_cast<long long>(v.b));
    }
  }
  CHECK_EQ(floor_mod(std::numeric_limits<int64_t>::min(), -1), 0);
  CHECK_EQ(floor_mod(std::numeric_limits<int64_t>::max(), -1), 0);
  CHECK_EQ(floor_div(std::numeric_limits<int64_t>::max(), -1), -std::numeric_limits<int64_t>::max());
}

TEST_CASE(floor_div_mod_identity) {
  for (int64_t a = -60; a <= 60; ++a) {
    for (int64_t b = -9; b <= 9; ++b) {
      if (b == 0) continue;
      const int64_t q = floor_div(a, b);
      const int64_t r = floor_mod(a, b);
      CHECK_EQ(q * b + r, a);
      CHECK(b > 0 ? (r >= 0 && r < b) : (r <= 0 && r > b));
    }
  }
}

// ---------------------------------------------------------------------------
// Byte-level strings
// ---------------------------------------------------------------------------

TEST_CASE(utf8_length_matches_python_len) {
  // Python: len(u) for u.encode("utf-8")
  struct V { const char* s; size_t n; int64_t expect; };
  const V vectors[] = {
    {"", 0, 0},
    {"abc", 3, 3},
    {"h\xc3\xa9llo", 6, 5},
    {"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 9, 3},
    {"\xf0\x9f\x98\x80", 4, 1},
    {"a\xf0\x9f\x98\x80""b\xc3\xa9\xe6\x97\xa5", 11, 5},
    {"\x00", 1, 1},
    {"\xc3\xbf\xc3\xbf\xc3\xbf\xc3\xbf\xc3\xbf", 10, 5},
    {"Stra\xc3\x9f""e", 7, 6},
  };
  for (const V& v : vectors) CHECK_EQ(utf8_length(v.s, v.n), v.expect);
  CHECK_EQ(utf8_length(nullptr, 0), 0);
  // Every byte value: continuation bytes 0x80..0xBF are the only ones not counted.
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    CHECK_EQ(utf8_length(&c, 1), (b >= 0x80 && b <= 0xBF) ? 0 : 1);
  }
  CHECK_EQ(utf8_length("ab", 1), 1);  // only n bytes are read
}

TEST_CASE(ascii_case_mapping) {
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    char lo = 0, up = 0;
    ascii_lower(&c, 1, &lo);
    ascii_upper(&c, 1, &up);
    const int expect_lo = (b >= 'A' && b <= 'Z') ? b + 32 : b;
    const int expect_up = (b >= 'a' && b <= 'z') ? b - 32 : b;
    CHECK_EQ(static_cast<unsigned char>(lo), static_cast<unsigned char>(expect_lo));
    CHECK_EQ(static_cast<unsigned char>(up), static_cast<unsigned char>(expect_up));
  }
  const std::string src = "Hello, W\xc3\x96rld! [az@AZ`{]";
  std::string out(src.size(), '\0');
  ascii_lower(src.data(), src.size(), &out[0]);
  CHECK_EQ(out, std::string("hello, w\xc3\x96rld! [az@az`{]"));
  ascii_upper(src.data(), src.size(), &out[0]);
  CHECK_EQ(out, std::string("HELLO, W\xc3\x96RLD! [AZ@AZ`{]"));
  std::string in_place = src;
  ascii_lower(in_place.data(), in_place.size(), &in_place[0]);
  CHECK_EQ(in_place, std::string("hello, w\xc3\x96rld! [az@az`{]"));
  ascii_lower(nullptr, 0, nullptr);
}

TEST_CASE(ascii_strip_table) {
  struct V { std::string s; size_t begin; size_t len; };
  const V vectors[] = {
      {"", 0, 0},
      {"abc", 0, 3},
      {"  abc  ", 2, 3},
      {" \t\n\v\f\rx y\r\f\v\n\t ", 6, 3},
      {"   ", 0, 0},
      {"\t", 0, 0},
      {std::string("\0 a", 3), 0, 3},   // NUL is not stripped
      {"\x1c" "a\x1f", 0, 3},           // nor the ASCII separators Python's str.strip would take
      {"\xc2\xa0" "a", 0, 3},           // nor U+00A0
      {" a", 1, 1},
      {"a ", 0, 1},
  };
  for (const V& v : vectors) {
    size_t begin = 99, len = 99;
    ascii_strip(v.s.data(), v.s.size(), &begin, &len);
    CHECK_EQ(len, v.len);
    if (v.len != 0) CHECK_EQ(begin, v.begin);
    CHECK(begin + len <= v.s.size());
  }
  size_t begin = 99, len = 99;
  ascii_strip(nullptr, 0, &begin, &len);
  CHECK_EQ(begin, 0u);
  CHECK_EQ(len, 0u);
}

// ---------------------------------------------------------------------------
// Formatting
// ---------------------------------------------------------------------------

TEST_CASE(format_int64_values) {
  CHECK_EQ(int_str(0), "0");
  CHECK_EQ(int_str(1), "1");
  CHECK_EQ(int_str(-1), "-1");
  CHECK_EQ(int_str(42), "42");
  CHECK_EQ(int_str(-999), "-999");
  CHECK_EQ(int_str(1000000), "1000000");
  CHECK_EQ(int_str(std::numeric_limits<int64_t>::max()), "9223372036854775807");
  CHECK_EQ(int_str(std::numeric_limits<int64_t>::min()), "-9223372036854775808");
  Rng rng{99};
  for (int i = 0; i < 20000; ++i) {
    const int64_t v = static_cast<int64_t>(rng.next()) >> (rng.next() % 64);
    const std::string s = int_str(v);
    CHECK_EQ(s, std::to_string(v));
    int64_t back = 0;
    CHECK(parse_int64(s.data(), s.size(), &back));
    CHECK_EQ(back, v);
  }
}

TEST_CASE(format_double_repr_python) {
  // Python: repr(struct.unpack("<d", bits)[0])
  struct V { uint64_t bits; const char* expect; };
  const V vectors[] = {
    {0x0000000000000000ULL, "0.0"},
    {0x8000000000000000ULL, "-0.0"},
    {0x3FF0000000000000ULL, "1.0"},
    {0xBFF0000000000000ULL, "-1.0"},
    {0x3FB999999999999AULL, "0.1"},
    {0x3FC999999999999AULL, "0.2"},
    {0x3FD3333333333333ULL, "0.3"},
    {0x3FD3333333333334ULL, "0.30000000000000004"},
    {0x3FD5555555555555ULL, "0.3333333333333333"},
    {0x3FE5555555555555ULL, "0.6666666666666666"},
    {0x3FE0000000000000ULL, "0.5"},
    {0x3FF8000000000000ULL, "1.5"},
    {0x4004000000000000ULL, "2.5"},
    {0x4024000000000000ULL, "10.0"},
    {0x4059000000000000ULL, "100.0"},
    {0x405EC00000000000ULL, "123.0"},
    {0x405EDD2F1A9FBE77ULL, "123.456"},
    {0x430C6BF526340000ULL, "1000000000000000.0"},
    {0x4341C37937E08000ULL, "1e+16"},
    {0xC341C37937E08000ULL, "-1e+16"},
    {0x4341C37937E07FFFULL, "9999999999999998.0"},
    {0x4341C37937E08001ULL, "1.0000000000000002e+16"},
    {0x437B69B4BA630F35ULL, "1.2345678901234568e+17"},
    {0x43118B54F22AEB03ULL, "1234567890123456.8"},
    {0x430C6BF52633FFFFULL, "999999999999999.9"},
    {0x3F1A36E2EB1C432DULL, "0.0001"},
    {0x3EE4F8B588E368F1ULL, "1e-05"},
    {0x3F202E4B6CE5DC68ULL, "0.00012345"},
    {0x3EE9E3ABE16FC70DULL, "1.2345e-05"},
    {0x3EEF75104D551D69ULL, "1.5e-05"},
    {0xBEEF75104D551D69ULL, "-1.5e-05"},
    {0x3F50624DD2F1A9FCULL, "0.001"},
    {0x3F847AE147AE147BULL, "0.01"},
    {0x3E7AD7F29ABCAF48ULL, "1e-07"},
    {0x444B1AE4D6E2EF50ULL, "1e+21"},
    {0x4480F0CF064DD592ULL, "1e+22"},
    {0x44B52D02C7E14AF6ULL, "1e+23"},
    {0x54B249AD2594C37DULL, "1e+100"},
    {0xAB2BFF2EE48E0530ULL, "-1e-100"},
    {0x7E37E43C8800759CULL, "1e+300"},
    {0x01A56E1FC2F8F359ULL, "1e-300"},
    {0x0000000000000001ULL, "5e-324"},
    {0x8000000000000001ULL, "-5e-324"},
    {0x0000000000000002ULL, "1e-323"},
    {0x0010000000000000ULL, "2.2250738585072014e-308"},
    {0x000FFFFFFFFFFFFFULL, "2.225073858507201e-308"},
    {0x7FEFFFFFFFFFFFFFULL, "1.7976931348623157e+308"},
    {0xFFEFFFFFFFFFFFFFULL, "-1.7976931348623157e+308"},
    {0x4340000000000000ULL, "9007199254740992.0"},
    {0x4340000000000001ULL, "9007199254740994.0"},
    {0x43E0000000000000ULL, "9.223372036854776e+18"},
    {0x43F0000000000000ULL, "1.8446744073709552e+19"},
    {0x4330000000000000ULL, "4503599627370496.0"},
    {0x400921FB54442D18ULL, "3.141592653589793"},
    {0x4005BF0A8B145769ULL, "2.718281828459045"},
    {0x4011666666666666ULL, "4.35"},
    {0x41B1DE784A000000ULL, "299792458.0"},
    {0x44DFE185CA57C517ULL, "6.02214076e+23"},
    {0x3C07A4DA290C1653ULL, "1.602176634e-19"},
    {0x3FF0000000000001ULL, "1.0000000000000002"},
    {0x3FEFFFFFFFFFFFFFULL, "0.9999999999999999"},
    {0x3FEFE00000000000ULL, "0.99609375"},
    {0x3F50000000000000ULL, "0.0009765625"},
    {0x3F33A92A30553262ULL, "0.00030000000000000003"},
    {0x3F1A36E2EB1C432CULL, "9.999999999999999e-05"},
    {0x3C36B082C2148B8EULL, "1.23e-18"},
    {0x3E080D43DE9CC603ULL, "7e-10"},
    {0x7FF0000000000000ULL, "inf"},
    {0xFFF0000000000000ULL, "-inf"},
    {0x7FF8000000000000ULL, "nan"},
    {0xFFF8000000000000ULL, "nan"},
    {0x3F1A302CEE759402ULL, "9.990000000000002e-05"},
    {0x40F0000000000000ULL, "65536.0"},
    {0x41F0000000000000ULL, "4294967296.0"},
    {0x7FEE42D130773B76ULL, "1.7e+308"},
    {0x0011FA182C40C60DULL, "2.5e-308"},
    {0x4BCC76652C1748ADULL, "1.395796019894277e+57"},
    {0xDB9DF445B00A125CULL, "-2.1261585983445826e+133"},
    {0xABA1801E02512C34ULL, "-1.6002242178721232e-98"},
    {0x27E6126E34B473F5ULL, "1.750544915010024e-116"},
    {0x85DCD1C5B9809E90ULL, "-1.984583314347032e-280"},
    {0xEB5C95B00A844EE3ULL, "-1.4683544761343836e+209"},
    {0xCEEFA1B9951DCDA5ULL, "-1.7465138582465138e+72"},
    {0xF58A9C0FA968DDFFULL, "-1.5981769980689724e+258"},
    {0xB16059D8FF1FBB59ULL, "-7.403455649767157e-71"},
    {0x7520465E9822D996ULL, "1.527299277499233e+256"},
    {0x7ABEA3CA0997A470ULL, "1.779761837787144e+283"},
    {0xBCF0427BBC05C70CULL, "-3.610378782175758e-15"},
    {0x055DF180F0C2E611ULL, "8.0546155339001e-283"},
    {0xF954EE5EA38B0616ULL, "-2.8987365368992904e+276"},
    {0xB98577591F09BFA5ULL, "-1.3229569397646621e-31"},
    {0xC4A94435BDDF7956ULL, "-5.965870658286011e+22"},
    {0x41370F1638B98793ULL, "1511190.2215809568"},
    {0x020CFBD8307E89DEULL, "8.655838646793903e-299"},
    {0x6513BC21AA81A4D4ULL, "7.997092570633704e+178"},
    {0xE11BBDF27B65735BULL, "-6.09417881115024e+159"},
    {0x4C7E85DD16BCCA1FULL, "3.065526058789035e+60"},
    {0x57842E30B89F7EC9ULL, "3.8825657441533455e+113"},
    {0xA97076D1C4CE1C3FULL, "-4.381477484742809e-109"},
    {0x717F5935883C9922ULL, "5.103322045587597e+238"},
    {0xA42ED2511FCAC144ULL, "-2.120246853023369e-134"},
    {0x2D5B3045356E1FB4ULL, "3.336779069810015e-90"},
    {0x1EA2783736615239ULL, "4.1053448272582305e-161"},
    {0xD8D5088283CC72C1ULL, "-8.486419577341559e+119"},
    {0x41D29E576E3775ADULL, "1249467832.8665574"},
    {0x9647C19C5E0227DCULL, "-2.4246640221814758e-201"},
    {0x30C7829986937EEDULL, "1.0395528311755449e-73"},
    {0x53741EB46A0C26C1ULL, "1.0492170865285287e+94"},
    {0x107959E9991BDCB9ULL, "2.612655741618406e-229"},
    {0xEEBEFF3BE54AB9F5ULL, "-2.8683790706869313e+225"},
    {0xF5BEAD2A2E3B7361ULL, "-1.4739441663686132e+259"},
    {0x516133F08D022A83ULL, "1.0443599321824234e+84"},
    {0xE19C3C12A357D7EDULL, "-1.5878162329106618e+162"},
    {0x8AD0BF7821E082CAULL, "-1.394263176978144e-256"},
    {0xA20013831DC622FAULL, "-6.437185429463435e-145"},
    {0x400B1DEB5777A851ULL, "3.389609034861714"},
    {0xCD083BD8225F21F8ULL, "-1.2461491731628545e+63"},
    {0x724AFB4C366E26BAULL, "3.598278186932776e+242"},
    {0x1FB16D645F62869FULL, "5.077298320240883e-156"},
    {0x825A294FD55F08DFULL, "-2.5001429963771965e-297"},
    {0xD5EBFC2C0C592F70ULL, "-8.022958355552514e+105"},
    {0x8F2EDF7572218AA9ULL, "-1.5171573683520556e-235"},
    {0xC081B77B39412AF8ULL, "-566.9351677981604"},
    {0xE9B1C29575FCC589ULL, "-1.3594472444521305e+201"},
    {0xECA39967C2C42C09ULL, "-2.1113787066767087e+215"},
    {0x5472E184F9CC735AULL, "6.452709284063788e+98"},
    {0x316E4F3E24747FECULL, "1.3723674254337576e-70"},
    {0x66832C9F430561CAULL, "6.517889246014544e+185"},
    {0x30B19A33EB5C1439ULL, "3.891632701106455e-74"},
    {0x2796D7E4CABD15ACULL, "5.661626483334562e-118"},
    {0x0A10816DC13927B9ULL, "3.354706811783675e-260"},
    {0x205A68B3EC6DD11BULL, "7.878691447102238e-153"},
    {0x87803CFF6438065BULL, "-1.5008377458931486e-272"},
    {0x74FCF388F799CFF5ULL, "3.396131832925561e+255"},
    {0xB49803294857F3C2ULL, "-2.4482482199830455e-55"},
    {0x6BA22F409F6215FFULL, "2.989167535193013e+210"},
    {0x139E40D5555555A6ULL, "3.5103886919884133e-214"},
    {0x0FEBFB12009D0ED2ULL, "5.632129100365621e-232"},
    {0x9482969D71EFAB64ULL, "-7.067627251051978e-210"},
    {0xB0B74003F2BDCFEBULL, "-5.140260843287808e-74"},
    {0x635281FC07FA61CAULL, "2.7939024156354063e+170"},
    {0xD34C6922F56B458DULL, "-1.8519551035009959e+93"},
    {0x89AD0EB6C0A1D2D0ULL, "-4.6139371496440194e-262"},
    {0xB15D22F38E9C2D48ULL, "-6.5962763765564745e-71"},
    {0xBAA105AA0659BB80ULL, "-2.7500727147475143e-26"},
    {0xC2125AAC80330901ULL, "-19707666444.758793"},
    {0xA18F2B156F450A88ULL, "-4.8751186062814773e-147"},
    {0xC3FE99A2C09281F9ULL, "-3.5279559048799687e+19"},
    {0x50FB943D085B1E4EULL, "1.3080316093805894e+82"},
    {0x6A300C1B00964888ULL, "3.1445514629940146e+203"},
    {0x6776F087E55AB07AULL, "2.5551865814447722e+190"},
    {0xC1CC27EB044B88EBULL, "-944756232.5901159"},
    {0x05AEDDEABE90370FULL, "2.6569694417109143e-281"},
    {0x7E825A78DBC062DBULL, "2.4582291499712517e+301"},
    {0x7086863500496C64ULL, "1.1190175933451984e+234"},
    {0xEC2C3FE2385410C5ULL, "-1.18877159184137e+213"},
    {0x50532C8C0DF5FD9AULL, "8.880795663161349e+78"},
    {0xE478D076E23DB3BCULL, "-9.819734798995073e+175"},
    {0x91A764213F5DC620ULL, "-1.2638760260266669e-223"},
    {0xA66FA2D20A5D14E0ULL, "-1.4955247246933488e-123"},
    {0xE423034FEC0CB761ULL, "-2.351238827008352e+174"},
    {0x2193E7EBDD8BA423ULL, "6.227086174162235e-147"},
    {0x0CE0D43856ADA9D3ULL, "1.2034594857040656e-246"},
    {0x32AD771CB09AD814ULL, "1.3989478842269389e-64"},
    {0x45DCF3EA77D030B2ULL, "3.5841825972340957e+28"},
    {0x0FDAE90FBBDFE8BEULL, "2.708341659540496e-232"},
    {0x646DAB3AEC1805AAULL, "5.870410393723688e+175"},
    {0xE1EEE042D4CE68C9ULL, "-5.5563420495317264e+163"},
    {0x92CE53CC0956A3F5ULL, "-4.295634871926153e-218"},
    {0x531BBBFE52816A93ULL, "2.2598347003322167e+92"},
    {0x9D83EFB56C3739A7ULL, "-1.6904343856617212e-166"},
    {0xD15935D617241F59ULL, "-7.652384641892236e+83"},
    {0x319934841AB85350ULL, "9.129986631758232e-70"},
    {0x6D668778B9FC0FB5ULL, "9.941052411305334e+218"},
    {0x1EAAC0FFBBB68A85ULL, "5.946747015297537e-161"},
    {0xAD036F89C1EE372FULL, "-7.454034926948722e-92"},
    {0x0C632F76A81B2549ULL, "5.359256586529774e-249"},
    {0x6A2019BE89795CE0ULL, "1.5774956476175173e+203"},
    {0x7723D7B7BB441A33ULL, "7.997712735111883e+265"},
    {0x0767EB687D1CBEE9ULL, "5.5269709849317775e-273"},
    {0x4C7B68CE5C0BE31BULL, "2.752825356067032e+60"},
    {0x128A17566C235628ULL, "2.3097586301700917e-219"},
    {0x4925914C4FB23C77ULL, "2.404864490118006e+44"},
    {0xACCFFDDC1CE25487ULL, "-7.668454609515404e-93"},
    {0x9FCDEE5FAB0E238BULL, "-1.744036678865648e-155"},
    {0xDDC5DE8882597E2AULL, "-5.333622138266485e+143"},
    {0x1C061CD40CD08DD6ULL, "1.117564323643173e-173"},
    {0xE3D8DBAE237BF455ULL, "-9.606516027048593e+172"},
    {0xBC6329795BFB4ECFULL, "-8.310196301068112e-18"},
    {0xC76DED3B345476FBULL, "-1.2431058450439675e+36"},
    {0xE4EA4002E483CF2BULL, "-1.3296504740596753e+178"},
    {0x81D63A4AF08DFC47ULL, "-8.297723728765139e-300"},
    {0x2829ACB5FFB10DD2ULL, "3.2580386837736334e-115"},
    {0x5F78D29557BBDF34ULL, "8.125403718878464e+151"},
    {0x1F03834FB4F1A964ULL, "2.7758430050355055e-159"},
    {0x688D180D54EC9E73ULL, "4.2476619148361627e+195"},
    {0x41C8D5D656885D2EULL, "833334445.0653436"},
    {0x4381E375F8EBE148ULL, "1.6112545379098035e+17"},
    {0xC0470E346F472408ULL, "-46.11097517942113"},
    {0x3FA47F979B56688EULL, "0.040035951339818174"},
    {0xC2CA88C224F9EF37ULL, "-58349350155230.43"},
    {0x4330FCCB72FAD7B9ULL, "4781550364972985.0"},
    {0xBF30891279D3F339ULL, "-0.0002523107630876712"},
    {0xBED78D44D009538FULL, "-5.615194141291102e-06"},
    {0x40DBDA0E0B1014CAULL, "28520.219425220777"},
    {0x43CDD093C64E4D9AULL, "4.2967590043644856e+18"},
    {0x401E1B5D68611A28ULL, "7.526723509718558"},
    {0xC3978B879F6EBD81ULL, "-4.2414970086564666e+17"},
    {0x41F58A04DFAD0C3CULL, "5781868026.815487"},
    {0xC2985EF6E4475808ULL, "-6699037037014.008"},
    {0xC04B0B11FF3C9352ULL, "-54.08648672540461"},
    {0xC0B3718DC9BBECE6ULL, "-4977.553859467827"},
    {0xC01E749C69119BABULL, "-7.613877908420288"},
    {0xBEA0EDA969730CE2ULL, "-5.045046290941985e-07"},
    {0xBF70C46BD79F58AEULL, "-0.004093571909797129"},
    {0xBE92EB2517EB9ADDULL, "-2.8190813587543653e-07"},
    {0xC023FF97B42E4486ULL, "-9.999204283378514"},
    {0xC12627D63CFE81A1ULL, "-725995.1191292295"},
    {0xC3969CDE10EBF422ULL, "-4.073553323651913e+17"},
    {0xBFEAE059BF19A1EDULL, "-0.8398865444588047"},
    {0xBF4F304A65D156BEULL, "-0.0009518016119140699"},
    {0x42B2C2FAE9F3D6F0ULL, "20628642591702.938"},
    {0x3FE8F7D0CE4D4468ULL, "0.7802509335835"},
    {0xC3C834E1B9D10235ULL, "-3.4885342877820134e+18"},
    {0x4043227AE8C18FE3ULL, "38.26937589122078"},
    {0xBEC4BA62811163C0ULL, "-2.470977968499201e-06"},
    {0xC022DDC7977AC8C1ULL, "-9.43316338895636"},
    {0xC27EC5B7D60C2380ULL, "-2114658853058.2188"},
    {0x3F85870E2A66C76CULL, "0.010511503857603542"},
    {0xC2026B2C91F12E56ULL, "-9888436798.147625"},
    {0x4080C09AC9D43E3FULL, "536.0755802709099"},
    {0xC1D90A12284D4F08ULL, "-1680361633.2079487"},
    {0xC1FF3E86FBBA8851ULL, "-8387063739.65828"},
    {0xC1906579FAB06165ULL, "-68771454.67224653"},
    {0x4318B417AE15052BULL, "1738353309729098.8"},
    {0x41EE46E9E18CACE2ULL, "4063710988.396104"},
    {0x4054286323C5C22EULL, "80.63105100929599"},
    {0x3F093220DA6BEB69ULL, "4.805720100438985e-05"},
    {0x40F4C553361577B6ULL, "85077.20070406687"},
    {0xC1AB9839A54B999AULL, "-231480530.64765626"},
    {0x4074E46ECB4550B7ULL, "334.2770493228558"},
    {0x3F4DA7ED0B764CEBULL, "0.0009050280995545312"},
    {0x43DC42A802C76139ULL, "8.145498845653296e+18"},
    {0x426AFE680E2EC999ULL, "927499055478.2999"},
    {0xBEEE82A25568139FULL, "-1.4548439748027402e-05"},
    {0xBF50AE2E82F6607FULL, "-0.001018090650040576"},
    {0x40AD43B3506AC774ULL, "3745.850222908828"},
    {0x3F27AD1AA6D3A4BAULL, "0.00018063497865420335"},
    {0xBEA3E97EBFBBEFDFULL, "-5.934265341063296e-07"},
    {0x3F1037CBF8FC2EC2ULL, "6.186659288348175e-05"},
    {0x438514F4B4859372ULL, "1.898885038128779e+17"},
    {0x43A3DF958E6B5A27ULL, "7.16013822723036e+17"},
    {0xC2CD996A0F2B691BULL, "-65089493161682.21"},
    {0xBF3A23CD28338593ULL, "-0.0003988624450369179"},
    {0x40A3E37C6FDC8768ULL, "2545.7430409350673"},
    {0xC2974C4A8814F3FEULL, "-6404108846396.998"},
    {0x4144046542C19E38ULL, "2623690.5215337537"},
    {0xC0213D596D258EDAULL, "-8.61982289393875"},
    {0x4132C2C5CF44352AULL, "1229509.8096345165"},
    {0xC26CCC3F497A521FULL, "-989486271442.5663"},
    {0x3E9D113C395AA3C4ULL, "4.3313689821827716e-07"},
    {0x42615A0F677B3F84ULL, "596203224025.9849"},
    {0x3E8DB979AD555FEDULL, "2.2146487902818588e-07"},
    {0xC33BB6E777F68735ULL, "-7800929637533493.0"},
    {0xC1270D95913E1D23ULL, "-755402.7836770158"},
    {0xC350D3E281E76E26ULL, "-1.8946277691472024e+16"},
    {0x3ECB7B730A49FCF4ULL, "3.2761364130992093e-06"},
    {0x43785E546F91C8CDULL, "1.0974585893031445e+17"},
    {0x40F750BED9798B92ULL, "95499.92809443016"},
    {0xC2346371DF3ABA08ULL, "-87567753018.72668"},
    {0xC0A814CDEFC16F9EULL, "-3082.402219815135"},
    {0xBF4578389BA61463ULL, "-0.0006552006155266073"},
    {0x424422D931CC210DULL, "172968010648.2582"},
    {0x437124CF3947A4E5ULL, "7.720875267052706e+16"},
    {0xC0D10721BDC515BCULL, "-17436.527207633233"},
    {0x4042E8E0CD4D4E5FULL, "37.81936041140283"},
    {0x420958C1FABC3547ULL, "13607911255.526014"},
    {0x3E987EA0337A1AC5ULL, "3.649984594362463e-07"},
    {0xBF7600A4DCFBE8CFULL, "-0.00537170791334969"},
    {0xBFA7832D5C981169ULL, "-0.04592267756746333"},
    {0xC2B1259DDDE1B807ULL, "-18853260026296.027"},
    {0x41201EAAF663C3FDULL, "528213.481229901"},
    {0xC3D9193E0B44D666ULL, "-7.234179773945715e+18"},
    {0xC3227F013AD79CE3ULL, "-2603096419847793.5"},
    {0xC159E1EE3E5C06CBULL, "-6784952.974366854"},
    {0xC15D6F60C7D3B558ULL, "-7716227.122296654"},
    {0x43C12BD17F62F194ULL, "2.474625735388768e+18"},
    {0xC3C00FD087BF0F72ULL, "-2.3147458214042593e+18"},
    {0xBFFC9F50BCE49575ULL, "-1.788895357001221"},
    {0xC201A1CD61CD1B35ULL, "-9466129465.638285"},
    {0x3F54AEB2201CF783ULL, "0.0012623538500089188"},
    {0xC0DACD8627138A27ULL, "-27446.09613502971"},
    {0xC10D288193ACBEC0ULL, "-238864.1971068289"},
    {0x40F322348B8BC848ULL, "78371.28406885371"},
    {0x41C649CDF36F9B8AULL, "747871206.8719342"},
    {0x42F21F007B6BE6C0ULL, "318789781995116.0"},
    {0x3EA7B33F115F6FE3ULL, "7.063204374674133e-07"},
    {0x400ADF98B04EA44EULL, "3.3591779493331506"},
    {0x422CA2ED2065EB66ULL, "61496266802.95976"},
    {0x4139CB132CA4D582ULL, "1690387.1743901675"},
    {0x436F0A3470038679ULL, "6.9895556895093704e+16"},
    {0xC22E767F14AEB3D5ULL, "-65418529367.351234"},
    {0xC39A28EE0C689A12ULL, "-4.712545452791246e+17"},
    {0xBF4216987BB84102ULL, "-0.0005520100161806876"},
    {0xC3DAEE273A1905C8ULL, "-7.762126479698633e+18"},
    {0xC129FFDA3FCF8650ULL, "-851949.1246301625"},
    {0xC305DA3D660A768EULL, "-768866468843217.8"},
    {0x3F4A9BBF1BCF04A9ULL, "0.0008120234630199136"},
    {0xC182ACD202BE1B58ULL, "-39164480.34282559"},
    {0x41D0F984500CCEC8ULL, "1139151168.200121"},
    {0xC22F03C0564B00A5ULL, "-66603461413.50126"},
    {0x40B2A2CCD9BA3DC0ULL, "4770.800197258068"},
    {0xBEC7A11FDDBD6C67ULL, "-2.8168430911530275e-06"},
    {0x4162A3E29282A368ULL, "9772820.578447059"},
    {0xC0ABAE836F451DA3ULL, "-3543.2567082976034"},
    {0x41198C479F63CF1EULL, "418577.9056541788"},
    {0x4331B4857B845000ULL, "4983560000000000.0"},
    {0x449FB372CB7C5570ULL, "3.74259e+22"},
    {0x40E22A5333333333ULL, "37202.6"},
    {0x425B2C5A91900000ULL, "466833000000.0"},
    {0x41B6B99C98000000ULL, "381263000.0"},
    {0x40708B645A1CAC08ULL, "264.712"},
    {0x4340C029B594F200ULL, "9429770000000000.0"},
    {0x40AD31B851EB851FULL, "3736.86"},
    {0x401FB1633482BE8CULL, "7.92323"},
    {0x4426BC1110078F52ULL, "2.0969e+20"},
    {0x447027852216C984ULL, "4.76793e+21"},
    {0x412CC6EC00000000ULL, "942966.0"},
    {0x433E24F1BE50BC00ULL, "8484870000000000.0"},
    {0x43321917E522D800ULL, "5094140000000000.0"},
    {0x41727C5940000000ULL, "19383700.0"},
    {0x44154D151A22C6E4ULL, "9.8234e+19"},
    {0x4297BAC8C96E0000ULL, "6522750000000.0"},
    {0x41BC3B4798000000ULL, "473647000.0"},
    {0x41B6499100000000ULL, "373920000.0"},
    {0x40E605CCCCCCCCCDULL, "45102.4"},
    {0x4000FF822BBECAACULL, "2.12476"},
    {0x41C94A0B78000000ULL, "848566000.0"},
    {0x40238DE00D1B7176ULL, "9.7771"},
    {0x4330C9E181361400ULL, "4725570000000000.0"},
    {0x40537676C8B43958ULL, "77.851"},
    {0x442F55E3826C653FULL, "2.89019e+20"},
    {0x4044C3573EAB367AULL, "41.5261"},
    {0x43011BE4C6730000ULL, "601968000000000.0"},
    {0x404C83F141205BC0ULL, "57.0308"},
    {0x4083FE74BC6A7EFAULL, "639.807"},
  };
  for (const V& v : vectors) {
    if (!CHECK_EQ(repr(double_of(v.bits)), v.expect)) {
      std::fprintf(stderr, "  bits=0x%016llx\n", static_cast<unsigned long long>(v.bits));
    }
  }
  // Every NaN payload and sign prints as 'nan'.
  CHECK_EQ(repr(double_of(0x7FF8000000000000ULL)), "nan");
  CHECK_EQ(repr(double_of(0xFFF8000000000000ULL)), "nan");
  CHECK_EQ(repr(double_of(0x7FF0000000000001ULL)), "nan");
  CHECK_EQ(repr(double_of(0xFFFFFFFFFFFFFFFFULL)), "nan");
  // Layout boundaries.
  CHECK_EQ(repr(1e16), "1e+16");
  CHECK_EQ(repr(1.5e-05), "1.5e-05");
  CHECK_EQ(repr(0.0001), "0.0001");
  CHECK_EQ(repr(123.0), "123.0");
  CHECK_EQ(repr(-0.0), "-0.0");
  CHECK_EQ(repr(5e-324), "5e-324");
  CHECK_EQ(repr(1.7976931348623157e308), "1.7976931348623157e+308");
}

TEST_CASE(format_double_repr_round_trip) {
  Rng rng{2024};
  int64_t failures = 0;
  for (int i = 0; i < 200000 && failures < 5; ++i) {
    uint64_t b = rng.next();
    if (i % 2 == 1) {
      // Bias half the samples toward exponents near the layout switch (1e-5 .. 1e17).
      b = (b & 0x800FFFFFFFFFFFFFULL) | (static_cast<uint64_t>(1023 - 20 + rng.next() % 80) << 52);
    }
    const double v = double_of(b);
    if (std::isnan(v)) continue;
    char buf[48];
    const size_t n = format_double_repr(v, buf);
    double back = 0.0;
    const bool ok = n <= 32 && parse_float64(buf, n, &back) && bits_of(back) == b;
    if (!CHECK(ok)) {
      std::fprintf(stderr, "  bits=0x%016llx repr=%.*s\n", static_cast<unsigned long long>(b),
                   static_cast<int>(n), buf);
      ++failures;
    }
  }
}

TEST_CASE(format_timestamp_iso_values) {
  // Python: datetime(1970,1,1) + timedelta(microseconds=us) formatted with 6 fraction
  // digits; outside years 1..9999 the date is shifted by whole 400-year eras.
  struct V { int64_t us; const char* expect; };
  const V vectors[] = {
    {0LL, "1970-01-01T00:00:00.000000Z"},
    {1LL, "1970-01-01T00:00:00.000001Z"},
    {-1LL, "1969-12-31T23:59:59.999999Z"},
    {999999LL, "1970-01-01T00:00:00.999999Z"},
    {1000000LL, "1970-01-01T00:00:01.000000Z"},
    {-1000000LL, "1969-12-31T23:59:59.000000Z"},
    {-1000001LL, "1969-12-31T23:59:58.999999Z"},
    {86399999999LL, "1970-01-01T23:59:59.999999Z"},
    {86400000000LL, "1970-01-02T00:00:00.000000Z"},
    {-86400000000LL, "1969-12-31T00:00:00.000000Z"},
    {-86400000001LL, "1969-12-30T23:59:59.999999Z"},
    {951782400000000LL, "2000-02-29T00:00:00.000000Z"},
    {951868799999999LL, "2000-02-29T23:59:59.999999Z"},
    {1700000000123456LL, "2023-11-14T22:13:20.123456Z"},
    {-2208988800000000LL, "1900-01-01T00:00:00.000000Z"},
    {-12212553600000000LL, "1583-01-01T00:00:00.000000Z"},
    {-62135596800000000LL, "0001-01-01T00:00:00.000000Z"},
    {253402300799999999LL, "9999-12-31T23:59:59.999999Z"},
    {-62135596800000001LL, "0000-12-31T23:59:59.999999Z"},
    {253402300800000000LL, "+10000-01-01T00:00:00.000000Z"},
    {INT64_MIN, "-290308-12-21T19:59:05.224192Z"},
    {9223372036854775807LL, "+294247-01-10T04:00:54.775807Z"},
    {-9223372036854775807LL, "-290308-12-21T19:59:05.224193Z"},
    {9223372036854775806LL, "+294247-01-10T04:00:54.775806Z"},
    {1013609203200000000LL, "+34089-12-30T00:00:00.000000Z"},
    {-62167219200000000LL, "0000-01-01T00:00:00.000000Z"},
    {-62167219200000001LL, "-0001-12-31T23:59:59.999999Z"},
    {-62198755200000000LL, "-0001-01-01T00:00:00.000000Z"},
    {-63549336194963466LL, "-0044-03-15T06:36:45.036534Z"},
    {-93661072376138849LL, "-0999-12-31T19:27:03.861151Z"},
    {-93724105572461960LL, "-1000-01-01T06:13:47.538040Z"},
    {-377673608239423500LL, "-9999-12-31T16:22:40.576500Z"},
    {-377736690309851206LL, "-10000-01-01T13:34:50.148794Z"},
    {-377752694486885680LL, "-10001-06-30T07:58:33.114320Z"},
    {253402330976834209LL, "+10000-01-01T08:22:56.834209Z"},
    {3093527907317887676LL, "+99999-12-31T03:35:17.887676Z"},
    {3093533098034387505LL, "+100000-02-29T05:27:14.387505Z"},
    {-30610141038575615LL, "1000-01-01T23:02:41.424385Z"},
    {-30610277248405100LL, "0999-12-31T09:12:31.594900Z"},
    {-59027035207198389LL, "0099-07-04T17:19:52.801611Z"},
    {-61861389738282357LL, "0009-09-09T16:37:41.717643Z"},
    {-49401832549406022LL, "0404-07-08T12:44:10.593978Z"},
    {-26703780376563711LL, "1123-10-17T11:13:43.436289Z"},
    {-157106214175189LL, "1965-01-08T15:23:05.824811Z"},
    {44524562058336566LL, "3380-12-04T13:54:18.336566Z"},
    {-46271007184377254LL, "0503-09-24T22:26:55.622746Z"},
    {98830622817003782LL, "5101-10-26T22:46:57.003782Z"},
    {54117942079321942LL, "3684-12-05T01:41:19.321942Z"},
    {-61522834732299488LL, "0020-06-02T03:41:07.700512Z"},
    {196819082581643423LL, "8206-12-13T15:23:01.643423Z"},
    {43831710155581636LL, "3358-12-21T11:02:35.581636Z"},
    {157145649857082406LL, "6949-09-30T09:24:17.082406Z"},
    {33142839409257178LL, "3020-04-03T16:16:49.257178Z"},
    {-58075735587694455LL, "0129-08-27T03:13:32.305545Z"},
    {130857306684743366LL, "6116-09-14T03:51:24.743366Z"},
    {102630975790433816LL, "5222-03-31T12:23:10.433816Z"},
    {151482072748895952LL, "6770-04-11T17:32:28.895952Z"},
    {136404423469022615LL, "6292-06-25T21:37:49.022615Z"},
    {83855709354014807LL, "4627-04-14T04:35:54.014807Z"},
    {63468159279646540LL, "3981-03-24T04:14:39.646540Z"},
    {139447660613803617LL, "6388-12-02T13:16:53.803617Z"},
    {28481412870067827LL, "2872-07-15T23:34:30.067827Z"},
    {92512026250562495LL, "4901-08-04T01:04:10.562495Z"},
    {-55951501495827308LL, "0196-12-19T04:15:04.172692Z"},
    {120948632443908826LL, "5802-09-17T10:20:43.908826Z"},
    {169540057739609401LL, "7342-07-06T04:28:59.609401Z"},
    {187582412042969060LL, "7914-04-02T17:34:02.969060Z"},
    {90159819825616786LL, "4827-01-19T10:23:45.616786Z"},
    {101184525899374797LL, "5176-05-30T04:44:59.374797Z"},
    {207871744932003413LL, "8557-03-11T23:22:12.003413Z"},
    {204277266687438128LL, "8443-04-16T05:11:27.438128Z"},
    {124626985978830454LL, "5919-04-10T23:12:58.830454Z"},
    {116352273002135968LL, "5657-01-20T19:50:02.135968Z"},
    {-21161002690792589LL, "1299-06-07T23:41:49.207411Z"},
    {35418503671429853LL, "3092-05-14T09:14:31.429853Z"},
    {-57726173620864705LL, "0140-09-23T23:46:19.135295Z"},
    {179774482839292643LL, "7666-10-29T04:20:39.292643Z"},
    {-57241439977135846LL, "0156-02-03T08:00:22.864154Z"},
    {111780835720253628LL, "5512-03-12T16:08:40.253628Z"},
    {170772070109415561LL, "7381-07-20T14:08:29.415561Z"},
    {41232401663688032LL, "3276-08-07T20:54:23.688032Z"},
    {578500135891804926LL, "+20301-12-10T10:11:31.804926Z"},
    {-3746187046543135368LL, "-116742-01-21T15:04:16.864632Z"},
    {6400737685273179448LL, "+204801-04-21T02:21:13.179448Z"},
    {-6757555796591552495LL, "-212169-08-01T15:36:48.447505Z"},
    {1867393535113499146LL, "+61145-05-07T02:25:13.499146Z"},
    {3324460883438753934LL, "+107317-12-21T12:30:38.753934Z"},
    {-1742279889943669111LL, "-53241-05-08T11:54:16.330889Z"},
    {5279341399330708696LL, "+169265-09-01T10:02:10.708696Z"},
    {-453238454728010768LL, "-12393-06-12T13:14:31.989232Z"},
    {1144764071048929045LL, "+38246-02-17T03:44:08.929045Z"},
    {1605636585064523915LL, "+52850-08-06T18:31:04.523915Z"},
    {-2763322962545976430LL, "-85597-10-13T08:10:54.023570Z"},
    {-686102485360878227LL, "-19772-04-12T00:17:19.121773Z"},
    {2945363136828762568LL, "+95304-11-04T02:53:48.762568Z"},
    {738324656107311043LL, "+25366-07-30T06:15:07.311043Z"},
    {-674736655658463229LL, "-19412-06-11T23:12:21.536771Z"},
    {9176384140054117017LL, "+292758-01-14T18:27:34.117017Z"},
    {-2752131843554629355LL, "-85242-06-01T04:20:45.370645Z"},
    {3951064991847672972LL, "+127174-04-07T21:17:27.672972Z"},
    {-392257984955882915LL, "-10461-11-04T00:37:24.117085Z"},
  };
  for (const V& v : vectors) {
    if (!CHECK_EQ(iso(v.us), v.expect)) {
      std::fprintf(stderr, "  us=%lld\n", static_cast<long long>(v.us));
    }
  }
  CHECK_EQ(iso(-1), "1969-12-31T23:59:59.999999Z");
  CHECK_EQ(iso(0), "1970-01-01T00:00:00.000000Z");
  // Every value fits the documented 40-byte buffer.
  Rng rng{5};
  for (int i = 0; i < 10000; ++i) {
    char buf[48];
    CHECK(format_timestamp_iso(static_cast<int64_t>(rng.next()), buf) <= 40);
  }
}

// ---------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------

TEST_CASE(parse_int64_accept) {
  struct V { const char* s; int64_t expect; };
  const V vectors[] = {
      {"0", 0},
      {"-0", 0},
      {"+0", 0},
      {"123", 123},
      {"+123", 123},
      {"-123", -123},
      {"007", 7},
      {"-007", -7},
      {"9223372036854775807", std::numeric_limits<int64_t>::max()},
      {"+9223372036854775807", std::numeric_limits<int64_t>::max()},
      {"-9223372036854775808", std::numeric_limits<int64_t>::min()},
      {"-9223372036854775807", -std::numeric_limits<int64_t>::max()},
      {"000000000000000000000000009223372036854775807", std::numeric_limits<int64_t>::max()},
      {"-00000000000000000000000009223372036854775808", std::numeric_limits<int64_t>::min()},
      {"1000000000000000000", 1000000000000000000LL},
  };
  for (const V& v : vectors) {
    int64_t out = 12345;
    if (CHECK(parse_int64(v.s, std::strlen(v.s), &out))) CHECK_EQ(out, v.expect);
  }
  int64_t out = 0;
  CHECK(parse_int64("1234", 2, &out));  // only n bytes are read
  CHECK_EQ(out, 12);
}

TEST_CASE(parse_int64_reject) {
  const std::string rejects[] = {
      "", "+", "-", " 1", "1 ", "\t1", "1\n", "1_000", "1.0", "1.", "1e3", "0x10", "--1", "+-1", "-+1",
      "9223372036854775808", "-9223372036854775809", "18446744073709551616", "99999999999999999999",
      "92233720368547758070", "a", "12a", "\xd9\xa1", "\xef\xbc\x91", "1,000", std::string("1\0", 2),
  };
  for (const std::string& s : rejects) {
    int64_t out = 12345;
    if (!CHECK(!parse_int64(s.data(), s.size(), &out))) {
      std::fprintf(stderr, "  accepted \"%s\"\n", s.c_str());
    }
    CHECK_EQ(out, 12345);  // untouched on failure
  }
  int64_t out = 12345;
  CHECK(!parse_int64(nullptr, 0, &out));
}

TEST_CASE(parse_float64_python_table) {
  // Python: float(s), as IEEE bits
  struct V { const char* s; uint64_t bits; };
  const V vectors[] = {
    {"0", 0x0000000000000000ULL},
    {"-0", 0x8000000000000000ULL},
    {"+0", 0x0000000000000000ULL},
    {"0.0", 0x0000000000000000ULL},
    {"-0.0", 0x8000000000000000ULL},
    {"1", 0x3FF0000000000000ULL},
    {"+1", 0x3FF0000000000000ULL},
    {"-1", 0xBFF0000000000000ULL},
    {"1.", 0x3FF0000000000000ULL},
    {"-1.", 0xBFF0000000000000ULL},
    {".5", 0x3FE0000000000000ULL},
    {"-.5", 0xBFE0000000000000ULL},
    {"+.5e1", 0x4014000000000000ULL},
    {"1e5", 0x40F86A0000000000ULL},
    {"1E5", 0x40F86A0000000000ULL},
    {"1e+5", 0x40F86A0000000000ULL},
    {"1e-5", 0x3EE4F8B588E368F1ULL},
    {"1.5e-5", 0x3EEF75104D551D69ULL},
    {"00012", 0x4028000000000000ULL},
    {"0012.50", 0x4029000000000000ULL},
    {"0.1", 0x3FB999999999999AULL},
    {"0.30000000000000004", 0x3FD3333333333334ULL},
    {"3.141592653589793", 0x400921FB54442D18ULL},
    {"1e308", 0x7FE1CCF385EBC8A0ULL},
    {"1.7976931348623157e308", 0x7FEFFFFFFFFFFFFFULL},
    {"1.7976931348623158e308", 0x7FEFFFFFFFFFFFFFULL},
    {"1.7976931348623159e308", 0x7FF0000000000000ULL},
    {"1e309", 0x7FF0000000000000ULL},
    {"-1e309", 0xFFF0000000000000ULL},
    {"1e999999999999999999999", 0x7FF0000000000000ULL},
    {"-1e999999999999999999999", 0xFFF0000000000000ULL},
    {"1e-324", 0x0000000000000000ULL},
    {"-1e-400", 0x8000000000000000ULL},
    {"1e-999999999999999999999", 0x0000000000000000ULL},
    {"-1e-999999999999999999999", 0x8000000000000000ULL},
    {"2.4703282292062328e-324", 0x0000000000000001ULL},
    {"2.4703282292062327e-324", 0x0000000000000000ULL},
    {"4.9406564584124654e-324", 0x0000000000000001ULL},
    {"5e-324", 0x0000000000000001ULL},
    {"2.2250738585072011e-308", 0x000FFFFFFFFFFFFFULL},
    {"2.2250738585072012e-308", 0x0010000000000000ULL},
    {"2.2250738585072014e-308", 0x0010000000000000ULL},
    {"9007199254740993", 0x4340000000000000ULL},
    {"9007199254740995", 0x4340000000000002ULL},
    {"-9007199254740993", 0xC340000000000000ULL},
    {"123456789012345678901234567890", 0x45F8EE90FF6C373EULL},
    {"0.000000000000000000000000000000000000001e-300", 0x0000000000000000ULL},
    {"10000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "00000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "00000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "00000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "00000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "0e-400", 0x3FF0000000000000ULL},
    {"0.000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "00000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "00000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "00000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "00000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "001e400", 0x3FB999999999999AULL},
    {"000000000000000000000000000000000000000000000000001", 0x3FF0000000000000ULL},
    {"10000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "00000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "00000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "000000000000000000000000000000000000000000000000000000000000000000000", 0x7FE1CCF385EBC8A0ULL},
    {"10000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "00000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "00000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "0000000000000000000000000000000000000000000000000000000000000000000000", 0x7FF0000000000000ULL},
    {"0.000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "00000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "00000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "00000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "0000000000001", 0x0000000000000000ULL},
    {"0e999999", 0x0000000000000000ULL},
    {"0.0e-99999", 0x0000000000000000ULL},
    {"-0e999999999999999999999", 0x8000000000000000ULL},
    {"0e-999999999999999999999", 0x0000000000000000ULL},
    {"1.00000000000000011102230246251565404236316680908203125", 0x3FF0000000000000ULL},
    {"1.00000000000000011102230246251565404236316680908203124", 0x3FF0000000000000ULL},
    {"1.00000000000000011102230246251565404236316680908203126", 0x3FF0000000000001ULL},
    {"8.98846567431158e307", 0x7FE0000000000000ULL},
    {"123.456e-2", 0x3FF3C0C1FC8F3238ULL},
    {"1.e3", 0x408F400000000000ULL},
    {".0", 0x0000000000000000ULL},
    {"0.", 0x0000000000000000ULL},
    {"7.2057594037927933e16", 0x4370000000000000ULL},
    {"4.35", 0x4011666666666666ULL},
    {"1E-5", 0x3EE4F8B588E368F1ULL},
    {"1e0", 0x3FF0000000000000ULL},
    {"1e-0", 0x3FF0000000000000ULL},
    {"1e+0", 0x3FF0000000000000ULL},
    {"1e0000000000000000000000000000000000001", 0x4024000000000000ULL},
    {"-46680069.5e-149", 0xA296C4F004B16EDDULL},
    {"+7.598996776349318e-269", 0x08441292201474A9ULL},
    {"+5858541579441.7859e109", 0x5936B00FC72BC90CULL},
    {"-600450461.6702174340e43", 0xCAB00C72E3263960ULL},
    {"+561739969877853169603.7e91", 0x5722AFBB82CBB57AULL},
    {"+08262008249423237.390635490e61", 0x4FE6D529E7B287E5ULL},
    {"+6852.006786317051228363e-178", 0x1BC5B1397120088EULL},
    {"6284605499805035871914473.70e-201", 0x1B597784601A98B7ULL},
    {"+4370301.233595362827060461829e-259", 0x0B89A205A28DEA42ULL},
    {"4.3e-178", 0x1B1BE12AB1FE8120ULL},
    {"+05.08291e30", 0x465009F126DEDA8CULL},
    {"05.90949239627550e-293", 0x0342DEFCCE55E699ULL},
    {"+.02e-238", 0x0E2AAC0BF9B9E65CULL},
    {"+0.177836e108", 0x56336281E9254DDFULL},
    {"7.e-78", 0x2FE9EFFB47DBCACEULL},
    {"+9589082876233977417940.662e-63", 0x376ABAFF8A5F2C0BULL},
    {"-9506807489520.55929647581917e134", 0xDE73088E1E7727BDULL},
    {"+6056355417162800502363217.1e-109", 0x2E72D3256313EE96ULL},
    {"-3363.68647e41", 0xC92E2AA538C2105FULL},
    {"7274930362556.4117285120e187", 0x696E69C58C39A40EULL},
    {"+20447768002037635085.0282659089e-160", 0x22B8EF476D507EABULL},
    {"-.5276400092698e97", 0xD403C30D0F8E7DECULL},
    {"+947703813238.8e169", 0x658245683FC97850ULL},
    {"54109826068894.78e36", 0x4A4283004240F3F4ULL},
    {"446368558453.76861e111", 0x59659B87CC988AF8ULL},
    {"047137889.e146", 0x5FD680214AD68BBEULL},
    {"877122904464.e-88", 0x30245012443B700EULL},
    {"1.35e-274", 0x0712B2302D21CCE0ULL},
    {"+.320950749091974991383371e-168", 0x1CF3614E0AC192AEULL},
    {"09866854515577222476.e40", 0x4C2F70075AFA1ADFULL},
    {"-67243723189890766145264.12579e279", 0xFE991A3A0B151AC5ULL},
    {"746276839.10061860680e-294", 0x04BC68B3BF373A64ULL},
    {"+706.694e-315", 0x000000214DA3240FULL},
    {"07260342.2869429580e51", 0x4BF281982A5D1B65ULL},
    {"1.8880953308e-321", 0x000000000000017EULL},
    {"+5897.97294862437631072221e-296", 0x0342D59206F85B0EULL},
    {"267838980714068942996377766.981e201", 0x6F269CC78B974B35ULL},
    {"+29729.623437e-21", 0x3C8123516B0B1425ULL},
    {"-8.778e-42", 0xB7687830ABEB718BULL},
    {"212831015774.456693e98", 0x56A21FE06F6147ECULL},
  };
  for (const V& v : vectors) {
    double out = 12345.0;
    const bool ok = parse_float64(v.s, std::strlen(v.s), &out);
    if (!CHECK(ok) || !CHECK_EQ(bits_of(out), v.bits)) {
      std::fprintf(stderr, "  input \"%s\" -> %.17g\n", v.s, out);
    }
  }
}

TEST_CASE(parse_float64_special_values) {
  struct V { const char* s; int kind; bool negative; };  // kind: 1 = inf, 2 = nan
  const V vectors[] = {
      {"inf", 1, false},      {"+inf", 1, false},      {"-inf", 1, true},     {"INF", 1, false},
      {"Inf", 1, false},      {"infinity", 1, false},  {"-Infinity", 1, true}, {"+INFINITY", 1, false},
      {"iNfInItY", 1, false}, {"nan", 2, false},       {"NaN", 2, false},     {"NAN", 2, false},
      {"+nan", 2, false},     {"-nan", 2, true},       {"-NaN", 2, true},
  };
  for (const V& v : vectors) {
    double out = 0.0;
    if (!CHECK(parse_float64(v.s, std::strlen(v.s), &out))) continue;
    if (v.kind == 1) {
      CHECK(std::isinf(out));
    } else {
      CHECK(std::isnan(out));
    }
    CHECK_EQ(std::signbit(out), v.negative);  // Python keeps the sign of float('-nan') too
  }
  double out = 0.0;
  CHECK(parse_float64("1.25e2xyz", 6, &out));  // only n bytes are read
  CHECK_EQ(out, 125.0);
}

TEST_CASE(parse_float64_reject) {
  const std::string rejects[] = {
      "", "+", "-", ".", "+.", "-.", "e5", "E5", ".e5", "-e1", "1e", "1E", "1e+", "1e-", "1.5e", "1..5",
      "1.5.5", " 1", "1 ", "\t1.0", "1.0\n", "1_000", "1_000.5", "1e1_0", "0x10", "0x1p3", "0X1P-2",
      "infinit", "infinityy", "infinity ", "in", "i", "nana", "nan(123)", "inf1", "1inf", "--1",
      "+-1", "-+1", "++1", "1e5.5", "1,5", "1e+-5", "1e--5", "1d5", "1f", "e", "snan", "-snan", "1e 5",
      "\xd9\xa1", "\xef\xbc\x91.5", "\xc2\xa0" "1", std::string("1\0", 2), std::string("\0" "1", 2),
      "..", "1.e", ".e", "inf inity", "+ 1", "- 1", "+inf+",
  };
  for (const std::string& s : rejects) {
    double out = 12345.0;
    if (!CHECK(!parse_float64(s.data(), s.size(), &out))) {
      std::fprintf(stderr, "  accepted \"%s\"\n", s.c_str());
    }
    CHECK_EQ(out, 12345.0);  // untouched on failure
  }
  double out = 12345.0;
  CHECK(!parse_float64(nullptr, 0, &out));
}

TEST_CASE(parse_float64_long_inputs) {
  // Many digits, still correctly rounded: 0.1 written with 5000 trailing zeros, then
  // 1 followed by 5000 zeros and a scale-back exponent.
  std::string s = "0.1" + std::string(5000, '0');
  double out = 0.0;
  CHECK(parse_float64(s.data(), s.size(), &out));
  CHECK_EQ(bits_of(out), bits_of(0.1));
  s = "1" + std::string(5000, '0') + "e-5000";
  CHECK(parse_float64(s.data(), s.size(), &out));
  CHECK_EQ(out, 1.0);
  s = "1" + std::string(5000, '0');
  CHECK(parse_float64(s.data(), s.size(), &out));
  CHECK(std::isinf(out) && out > 0);
  s = "-0." + std::string(5000, '0') + "1";
  CHECK(parse_float64(s.data(), s.size(), &out));
  CHECK_EQ(bits_of(out), bits_of(-0.0));
  s = "1e" + std::string(5000, '9');
  CHECK(parse_float64(s.data(), s.size(), &out));
  CHECK(std::isinf(out) && out > 0);
  s = "-1e-" + std::string(5000, '9');
  CHECK(parse_float64(s.data(), s.size(), &out));
  CHECK_EQ(bits_of(out), bits_of(-0.0));
  s = "0e" + std::string(5000, '9');
  CHECK(parse_float64(s.data(), s.size(), &out));
  CHECK_EQ(bits_of(out), bits_of(0.0));
}

TEST_CASE(parse_bool_table) {
  struct V { const char* s; bool expect; };
  const V accepts[] = {{"true", true}, {"false", false}, {"1", true}, {"0", false}};
  for (const V& v : accepts) {
    bool out = !v.expect;
    CHECK(parse_bool(v.s, std::strlen(v.s), &out));
    CHECK_EQ(out, v.expect);
  }
  const std::string rejects[] = {"", "True", "FALSE", "TRUE", "yes", "no", "t", "f", "01", "00", "10",
                                 " true", "true ", "2", "-1", "+1", "truee", "fals", "1.0",
                                 std::string("1\0", 2), std::string("true\0", 5)};
  for (const std::string& s : rejects) {
    bool out = true;
    CHECK(!parse_bool(s.data(), s.size(), &out));
    CHECK_EQ(out, true);  // untouched on failure
  }
  bool out = false;
  CHECK(parse_bool("truex", 4, &out));  // only n bytes are read
  CHECK_EQ(out, true);
}
