#!/usr/bin/env bash
# npm run test:asan — builds native/ with AddressSanitizer and UndefinedBehaviorSanitizer (gcc's runtimes,
# Debian's libasan8/libubsan1), runs the native unit tests and the tests that exercise the addon with it,
# then rebuilds the normal addon. Any sanitizer report fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."

restore() { unset CXXFLAGS LDFLAGS; npm run --silent build:native >/dev/null 2>&1 || echo "test:asan: could not rebuild the normal addon" >&2; }
trap restore EXIT

export CXXFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
export LDFLAGS="-fsanitize=address,undefined"
npm run --silent build:native >/dev/null
npm run --silent build:ts >/dev/null

export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
build/Release/shmetrics_native_tests

# Node itself is not instrumented: the sanitizer runtimes are preloaded so the addon's checks run, in the
# test processes and in every worker process they spawn.
LD_PRELOAD="$(g++ -print-file-name=libasan.so) $(g++ -print-file-name=libubsan.so)" SHMETRICS_TEST_SKIP_BUILD=1 \
  npx vitest run test/native test/api test/multiprocess test/collect test/metrics-dir test/histogram
