# Helpers of run-clicks.sh, run-webhooks.sh and run-bulk.sh (sourced after lib.sh, not run): a throwaway
# PostgreSQL cluster, the build, the header of a results file, and the whole run of a program that hosts Tern.

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_PORT=${PG_PORT:-55432}
PG_DIR=${PG_DIR:-/tmp/pgb}
PG_STARTED=""

as_postgres() { if ((EUID == 0)); then runuser -u postgres -- "$@"; else "$@"; fi; }

# pg_start: initdb + pg_ctl start on 127.0.0.1:$PG_PORT (stock settings: fsync and synchronous_commit on), a
# database tern_bench; sets PG_CS, the connection string the programs create their per-run databases from.
pg_start() {
    [[ -x $PG_BIN/initdb ]] || die "no PostgreSQL server binaries in $PG_BIN (set PG_BIN)"
    [[ ! -e $PG_DIR ]] || die "$PG_DIR already exists (another cluster?); set PG_DIR to a free path"
    if (exec 3<>"/dev/tcp/127.0.0.1/$PG_PORT") 2>/dev/null; then die "port $PG_PORT is taken; set PG_PORT"; fi
    log "starting a throwaway PostgreSQL cluster in $PG_DIR on 127.0.0.1:$PG_PORT"
    as_postgres "$PG_BIN/initdb" -D "$PG_DIR" -A trust --no-sync -U postgres >/dev/null || die "initdb failed"
    PG_STARTED=1
    as_postgres "$PG_BIN/pg_ctl" -D "$PG_DIR" -l "$PG_DIR/server.log" -o "-p $PG_PORT -k /tmp -c listen_addresses=127.0.0.1" -w start >/dev/null ||
        { cat "$PG_DIR/server.log" >&2; die "PostgreSQL did not start"; }
    psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -qc "CREATE DATABASE tern_bench" >/dev/null || die "createdb failed"
    PG_CS="Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=tern_bench;Pooling=true"
    PG_VERSION=$("$PG_BIN/postgres" --version | awk '{ print $3 }')
}

# pg_stop: stops the cluster pg_start started and deletes its folder.
pg_stop() {
    [[ -n $PG_STARTED ]] || return 0
    as_postgres "$PG_BIN/pg_ctl" -D "$PG_DIR" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
    PG_STARTED=""
}

# build_project DIR: Release build of a bench project (and of Tern.Server, which it references).
build_project() {
    local log_file
    log_file=$(mktemp)
    dotnet build -c Release "$REPO_DIR/$1" -nologo -v quiet -clp:ErrorsOnly >"$log_file" 2>&1 || { cat "$log_file" >&2; rm -f "$log_file"; die "build of $1 failed"; }
    rm -f "$log_file"
}

# results_header TITLE COMMAND: what was measured, on what, from which source.
results_header() {
    echo "### $1, $(date -u +%Y-%m-%dT%H:%MZ)"
    echo
    echo "Source $(source_version). Command: \`$2\`."
    echo "Machine: $(nproc) cores ($(lscpu | awk -F: '/Model name/ { gsub(/^ +/, "", $2); print $2; exit }')), $(free -h | awk '/Mem:/ { print $2 }') RAM" \
        "($(free -h | awk '/Mem:/ { print $7 }') available at start), .NET SDK $(dotnet --version)${PG_VERSION:+, PostgreSQL $PG_VERSION (stock settings, fsync on)}."
    echo "Load average at start: $(cut -d' ' -f1-3 /proc/loadavg)."
    echo
}

# run_hosted_bench NAME PROJECT TITLE DEFAULT_QUIET_WAIT [program arguments…]: builds bench/PROJECT (Release), starts
# a PostgreSQL cluster when POSTGRES is set, waits for an idle machine, runs the program (its throwaway data folders
# under a temporary TMPDIR, removed whatever happens) and writes bench/results/$RESULTS_NAME.md (default
# NAME-latest): the header, then the program's markdown.
run_hosted_bench() {
    local name=$1 project=$2 title=$3 quiet_wait=$4
    shift 4
    RESULTS_DIR=${RESULTS_DIR:-$BENCH_DIR/results}
    RESULTS_NAME=${RESULTS_NAME:-$name-latest}
    need dotnet
    HOSTED_WORK=$(mktemp -d "/tmp/tern-bench-$name.XXXXXX")
    BENCH_PID=""
    trap hosted_bench_cleanup EXIT
    trap "exit 143" INT TERM

    log "building bench/$project (Release)"
    build_project "bench/$project"
    local args=(--quiet-max-busy "${QUIET_MAX_BUSY:-20}" --quiet-wait-seconds "${QUIET_WAIT_RUN:-$quiet_wait}" --out "$HOSTED_WORK/result.md")
    if [[ -n ${POSTGRES:-} ]]; then
        pg_start
        args+=(--postgres "$PG_CS")
    fi

    mkdir -p "$RESULTS_DIR"
    local header
    header=$(results_header "$title" "bench/run-$name.sh $*${POSTGRES:+ (POSTGRES=1)}")
    log "waiting for an idle machine"
    wait_quiet >/dev/null
    TMPDIR="$HOSTED_WORK" dotnet "$REPO_DIR/bench/$project/bin/Release/net10.0/$project.dll" "${args[@]}" "$@" &
    BENCH_PID=$!
    wait "$BENCH_PID" || die "the benchmark failed"
    BENCH_PID=""
    [[ -s $HOSTED_WORK/result.md ]] || die "the benchmark wrote no result"

    {
        echo "$header"
        cat "$HOSTED_WORK/result.md"
    } >"$RESULTS_DIR/$RESULTS_NAME.md"
    log "wrote $RESULTS_DIR/$RESULTS_NAME.md"
}

hosted_bench_cleanup() {
    # The program hosts Tern, whose own SIGTERM handling drains queues first: stop it for good.
    [[ -n ${BENCH_PID:-} ]] && kill -KILL "$BENCH_PID" 2>/dev/null || true
    pg_stop
    rm -rf "${HOSTED_WORK:-}"
    remove_snapshot
}
