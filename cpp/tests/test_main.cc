// Runs the registered test cases: all of them, or only the one named in argv[1].
// `--list` prints the names. Prints "N passed, M failed"; exit status 1 on any failure,
// 2 when the named test case does not exist.
#include <cstdio>
#include <cstring>

#include "check.h"

int main(int argc, char** argv) {
  const char* only = argc > 1 ? argv[1] : nullptr;
  const auto& cases = check::registry();

  if (only != nullptr && std::strcmp(only, "--list") == 0) {
    for (const check::TestCase& tc : cases) std::printf("%s\n", tc.name);
    return 0;
  }

  int passed = 0;
  int failed = 0;
  bool matched = false;
  for (const check::TestCase& tc : cases) {
    if (only != nullptr && std::strcmp(only, tc.name) != 0) continue;
    matched = true;
    const int64_t before = check::failure_count();
    check::current_test() = tc.name;
    tc.fn();
    if (check::failure_count() == before) {
      ++passed;
    } else {
      ++failed;
      std::fprintf(stderr, "FAILED: %s (%s:%d), %lld failed check(s)\n", tc.name, tc.file, tc.line,
                   static_cast<long long>(check::failure_count() - before));
    }
  }
  std::fflush(stderr);
  if (only != nullptr && !matched) {
    std::fprintf(stderr, "no test case named '%s'\n", only);
    std::printf("0 passed, 0 failed\n");
    return 2;
  }
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
