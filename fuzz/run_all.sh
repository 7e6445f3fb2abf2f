#!/usr/bin/env bash
# Run every fuzz target for a bounded time on a copy of its seed corpus (so the run never writes
# into the repository) and fail on the first crash. Used by .ci/run; see docs/fuzzing.md.
#
#   fuzz/run_all.sh [SECONDS_PER_TARGET]      (default: $GREENWAVE_FUZZ_SECONDS, else 30)
#
# Each target's libFuzzer statistics (executions, exec/s, peak RSS) are printed as one line;
# a crash leaves its input in target/fuzz-artifacts/<target>/ and ends the script non-zero.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-${GREENWAVE_FUZZ_SECONDS:-30}}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
# -s none: no sanitizer, so it builds on stable Rust; panics and aborts are the crashes
cargo fuzz build -s none --release
bin="target/x86_64-unknown-linux-gnu/release"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for t in $(cargo fuzz list); do
    mkdir -p "$work/$t" "target/fuzz-artifacts/$t"
    cp -r "corpus/$t/." "$work/$t/"
    log="target/fuzz-artifacts/$t/last-run.log"
    if ! "$bin/$t" "$work/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=1024 \
        -print_final_stats=1 -artifact_prefix="target/fuzz-artifacts/$t/" >"$log" 2>&1; then
        tail -n 40 "$log"
        echo "fuzz target $t CRASHED; input in fuzz/target/fuzz-artifacts/$t/"
        exit 1
    fi
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log")
    echo "fuzz $t: ${seconds} s, ${runs} executions (${rate}/s), peak RSS ${rss} MB, 0 crashes"
done
