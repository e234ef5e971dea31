PROGS += vsim-ls
MANPAGES += docs/man/vsim-ls.1
# A test helper that needs the programs' cli.o (vsim_cli_sigbus), not only the library.
HELPERS += sigbus-check
$(BUILD)/tests/helpers/sigbus-check: $(BUILD)/tests/helpers/sigbus-check.o $(BUILD)/cli/cli.o \
		$(BUILD)/libvsim.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_ALL)
