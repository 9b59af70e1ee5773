#!/bin/sh
# ike-rpc.sh - one RPC of ike-lib.sh (ike_on): a command line arrives on
# stdin (from the other guest, over the link), runs here with lib.sh and
# ike-lib.sh loaded, and its output goes back followed by "IKE-RPC-RC=N".
# Started by socat (ike_rpc_serve) for each connection.

_rpc=$(mktemp /tmp/ike-rpc.XXXXXX)
cat >"$_rpc"
# stdin /dev/null and output into a file: processes the command starts in
# the background must not hold the connection open
sh -c '. /espah/guest/lib.sh; . /espah/guest/ike-lib.sh; trap - EXIT INT TERM; . "$1"' \
	sh "$_rpc" </dev/null >"$_rpc.out" 2>&1
_rc=$?
cat "$_rpc.out"
echo "IKE-RPC-RC=$_rc"
rm -f "$_rpc" "$_rpc.out"
