#!/usr/bin/env bash
# The redirect benchmark: Tern (Release build, SQLite, N seeded links, all cached) against the same N slugs
# served by nginx from a static map and by a bare Kestrel app, with one wrk command, interleaved round by round.
#
#   bench/run-redirect.sh                         # N=100000, 10 s warm-up, 3 rounds of wrk -t2 -c64 -d20s
#   SRC_REF=HEAD bench/run-redirect.sh            # measure the last commit, not the work tree's src/
#   N=10000 REPEAT=1 DURATION=10s COMPARE="" bench/run-redirect.sh     # Tern only, quick
#   POSTGRES=1 COMPARE="" bench/run-redirect.sh   # Tern on a throwaway PostgreSQL cluster instead of SQLite
#   ORDER=turn bench/run-redirect.sh              # the send-time workload: every link requested in turn, not at random
#
# Settings (environment): N, PORT (5080), NGINX_PORT (5081), BASELINE_PORT (5082), THREADS (2), CONNECTIONS (64),
# DURATION (20s), WARMUP (10s), REPEAT (3), COMPARE ("nginx baseline"), SEED_CONCURRENCY (32), SMART (set: every link carries ten rules and two variants),
# ORDER (turn: each link in turn; default random), COUNT_WAIT (600 s: longest wait for every answered click to show in the stats),
# QUIET_MAX_BUSY (20 %) and QUIET_WAIT (300 s): each round first waits for the machine to be idle;
# ALLOC_TYPES=1: also sample the .NET servers' allocations by type (in-process AllocationTick listener) and write
# the per-redirect profile of the last round to $RESULTS_NAME-alloc-types-TARGET.txt; GC_EVENTS=1: log Tern's every
# collection (generation, pause, bytes promoted, generation sizes) to $RESULTS_NAME-gc-tern.txt;
# SERVER_ARGS: extra command-line settings for Tern and the Kestrel baseline, e.g.
# SERVER_ARGS="--Logging:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics=None"; POSTGRES=1 with PG_BIN, PG_PORT
# and PG_DIR as in run-clicks.sh: Tern stores links and clicks in PostgreSQL (stock durability settings).
# Writes bench/results/$RESULTS_NAME.md (summary; RESULTS_NAME defaults to redirect-latest) and $RESULTS_NAME-runs.txt.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib-cw.sh"
snapshot_and_reexec run-redirect.sh "$@"

N=${N:-100000}
PORT=${PORT:-5080}
NGINX_PORT=${NGINX_PORT:-5081}
BASELINE_PORT=${BASELINE_PORT:-5082}
DURATION=${DURATION:-20s}
WARMUP=${WARMUP:-10s}
REPEAT=${REPEAT:-3}
COMPARE=${COMPARE-nginx baseline}
RESULTS_DIR=${RESULTS_DIR:-$BENCH_DIR/results}
RESULTS_NAME=${RESULTS_NAME:-redirect-latest}
export THREADS=${THREADS:-2} CONNECTIONS=${CONNECTIONS:-64}
need dotnet wrk curl awk
[[ $COMPARE == *nginx* ]] && need nginx seq

work=$(mktemp -d /tmp/tern-bench-redirect.XXXXXX)
TERN_PID="" NGINX_PID="" BASELINE_PID=""
cleanup() {
    stop_pid "$TERN_PID" 60
    stop_pid "$NGINX_PID" 10
    stop_pid "$BASELINE_PID" 10
    pg_stop
    rm -rf "$work"
    remove_snapshot
}
trap cleanup EXIT
types_of() { [[ -n ${ALLOC_TYPES:-} && $1 != nginx ]] && echo "$work/$1-types.txt" || echo ""; }

cd "$REPO_DIR"
log "building (Release)"
for project in src/Tern.Server bench/seed bench/alloc-hook $([[ $COMPARE == *baseline* ]] && echo bench/baseline); do
    dotnet build -c Release "$project" -nologo -v quiet -clp:ErrorsOnly >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; die "build of $project failed"; }
done
seed() { dotnet "$BENCH_DIR/seed/bin/Release/net10.0/Tern.Bench.Seed.dll" "$@"; }

storage=SQLite storage_args=()
if [[ -n ${POSTGRES:-} ]]; then
    pg_start
    storage="PostgreSQL $PG_VERSION"
    storage_args=(--Tern:Database:Provider=postgres "--ConnectionStrings:Tern=$PG_CS")
fi

log "starting Tern on 127.0.0.1:$PORT (data in $work/tern, $storage)"
mkdir -p "$work/tern"
# Links are not cached at their creation here, so that the pass below that requests each slug once still measures
# reads from storage (a node that did not create the links); the measured rounds find every link cached either way.
TERN_BENCH_GC_EVENTS=${GC_EVENTS:+$work/tern-gc.txt} TERN_BENCH_ALLOC_TYPES=$(types_of tern) tern_start "$PORT" "$work/tern" "$work/tern-alloc.log" "${storage_args[@]}" --Tern:Cache:WarmOnCreate=false ${SERVER_ARGS:-}
rss_empty=$(status_kb VmRSS "$TERN_PID")

log "seeding $N links through POST /api/v1/links"
seed seed --base "http://127.0.0.1:$PORT" --key "$BENCH_KEY" --count "$N" --concurrency "${SEED_CONCURRENCY:-32}" ${SMART:+--smart} | tee "$work/seed.txt" >&2
log "requesting every slug once, so that all $N links are in the redirect cache"
seed warm --base "http://127.0.0.1:$PORT" --count "$N" --concurrency 64 | tee "$work/warm.txt" >&2
# With SMART, a variant decides: /a/N or /b/N.
[[ $(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "http://127.0.0.1:$PORT/b$N") =~ ^302\ https://example\.com/(p/$N\?member=usr_$N|a/$N|b/$N)$ ]] ||
    die "Tern does not redirect /b$N as expected"

targets=(tern)
if [[ $COMPARE == *nginx* ]]; then
    log "starting nginx on 127.0.0.1:$NGINX_PORT"
    mkdir -p "$work/nginx"
    nginx_start "$N" "$NGINX_PORT" "$work/nginx"
    targets+=(nginx)
fi
if [[ $COMPARE == *baseline* ]]; then
    log "starting the bare Kestrel baseline on 127.0.0.1:$BASELINE_PORT"
    TERN_BENCH_ALLOC_TYPES=$(types_of baseline) TERN_BENCH_ALLOC_LOG="$work/baseline-alloc.log" DOTNET_STARTUP_HOOKS="$BENCH_DIR/alloc-hook/bin/Release/net10.0/Tern.Bench.AllocHook.dll" \
        dotnet "$BENCH_DIR/baseline/bin/Release/net10.0/Tern.Bench.Baseline.dll" --urls "http://127.0.0.1:$BASELINE_PORT" \
        --count "$N" --mode endpoint ${SERVER_ARGS:-} >"$work/baseline.log" 2>&1 &
    BASELINE_PID=$!
    wait_http "http://127.0.0.1:$BASELINE_PORT/b1" 60 302 || { cat "$work/baseline.log" >&2; die "baseline did not start"; }
    targets+=(baseline)
fi

url_of() { case $1 in tern) echo "http://127.0.0.1:$PORT" ;; nginx) echo "http://127.0.0.1:$NGINX_PORT" ;; baseline) echo "http://127.0.0.1:$BASELINE_PORT" ;; esac; }
pid_of() { case $1 in tern) echo "$TERN_PID" ;; nginx) echo "$NGINX_PID" ;; baseline) echo "$BASELINE_PID" ;; esac; }
alloc_of() { case $1 in tern) echo "$work/tern-alloc.log" ;; baseline) echo "$work/baseline-alloc.log" ;; *) echo "" ;; esac; }

for target in "${targets[@]}"; do
    log "warm-up $target $WARMUP"
    run_wrk "$(url_of "$target")" "$work/warmup-$target.txt" "$WARMUP" "$N"
done
for ((round = 1; round <= REPEAT; round++)); do
    for target in "${targets[@]}"; do
        log "round $round/$REPEAT $target: wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency -s bench/redirect.lua $(url_of "$target") -- $N"
        measure "$target" "$(url_of "$target")" "$N" "$work" "$round" "$(pid_of "$target")" "$(alloc_of "$target")" "$(types_of "$target")"
    done
done

# Every redirect Tern answered (the warm-up pass, the curl check, every wrk run) must be counted: wait until the
# workspace's stats show them all, which is when the click fold (and its rollups) has caught up with the load.
answered=$((N + 1))
for file in "$work"/warmup-tern.txt "$work"/wrk-tern-*.txt; do
    answered=$((answered + $(result_field requests "$file")))
done
log "waiting for the $answered answered redirects to show in the stats"
count_clock=$SECONDS counted=0
while ((SECONDS - count_clock < ${COUNT_WAIT:-600})); do
    counted=$(curl -s -H "Authorization: Bearer $BENCH_KEY" "http://127.0.0.1:$PORT/api/v1/stats" | grep -o '"total":[0-9]*' | head -1 | cut -d: -f2)
    ((${counted:-0} >= answered)) && break
    sleep 0.5
done
caught_up=$((SECONDS - count_clock))
log "counted $counted of $answered after $caught_up s"

declare -A rss hwm
for target in "${targets[@]}"; do
    rss[$target]=$(status_kb VmRSS $(pids_of "$(pid_of "$target")"))
    hwm[$target]=$(status_kb VmHWM $(pids_of "$(pid_of "$target")"))
done
stop_pid "$TERN_PID" 60
TERN_PID=""

runs="$work/runs.txt"
label() { case $1 in tern) echo "Tern" ;; nginx) echo "nginx, static map" ;; baseline) echo "bare Kestrel (floor)" ;; esac; }
mkdir -p "$RESULTS_DIR"
{
    echo "### Redirect throughput, $(date -u +%Y-%m-%dT%H:%MZ)"
    echo
    echo "Source $(source_version); Tern on $storage; N=$N links (all cached); \`wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency -s bench/redirect.lua\`,"
    echo "$([[ ${ORDER:-} == turn ]] && echo "every link requested in turn" || echo "a random slug per request"); $REPEAT rounds per target, interleaved; medians, with the range of rounds for throughput.${SERVER_ARGS:+ Server settings: $SERVER_ARGS.}"
    echo "Machine: $(nproc) cores ($(lscpu | awk -F: '/Model name/ { gsub(/^ +/, "", $2); print $2; exit }')), $(free -g | awk '/Mem:/ { print $2 }') GiB, .NET SDK $(dotnet --version), $(nginx -v 2>&1 | cut -d' ' -f3 || true)."
    echo
    echo "| server | redirects/s (median) | range | p50 ms | p90 ms | p99 ms | server CPU µs/redirect | allocated B/redirect | RSS MiB (peak) |"
    echo "|---|---:|---|---:|---:|---:|---:|---:|---:|"
    for target in "${targets[@]}"; do
        printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s (%s) |\n' "$(label "$target")" \
            "$(median rps "$target" "$runs")" "$(range rps "$target" "$runs")" \
            "$(ms "$(median p50_us "$target" "$runs")")" "$(ms "$(median p90_us "$target" "$runs")")" "$(ms "$(median p99_us "$target" "$runs")")" \
            "$(median cpu_us_per_req "$target" "$runs")" "$( [[ -n $(alloc_of "$target") ]] && median bytes_per_req "$target" "$runs" || echo -)" \
            "$(mib "${rss[$target]}")" "$(mib "${hwm[$target]}")"
    done
    echo
    if [[ $COMPARE == *nginx* ]]; then
        tern_rps=$(median rps tern "$runs")
        nginx_rps=$(median rps nginx "$runs")
        echo "Tern / nginx throughput: **$(awk -v t="$tern_rps" -v n="$nginx_rps" 'BEGIN { printf "%.2f", t / n }')×** (target ≥ 0.80×)."
        echo "Per round: $(for ((r = 1; r <= REPEAT; r++)); do
            t=$(grep "target=tern round=$r " "$runs" | grep -o ' rps=[0-9]*' | cut -d= -f2)
            x=$(grep "target=nginx round=$r " "$runs" | grep -o ' rps=[0-9]*' | cut -d= -f2)
            awk -v t="$t" -v n="$x" 'BEGIN { printf "%.2f× ", t / n }'
        done)"
        echo
    fi
    echo "Counted: **$counted** clicks in the stats for **$answered** redirects Tern answered (wrk's completed requests, the warm-up pass and the check; a request cut off at the end of a wrk run may be counted without being in wrk's tally), $caught_up s after the last round ended (the click fold catching up)."
    echo "Tern p99 at $CONNECTIONS connections: $(ms "$(median p99_us tern "$runs")") ms (target ≤ 5 ms). Tern RSS: $(mib "$rss_empty") MiB at start, $(mib "${rss[tern]}") MiB with $N links cached (peak $(mib "${hwm[tern]}") MiB)."
    echo "Tern's collections in a round (median): $(median gcs tern "$runs"), $(median gc_pause_ms tern "$runs") ms paused in all."
    [[ -n ${SMART:-} ]] && echo "Every link carries ten targeting rules that no benchmark request matches and two A/B variants (50/50)."
    echo "Seeding: $(grep -o '[0-9]* requests in [0-9.]* s = [0-9]*/s' "$work/seed.txt" | tail -1) (POST /api/v1/links, ${SEED_CONCURRENCY:-32} in parallel);"
    echo "first request of each slug (cache miss, read from $storage): $(grep -o '[0-9]* requests in [0-9.]* s = [0-9]*/s' "$work/warm.txt" | tail -1) at 64 in parallel."
    echo
    echo "Every round (busy_before = % CPU busy on the machine just before the round):"
    echo
    echo '```'
    cat "$runs"
    echo '```'
} >"$RESULTS_DIR/$RESULTS_NAME.md"
cp "$runs" "$RESULTS_DIR/$RESULTS_NAME-runs.txt"
for target in "${targets[@]}"; do
    if [[ -s $work/types-$target-$REPEAT.txt ]]; then
        cp "$work/types-$target-$REPEAT.txt" "$RESULTS_DIR/$RESULTS_NAME-alloc-types-$target.txt"
    fi
done
[[ -s $work/tern-gc.txt ]] && cp "$work/tern-gc.txt" "$RESULTS_DIR/$RESULTS_NAME-gc-tern.txt"
cat "$RESULTS_DIR/$RESULTS_NAME.md"
