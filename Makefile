# flowlab: one-command set-up, demo and tests. Run as root (sudo make ...):
# Mininet and Open vSwitch need it. Every target but `clean` runs .ci/setup first,
# which is idempotent and takes about a second when nothing is to do.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON      := .venv/bin/python
PYTEST_ARGS ?=
DEMO        ?= enterprise

.PHONY: help setup demo test unit bench soak scale exercises verify-runs clean lint fresh-machine

help:
	@echo "make setup   install packages, start Open vSwitch, create .venv (.ci/setup)"
	@echo "make demo    the main job: demo $(DEMO), then verify $(DEMO)"
	@echo "make test    all tests (PYTEST_ARGS='...' passes options to pytest)"
	@echo "make unit    unit tests only (tests/unit)"
	@echo "make bench   the benchmarks of bench/ (bring-up, leases, DNS, pcap reading, verify, reach, report, controller)"
	@echo "make soak    100 up/exec/down cycles and 20 verify runs of $(DEMO), nothing left behind"
	@echo "make scale   100, 300 and 1,000 DHCP hosts up with every lease, against bare Mininet"
	@echo "make exercises  every fault of the catalogue on every topology, then the class timings"
	@echo "make verify-runs  verify $(DEMO) once with one check at a time, then 10 times in a row overlapped: all must pass"
	@echo "make clean   remove leftovers of crashed runs (python -m orchestrator clean)"
	@echo "make lint    byte-compile every Python file (syntax check)"
	@echo "make fresh-machine  .ci/run and make demo in a blank Debian root (debootstrap)"

setup:
	@bash .ci/setup

# The main job: the guided tour (leases, DNS chain, web page through the NAT),
# then every documented flow of the topology proven from captures.
demo: setup
	$(PYTHON) -m orchestrator demo $(DEMO)
	$(PYTHON) -m orchestrator verify $(DEMO)

# pytest exits 5 when it collected no tests: a failure here, said plainly.
test: setup
	@rc=0; $(PYTHON) -m pytest -q $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests (exit 5): failing" >&2; fi; \
	exit $$rc

unit: setup
	@rc=0; $(PYTHON) -m pytest -q tests/unit $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make unit: pytest collected no tests (exit 5): failing" >&2; fi; \
	exit $$rc

bench: setup
	$(PYTHON) -m bench.bringup
	$(PYTHON) -m bench.leases
	$(PYTHON) -m bench.dns
	$(PYTHON) -m bench.pcap
	$(PYTHON) -m bench.verify --topology enterprise --topology tests/topologies/chain.py \
	    --topology tests/topologies/campus.py --topology tests/topologies/tworelays.py
	$(PYTHON) -m bench.reach
	$(PYTHON) -m bench.report
	$(PYTHON) -m bench.controller

# Long: about 25 minutes on 2 cores. Not part of `make test`.
soak: setup
	$(PYTHON) -m bench.soak --topology $(DEMO) --cycles 100 --verifies 20

# Long: about 8 minutes on 2 cores (the 1,000-host lab twice). Not part of `make test`.
scale: setup
	$(PYTHON) -m bench.scale --hosts 100 300 1000

# Long: about 8 minutes. Every fault where it applies must break its checks and be repaired.
exercises: setup
	$(PYTHON) -m bench.exercises
	$(PYTHON) -m bench.exercises --measure

# About 4 minutes: the determinism of overlapped checks, and their time against the serial baseline.
verify-runs: setup
	$(PYTHON) -m bench.verify --topology $(DEMO) --runs 10 --require-pass

clean:
	@if [ ! -x $(PYTHON) ]; then echo "make clean: no .venv yet; run 'make setup' first" >&2; exit 1; fi
	$(PYTHON) -m orchestrator clean

lint: setup
	$(PYTHON) -m compileall -q $(wildcard orchestrator topologies services tests bench)

# The two README commands on a machine where nothing was installed by hand: a blank
# Debian root made with debootstrap, a clean clone of HEAD (.ci/fresh-machine).
fresh-machine:
	.ci/fresh-machine --demo
