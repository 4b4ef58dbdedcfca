#!/bin/sh
# tools/plot.sh - turn ipc_bench JSON into PNG plots (gnuplot).
#   tools/plot.sh RESULTS.json [OUTDIR]     (OUTDIR defaults to build/bench/plots;
#                                            make bench-doc alone passes docs)
# Writes OUTDIR/bench-throughput.png (messages/s vs size) and
# OUTDIR/bench-bandwidth.png (bytes/s vs size), each four panels of a few
# transports (shmring SPSC against the two reference rings; shmring's other
# modes; the kernel transports; the in-process and textbook anchors), every
# point the median over repetitions with a bar from the slowest to the
# fastest repetition; and OUTDIR/bench-latency.png (round trip p50, mean and
# p99 per transport, medians with min-max bars, one panel per message size).
# Every key (legend) sits below its panel, outside the plot area, so that no
# data point hides under it.
# ipc_bench writes one result record per line, so awk reads it without a
# JSON parser.
set -eu

json=${1:?usage: tools/plot.sh RESULTS.json [OUTDIR]}
out=${2:-build/bench/plots}
[ -r "$json" ] || { echo "plot.sh: cannot read $json" >&2; exit 1; }
command -v gnuplot >/dev/null || { echo "plot.sh: gnuplot missing (make deps)" >&2; exit 1; }
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# field value from a one-line record: str KEY / num KEY (null: "")
awk -v dir="$tmp" '
function str(k,   m) { if (match($0, "\"" k "\":\"[^\"]*\"")) { m = substr($0, RSTART, RLENGTH); sub("^\"" k "\":\"", "", m); sub("\"$", "", m); return m } return "" }
function num(k,   m) { if (match($0, "\"" k "\":[-0-9.eE+]+")) { m = substr($0, RSTART, RLENGTH); sub("^\"" k "\":", "", m); return m } return "" }
function n3(k) { return num(k) " " num(k "_min") " " num(k "_max") }
/"kind":"stream"/ {
	t = str("transport"); v = num("msgs_per_s")
	if (v == "") next
	if (!(t in seen)) { seen[t] = 1; order[++n] = t }
	s = num("size")
	# size, msgs/s med min max, bytes/s med min max
	printf "%s %s %g %g %g\n", s, n3("msgs_per_s"), v * s, num("msgs_per_s_min") * s, num("msgs_per_s_max") * s >> (dir "/s_" t ".dat")
}
/"kind":"latency"/ {
	v = num("p50_ns"); if (v == "") next
	s = num("size")
	if (!(s in lseen)) { lseen[s] = 1; lsizes[++ln] = s }
	# name, then p50, mean, p99: median min max each, microseconds
	printf "\"%s\" %g %g %g %g %g %g %g %g %g\n", str("transport"), num("p50_ns") / 1000, num("p50_ns_min") / 1000, num("p50_ns_max") / 1000, num("mean_ns") / 1000, num("mean_ns_min") / 1000, num("mean_ns_max") / 1000, num("p99_ns") / 1000, num("p99_ns_min") / 1000, num("p99_ns_max") / 1000 >> (dir "/l_" s ".dat")
}
END {
	for (i = 1; i <= n; i++) print order[i] > (dir "/transports")
	for (i = 1; i <= ln; i++) print lsizes[i] > (dir "/lsizes")
}' "$json"

# the machine and config lines only: result records carry a placement of
# their own (an unpinned MPMC shape's is "none")
title=$(awk '/^"machine":/ && match($0, /"cpu":"[^"]*"/) { c = substr($0, RSTART + 7, RLENGTH - 8) }
	/^"machine":/ && match($0, /"kernel":"[^"]*"/) { k = substr($0, RSTART + 10, RLENGTH - 11) }
	/^"config":/ && match($0, /"reps":[0-9]+,"duration_s"/) { r = substr($0, RSTART + 7, RLENGTH - 20) }
	/^"config":/ && match($0, /"placement":"[^"]*"/) { p = substr($0, RSTART + 13, RLENGTH - 14) }
	END { printf "%s, Linux %s, placement %s; median of %s reps, bars: min-max", c, k, p, r }' "$json")

# the panel of a transport: 1 shmring SPSC and the references, 2 shmring's
# other modes, 3 the kernel, 4 the anchors (and anything new)
panel_of() {
	case $1 in
	ref-ring|ref-ff|shm-spsc|shm-zc|shm-burst*) echo 1 ;;
	shm-*) echo 2 ;;
	pipe|pipe-*|unix-*|tcp|mq|*poll*) echo 3 ;;
	*) echo 4 ;;
	esac
}
panel_title() {
	case $1 in
	1) echo "shmring SPSC against the reference rings" ;;
	2) echo "shmring: sleeping, MPMC, 64 MiB rings (shm-spsc for scale)" ;;
	3) echo "kernel transports (shm-spsc for scale)" ;;
	4) echo "in-process and textbook anchors (shm-spsc for scale)" ;;
	esac
}

if [ -s "$tmp/transports" ]; then
	for what in throughput bandwidth; do
		if [ $what = throughput ]; then c=2; yl="messages per second"; else c=5; yl="bytes per second"; fi
		{
			echo "set terminal pngcairo size 1600,1100 font ',10'"
			echo "set output '$out/bench-$what.png'"
			printf 'set multiplot layout 2,2 title "shmring IPC benchmark: streaming %s vs message size\\n{/*0.8 %s}"\n' "$what" "$title"
			echo "set logscale xy; set xlabel 'message size (bytes)'; set ylabel '$yl'"
			echo "set format y '10^{%L}'; set grid; set xrange [5:100000]"
			echo "set key outside right top vertical samplen 2 font ',9'; set bars 2"
			for p in 1 2 3 4; do
				plots=""
				while read -r t; do
					[ "$(panel_of "$t")" = $p ] || continue
					case $t in shm-*|ref-*) lw=2 ;; *) lw=1.2 ;; esac
					plots="$plots${plots:+, }'$tmp/s_$t.dat' using 1:$c:$((c + 1)):$((c + 2)) with yerrorlines lw $lw title '$t'"
				done < "$tmp/transports"
				[ -n "$plots" ] || continue
				if [ $p != 1 ] && [ -f "$tmp/s_shm-spsc.dat" ]; then
					plots="$plots, '$tmp/s_shm-spsc.dat' using 1:$c with lines lw 1 dt 2 lc rgb 'gray50' title 'shm-spsc'"
				fi
				echo "set title '$(panel_title $p)'"
				echo "plot $plots"
			done
			echo "unset multiplot"
		} | gnuplot
	done
	echo "plot.sh: $out/bench-throughput.png $out/bench-bandwidth.png"
fi

if [ -s "$tmp/lsizes" ]; then
	nl=$(wc -l < "$tmp/lsizes")
	{
		echo "set terminal pngcairo size 1100,$((420 * nl + 60)) font ',10'"
		echo "set output '$out/bench-latency.png'"
		printf 'set multiplot layout %s,1 title "shmring IPC benchmark: round trip (ping-pong)\\n{/*0.8 %s}"\n' "$nl" "$title"
		echo "set style data histogram; set style histogram errorbars gap 1 lw 1"
		echo "set style fill solid 0.8 border -1; set boxwidth 0.9"
		echo "set logscale y; set ylabel 'microseconds'; set grid ytics"
		echo "set xtics rotate by -20; set key outside below center horizontal"
		while read -r s; do
			echo "set title '$s-byte messages'"
			echo "plot '$tmp/l_$s.dat' using 2:3:4:xtic(1) title 'p50', '' using 5:6:7 title 'mean', '' using 8:9:10 title 'p99'"
		done < "$tmp/lsizes"
		echo "unset multiplot"
	} | gnuplot
	echo "plot.sh: $out/bench-latency.png"
fi
