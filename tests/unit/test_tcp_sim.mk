test_tcp_sim_EXTRA :=
