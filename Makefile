# seek - DeepSeek in C.  `make` builds ./seek, `make test` runs every test.
#
#   make                 optimised for this machine's CPU (-march=native)
#   make PORTABLE=1      generic x86-64 / aarch64 build (runs on any CPU of the family)
#   make test            build + run all tests; ends with "N passed, N failed"
#   make asan            all tests under AddressSanitizer + UBSan (build-asan/)
#   make fuzz            libFuzzer harnesses (build-fuzz/): GGUF and safetensors parsers, model
#                        loader, config.json, tokenizer.json + tokenizing, chat templates
#   make fuzz-run        a short fuzzing run of each harness (FUZZ_SECONDS=30)
#   make bench-kernels   matmul speed per type and CPU level (BENCH_ARGS="--ref Q8_0")
#   make run             chat with the default model
#
# Dependencies (Debian packages) are installed by scripts/deps.sh when missing.

CC      ?= cc
BUILD   ?= build
PORTABLE ?= 0
OPT     ?= -O2

ifeq ($(PORTABLE),1)
  # without AVX, GCC notes that 32-byte vector values (src/train/layers.c's static helpers,
  # never passed across a library boundary) would use another calling convention: not an error
  ARCHFLAGS := -Wno-psabi
else
  ARCHFLAGS := -march=native
endif

PKGS      := jansson libpcre2-8 libedit libmicrohttpd
DEP_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
DEP_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CFLAGS  ?= $(OPT) -g
CFLAGS  += -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -pthread $(ARCHFLAGS) \
           -Iinclude -Isrc $(DEP_CFLAGS) $(EXTRA_CFLAGS)
LDLIBS  += $(DEP_LIBS) -lm -pthread $(EXTRA_LDLIBS)

LIB_SRC   := $(sort $(wildcard src/*.c src/*/*.c))
TOOL_SRC  := $(sort $(wildcard tools/*.c))
TEST_SRC  := $(sort $(wildcard tests/test_*.c))
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/ui_html.o
TOOL_OBJ  := $(TOOL_SRC:%.c=$(BUILD)/%.o)
TEST_BIN  := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
DEPS_OK   := $(BUILD)/.deps-ok

.PHONY: all test asan fuzz fuzz-run run clean deps bench-kernels bench-kquants

all: seek

deps: $(DEPS_OK)
$(DEPS_OK): scripts/deps.sh
	@sh scripts/deps.sh
	@mkdir -p $(BUILD) && touch $@

$(BUILD)/%.o: %.c $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

# The web chat page, embedded in the binary as a C array (xxd, from Debian's xxd).
$(BUILD)/gen/ui_html.c: src/server/ui/index.html $(DEPS_OK)
	@mkdir -p $(dir $@)
	@{ echo '/* generated from src/server/ui/index.html by the Makefile */'; \
	  echo 'const unsigned char srv_ui_html[] = {'; xxd -i < $<; echo '};'; \
	  echo "const unsigned int srv_ui_html_len = sizeof srv_ui_html;"; } > $@

$(BUILD)/libseek.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

# The binary is written to $(BUILD)/seek; the default build also links it to ./seek.
$(BUILD)/seek: $(TOOL_OBJ) $(BUILD)/libseek.a
	$(CC) $(CFLAGS) -o $@ $(TOOL_OBJ) $(BUILD)/libseek.a $(LDLIBS)

seek: $(BUILD)/seek
	@if [ "$(BUILD)" = build ]; then cp $(BUILD)/seek seek; fi

$(BUILD)/tests/%: tests/%.c tests/test.h $(BUILD)/libseek.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests -MMD -MP -o $@ $< $(BUILD)/libseek.a $(LDLIBS)

# The small chat model the run/chat tests drive: random weights around the real
# DeepSeek-V3 tokenizer and R1's chat template (tests/data/chat-model/make.py).
CHAT_MODEL := $(BUILD)/tests/chat-model.gguf
$(CHAT_MODEL): tests/data/chat-model/make.py $(BUILD)/seek tests/data/tokenizer/deepseek-v3/tokenizer.json
	@mkdir -p $(dir $@)
	@rm -rf $@.hf && /usr/bin/python3 tests/data/chat-model/make.py $@.hf
	@$(BUILD)/seek convert $@.hf -o $@ --type q8_0 >/dev/null && rm -rf $@.hf

test: $(BUILD)/seek $(TEST_BIN) $(CHAT_MODEL)
	@SEEK=$(BUILD)/seek BUILD=$(BUILD) CHAT_MODEL=$(CHAT_MODEL) sh tests/run.sh

asan:
	$(MAKE) BUILD=build-asan OPT=-O1 \
	  EXTRA_CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	  EXTRA_LDLIBS="-fsanitize=address,undefined" test

# Kernel speed per type and CPU level vs matmul_ref (not a test; BENCH_ARGS e.g. "--ref Q8_0").
$(BUILD)/bench/%: bench/%.c $(BUILD)/libseek.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -o $@ $< $(BUILD)/libseek.a $(LDLIBS)
bench-kernels: $(BUILD)/bench/kernels_bench
	$(BUILD)/bench/kernels_bench $(BENCH_ARGS)

FUZZ_SECONDS ?= 30
FUZZ_CFLAGS = -std=c11 -g -D_GNU_SOURCE -Iinclude -Isrc $(DEP_CFLAGS) -fno-sanitize-recover=all
FUZZ_OPT = -O1
FUZZ_NAMES := gguf safetensors model hfconfig tokenizer chat
fuzz: $(DEPS_OK) $(FUZZ_NAMES:%=build-fuzz/fuzz_%)
# The library (without the server and its generated page) is compiled once, instrumented
# for coverage + ASan + UBSan but without libFuzzer's main, into build-fuzz/libseek-fuzz.a;
# each harness is one small file linked against it.
FUZZ_SRC = $(filter-out src/server/%,$(LIB_SRC))
FUZZ_OBJ = $(FUZZ_SRC:%.c=build-fuzz/%.o)
# The SIMD kernel files take minutes each at -O1 under ASan (with the AVX2 panel kernels
# they alone outran the CI's 30-minute fuzzing step) and seconds at -O0; the harnesses run
# them only on models under 1 MiB, so they stay instrumented, unoptimised.
build-fuzz/src/kernels/%.o: FUZZ_OPT = -O0
build-fuzz/src/%.o: src/%.c $(DEPS_OK)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) $(FUZZ_OPT) -fsanitize=fuzzer-no-link,address,undefined -MMD -MP -c $< -o $@
build-fuzz/libseek-fuzz.a: $(FUZZ_OBJ)
	@rm -f $@
	ar rcs $@ $^
build-fuzz/fuzz_%: tests/fuzz/fuzz_%.c build-fuzz/libseek-fuzz.a
	clang $(FUZZ_CFLAGS) $(FUZZ_OPT) -fsanitize=fuzzer,address,undefined -MMD -MP -o $@ $< build-fuzz/libseek-fuzz.a $(DEP_LIBS) -lm -pthread

fuzz-run: fuzz
	sh tests/fuzz/run.sh $(FUZZ_SECONDS)

# Chat with the default model (models/default.gguf, shipped; trained with `seek train`, docs/TRAINING.md).
run: seek
	@if [ -f models/default.gguf ]; then ./seek chat -m models/default.gguf; \
	else echo "seek: no default model (models/default.gguf); try ./seek info or ./seek tokenize" >&2; exit 1; fi

clean:
	rm -rf build build-asan build-fuzz seek

-include $(LIB_OBJ:.o=.d) $(TOOL_OBJ:.o=.d) $(TEST_BIN:=.d) $(FUZZ_OBJ:.o=.d) $(FUZZ_NAMES:%=build-fuzz/fuzz_%.d)

# Speed of the K-quant kernels per type and CPU level (not a test; see bench/kquants_bench.c).
$(BUILD)/bench/kquants_bench: bench/kquants_bench.c $(BUILD)/libseek.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libseek.a $(LDLIBS)
bench-kquants: $(BUILD)/bench/kquants_bench
	$(BUILD)/bench/kquants_bench
