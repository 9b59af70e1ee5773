#!/usr/bin/env bash
# Boot a kernel in QEMU (TCG only) with an espah initramfs and run a guest script.
#
#   scripts/run-guest.sh --kernel NAME [--module FILE.ko ...] [--file SRC:DEST ...]
#        [--env KEY=VALUE ...] [--timeout SECS] [--mem MB] [--smp N]
#        [--append "cmdline"] [--log FILE] [--verbose] [--allow REGEX ...]
#        [--export DIR]
#        GUEST_SCRIPT [ARGS...]
#
# NAME: deb61 | deb612 | test (see scripts/kernels.sh). The kernel is fetched/built
# if missing. The guest script runs as root in /espah with stdin=/dev/null;
# /espah/*.ko are the --module files (also `modprobe <name>`-able), /espah/guest/
# is the repo's scripts/guest/, env has ESPAH_KERNEL, ESPAH_KERNEL_RELEASE, ESPAH_MODULES.
# Console log: $ESPAH_LOGDIR (default /tmp/espah-logs)/<kernel>-<script>-<time>.log
# Output (stderr): guest lines are streamed ("  > "); kernel printk lines ("  | ")
# only with --verbose, or if they look like a sanitizer report, KUnit/KTAP
# output, or mention espah.
# Exit: guest script's status; 124 timeout; 125 kernel/sanitizer report in log
# (KASAN, UBSAN, WARNING, lockdep, kmemleak, BUG, Oops, panic); 126 guest never
# reported ESPAH-GUEST-EXIT (crash/hang in boot); 2 usage.
# --export DIR: the guest gets ESPAH_EXPORT=/tmp/espah-export; whatever the
# script leaves there is written as a tar stream to a raw virtio disk when
# it ends and unpacked into DIR on the host (captures for the host's
# decoders); scripts/guest/export-flush.sh sends it earlier, so that what
# was sent survives a guest that dies later.
# Env: ESPAH_CACHE, ESPAH_LOGDIR, ESPAH_QEMU_EXTRA (extra qemu args, word-split),
#      ESPAH_SANITIZER_ALLOW (extended regex of report lines to ignore).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=kernels.sh
source "$here/kernels.sh"
say() { echo "[run-guest] $*" >&2; }
usage() { sed -n '2,22p' "$0" >&2; exit 2; }

kernel="" timeout=600 mem=2048 smp=2 append="" logfile="" verbose=0 export_dir=""
mkargs=() allows=()
[[ -n ${ESPAH_SANITIZER_ALLOW:-} ]] && allows+=("$ESPAH_SANITIZER_ALLOW")
while (( $# )); do
  case $1 in
    --kernel) kernel=$2; shift 2 ;;
    --module) mkargs+=(--module "$(readlink -f "$2")"); shift 2 ;;
    --file) mkargs+=(--file "$2"); shift 2 ;;
    --env) mkargs+=(--env "$2"); shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    --mem) mem=$2; shift 2 ;;
    --smp) smp=$2; shift 2 ;;
    --append) append="$append $2"; shift 2 ;;
    --log) logfile=$2; shift 2 ;;
    --allow) allows+=("$2"); shift 2 ;;
    --export) export_dir=$2; mkargs+=(--env ESPAH_EXPORT=/tmp/espah-export); shift 2 ;;
    -v|--verbose) verbose=1; shift ;;
    -h|--help) usage ;;
    --) shift; break ;;
    -*) say "unknown option $1"; usage ;;
    *) break ;;
  esac
done
[[ -n $kernel ]] || { say "--kernel NAME required"; usage; }
(( $# )) || { say "GUEST_SCRIPT required"; usage; }
script=$1; shift
[[ -f $script ]] || { say "guest script $script not found"; exit 2; }

t0=$(date +%s.%N)
espah_kernel_fetch "$kernel" || { say "could not fetch/build kernel '$kernel'"; exit 1; }
img=$(espah_kernel_image "$kernel"); rel=$(espah_kernel_release "$kernel")

logdir=${ESPAH_LOGDIR:-/tmp/espah-logs}
mkdir -p "$logdir"
stamp=$(date +%Y%m%d-%H%M%S)-$$
[[ -n $logfile ]] || logfile=$logdir/$kernel-$(basename "$script" .sh)-$stamp.log
work=$(mktemp -d "${TMPDIR:-/tmp}/espah-run.XXXXXX")
qpid="" tpid=""
cleanup() {
  [[ -n $qpid ]] && kill "$qpid" 2>/dev/null || true
  [[ -n $tpid ]] && { kill "$tpid" 2>/dev/null; pkill -P $$ -x tail 2>/dev/null; } || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT TERM

initrd=$work/initrd.cpio.gz
"$here/mkinitramfs.sh" --kernel "$kernel" -o "$initrd" "${mkargs[@]}" -- "$script" "$@" \
  || { say "initramfs build failed"; exit 1; }

cmdline="console=ttyS0 panic=-1 oops=panic printk.time=1 mitigations=off"
if [[ $kernel == test ]]; then cmdline+=" panic_on_warn=1 kmemleak=on"; fi
cmdline+="$append"

qemu=(qemu-system-x86_64 -accel tcg -cpu max -smp "$smp" -m "$mem"
      -nodefaults -display none -no-reboot -monitor none
      -serial "file:$logfile"
      -kernel "$img" -initrd "$initrd" -append "$cmdline")
# shellcheck disable=SC2206
[[ -n ${ESPAH_QEMU_EXTRA:-} ]] && qemu+=($ESPAH_QEMU_EXTRA)
if [[ -n $export_dir ]]; then
  # sparse: only what the guest writes takes room
  truncate -s 8G "$work/export.img"
  qemu+=(-drive "file=$work/export.img,format=raw,if=virtio,cache=writeback")
fi

# A kernel that dies while booting, before init (TCG's code patching
# sometimes trips early boot: "Oops: int3" in sched_clock_cpu) has not run
# a single test: boot it once more, keeping the first console log.
for attempt in 1 2; do
  : > "$logfile"
  say "kernel $kernel ($rel), timeout ${timeout}s, log: $logfile"
  printf '%q ' "${qemu[@]}" > "$logfile.cmd"; echo >> "$logfile.cmd"
  "${qemu[@]}" </dev/null >"$logfile.qemu" 2>&1 &
  qpid=$!
  tboot=$(date +%s.%N)

  # stream: guest lines always, kernel printk lines only if verbose or suspicious
  REPORT_RE='BUG: |KASAN|UBSAN:|WARNING:|possible recursive locking|unreferenced object 0x|Kernel panic|Oops|general protection fault|kernel BUG at|INFO: task .* blocked|rcu: INFO|Call Trace:|RIP: '
  # (tail --pid ends the streamer by itself once qemu is gone)
  # kernel lines also shown: KTAP/KUnit results and anything mentioning espah
  SHOW_RE='espah|KTAP|kunit|\] *(# |ok [0-9]|not ok [0-9])'
  tail -n +1 -F --pid="$qpid" "$logfile" 2>/dev/null | awk -v v="$verbose" -v re="$REPORT_RE" -v show="$SHOW_RE" '
    { sub(/\r$/, "") }
    /^\[ *[0-9]+\.[0-9]+\]/ { if (v == 1 || $0 ~ re || $0 ~ show) { print "  | " $0; fflush() } ; next }
    { print "  > " $0; fflush() }' >&2 &
  tpid=$!

  deadline=$(( $(date +%s) + timeout ))
  timed_out=0 booted_at=""
  while kill -0 "$qpid" 2>/dev/null; do
    if [[ -z $booted_at ]] && grep -q 'ESPAH-GUEST-BOOTED' "$logfile" 2>/dev/null; then
      booted_at=$(date +%s.%N)
    fi
    if (( $(date +%s) >= deadline )); then
      timed_out=1
      say "TIMEOUT after ${timeout}s: killing qemu"
      kill "$qpid" 2>/dev/null || true; sleep 1; kill -9 "$qpid" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
  wait "$qpid" 2>/dev/null || true
  qpid=""
  # tail polls --pid about once a second; give it a moment, then force it
  for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$tpid" 2>/dev/null || break; sleep 0.3; done
  kill "$tpid" 2>/dev/null || true; pkill -P $$ -x tail 2>/dev/null || true; wait "$tpid" 2>/dev/null || true; tpid=""
  tend=$(date +%s.%N)
  [[ -n $booted_at ]] || booted_at=$( grep -q 'ESPAH-GUEST-BOOTED' "$logfile" && echo "$tend" || echo "")
  [[ -n $booted_at || $timed_out == 1 || $attempt == 2 ]] && break
  mv "$logfile" "$logfile.boot$attempt"
  say "the kernel died while booting, before init (console: $logfile.boot$attempt): booting again"
done

clean=$work/console.txt
tr -d '\r' < "$logfile" > "$clean"
if [[ -n $export_dir ]]; then
  mkdir -p "$export_dir"
  # the archives the guest appended (scripts/guest/export-flush.sh), up to
  # the last block count it printed
  blocks=$(sed -n 's/^ESPAH-GUEST-EXPORT-BLOCKS \([0-9][0-9]*\)$/\1/p' "$clean" | tail -n 1)
  if [[ -n $blocks ]] && head -c $((blocks * 512)) "$work/export.img" |
     tar -x -i -f - -C "$export_dir" 2>/dev/null; then
    say "guest export unpacked into $export_dir ($(du -sh "$export_dir" | cut -f1))"
  else
    say "the guest exported nothing (see ESPAH-GUEST-EXPORT lines in $logfile)"
  fi
fi

# ---------------------------------------------------------------- result scan
rc_line=$(grep -a -m1 -o 'ESPAH-GUEST-EXIT=[0-9]*' "$clean" || true)
guest_rc=${rc_line#ESPAH-GUEST-EXIT=}
# kernel lines (timestamped) matching a report pattern, plus kmemleak dump lines
KRE='BUG: |UBSAN:|WARNING:|possible recursive locking|circular locking|Kernel panic|Oops|general protection fault|kernel BUG at|INFO: task .* blocked|rcu: INFO: .* stall'
findings=$( { grep -a -nE '^\[ *[0-9]+\.[0-9]+\].*('"$KRE"')' "$clean" || true
              grep -a -nE 'unreferenced object 0x|^(.*\] )?Kernel panic' "$clean" || true; } | sort -t: -k1,1n -u)
if [[ -n $findings ]] && (( ${#allows[@]} )); then
  for a in "${allows[@]}"; do findings=$(grep -avE -- "$a" <<<"$findings" || true); done
fi

boot_s=$( [[ -n $booted_at ]] && echo "$booted_at - $tboot" | bc || echo "?")
total_s=$(echo "$tend - $t0" | bc)
say "qemu finished: boot-to-init ${boot_s}s, total ${total_s}s (incl. initramfs), log: $logfile"

status=0
if [[ -n $findings ]]; then
  say "FAIL: kernel/sanitizer report(s) in $logfile:"
  head -n 40 <<<"$findings" | sed 's/^/    /' >&2
  n=$(wc -l <<<"$findings"); (( n > 40 )) && say "    ... $((n - 40)) more"
  first=$(head -1 <<<"$findings" | cut -d: -f1)
  say "context (log lines $((first > 5 ? first - 5 : 1))-$((first + 40))):"
  sed -n "$((first > 5 ? first - 5 : 1)),$((first + 40))p" "$clean" | sed 's/^/    /' >&2
  status=125
fi
if (( timed_out )); then
  say "FAIL: timeout (${timeout}s). Last console lines:"; tail -n 30 "$clean" | sed 's/^/    /' >&2
  status=124
elif [[ -z $rc_line ]]; then
  if [[ -z $findings ]]; then
    say "FAIL: guest never printed ESPAH-GUEST-EXIT (kernel crash / init failure). Last console lines:"
    tail -n 40 "$clean" | sed 's/^/    /' >&2
    [[ -s $logfile.qemu ]] && { say "qemu stderr ($logfile.qemu):"; tail -5 "$logfile.qemu" | sed 's/^/    /' >&2; }
    status=126
  else
    say "FAIL: guest never printed ESPAH-GUEST-EXIT (kernel died after the report above)"
  fi
fi
if (( status == 0 )); then
  status=$guest_rc
  if (( status == 0 )); then say "PASS ($kernel: $(basename "$script"))"
  else say "FAIL: guest script exited $status ($kernel: $(basename "$script")), log: $logfile"; fi
else
  say "FAIL (status $status), log: $logfile"
fi
exit "$status"
