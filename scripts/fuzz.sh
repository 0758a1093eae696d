#!/usr/bin/env bash
# Builds and runs the libFuzzer targets native/fuzz/<name>_fuzz.c, each for SECONDS.
# usage: scripts/fuzz.sh [SECONDS] [NAME...]        (default 60 s, every target)
# A target <name> links native/<name>/*_core.c (the addon's code without N-API). Corpora live
# in native/fuzz/corpus-<name>/ and binaries, logs and crash inputs in native/fuzz/bin/
# (both gitignored); seed inputs kept in git, if any, in native/fuzz/seeds-<name>/.
# Exits non-zero on any finding (crash, sanitizer report, mismatch).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
shift || true
[[ $seconds =~ ^[0-9]+$ ]] || { echo "usage: $0 [SECONDS] [NAME...]" >&2; exit 2; }

scripts/apt-deps.sh clang libssl-dev
clang_major=$(clang --version | sed -n 's/.*clang version \([0-9]*\).*/\1/p' | head -1)
# libFuzzer and the sanitizer runtimes live in compiler-rt.
scripts/apt-deps.sh "libclang-rt-$clang_major-dev"

names=("$@")
if ((${#names[@]} == 0)); then
  for target in native/fuzz/*_fuzz.c; do
    name=$(basename "$target" _fuzz.c)
    names+=("$name")
  done
fi

# Compare against the system libcrypto when its headers are there (libssl-dev).
reference=()
[[ -f /usr/include/openssl/sha.h ]] && reference=(-DNYMOTE_FUZZ_LIBCRYPTO -lcrypto)

mkdir -p native/fuzz/bin
for name in "${names[@]}"; do
  source=native/fuzz/${name}_fuzz.c
  [[ -f $source ]] || { echo "fuzz.sh: no $source" >&2; exit 2; }
  binary=native/fuzz/bin/${name}_fuzz
  corpus=native/fuzz/corpus-$name
  log=native/fuzz/bin/$name.log
  mkdir -p "$corpus"
  clang -g -O1 -std=c11 -Wall -Wextra -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
    -o "$binary" "$source" native/"$name"/*_core.c "${reference[@]}"
  # libFuzzer reads every directory given and writes new inputs to the first only.
  seeds=()
  [[ -d native/fuzz/seeds-$name ]] && seeds=("native/fuzz/seeds-$name")
  if ! "$binary" -max_total_time="$seconds" -max_len=16384 -print_final_stats=1 \
    -artifact_prefix="native/fuzz/bin/$name-" "$corpus" "${seeds[@]}" >"$log" 2>&1; then
    tail -40 "$log" >&2
    echo "fuzz.sh: $name FOUND A PROBLEM; input saved as native/fuzz/bin/$name-*; log $log" >&2
    exit 1
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  echo "fuzz $name: ${execs:-?} execs in ${seconds}s, corpus $(find "$corpus" -type f | wc -l) inputs, no findings"
done
