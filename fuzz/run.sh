#!/usr/bin/env bash
# Builds every passkeyd fuzz target, writes the seed corpora, and runs the targets for N seconds
# each (default 10), FUZZ_JOBS at a time (default 2).
#
#   fuzz/run.sh [SECONDS] [TARGET...]      e.g. fuzz/run.sh 20   or   fuzz/run.sh 600 cbor jws
#
# Prints one line per target: seconds, executions (libFuzzer's final
# stat::number_of_executed_units, else the "#N DONE" line), corpus size, findings. Exits
# non-zero if any target crashed (panic, sanitizer report, timeout, OOM) or could not run.
# Crash inputs are in fuzz/artifacts/<target>/, logs in fuzz/artifacts/logs/<target>.log.
set -euo pipefail
cd "$(dirname "$0")"

SECS=${1:-10}
if [ $# -gt 0 ]; then shift; fi
ALL=(cbor cose_key authenticator_data client_data x509 jws mds_blob attestation registration assertion jwt signals)
if [ $# -gt 0 ]; then TARGETS=("$@"); else TARGETS=("${ALL[@]}"); fi
JOBS=${FUZZ_JOBS:-2}
TOOLCHAIN=${FUZZ_TOOLCHAIN:-nightly}

if ! rustup run "$TOOLCHAIN" rustc --version >/dev/null 2>&1; then
    rustup toolchain install "$TOOLCHAIN" --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

echo "== build"
cargo "+$TOOLCHAIN" fuzz build
HOST=$(rustc "+$TOOLCHAIN" -vV | sed -n 's/^host: //p')
BIN=${CARGO_TARGET_DIR:-target}/$HOST/release

echo "== seed"
"$BIN/seeds"   # writes corpus/<target>/ (adds seeds, keeps what earlier runs found)

mkdir -p artifacts/logs
run_one() {
    local t=$1
    mkdir -p "corpus/$t" "artifacts/$t"
    set +e
    "$BIN/$t" "corpus/$t" -max_total_time="$SECS" -timeout=25 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="artifacts/$t/" >"artifacts/logs/$t.log" 2>&1
    echo $? >"artifacts/logs/$t.rc"
    set -e
}

echo "== fuzz ${TARGETS[*]} for ${SECS}s each, $JOBS at a time"
for t in "${TARGETS[@]}"; do
    [ -x "$BIN/$t" ] || { echo "unknown target $t" >&2; exit 2; }
    rm -f "artifacts/logs/$t.rc"
    mkdir -p "artifacts/$t"
    find "artifacts/$t" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) -printf '%f\n' 2>/dev/null >"artifacts/logs/$t.before" || true
    while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n || true; done
    run_one "$t" &
done
wait || true

status=0
printf '\n%-20s %8s %14s %8s  %s\n' target seconds executions corpus findings
for t in "${TARGETS[@]}"; do
    log=artifacts/logs/$t.log
    rc=$(cat "artifacts/logs/$t.rc" 2>/dev/null || echo missing)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    [ -n "$execs" ] || execs=$(sed -n 's/^#\([0-9]*\).*DONE.*/\1/p' "$log" | tail -1)
    [ -n "$execs" ] || execs=?
    corpus=$(find "corpus/$t" -type f | wc -l)
    new=$(find "artifacts/$t" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) -printf '%f\n' \
        | sort | comm -23 - <(sort "artifacts/logs/$t.before") | tr '\n' ' ')
    if [ "$rc" = 0 ] && [ -z "$new" ]; then
        findings=none
    else
        findings="rc=$rc ${new:-see $log}"
        status=1
    fi
    printf '%-20s %8s %14s %8s  %s\n' "$t" "$SECS" "$execs" "$corpus" "$findings"
done
exit $status
