# SPDX-License-Identifier: GPL-2.0
# espah: build the module, run the tests, show the demo.
#
#   make [KDIR=/lib/modules/VER/build]   build espah.ko
#   make check                           every build and test (CI runs this)
#   make demo                            an ESP tunnel in a QEMU guest
#   make bench                           espah against the in-tree ESP
#   make soak                            the long runs (hours): scripts/soak.sh
#   make install / uninstall             espah.ko + /etc/modprobe.d/espah.conf (README "Installing")

KDIR ?= /lib/modules/$(shell uname -r)/build

all: modules

modules:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean

check:
	bash scripts/check.sh

demo:
	bash scripts/demo.sh

# make bench BENCH_ARGS="--kernels deb61 --time 2 --reps 1" (scripts/bench.sh --help)
bench:
	bash scripts/bench.sh $(BENCH_ARGS)

# sections: scripts/soak.sh --section NAME[,NAME...] (see its header)
soak:
	bash scripts/soak.sh

# install: modules_install (KDIR's /lib/modules/RELEASE/extra/ on 6.1,
# .../updates/ on 6.12), scripts/espah-modprobe.conf as
# /etc/modprobe.d/espah.conf (kernel autoload -> espah; esp4, esp6, ah4, ah6
# and the offload modules never loaded), depmod. Run `make` first.
# INSTALL_MOD_PATH=DIR puts everything (modprobe.d file too) under DIR.
# RELEASE is read from the headers' utsrelease.h (Debian's 6.1 headers say
# 6.1.NNN in include/config/kernel.release).
ESPAH_KREL = $(shell sed -n 's/^\#define UTS_RELEASE "\(.*\)"/\1/p' $(KDIR)/include/generated/utsrelease.h)
ESPAH_MODPROBE_CONF = $(INSTALL_MOD_PATH)/etc/modprobe.d/espah.conf
ESPAH_DEPMOD = depmod $(if $(INSTALL_MOD_PATH),-b $(INSTALL_MOD_PATH)) -a $(ESPAH_KREL)

install:
	@test -n "$(ESPAH_KREL)" || { echo "no kernel release in $(KDIR)/include/generated/utsrelease.h" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules_install
	install -D -m 0644 scripts/espah-modprobe.conf $(ESPAH_MODPROBE_CONF)
	$(ESPAH_DEPMOD)

# uninstall: what `make install` put there (not DKMS's updates/dkms/ copy:
# `dkms remove`), then depmod.
uninstall:
	@test -n "$(ESPAH_KREL)" || { echo "no kernel release in $(KDIR)/include/generated/utsrelease.h" >&2; exit 1; }
	rm -f $(foreach d,extra updates,$(INSTALL_MOD_PATH)/lib/modules/$(ESPAH_KREL)/$(d)/espah.ko*)
	rm -f $(ESPAH_MODPROBE_CONF)
	$(ESPAH_DEPMOD)

.PHONY: uninstall

.PHONY: all modules clean check demo bench install soak
