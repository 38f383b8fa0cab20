#!/usr/bin/env bash
# bench/soak.sh fake|real DURATION [STREAMS] runs one soak benchmark of pipeline/soak_bench_test.go
# (fake: test doubles for the models, BenchmarkSoak; real: whisper.cpp + Silero + ONNX,
# BenchmarkSoakReal) in the toolbox, niced, and records what it ran on: the commit, the number of
# uncommitted files and their list. The per-minute samples go to SENTIO_SOAK_OUT (default
# .cache/soak/soak-<which>-<time>.tsv, ignored by git); everything else to stdout. E.g.
#
#	nohup bench/soak.sh fake 30m 20 > /tmp/soak-fake.log 2>&1 &
#	nohup bench/soak.sh real 10m 2 > /tmp/soak-real.log 2>&1 &
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { echo "usage: bench/soak.sh fake|real DURATION [STREAMS]" >&2; exit 2; }
which=$1 dur=$2 streams=${3:-}
out=${SENTIO_SOAK_OUT:-$PWD/.cache/soak/soak-$which-$(date +%Y%m%d-%H%M%S).tsv}
case $which in
fake) vars=("SENTIO_SOAK=$dur") bench='BenchmarkSoak$'
	[ -z "$streams" ] || vars+=("SENTIO_SOAK_STREAMS=$streams") ;;
real) vars=("SENTIO_SOAK_REAL=$dur") bench='BenchmarkSoakReal$'
	[ -z "$streams" ] || vars+=("SENTIO_SOAK_REAL_STREAMS=$streams") ;;
*) echo "bench/soak.sh: $which is neither fake nor real" >&2; exit 2 ;;
esac
echo "soak $which $dur streams=${streams:-default} started $(date -Is) on $(hostname), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "commit $(git rev-parse HEAD), uncommitted files $(git status --short | wc -l):"
git status --short | sed 's/^/  /'
echo "samples: $out"
# ggml's OpenMP threads sleep when idle instead of spinning, as in the Makefile and the unit.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
set -x
env "${vars[@]}" SENTIO_SOAK_OUT="$out" nice -n 5 toolbox/run go test -tags whisper -run '^$' \
	-bench "$bench" -benchtime 1x -timeout 0 -count 1 ./pipeline/
