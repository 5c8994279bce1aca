#!/usr/bin/env bash
# Static analysis of the product's C sources: clang-tidy (checks in .clang-tidy) on the
# compile_commands.json of a clang configuration, and cppcheck (suppressions in
# scripts/cppcheck-suppressions.txt, each with its reason). Any finding fails.
# Usage: scripts/static-analysis.sh [build-dir]   (default build-tidy; configured here)
# STATIC_ANALYSIS_JOBS sets clang-tidy's parallelism (default: nproc).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
build=${1:-build-tidy}
jobs=${STATIC_ANALYSIS_JOBS:-$(nproc)}

mapfile -t sources < <(git ls-files 'common/*.c' 'imds/*.c' 'relay/*.c' 'firstboot/*.c' 'doctor/*.c' 'cli/*.c')
((${#sources[@]} > 0)) || { echo "static-analysis: no sources found" >&2; exit 1; }

echo "== cppcheck ($(cppcheck --version))"
start=$SECONDS
suppressions=$(mktemp)
trap 'rm -f "$suppressions"' EXIT
sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e '/^$/d' scripts/cppcheck-suppressions.txt >"$suppressions"
cppcheck --std=c11 --enable=warning,style,performance,portability --inline-suppr \
        --error-exitcode=1 --quiet -j"$jobs" --suppressions-list="$suppressions" \
        -D_GNU_SOURCE -DMAILINIT_VERSION='"0"' -Icommon -Iimds -Irelay -Ifirstboot -Idoctor \
        "${sources[@]}"
echo "cppcheck: clean ($((SECONDS - start)) s)"

echo "== clang-tidy ($(clang-tidy --version | grep -o 'version [0-9.]*'))"
start=$SECONDS
# compile_commands.json from a clang configuration (gcc-only warning flags would be unknown)
CC=clang cmake -S . -B "$build" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null
# (clang-analyzer dominates: about 3 min of CPU for the tree, so ~1.5 min on 2 idle cores)
run-clang-tidy -quiet -j "$jobs" -p "$build" "${sources[@]/#/$top/}" 2>&1 |
        sed 's/\x1b\[[0-9;]*m//g' >"$build/clang-tidy.log" || {
        grep -E '(warning|error):' "$build/clang-tidy.log" | sort -u
        echo "clang-tidy: findings above (full log: $build/clang-tidy.log)"
        exit 1
}
if grep -qE '(warning|error):' "$build/clang-tidy.log"; then
        grep -E '(warning|error):' "$build/clang-tidy.log" | sort -u
        echo "clang-tidy: findings above"
        exit 1
fi
echo "clang-tidy: clean ($((SECONDS - start)) s)"
