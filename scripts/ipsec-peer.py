#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""ipsec-peer: an IPsec peer that espah did not write, for the e2e tests.

The host end of a QEMU "-netdev socket,udp=..." link: every UDP datagram is
one Ethernet frame. ESP and AH go through scapy's own IPsec code (Python
"cryptography"), so a packet that both sides accept proves wire
compatibility with an implementation independent of the kernel.

The guest drives the peer with plaintext UDP commands to CTRL_ADDR:CTRL_PORT
(one command per datagram, one answer each):

  reset                       forget SAs and counters
  sa dir=in|out proto=esp|ah spi=HEX mode=transport|tunnel src=IP dst=IP
     [enc=SCAPYNAME enckey=HEX] [icv=BITS] [auth=SCAPYNAME authkey=HEX]
     [esn=HI] [seq=N] [natt=SPORT:DPORT]
                              dir=in: the guest sends, the peer decrypts;
                              dir=out: the peer encrypts (src = the peer)
  ping src=IP dst=IP sizes=N,N,...
                              the peer sends an encrypted echo request per
                              size and answers "sent=N ok=N bad=N"
  stats                       "name=value ..." counters (see Peer.stats)

What the peer does with traffic:
  - decrypts and verifies every ESP/AH packet for a known SPI; counts the
    failures, sequence numbers that do not go up by one, ESP padding that is
    not the minimal RFC 4303 length, inner ICMP checksums that are wrong and
    ESP-in-UDP checksums that are wrong (or zero over IPv6);
  - answers ICMP/ICMPv6 echo requests that arrived protected, protected by
    the matching "out" SA; a request that arrives in the clear for an
    address an SA protects is counted as "plain" and never answered;
  - answers ARP and neighbour solicitations for its addresses and plain
    echo requests to the control address (a link check).

Usage: ipsec-peer.py --port P --qemu-port Q [--log FILE]
       (binds 127.0.0.1:P, P=0 picks one; sends frames to 127.0.0.1:Q;
       prints "ipsec-peer: ready port=P" once it listens)
"""

import argparse
import logging
import socket
import sys
import time

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)

# pylint: disable=wrong-import-position
from scapy.compat import raw
from scapy.layers.inet import ICMP, IP, UDP
from scapy.layers.inet6 import (ICMPv6EchoReply, ICMPv6EchoRequest,
                                ICMPv6ND_NA, ICMPv6ND_NS,
                                ICMPv6NDOptDstLLAddr, IPv6)
from scapy.layers.ipsec import AH, ESP, CryptAlgo, SecurityAssociation
from scapy.layers.l2 import ARP, Ether

GUEST_MAC = "52:54:00:e5:9a:01"
PEER_MAC = "52:54:00:e5:9a:02"
CTRL_ADDR = "10.99.0.2"
CTRL_PORT = 7000
NATT_PORT = 4500
PEER_ADDRS = {CTRL_ADDR, "10.99.1.2", "10.99.3.2",
              "fd00:99:1::2", "fd00:99:3::2"}
ESP_PROTO, AH_PROTO = 50, 51

# scapy's CryptAlgo.decrypt drops the padding it parsed; keep what the
# padding check needs from the last call.
_last_plain = {}
_scapy_decrypt = CryptAlgo.decrypt


def _decrypt_and_remember(self, *args, **kwargs):
    plain = _scapy_decrypt(self, *args, **kwargs)
    _last_plain["algo"] = self
    _last_plain["plain"] = plain
    return plain


CryptAlgo.decrypt = _decrypt_and_remember


def ip_class(addr):
    return IPv6 if ":" in addr else IP


def family_of(addr):
    return 6 if ":" in addr else 4


class PeerSA:
    """One direction of an SA pair, as scapy sees it."""

    def __init__(self, spec):
        self.dir = spec["dir"]
        self.proto = spec["proto"]
        self.spi = int(spec["spi"], 16)
        self.mode = spec.get("mode", "transport")
        self.src, self.dst = spec["src"], spec["dst"]
        self.inner = int(spec.get("inner", family_of(self.src)))
        self.last_seq = int(spec.get("seq", "1")) - 1
        self.esn = int(spec.get("esn", "0"), 0)
        kwargs = {"spi": self.spi, "seq_num": self.last_seq + 1}
        if "enc" in spec:
            kwargs["crypt_algo"] = spec["enc"]
            kwargs["crypt_key"] = bytes.fromhex(spec.get("enckey", ""))
        if "icv" in spec:
            kwargs["crypt_icv_size"] = int(spec["icv"]) // 8
        if "auth" in spec:
            kwargs["auth_algo"] = spec["auth"]
            kwargs["auth_key"] = bytes.fromhex(spec["authkey"])
        if self.mode == "tunnel":
            kwargs["tunnel_header"] = ip_class(self.src)(src=self.src,
                                                         dst=self.dst)
        if "natt" in spec:
            sport, dport = (int(p) for p in spec["natt"].split(":"))
            kwargs["nat_t_header"] = UDP(sport=sport, dport=dport)
        if "esn" in spec:
            kwargs["esn_en"] = True
            kwargs["esn"] = self.esn
        self.sa = SecurityAssociation(ESP if self.proto == "esp" else AH,
                                      **kwargs)


def parse_kv(words):
    spec = {}
    for word in words:
        key, _, value = word.partition("=")
        spec[key] = value
    return spec


def icmp_checksum_ok(pkt):
    """Recompute the ICMP/ICMPv6 checksum of a decrypted packet."""
    copy = pkt.__class__(raw(pkt))
    for cls, field in ((ICMP, "chksum"), (ICMPv6EchoRequest, "cksum"),
                       (ICMPv6EchoReply, "cksum")):
        if cls in copy:
            sent = copy[cls].getfieldval(field)
            delattr(copy[cls], field)
            rebuilt = copy.__class__(raw(copy))
            return rebuilt[cls].getfieldval(field) == sent
    return True


def udp_checksum_ok(l3):
    """RFC 3948: IPv4 may send 0; IPv6 needs a real one (RFC 8200 8.1)."""
    sent = l3[UDP].chksum
    if sent == 0:
        return isinstance(l3, IP)
    copy = l3.__class__(raw(l3))
    del copy[UDP].chksum
    return copy.__class__(raw(copy))[UDP].chksum == sent


def fix_esp_in_udp(packet):
    """scapy 2.5 freezes the UDP length at 8 over IPv4 and leaves a zero UDP
    checksum over IPv6, which RFC 8200 forbids."""
    del packet[UDP].len
    if isinstance(packet, IPv6):
        del packet[UDP].chksum
    return packet.__class__(raw(packet))


def redissect(pkt):
    """scapy leaves what AH protected undissected (or Raw, in tunnel mode)."""
    data = raw(pkt)
    version = data[0] >> 4 if data else 0
    return {4: IP, 6: IPv6}.get(version, lambda _: None)(data)


def esp_padding_minimal():
    """RFC 4303 2.4: pad to the block size (at least 4), no further."""
    algo, plain = _last_plain.get("algo"), _last_plain.get("plain")
    if algo is None:
        return True
    align = max(4, algo.block_size)
    want = (-(len(raw(plain.data)) + 2)) % align
    return plain.padlen == want


def payload_for(seq, size):
    return bytes((seq * 7 + i) & 0xFF for i in range(size))


class Peer:
    """The scapy IPsec host at the other end of the QEMU link."""

    COUNTERS = ("dec_ok", "dec_fail", "unknown_spi", "seq_bad", "pad_bad",
                "icmp_bad", "udp_bad", "plain", "echo_answered", "enc")

    def __init__(self, sock, qemu_addr, logf):
        self.sock = sock
        self.qemu_addr = qemu_addr
        self.logf = logf
        self.reset()

    def reset(self):
        self.sa_in = {}
        self.sa_out = []
        self.stats = dict.fromkeys(self.COUNTERS, 0)
        self.pending = {}
        self.ping_result = {"ok": 0, "bad": 0}

    def log(self, msg):
        self.logf.write("%.3f %s\n" % (time.time(), msg))
        self.logf.flush()

    def count(self, name, why=None):
        self.stats[name] += 1
        if why:
            self.log("%s: %s" % (name, why))

    # ---------------------------------------------------------- link layer
    def send_frame(self, l3):
        frame = Ether(src=PEER_MAC, dst=GUEST_MAC) / l3
        self.sock.sendto(raw(frame), self.qemu_addr)

    def answer_arp(self, arp):
        if arp.op != 1 or arp.pdst not in PEER_ADDRS:
            return
        self.send_frame(ARP(op=2, hwsrc=PEER_MAC, psrc=arp.pdst,
                            hwdst=arp.hwsrc, pdst=arp.psrc))

    def answer_ns(self, ip6):
        target = ip6[ICMPv6ND_NS].tgt
        if target not in PEER_ADDRS:
            return
        self.send_frame(IPv6(src=target, dst=ip6.src) /
                        ICMPv6ND_NA(tgt=target, R=0, S=1, O=1) /
                        ICMPv6NDOptDstLLAddr(lladdr=PEER_MAC))

    def on_frame(self, data):
        eth = Ether(data)
        if ARP in eth:
            self.answer_arp(eth[ARP])
            return
        l3 = eth.payload
        if not isinstance(l3, (IP, IPv6)):
            return
        proto = l3.proto if isinstance(l3, IP) else l3.nh
        if proto in (ESP_PROTO, AH_PROTO):
            self.on_ipsec(l3.__class__(raw(l3)))
        elif ICMPv6ND_NS in l3:
            self.answer_ns(l3)
        elif UDP in l3 and l3.dst == CTRL_ADDR and l3[UDP].dport == CTRL_PORT:
            self.on_command(l3)
        elif UDP in l3 and l3[UDP].dport == NATT_PORT:
            self.on_esp_in_udp(l3)
        else:
            self.on_plain(l3)

    # ------------------------------------------------------------- IPsec in
    def on_esp_in_udp(self, l3):
        """RFC 3948: scapy 2.5 cannot dissect ESP in UDP, so unwrap it."""
        data = raw(l3[UDP].payload)
        if len(data) < 8 or data[:4] == b"\0\0\0\0":
            return  # a keepalive or an IKE packet (non-ESP marker)
        if not udp_checksum_ok(l3):
            self.count("udp_bad", "UDP checksum %#x: %r" % (l3[UDP].chksum,
                                                          l3))
        if isinstance(l3, IP):
            esp = IP(src=l3.src, dst=l3.dst, proto=ESP_PROTO) / data
        else:
            esp = IPv6(src=l3.src, dst=l3.dst, nh=ESP_PROTO) / data
        self.on_ipsec(esp.__class__(raw(esp)))

    def find_sa_in(self, l3):
        if ESP in l3:
            spi = l3[ESP].spi
        else:
            spi = l3[AH].spi
        sa = self.sa_in.get(spi)
        if sa is None:
            self.count("unknown_spi", "spi 0x%08x" % spi)
        return sa

    def check_seq(self, sa, seq):
        if seq != (sa.last_seq + 1) & 0xFFFFFFFF:
            self.count("seq_bad", "spi 0x%08x seq %d after %d" %
                       (sa.spi, seq, sa.last_seq))
        sa.last_seq = seq

    def on_ipsec(self, l3):
        sa = self.find_sa_in(l3)
        if sa is None:
            return
        seq = l3[ESP].seq if ESP in l3 else l3[AH].seq
        _last_plain.clear()
        try:
            inner = sa.sa.decrypt(l3)
        except Exception as err:  # pylint: disable=broad-except
            self.count("dec_fail", "spi 0x%08x seq %d: %r" % (sa.spi, seq,
                                                             err))
            return
        self.count("dec_ok")
        self.check_seq(sa, seq)
        if sa.proto == "esp" and not esp_padding_minimal():
            plain = _last_plain["plain"]
            self.count("pad_bad", "spi 0x%08x payload %d padlen %d" %
                       (sa.spi, len(raw(plain.data)), plain.padlen))
        self.on_inner(inner)

    def on_inner(self, decrypted):
        inner = redissect(decrypted)
        if inner is None:
            self.count("icmp_bad", "not an IP packet inside: %r" % decrypted)
            return
        if not icmp_checksum_ok(inner):
            self.count("icmp_bad", "checksum: %r" % inner)
            return
        if ICMP in inner and inner[ICMP].type == 8 or \
                ICMPv6EchoRequest in inner:
            self.answer_echo(inner)
        elif ICMP in inner and inner[ICMP].type == 0 or \
                ICMPv6EchoReply in inner:
            self.note_echo_reply(inner)

    # ------------------------------------------------------------ IPsec out
    def sa_out_for(self, family):
        return next((sa for sa in self.sa_out if sa.inner == family), None)

    def send_protected(self, pkt, family):
        sa = self.sa_out_for(family)
        if sa is None:
            self.log("no out SA for IPv%d: dropped %r" % (family, pkt))
            return
        packet = sa.sa.encrypt(pkt)
        if sa.sa.nat_t_header:
            packet = fix_esp_in_udp(packet)
        self.send_frame(packet)
        self.count("enc")

    def answer_echo(self, inner):
        if inner.dst not in PEER_ADDRS:
            return
        if isinstance(inner, IP):
            req = inner[ICMP]
            reply = IP(src=inner.dst, dst=inner.src) / \
                ICMP(type=0, id=req.id, seq=req.seq) / raw(req.payload)
        else:
            req = inner[ICMPv6EchoRequest]
            reply = IPv6(src=inner.dst, dst=inner.src) / \
                ICMPv6EchoReply(id=req.id, seq=req.seq, data=req.data)
        self.send_protected(reply, family_of(inner.src))
        self.count("echo_answered")

    def note_echo_reply(self, inner):
        if ICMP in inner:
            rep = inner[ICMP]
            data = raw(rep.payload)
        else:
            rep = inner[ICMPv6EchoReply]
            data = rep.data
        want = self.pending.pop((rep.id, rep.seq), None)
        if want is None:
            self.log("unexpected echo reply id %d seq %d" % (rep.id, rep.seq))
            return
        self.ping_result["ok" if data == want else "bad"] += 1

    # ---------------------------------------------------------- plain in
    def on_plain(self, l3):
        is_echo = ICMP in l3 and l3[ICMP].type == 8
        if l3.dst == CTRL_ADDR:
            if is_echo:
                self.send_frame(IP(src=CTRL_ADDR, dst=l3.src) /
                                ICMP(type=0, id=l3[ICMP].id,
                                     seq=l3[ICMP].seq) /
                                raw(l3[ICMP].payload))
            return
        if l3.dst in PEER_ADDRS and self.sa_in:
            self.count("plain", "in the clear: %r" % l3)

    # ------------------------------------------------------------- control
    def on_command(self, l3):
        words = raw(l3[UDP].payload).decode(errors="replace").split()
        self.log("command: %s" % " ".join(words))
        try:
            answer = self.run_command(words)
        except Exception as err:  # pylint: disable=broad-except
            answer = "error: %r" % err
        self.log("answer: %s" % answer)
        self.send_frame(IP(src=CTRL_ADDR, dst=l3.src) /
                        UDP(sport=CTRL_PORT, dport=l3[UDP].sport) /
                        answer.encode())

    def run_command(self, words):
        if not words:
            return "error: empty command"
        cmd, args = words[0], parse_kv(words[1:])
        if cmd == "reset":
            self.reset()
            return "ok"
        if cmd == "sa":
            sa = PeerSA(args)
            if sa.dir == "in":
                self.sa_in[sa.spi] = sa
            else:
                self.sa_out.append(sa)
            return "ok"
        if cmd == "stats":
            return " ".join("%s=%d" % kv for kv in self.stats.items())
        if cmd == "ping":
            return self.ping(args)
        return "error: unknown command %s" % cmd

    def ping(self, args):
        src, dst = args["src"], args["dst"]
        sizes = [int(s) for s in args["sizes"].split(",")]
        ident = int(time.time() * 1000) & 0xFFFF
        self.ping_result = {"ok": 0, "bad": 0}
        self.pending = {}
        for seq, size in enumerate(sizes, 1):
            data = payload_for(seq, size)
            if family_of(dst) == 4:
                req = IP(src=src, dst=dst) / ICMP(type=8, id=ident, seq=seq) / \
                    data
            else:
                req = IPv6(src=src, dst=dst) / \
                    ICMPv6EchoRequest(id=ident, seq=seq, data=data)
            self.pending[(ident, seq)] = data
            self.send_protected(req, family_of(dst))
        self.pump(time.time() + 10, lambda: not self.pending)
        lost = len(self.pending)
        self.pending = {}
        return "sent=%d ok=%d bad=%d lost=%d" % (len(sizes),
                                                 self.ping_result["ok"],
                                                 self.ping_result["bad"], lost)

    # ---------------------------------------------------------------- loop
    def pump(self, deadline=None, done=lambda: False):
        while not done():
            timeout = None if deadline is None else deadline - time.time()
            if timeout is not None and timeout <= 0:
                return
            self.sock.settimeout(timeout)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                return
            try:
                self.on_frame(data)
            except Exception as err:  # pylint: disable=broad-except
                self.log("frame handling failed: %r" % err)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--qemu-port", type=int, required=True)
    parser.add_argument("--log", default="-")
    opts = parser.parse_args()
    logf = sys.stdout if opts.log == "-" else open(opts.log, "a")
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", opts.port))
    peer = Peer(sock, ("127.0.0.1", opts.qemu_port), logf)
    port = sock.getsockname()[1]
    peer.log("listening on 127.0.0.1:%d, frames to 127.0.0.1:%d" %
             (port, opts.qemu_port))
    print("ipsec-peer: ready port=%d" % port, flush=True)
    peer.pump()


if __name__ == "__main__":
    main()
