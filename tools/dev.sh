#!/usr/bin/env bash
# Sets up a Debian 12 machine for Mulin, builds it and runs it.
#   tools/dev.sh demo       install packages if missing, build, run the demo into ./mulin-data
#   tools/dev.sh test       install packages if missing, build (-Werror), run the whole test suite
#   tools/dev.sh sanitize   the same under AddressSanitizer + UndefinedBehaviorSanitizer
#   tools/dev.sh tsan       writer, snapshot encoding, service, loop inbox, projection engine and
#                           its reader, memtable, crash and bad-input tests under ThreadSanitizer
#   tools/dev.sh fuzz [S]   build the libFuzzer targets with clang, run each S seconds (default 30)
#   tools/dev.sh build      install packages if missing and build only
# Build directories: build/ (RelWithDebInfo), build-asan/ (sanitizers), build-tsan/, build-fuzz/.
set -euo pipefail

cd "$(dirname "$0")/.."

PACKAGES=(build-essential cmake ninja-build pkg-config librocksdb-dev rocksdb-tools capnproto
          libcapnp-dev libspdlog-dev libxxhash-dev libgtest-dev libgmock-dev libbenchmark-dev
          libcli11-dev libsodium-dev libjemalloc-dev)

install_packages() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing: ${missing[*]}"
  local sudo=()
  [ "$(id -u)" -ne 0 ] && sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}"
}

# Two cores and builds that link RocksDB: two jobs keep memory and time in check.
JOBS="${MULIN_JOBS:-2}"

build() {  # build DIR [cmake args...]
  local dir="$1"; shift
  cmake -S . -B "$dir" -G Ninja -DMULIN_WERROR=ON "$@" >/dev/null
  ninja -C "$dir" -j "$JOBS"
}

run_tests() {  # run_tests DIR
  (cd "$1" && ctest --output-on-failure -j "$JOBS" --timeout 600)
}

case "${1:-}" in
  test)
    install_packages
    build build -DCMAKE_BUILD_TYPE=RelWithDebInfo
    run_tests build
    ;;
  sanitize)
    install_packages
    build build-asan -DCMAKE_BUILD_TYPE=Debug -DMULIN_SANITIZE=ON
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 run_tests build-asan
    ;;
  tsan)
    install_packages
    cmake -S . -B build-tsan -G Ninja -DMULIN_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DMULIN_TSAN=ON >/dev/null
    ninja -C build-tsan -j "$JOBS" mulin writer_test receipt_index_test service_test crash_torture \
      projection_engine_test event_reader_test bad_input_test rpc_transport_test \
      append_memtable_test point_memtable_test domain_test
    # The service tests run `mulin serve` built with TSan too: a race there halts it, and the test
    # that talks to it fails. The suppressions file says which libraries TSan cannot see into.
    TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/tests/reliability/tsan_suppressions.txt" \
      ctest --test-dir build-tsan --output-on-failure -j "$JOBS" --timeout 1200 \
        -R '^(WriterTest|DomainStateTest|ReceiptIndexTest|ServiceTest|CrashTorture|BadInputTest|ProjectionEngineTest|EventReaderTest|LoopInboxTest|AppendMemTable.*Test|PointMemTable.*Test|IteratorSlotsTest)\.'
    ;;
  fuzz)
    PACKAGES+=(clang libclang-rt-14-dev)  # the libFuzzer runtime is only a Recommends of clang
    install_packages
    seconds="${2:-30}"
    CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DMULIN_FUZZ=ON \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    ninja -C build-fuzz -j "$JOBS" mulin_fuzzers
    for target in record import rpc cli_args signed_checkpoint snapshot; do
      # New inputs go to a scratch corpus; the committed seeds stay as they are.
      scratch="build-fuzz/corpus/$target"
      log="build-fuzz/$target.fuzz.log"
      mkdir -p "$scratch"
      echo "fuzz: $target for ${seconds}s"
      if ! "build-fuzz/tests/fuzz/${target}_fuzz" -max_total_time="$seconds" -print_final_stats=1 \
          -artifact_prefix="build-fuzz/$target-" \
          "$scratch" "tests/fuzz/corpus/$target" >"$log" 2>&1; then
        tail -40 "$log"
        echo "fuzz: $target failed; the input that did it is named above ($log)"
        exit 1
      fi
      grep -E "^stat::(number_of_executed_units|peak_rss_mb)|DONE" "$log" || true
    done
    ;;
  demo)
    install_packages
    build build -DCMAKE_BUILD_TYPE=RelWithDebInfo
    # --fresh replaces only an earlier demo's ledger; any other ledger there is left alone.
    build/tools/mulin --db "${MULIN_DB:-./mulin-data}" demo --fresh "${@:2}"
    echo
    echo "The ledger is in ${MULIN_DB:-./mulin-data}. Serve it to terminals with:"
    echo "  build/tools/mulin --db ${MULIN_DB:-./mulin-data} serve    # 127.0.0.1:7411"
    ;;
  build)
    install_packages
    build build -DCMAKE_BUILD_TYPE=RelWithDebInfo
    ;;
  *)
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
