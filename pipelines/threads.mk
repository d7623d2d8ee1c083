# pipelines/threads.mk: the threads each tool gets.
#
# THREADS is the cores a pipeline may use (default nproc, asked once: a recursive ?= would run nproc at each of its
# uses, some thousands in a long recipe's step rules). Tools that make runs at once share them: OpenMP threads spin
# while they wait (man tina(7), ENVIRONMENT), and more of them than cores slow every process down
# (tests/cli/pipeline.sh's three sharded steps, SHARDS=3 -j3 THREADS=2 on 2 cores: 23 s with 2 threads a shard, 5.1 s
# with 1).

ifndef THREADS
THREADS := $(shell nproc)
endif

# RUNS_AT_ONCE: the runs a sweep (sweep.mk) has make run at once, each with the whole of THREADS: their processes
# share it. (Each run's own THREADS shared again among its shards would leave cores idle: make -jN runs N processes
# in all, whatever make runs them.)
RUNS_AT_ONCE ?= 1

# make -jN: N; -j alone: as many as there are; none: 1. (MAKEFLAGS holds -j only while recipes run: expand it there.)
make_jobs = $(or $(patsubst -j%,%,$(filter-out -j,$(filter -j%,$(MAKEFLAGS)))),$(if $(filter -j,$(MAKEFLAGS)),$(1),1))
# $(call threads_each,K): THREADS shared among the processes make runs at once of K that could (in each of
# RUNS_AT_ONCE runs), at least one each
threads_each = $(shell k=$$(( $(1) * $(RUNS_AT_ONCE) )); j=$(call make_jobs,$$k); t=$$(( $(THREADS) / (j < k ? j : k) )); \
    echo $$(( t > 0 ? t : 1 )))
