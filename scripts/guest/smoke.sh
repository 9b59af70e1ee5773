#!/bin/sh
# Minimal guest sanity check: kernel, modules, tools.
set -e
echo "uname: $(uname -a)"
echo "cmdline: $(cat /proc/cmdline)"
echo "espah modules given: ${ESPAH_MODULES:-<none>}"
lsmod
ip -V
echo "smoke OK"
