#!/usr/bin/env bash
# Builds the benchmarks (Release, in build-bench/), runs every one and prints one table of the
# DESIGN §8 budgets: workload, median, min, max, unit, budget, the 1-minute load average when the
# program started (a figure taken at a load well above the core count is contended), and the host
# probe taken just before it (bench/host_probe.h): nanoseconds per dependent multiply-add and per
# dependent load from memory, which tell the host's fast phases from its slow ones.
# Every figure is the median of several runs, each beside its baseline measured in the same run.
#
#   bench/run.sh                  the full set (10-25 minutes on the 2-core machine, by its load)
#   bench/run.sh --quick          small sizes, one run each: checks that everything works
#   bench/run.sh --only writer,sqlite   only these programs (machine writer rpc verify
#                                 projection sqlite growth)
#   bench/run.sh --runs 5         runs per figure (default 3; --quick: 1)
#   bench/run.sh --sizes 0,1000000,3000000   growth sizes (default 0,1000000,10000000)
#   bench/run.sh --no-build       use what build-bench/ holds
# Raw output of each program and the table go to build-bench/bench-logs/.
set -euo pipefail

cd "$(dirname "$0")/.."

PACKAGES=(build-essential cmake ninja-build pkg-config librocksdb-dev capnproto libcapnp-dev
          libspdlog-dev libxxhash-dev libgtest-dev libgmock-dev libbenchmark-dev libcli11-dev
          libsodium-dev libjemalloc-dev libsqlite3-dev)
PROGRAMS=(machine writer rpc verify projection sqlite growth)
TARGETS=(machine_bench writer_bench rpc_bench verify_bench projection_rebuild_bench sqlite_bench
         growth_bench mulin)

quick=0 build=1 runs="" sizes="" only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --no-build) build=0 ;;
    --runs) runs="$2"; shift ;;
    --sizes) sizes="$2"; shift ;;
    --only) only="$2"; shift ;;
    *) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
  shift
done
[ -n "$runs" ] || runs=$([ $quick -eq 1 ] && echo 1 || echo 3)
[ -n "$sizes" ] || sizes=$([ $quick -eq 1 ] && echo 0,200000 || echo 0,1000000,10000000)

install_packages() {  # as tools/dev.sh does it
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing: ${missing[*]}" >&2
  local sudo=()
  [ "$(id -u)" -ne 0 ] && sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}"
}

if [ $build -eq 1 ]; then
  install_packages
  cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  ninja -C build-bench -j "${MULIN_JOBS:-2}" "${TARGETS[@]}" >&2
fi

B=build-bench/bench
LOGS=build-bench/bench-logs
mkdir -p "$LOGS"
ROWS="$LOGS/rows.txt"
: >"$ROWS"

q() { [ $quick -eq 1 ] && echo "$1" || echo "$2"; }  # q QUICK FULL

# The writer, RPC and SQLite workloads write 1M commands per run: enough that the memtables of the
# request and receipt families fill and flush within each run, as they do all day on a running
# ledger. At 200k they never flushed, and the runs left out 4.6 µs of background CPU per event.
args_for() {
  case "$1" in
    machine) echo "--fsyncs $(q 200 1000)" ;;
    writer) echo "--events $(q 50000 1000000) --runs $runs" ;;
    rpc) echo "--commands $(q 20000 1000000) --runs $runs" ;;
    verify) echo "--events $(q 200000 1000000) --runs $runs" ;;
    projection) echo "--events $(q 200000 1000000) --runs $runs" ;;
    sqlite) echo "--commands $(q 50000 1000000) --sqlite-commands $(q 1000 5000) --runs $runs" ;;
    growth) echo "--sizes $sizes --appends $(q 50000 200000) --lookups $(q 50000 200000)" \
                 "--runs $runs --volunteers $(q 100000 1000000)" ;;
  esac
}

binary_for() {
  case "$1" in
    projection) echo "$B/projection_rebuild_bench" ;;
    *) echo "$B/$1_bench" ;;
  esac
}

# Turns one program's output into table rows "| name | median | min | max | unit | budget |".
rows_of() {  # rows_of PROGRAM LOAD HOST < output
  local program="$1" load="$2" host="$3"
  case "$program" in
    verify | projection)
      # "name ... median min max [more numbers]" in events/s: the numbers end the line.
      awk -v program="$program" -v load="$load" -v host="$host" '
        $1 != "measure" {
          k = 0; while (k < NF && $(NF - k) ~ /^[0-9.]+$/) k++
          if (k < 4) next
          first = NF - k + 1
          name = $1; for (i = 2; i < first; i++) name = name " " $i
          budget = (name ~ /^(floor|raw scan)/) ? "baseline" : (name ~ /^(Verify|all four)/) ? \
                   ">= 1000000" : ""
          label = (program == "verify" ? "4. verify: " : "4. projection rebuild: ") name
          printf "| %s | %s | %s | %s | events/s | %s | %s | %s |\n", label, $first,
                 $(first + 1), $(first + 2), budget, load, host
        }' ;;
    *)
      awk -F'|' -v load="$load" -v host="$host" '
        /^\| / && $2 !~ /^ workload/ {
          for (i = 2; i <= 7; i++) { gsub(/^ +| +$/, "", $i) }
          budget = ($7 ~ /^budget /) ? substr($7, 8) : ($7 ~ /^baseline/ ? "baseline" : "")
          printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", $2, $3, $4, $5, $6, budget, load,
                 host
        }' ;;
  esac
}

# "multiply-add/load" in ns, or "?" without machine_bench.
probe_host() {
  local line
  line=$("$B/machine_bench" --probe 1 2>/dev/null) || { echo "?"; return; }
  awk '{ printf "%s/%s", $2, $3 }' <<<"$line"
}

for program in "${PROGRAMS[@]}"; do
  if [ -n "$only" ] && [[ ",$only," != *",$program,"* ]]; then continue; fi
  bin=$(binary_for "$program")
  if [ ! -x "$bin" ]; then
    echo "skipping $program: $bin was not built" >&2
    continue
  fi
  load=$(cut -d' ' -f1 /proc/loadavg)
  host=$(probe_host)
  echo "== $program (load $load, host $host ns): $bin $(args_for "$program")" >&2
  # shellcheck disable=SC2046  # the arguments are words by design
  "$bin" $(args_for "$program") >"$LOGS/$program.txt" 2>"$LOGS/$program.err" || {
    echo "$program failed; see $LOGS/$program.err" >&2
    continue
  }
  [ "$program" = machine ] && head -1 "$LOGS/machine.txt" >&2
  rows_of "$program" "$load" "$host" <"$LOGS/$program.txt" >>"$ROWS"
done

{
  head -1 "$LOGS/machine.txt" 2>/dev/null || true
  printf "| %-58s | %12s | %12s | %12s | %-8s | %-12s | %5s | %-8s |\n" workload median min max \
    unit budget load "host ns"
  printf "|%s|%s|%s|%s|%s|%s|%s|%s|\n" "$(printf -- '-%.0s' {1..60})" \
    "$(printf -- '-%.0s' {1..14})" "$(printf -- '-%.0s' {1..14})" "$(printf -- '-%.0s' {1..14})" \
    "$(printf -- '-%.0s' {1..10})" "$(printf -- '-%.0s' {1..14})" "$(printf -- '-%.0s' {1..7})" \
    "$(printf -- '-%.0s' {1..10})"
  awk -F'|' '{
    for (i = 2; i <= 9; i++) { gsub(/^ +| +$/, "", $i) }
    printf "| %-58s | %12s | %12s | %12s | %-8s | %-12s | %5s | %-8s |\n", $2, $3, $4, $5, $6, $7,
           $8, $9
  }' "$ROWS"
} | tee "$LOGS/table.md"
