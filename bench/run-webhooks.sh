#!/usr/bin/env bash
# Webhook latency and delivery throughput: bench/Tern.Bench.Webhooks hosts Tern in its own process (Kestrel on
# 127.0.0.1, --Tern:Webhooks:AllowPrivateNetworks=true, a throwaway data folder per run) beside a minimal receiver
# (Kestrel on 127.0.0.1, answers 204, checks signatures, records the arrival of each webhook-id) subscribed to
# link.clicked; measures click → delivery latency (batch window 100 ms and 0) and deliveries/s (8 and 64 per
# endpoint), and times the dispatcher's storage calls alone. Each measurement first waits for an idle machine.
#
#   bench/run-webhooks.sh                                # SQLite (a few minutes)
#   POSTGRES=1 bench/run-webhooks.sh                     # SQLite, then a throwaway PostgreSQL cluster
#   bench/run-webhooks.sh --events 50000 --concurrency 8,64,256
#   SRC_REF=HEAD bench/run-webhooks.sh                   # measure the last commit, not the work tree's src/
#
# Arguments go to the program (options at the top of bench/Tern.Bench.Webhooks/Program.cs). Environment: POSTGRES,
# PG_BIN, PG_PORT (55432), PG_DIR (/tmp/pgb), QUIET_MAX_BUSY (20), QUIET_WAIT_RUN (1800 s), RESULTS_NAME.
# Writes bench/results/$RESULTS_NAME.md (default webhooks-latest).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib-cw.sh"
snapshot_and_reexec run-webhooks.sh "$@"

RESULTS_DIR=${RESULTS_DIR:-$BENCH_DIR/results}
RESULTS_NAME=${RESULTS_NAME:-webhooks-latest}
need dotnet
work=$(mktemp -d /tmp/tern-bench-webhooks.XXXXXX)
BENCH_PID=""
cleanup() {
    # The program hosts Tern, whose own SIGTERM handling drains queues first: stop it for good.
    [[ -n $BENCH_PID ]] && kill -KILL "$BENCH_PID" 2>/dev/null || true
    pg_stop
    rm -rf "$work"
    remove_snapshot
}
trap cleanup EXIT
trap "exit 143" INT TERM

log "building bench/Tern.Bench.Webhooks (Release)"
build_project bench/Tern.Bench.Webhooks
args=(--quiet-max-busy "${QUIET_MAX_BUSY:-20}" --quiet-wait-seconds "${QUIET_WAIT_RUN:-1800}" --out "$work/result.md")
if [[ -n ${POSTGRES:-} ]]; then
    pg_start
    args+=(--postgres "$PG_CS")
fi

mkdir -p "$RESULTS_DIR"
header=$(results_header "Webhooks: click → delivery latency and delivery throughput" "bench/run-webhooks.sh $*${POSTGRES:+ (POSTGRES=1)}")
log "waiting for an idle machine"
wait_quiet >/dev/null
# Its throwaway data folders go under $work (TMPDIR), so that they are removed whatever happens.
TMPDIR="$work" dotnet "$REPO_DIR/bench/Tern.Bench.Webhooks/bin/Release/net10.0/Tern.Bench.Webhooks.dll" "${args[@]}" "$@" &
BENCH_PID=$!
wait "$BENCH_PID" || die "the benchmark failed"
BENCH_PID=""
[[ -s $work/result.md ]] || die "the benchmark wrote no result"

{
    echo "$header"
    cat "$work/result.md"
} >"$RESULTS_DIR/$RESULTS_NAME.md"
log "wrote $RESULTS_DIR/$RESULTS_NAME.md"
