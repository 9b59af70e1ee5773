#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""wire-check: check every ESP and AH frame the e2e suites captured, on the host.

The guest suites export each case's captures, the SAs of its namespaces with
their keys ("ip xfrm state") and a manifest (scripts/guest/lib.sh,
e2e_wire_export) through "run-guest.sh --export DIR". Here, with a decoder
espah did not write (scapy's IPsec algorithms over Python "cryptography",
plus AES-XCBC-MAC-96 and AES-GMAC written from RFC 3566 and RFC 4543 on the
same primitives), each case gets these checks:

  frames  every frame of every capture is accounted for: an ESP frame
          (also in UDP 4500) authenticates and decrypts under the SA of its
          SPI, an AH frame authenticates (ICV over the packet with its
          mutable fields zeroed, RFC 4302 3.3.3), ESP inside AH both; the
          only other frames allowed are link control (ARP, IPv6 neighbour
          discovery and MLD, IGMP) and what the manifest allows ("allow
          icmp-too-big", "allow icmp-unreachable-natt": ICMP errors that
          quote ESP in UDP; "allow udp-port-N": a test's own plaintext
          control channel, UDP to or from port N). No frame may be truncated, the file must hold as
          many frames as tcpdump said it wrote, the capture must have been
          complete, and each SA's sequence numbers must be contiguous and
          unique (a frame missing from a capture shows as a gap).
  stream  (if the manifest names "stream ADDR,PORT") the TCP byte stream
          the server ADDR:PORT received, reassembled from the decrypted
          segments, is exactly the suite's payload (length and sha256).

Usage: wire-check.py EXPORT_DIR
Prints one TAP line per check ("ok N - wire SUITE/CASE: ...") and a last
line "N passed, N failed"; exit status 1 if a check failed.
"""

import copy
import hashlib
import ipaddress
import os
import struct
import sys
import types
from collections import defaultdict

import logging
logging.getLogger("scapy.runtime").setLevel(logging.ERROR)

# pylint: disable=wrong-import-position
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from scapy.layers.inet import IP
from scapy.layers.inet6 import IPv6
from scapy.packet import Raw
from scapy.layers.ipsec import (AH, AUTH_ALGOS, CRYPT_ALGOS, AuthAlgo,
                                CryptAlgo, IPSecIntegrityError)

ETH_IP, ETH_IP6, ETH_ARP = 0x0800, 0x86dd, 0x0806
P_HOPOPT, P_ICMP, P_IGMP, P_IPIP, P_TCP, P_UDP = 0, 1, 2, 4, 6, 17
P_IPV6, P_ESP, P_AH, P_ICMP6, P_NONE = 41, 50, 51, 58, 59
NATT_PORT = 4500
ND_MLD_TYPES = {130, 131, 132, 133, 134, 135, 136, 143}
LINKTYPE_ETHERNET = 1


# ---------------------------------------------------------------- algorithms

class XcbcMac:
    """AES-XCBC-MAC (RFC 3566), with the update/finalize of cryptography's MACs."""

    def __init__(self, key):
        ecb = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
        k1, k2, k3 = (ecb.update(bytes([i]) * 16) for i in (1, 2, 3))
        self._enc = Cipher(algorithms.AES(k1), modes.ECB()).encryptor()
        self._k2, self._k3 = k2, k3
        self._data = b""

    def update(self, data):
        self._data += data

    def finalize(self):
        m, e = self._data, bytes(16)
        blocks = [m[i:i + 16] for i in range(0, len(m), 16)] or [b""]
        for blk in blocks[:-1]:
            e = self._enc.update(bytes(a ^ b for a, b in zip(e, blk)))
        last = blocks[-1]
        if len(last) == 16:
            last = bytes(a ^ b for a, b in zip(last, self._k2))
        else:
            last = last + b"\x80" + bytes(15 - len(last))
            last = bytes(a ^ b for a, b in zip(last, self._k3))
        return self._enc.update(bytes(a ^ b for a, b in zip(e, last)))


class XcbcAlgo(AuthAlgo):
    """AES-XCBC-MAC-96 as a scapy integrity algorithm."""

    def new_mac(self, key):
        return XcbcMac(key)


def gcm_algo(icv):
    """rfc4106(gcm(aes)) with an ICV of @icv bytes (scapy's own AES-GCM
    goes through AESGCM, which takes 16-byte tags only)."""
    return CryptAlgo("AES-GCM-%d" % icv, cipher=algorithms.AES, mode=modes.GCM,
                     salt_size=4, block_size=1, iv_size=8, icv_size=icv,
                     format_mode_iv=lambda sa, iv, **kw: sa.crypt_salt + iv)


def gmac_verify(sa, spi, seq, seq_hi, data):
    """rfc4543(gcm(aes)) (RFC 4543): the payload travels in the clear; the
    tag covers SPI, sequence number, IV and the whole payload with its
    trailer. Returns the plaintext (payload, padding, pad length, next
    header) or raises IPSecIntegrityError."""
    iv, body, tag = data[:8], data[8:-sa.icv], data[-sa.icv:]
    aad = struct.pack("!LLL", spi, seq_hi, seq) if sa.esn else struct.pack("!LL", spi, seq)
    dec = Cipher(algorithms.AES(sa.key), modes.GCM(sa.salt + iv, tag, sa.icv)).decryptor()
    dec.authenticate_additional_data(aad + iv + body)
    try:
        dec.finalize()
    except InvalidTag as err:
        raise IPSecIntegrityError("GMAC tag mismatch") from err
    return body


# Linux crypto names -> (scapy algorithm, salt bytes at the end of the key)
ENC_ALGOS = {
    "cbc(aes)": ("AES-CBC", 0), "rfc3686(ctr(aes))": ("AES-CTR", 4),
    "cbc(des3_ede)": ("3DES", 0), "cbc(des)": ("DES", 0),
    "ecb(cipher_null)": ("NULL", 0),
}
AUTH_NAMES = {
    "hmac(md5)": "HMAC-MD5-96", "hmac(sha1)": "HMAC-SHA1-96",
    "hmac(sha256)": "SHA2-256-128", "hmac(sha384)": "SHA2-384-192",
    "hmac(sha512)": "SHA2-512-256", "cmac(aes)": "AES-CMAC-96",
    "digest_null": "NULL",
}


def auth_algo(name, bits):
    """The scapy integrity algorithm for @name truncated to @bits."""
    if name == "xcbc(aes)":
        algo = XcbcAlgo("AES-XCBC-96", mac=None, digestmod=None, icv_size=12)
    else:
        algo = copy.copy(AUTH_ALGOS[AUTH_NAMES[name]])
    algo.icv_size = bits // 8
    return algo


# ---------------------------------------------------------------- SAs

class SA:
    """One SA of "ip xfrm state" output, ready to decode with."""

    def __init__(self, netns, src, dst):
        self.netns, self.src, self.dst = netns, src, dst
        self.proto = self.spi = self.mode = None
        self.flags, self.sel_src, self.sel_dst = [], None, None
        self.aead = self.enc = self.auth = None
        self.seq_hi = self.oseq_hi = 0
        self.crypt = self.integ = None
        self.key = self.salt = self.crypt_salt = None
        self.icv = 0
        self.esn = False
        self.gmac = False

    def prepare(self):
        """Pick the algorithms (raises KeyError for one not known here)."""
        self.esn = "esn" in self.flags
        if self.proto == "ah":
            self.integ = auth_algo(self.auth[0], self.auth[2])
            return
        if self.aead:
            name, key, bits = self.aead
            self.icv = bits // 8
            salt = 3 if name.startswith("rfc4309") else 4
            self.key, self.salt = key[:-salt], key[-salt:]
            if name == "rfc4106(gcm(aes))":
                self.crypt = gcm_algo(self.icv)
            elif name == "rfc4543(gcm(aes))":
                self.gmac = True
            elif name == "rfc4309(ccm(aes))":
                self.crypt = copy.copy(CRYPT_ALGOS["AES-CCM"])
            elif name == "rfc7539esp(chacha20,poly1305)":
                self.crypt = copy.copy(CRYPT_ALGOS["CHACHA20-POLY1305"])
            else:
                raise KeyError(name)
            if self.crypt:
                self.crypt.icv_size = self.icv
            self.integ = None
        else:
            sname, salt = ENC_ALGOS[self.enc[0]]
            key = self.enc[1]
            self.key, self.salt = (key[:-salt], key[-salt:]) if salt else (key, b"")
            self.crypt = CRYPT_ALGOS[sname]
            self.integ = auth_algo(self.auth[0], self.auth[2]) if self.auth else None
            self.icv = self.integ.icv_size if self.integ else 0
        self.crypt_salt = self.salt

    def describe(self):
        return "%s spi 0x%08x %s -> %s (%s)" % (self.proto, self.spi, self.src, self.dst, self.netns)


def hexkey(word):
    return bytes.fromhex(word[2:]) if word.startswith("0x") else b""


def parse_states(path):
    """The SAs of a "# netns NAME" + "ip xfrm state" dump."""
    sas, cur, netns = [], None, "?"
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            w = line.split()
            if not w:
                continue
            if line.startswith("# netns"):
                netns = w[2]
            elif w[0] == "src" and not line[0].isspace():
                cur = SA(netns, w[1], w[3])
                sas.append(cur)
            elif cur is None:
                continue
            elif w[0] == "proto":
                cur.proto, cur.spi, cur.mode = w[1], int(w[3], 16), w[w.index("mode") + 1]
            elif w[0] == "replay-window" and "flag" in w:
                cur.flags = w[w.index("flag") + 1:]
            elif w[0] == "aead":
                cur.aead = (w[1], hexkey(w[2]), int(w[3]))
            elif w[0] == "enc":
                cur.enc = (w[1], hexkey(w[2]) if len(w) > 2 else b"")
            elif w[0] in ("auth-trunc", "auth"):
                # "auth-trunc digest_null  0": the empty key is no word
                key = hexkey(w[2]) if len(w) > 3 else b""
                cur.auth = (w[1], key, int(w[-1]))
            elif w[0] == "seq-hi":
                cur.seq_hi = int(w[1].rstrip(","), 16)
                cur.oseq_hi = int(w[w.index("oseq-hi") + 1].rstrip(","), 16)
            elif w[0] == "sel":
                cur.sel_src, cur.sel_dst = w[2].split("/")[0], w[4].split("/")[0]
    return sas


# ---------------------------------------------------------------- packets

def ip_addr(b):
    """Dotted IPv4 or compressed IPv6 text of 4 or 16 address bytes."""
    return str(ipaddress.ip_address(bytes(b)))


_v6 = ip_addr


def why(err):
    """A short reason for an exception (InvalidTag has no message)."""
    text = str(err) or type(err).__name__
    return "ICV mismatch" if text.startswith("pkt_icv=") else text[:60]


class Verdict(Exception):
    """A frame that is not accounted for."""


class Decoder:
    """Decodes the frames of one case under its SAs."""

    def __init__(self, sas, allow):
        self.by_spi = defaultdict(list)
        for sa in sas:
            self.by_spi[(sa.proto, sa.spi)].append(sa)
        self.allow = allow
        self.seqs = defaultdict(list)      # (capture, SA) -> sequence numbers seen
        self.pcap = ""
        self.segments = defaultdict(list)  # (src, sport, dst, dport) -> [(seq, flags, data)]
        self.frags = {}                    # fragments waiting for the rest of their packet
        self.count = defaultdict(int)

    def lookup(self, proto, spi, dst):
        cands = self.by_spi.get((proto, spi), [])
        if not cands:
            raise Verdict("%s spi 0x%08x: no SA with this SPI in the case's namespaces" % (proto, spi))
        exact = [sa for sa in cands if sa.dst == dst]
        return exact or cands

    # -- ESP
    def esp(self, data, src, dst):
        if len(data) < 8:
            raise Verdict("ESP shorter than its header")
        spi, seq = struct.unpack("!LL", data[:8])
        last = None
        for sa in self.lookup("esp", spi, dst):
            his = [sa.oseq_hi, sa.oseq_hi - 1, sa.seq_hi] if sa.esn else [0]
            for hi in dict.fromkeys(h for h in his if h >= 0):
                try:
                    nh, payload = self.esp_open(sa, spi, seq, hi, data)
                except IPSecIntegrityError as err:
                    last = "%s: ICV/tag check failed (%s)" % (sa.describe(), why(err))
                    continue
                self.seqs[(self.pcap, "esp", spi, sa.dst)].append((hi << 32) | seq)
                self.count["esp"] += 1
                return nh, payload, sa
        raise Verdict("ESP seq %d: %s" % (seq, last))

    @staticmethod
    def esp_open(sa, spi, seq, hi, data):
        body = data[8:]
        if sa.gmac:
            plain = gmac_verify(sa, spi, seq, hi, body)
        else:
            if sa.integ and sa.icv:
                mac = sa.integ.new_mac(sa.auth[1])
                mac.update(data[:len(data) - sa.icv])
                if sa.esn:
                    mac.update(struct.pack("!L", hi))
                if mac.finalize()[:sa.icv] != data[len(data) - sa.icv:]:
                    raise IPSecIntegrityError("ICV mismatch")
            esp = types.SimpleNamespace(spi=spi, seq=seq, data=body)
            out = sa.crypt.decrypt(sa, esp, sa.key, sa.icv, esn_en=sa.esn, esn=hi)
            return out.nh, bytes(out.data)
        if len(plain) < 2 or plain[-2] + 2 > len(plain):
            raise IPSecIntegrityError("pad length past the payload")
        return plain[-1], plain[:len(plain) - 2 - plain[-2]]

    # -- AH
    @staticmethod
    def ah_end(b):
        """Where the AH header of IP packet @b ends (scapy needs no more)."""
        if b[0] >> 4 == 4:
            off = (b[0] & 0xf) * 4
        else:
            nh, off = b[6], 40
            while nh != P_AH:
                nh, off = b[off], off + (b[off + 1] + 1) * 8
        return off + (b[off + 1] + 2) * 4

    def ah(self, ipbytes, version, dst):
        # scapy dissects the IP header(s) and AH; what AH carries stays raw
        # bytes (dissecting and rebuilding it cost 5 ms a frame)
        end = self.ah_end(ipbytes)
        pkt = (IP if version == 4 else IPv6)(ipbytes[:end])
        if not pkt.haslayer(AH):
            raise Verdict("AH header not found by scapy")
        ah = pkt[AH]
        ah.remove_payload()
        ah.add_payload(Raw(ipbytes[end:]))
        last = None
        for sa in self.lookup("ah", ah.spi, dst):
            his = [sa.oseq_hi, sa.oseq_hi - 1, sa.seq_hi] if sa.esn else [0]
            for hi in dict.fromkeys(h for h in his if h >= 0):
                try:
                    # (verify() splits the ICV field into ICV and padding
                    # in place, the same way each time)
                    sa.integ.verify(pkt, sa.auth[1], esn_en=sa.esn, esn=hi)
                except IPSecIntegrityError as err:
                    last = "%s: ICV check failed (%s)" % (sa.describe(), why(err))
                    continue
                self.seqs[(self.pcap, "ah", ah.spi, sa.dst)].append((hi << 32) | ah.seq)
                self.count["ah"] += 1
                return ah.nh, ipbytes[end:], sa
        raise Verdict("AH seq %d: %s" % (ah.seq, last))

    # -- what is inside
    def ipsec_payload(self, nh, payload, sa, src, dst, version):
        """What an SA's packet carried: another transform, an inner packet
        (tunnel), or the transport payload (transport, BEET)."""
        if nh == P_NONE:
            self.count["dummy"] += 1
            return
        if nh == P_ESP:
            nh2, p2, sa2 = self.esp(payload, src, dst)
            self.ipsec_payload(nh2, p2, sa2, src, dst, version)
            return
        if sa.mode == "tunnel" and nh in (P_IPIP, P_IPV6):
            self.inner_ip(payload)
            return
        if sa.mode == "beet" and sa.sel_dst:
            src, dst = sa.sel_src, sa.sel_dst
        if nh == P_TCP:
            self.tcp(payload, src, dst)

    def inner_ip(self, b):
        if not b:
            raise Verdict("empty inner packet")
        if b[0] >> 4 == 4:
            ihl, tot = (b[0] & 0xf) * 4, struct.unpack("!H", b[2:4])[0]
            if b[9] == P_TCP:
                self.tcp(b[ihl:tot], ip_addr(b[12:16]), ip_addr(b[16:20]))
        elif b[0] >> 4 == 6:
            plen = struct.unpack("!H", b[4:6])[0]
            if b[6] == P_TCP:
                self.tcp(b[40:40 + plen], _v6(b[8:24]), _v6(b[24:40]))
        else:
            raise Verdict("inner packet of IP version %d" % (b[0] >> 4))

    def tcp(self, seg, src, dst):
        if len(seg) < 20:
            raise Verdict("TCP segment shorter than its header")
        sport, dport, seq = struct.unpack("!HHL", seg[:8])
        off, flags = (seg[12] >> 4) * 4, seg[13]
        self.segments[(src, sport, dst, dport)].append((seq, flags, seg[off:]))

    # -- one frame
    def frame(self, f):
        """Accounts for one Ethernet frame or raises Verdict. A fragment is
        accounted for with the packet it reassembles into (check_frames
        fails the fragments left over)."""
        etype = struct.unpack("!H", f[12:14])[0]
        if etype == ETH_ARP:
            self.count["control"] += 1
            return
        if etype not in (ETH_IP, ETH_IP6):
            raise Verdict("ethertype 0x%04x" % etype)
        b = self.defragment(f[14:])
        if b is not None:
            self.packet(b)

    def defragment(self, b):
        """The packet @b, or the packet its fragments reassemble into once
        the last one is here (None before)."""
        if b[0] >> 4 == 4:
            ihl, (tot, frag, ident) = (b[0] & 0xf) * 4, struct.unpack("!HHH", b[2:4] + b[6:8] + b[4:6])
            b = b[:tot]
            if not frag & 0x3fff:
                return b
            key = (4, b[12:20], ident, b[9])
            head, off, more, data = b[:ihl], (frag & 0x1fff) * 8, frag & 0x2000, b[ihl:]
        else:
            b = b[:40 + struct.unpack("!H", b[4:6])[0]]
            nh, off, prev = b[6], 40, 6
            while nh in (P_HOPOPT, 43, 60):
                nh, prev, off = b[off], off, off + (b[off + 1] + 1) * 8
            if nh != 44:
                return b
            fo, ident = struct.unpack("!HL", b[off + 2:off + 8])
            key = (6, b[8:40], ident)
            # the unfragmentable part, its next header now the fragment's
            head = bytearray(b[:off])
            head[prev] = b[off]
            off, more, data = (fo >> 3) * 8, fo & 1, b[off + 8:]
        frags = self.frags.setdefault(key, {"parts": {}, "end": None, "head": None, "n": 0})
        frags["n"] += 1
        frags["parts"][off] = data
        if off == 0:
            frags["head"] = bytes(head)
        if not more:
            frags["end"] = off + len(data)
        if frags["head"] is None or frags["end"] is None:
            return None
        whole = bytearray()
        for o in sorted(frags["parts"]):
            if o > len(whole):
                return None
            whole[o:o + len(frags["parts"][o])] = frags["parts"][o]
        if len(whole) != frags["end"]:
            return None
        del self.frags[key]
        self.count["fragmented"] += frags["n"]
        pkt = bytearray(frags["head"]) + whole
        if key[0] == 4:
            pkt[2:4] = struct.pack("!H", len(pkt))
            pkt[6:8] = b"\0\0"
        else:
            pkt[4:6] = struct.pack("!H", len(pkt) - 40)
        return bytes(pkt)

    def packet(self, b):
        """One whole IP packet."""
        if b[0] >> 4 == 4:
            ihl, proto = (b[0] & 0xf) * 4, b[9]
            src, dst, l4, version = ip_addr(b[12:16]), ip_addr(b[16:20]), b[ihl:], 4
        else:
            proto, l4, version = b[6], b[40:], 6
            src, dst = _v6(b[8:24]), _v6(b[24:40])
            if proto == P_HOPOPT:
                proto, l4 = l4[0], l4[(l4[1] + 1) * 8:]
        if proto == P_ESP:
            nh, payload, sa = self.esp(l4, src, dst)
        elif proto == P_AH:
            nh, payload, sa = self.ah(b, version, dst)
        elif proto == P_UDP and NATT_PORT in struct.unpack("!HH", l4[:4]):
            udp = l4[8:]
            if udp == b"\xff":
                self.count["control"] += 1      # NAT keepalive
                return
            if len(udp) < 4 or udp[:4] == bytes(4):
                raise Verdict("UDP 4500 that is not ESP (IKE?)")
            nh, payload, sa = self.esp(udp, src, dst)
        else:
            self.plain(proto, l4, version, src, dst)
            return
        self.ipsec_payload(nh, payload, sa, src, dst, version)

    def plain(self, proto, l4, version, src, dst):
        if version == 6 and proto == P_ICMP6 and l4 and l4[0] in ND_MLD_TYPES:
            self.count["control"] += 1
        elif version == 4 and proto == P_IGMP:
            self.count["control"] += 1
        elif "icmp-too-big" in self.allow and (
                (version == 4 and proto == P_ICMP and l4[:2] == b"\x03\x04") or
                (version == 6 and proto == P_ICMP6 and l4[:1] == b"\x02")):
            self.count["allowed"] += 1
        elif "icmp-unreachable-natt" in self.allow and version == 4 and proto == P_ICMP \
                and l4[:1] == b"\x03" and self.quotes_natt(l4[8:]):
            self.count["allowed"] += 1
        elif proto == P_UDP and len(l4) >= 4 and any(
                "udp-port-%d" % port in self.allow for port in struct.unpack("!HH", l4[:4])):
            self.count["allowed"] += 1
        else:
            raise Verdict("plaintext IPv%d protocol %d %s -> %s, %d bytes" %
                          (version, proto, src, dst, len(l4)))

    @staticmethod
    def quotes_natt(q):
        """An ICMP error's quoted IPv4 packet is ESP in UDP (only headers and
        ciphertext: nothing in the clear)."""
        if len(q) < 28 or q[0] >> 4 != 4 or q[9] != P_UDP:
            return False
        ihl = (q[0] & 0xf) * 4
        return len(q) >= ihl + 12 and NATT_PORT in struct.unpack("!HH", q[ihl:ihl + 4]) \
            and q[ihl + 8:ihl + 12] != bytes(4)

    def seq_problems(self):
        out = []
        for (pcap, proto, spi, dst), seqs in sorted(self.seqs.items()):
            uniq = sorted(set(seqs))
            if len(uniq) != len(seqs):
                out.append("%s: %s spi 0x%08x: %d sequence numbers seen twice" %
                           (pcap, proto, spi, len(seqs) - len(uniq)))
            gaps = uniq[-1] - uniq[0] + 1 - len(uniq)
            if gaps:
                miss = [s for s in range(uniq[0], uniq[-1]) if s not in set(uniq)][:5]
                out.append("%s: %s spi 0x%08x -> %s: %d sequence numbers missing between %d and %d "
                           "(first: %s)" % (pcap, proto, spi, dst, gaps, uniq[0], uniq[-1], miss))
        return out


# ---------------------------------------------------------------- pcap

def read_pcap(path):
    """(linktype, [(caplen, origlen, data)]) of a classic pcap file."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 24:
        raise ValueError("%s: not a pcap file (%d bytes)" % (path, len(blob)))
    magic = blob[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        end = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        end = ">"
    else:
        raise ValueError("%s: not a pcap file" % path)
    linktype = struct.unpack(end + "L", blob[20:24])[0]
    frames, off = [], 24
    while off + 16 <= len(blob):
        caplen, origlen = struct.unpack(end + "LL", blob[off + 8:off + 16])
        frames.append((caplen, origlen, blob[off + 16:off + 16 + caplen]))
        off += 16 + caplen
    return linktype, frames


# ---------------------------------------------------------------- streams

def reassemble(segs):
    """The byte stream of one TCP connection's segments, or raise."""
    syn = [s for s, fl, _ in segs if fl & 0x02]
    if not syn:
        raise ValueError("no SYN captured")
    isn = syn[0]
    buf, have = bytearray(), {}
    for seq, _, data in segs:
        if not data:
            continue
        rel = (seq - isn - 1) & 0xffffffff
        old = have.get(rel)
        if old is not None and old != data:
            raise ValueError("a retransmission at offset %d differs" % rel)
        have[rel] = data
    for rel in sorted(have):
        data = have[rel]
        if rel > len(buf):
            raise ValueError("%d bytes missing at offset %d" % (rel - len(buf), len(buf)))
        buf[rel:rel + len(data)] = data
    return bytes(buf)


def check_stream(dec, server, payload):
    addr, port = server.rsplit(",", 1)
    conns = [(k, v) for k, v in dec.segments.items() if k[2] == addr and k[3] == int(port)]
    if not conns:
        return False, "no TCP segment to %s:%s was decoded" % (addr, port)
    want = hashlib.sha256(payload).hexdigest()
    why = []
    for key, segs in conns:
        try:
            got = reassemble(segs)
        except ValueError as err:
            why.append("%s:%d: %s" % (key[0], key[1], err))
            continue
        if got == payload:
            return True, "%d bytes from %s port %d, sha256 %s..." % (len(got), key[0], key[1], want[:16])
        why.append("%s:%d sent %d bytes sha256 %s..., want %d bytes %s..." %
                   (key[0], key[1], len(got), hashlib.sha256(got).hexdigest()[:16],
                    len(payload), want[:16]))
    return False, "; ".join(why)


# ---------------------------------------------------------------- cases

class Tap:
    def __init__(self):
        self.n = self.passed = self.failed = self.skipped = 0

    def skip(self, name, why):
        self.n += 1
        self.skipped += 1
        print("ok %d - %s # SKIP %s" % (self.n, name, why), flush=True)

    def ok(self, name):
        self.n += 1
        self.passed += 1
        print("ok %d - %s" % (self.n, name), flush=True)

    def fail(self, name, why):
        self.n += 1
        self.failed += 1
        print("not ok %d - %s # %s" % (self.n, name, why), flush=True)


def read_manifest(path):
    m = {"pcap": [], "stream": [], "allow": []}
    with open(path, encoding="utf-8") as f:
        for line in f:
            w = line.split()
            if not w:
                continue
            if w[0] == "pcap":
                m["pcap"].append((w[1], dict(kv.split("=", 1) for kv in w[2:] if "=" in kv)))
            elif w[0] in ("stream", "allow"):
                m[w[0]].append(w[1])
            else:
                m[w[0]] = " ".join(w[1:])
    return m


def check_frames(case_dir, m, dec):
    """Every frame of the case's captures; returns (ok, summary)."""
    bad, total = [], 0
    for name, stats in m["pcap"]:
        if stats.get("complete") != "1":
            bad.append("%s: the guest says the capture is incomplete (%s)" %
                       (name, " ".join("%s=%s" % kv for kv in stats.items())))
        try:
            linktype, frames = read_pcap(os.path.join(case_dir, name))
        except (OSError, ValueError) as err:
            bad.append(str(err))
            continue
        if linktype != LINKTYPE_ETHERNET:
            bad.append("%s: link type %d, not Ethernet" % (name, linktype))
            continue
        dec.pcap = name
        if stats.get("written") != str(len(frames)):
            bad.append("%s holds %d frames, tcpdump wrote %s" % (name, len(frames), stats.get("written")))
        for i, (caplen, origlen, data) in enumerate(frames, 1):
            total += 1
            try:
                if caplen < origlen:
                    raise Verdict("truncated to %d of %d bytes" % (caplen, origlen))
                dec.frame(data)
            except Verdict as err:
                dec.count["bad"] += 1
                if len(bad) < 6:
                    bad.append("%s frame %d: %s" % (name, i, err))
            except Exception as err:  # pylint: disable=broad-except
                dec.count["bad"] += 1
                if len(bad) < 6:
                    bad.append("%s frame %d: undecodable (%s: %s)" % (name, i, type(err).__name__, err))
    for key, frags in dec.frags.items():
        dec.count["bad"] += frags["n"]
        bad.append("%d fragments of IPv%d packet id %d never reassembled" % (frags["n"], key[0], key[2]))
    bad += dec.seq_problems()
    c = dec.count
    parts = ["%d ESP authenticated and decrypted" % c["esp"]] if c["esp"] else []
    parts += ["%d AH authenticated" % c["ah"]] if c["ah"] else []
    summary = "%d frames: %s under %d SAs, sequence numbers contiguous; %d link control" % (
        total, ", ".join(parts), len({k[1:] for k in dec.seqs}), c["control"])
    if c["fragmented"]:
        summary += "; %d frames were IP fragments, reassembled first" % c["fragmented"]
    if c["allowed"]:
        summary += ", %d allowed (%s)" % (c["allowed"], "/".join(m["allow"]))
    if not c["esp"] + c["ah"]:
        bad.append("no ESP or AH frame at all")
    return (not bad), summary if not bad else "%d of %d frames not accounted for: %s" % (
        c["bad"], total, "; ".join(bad))


def check_case(tap, case_dir, payloads):
    m = read_manifest(os.path.join(case_dir, "manifest"))
    name = "wire %s/%s" % (m.get("suite", "?"), m.get("case", os.path.basename(case_dir)))
    if "skip" in m:
        count, why = m["skip"].split(" ", 1)
        for i in range(int(count)):
            tap.skip("%s (%d of %s)" % (name, i + 1, count), why)
        return
    try:
        sas = parse_states(os.path.join(case_dir, "states"))
        for sa in sas:
            sa.prepare()
    except (OSError, KeyError, ValueError, IndexError) as err:
        tap.fail(name + ": every frame accounted for", "cannot read the SAs: %s" % err)
        for server in m["stream"]:
            tap.fail("%s: TCP stream to %s = payload" % (name, server), "no SAs")
        return
    dec = Decoder(sas, m["allow"])
    ok, summary = check_frames(case_dir, m, dec)
    if ok:
        tap.ok("%s: every frame accounted for (%s)" % (name, summary))
    else:
        tap.fail(name + ": every frame accounted for", summary)
    for server in m["stream"]:
        payload = payloads.get(m.get("suite"))
        sname = "%s: TCP stream to %s = payload" % (name, server)
        if payload is None:
            tap.fail(sname, "no payload exported for suite %s" % m.get("suite"))
            continue
        sok, why = check_stream(dec, server, payload)
        if sok:
            tap.ok("%s (%s)" % (sname, why))
        else:
            tap.fail(sname, why)


def main():
    if len(sys.argv) != 2:
        print(__doc__.split("\n\n")[-2], file=sys.stderr)
        return 2
    root = os.path.join(sys.argv[1], "wire")
    tap = Tap()
    cases, payloads = [], {}
    if os.path.isdir(root):
        for suite in sorted(os.listdir(root)):
            sdir = os.path.join(root, suite)
            if os.path.isfile(os.path.join(sdir, "payload")):
                with open(os.path.join(sdir, "payload"), "rb") as f:
                    payloads[suite] = f.read()
            for case in os.listdir(sdir):
                cdir = os.path.join(sdir, case)
                if os.path.isfile(os.path.join(cdir, "manifest")):
                    cases.append((os.path.getmtime(os.path.join(cdir, "manifest")), cdir))
    for _, cdir in sorted(cases):
        check_case(tap, cdir, payloads)
    line = "%d passed, %d failed" % (tap.passed, tap.failed)
    if tap.skipped:
        line += ", %d skipped" % tap.skipped
    print("# wire-check: %d cases" % len(cases))
    print(line)
    return 1 if tap.failed else 0


if __name__ == "__main__":
    sys.exit(main())
