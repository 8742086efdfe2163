# test_bench_stream: the examples' stream pattern fill and check.
test_bench_stream_EXTRA := client/examples/bench_common.c
test_bench_stream_LIBS := -lpthread
