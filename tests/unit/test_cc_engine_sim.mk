test_cc_engine_sim_EXTRA := tests/sim/ccsim.c
