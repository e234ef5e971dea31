PROGS += vsim-ls
MANPAGES += doc/man/vsim-ls.1
