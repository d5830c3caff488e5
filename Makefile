# Thin wrapper over Meson/Ninja. `make` builds build/dengbao; `make check` runs the whole suite
# twice (plain and under ASan+UBSan); `make demo` runs the main job on the bundled demo cloud.
BUILD ?= build
ASAN_BUILD ?= build-asan
MESON ?= meson
SRCLIST = $(shell scripts/list-files lib; scripts/list-files cli; scripts/list-files unit; scripts/list-files integration; scripts/list-files fuzz)

.PHONY: all bootstrap check check-plain check-asan demo bench fuzz clean format cppcheck

all: $(BUILD)/build.ninja
	ninja -C $(BUILD)

# Reconfigure when the set of source files changes (meson.build discovers them per module).
$(BUILD)/.srclist: FORCE
	@mkdir -p $(BUILD)
	@echo "$(SRCLIST)" | cmp -s - $@ || echo "$(SRCLIST)" > $@
$(ASAN_BUILD)/.srclist: FORCE
	@mkdir -p $(ASAN_BUILD)
	@echo "$(SRCLIST)" | cmp -s - $@ || echo "$(SRCLIST)" > $@
FORCE:

$(BUILD)/build.ninja: meson.build meson_options.txt $(BUILD)/.srclist
	@if [ -f $(BUILD)/build.ninja ]; then $(MESON) setup --reconfigure $(BUILD) >/dev/null; \
	else $(MESON) setup $(BUILD); fi
	@touch $@

$(ASAN_BUILD)/build.ninja: meson.build meson_options.txt $(ASAN_BUILD)/.srclist
	@if [ -f $(ASAN_BUILD)/build.ninja ]; then $(MESON) setup --reconfigure $(ASAN_BUILD) >/dev/null; \
	else $(MESON) setup $(ASAN_BUILD) -Db_sanitize=address,undefined -Db_lundef=false; fi
	@touch $@

bootstrap:
	@scripts/bootstrap

check: bootstrap
	@$(MAKE) --no-print-directory check-plain check-asan
	@scripts/test-summary $(BUILD) $(ASAN_BUILD)

check-plain: $(BUILD)/build.ninja
	ninja -C $(BUILD)
	-$(MESON) test -C $(BUILD) --print-errorlogs $(TESTS)

check-asan: $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)
	-ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  $(MESON) test -C $(ASAN_BUILD) --print-errorlogs $(TESTS)

demo: bootstrap all
	@scripts/demo $(BUILD)/dengbao

bench: bootstrap all
	@bench/run $(BUILD)/dengbao

fuzz: bootstrap
	@scripts/fuzz

cppcheck:
	scripts/cppcheck $(BUILD)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz
