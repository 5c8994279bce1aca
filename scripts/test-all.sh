#!/usr/bin/env bash
# Install what the tests need, run the static analysers (cppcheck, clang-tidy), build twice (gcc with -Werror; gcc with AddressSanitizer and
# UndefinedBehaviorSanitizer), run the whole suite in both, replay and briefly fuzz every
# fuzz target with libFuzzer (clang), check formatting and banned calls, and check the units
# and packages (scripts/check-packages.sh).
# Usage: scripts/test-all.sh            (as root on Debian 12; see README)
# FUZZ_SECONDS=N sets the libFuzzer time per target (default 20, 0 skips).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=$(nproc)

"$top/scripts/install-deps.sh"

echo "== lint: clang-format, banned calls"
mapfile -t sources < <(git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]' -not -path './build*')
clang-format --dry-run --Werror "${sources[@]}"
if grep -nE '\b(strcpy|strcat|sprintf|vsprintf|gets|atoi|atol|strtok|system|popen|mktemp|tmpnam|alloca)\s*\(' \
        "${sources[@]}" | grep -v 'NOLINT'; then
        echo "banned calls found (see STYLE: use the bounded variants)" >&2
        exit 1
fi

echo "== static analysis: cppcheck, clang-tidy (scripts/static-analysis.sh)"
"$top/scripts/static-analysis.sh"

echo "== build (gcc, -Werror) and test"
cmake -S . -B build -DMAILINIT_WERROR=ON >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs"

echo "== build (gcc, ASan+UBSan) and test"
cmake -S . -B build-asan -DMAILINIT_WERROR=ON -DCMAKE_BUILD_TYPE=Debug \
        -DMAILINIT_SANITIZE=address,undefined >/dev/null
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        ctest --test-dir build-asan --output-on-failure -j"$jobs"

echo "== units and packages (systemd-analyze, .deb and .rpm, lintian, rpmlint, install)"
"$top/scripts/check-packages.sh"

# 9 targets x 20 s = 3 minutes of fuzzing. A crash stops the run; its input is copied into
# tests/fuzz/corpus/NAME/ (regression-*) so that committing it makes the replay test run it
# in every build from then on (see tests/fuzz/README.md).
fuzz_seconds=${FUZZ_SECONDS:-20}
if [ "$fuzz_seconds" -gt 0 ]; then
        echo "== libFuzzer (clang, ASan+UBSan), ${fuzz_seconds}s per target"
        CC=clang cmake -S . -B build-fuzz -DMAILINIT_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
        cmake --build build-fuzz -j"$jobs"
        for target in build-fuzz/tests/fuzz/fuzz_*; do
                name=$(basename "$target" | sed 's/^fuzz_//')
                work=$(mktemp -d)
                cp -r "tests/fuzz/corpus/$name/." "$work/"
                rm -f build-fuzz/crash-"$name"-*
                ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
                UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
                "$target" -max_total_time="$fuzz_seconds" -max_len=65536 -timeout=10 \
                        -rss_limit_mb=2048 -artifact_prefix="build-fuzz/crash-$name-" "$work" \
                        2>build-fuzz/fuzz-$name.log || {
                        tail -50 build-fuzz/fuzz-$name.log
                        for artifact in build-fuzz/crash-"$name"-*; do
                                [ -f "$artifact" ] || continue
                                keep="tests/fuzz/corpus/$name/regression-$(basename "$artifact" | sed "s/^crash-$name-//")"
                                cp "$artifact" "$keep"
                                echo "fuzz target $name: input kept as $keep (commit it with the fix)"
                        done
                        echo "fuzz target $name failed"
                        exit 1
                }
                grep -E '^Done|DONE' build-fuzz/fuzz-$name.log | tail -1 || true
                rm -rf "$work"
        done
fi
echo "== all tests passed"
