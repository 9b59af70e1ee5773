#!/usr/bin/env bash
# `make demo`: build espah for Debian's 6.1 kernel, boot it in QEMU and run
# an ESP tunnel between two namespaces (scripts/guest/demo.sh).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
kernel=${1:-deb61}
bash scripts/install-deps.sh
scripts/kernels.sh fetch "$kernel"
scripts/build.sh "$kernel"
exec scripts/run-guest.sh --kernel "$kernel" --module "build/$kernel/espah.ko" \
	scripts/guest/demo.sh
