# SPDX-License-Identifier: GPL-2.0
# espah: build the module, run the tests, show the demo.
#
#   make [KDIR=/lib/modules/VER/build]   build espah.ko
#   make check                           every build and test (CI runs this)
#   make demo                            an ESP tunnel in a QEMU guest
#   make bench                           espah against the in-tree ESP
#   make install / uninstall             plain modules_install

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

bench:
	bash scripts/bench.sh

install:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules_install
	depmod -a $(notdir $(patsubst %/build,%,$(KDIR)))

.PHONY: all modules clean check demo bench install
