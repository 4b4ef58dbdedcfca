#!/bin/sh
# tools/plot.sh - turn ipc_bench JSON into PNG plots (gnuplot).
#   tools/plot.sh RESULTS.json [OUTDIR]     (OUTDIR defaults to docs)
# Writes OUTDIR/bench-throughput.png (messages/s vs size, log-log, one line
# per transport), OUTDIR/bench-bandwidth.png (bytes/s vs size) and
# OUTDIR/bench-latency.png (round-trip p50/p99/p99.9 per transport, one
# panel per message size).
# ipc_bench writes one result record per line, so awk reads it without a
# JSON parser.
set -eu

json=${1:?usage: tools/plot.sh RESULTS.json [OUTDIR]}
out=${2:-docs}
[ -r "$json" ] || { echo "plot.sh: cannot read $json" >&2; exit 1; }
command -v gnuplot >/dev/null || { echo "plot.sh: gnuplot missing (make deps)" >&2; exit 1; }
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# field value from a one-line record: str KEY / num KEY
awk -v dir="$tmp" '
function str(k,   m) { if (match($0, "\"" k "\":\"[^\"]*\"")) { m = substr($0, RSTART, RLENGTH); sub("^\"" k "\":\"", "", m); sub("\"$", "", m); return m } return "" }
function num(k,   m) { if (match($0, "\"" k "\":[-0-9.eE+]+")) { m = substr($0, RSTART, RLENGTH); sub("^\"" k "\":", "", m); return m } return "" }
/"kind":"stream"/ {
	t = str("transport"); v = num("msgs_per_s")
	if (v == "") next
	if (!(t in seen)) { seen[t] = 1; order[++n] = t }
	printf "%s %s %s %s\n", num("size"), v, num("bytes_per_s"), (num("msgs_per_s_min") " " num("msgs_per_s_max")) >> (dir "/s_" t ".dat")
}
/"kind":"latency"/ {
	v = num("p50_ns"); if (v == "") next
	s = num("size")
	if (!(s in lseen)) { lseen[s] = 1; lsizes[++ln] = s }
	printf "\"%s\" %g %g %g\n", str("transport"), v / 1000, num("p99_ns") / 1000, num("p999_ns") / 1000 >> (dir "/l_" s ".dat")
}
END {
	for (i = 1; i <= n; i++) print order[i] > (dir "/transports")
	for (i = 1; i <= ln; i++) print lsizes[i] > (dir "/lsizes")
}' "$json"

title=$(awk 'match($0, /"cpu":"[^"]*"/) { c = substr($0, RSTART + 7, RLENGTH - 8) }
	match($0, /"kernel":"[^"]*"/) { k = substr($0, RSTART + 10, RLENGTH - 11) }
	match($0, /"reps":[0-9]+,"duration_s"/) { r = substr($0, RSTART + 7, RLENGTH - 20) }
	END { printf "%s, Linux %s, median of %s reps", c, k, r }' "$json")

if [ -s "$tmp/transports" ]; then
	for what in throughput bandwidth; do
		if [ $what = throughput ]; then col=2; yl="messages per second"; else col=3; yl="bytes per second"; fi
		plots=""
		while read -r t; do
			case $t in shm-*) lw=2.5 ;; *) lw=1 ;; esac
			plots="$plots${plots:+, }'$tmp/s_$t.dat' using 1:$col with linespoints lw $lw title '$t'"
		done < "$tmp/transports"
		gnuplot <<EOF
set terminal pngcairo size 1100,700 font ",10"
set output '$out/bench-$what.png'
set title "shmring IPC benchmark: streaming $what vs message size\n{/*0.8 $title}"
set logscale xy
set xlabel "message size (bytes)"
set ylabel "$yl"
set format y "10^{%L}"
set grid
set xrange [5:100000]
set key outside right top
plot $plots
EOF
	done
	echo "plot.sh: $out/bench-throughput.png $out/bench-bandwidth.png"
fi

if [ -s "$tmp/lsizes" ]; then
	nl=$(wc -l < "$tmp/lsizes")
	{
		echo "set terminal pngcairo size 1100,$((380 * nl)) font ',10'"
		echo "set output '$out/bench-latency.png'"
		printf 'set multiplot layout %s,1 title "shmring IPC benchmark: round-trip latency percentiles (ping-pong)\\n{/*0.8 %s}"\n' "$nl" "$title"
		echo "set style data histogram; set style histogram clustered gap 1"
		echo "set style fill solid 0.8 border -1; set boxwidth 0.9"
		echo "set logscale y; set ylabel 'microseconds'; set grid ytics"
		echo "set xtics rotate by -20"
		while read -r s; do
			echo "set title '$s-byte messages'"
			echo "plot '$tmp/l_$s.dat' using 2:xtic(1) title 'p50', '' using 3 title 'p99', '' using 4 title 'p99.9'"
		done < "$tmp/lsizes"
		echo "unset multiplot"
	} | gnuplot
	echo "plot.sh: $out/bench-latency.png"
fi
