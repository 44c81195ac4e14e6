// Tests of the analyzers (analyzers.h): moments, quantiles, vocabulary.
//
// Expected values were generated once with the project venv's Python 3.11 and numpy 2.4
// by the script reproduced at the end of this file and are hard-coded here:
//  * moments: exact rationals with `fractions.Fraction` (sum and sum of squares, then
//    float(S1) / n and float(n*S2 - S1^2) / n / n, the formula of analyzers.h) -- must
//    match bit for bit -- plus numpy.mean / numpy.var, which must agree within 1e-13;
//  * quantiles: numpy.quantile(v, p, method="linear"), numpy.percentile(v, q,
//    method="linear") (p = q / 100 computed here in double, as numpy does) and
//    numpy.median -- bit for bit.
// The data is produced in both languages by the same splitmix64-driven generators
// (gen() below and its Python twin), using only exact operations plus IEEE additions.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "check.h"
#include "test_support.h"
#include "featureplat/analyzers.h"

using namespace featureplat;

using namespace featureplat_test;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

bool same_bits(double a, double b) { return bits_of(a) == bits_of(b); }

double centered53(uint64_t u) {  // (u >> 11) - 2^52, exact in double
  return static_cast<double>(static_cast<int64_t>(u >> 11) - (int64_t{1} << 52));
}

// The data generators shared with the Python script (see gen() there).
std::vector<double> gen(const std::string& kind, uint64_t seed, size_t n) {
  Rng r{seed};
  std::vector<double> out;
  for (size_t i = 0; i < n; ++i) {
    const uint64_t u = r.next();
    double x = 0.0;
    if (kind == "uniform") {
      x = std::ldexp(centered53(u), -42);
    } else if (kind == "unit") {
      x = std::ldexp(centered53(u), -52);
    } else if (kind == "wide") {
      const uint64_t u2 = r.next();
      x = std::ldexp(static_cast<double>((u >> 11) | (uint64_t{1} << 52)), static_cast<int>(u2 % 121) - 60 - 52);
      if (u & 1) x = -x;
    } else if (kind == "offset") {
      x = 1e8 + std::ldexp(centered53(u), -40);
    } else if (kind == "bits") {
      const uint64_t u2 = r.next();
      const uint64_t biased = u2 % 8 == 0 ? 0 : ((u >> 52) & 0x7ff) % 1500;
      x = double_of((u & ~(uint64_t{0x7ff} << 52)) | (biased << 52));
    } else if (kind == "tiny") {
      const uint64_t u2 = r.next();
      x = double_of((u & 0x800fffffffffffffULL) | ((u2 % 3) << 52));
    } else if (kind == "dups") {
      x = static_cast<double>(u % 9) * 0.5 - 2.0;
    }
    out.push_back(x);
  }
  return out;
}

// int64 data of kind "ints" (magnitudes up to 2^63 - 1, many above 2^53).
std::vector<int64_t> gen_ints(uint64_t seed, size_t n) {
  Rng r{seed};
  std::vector<int64_t> out;
  for (size_t i = 0; i < n; ++i) {
    const uint64_t u = r.next(), u2 = r.next();
    const int64_t mag = static_cast<int64_t>((u >> 1) >> (u2 % 63));
    out.push_back((u2 >> 63) ? -mag : mag);
  }
  return out;
}

// ---- columns and analyzer helpers ----------------------------------------------------

// Nulls carry deliberately odd payloads that analyzers must ignore.
void push_null(Col* c) {
  c->valid.push_back(0);
  c->b.push_back(1);
  c->i.push_back(7);
  c->f.push_back(kNaN);
  c->s.push_back(StrView{"null payload", 12});
}

Col floats(const std::vector<double>& v) {
  Col c;
  c.type = DType::kFloat64;
  c.f = v;
  c.valid.assign(v.size(), 1);
  return c;
}
Col ints(const std::vector<int64_t>& v) {
  Col c;
  c.type = DType::kInt64;
  c.i = v;
  c.valid.assign(v.size(), 1);
  return c;
}
Col bools(const std::vector<bool>& v) {
  Col c;
  c.type = DType::kBool;
  for (bool x : v) c.b.push_back(x ? 1 : 0);
  c.valid.assign(v.size(), 1);
  return c;
}
Col strs(const std::vector<std::string>& v) {
  Col c;
  c.type = DType::kString;
  for (const std::string& x : v) {
    c.owned.push_back(std::make_unique<std::string>(x));
    const std::string& o = *c.owned.back();
    c.s.push_back(StrView{o.empty() ? "" : o.data(), static_cast<uint32_t>(o.size())});
  }
  c.valid.assign(v.size(), 1);
  return c;
}

// A copy of `c` with null rows inserted every `every` rows (payloads must be ignored).
Col with_nulls(Col c, size_t every) {
  Col out;
  out.type = c.type;
  for (size_t r = 0; r < c.size(); ++r) {
    if (r % every == 0) push_null(&out);
    out.valid.push_back(c.valid[r]);
    out.b.push_back(c.type == DType::kBool ? c.b[r] : 0);
    out.i.push_back(c.type == DType::kInt64 ? c.i[r] : 0);
    out.f.push_back(c.type == DType::kFloat64 ? c.f[r] : 0.0);
    out.s.push_back(c.type == DType::kString ? c.s[r] : StrView{"", 0});
  }
  out.owned = std::move(c.owned);
  return out;
}

Param num_list(const std::vector<double>& v) {
  Param p;
  p.is_list = true;
  for (double x : v) p.values.push_back(Scalar::Float(x));
  return p;
}
Param one(Scalar s) {
  Param p;
  p.values.push_back(std::move(s));
  return p;
}

std::unique_ptr<Analyzer> make(const std::string& kind, DType input, const Params& params = {}) {
  Result<std::unique_ptr<Analyzer>> r = make_analyzer(kind, input, params);
  CHECK(r.ok());
  if (!r.ok()) {
    std::fprintf(stderr, "  make_analyzer(%s): %s\n", kind.c_str(), r.status().message().c_str());
    return nullptr;
  }
  return std::move(r.value());
}

ErrorCode make_error(const std::string& kind, DType input, const Params& params = {}) {
  return make_analyzer(kind, input, params).status().code();
}

// Feeds all rows of `c` in chunks of `chunk` rows.
void feed(Analyzer* a, Col& c, size_t chunk = 1024) {
  if (a == nullptr) return;
  for (size_t off = 0; off < c.size(); off += chunk) {
    a->update(c.slot(off), static_cast<int64_t>(std::min(chunk, c.size() - off)));
  }
}

AnalyzerResult fin(const Analyzer* a) {
  if (a == nullptr) return AnalyzerResult();
  Result<AnalyzerResult> r = a->finalize();
  CHECK(r.ok());
  if (!r.ok()) {
    std::fprintf(stderr, "  finalize: %s\n", r.status().message().c_str());
    return AnalyzerResult();
  }
  return r.value();
}

const Scalar& scalar(const AnalyzerResult& r, const std::string& key) {
  static const Scalar missing = Scalar::Str("<missing>");
  auto it = r.scalars.find(key);
  CHECK(it != r.scalars.end());
  return it == r.scalars.end() ? missing : it->second;
}
double f64(const AnalyzerResult& r, const std::string& key) {
  const Scalar& s = scalar(r, key);
  CHECK(s.type == DType::kFloat64 && !s.is_null);
  return s.f;
}
int64_t i64(const AnalyzerResult& r, const std::string& key) {
  const Scalar& s = scalar(r, key);
  CHECK(s.type == DType::kInt64 && !s.is_null);
  return s.i;
}
bool is_null_f64(const AnalyzerResult& r, const std::string& key) {
  const Scalar& s = scalar(r, key);
  return s.type == DType::kFloat64 && s.is_null;
}
const std::vector<Scalar>& list(const AnalyzerResult& r, const std::string& key) {
  static const std::vector<Scalar> missing;
  auto it = r.lists.find(key);
  CHECK(it != r.lists.end());
  return it == r.lists.end() ? missing : it->second;
}

bool same_scalar(const Scalar& a, const Scalar& b) {
  if (a.type != b.type || a.is_null != b.is_null) return false;
  if (a.is_null) return true;
  switch (a.type) {
    case DType::kBool: return a.b == b.b;
    case DType::kFloat64: return same_bits(a.f, b.f);
    case DType::kString: return a.s == b.s;
    default: return a.i == b.i;
  }
}

// Bitwise equality of two results (doubles by bits, NaN included).
bool same_result(const AnalyzerResult& a, const AnalyzerResult& b) {
  if (a.scalars.size() != b.scalars.size() || a.lists.size() != b.lists.size()) return false;
  for (const auto& kv : a.scalars) {
    auto it = b.scalars.find(kv.first);
    if (it == b.scalars.end() || !same_scalar(kv.second, it->second)) return false;
  }
  for (const auto& kv : a.lists) {
    auto it = b.lists.find(kv.first);
    if (it == b.lists.end() || it->second.size() != kv.second.size()) return false;
    for (size_t i = 0; i < kv.second.size(); ++i) {
      if (!same_scalar(kv.second[i], it->second[i])) return false;
    }
  }
  return true;
}

// Splits `c` at random cut points into pieces, feeds them in a random order into fresh
// clones of `proto`, and merges those states in a random order; returns the merged state.
std::unique_ptr<Analyzer> split_permute_merge(const Analyzer& proto, Col& c, Rng& rng) {
  const size_t n = c.size();
  std::vector<size_t> cuts = {0, n};
  const size_t pieces = 1 + rng.below(12);
  for (size_t i = 0; i + 1 < pieces; ++i) cuts.push_back(n == 0 ? 0 : rng.below(n + 1));
  std::sort(cuts.begin(), cuts.end());
  std::vector<std::pair<size_t, size_t>> ranges;
  for (size_t i = 0; i + 1 < cuts.size(); ++i) ranges.emplace_back(cuts[i], cuts[i + 1]);
  for (size_t i = ranges.size(); i > 1; --i) std::swap(ranges[i - 1], ranges[rng.below(i)]);
  std::vector<std::unique_ptr<Analyzer>> states;
  for (const auto& rg : ranges) {
    states.push_back(proto.empty_clone());
    const size_t chunk = 1 + rng.below(300);
    for (size_t off = rg.first; off < rg.second; off += chunk) {
      states.back()->update(c.slot(off), static_cast<int64_t>(std::min(chunk, rg.second - off)));
    }
  }
  while (states.size() > 1) {  // merge two random states
    const size_t i = rng.below(states.size());
    size_t j = rng.below(states.size() - 1);
    if (j >= i) ++j;
    CHECK(states[i]->merge(*states[j]).ok());
    states.erase(states.begin() + static_cast<std::ptrdiff_t>(j));
  }
  return std::move(states[0]);
}

// ---- generated expectations ------------------------------------------------------------

struct MomentsCase {
  const char* kind;
  uint64_t seed;
  size_t n;
  double mean, var, std, np_mean, np_var, min, max;
};
struct HandCase {
  std::vector<double> values;
  double mean, var, std;
};
struct QuantileCase {
  const char* kind;
  uint64_t seed;
  size_t n;
  double by_prob[13];
  double by_percent[12];
  double median;
};

// ---- generated by the script at the end of this file ----
const MomentsCase kMomentsCases[] = {
    {"uniform", 11u, 1000, -0x1.20cb1f6c013b0p+4, 0x1.470d454c10a22p+18, 0x1.215a6ae6a2074p+9, -0x1.20cb1f6c013afp+4, 0x1.470d454c10a23p+18, -0x1.ff81b6a5e2bdcp+9, 0x1.feea548555d42p+9},
    {"wide", 12u, 2000, -0x1.8cc9e5348d3d9p+50, 0x1.b5ab9d9b42cfcp+114, 0x1.4ebaaaba87a06p+57, -0x1.8cc9e5348d3d6p+50, 0x1.b5ab9d9b42cfbp+114, -0x1.f48097b3944cep+60, 0x1.e9b84f084f4e2p+60},
    {"offset", 13u, 1500, 0x1.7d7856d344748p+26, 0x1.6323417623eafp+22, 0x1.2d858573c1183p+11, 0x1.7d7856d344748p+26, 0x1.6323417623eb0p+22, 0x1.7d74412623394p+26, 0x1.7d7c3f63e2a6fp+26},
    {"bits", 14u, 2000, 0x1.113f30ce2748ep+465, 0x1.40aee176b8f1ep+943, 0x1.95340f472f6d1p+471, 0x1.113f30ce2748dp+465, 0x1.40aee176b8f1cp+943, -0x1.084e7ebfb2a65p+476, 0x1.6699bdf0d2ab5p+476},
    {"tiny", 15u, 500, 0x0.096e627c63f6ap-1022, 0x0.0p+0, 0x0.0p+0, 0x0.096e627c63f6ap-1022, 0x0.0p+0, -0x1.fea5b9f56decdp-1021, 0x1.f92b655b3c63dp-1021},
    {"unit", 16u, 1, -0x1.10f3c91a2c438p-2, 0x0.0p+0, 0x0.0p+0, -0x1.10f3c91a2c438p-2, 0x0.0p+0, -0x1.10f3c91a2c438p-2, -0x1.10f3c91a2c438p-2},
    {"unit", 17u, 2, -0x1.b468aad1c33a8p-4, 0x1.90bd4caa73688p-7, 0x1.c4f768d79fa88p-4, -0x1.b468aad1c33a8p-4, 0x1.90bd4caa73688p-7, -0x1.bcb009d4b1718p-3, 0x1.08ebe05dc6e00p-8},
    {"wide", 18u, 3, 0x1.8301ece7b49b3p-11, 0x1.24874abe8a49ap-20, 0x1.11a7c9f928428p-10, 0x1.8301ece7b49b3p-11, 0x1.24874abe8a49ap-20, 0x1.dc6e45075960dp-37, 0x1.224167a012abep-9},
    {"ints", 19u, 1000, -0x1.47d3b1cb16f94p+52, 0x1.7a6436ef142e2p+118, 0x1.373c911f949f9p+59, -0x1.47d3b1cb16f9ap+52, 0x1.7a6436ef142e1p+118, -0x1.6fe738f8aceb5p+62, 0x1.eac598c7eb404p+62},
};
const double kLongMean = 0x1.0cb70d24b7379p+463, kLongVar = 0x1.a717a99d002a9p+927, kLongStd = 0x1.d16d9895643ecp+463;
const double kProbs[] = {0x0.0p+0, 0x1.0624dd2f1a9fcp-10, 0x1.47ae147ae147bp-7, 0x1.999999999999ap-4, 0x1.0000000000000p-2, 0x1.5555555555555p-2, 0x1.0000000000000p-1, 0x1.5555555555555p-1, 0x1.8000000000000p-1, 0x1.ccccccccccccdp-1, 0x1.fae147ae147aep-1, 0x1.ff7ced916872bp-1, 0x1.0000000000000p+0};
const double kPercents[] = {0x0.0p+0, 0x1.0000000000000p+0, 0x1.4000000000000p+2, 0x1.9000000000000p+3, 0x1.9000000000000p+4, 0x1.0800000000000p+5, 0x1.9000000000000p+5, 0x1.0a66666666666p+6, 0x1.2c00000000000p+6, 0x1.7c00000000000p+6, 0x1.8f9999999999ap+6, 0x1.9000000000000p+6};
const QuantileCase kQuantileCases[] = {
    {"unit", 101u, 1, {0x1.4409297eb5934p-1, 0x1.4409297eb5934p-1, 0x1.4409297eb5934p-1, 0x1.4409297eb5934p-1, 0x1.4409297eb5934p-1, 0x1.4409297eb5934p-1, 0x1.4409297eb5934p-1, 0x1.4409297eb5934p-1, 0x1.4409297eb5934p-1, 0x1.4409297eb5934p-1, 0x1.4409297eb5934p-1, 0x1.4409297eb5934p-1, 0x1.4409297eb5934p-1},
     {0x1.4409297eb5934p-1, 0x1.4409297eb5934p-1, 0x1.4409297eb5934p-1, 0x1.4409297eb5934p-1, 0x1.4409297eb5934p-1, 0x1.4409297eb5934p-1, 0x1.4409297eb5934p-1, 0x1.4409297eb5934p-1, 0x1.4409297eb5934p-1, 0x1.4409297eb5934p-1, 0x1.4409297eb5934p-1, 0x1.4409297eb5934p-1}, 0x1.4409297eb5934p-1},
    {"unit", 101u, 2, {-0x1.ee6560bdaad24p-1, -0x1.ed93dbfea1824p-1, -0x1.e63631474db28p-1, -0x1.9c8d861e0794ep-1, -0x1.21c9be2e92b8ep-1, -0x1.bb2bbaa86ab64p-2, -0x1.54b86e7dea7e0p-3, 0x1.99cd30aa00e08p-4, 0x1.ddb61bbe75e78p-3, 0x1.e4629dbe24abep-2, 0x1.3bd9fa0858738p-1, 0x1.4337a4bfac434p-1, 0x1.4409297eb5934p-1},
     {-0x1.ee6560bdaad24p-1, -0x1.e63631474db28p-1, -0x1.c579736dd9339p-1, -0x1.88178f761ec59p-1, -0x1.21c9be2e92b8ep-1, -0x1.c0a084f753760p-2, -0x1.54b86e7dea7e0p-3, 0x1.956fc20479e08p-4, 0x1.ddb61bbe75e78p-3, 0x1.1b1d3c2ee3f48p-1, 0x1.4337a4bfac436p-1, 0x1.4409297eb5934p-1}, -0x1.54b86e7dea7e0p-3},
    {"unit", 101u, 3, {-0x1.ee6560bdaad24p-1, -0x1.ede18a38c11acp-1, -0x1.e93eff8c89a6fp-1, -0x1.bae594d25f214p-1, -0x1.6da5e2f16d97bp-1, -0x1.42bb63ad592eep-1, -0x1.d9ccca4a60ba4p-2, -0x1.8f5f021f1dbdcp-4, 0x1.5c8b116614d88p-4, 0x1.a7b2805575934p-2, 0x1.38d12bc31c7f1p-1, 0x1.42e9f6858caadp-1, 0x1.4409297eb5934p-1},
     {-0x1.ee6560bdaad24p-1, -0x1.e93eff8c89a6fp-1, -0x1.d4a57ac804f9cp-1, -0x1.ae05a1d78c350p-1, -0x1.6da5e2f16d97bp-1, -0x1.4472d968643d4p-1, -0x1.d9ccca4a60ba4p-2, -0x1.955abca54d404p-4, 0x1.5c8b116614d88p-4, 0x1.0bf134d4b82e6p-1, 0x1.42e9f6858cab0p-1, 0x1.4409297eb5934p-1}, -0x1.d9ccca4a60ba4p-2},
    {"unit", 101u, 4, {-0x1.ee6560bdaad24p-1, -0x1.ed9f9ef64c3efp-1, -0x1.e6abcef3f9115p-1, -0x1.a125aedcb948bp-1, -0x1.2d46240b4efa6p-1, -0x1.d9ccca4a60ba4p-2, -0x1.6a04eedd24380p-3, 0x1.bf1f6db4f2090p-4, 0x1.ebb4f2a29056ap-3, 0x1.e72f2f1ef6c22p-2, 0x1.3bfdce19fc8e2p-1, 0x1.433b39f4a312bp-1, 0x1.4409297eb5934p-1},
     {-0x1.ee6560bdaad24p-1, -0x1.e6abcef3f9115p-1, -0x1.c7c587cd320d8p-1, -0x1.8dd5c2647ce65p-1, -0x1.2d46240b4efa6p-1, -0x1.def32b7b81e59p-2, -0x1.6a04eedd24380p-3, 0x1.ba7028cc0d727p-4, 0x1.ebb4f2a29056ap-3, 0x1.1bd06087187a0p-1, 0x1.433b39f4a312ep-1, 0x1.4409297eb5934p-1}, -0x1.6a04eedd24380p-3},
    {"unit", 101u, 5, {-0x1.ee6560bdaad24p-1, -0x1.ed5db3b3d7633p-1, -0x1.e4189e5b687bap-1, -0x1.8765c8e713703p-1, -0x1.d9ccca4a60ba4p-2, -0x1.169b3db7d6fb8p-2, 0x1.bf1f6db4f2090p-4, 0x1.d54ed5cd5b9a6p-2, 0x1.4409297eb5934p-1, 0x1.5ecea22d8eccfp-1, 0x1.6edeb7634455fp-1, 0x1.7079ecb57016ep-1, 0x1.70a79d4cca48cp-1},
     {-0x1.ee6560bdaad24p-1, -0x1.e4189e5b687bap-1, -0x1.bae594d25f214p-1, -0x1.6da5e2f16d97bp-1, -0x1.d9ccca4a60ba4p-2, -0x1.1e6a05e6a94abp-2, 0x1.bf1f6db4f2090p-4, 0x1.d3e0ba2d3ab5cp-2, 0x1.4409297eb5934p-1, 0x1.67bb1fbd2c8adp-1, 0x1.7079ecb57016ep-1, 0x1.70a79d4cca48cp-1}, 0x1.bf1f6db4f2090p-4},
    {"unit", 101u, 10, {-0x1.ee6560bdaad24p-1, -0x1.ed4ca0da53575p-1, -0x1.e36de1dc40052p-1, -0x1.80ba6bef7ecefp-1, -0x1.59b02d068aabap-1, -0x1.42caca56b3bf8p-1, -0x1.0919ba6dc9d93p-1, 0x1.bf1f6db4f2090p-4, 0x1.00ffda8cafbecp-1, 0x1.7bed88ada559fp-1, 0x1.d73d7b3e2d658p-1, 0x1.e05f137fd499dp-1, 0x1.e162cf1558f50p-1},
     {-0x1.ee6560bdaad24p-1, -0x1.e36de1dc40052p-1, -0x1.b78fe65694d0ap-1, -0x1.7223db0cc4f7ap-1, -0x1.59b02d068aabap-1, -0x1.43b53eed18814p-1, -0x1.0919ba6dc9d93p-1, 0x1.b1119efa44467p-4, 0x1.00ffda8cafbecp-1, 0x1.aea82be17f276p-1, 0x1.e05f137fd49a0p-1, 0x1.e162cf1558f50p-1}, -0x1.0919ba6dc9d93p-1},
    {"unit", 101u, 101, {-0x1.f74dc1b01fc7ep-1, -0x1.f714ccc189514p-1, -0x1.f514305e3f25ap-1, -0x1.748afb66cf406p-1, -0x1.bdc8f2d898fa0p-2, -0x1.fab5579961986p-3, 0x1.13a829fe508d0p-4, 0x1.7f2e5d196b731p-2, 0x1.26e74b86c2352p-1, 0x1.9ce07757e2bc6p-1, 0x1.e8b1dfb368e98p-1, 0x1.f1c0adb159bd7p-1, 0x1.f2c252cd90f16p-1},
     {-0x1.f74dc1b01fc7ep-1, -0x1.f514305e3f25ap-1, -0x1.7eaba947d0a36p-1, -0x1.68a4b23f4a66ep-1, -0x1.bdc8f2d898fa0p-2, -0x1.ff45f839e8610p-3, 0x1.13a829fe508d0p-4, 0x1.7e25c0631925dp-2, 0x1.26e74b86c2352p-1, 0x1.bc75310afa410p-1, 0x1.f1c0adb159bd7p-1, 0x1.f2c252cd90f16p-1}, 0x1.13a829fe508d0p-4},
    {"unit", 101u, 1000, {-0x1.ffd0dab59cc28p-1, -0x1.ff9865127b5bdp-1, -0x1.f705d1ffd7da8p-1, -0x1.91a02ad5c921fp-1, -0x1.f99538c4867ebp-2, -0x1.4ceca922e9248p-2, -0x1.c2e7c038f6c00p-10, 0x1.4e186e5ee4d40p-2, 0x1.eadaee180dfbcp-2, 0x1.9470f8b601966p-1, 0x1.f70c74634cac9p-1, 0x1.fe3cef93d7e16p-1, 0x1.ff6a171b2e014p-1},
     {-0x1.ffd0dab59cc28p-1, -0x1.f705d1ffd7da8p-1, -0x1.c8e13c7179be5p-1, -0x1.7b91cfbd25f77p-1, -0x1.f99538c4867ebp-2, -0x1.50ae949cae53bp-2, -0x1.c2e7c038f6c00p-10, 0x1.4d01494d4fd02p-2, 0x1.eadaee180dfbcp-2, 0x1.d7ed932abcdedp-1, 0x1.fe3cef93d7e18p-1, 0x1.ff6a171b2e014p-1}, -0x1.c2e7c038f6c00p-10},
    {"dups", 102u, 1, {0x1.0000000000000p+0, 0x1.0000000000000p+0, 0x1.0000000000000p+0, 0x1.0000000000000p+0, 0x1.0000000000000p+0, 0x1.0000000000000p+0, 0x1.0000000000000p+0, 0x1.0000000000000p+0, 0x1.0000000000000p+0, 0x1.0000000000000p+0, 0x1.0000000000000p+0, 0x1.0000000000000p+0, 0x1.0000000000000p+0},
     {0x1.0000000000000p+0, 0x1.0000000000000p+0, 0x1.0000000000000p+0, 0x1.0000000000000p+0, 0x1.0000000000000p+0, 0x1.0000000000000p+0, 0x1.0000000000000p+0, 0x1.0000000000000p+0, 0x1.0000000000000p+0, 0x1.0000000000000p+0, 0x1.0000000000000p+0, 0x1.0000000000000p+0}, 0x1.0000000000000p+0},
    {"dups", 102u, 2, {0x0.0p+0, 0x1.0624dd2f1a9fcp-10, 0x1.47ae147ae147bp-7, 0x1.999999999999ap-4, 0x1.0000000000000p-2, 0x1.5555555555555p-2, 0x1.0000000000000p-1, 0x1.5555555555555p-1, 0x1.8000000000000p-1, 0x1.ccccccccccccdp-1, 0x1.fae147ae147aep-1, 0x1.ff7ced916872bp-1, 0x1.0000000000000p+0},
     {0x0.0p+0, 0x1.47ae147ae147bp-7, 0x1.999999999999ap-5, 0x1.0000000000000p-3, 0x1.0000000000000p-2, 0x1.51eb851eb851fp-2, 0x1.0000000000000p-1, 0x1.54fdf3b645a1cp-1, 0x1.8000000000000p-1, 0x1.e666666666666p-1, 0x1.ff7ced916872cp-1, 0x1.0000000000000p+0}, 0x1.0000000000000p-1},
    {"dups", 102u, 3, {0x0.0p+0, 0x0.0p+0, 0x0.0p+0, 0x0.0p+0, 0x0.0p+0, 0x0.0p+0, 0x0.0p+0, 0x1.5555555555554p-2, 0x1.0000000000000p-1, 0x1.999999999999ap-1, 0x1.f5c28f5c28f5cp-1, 0x1.fef9db22d0e56p-1, 0x1.0000000000000p+0},
     {0x0.0p+0, 0x0.0p+0, 0x0.0p+0, 0x0.0p+0, 0x0.0p+0, 0x0.0p+0, 0x0.0p+0, 0x1.53f7ced916870p-2, 0x1.0000000000000p-1, 0x1.cccccccccccccp-1, 0x1.fef9db22d0e58p-1, 0x1.0000000000000p+0}, 0x0.0p+0},
    {"dups", 102u, 4, {-0x1.0000000000000p-1, -0x1.fe76c8b439581p-2, -0x1.f0a3d70a3d70ap-2, -0x1.6666666666666p-2, -0x1.0000000000000p-3, 0x0.0p+0, 0x0.0p+0, 0x0.0p+0, 0x1.0000000000000p-2, 0x1.6666666666668p-1, 0x1.f0a3d70a3d708p-1, 0x1.fe76c8b439580p-1, 0x1.0000000000000p+0},
     {-0x1.0000000000000p-1, -0x1.f0a3d70a3d70ap-2, -0x1.b333333333333p-2, -0x1.4000000000000p-2, -0x1.0000000000000p-3, -0x1.47ae147ae1480p-8, 0x0.0p+0, 0x0.0p+0, 0x1.0000000000000p-2, 0x1.b333333333330p-1, 0x1.fe76c8b439584p-1, 0x1.0000000000000p+0}, 0x0.0p+0},
    {"dups", 102u, 5, {-0x1.0000000000000p-1, -0x1.fdf3b645a1cacp-2, -0x1.eb851eb851eb8p-2, -0x1.3333333333333p-2, 0x0.0p+0, 0x0.0p+0, 0x0.0p+0, 0x1.5555555555554p-1, 0x1.0000000000000p+0, 0x1.999999999999ap+0, 0x1.f5c28f5c28f5cp+0, 0x1.fef9db22d0e56p+0, 0x1.0000000000000p+1},
     {-0x1.0000000000000p-1, -0x1.eb851eb851eb8p-2, -0x1.999999999999ap-2, -0x1.0000000000000p-2, 0x0.0p+0, 0x0.0p+0, 0x0.0p+0, 0x1.53f7ced916870p-1, 0x1.0000000000000p+0, 0x1.cccccccccccccp+0, 0x1.fef9db22d0e58p+0, 0x1.0000000000000p+1}, 0x0.0p+0},
    {"dups", 102u, 10, {-0x1.0000000000000p+1, -0x1.fed916872b021p+0, -0x1.f47ae147ae148p+0, -0x1.8cccccccccccdp+0, -0x1.0000000000000p-1, -0x1.0000000000000p-1, 0x0.0p+0, 0x1.0000000000000p-1, 0x1.c000000000000p-1, 0x1.8ccccccccccccp+0, 0x1.f47ae147ae148p+0, 0x1.fed916872b020p+0, 0x1.0000000000000p+1},
     {-0x1.0000000000000p+1, -0x1.f47ae147ae148p+0, -0x1.c666666666666p+0, -0x1.6000000000000p+0, -0x1.0000000000000p-1, -0x1.0000000000000p-1, 0x0.0p+0, 0x1.fced916872b00p-2, 0x1.c000000000000p-1, 0x1.c666666666664p+0, 0x1.fed916872b024p+0, 0x1.0000000000000p+1}, 0x0.0p+0},
    {"dups", 102u, 101, {-0x1.0000000000000p+1, -0x1.0000000000000p+1, -0x1.0000000000000p+1, -0x1.0000000000000p+0, -0x1.0000000000000p+0, -0x1.0000000000000p-1, 0x0.0p+0, 0x1.0000000000000p+0, 0x1.8000000000000p+0, 0x1.0000000000000p+1, 0x1.0000000000000p+1, 0x1.0000000000000p+1, 0x1.0000000000000p+1},
     {-0x1.0000000000000p+1, -0x1.0000000000000p+1, -0x1.0000000000000p+1, -0x1.0000000000000p+0, -0x1.0000000000000p+0, -0x1.0000000000000p-1, 0x0.0p+0, 0x1.0000000000000p+0, 0x1.8000000000000p+0, 0x1.0000000000000p+1, 0x1.0000000000000p+1, 0x1.0000000000000p+1}, 0x0.0p+0},
    {"dups", 102u, 1000, {-0x1.0000000000000p+1, -0x1.0000000000000p+1, -0x1.0000000000000p+1, -0x1.0000000000000p+1, -0x1.0000000000000p+0, -0x1.0000000000000p+0, 0x0.0p+0, 0x1.0000000000000p-1, 0x1.0000000000000p+0, 0x1.0000000000000p+1, 0x1.0000000000000p+1, 0x1.0000000000000p+1, 0x1.0000000000000p+1},
     {-0x1.0000000000000p+1, -0x1.0000000000000p+1, -0x1.0000000000000p+1, -0x1.8000000000000p+0, -0x1.0000000000000p+0, -0x1.0000000000000p+0, 0x0.0p+0, 0x1.0000000000000p-1, 0x1.0000000000000p+0, 0x1.0000000000000p+1, 0x1.0000000000000p+1, 0x1.0000000000000p+1}, 0x0.0p+0},
    {"wide", 103u, 1, {0x1.33cea31bdf41ep+42, 0x1.33cea31bdf41ep+42, 0x1.33cea31bdf41ep+42, 0x1.33cea31bdf41ep+42, 0x1.33cea31bdf41ep+42, 0x1.33cea31bdf41ep+42, 0x1.33cea31bdf41ep+42, 0x1.33cea31bdf41ep+42, 0x1.33cea31bdf41ep+42, 0x1.33cea31bdf41ep+42, 0x1.33cea31bdf41ep+42, 0x1.33cea31bdf41ep+42, 0x1.33cea31bdf41ep+42},
     {0x1.33cea31bdf41ep+42, 0x1.33cea31bdf41ep+42, 0x1.33cea31bdf41ep+42, 0x1.33cea31bdf41ep+42, 0x1.33cea31bdf41ep+42, 0x1.33cea31bdf41ep+42, 0x1.33cea31bdf41ep+42, 0x1.33cea31bdf41ep+42, 0x1.33cea31bdf41ep+42, 0x1.33cea31bdf41ep+42, 0x1.33cea31bdf41ep+42, 0x1.33cea31bdf41ep+42}, 0x1.33cea31bdf41ep+42},
    {"wide", 103u, 2, {0x1.33cea31bdf41ep+42, 0x1.34f253c11db57p+42, 0x1.3f3389904fc59p+42, 0x1.a5bfa3a84466ap+42, 0x1.2854923d6e0eep+43, 0x1.57ce5277ed88ep+43, 0x1.b6c1d2ecec7ccp+43, 0x1.0adaa9b0f5b86p+44, 0x1.229789ce35756p+44, 0x1.4d51ea02db632p+44, 0x1.66f4f088d88b6p+44, 0x1.69853dfca50f7p+44, 0x1.69ce2a25f4ac5p+44},
     {0x1.33cea31bdf41ep+42, 0x1.3f3389904fc59p+42, 0x1.6cc7236211d44p+42, 0x1.c23be3cb5dafdp+42, 0x1.2854923d6e0eep+43, 0x1.55e82c0f301dap+43, 0x1.b6c1d2ecec7ccp+43, 0x1.0aaa0c4015fa6p+44, 0x1.229789ce35756p+44, 0x1.5b900a146807bp+44, 0x1.69853dfca50f7p+44, 0x1.69ce2a25f4ac5p+44}, 0x1.b6c1d2ecec7ccp+43},
    {"wide", 103u, 3, {0x1.91b9f6768a904p+2, 0x1.3b31cdf29e037p+33, 0x1.89fe416bbda1ep+36, 0x1.ec7dd1c63c0e1p+39, 0x1.33cea31be0d3ap+41, 0x1.9a68d97a800e5p+41, 0x1.33cea31bdf41ep+42, 0x1.57ce5277ed88dp+43, 0x1.b6c1d2ecec7ccp+43, 0x1.30d5a9dfc219fp+44, 0x1.641bb6ebbc6a8p+44, 0x1.693c51d355728p+44, 0x1.69ce2a25f4ac5p+44},
     {0x1.91b9f6768a904p+2, 0x1.89fe416bbda1ep+36, 0x1.ec7dd1c6489bep+38, 0x1.33cea31be3f70p+40, 0x1.33cea31be0d3ap+41, 0x1.964e3376b7208p+41, 0x1.33cea31bdf41ep+42, 0x1.570bdcb46e911p+43, 0x1.b6c1d2ecec7ccp+43, 0x1.4d51ea02db632p+44, 0x1.693c51d35572ap+44, 0x1.69ce2a25f4ac5p+44}, 0x1.33cea31bdf41ep+42},
    {"wide", 103u, 4, {-0x1.654f99db6f742p-29, 0x1.34869dd419012p-6, 0x1.81a8486d125b9p-3, 0x1.e2125aecd555dp+0, 0x1.2d4b78d835446p+2, 0x1.91b9f6768a904p+2, 0x1.33cea31be0d3ap+41, 0x1.33cea31bdf41ep+42, 0x1.2854923d6e0eep+43, 0x1.145969bca8d0dp+44, 0x1.61427d4ea0498p+44, 0x1.68f365aa05d5ap+44, 0x1.69ce2a25f4ac5p+44},
     {-0x1.654f99db6f742p-29, 0x1.81a8486d125b9p-3, 0x1.e2125ae1aad90p-1, 0x1.2d4b78d56aa53p+1, 0x1.2d4b78d835446p+2, 0x1.8db58b09ced4ep+2, 0x1.33cea31be0d3ap+41, 0x1.33310a34e7848p+42, 0x1.2854923d6e0eep+43, 0x1.3f13c9f14ebe7p+44, 0x1.68f365aa05d5cp+44, 0x1.69ce2a25f4ac5p+44}, 0x1.33cea31be0d3ap+41},
    {"wide", 103u, 5, {-0x1.654f99db6f742p-29, -0x1.63ddb236983c2p-29, -0x1.56dc8d6b07440p-29, -0x1.a9a23aeebb25fp-30, 0x1.f64e8f5e9f638p-36, 0x1.0bd14ef9bc2c6p+1, 0x1.91b9f6768a904p+2, 0x1.9a68d97a800e4p+41, 0x1.33cea31bdf41ep+42, 0x1.efba53331f0f3p+43, 0x1.5e6943b18428ap+44, 0x1.68aa7980b638cp+44, 0x1.69ce2a25f4ac5p+44},
     {-0x1.654f99db6f742p-29, -0x1.56dc8d6b07440p-29, -0x1.1d105ba966839p-29, -0x1.6162fcbcb2355p-30, 0x1.f64e8f5e9f638p-36, 0x1.011adb2d3027ap+1, 0x1.91b9f6768a904p+2, 0x1.98c4971296156p+41, 0x1.33cea31bdf41ep+42, 0x1.30d5a9dfc219ep+44, 0x1.68aa7980b638ep+44, 0x1.69ce2a25f4ac5p+44}, 0x1.91b9f6768a904p+2},
    {"wide", 103u, 10, {-0x1.75ff63cef944ep+17, -0x1.72a1b309c86f1p+17, -0x1.54567c1b10eabp+17, -0x1.2b32b63f2df8ep+14, 0x1.49bdfc8b0ecfcp-42, 0x1.4e6320a29dda0p-40, 0x1.91b9f67692698p+1, 0x1.1119a72e48373p+34, 0x1.ce3e817d6606ep+41, 0x1.0c3448ff47c7bp+55, 0x1.30e7488aa5a6ap+58, 0x1.4c0a8ee21eeb0p+58, 0x1.4f0e7a412c648p+58},
     {-0x1.75ff63cef944ep+17, -0x1.54567c1b10eabp+17, -0x1.9b65ba96df03fp+16, -0x1.38a5acd186fa6p-29, 0x1.49bdfc8b0ecfcp-42, 0x1.444f246a4d722p-40, 0x1.91b9f67692698p+1, 0x1.0f762bcf4b376p+34, 0x1.ce3e817d6606ep+41, 0x1.70950361155cdp+57, 0x1.4c0a8ee21eebap+58, 0x1.4f0e7a412c648p+58}, 0x1.91b9f67692698p+1},
    {"wide", 103u, 101, {-0x1.0b9d6b424cbd5p+60, -0x1.e26f5627ec20bp+59, -0x1.d1f4b974fde16p+53, -0x1.07f2a7624924fp+41, -0x1.75ff63cef944ep+17, -0x1.8ce564ce71500p-1, -0x1.ea6ef47ab071dp-47, 0x1.06e697a4464dap-34, 0x1.0665b50111953p+4, 0x1.96a0ffe4434f7p+32, 0x1.bf84e972d3b43p+57, 0x1.43ed468065bdcp+58, 0x1.4f0e7a412c648p+58},
     {-0x1.0b9d6b424cbd5p+60, -0x1.d1f4b974fde16p+53, -0x1.a21104c86ed3ep+50, -0x1.9b43e56347cdep+39, -0x1.75ff63cef944ep+17, -0x1.254e8c4dc81afp+0, -0x1.ea6ef47ab071dp-47, 0x1.f25631b939b86p-35, 0x1.0665b50111953p+4, 0x1.e1c2b2cd232c9p+46, 0x1.43ed468065bdcp+58, 0x1.4f0e7a412c648p+58}, -0x1.ea6ef47ab071dp-47},
    {"wide", 103u, 1000, {-0x1.c19f2f10387ddp+60, -0x1.4cc1023ee775ep+60, -0x1.d9a429ca9b070p+57, -0x1.73408202d26a7p+39, -0x1.40ab6efa08f16p+6, -0x1.87948d11ab932p-15, -0x1.d3c446bc376f8p-58, 0x1.02ac6ffd15e11p-20, 0x1.c563de9332960p-1, 0x1.512f7acd3d3d9p+38, 0x1.187a7223d487bp+59, 0x1.cb3726dccdfcap+60, 0x1.fab1e181ffb17p+60},
     {-0x1.c19f2f10387ddp+60, -0x1.d9a429ca9b070p+57, -0x1.a4e71b93be5d5p+50, -0x1.758500800d194p+34, -0x1.40ab6efa08f16p+6, -0x1.2b35488d34b02p-14, -0x1.d3c446bc376f8p-58, 0x1.d2bf54eb6ebd1p-21, 0x1.c563de9332960p-1, 0x1.5f272a73fb07bp+51, 0x1.cb3726dcce029p+60, 0x1.fab1e181ffb17p+60}, -0x1.d3c446bc376f8p-58},
    {"unit", 104u, 5000, {-0x1.ff7622c2143a0p-1, -0x1.fdeb2eb679cb6p-1, -0x1.f4bd76bcee00ap-1, -0x1.96df1234bd4dfp-1, -0x1.f2b091ce32bc6p-2, -0x1.496f945c117ccp-2, -0x1.b71836b5d4200p-9, 0x1.4f2b963a0a966p-2, 0x1.fe995da9e6b42p-2, 0x1.990bceeea2a06p-1, 0x1.f557dd70bf144p-1, 0x1.ff333827d7951p-1, 0x1.fff92b4c1412ap-1},
     {-0x1.ff7622c2143a0p-1, -0x1.f4bd76bcee00ap-1, -0x1.ca2fbf48ad23ap-1, -0x1.7ffcca437dd8dp-1, -0x1.f2b091ce32bc6p-2, -0x1.52c1ffe33296dp-2, -0x1.b71836b5d4200p-9, 0x1.4d0ff2ebe0c36p-2, 0x1.fe995da9e6b42p-2, 0x1.cff34586a181ep-1, 0x1.ff333827d7951p-1, 0x1.fff92b4c1412ap-1}, -0x1.b71836b5d4200p-9},
    {"dups", 105u, 3000, {-0x1.0000000000000p+1, -0x1.0000000000000p+1, -0x1.0000000000000p+1, -0x1.0000000000000p+1, -0x1.0000000000000p+0, -0x1.0000000000000p-1, 0x0.0p+0, 0x1.0000000000000p+0, 0x1.0000000000000p+0, 0x1.0000000000000p+1, 0x1.0000000000000p+1, 0x1.0000000000000p+1, 0x1.0000000000000p+1},
     {-0x1.0000000000000p+1, -0x1.0000000000000p+1, -0x1.0000000000000p+1, -0x1.8000000000000p+0, -0x1.0000000000000p+0, -0x1.0000000000000p+0, 0x0.0p+0, 0x1.0000000000000p+0, 0x1.0000000000000p+0, 0x1.0000000000000p+1, 0x1.0000000000000p+1, 0x1.0000000000000p+1}, 0x0.0p+0},
    {"wide", 106u, 4099, {-0x1.fff6679330973p+60, -0x1.b468c6438cdfap+60, -0x1.243171074779dp+58, -0x1.7b25df26bfe4ap+34, -0x1.93b5c77140ed4p+0, -0x1.87b87bcbab391p-19, -0x1.5624bcbf15e25p-60, 0x1.8f0378c3fa566p-19, 0x1.2f9d431b2c709p+2, 0x1.391f7943b5c8ep+37, 0x1.ab5551c8472a2p+58, 0x1.a877e734719e8p+60, 0x1.fb6e9f224248cp+60},
     {-0x1.fff6679330973p+60, -0x1.243171074779dp+58, -0x1.5018feb33ae0cp+47, -0x1.95e1e6fa121a4p+28, -0x1.93b5c77140ed4p+0, -0x1.4e92b2841d74fp-18, -0x1.5624bcbf15e25p-60, 0x1.420333803d3aap-19, 0x1.2f9d431b2c709p+2, 0x1.0d31ec7e5566fp+49, 0x1.a877e73471a18p+60, 0x1.fb6e9f224248cp+60}, -0x1.5624bcbf15e25p-60},
    {"bits", 107u, 1001, {-0x1.47a87af792bf1p+476, -0x1.03b225cec0849p+473, -0x1.b2a369c6b350fp+405, -0x1.0c080e91ec39bp+64, -0x1.40a543e2f191bp-547, -0x1.8053667f53400p-774, -0x0.2cba968df4376p-1022, 0x1.f3da6afa77d16p-779, 0x1.0183acefc03a6p-580, 0x1.7e1dbd3e685d1p+0, 0x1.429ca7f6bafa0p+442, 0x1.12e6c47df8d71p+460, 0x1.985e228295bbdp+465},
     {-0x1.47a87af792bf1p+476, -0x1.b2a369c6b350fp+405, -0x1.5e3b2b23b0b5bp+254, -0x1.a5c9b886530cap-25, -0x1.40a543e2f191bp-547, -0x1.2ebcb885e3f45p-766, -0x0.2cba968df4376p-1022, 0x1.149e9abe1216dp-782, 0x1.0183acefc03a6p-580, 0x1.dd0635faf3232p+248, 0x1.12e6c47dff163p+460, 0x1.985e228295bbdp+465}, -0x0.2cba968df4376p-1022},
    {"bits", 108u, 7000, {-0x1.660ff8040ef6bp+476, -0x1.197ecd85faf9ap+469, -0x1.9a0af73005e9bp+423, -0x1.cb2086c787384p+15, -0x1.1fb9d26a0f11ap-561, -0x1.f12e0c3fe616bp-757, -0x0.318c9c999c1b6p-1022, 0x1.e7c363432a22bp-794, 0x1.bec13597af69ap-596, 0x1.02641ab4cef7dp-6, 0x1.6cef42034f072p+428, 0x1.62a22c548c9b8p+470, 0x1.fd304856c91bap+476},
     {-0x1.660ff8040ef6bp+476, -0x1.9a0af73005e9bp+423, -0x1.6a447788a6f8ep+236, -0x1.78626a699b7e3p-106, -0x1.1fb9d26a0f11ap-561, -0x1.b1ffe928c445dp-750, -0x0.318c9c999c1b6p-1022, 0x1.467e908865978p-794, 0x1.bec13597af69ap-596, 0x1.4a11de12b377bp+239, 0x1.62a22c548e902p+470, 0x1.fd304856c91bap+476}, -0x0.318c9c999c1b6p-1022},
};
const HandCase kHandCases[] = {
    {{0x1.1c37937e08000p+53, 0x1.0000000000000p+0, -0x1.1c37937e08000p+53}, 0x1.5555555555555p-2, 0x1.a4b9cf15c92c9p+105, 0x1.d01fe3eaa494cp+52},
    {{0x1.999999999999ap-4, 0x1.999999999999ap-4, 0x1.999999999999ap-4, 0x1.999999999999ap-4, 0x1.999999999999ap-4, 0x1.999999999999ap-4, 0x1.999999999999ap-4, 0x1.999999999999ap-4, 0x1.999999999999ap-4, 0x1.999999999999ap-4}, 0x1.999999999999ap-4, 0x0.0p+0, 0x0.0p+0},
    {{0x1.56e1fc2f8f359p-997, -0x1.56e1fc2f8f359p-996, 0x1.01297d23ab683p-995}, 0x1.c92d503f699cdp-998, 0x0.0p+0, 0x0.0p+0},
    {{0x0.0000000000001p-1022, -0x0.0000000000001p-1022, 0x0.0000000000001p-1022}, 0x0.0p+0, 0x0.0p+0, 0x0.0p+0},
    {{0x1.0000000000000p+0, 0x1.0000000000000p+1, 0x1.8000000000000p+1, 0x1.0000000000000p+2}, 0x1.4000000000000p+1, 0x1.4000000000000p+0, 0x1.1e3779b97f4a8p+0},
    {{0x1.7dddf6b095ff1p+511, -0x1.7dddf6b095ff1p+511, 0x1.8000000000000p+1}, 0x1.0000000000000p+0, 0x1.7bbef5d3a60d5p+1022, 0x1.37cb0b063d9adp+511},
    {{0x1.249ad2594c37dp+332, 0x1.0000000000000p+0, 0x1.bff2ee48e0530p-333, -0x1.249ad2594c37dp+332}, 0x1.0000000000000p-2, 0x1.4e718d7d7625ap+663, 0x1.9dce3e3d94c83p+331},
    {{0x1.999999999999ap-4, 0x1.999999999999ap-3, 0x1.3333333333333p-2}, 0x1.9999999999999p-3, 0x1.b4e81b4e81b4dp-8, 0x1.4e6fdf33cf031p-4},
    {{0x1.fffffffffffffp+1023, -0x1.fffffffffffffp+1023}, 0x0.0p+0, kInf, kInf},
    {{0x1.0000000000000p+53, 0x1.0000000000000p+0}, 0x1.0000000000000p+52, 0x1.ffffffffffffep+103, 0x1.fffffffffffffp+51},
    {{0x1.0000000000000p+53, 0x1.8000000000000p+1}, 0x1.0000000000002p+52, 0x1.ffffffffffffap+103, 0x1.ffffffffffffdp+51},
    {{0x1.0000000000000p+53, 0x1.0000000000000p+0, 0x0.0000000000001p-1022}, 0x1.5555555555557p+51, 0x1.c71c71c71c71cp+103, 0x1.e2b7dddfefa66p+51},
    {{-0x1.0000000000000p+53, -0x1.0000000000000p+0, 0x0.0000000000001p-1022}, -0x1.5555555555555p+51, 0x1.c71c71c71c71cp+103, 0x1.e2b7dddfefa66p+51},
};

bool close_rel(double a, double b, double tol) {
  if (a == b) return true;
  return std::fabs(a - b) <= tol * std::max(std::fabs(a), std::fabs(b));
}

}  // namespace

// ---- factory -----------------------------------------------------------------------------

TEST_CASE(analyzer_make_errors) {
  CHECK(make_error("mean", DType::kFloat64) == ErrorCode::kPlanError);
  CHECK(make_error("", DType::kFloat64) == ErrorCode::kPlanError);
  // Input types.
  CHECK(make_error("moments", DType::kString) == ErrorCode::kTypeError);
  CHECK(make_error("moments", DType::kTimestamp) == ErrorCode::kTypeError);
  CHECK(make_error("moments", DType::kFloat32) == ErrorCode::kTypeError);
  CHECK(make_error("moments", DType::kNull) == ErrorCode::kTypeError);
  Params q;
  q["probabilities"] = num_list({0.5});
  CHECK(make_error("quantiles", DType::kBool, q) == ErrorCode::kTypeError);
  CHECK(make_error("quantiles", DType::kString, q) == ErrorCode::kTypeError);
  CHECK(make_error("vocabulary", DType::kFloat64) == ErrorCode::kTypeError);
  CHECK(make_error("vocabulary", DType::kTimestamp) == ErrorCode::kTypeError);
  CHECK(make_analyzer("moments", DType::kFloat64, {}).ok());
  CHECK(make_analyzer("moments", DType::kInt64, {}).ok());
  CHECK(make_analyzer("moments", DType::kBool, {}).ok());
  CHECK(make_analyzer("quantiles", DType::kFloat64, q).ok());
  CHECK(make_analyzer("quantiles", DType::kInt64, q).ok());
  CHECK(make_analyzer("vocabulary", DType::kString, {}).ok());
  CHECK(make_analyzer("vocabulary", DType::kInt64, {}).ok());
  CHECK(make_analyzer("vocabulary", DType::kBool, {}).ok());
  // Unknown parameters.
  Params extra;
  extra["ddof"] = one(Scalar::Int(1));
  CHECK(make_error("moments", DType::kFloat64, extra) == ErrorCode::kPlanError);
  extra["probabilities"] = num_list({0.5});
  CHECK(make_error("quantiles", DType::kFloat64, extra) == ErrorCode::kPlanError);
  CHECK(make_error("vocabulary", DType::kString, extra) == ErrorCode::kPlanError);
  // Kinds get their names right and clones keep them.
  auto m = make("moments", DType::kFloat64);
  auto qa = make("quantiles", DType::kFloat64, q);
  auto v = make("vocabulary", DType::kString);
  if (m && qa && v) {
    CHECK_EQ(std::string(m->kind()), "moments");
    CHECK_EQ(std::string(qa->kind()), "quantiles");
    CHECK_EQ(std::string(v->kind()), "vocabulary");
    CHECK_EQ(std::string(qa->empty_clone()->kind()), "quantiles");
  }
}

TEST_CASE(analyzer_quantile_param_errors) {
  auto err = [](Params p) { return make_error("quantiles", DType::kFloat64, p); };
  CHECK(err({}) == ErrorCode::kPlanError);  // probabilities required
  Params p;
  p["probabilities"] = one(Scalar::Float(0.5));  // not a list
  CHECK(err(p) == ErrorCode::kPlanError);
  p["probabilities"] = num_list({0.5, 1.5});
  CHECK(err(p) == ErrorCode::kPlanError);
  p["probabilities"] = num_list({-0.1});
  CHECK(err(p) == ErrorCode::kPlanError);
  p["probabilities"] = num_list({kNaN});
  CHECK(err(p) == ErrorCode::kPlanError);
  Param with_null = num_list({0.5});
  with_null.values.push_back(Scalar::Null(DType::kFloat64));
  p["probabilities"] = with_null;
  CHECK(err(p) == ErrorCode::kPlanError);
  Param with_str = num_list({0.5});
  with_str.values.push_back(Scalar::Str("0.7"));
  p["probabilities"] = with_str;
  CHECK(err(p) == ErrorCode::kPlanError);
  Param ints_ok;
  ints_ok.is_list = true;
  ints_ok.values = {Scalar::Int(0), Scalar::Int(1), Scalar::Float(0.5)};
  p["probabilities"] = ints_ok;
  CHECK(err(p) == ErrorCode::kOk);
  p["probabilities"] = num_list({});
  CHECK(err(p) == ErrorCode::kOk);
  p["exact_budget"] = one(Scalar::Int(-1));
  CHECK(err(p) == ErrorCode::kPlanError);
  p["exact_budget"] = one(Scalar::Float(10.0));
  CHECK(err(p) == ErrorCode::kPlanError);
  p["exact_budget"] = one(Scalar::Int(0));
  CHECK(err(p) == ErrorCode::kOk);
  p["k"] = one(Scalar::Int(7));
  CHECK(err(p) == ErrorCode::kPlanError);
  p["k"] = one(Scalar::Int((int64_t{1} << 20) + 1));
  CHECK(err(p) == ErrorCode::kPlanError);
  p["k"] = one(Scalar::Null(DType::kInt64));
  CHECK(err(p) == ErrorCode::kPlanError);
  p["k"] = one(Scalar::Int(8));
  CHECK(err(p) == ErrorCode::kOk);
}

TEST_CASE(analyzer_vocabulary_param_errors) {
  auto err = [](Params p) { return make_error("vocabulary", DType::kString, p); };
  Params p;
  p["top_k"] = one(Scalar::Int(-1));
  CHECK(err(p) == ErrorCode::kPlanError);
  p["top_k"] = one(Scalar::Str("3"));
  CHECK(err(p) == ErrorCode::kPlanError);
  p["top_k"] = one(Scalar::Null(DType::kInt64));
  CHECK(err(p) == ErrorCode::kOk);
  p["top_k"] = one(Scalar::Null());
  CHECK(err(p) == ErrorCode::kOk);
  p["top_k"] = one(Scalar::Int(0));
  CHECK(err(p) == ErrorCode::kOk);
  p["min_frequency"] = one(Scalar::Int(-2));
  CHECK(err(p) == ErrorCode::kPlanError);
  p["min_frequency"] = one(Scalar::Null(DType::kInt64));
  CHECK(err(p) == ErrorCode::kPlanError);
  p["min_frequency"] = one(Scalar::Int(3));
  CHECK(err(p) == ErrorCode::kOk);
  p["order"] = one(Scalar::Str("count"));
  CHECK(err(p) == ErrorCode::kPlanError);
  p["order"] = one(Scalar::Int(1));
  CHECK(err(p) == ErrorCode::kPlanError);
  p["order"] = one(Scalar::Str("value"));
  CHECK(err(p) == ErrorCode::kOk);
  p["order"] = one(Scalar::Str("frequency"));
  CHECK(err(p) == ErrorCode::kOk);
}

TEST_CASE(analyzer_update_and_merge_errors) {
  // A slot of the wrong type puts the state in error; later updates are ignored.
  auto m = make("moments", DType::kFloat64);
  Col good = floats({1.0, 2.0});
  Col bad = ints({1, 2});
  if (!m) return;
  m->update(good.slot(), 2);
  m->update(bad.slot(), 2);
  m->update(good.slot(), 2);
  CHECK(m->finalize().status().code() == ErrorCode::kInputError);
  // Merging an errored state reports (and adopts) the error.
  auto m2 = make("moments", DType::kFloat64);
  if (!m2) return;
  m2->update(good.slot(), 2);
  CHECK(m2->merge(*m).code() == ErrorCode::kInputError);
  CHECK(m2->finalize().status().code() == ErrorCode::kInputError);
  // Negative counts and missing buffers.
  auto m3 = make("moments", DType::kFloat64);
  m3->update(good.slot(), -1);
  CHECK(m3->finalize().status().code() == ErrorCode::kInputError);
  auto m4 = make("moments", DType::kFloat64);
  Slot empty;
  empty.type = DType::kFloat64;
  m4->update(empty, 0);  // no rows: fine
  CHECK(m4->finalize().ok());
  m4->update(empty, 3);
  CHECK(m4->finalize().status().code() == ErrorCode::kInputError);
  // Same for the other kinds.
  Params q;
  q["probabilities"] = num_list({0.5});
  auto qa = make("quantiles", DType::kInt64, q);
  qa->update(good.slot(), 2);
  CHECK(qa->finalize().status().code() == ErrorCode::kInputError);
  auto v = make("vocabulary", DType::kString);
  v->update(bad.slot(), 2);
  CHECK(v->finalize().status().code() == ErrorCode::kInputError);

  // Kind and configuration mismatches are plan errors and leave the state unchanged.
  auto a = make("moments", DType::kFloat64);
  auto b = make("moments", DType::kInt64);
  auto c = make("vocabulary", DType::kInt64);
  a->update(good.slot(), 2);
  CHECK(a->merge(*b).code() == ErrorCode::kPlanError);
  CHECK(a->merge(*c).code() == ErrorCode::kPlanError);
  CHECK(c->merge(*a).code() == ErrorCode::kPlanError);
  CHECK_EQ(i64(fin(a.get()), "count"), 2);
  Params q2;
  q2["probabilities"] = num_list({0.25});
  auto qb = make("quantiles", DType::kFloat64, q);
  auto qc = make("quantiles", DType::kFloat64, q2);
  CHECK(qb->merge(*qc).code() == ErrorCode::kPlanError);
  q2["probabilities"] = num_list({0.5});
  q2["exact_budget"] = one(Scalar::Int(5));
  auto qd = make("quantiles", DType::kFloat64, q2);
  CHECK(qb->merge(*qd).code() == ErrorCode::kPlanError);
  Params v1, v2;
  v2["top_k"] = one(Scalar::Int(2));
  auto va = make("vocabulary", DType::kString, v1);
  auto vb = make("vocabulary", DType::kString, v2);
  CHECK(va->merge(*vb).code() == ErrorCode::kPlanError);
  v1["order"] = one(Scalar::Str("value"));
  auto vc = make("vocabulary", DType::kString, v1);
  CHECK(va->merge(*vc).code() == ErrorCode::kPlanError);
  CHECK(va->merge(*va->empty_clone()).ok());
}

// ---- moments -------------------------------------------------------------------------------

TEST_CASE(analyzer_moments_basic) {
  auto m = make("moments", DType::kFloat64);
  Col c = with_nulls(floats({1.0, 2.0, kNaN, 3.0, 4.0}), 3);  // 2 nulls, 1 NaN
  feed(m.get(), c, 2);
  const AnalyzerResult r = fin(m.get());
  CHECK_EQ(i64(r, "count"), 4);
  CHECK_EQ(i64(r, "null_count"), 2);
  CHECK_EQ(i64(r, "nan_count"), 1);
  CHECK_EQ(i64(r, "pos_inf_count"), 0);
  CHECK_EQ(i64(r, "neg_inf_count"), 0);
  CHECK_EQ(f64(r, "min"), 1.0);
  CHECK_EQ(f64(r, "max"), 4.0);
  CHECK_EQ(f64(r, "mean"), 2.5);
  CHECK_EQ(f64(r, "variance"), 1.25);
  CHECK_EQ(f64(r, "std"), std::sqrt(1.25));
  CHECK_EQ(r.scalars.size(), 10u);
  CHECK(r.lists.empty());
}

TEST_CASE(analyzer_moments_empty) {
  auto m = make("moments", DType::kFloat64);
  AnalyzerResult r = fin(m.get());
  CHECK_EQ(i64(r, "count"), 0);
  for (const char* k : {"min", "max", "mean", "variance", "std"}) CHECK(is_null_f64(r, k));
  // Only nulls and NaN: still no values.
  Col c = with_nulls(floats({kNaN, kNaN}), 1);
  feed(m.get(), c);
  r = fin(m.get());
  CHECK_EQ(i64(r, "count"), 0);
  CHECK_EQ(i64(r, "null_count"), 2);
  CHECK_EQ(i64(r, "nan_count"), 2);
  for (const char* k : {"min", "max", "mean", "variance", "std"}) CHECK(is_null_f64(r, k));
}

TEST_CASE(analyzer_moments_exact_generated) {
  for (const MomentsCase& tc : kMomentsCases) {
    auto m = make("moments", std::string(tc.kind) == "ints" ? DType::kInt64 : DType::kFloat64);
    Col c;
    if (std::string(tc.kind) == "ints") {
      c = with_nulls(ints(gen_ints(tc.seed, tc.n)), 7);
    } else {
      std::vector<double> v = gen(tc.kind, tc.seed, tc.n);
      v.push_back(kNaN);  // ignored, counted
      c = with_nulls(floats(v), 7);
    }
    feed(m.get(), c, 100);
    const AnalyzerResult r = fin(m.get());
    CHECK_EQ(i64(r, "count"), static_cast<int64_t>(tc.n));
    CHECK_EQ(i64(r, "null_count"), static_cast<int64_t>(std::count(c.valid.begin(), c.valid.end(), 0)));
    CHECK(same_bits(f64(r, "mean"), tc.mean));
    CHECK(same_bits(f64(r, "variance"), tc.var));
    CHECK(same_bits(f64(r, "std"), tc.std));
    CHECK(same_bits(f64(r, "min"), tc.min));
    CHECK(same_bits(f64(r, "max"), tc.max));
    CHECK(close_rel(f64(r, "mean"), tc.np_mean, 1e-13));
    CHECK(close_rel(f64(r, "variance"), tc.np_var, 1e-13));
    if (!same_bits(f64(r, "mean"), tc.mean) || !same_bits(f64(r, "variance"), tc.var)) {
      std::fprintf(stderr, "  case %s/%llu: mean %a (want %a) variance %a (want %a)\n", tc.kind,
                   static_cast<unsigned long long>(tc.seed), f64(r, "mean"), tc.mean,
                   f64(r, "variance"), tc.var);
    }
  }
}

TEST_CASE(analyzer_moments_exact_hand_picked) {
  for (const HandCase& tc : kHandCases) {
    auto m = make("moments", DType::kFloat64);
    Col c = floats(tc.values);
    feed(m.get(), c);
    const AnalyzerResult r = fin(m.get());
    CHECK(same_bits(f64(r, "mean"), tc.mean));
    CHECK(same_bits(f64(r, "variance"), tc.var));
    CHECK(same_bits(f64(r, "std"), tc.std));
  }
}

// 3,000,000 values spanning the whole exponent range: the lazy carries are renormalised
// several times, with limbs of both signs.
TEST_CASE(analyzer_moments_long_run) {
  auto m = make("moments", DType::kFloat64);
  std::vector<double> block;
  for (int i = 0; i < 2500; ++i) {
    for (double x : {1e140, -3.5, 0x1p-1074, 1.5}) block.push_back(x);
  }
  Col c = floats(block);
  for (int rep = 0; rep < 300; ++rep) feed(m.get(), c, 4096);
  const AnalyzerResult r = fin(m.get());
  CHECK_EQ(i64(r, "count"), 3000000);
  CHECK(same_bits(f64(r, "mean"), kLongMean));
  CHECK(same_bits(f64(r, "variance"), kLongVar));
  CHECK(same_bits(f64(r, "std"), kLongStd));
  CHECK_EQ(f64(r, "min"), -3.5);
  CHECK_EQ(f64(r, "max"), 1e140);
}

TEST_CASE(analyzer_moments_extremes) {
  // Sums beyond the double range do not overflow the quotient.
  auto m = make("moments", DType::kFloat64);
  const double big = std::numeric_limits<double>::max();
  Col c = floats({big, big, big});
  feed(m.get(), c);
  AnalyzerResult r = fin(m.get());
  CHECK_EQ(f64(r, "mean"), big);
  CHECK_EQ(f64(r, "variance"), 0.0);
  // Subnormals: exact sums of tiny values.
  auto t = make("moments", DType::kFloat64);
  Col d = floats({0x1p-1074, 0x1p-1074, 0x1p-1074, 0x1p-1074});
  feed(t.get(), d);
  r = fin(t.get());
  CHECK_EQ(f64(r, "mean"), 0x1p-1074);
  CHECK_EQ(f64(r, "variance"), 0.0);
  // Cancellation: the exact sum of {1e16, 1, -1e16} is 1.
  auto e = make("moments", DType::kFloat64);
  Col x = floats({1e16, 1.0, -1e16});
  feed(e.get(), x);
  CHECK_EQ(f64(fin(e.get()), "mean"), 1.0 / 3.0);
}

TEST_CASE(analyzer_moments_infinities_and_zeros) {
  struct Case {
    std::vector<double> v;
    double mean;
    int64_t pinf, ninf;
  };
  const Case cases[] = {
      {{1.0, kInf, 2.0}, kInf, 1, 0},
      {{-kInf, 1.0, kNaN}, -kInf, 0, 1},
      {{kInf, -kInf, 5.0}, kNaN, 1, 1},
      {{kInf, kInf}, kInf, 2, 0},
  };
  for (const Case& tc : cases) {
    auto m = make("moments", DType::kFloat64);
    Col c = floats(tc.v);
    feed(m.get(), c);
    const AnalyzerResult r = fin(m.get());
    CHECK(same_bits(f64(r, "mean"), tc.mean) || (std::isnan(tc.mean) && std::isnan(f64(r, "mean"))));
    CHECK(std::isnan(f64(r, "variance")));
    CHECK(std::isnan(f64(r, "std")));
    CHECK_EQ(i64(r, "pos_inf_count"), tc.pinf);
    CHECK_EQ(i64(r, "neg_inf_count"), tc.ninf);
  }
  {
    auto m = make("moments", DType::kFloat64);
    Col c = floats({3.0, kInf, -kInf, -2.0});
    feed(m.get(), c);
    const AnalyzerResult r = fin(m.get());
    CHECK_EQ(f64(r, "min"), -kInf);
    CHECK_EQ(f64(r, "max"), kInf);
    CHECK_EQ(i64(r, "count"), 4);
  }
  // NaN does not poison.
  {
    auto m = make("moments", DType::kFloat64);
    Col c = floats({kNaN, 1.0, kNaN, 3.0});
    feed(m.get(), c);
    const AnalyzerResult r = fin(m.get());
    CHECK_EQ(f64(r, "mean"), 2.0);
    CHECK_EQ(f64(r, "variance"), 1.0);
    CHECK_EQ(i64(r, "nan_count"), 2);
  }
  // Signed zeros: min -0.0 and max 0.0 whatever the order.
  for (const auto& v : {std::vector<double>{0.0, -0.0}, std::vector<double>{-0.0, 0.0},
                        std::vector<double>{-0.0, -0.0, 0.0, 0.0}}) {
    auto m = make("moments", DType::kFloat64);
    Col c = floats(v);
    feed(m.get(), c, 1);
    const AnalyzerResult r = fin(m.get());
    CHECK(same_bits(f64(r, "min"), -0.0));
    CHECK(same_bits(f64(r, "max"), 0.0));
    CHECK(same_bits(f64(r, "mean"), 0.0));
    CHECK(same_bits(f64(r, "variance"), 0.0));
  }
}

TEST_CASE(analyzer_moments_int_and_bool) {
  auto b = make("moments", DType::kBool);
  Col c = with_nulls(bools({true, false, true, true}), 4);
  feed(b.get(), c);
  AnalyzerResult r = fin(b.get());
  CHECK_EQ(i64(r, "count"), 4);
  CHECK_EQ(i64(r, "null_count"), 1);
  CHECK_EQ(f64(r, "mean"), 0.75);
  CHECK_EQ(f64(r, "variance"), 0.1875);
  CHECK_EQ(f64(r, "min"), 0.0);
  CHECK_EQ(f64(r, "max"), 1.0);
  // int64 values are converted to the nearest double first.
  auto i = make("moments", DType::kInt64);
  Col d = ints({(int64_t{1} << 53) + 1, -3, std::numeric_limits<int64_t>::min()});
  feed(i.get(), d);
  r = fin(i.get());
  CHECK_EQ(f64(r, "max"), 0x1p53);
  CHECK_EQ(f64(r, "min"), -0x1p63);
  auto f = make("moments", DType::kFloat64);
  Col e = floats({0x1p53, -3.0, -0x1p63});
  feed(f.get(), e);
  CHECK(same_result(r, fin(f.get())));
}

TEST_CASE(analyzer_moments_merge_property) {
  Rng rng{2024};
  const char* kinds[] = {"wide", "bits", "offset", "uniform"};
  for (int trial = 0; trial < 24; ++trial) {
    std::vector<double> v = gen(kinds[trial % 4], 500 + static_cast<uint64_t>(trial), 3000);
    if (trial % 3 == 0) {  // NaN, infinities and signed zeros in some trials
      v[17] = kNaN;
      v[99] = -0.0;
      v[100] = 0.0;
      if (trial % 2 == 0) v[2000] = kInf;
    }
    Col c = with_nulls(floats(v), 13);
    auto proto = make("moments", DType::kFloat64);
    if (!proto) return;
    auto whole = proto->empty_clone();
    feed(whole.get(), c);
    const AnalyzerResult expect = fin(whole.get());
    for (int rep = 0; rep < 3; ++rep) {
      auto merged = split_permute_merge(*proto, c, rng);
      CHECK(same_result(fin(merged.get()), expect));
    }
    // Self-merge equals the data fed twice.
    auto twice = proto->empty_clone();
    feed(twice.get(), c);
    feed(twice.get(), c);
    CHECK(whole->merge(*whole).ok());
    CHECK(same_result(fin(whole.get()), fin(twice.get())));
  }
}

// ---- quantiles -----------------------------------------------------------------------------

namespace {

Params quantile_params(const std::vector<double>& probs, int64_t budget = -1, int64_t k = -1) {
  Params p;
  p["probabilities"] = num_list(probs);
  if (budget >= 0) p["exact_budget"] = one(Scalar::Int(budget));
  if (k >= 0) p["k"] = one(Scalar::Int(k));
  return p;
}

std::vector<double> quantile_values(const AnalyzerResult& r) {
  std::vector<double> out;
  for (const Scalar& s : list(r, "quantiles")) {
    CHECK(s.type == DType::kFloat64 && !s.is_null);
    out.push_back(s.f);
  }
  return out;
}

bool scalar_is_true(const AnalyzerResult& r, const char* key) {
  const Scalar& s = scalar(r, key);
  return s.type == DType::kBool && !s.is_null && s.b;
}

}  // namespace

TEST_CASE(analyzer_quantiles_match_numpy) {
  const std::vector<double> probs(std::begin(kProbs), std::end(kProbs));
  std::vector<double> from_percent;
  for (double q : kPercents) from_percent.push_back(q / 100.0);  // numpy.percentile's q / 100
  Rng rng{77};
  for (const QuantileCase& tc : kQuantileCases) {
    std::vector<double> v = gen(tc.kind, tc.seed, tc.n);
    v.insert(v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), kNaN);  // ignored, counted
    Col c = with_nulls(floats(v), 5);
    auto a = make("quantiles", DType::kFloat64, quantile_params(probs));
    auto b = make("quantiles", DType::kFloat64, quantile_params(from_percent));
    feed(a.get(), c, 64);
    feed(b.get(), c, 64);
    const AnalyzerResult ra = fin(a.get()), rb = fin(b.get());
    CHECK(scalar_is_true(ra, "exact"));
    CHECK_EQ(i64(ra, "count"), static_cast<int64_t>(tc.n));
    CHECK_EQ(i64(ra, "nan_count"), 1);
    CHECK_EQ(i64(ra, "null_count"), static_cast<int64_t>(std::count(c.valid.begin(), c.valid.end(), 0)));
    CHECK_EQ(f64(ra, "rank_epsilon"), 0.0);
    const std::vector<double> qa = quantile_values(ra), qb = quantile_values(rb);
    CHECK_EQ(qa.size(), 13u);
    CHECK_EQ(qb.size(), 12u);
    for (size_t i = 0; i < qa.size() && i < 13; ++i) {
      if (!CHECK(same_bits(qa[i], tc.by_prob[i]))) {
        std::fprintf(stderr, "  %s/%zu p=%a: %a want %a\n", tc.kind, tc.n, probs[i], qa[i], tc.by_prob[i]);
      }
    }
    for (size_t i = 0; i < qb.size() && i < 12; ++i) {
      if (!CHECK(same_bits(qb[i], tc.by_percent[i]))) {
        std::fprintf(stderr, "  %s/%zu q=%g: %a want %a\n", tc.kind, tc.n, kPercents[i], qb[i], tc.by_percent[i]);
      }
    }
    CHECK(same_bits(f64(ra, "median_midpoint"), tc.median));
    // Order and split do not matter in exact mode.
    auto merged = split_permute_merge(*a->empty_clone(), c, rng);
    CHECK(same_result(fin(merged.get()), ra));
  }
}

// Large exact sets take the radix-sort path: neighbours that differ only in their last
// bits, both signs, signed zeros and subnormals. With n - 1 = 4096 and p = j / 64 the
// virtual index is an integer, so numpy's result is sorted[64 j] + 0.0.
TEST_CASE(analyzer_quantiles_exact_large_sort) {
  std::vector<double> v;
  for (int i = 0; i < 2000; ++i) {
    v.push_back(1.0 + i * 0x1p-52);
    v.push_back(-(1.0 + i * 0x1p-52));
  }
  for (int i = 0; i < 40; ++i) {
    v.push_back(-0.0);
    v.push_back(0.0);
  }
  for (int i = 0; i < 17; ++i) v.push_back((i % 2 ? -1.0 : 1.0) * i * 0x1p-1074);
  CHECK_EQ(v.size(), 4097u);
  std::vector<double> sorted = v;
  std::sort(sorted.begin(), sorted.end(), [](double a, double b) {
    return a < b || (a == b && std::signbit(a) && !std::signbit(b));
  });
  Rng rng{5};
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.below(i)]);
  std::vector<double> probs;
  for (int j = 0; j <= 64; ++j) probs.push_back(j / 64.0);
  auto a = make("quantiles", DType::kFloat64, quantile_params(probs));
  Col c = floats(v);
  feed(a.get(), c, 333);
  const AnalyzerResult r = fin(a.get());
  const std::vector<double> q = quantile_values(r);
  CHECK_EQ(q.size(), probs.size());
  for (size_t j = 0; j < q.size(); ++j) CHECK(same_bits(q[j], sorted[64 * j] + 0.0));
  CHECK(same_bits(f64(r, "median_midpoint"), sorted[2048] + 0.0));
  // Even size: the midpoint of two neighbours that differ in the last bit.
  auto b = make("quantiles", DType::kFloat64, quantile_params({0.5}));
  Col d = floats(std::vector<double>(v.begin(), v.end() - 1));
  feed(b.get(), d);
  std::vector<double> s2(v.begin(), v.end() - 1);
  std::sort(s2.begin(), s2.end());
  CHECK(same_bits(f64(fin(b.get()), "median_midpoint"), ((s2[2047] + s2[2048]) + 0.0) / 2.0));
}

TEST_CASE(analyzer_quantiles_small_cases) {
  auto run = [](const std::vector<double>& v, const std::vector<double>& probs) {
    auto a = make("quantiles", DType::kFloat64, quantile_params(probs));
    Col c = floats(v);
    feed(a.get(), c);
    return fin(a.get());
  };
  // Empty: nulls.
  AnalyzerResult r = run({}, {0.0, 0.5});
  CHECK_EQ(list(r, "quantiles").size(), 2u);
  for (const Scalar& s : list(r, "quantiles")) CHECK(s.type == DType::kFloat64 && s.is_null);
  CHECK(is_null_f64(r, "median_midpoint"));
  CHECK_EQ(i64(r, "count"), 0);
  CHECK(scalar_is_true(r, "exact"));
  r = run({kNaN}, {0.5});
  CHECK(list(r, "quantiles")[0].is_null);
  CHECK_EQ(i64(r, "nan_count"), 1);
  // No probabilities: an empty list.
  r = run({1.0}, {});
  CHECK(list(r, "quantiles").empty());
  CHECK_EQ(f64(r, "median_midpoint"), 1.0);
  // Hand-checked numpy values (numpy 2.4: np.quantile(v, p) / np.median(v)).
  r = run({3.0, 1.0, 2.0, 10.0}, {0.0, 0.25, 0.5, 0.9, 1.0});
  std::vector<double> q = quantile_values(r);
  CHECK_EQ(q[0], 1.0);
  CHECK_EQ(q[1], 1.75);
  CHECK_EQ(q[2], 2.5);
  CHECK(same_bits(q[3], 0x1.f99999999999bp+2));  // 10 - 7 * (1 - 0.7000000000000002)
  CHECK_EQ(q[4], 10.0);
  CHECK_EQ(f64(r, "median_midpoint"), 2.5);
  // Signed zeros exactly like numpy: [-0.0] at p=1 stays -0.0; [-0.0, -0.0] gives 0.0
  // (numpy adds +0.0 in _lerp); numpy.median turns -0.0 into 0.0.
  r = run({-0.0}, {0.0, 1.0});
  q = quantile_values(r);
  CHECK(same_bits(q[0], -0.0));
  CHECK(same_bits(q[1], -0.0));
  CHECK(same_bits(f64(r, "median_midpoint"), 0.0));
  r = run({-0.0, -0.0}, {0.0, 0.7, 1.0});
  q = quantile_values(r);
  CHECK(same_bits(q[0], 0.0));
  CHECK(same_bits(q[1], -0.0));
  CHECK(same_bits(q[2], 0.0));
  CHECK(same_bits(f64(r, "median_midpoint"), 0.0));
  // Infinities: limits instead of numpy's NaN, except between -inf and +inf.
  r = run({kInf, kInf}, {0.3, 0.7});
  q = quantile_values(r);
  CHECK_EQ(q[0], kInf);
  CHECK_EQ(q[1], kInf);
  CHECK_EQ(f64(r, "median_midpoint"), kInf);
  r = run({1.0, kInf}, {0.0, 0.3, 0.7, 1.0});
  q = quantile_values(r);
  CHECK_EQ(q[0], 1.0);
  CHECK_EQ(q[1], kInf);
  CHECK_EQ(q[2], kInf);
  CHECK_EQ(q[3], kInf);
  r = run({-kInf, 1.0, 2.0}, {0.0, 0.25, 0.5, 0.75});
  q = quantile_values(r);
  CHECK_EQ(q[0], -kInf);
  CHECK_EQ(q[1], -kInf);
  CHECK_EQ(q[2], 1.0);
  CHECK_EQ(q[3], 1.5);
  r = run({-kInf, kInf}, {0.0, 0.5, 1.0});
  q = quantile_values(r);
  CHECK_EQ(q[0], -kInf);
  CHECK(std::isnan(q[1]));
  CHECK_EQ(q[2], kInf);
  CHECK(std::isnan(f64(r, "median_midpoint")));
}

TEST_CASE(analyzer_quantiles_int_input) {
  const std::vector<double> probs = {0.0, 0.1, 0.5, 0.77, 1.0};
  std::vector<int64_t> iv = gen_ints(5, 301);
  std::vector<double> fv;
  for (int64_t x : iv) fv.push_back(static_cast<double>(x));
  auto a = make("quantiles", DType::kInt64, quantile_params(probs));
  auto b = make("quantiles", DType::kFloat64, quantile_params(probs));
  Col ci = with_nulls(ints(iv), 9), cf = with_nulls(floats(fv), 9);
  feed(a.get(), ci);
  feed(b.get(), cf);
  CHECK(same_result(fin(a.get()), fin(b.get())));
}

TEST_CASE(analyzer_quantiles_budget_switch) {
  const std::vector<double> probs = {0.0, 0.5, 1.0};
  std::vector<double> v = gen("unit", 9, 40);
  // Within the budget: exact; one more value: sketch.
  auto a = make("quantiles", DType::kFloat64, quantile_params(probs, 40));
  Col c = floats(v);
  feed(a.get(), c);
  AnalyzerResult r = fin(a.get());
  CHECK(scalar_is_true(r, "exact"));
  Col extra = floats({0.25});
  a->update(extra.slot(), 1);
  r = fin(a.get());
  CHECK(!scalar_is_true(r, "exact"));
  CHECK_EQ(i64(r, "count"), 41);
  CHECK(f64(r, "rank_epsilon") >= 0.0);
  // The sketch (no compaction yet at this size) still knows the exact extremes.
  std::vector<double> all = v;
  all.push_back(0.25);
  std::sort(all.begin(), all.end());
  std::vector<double> q = quantile_values(r);
  CHECK_EQ(q[0], all.front());
  CHECK_EQ(q[2], all.back());
  // Merges: exact + exact within the budget stays exact, beyond it becomes a sketch.
  auto x = make("quantiles", DType::kFloat64, quantile_params(probs, 40));
  auto y = make("quantiles", DType::kFloat64, quantile_params(probs, 40));
  Col c1 = floats(std::vector<double>(v.begin(), v.begin() + 20));
  Col c2 = floats(std::vector<double>(v.begin() + 20, v.end()));
  feed(x.get(), c1);
  feed(y.get(), c2);
  CHECK(x->merge(*y).ok());
  CHECK(scalar_is_true(fin(x.get()), "exact"));
  CHECK(x->merge(*y).ok());
  CHECK(!scalar_is_true(fin(x.get()), "exact"));
  CHECK_EQ(i64(fin(x.get()), "count"), 60);
  // Budget 0: a sketch from the first value on.
  auto z = make("quantiles", DType::kFloat64, quantile_params(probs, 0));
  z->update(extra.slot(), 1);
  r = fin(z.get());
  CHECK(!scalar_is_true(r, "exact"));
  CHECK_EQ(quantile_values(r)[1], 0.25);
  CHECK_EQ(f64(r, "median_midpoint"), 0.25);
}

namespace {

std::vector<double> dist_values(const std::string& dist, size_t n, uint64_t seed) {
  Rng r{seed};
  std::vector<double> v(n);
  for (size_t i = 0; i < n; ++i) {
    if (dist == "uniform") {
      v[i] = r.unit();
    } else if (dist == "dups") {
      v[i] = static_cast<double>(r.below(50));
    } else {  // Box-Muller
      const double z = std::sqrt(-2.0 * std::log(r.unit())) * std::cos(6.283185307179586 * r.unit());
      v[i] = dist == "normal" ? z : std::exp(z);
    }
  }
  return v;
}

// Distance of q's sorted positions [#(x < q), #(x <= q) - 1] from the target position.
double position_error(const std::vector<double>& sorted, double q, double target) {
  const double lo = static_cast<double>(std::lower_bound(sorted.begin(), sorted.end(), q) - sorted.begin());
  const double hi = static_cast<double>(std::upper_bound(sorted.begin(), sorted.end(), q) - sorted.begin()) - 1.0;
  return std::max({0.0, lo - target, target - hi});
}

}  // namespace

// KLL mode: for 1e6 values from several distributions (small exact budget), every
// returned quantile lies within the documented rank_epsilon * n of its target position;
// the same update sequence gives identical results; merged sketches obey the bound too.
TEST_CASE(analyzer_quantiles_sketch_rank_error) {
  const std::vector<double> probs = {0.0, 0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1.0};
  const size_t n = 1000000;
  struct Config {
    const char* dist;
    int64_t k;
    int parts;
  };
  const Config configs[] = {{"uniform", 400, 1}, {"normal", 400, 1}, {"lognormal", 400, 1},
                            {"lognormal", 400, 4}, {"normal", 64, 1}, {"dups", 200, 3}};
  uint64_t seed = 1;
  for (const Config& cfg : configs) {
    const std::vector<double> v = dist_values(cfg.dist, n, seed++);
    std::vector<double> sorted = v;
    std::sort(sorted.begin(), sorted.end());
    Col c = floats(v);
    const Params params = quantile_params(probs, 1000, cfg.k);
    auto a = make("quantiles", DType::kFloat64, params);
    if (!a) return;
    if (cfg.parts == 1) {
      feed(a.get(), c, 4096);
    } else {
      const size_t part = n / static_cast<size_t>(cfg.parts);
      for (int p = 0; p < cfg.parts; ++p) {
        auto s = a->empty_clone();
        const size_t begin = static_cast<size_t>(p) * part;
        const size_t end = p + 1 == cfg.parts ? n : begin + part;
        s->update(c.slot(begin), static_cast<int64_t>(end - begin));
        CHECK(a->merge(*s).ok());
      }
    }
    const AnalyzerResult r = fin(a.get());
    CHECK(!scalar_is_true(r, "exact"));
    CHECK_EQ(i64(r, "count"), static_cast<int64_t>(n));
    const double eps = f64(r, "rank_epsilon");
    // The bound is meaningful: between about 2.6 / k and 3.5 / k (see analyzers.h).
    CHECK(eps > 0.0);
    CHECK(eps < 4.0 / static_cast<double>(cfg.k));
    const std::vector<double> q = quantile_values(r);
    double worst = 0.0;
    for (size_t i = 0; i < q.size() && i < probs.size(); ++i) {
      const double err = position_error(sorted, q[i], probs[i] * static_cast<double>(n - 1));
      worst = std::max(worst, err);
      if (!CHECK(err <= eps * static_cast<double>(n))) {
        std::fprintf(stderr, "  %s k=%lld p=%g: position error %g > %g\n", cfg.dist,
                     static_cast<long long>(cfg.k), probs[i], err, eps * static_cast<double>(n));
      }
    }
    CHECK_EQ(q.front(), sorted.front());  // exact extremes
    CHECK_EQ(q.back(), sorted.back());
    CHECK(position_error(sorted, f64(r, "median_midpoint"), 0.5 * static_cast<double>(n - 1)) <=
          eps * static_cast<double>(n));
    if (std::getenv("FEATUREPLAT_TEST_VERBOSE") != nullptr) {
      std::fprintf(stderr, "  kll %s k=%lld parts=%d: rank_epsilon %.5f, worst observed %.5f\n", cfg.dist,
                   static_cast<long long>(cfg.k), cfg.parts, eps, worst / static_cast<double>(n));
    }
    // Reproducible: the same sequence of updates gives bit-identical results.
    if (cfg.parts == 1) {
      auto b = a->empty_clone();
      feed(b.get(), c, 4096);
      CHECK(same_result(fin(b.get()), r));
      auto d = a->empty_clone();  // chunking does not change the sequence of values
      feed(d.get(), c, 1000);
      CHECK(same_result(fin(d.get()), r));
    }
  }
}

TEST_CASE(analyzer_quantiles_sketch_self_merge) {
  const std::vector<double> probs = {0.1, 0.5, 0.9};
  auto a = make("quantiles", DType::kFloat64, quantile_params(probs, 100, 32));
  std::vector<double> v = dist_values("uniform", 20000, 3);
  Col c = floats(v);
  feed(a.get(), c);
  CHECK(a->merge(*a).ok());
  const AnalyzerResult r = fin(a.get());
  CHECK_EQ(i64(r, "count"), 40000);
  std::vector<double> both = v;
  both.insert(both.end(), v.begin(), v.end());
  std::sort(both.begin(), both.end());
  const double eps = f64(r, "rank_epsilon");
  const std::vector<double> q = quantile_values(r);
  for (size_t i = 0; i < q.size(); ++i) {
    CHECK(position_error(both, q[i], probs[i] * 39999.0) <= eps * 40000.0);
  }
  // Exact-mode self-merge doubles the data.
  auto e = make("quantiles", DType::kFloat64, quantile_params(probs));
  auto e2 = make("quantiles", DType::kFloat64, quantile_params(probs));
  feed(e.get(), c);
  feed(e2.get(), c);
  feed(e2.get(), c);
  CHECK(e->merge(*e).ok());
  CHECK(same_result(fin(e.get()), fin(e2.get())));
}

// ---- vocabulary ------------------------------------------------------------------------------

namespace {

Params vocab_params(int64_t top_k = -1, int64_t min_frequency = -1, const char* order = nullptr) {
  Params p;
  if (top_k >= 0) p["top_k"] = one(Scalar::Int(top_k));
  if (min_frequency >= 0) p["min_frequency"] = one(Scalar::Int(min_frequency));
  if (order != nullptr) p["order"] = one(Scalar::Str(order));
  return p;
}

std::vector<std::string> str_keys(const AnalyzerResult& r) {
  std::vector<std::string> out;
  for (const Scalar& s : list(r, "keys")) {
    CHECK(s.type == DType::kString && !s.is_null);
    out.push_back(s.s);
  }
  return out;
}
std::vector<int64_t> int_keys(const AnalyzerResult& r) {
  std::vector<int64_t> out;
  for (const Scalar& s : list(r, "keys")) {
    CHECK(s.type == DType::kInt64 && !s.is_null);
    out.push_back(s.i);
  }
  return out;
}
std::vector<int64_t> counts(const AnalyzerResult& r) {
  std::vector<int64_t> out;
  for (const Scalar& s : list(r, "counts")) {
    CHECK(s.type == DType::kInt64 && !s.is_null);
    out.push_back(s.i);
  }
  return out;
}

}  // namespace

TEST_CASE(analyzer_vocabulary_strings) {
  // counts: b 3, a 3, "" 2, "\xc3\xa9" 2, z 1, "a\0b" 1  (bytewise: "" < "a" < "a\0b" < "b" < "z" < "\xc3\xa9")
  const std::string nul_key("a\0b", 3);
  const std::vector<std::string> data = {"b", "a", "\xc3\xa9", "", "z", "a", "b", "", "b", "\xc3\xa9", "a", nul_key};
  auto run = [&](Params p) {
    auto v = make("vocabulary", DType::kString, p);
    Col c = with_nulls(strs(data), 5);
    feed(v.get(), c, 3);
    // The analyzer owns its keys: clobbering the input afterwards changes nothing.
    for (auto& o : c.owned) std::fill(o->begin(), o->end(), '#');
    return fin(v.get());
  };
  AnalyzerResult r = run(vocab_params());
  CHECK(str_keys(r) == (std::vector<std::string>{"a", "b", "", "\xc3\xa9", nul_key, "z"}));
  CHECK(counts(r) == (std::vector<int64_t>{3, 3, 2, 2, 1, 1}));
  CHECK_EQ(i64(r, "null_count"), 3);
  CHECK_EQ(i64(r, "distinct"), 6);
  r = run(vocab_params(-1, -1, "value"));
  CHECK(str_keys(r) == (std::vector<std::string>{"", "a", nul_key, "b", "z", "\xc3\xa9"}));
  CHECK(counts(r) == (std::vector<int64_t>{2, 3, 1, 3, 1, 2}));
  r = run(vocab_params(-1, 2));
  CHECK(str_keys(r) == (std::vector<std::string>{"a", "b", "", "\xc3\xa9"}));
  CHECK_EQ(i64(r, "distinct"), 6);
  r = run(vocab_params(3));
  CHECK(str_keys(r) == (std::vector<std::string>{"a", "b", ""}));
  // top_k keeps the most frequent, then orders by value.
  r = run(vocab_params(3, -1, "value"));
  CHECK(str_keys(r) == (std::vector<std::string>{"", "a", "b"}));
  CHECK(counts(r) == (std::vector<int64_t>{2, 3, 3}));
  r = run(vocab_params(0));
  CHECK(str_keys(r).empty());
  CHECK(list(r, "counts").empty());
  r = run(vocab_params(100, 3));
  CHECK(str_keys(r) == (std::vector<std::string>{"a", "b"}));
  Params null_top;
  null_top["top_k"] = one(Scalar::Null(DType::kInt64));
  CHECK_EQ(str_keys(run(null_top)).size(), 6u);
  // Empty input.
  auto e = make("vocabulary", DType::kString);
  r = fin(e.get());
  CHECK(str_keys(r).empty());
  CHECK_EQ(i64(r, "distinct"), 0);
  CHECK_EQ(i64(r, "null_count"), 0);
}

TEST_CASE(analyzer_vocabulary_ints_and_bools) {
  auto v = make("vocabulary", DType::kInt64);
  Col c = with_nulls(ints({10, -10, 2, 10, 2, -10, 7, std::numeric_limits<int64_t>::min()}), 4);
  feed(v.get(), c);
  AnalyzerResult r = fin(v.get());
  CHECK(int_keys(r) == (std::vector<int64_t>{-10, 2, 10, std::numeric_limits<int64_t>::min(), 7}));
  CHECK(counts(r) == (std::vector<int64_t>{2, 2, 2, 1, 1}));
  CHECK_EQ(i64(r, "null_count"), 2);
  CHECK_EQ(i64(r, "distinct"), 5);
  auto w = make("vocabulary", DType::kInt64, vocab_params(-1, -1, "value"));
  feed(w.get(), c);
  CHECK(int_keys(fin(w.get())) == (std::vector<int64_t>{std::numeric_limits<int64_t>::min(), -10, 2, 7, 10}));

  auto b = make("vocabulary", DType::kBool);
  Col d = with_nulls(bools({true, false, true, true, false}), 2);
  d.b[1] = 2;  // any non-zero byte is true
  feed(b.get(), d);
  r = fin(b.get());
  const std::vector<Scalar>& keys = list(r, "keys");
  CHECK_EQ(keys.size(), 2u);
  if (keys.size() == 2) {
    CHECK(keys[0].type == DType::kBool && keys[0].b);
    CHECK(keys[1].type == DType::kBool && !keys[1].b);
  }
  CHECK(counts(r) == (std::vector<int64_t>{3, 2}));
  CHECK_EQ(i64(r, "null_count"), 3);
  auto bv = make("vocabulary", DType::kBool, vocab_params(-1, -1, "value"));
  feed(bv.get(), d);
  r = fin(bv.get());
  CHECK(!list(r, "keys")[0].b);
  CHECK(list(r, "keys")[1].b);
}

TEST_CASE(analyzer_vocabulary_merge_property) {
  Rng rng{99};
  std::vector<std::string> words;
  for (int i = 0; i < 5000; ++i) {
    const size_t len = rng.below(4);
    std::string w;
    for (size_t j = 0; j < len; ++j) w.push_back(static_cast<char>("ab\xff\x01z"[rng.below(5)]));
    words.push_back(w);
  }
  std::vector<int64_t> nums;
  for (int i = 0; i < 5000; ++i) nums.push_back(static_cast<int64_t>(rng.below(300)) - 150);
  for (const char* order : {"frequency", "value"}) {
    const Params p = vocab_params(40, 2, order);
    Col cs = with_nulls(strs(words), 11);
    Col ci = with_nulls(ints(nums), 11);
    auto ps = make("vocabulary", DType::kString, p);
    auto pi = make("vocabulary", DType::kInt64, p);
    auto ws = ps->empty_clone();
    auto wi = pi->empty_clone();
    feed(ws.get(), cs);
    feed(wi.get(), ci);
    const AnalyzerResult es = fin(ws.get()), ei = fin(wi.get());
    CHECK_EQ(list(es, "keys").size(), 40u);
    for (int rep = 0; rep < 5; ++rep) {
      CHECK(same_result(fin(split_permute_merge(*ps, cs, rng).get()), es));
      CHECK(same_result(fin(split_permute_merge(*pi, ci, rng).get()), ei));
    }
    // Self-merge doubles every count.
    CHECK(ws->merge(*ws).ok());
    const AnalyzerResult d = fin(ws.get());
    CHECK(str_keys(d) == str_keys(es));
    std::vector<int64_t> doubled = counts(es);
    for (int64_t& x : doubled) x *= 2;
    CHECK(counts(d) == doubled);
    CHECK_EQ(i64(d, "null_count"), 2 * i64(es, "null_count"));
  }
}

// ---- generator ----------------------------------------------------------------------------
//
// The script that produced the expected values above (run with the project venv):
//
//   # Generates the expected values hard-coded in cpp/tests/test_analyzers.cc.
//   import math, struct, sys
//   from fractions import Fraction
//   import numpy as np
//
//   M64 = (1 << 64) - 1
//   class Rng:
//       def __init__(self, seed): self.state = seed & M64
//       def next(self):
//           self.state = (self.state + 0x9E3779B97F4A7C15) & M64
//           z = self.state
//           z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
//           z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
//           return z ^ (z >> 31)
//
//   def double_of(b): return struct.unpack('<d', struct.pack('<Q', b))[0]
//
//   def gen(kind, seed, n):
//       r = Rng(seed); out = []
//       for _ in range(n):
//           u = r.next()
//           if kind == 'uniform': x = math.ldexp(float((u >> 11) - (1 << 52)), -42)
//           elif kind == 'unit': x = math.ldexp(float((u >> 11) - (1 << 52)), -52)
//           elif kind == 'wide':
//               u2 = r.next(); x = math.ldexp(float((u >> 11) | (1 << 52)), (u2 % 121) - 60 - 52)
//               if u & 1: x = -x
//           elif kind == 'offset': x = 1e8 + math.ldexp(float((u >> 11) - (1 << 52)), -40)
//           elif kind == 'bits':
//               u2 = r.next(); biased = 0 if u2 % 8 == 0 else ((u >> 52) & 0x7ff) % 1500
//               x = double_of((u & ~(0x7ff << 52) & M64) | (biased << 52))
//           elif kind == 'tiny':
//               u2 = r.next(); x = double_of((u & 0x800fffffffffffff) | ((u2 % 3) << 52))
//           elif kind == 'dups': x = float(u % 9) * 0.5 - 2.0
//           elif kind == 'ints':
//               u2 = r.next(); k = u2 % 63; mag = (u >> 1) >> k
//               x = -mag if (u2 >> 63) else mag
//           else: raise ValueError(kind)
//           out.append(x)
//       return out
//
//   def h(x):
//       if math.isnan(x): return 'kNaN'
//       if math.isinf(x): return 'kInf' if x > 0 else '-kInf'
//       return x.hex()
//
//   def div_rounded(F, n, divisions):
//       """Mirror of divide_rounded in analyzers.cc: float(F) / n [/ n], or, when float(F)
//       overflows, the same divisions on the 53-bit significand with the power of two last."""
//       if F == 0: return 0.0
//       try:
//           r = float(F) / n
//           return r / n if divisions == 2 else r
//       except OverflowError:
//           pass
//       a = abs(F)
//       e = a.numerator.bit_length() - a.denominator.bit_length()
//       while Fraction(2) ** e > a: e -= 1
//       while Fraction(2) ** (e + 1) <= a: e += 1
//       lsb = e - 52
//       q = round(a / Fraction(2) ** lsb)  # half to even
//       r = (-float(q) if F < 0 else float(q)) / n
//       if divisions == 2: r /= n
//       try:
//           return math.ldexp(r, lsb)
//       except OverflowError:
//           return math.inf if r > 0 else -math.inf
//
//   def moments_expected(vals):
//       xs = [float(v) for v in vals]
//       n = len(xs)
//       s1 = sum(Fraction(x) for x in xs); s2 = sum(Fraction(x) ** 2 for x in xs)
//       mean = div_rounded(s1, n, 1)
//       d = n * s2 - s1 * s1
//       assert d >= 0
//       var = div_rounded(d, n, 2)
//       std = math.sqrt(var)
//       a = np.array(xs)
//       return dict(n=n, mean=mean, var=var, std=std, np_mean=float(np.mean(a)), np_var=float(np.var(a)),
//                   mn=min(xs), mx=max(xs))
//
//   MOMENT_SETS = [('uniform', 11, 1000), ('wide', 12, 2000), ('offset', 13, 1500), ('bits', 14, 2000),
//                  ('tiny', 15, 500), ('unit', 16, 1), ('unit', 17, 2), ('wide', 18, 3), ('ints', 19, 1000)]
//
//   HAND = [[1e16, 1.0, -1e16], [0.1] * 10, [1e-300, -2e-300, 3e-300], [2.0 ** -1074, -(2.0 ** -1074), 2.0 ** -1074],
//           [1.0, 2.0, 3.0, 4.0], [1e154, -1e154, 3.0], [1e100, 1.0, 1e-100, -1e100], [0.1, 0.2, 0.3],
//           [1.7976931348623157e308, -1.7976931348623157e308],
//           # exact ties of the final rounding: half to even, and sticky bits
//           [2.0 ** 53, 1.0], [2.0 ** 53, 3.0], [2.0 ** 53, 1.0, 2.0 ** -1074], [-(2.0 ** 53), -1.0, 2.0 ** -1074]]
//
//   P = [0.0, 0.001, 0.01, 0.1, 0.25, 1/3, 0.5, 2/3, 0.75, 0.9, 0.99, 0.999, 1.0]
//   Q = [0.0, 1.0, 5.0, 12.5, 25.0, 33.0, 50.0, 66.6, 75.0, 95.0, 99.9, 100.0]
//   QUANTILE_SETS = [(k, s, n) for k, s in [('unit', 101), ('dups', 102), ('wide', 103)]
//                    for n in [1, 2, 3, 4, 5, 10, 101, 1000]] + [
//                    ('unit', 104, 5000), ('dups', 105, 3000), ('wide', 106, 4099), ('bits', 107, 1001), ('bits', 108, 7000)]
//
//   def main():
//       o = []
//       o.append('// ---- generated by the script at the end of this file ----')
//       o.append('const MomentsCase kMomentsCases[] = {')
//       for kind, seed, n in MOMENT_SETS:
//           e = moments_expected(gen(kind, seed, n))
//           o.append(f'    {{"{kind}", {seed}u, {n}, {h(e["mean"])}, {h(e["var"])}, {h(e["std"])}, '
//                    f'{h(e["np_mean"])}, {h(e["np_var"])}, {h(float(e["mn"]))}, {h(float(e["mx"]))}}},')
//       o.append('};')
//       # Exact-by-construction special case: 3,000,000 alternating values (exercises carries).
//       vals = [1e140, -3.5, 2.0 ** -1074, 1.5] * 750000
//       s1 = Fraction(1e140) * 750000 + Fraction(-3.5) * 750000 + Fraction(2.0 ** -1074) * 750000 + Fraction(1.5) * 750000
//       s2 = (Fraction(1e140) ** 2 + Fraction(3.5) ** 2 + Fraction(2.0 ** -1074) ** 2 + Fraction(1.5) ** 2) * 750000
//       n = 3000000
//       mean = div_rounded(s1, n, 1); var = div_rounded(n * s2 - s1 * s1, n, 2)
//       o.append(f'const double kLongMean = {h(mean)}, kLongVar = {h(var)}, kLongStd = {h(math.sqrt(var))};')
//       o.append('const double kProbs[] = {' + ', '.join(h(p) for p in P) + '};')
//       o.append('const double kPercents[] = {' + ', '.join(h(q) for q in Q) + '};')
//       o.append('const QuantileCase kQuantileCases[] = {')
//       for kind, seed, n in QUANTILE_SETS:
//           a = np.array(gen(kind, seed, n), dtype=np.float64)
//           qs = np.quantile(a, P, method='linear'); ps = np.percentile(a, Q, method='linear')
//           med = float(np.median(a))
//           o.append(f'    {{"{kind}", {seed}u, {n}, {{' + ', '.join(h(float(x)) for x in qs) + '},')
//           o.append('     {' + ', '.join(h(float(x)) for x in ps) + f'}}, {h(med)}}},')
//       o.append('};')
//       o.append('const HandCase kHandCases[] = {')
//       for vals in HAND:
//           e = moments_expected(vals)
//           o.append('    {{' + ', '.join(h(x) for x in vals) + f'}}, {h(e["mean"])}, {h(e["var"])}, {h(e["std"])}}},')
//       o.append('};')
//       print('\n'.join(o))
//
//   main()
