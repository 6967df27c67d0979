#!/usr/bin/env bash
# Coverage-guided fuzzing with libFuzzer (libfuzzer-sys) on stable Rust.
#
#   bash scripts/fuzz.sh                 # every target, FUZZ_SECONDS each (default 60)
#   FUZZ_SECONDS=5 bash scripts/fuzz.sh sql_gate gzip
#
# Builds fuzz/ (its own workspace) with the SanitizerCoverage flags into
# target/fuzz, then runs each target with its scratch corpus fuzz/corpus/<t>
# (written to) and its committed seeds fuzz/seeds/<t> (read only). Crashes
# (panics) are written to fuzz/artifacts/<t>/. Exits non-zero when a target
# crashed or did not run.
#
# Reproduce a crash:  target/fuzz/x86_64-unknown-linux-gnu/release/<t> fuzz/artifacts/<t>/crash-…
# Minimise it:        … <t> -minimize_crash=1 -runs=10000 fuzz/artifacts/<t>/crash-…
# Replay the corpus:  … <t> -runs=0 fuzz/corpus/<t> fuzz/seeds/<t>
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$HOME/.cargo/bin:$PATH"

ALL_TARGETS=(sql_gate otlp_traces otlp_metrics otlp_logs gzip query_strings alert_bodies storage_formats)
FUZZ_SECONDS="${FUZZ_SECONDS:-60}"
TRIPLE="x86_64-unknown-linux-gnu"
TARGET_DIR="target/fuzz"
BIN_DIR="$TARGET_DIR/$TRIPLE/release"

if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  targets=("${ALL_TARGETS[@]}")
fi
for t in "${targets[@]}"; do
  if [ ! -f "fuzz/fuzz_targets/$t.rs" ]; then
    echo "fuzz.sh: no target '$t' (have: ${ALL_TARGETS[*]})" >&2
    exit 2
  fi
done

# Longest input per target: SQL below the gate's 64 KiB limit so a printed
# query stays under it too; short for query strings; OTLP bodies and blocks larger.
max_len() {
  case "$1" in
    sql_gate) echo 8192 ;;
    query_strings | alert_bodies) echo 4096 ;;
    *) echo 65536 ;;
  esac
}

# --target keeps build scripts and proc-macros uninstrumented; the separate
# target dir keeps the main build's artifacts valid.
export RUSTFLAGS="-Cpasses=sancov-module \
 -Cllvm-args=-sanitizer-coverage-level=4 \
 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
 -Cllvm-args=-sanitizer-coverage-pc-table \
 -Cllvm-args=-sanitizer-coverage-trace-compares \
 --cfg fuzzing -Cdebug-assertions"
bins=()
for t in "${targets[@]}"; do bins+=(--bin "$t"); done
echo "== building ${targets[*]}"
build_start=$SECONDS
cargo build --locked --release --target "$TRIPLE" \
  --manifest-path fuzz/Cargo.toml --target-dir "$TARGET_DIR" "${bins[@]}"
echo "== built in $((SECONDS - build_start)) s"

total=0
failed=()
summary=()
for t in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t" "fuzz/seeds/$t"
  log="fuzz/artifacts/$t/last-run.log"
  echo "== $t: ${FUZZ_SECONDS} s"
  status=0
  "$BIN_DIR/$t" "fuzz/corpus/$t" "fuzz/seeds/$t" \
    -max_total_time="$FUZZ_SECONDS" -max_len="$(max_len "$t")" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="fuzz/artifacts/$t/" >"$log" 2>&1 || status=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  execs=${execs:-0}
  total=$((total + execs))
  if [ "$status" -ne 0 ]; then
    failed+=("$t")
    echo "!! $t exited with $status; log: $log" >&2
    grep -E "panicked at|ERROR: libFuzzer|Test unit written to" "$log" | head -n 6 >&2 || true
    summary+=("$(printf '%-16s %12s execs %9s execs/s  CRASHED (exit %s)' "$t" "$execs" "${rate:-?}" "$status")")
  else
    summary+=("$(printf '%-16s %12s execs %9s execs/s  ok' "$t" "$execs" "${rate:-?}")")
  fi
  echo "${summary[-1]}"
done

echo "== summary (${FUZZ_SECONDS} s per target)"
printf '%s\n' "${summary[@]}"
echo "total executions: $total"
if [ "${#failed[@]}" -gt 0 ]; then
  echo "crashed: ${failed[*]} (inputs in fuzz/artifacts/<target>/)" >&2
  exit 1
fi
