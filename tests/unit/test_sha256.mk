# test_sha256: known answers of the examples' SHA-256.
test_sha256_EXTRA := client/examples/sha256.c
test_sha256_LIBS := -lpthread
