#!/usr/bin/env bash
# nginx alone, with the same wrk command as Tern's redirect benchmark: the same N slugs as 302s from a static map.
# (bench/run-redirect.sh runs this comparison interleaved with Tern; this script is for nginx on its own.)
#
#   bench/nginx/run-nginx.sh                       # N=100000 on 127.0.0.1:5081, 10 s warm-up, 3 rounds of 20 s
#   N=1000 NGINX_PORT=6081 DURATION=10s REPEAT=1 bench/nginx/run-nginx.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

N=${N:-100000}
NGINX_PORT=${NGINX_PORT:-5081}
DURATION=${DURATION:-20s}
WARMUP=${WARMUP:-10s}
REPEAT=${REPEAT:-3}
RESULTS_DIR=${RESULTS_DIR:-$BENCH_DIR/results}
need nginx wrk curl awk seq

work=$(mktemp -d /tmp/tern-bench-nginx.XXXXXX)
NGINX_PID=""
cleanup() {
    stop_pid "$NGINX_PID" 10
    rm -rf "$work"
}
trap cleanup EXIT

log "starting nginx with $N mapped slugs on 127.0.0.1:$NGINX_PORT"
nginx_start "$N" "$NGINX_PORT" "$work"
log "warm-up $WARMUP"
run_wrk "http://127.0.0.1:$NGINX_PORT" "$work/warmup.txt" "$WARMUP" "$N"
for ((round = 1; round <= REPEAT; round++)); do
    log "round $round/$REPEAT: wrk -t${THREADS:-2} -c${CONNECTIONS:-64} -d$DURATION --latency -s bench/redirect.lua"
    measure nginx "http://127.0.0.1:$NGINX_PORT" "$N" "$work" "$round" "$NGINX_PID"
done
cat "$work/wrk-nginx-$REPEAT.txt"
mkdir -p "$RESULTS_DIR"
summary="NGINX n=$N rounds=$REPEAT rps_median=$(median rps nginx "$work/runs.txt") rps_range=$(range rps nginx "$work/runs.txt") p50_us=$(median p50_us nginx "$work/runs.txt") p99_us=$(median p99_us nginx "$work/runs.txt") rss_kb=$(status_kb VmRSS $(pids_of "$NGINX_PID"))"
{ cat "$work/runs.txt"; echo "$summary"; } >"$RESULTS_DIR/nginx-latest.txt"
echo "$summary"
