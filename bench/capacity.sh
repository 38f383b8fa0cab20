#!/usr/bin/env bash
# bench/capacity.sh runs the capacity report (`make bench-capacity`): for each ASR model, N
# concurrent real-time calls (espeak-ng speech with pauses, 20 ms frames) stream into the daemon
# and N steps up (1, 2, 3, 4, 6, 8, 12 ...), then bisects, to the largest N whose end-of-utterance
# → result latency has p99 <= P99 with no result lost (BenchmarkCapacity in
# pipeline/capacity_bench_test.go). It writes OUT/capacity.tsv (the rows), OUT/capacity.md and
# OUT/capacity.png (bench/capacity-report), and prints one line per model: "largest N with p99 <= 2 s".
#
# Settings, from the environment (make passes its variables of the same names):
#   STEP=90s      calls streamed per step (the calls in progress then end; a step takes about STEP + 40 s)
#   MAX_N=32      the largest N tried
#   P99=2s        the bound on the p99 latency
#   MODELS="bundled tiny base"   bundled: models/asr/ggml-sentio-small.bin; tiny, base, small:
#                 random weights of the official dimensions, the variant whose decoder ends each
#                 window at once (encoder and language detection only), written by
#                 models/asr/randwhisper into the toolbox's ~/.cache/sentio/random-whisper
#   SET=''        configuration keys for every model, 'key=value;key=value' (e.g.
#                 'pipeline.asr_workers=2;asr.threads=1'); the rest are the daemon's defaults
#   OUT=bench/capacity/<today>   where the report goes
#   NICE=0        the niceness of the run (5 on a machine shared with other work is polite, but
#                 then other work takes CPU from the daemon and lowers its capacity)
#   TB=toolbox/run   the command prefix that enters the toolbox (empty: run natively)
#
# E.g. a quick run: STEP=20s MAX_N=4 bench/capacity.sh; the full report: make bench-capacity.
# The soak's samples and the whole log go to .cache/capacity/<time>/ (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."
step=${STEP:-90s} max=${MAX_N:-32} bound=${P99:-2s} models=${MODELS:-bundled tiny base} set=${SET:-}
out=${OUT:-bench/capacity/$(date +%F)} nice=${NICE:-0}
tb=${TB-toolbox/run}
raw=$PWD/.cache/capacity/$(date +%Y%m%d-%H%M%S)
mkdir -p "$out" "$raw"
out=$(cd "$out" && pwd)
rows=$out/capacity.tsv
# ggml's OpenMP threads sleep when idle instead of spinning, as in the Makefile and the unit.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
[ -z "${SHARED:-}" ] || export SENTIO_SHARED=$SHARED

spec=()
for m in $models; do
	case $m in
	bundled) spec+=("bundled=models/asr/ggml-sentio-small.bin") ;;
	tiny | base | small)
		p=$($tb go run ./models/asr/randwhisper/cmd/random-whisper -eot "$m")
		spec+=("$m-random=$p") ;;
	*) echo "bench/capacity.sh: MODELS: $m is none of bundled, tiny, base, small" >&2; exit 2 ;;
	esac
done
models_env=$(IFS=,; echo "${spec[*]}")

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
mem=$(awk '/^MemTotal/ {printf "%.1f GB", $2 / 1048576}' /proc/meminfo)
{
	echo "# started $(date -u '+%F %H:%M UTC') on $(hostname): $(nproc) cores ($cpu), $mem, load $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "# commit $(git rev-parse --short HEAD), uncommitted files $(git status --short | wc -l); niceness $nice"
} > "$rows"
echo "capacity: models ${spec[*]}; STEP=$step MAX_N=$max P99=$bound SET='$set'"
echo "capacity: rows $rows, log and soak samples $raw"
set +e
env SENTIO_CAPACITY_MODELS="$models_env" SENTIO_CAPACITY_STEP="$step" SENTIO_CAPACITY_MAX="$max" \
	SENTIO_CAPACITY_P99="$bound" SENTIO_CAPACITY_SET="$set" SENTIO_CAPACITY_OUT="$rows" SENTIO_CAPACITY_RAW="$raw" \
	nice -n "$nice" $tb go test -tags whisper -run '^$' -bench '^BenchmarkCapacity$' -benchtime 1x -timeout 0 -count 1 ./pipeline/ \
	> "$raw/bench.log" 2>&1 &
bench=$!
# The progress lines (one per step) and any failure, as they come.
tail -n +1 -f --pid=$bench "$raw/bench.log" | grep --line-buffered -E '^capacity |^--- FAIL|^FAIL|^panic|^ok '
wait $bench
rc=$?
set -e
echo "# finished $(date -u '+%F %H:%M UTC'), load $(cut -d' ' -f1-3 /proc/loadavg)" >> "$rows"
[ "$rc" = 0 ] || { echo "bench/capacity.sh: the benchmark failed (exit $rc); see $raw/bench.log" >&2; exit "$rc"; }
$tb go run ./bench/capacity-report -in "$rows" -out "$out"
