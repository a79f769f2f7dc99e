# Shared helpers of the bench scripts (sourced, not run).

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$BENCH_DIR/.." && pwd)
CLK_TCK=$(getconf CLK_TCK)

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

need() {
    for tool in "$@"; do
        command -v "$tool" >/dev/null 2>&1 || die "'$tool' is missing; install it with: apt-get install -y wrk nginx sqlite3 curl"
    done
}

# wait_http URL SECONDS [STATUS]: until URL answers STATUS (default 200), or fail.
wait_http() {
    local url=$1 seconds=${2:-60} status=${3:-200} i
    for ((i = 0; i < seconds * 10; i++)); do
        if [[ $(curl -s -o /dev/null -w '%{http_code}' "$url" 2>/dev/null) == "$status" ]]; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# cpu_ticks PID...: user+system CPU time of the processes, in clock ticks.
cpu_ticks() {
    local total=0 pid
    for pid in "$@"; do
        if [[ -r /proc/$pid/stat ]]; then
            total=$((total + $(awk '{ print $14 + $15 }' "/proc/$pid/stat")))
        fi
    done
    echo "$total"
}

# status_kb FIELD PID...: sum of a /proc/PID/status field (VmRSS, VmHWM) in KiB.
status_kb() {
    local field=$1 total=0 pid
    shift
    for pid in "$@"; do
        if [[ -r /proc/$pid/status ]]; then
            total=$((total + $(awk -v f="$field:" '$1 == f { print $2 }' "/proc/$pid/status")))
        fi
    done
    echo "$total"
}

# result_field NAME FILE: a value from the RESULT line that redirect.lua prints.
result_field() {
    grep -o "$1=[0-9.]*" "$2" | tail -1 | cut -d= -f2
}

# run_wrk URL OUTPUT DURATION N [extra wrk args]: the benchmark's one wrk command, output kept in OUTPUT.
run_wrk() {
    local url=$1 out=$2 duration=$3 n=$4
    shift 4
    wrk -t"${THREADS:-2}" -c"${CONNECTIONS:-64}" -d"$duration" --latency -s "$BENCH_DIR/redirect.lua" "$@" "$url" -- "$n" ${ORDER:+"$ORDER"} >"$out" 2>&1 ||
        { cat "$out" >&2; die "wrk failed"; }
}

# stop_pid PID [SECONDS]: SIGTERM, then SIGKILL if it is still there after SECONDS.
stop_pid() {
    local pid=$1 seconds=${2:-30} i
    [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < seconds * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    log "process $pid did not stop in ${seconds}s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
}

ms() { awk -v us="$1" 'BEGIN { printf "%.2f", us / 1000 }'; }
mib() { awk -v kb="$1" 'BEGIN { printf "%.0f", kb / 1024 }'; }

# busy_percent: share of CPU time not idle on the whole machine over the next 2 seconds.
busy_percent() {
    local a b
    a=($(head -1 /proc/stat))
    sleep 2
    b=($(head -1 /proc/stat))
    awk -v a="${a[*]}" -v b="${b[*]}" 'BEGIN {
        n = split(a, x, " "); split(b, y, " "); total = 0
        for (i = 2; i <= n; i++) total += y[i] - x[i]
        idle = (y[5] - x[5]) + (y[6] - x[6])
        printf "%.0f", (total > 0 ? 100 * (total - idle) / total : 0) }'
}

# wait_quiet: waits (up to QUIET_WAIT seconds) until the machine is at most QUIET_MAX_BUSY % busy, so that a
# build or test run of someone else on the same machine does not end up in the figures. Echoes the last busy %.
wait_quiet() {
    local max=${QUIET_MAX_BUSY:-20} deadline=$((SECONDS + ${QUIET_WAIT:-300})) busy
    while true; do
        busy=$(busy_percent)
        if ((busy <= max)); then
            echo "$busy"
            return 0
        fi
        if ((SECONDS >= deadline)); then
            log "machine still ${busy}% busy after ${QUIET_WAIT:-300}s; measuring anyway (figures are suspect)"
            echo "$busy"
            return 0
        fi
        log "machine ${busy}% busy; waiting for it to calm down"
        sleep 5
    done
}

# nginx_start N PORT WORKDIR: nginx serving the N slugs from a generated map; sets NGINX_PID.
nginx_start() {
    local n=$1 port=$2 work=$3 map_max=1024
    mkdir -p "$work/tmp"
    "$BENCH_DIR/nginx/gen-map.sh" "$n" "$work/slugs.map.conf"
    while ((map_max < n * 2)); do map_max=$((map_max * 2)); done
    sed -e "s|@WORK@|$work|g" -e "s|@PORT@|$port|g" -e "s|@WORKERS@|${NGINX_WORKERS:-$(nproc)}|g" -e "s|@MAP_MAX@|$map_max|g" \
        "$BENCH_DIR/nginx/nginx.conf.template" >"$work/nginx.conf"
    nginx -e "$work/error.log" -p "$work" -c "$work/nginx.conf" &
    NGINX_PID=$!
    wait_http "http://127.0.0.1:$port/b1" 120 302 || { cat "$work/error.log" >&2; die "nginx did not start"; }
    [[ $(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "http://127.0.0.1:$port/b$n") == "302 https://example.com/p/$n?member=usr_$n" ]] ||
        die "nginx does not redirect /b$n as expected"
}

# pids_of PID: the process and its children (nginx master and workers).
pids_of() { echo "$1" $(pgrep -P "$1" || true); }

# last_allocated FILE: allocated-bytes column of the newest line of an alloc-hook log (empty without one).
last_allocated() { [[ -s ${1:-} ]] && tail -1 "$1" | awk '{ print $2 }' || true; }

# types_per_request BEFORE AFTER REQUESTS: the difference of two alloc-hook type reports, in bytes per request.
types_per_request() {
    awk -v r="$3" '
        FNR == 1 { file++ }
        /^#/ { next }
        { bytes = $1; $1 = ""; $2 = ""; sub(/^ +/, ""); if (file == 1) before[$0] = bytes; else after[$0] = bytes }
        END {
            for (t in after) { d = (after[t] - before[t]) / r; if (d > 0) { total += d; printf "%10.1f B/request  %s\n", d, t } }
            printf "%10.1f B/request  (sum of the sampled types above; AllocationTick samples ~every 100 KB)\n", total
        }' "$1" "$2" | sort -rn | head -40
}

# measure NAME URL N OUT_DIR ROUND PID [ALLOC_LOG] [TYPES_FILE]: one wrk run against a target; appends a RUN line to
# OUT_DIR/runs.txt with throughput, latency, server CPU per request and (for .NET) allocated bytes per request,
# collections and the time the GC paused the server during the run;
# with TYPES_FILE (the alloc-hook's sampled allocations by type), writes OUT_DIR/types-NAME-ROUND.txt too.
measure() {
    local name=$1 url=$2 n=$3 out=$4 round=$5 pid=$6 alloc_log=${7:-} types=${8:-} busy cpu0 cpu1 a0 a1 g0 g1 file requests bytes gc
    busy=$(wait_quiet)
    file="$out/wrk-$name-$round.txt"
    if [[ -n $types ]]; then
        sleep 5.5 # the type report is rewritten every 5 s
        cp "$types" "$out/types-before.txt" 2>/dev/null || : >"$out/types-before.txt"
    fi
    cpu0=$(cpu_ticks $(pids_of "$pid"))
    a0=$(last_allocated "$alloc_log")
    g0=$([[ -n $alloc_log ]] && tail -1 "$alloc_log" || true)
    run_wrk "$url" "$file" "$DURATION" "$n"
    cpu1=$(cpu_ticks $(pids_of "$pid"))
    if [[ -n $alloc_log ]]; then
        sleep 1.2 # the sampler writes once a second; the next line covers the end of the run and the click flush
        a1=$(last_allocated "$alloc_log")
        g1=$(tail -1 "$alloc_log")
    fi
    requests=$(result_field requests "$file")
    if [[ -n $types ]]; then
        sleep 5.5
        types_per_request "$out/types-before.txt" "$types" "$requests" >"$out/types-$name-$round.txt"
    fi
    bytes=$([[ -n $alloc_log && -n $a0 && $a1 != "$a0" ]] && awk -v a="$a0" -v b="$a1" -v r="$requests" 'BEGIN { printf "%.0f", (b - a) / r }' || echo "-")
    # Collections (gen0+gen1+gen2) and milliseconds paused, from the sampler's lines before and after.
    gc=$([[ -n $g0 && -n $g1 ]] && awk -v a="$g0" -v b="$g1" 'BEGIN { split(a, x, " "); split(b, y, " "); printf "gcs=%d gc_pause_ms=%.0f", y[3] + y[4] + y[5] - x[3] - x[4] - x[5], y[8] - x[8] }' || echo "gcs=- gc_pause_ms=-")
    printf 'RUN target=%s round=%s rps=%s p50_us=%s p90_us=%s p99_us=%s p999_us=%s non3xx=%s socket_errors=%s cpu_us_per_req=%s bytes_per_req=%s %s busy_before=%s\n' \
        "$name" "$round" "$(result_field rps "$file")" "$(result_field p50_us "$file")" "$(result_field p90_us "$file")" \
        "$(result_field p99_us "$file")" "$(result_field p999_us "$file")" "$(result_field non3xx "$file")" \
        "$(result_field socket_errors "$file")" \
        "$(awk -v t=$((cpu1 - cpu0)) -v hz="$CLK_TCK" -v r="$requests" 'BEGIN { printf "%.1f", t / hz * 1e6 / r }')" \
        "$bytes" "$gc" "$busy" | tee -a "$out/runs.txt" >&2
}

# median FIELD TARGET RUNS_FILE: the median of a RUN field over a target's rounds (rounds without the field skipped).
median() {
    grep "target=$2 " "$3" | grep -o " $1=[0-9.]*" | cut -d= -f2 | sort -n |
        awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# range FIELD TARGET RUNS_FILE: "min–max" of a RUN field over a target's rounds.
range() {
    grep "target=$2 " "$3" | grep -o " $1=[0-9.]*" | cut -d= -f2 | sort -n | awk 'NR == 1 { lo = $1 } { hi = $1 } END { print lo "–" hi }'
}

# source_version: the commit measured (and whether src/ had uncommitted changes).
source_version() {
    if [[ -n ${TERN_BENCH_SNAPSHOT:-} ]]; then
        echo "$TERN_BENCH_SNAPSHOT (exported snapshot)"
    elif git -C "$REPO_DIR" rev-parse --short HEAD >/dev/null 2>&1; then
        local dirty=""
        git -C "$REPO_DIR" diff --quiet HEAD -- src 2>/dev/null || dirty=" + uncommitted changes in src/"
        echo "$(git -C "$REPO_DIR" rev-parse --short HEAD)$dirty"
    else
        echo "unknown"
    fi
}

# snapshot_and_reexec SCRIPT ARGS...: with SRC_REF set (e.g. SRC_REF=HEAD), runs the benchmark on that commit
# exported to a temporary folder (with this bench/ folder copied in), so that work in progress in src/ does not
# change what is measured. Results still go to this checkout's bench/results.
snapshot_and_reexec() {
    local script=$1
    shift
    [[ -n ${SRC_REF:-} && -z ${TERN_BENCH_SNAPSHOT:-} ]] || return 0
    local dir commit
    commit=$(git -C "$REPO_DIR" rev-parse --short "$SRC_REF") || die "unknown SRC_REF '$SRC_REF'"
    dir=$(mktemp -d /tmp/tern-bench-src.XXXXXX)
    git -C "$REPO_DIR" archive "$SRC_REF" | tar -x -C "$dir"
    mkdir -p "$dir/bench"
    (cd "$BENCH_DIR" && tar -c --exclude=bin --exclude=obj --exclude=results --exclude=BenchmarkDotNet.Artifacts .) | tar -x -C "$dir/bench"
    log "measuring $SRC_REF ($commit) exported to $dir"
    export TERN_BENCH_SNAPSHOT="$commit" TERN_BENCH_SNAPSHOT_DIR="$dir" RESULTS_DIR="${RESULTS_DIR:-$BENCH_DIR/results}"
    exec bash "$dir/bench/$script" "$@"
}

# remove_snapshot: deletes the exported folder of snapshot_and_reexec, if this run is one.
remove_snapshot() {
    if [[ -n ${TERN_BENCH_SNAPSHOT_DIR:-} && $TERN_BENCH_SNAPSHOT_DIR == /tmp/tern-bench-src.* ]]; then
        rm -rf "$TERN_BENCH_SNAPSHOT_DIR"
    fi
}

# tern_start PORT DATA_DIR ALLOC_LOG [extra args]: the Release server with the benchmark settings; sets TERN_PID.
# TERN_DLL chooses another entry point taking the same command line (the what-if host).
tern_start() {
    local port=$1 data=$2 alloc_log=$3
    shift 3
    (
        cd "$REPO_DIR"
        TERN_BENCH_ALLOC_LOG="$alloc_log" DOTNET_STARTUP_HOOKS="$BENCH_DIR/alloc-hook/bin/Release/net10.0/Tern.Bench.AllocHook.dll" \
            exec dotnet "${TERN_DLL:-src/Tern.Server/bin/Release/net10.0/Tern.Server.dll}" --urls "http://127.0.0.1:$port" \
            --Tern:DataDir="$data" --Tern:BaseUrl="http://127.0.0.1:$port" --Tern:AdminKey="$BENCH_KEY" \
            --Tern:RateLimit:Enabled=false --Logging:LogLevel:Default=Warning "$@"
    ) >>"$data/server.log" 2>&1 &
    TERN_PID=$!
    wait_http "http://127.0.0.1:$port/healthz" 120 || { cat "$data/server.log" >&2; die "Tern did not start"; }
}

# The fixed key of the benchmark's throwaway servers (registered at start with Tern:AdminKey); not a secret.
BENCH_KEY=tern_bench0000000000000000000000000
