/* SPDX-License-Identifier: MIT */
/*
 * transports.h - every transport of the suite, defined in transports_*.c and
 * transport_*.c; ipc_bench.c lists them in run order.
 */
#ifndef BENCH_TRANSPORTS_H
#define BENCH_TRANSPORTS_H

#include "transport.h"

extern const struct transport t_shm_spsc, t_shm_burst, t_shm_burst256, t_shm_zc, t_shm_sleep,
	t_ref_ring, t_sem, t_pipe, t_pipe_batch,
	t_unix_stream, t_unix_seqpacket, t_tcp, t_mq, t_urcu, t_ref_ff,
	t_shm_64m, t_shm_64m_huge;
/* the MPMC shapes (transports_shm.c, transport_ref_vyukov.c) */
extern const struct transport t_shm_mpmc11, t_shm_mpmc14, t_shm_mpmc41, t_shm_mpmc22,
	t_shm_mpmc44, t_vy_yield11, t_vy_yield14, t_vy_yield41, t_vy_yield22, t_vy_yield44,
	t_vy_spin11, t_vy_spin14, t_vy_spin41, t_vy_spin22, t_vy_spin44;
extern const struct transport t_shm_poll1, t_shm_poll64, t_shm_poll64s, t_shm_epoll, t_pipe_epoll,
	t_think_recv, t_think_poll1, t_think_poll64;
/* one producer, every message to each consumer (transport_bcast.c) */
extern const struct transport t_spsc_fanout3, t_shm_bcast11, t_shm_bcast13;

#endif /* BENCH_TRANSPORTS_H */
