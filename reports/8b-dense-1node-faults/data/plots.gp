# Draws the report's plots from data/*.dat; run from the report's folder: gnuplot data/plots.gp
set terminal pngcairo noenhanced size 800,500 font 'Sans,10'
set grid
set key outside right top
set style line 1 lc rgb '#1f77b4' lw 2 pt 5 ps 1.2
set style line 2 lc rgb '#1f77b4' lw 2 dt 2 pt 4 ps 1.2
set style line 3 lc rgb '#2ca02c' lw 2 dt 2 pt 6 ps 1.2
set style line 4 lc rgb '#ff7f0e' lw 2 dt 4 pt 9 ps 1.4
set style line 5 lc rgb '#ff7f0e' lw 1 dt 4 pt 8 ps 1.4
set logscale x 2
set xrange [0.8:20]
set xtics (1, 2, 4, 8, 16)
set xlabel 'sync interval (training steps between syncs; async syncs every step)'

set output 'staleness_vs_interval.png'
set title '8b-dense-1node-faults: staleness of the samples trained on'
set ylabel 'staleness (policy versions behind the trainer)'
set yrange [0:*]
plot 'data/sync.dat' using 1:2 with linespoints ls 1 title 'every N: mean', \
     'data/sync.dat' using 1:3 with linespoints ls 2 title 'every N: p99 (worst seed)', \
     'data/sync.dat' using 1:4 with linespoints ls 3 title 'every N: max', \
     'data/refresh.dat' using 1:2 with linespoints ls 4 title 'sampler refresh: mean', \
     'data/refresh.dat' using 1:3 with linespoints ls 5 title 'sampler refresh: p99', \
     2 with lines lc rgb '#7f7f7f' dt 3 lw 2 title 'staleness budget (2)', \
     'data/async.dat' every ::0::0 using ($2*1.07):3 with points pt 7 ps 1.6 lc rgb '#d62728' title 'async k=1: mean', \
     'data/async.dat' every ::1::1 using ($2*1.14):3 with points pt 7 ps 1.6 lc rgb '#9467bd' title 'async k=2: mean', \
     'data/async.dat' every ::2::2 using ($2*1.21):3 with points pt 7 ps 1.6 lc rgb '#8c564b' title 'async k=4: mean'

set output 'throughput_vs_interval.png'
set title '8b-dense-1node-faults: training throughput'
set ylabel 'training steps per hour (mean over seeds)'
set yrange [0:*]
plot 'data/sync.dat' using 1:5 with linespoints ls 1 title 'every N', \
     'data/refresh.dat' using 1:5 with linespoints ls 4 title 'sampler refresh every N', \
     'data/async.dat' every ::0::0 using ($2*1.07):6 with points pt 7 ps 1.6 lc rgb '#d62728' title 'async k=1', \
     'data/async.dat' every ::1::1 using ($2*1.14):6 with points pt 7 ps 1.6 lc rgb '#9467bd' title 'async k=2', \
     'data/async.dat' every ::2::2 using ($2*1.21):6 with points pt 7 ps 1.6 lc rgb '#8c564b' title 'async k=4'

set output 'bytes_vs_interval.png'
set title '8b-dense-1node-faults: snapshot bytes per training step'
set ylabel 'snapshot MB per training step (1 MB = 1e6 B)'
set yrange [0:*]
plot 'data/sync.dat' using 1:6 with linespoints ls 1 title 'every N', \
     'data/refresh.dat' using 1:6 with linespoints ls 4 title 'sampler refresh every N', \
     'data/async.dat' every ::0::0 using ($2*1.07):7 with points pt 7 ps 1.6 lc rgb '#d62728' title 'async k=1', \
     'data/async.dat' every ::1::1 using ($2*1.14):7 with points pt 7 ps 1.6 lc rgb '#9467bd' title 'async k=2', \
     'data/async.dat' every ::2::2 using ($2*1.21):7 with points pt 7 ps 1.6 lc rgb '#8c564b' title 'async k=4'

unset logscale x
unset xtics
set xtics autofreq
set key off
set output 'staleness_histogram.png'
set logscale y
set yrange [1e-4:1.5]
set ytics ('0.01%%' 1e-4, '0.1%%' 1e-3, '1%%' 0.01, '10%%' 0.1, '100%%' 1)
set style fill solid 0.8 noborder
set boxwidth 0.8
set terminal pngcairo noenhanced size 1000,790 font 'Sans,10'
set multiplot layout 3,5 title '8b-dense-1node-faults: staleness histogram per policy (share of the samples trained on)'
set xlabel 'staleness'
set ylabel 'share of samples'
set title 'every step'
set xrange [-0.5:2.5]
set xtics 0, 1
plot 'data/histogram.dat' index 0 using 1:2 with boxes lc rgb '#1f77b4'
set title 'every 2'
set xrange [-0.5:5.5]
set xtics 0, 2
plot 'data/histogram.dat' index 1 using 1:2 with boxes lc rgb '#1f77b4'
set title 'every 4'
set xrange [-0.5:11.5]
set xtics 0, 5
plot 'data/histogram.dat' index 2 using 1:2 with boxes lc rgb '#1f77b4'
set title 'every 8'
set xrange [-0.5:15.5]
set xtics 0, 5
plot 'data/histogram.dat' index 3 using 1:2 with boxes lc rgb '#1f77b4'
set title 'every 16'
set xrange [-0.5:31.5]
set xtics 0, 10
plot 'data/histogram.dat' index 4 using 1:2 with boxes lc rgb '#1f77b4'
set title 'async k=1'
set xrange [-0.5:1.5]
set xtics 0, 1
plot 'data/histogram.dat' index 5 using 1:2 with boxes lc rgb '#1f77b4'
set title 'async k=2'
set xrange [-0.5:2.5]
set xtics 0, 1
plot 'data/histogram.dat' index 6 using 1:2 with boxes lc rgb '#1f77b4'
set title 'async k=4'
set xrange [-0.5:4.5]
set xtics 0, 1
plot 'data/histogram.dat' index 7 using 1:2 with boxes lc rgb '#1f77b4'
set title 'refresh 1'
set xrange [-0.5:2.5]
set xtics 0, 1
plot 'data/histogram.dat' index 8 using 1:2 with boxes lc rgb '#1f77b4'
set title 'refresh 2'
set xrange [-0.5:5.5]
set xtics 0, 2
plot 'data/histogram.dat' index 9 using 1:2 with boxes lc rgb '#1f77b4'
set title 'refresh 4'
set xrange [-0.5:11.5]
set xtics 0, 5
plot 'data/histogram.dat' index 10 using 1:2 with boxes lc rgb '#1f77b4'
set title 'refresh 8'
set xrange [-0.5:15.5]
set xtics 0, 5
plot 'data/histogram.dat' index 11 using 1:2 with boxes lc rgb '#1f77b4'
set title 'refresh 16'
set xrange [-0.5:31.5]
set xtics 0, 10
plot 'data/histogram.dat' index 12 using 1:2 with boxes lc rgb '#1f77b4'
unset multiplot

reset
set terminal pngcairo noenhanced size 800,500 font 'Sans,10'
set output 'failed_sync_time.png'
set title '8b-dense-1node-faults: trainer time lost to faults (the scenario''s faults)'
set grid ytics
set key top left
set ylabel 'trainer minutes per 100 training steps'
set yrange [*:*]
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set xtics nomirror rotate by -30
set bmargin 5
plot 'data/faults.dat' using 2:xtic(1) lc rgb '#d62728' title 'inside failed syncs', \
     '' using 3 lc rgb '#1f77b4' title 'total slowdown against the same seeds without faults'
