#!/bin/sh
# ike-agent.sh - the second guest of a two-guest IKE run (scripts/run-ike.sh):
# it holds node "right" (its QEMU socket NIC moved into netns right) with its
# own kernel and implementation, and runs whatever the first guest's
# e2e-ike.sh asks over the link (ike-rpc.sh), until told to stop.
#
# usage: ike-agent.sh espah|intree
# Env: IKE_AGENT_TIMEOUT (seconds, default 3000): stop if never told to.

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/ike-lib.sh"

impl=${1:?usage: ike-agent.sh espah|intree}
e2e_load_impl "$impl"
IKE_LOCAL_NODES=right
export E2E_IMPL IKE_LOCAL_NODES

ike_nic right || die "the link to the other guest is missing"
ike_node_net right || die "cannot address node right"
ike_rpc_serve right
log "agent ready: node right ($impl) serving on $(ike_ip right ctl 4):$IKE_RPC_PORT"

end=$(( $(date +%s) + ${IKE_AGENT_TIMEOUT:-3000} ))
while [ ! -f "$IKE_DIR/agent-exit" ] && [ "$(date +%s)" -lt "$end" ]; do sleep 0.5; done
ike_pidfile_stop "$IKE_DIR/rpc-server.pid"
if [ -f "$IKE_DIR/agent-exit" ]; then
	log "told to stop by the first guest"
	t_ok "agent served the first guest until it was done"
else
	t_fail "agent served the first guest until it was done" "never told to stop within ${IKE_AGENT_TIMEOUT:-3000}s"
fi
ike_daemon_stop right
t_finish
