#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Generate kunit/esp_vectors.h and kunit/ah_vectors.h from the ESP/AH
known-answer vectors (vectors.json + vectors_negative.json).

Usage: scripts/gen-kunit-vectors.py [PATH/TO/vectors.json] [OUTDIR]

Defaults: ../shared/vectors/vectors.json (relative to the repository top)
and kunit/ under the repository top.  vectors_negative.json is read from
the same directory as vectors.json.

The output is committed; the build never needs the JSON.  Every vector is
cross-checked while generating (SPI/seq/IV as on the wire, trailer, the
decrypted payload against plaintext_packet, the iproute2 command against
the JSON fields); inconsistencies are printed as warnings on stderr.
"""

import json
import os
import shlex
import socket
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

IPPROTO_HOPOPTS = 0
IPPROTO_UDP = 17
IPPROTO_ROUTING = 43
IPPROTO_FRAGMENT = 44
IPPROTO_ESP = 50
IPPROTO_AH = 51
IPPROTO_DSTOPTS = 60
V6_EXTHDRS = (IPPROTO_HOPOPTS, IPPROTO_ROUTING, IPPROTO_DSTOPTS)

warnings = []


def warn(vid, msg):
    warnings.append('%s: %s' % (vid, msg))


def hexb(s):
    return bytes.fromhex(s) if s else b''


def l3_header_len(pkt, family, stop):
    """Length of the IP header plus the IPv6 extension headers that precede
    a header of protocol @stop (or the first non-extension header if @stop
    is None).  Returns (offset, protocol found there)."""
    if family == 4:
        return (pkt[0] & 0xf) * 4, pkt[9]
    off, nh = 40, pkt[6]
    while nh in V6_EXTHDRS and nh != stop:
        nxt = pkt[off]
        off += (pkt[off + 1] + 1) * 8
        nh = nxt
    return off, nh


def ip_sanity(vid, what, pkt, family):
    """Report broken IPv4 checksums and length fields (informational)."""
    if not pkt:
        return
    if family == 4:
        ihl = (pkt[0] & 0xf) * 4
        tot = 0
        for i in range(0, ihl, 2):
            tot += (pkt[i] << 8) | pkt[i + 1]
        while tot >> 16:
            tot = (tot & 0xffff) + (tot >> 16)
        if tot != 0xffff:
            warn(vid, '%s: bad IPv4 header checksum' % what)
        if int.from_bytes(pkt[2:4], 'big') != len(pkt):
            warn(vid, '%s: IPv4 total length %d != %d' %
                 (what, int.from_bytes(pkt[2:4], 'big'), len(pkt)))
    elif int.from_bytes(pkt[4:6], 'big') != len(pkt) - 40:
        warn(vid, '%s: IPv6 payload length %d != %d' %
             (what, int.from_bytes(pkt[4:6], 'big'), len(pkt) - 40))


def parse_ip_xfrm(cmd):
    tok = shlex.split(cmd)
    assert tok[:4] == ['ip', 'xfrm', 'state', 'add'], cmd
    tok = tok[4:]
    r = {'flags': set()}
    i = 0
    while i < len(tok):
        t = tok[i]
        if t in ('src', 'dst', 'proto', 'spi', 'reqid', 'mode',
                 'replay-oseq', 'replay-oseq-hi', 'replay-window'):
            r[t] = tok[i + 1]
            i += 2
        elif t == 'flag':
            r['flags'].add(tok[i + 1])
            i += 2
        elif t == 'enc':
            r['enc'] = (tok[i + 1], tok[i + 2])
            i += 3
        elif t == 'auth':
            r['auth'] = (tok[i + 1], tok[i + 2], None)
            i += 3
        elif t in ('auth-trunc', 'aead'):
            r[t] = (tok[i + 1], tok[i + 2], int(tok[i + 3]))
            i += 4
        elif t == 'encap':
            r['encap'] = (tok[i + 1], int(tok[i + 2]), int(tok[i + 3]),
                          tok[i + 4])
            i += 5
        else:
            raise ValueError('unknown ip xfrm token %r in %r' % (t, cmd))
    return r


def keyhex(k):
    k = k.lower()
    if k in ('', "''"):
        return ''
    return k[2:] if k.startswith('0x') else k


def crosscheck_ip_xfrm(v):
    vid = v['id']
    r = parse_ip_xfrm(v['ip_xfrm_state'])
    if r.get('proto') != v['proto']:
        warn(vid, 'ip_xfrm_state proto %s' % r.get('proto'))
    if int(r['spi'], 16) != v['spi']:
        warn(vid, 'ip_xfrm_state spi %s != %#x' % (r['spi'], v['spi']))
    if r['mode'] != v['mode']:
        warn(vid, 'ip_xfrm_state mode %s' % r['mode'])
    if ('esn' in r['flags']) != bool(v['esn']):
        warn(vid, 'ip_xfrm_state esn flag disagrees with "esn"')
    if v.get('aead'):
        a = r.get('aead')
        if not a or a[0] != v['aead']['name'] or \
           keyhex(a[1]) != v['aead']['key'].lower() or \
           a[2] != v['aead']['icv_bits']:
            warn(vid, 'ip_xfrm_state aead %r disagrees' % (a,))
    if v.get('enc'):
        e = r.get('enc')
        if not e or e[0] != v['enc']['name'] or \
           keyhex(e[1]) != v['enc']['key'].lower():
            warn(vid, 'ip_xfrm_state enc %r disagrees' % (e,))
    if v.get('auth'):
        a = r.get('auth-trunc') or r.get('auth')
        if not a or a[0] != v['auth']['name'] or \
           keyhex(a[1]) != v['auth']['key'].lower() or \
           (a[2] is not None and a[2] != v['auth']['trunc_bits']):
            warn(vid, 'ip_xfrm_state auth %r disagrees' % (a,))
    elif v['proto'] == 'esp' and v.get('enc'):
        a = r.get('auth')
        if a and a[0] != 'digest_null':
            warn(vid, 'ip_xfrm_state has auth %r, JSON has none' % (a,))
    enc = v.get('encap')
    if enc:
        e = r.get('encap')
        if not e or e[0] != enc['type'] or e[1] != enc['sport'] or \
           e[2] != enc['dport']:
            warn(vid, 'ip_xfrm_state encap %r disagrees' % (e,))
    elif r.get('encap'):
        warn(vid, 'ip_xfrm_state has encap, JSON has none')
    if v['proto'] == 'ah':
        al = 4 if 'align4' in r['flags'] else 8
        if v.get('ah_align') and v['ah_align'] != al and v['family'] == 4:
            warn(vid, 'ah_align %s but ip_xfrm_state implies %d' %
                 (v['ah_align'], al))
    return r


def outer_addrs(v, pkt, r):
    """Outer addresses as 16-byte values, from the packet on the wire.
    The SA is looked up by the packet's daddr on receive, so use those;
    report when the iproute2 command says something else."""
    fam = v['family']
    if fam == 4:
        s, d = pkt[12:16], pkt[16:20]
        af = socket.AF_INET
    else:
        s, d = pkt[8:24], pkt[24:40]
        af = socket.AF_INET6
    try:
        rs = socket.inet_pton(af, r['src'])
        rd = socket.inet_pton(af, r['dst'])
        if rs != s or rd != d:
            warn(v['id'], 'ip_xfrm_state src/dst %s/%s differ from the '
                 'packet\'s outer addresses %s/%s' %
                 (r['src'], r['dst'], socket.inet_ntop(af, s),
                  socket.inet_ntop(af, d)))
    except OSError:
        warn(v['id'], 'ip_xfrm_state src/dst not of family %d' % fam)
    return s.ljust(16, b'\0'), d.ljust(16, b'\0')


def ivlen_of(v):
    return len(hexb(v['iv']))


def analyse_esp(v, negative=False):
    vid = v['id']
    pkt = hexb(v['expected_packet'])
    r = crosscheck_ip_xfrm(v)
    fam = v['family']
    ip_sanity(vid, 'expected_packet', pkt, fam)
    stop = IPPROTO_UDP if v.get('encap') else IPPROTO_ESP
    off, nh = l3_header_len(pkt, fam, stop)
    if nh != stop:
        warn(vid, 'expected_packet: protocol %d where %d expected' %
             (nh, stop))
    if v.get('encap'):
        sport = int.from_bytes(pkt[off:off + 2], 'big')
        dport = int.from_bytes(pkt[off + 2:off + 4], 'big')
        ulen = int.from_bytes(pkt[off + 4:off + 6], 'big')
        if (sport, dport) != (v['encap']['sport'], v['encap']['dport']):
            warn(vid, 'UDP ports %d/%d differ from encap' % (sport, dport))
        if ulen != len(pkt) - off:
            warn(vid, 'UDP length %d != %d' % (ulen, len(pkt) - off))
        off += 8
    esp = pkt[off:]
    spi = int.from_bytes(esp[0:4], 'big')
    seq = int.from_bytes(esp[4:8], 'big')
    if spi != v['spi'] or seq != v['seq']:
        warn(vid, 'wire SPI/seq %#x/%d != %#x/%d' %
             (spi, seq, v['spi'], v['seq']))
    ivlen = ivlen_of(v)
    if esp[8:8 + ivlen] != hexb(v['iv']):
        warn(vid, 'IV in packet != "iv"')
    icv_bits = v['icv_bits']
    if v.get('aead'):
        if v['aead']['icv_bits'] != icv_bits:
            warn(vid, 'aead.icv_bits != icv_bits')
    elif v.get('auth'):
        if v['auth']['trunc_bits'] != icv_bits:
            warn(vid, 'auth.trunc_bits != icv_bits')
    elif icv_bits:
        warn(vid, 'icv_bits %d without auth' % icv_bits)
    if v['esn'] != (v['seq_hi'] is not None):
        warn(vid, 'esn/seq_hi disagree')
    res = {'esp_off': off, 'pkt': pkt, 'r': r}
    if negative:
        return res
    plain = hexb(v['plaintext_packet'])
    ip_sanity(vid, 'plaintext_packet', plain, v['inner_family'])
    tr = v['esp_trailer']
    icvlen = icv_bits // 8
    paylen = len(esp) - 8 - ivlen - icvlen - tr['pad_len'] - 2
    if v['mode'] == 'tunnel':
        poff = 0
    else:
        poff, _ = l3_header_len(plain, v['inner_family'], None)
    if len(plain) - poff != paylen:
        warn(vid, 'decrypted payload length %d (from the ESP packet) != '
             '%d (plaintext_packet minus %d header bytes)' %
             (paylen, len(plain) - poff, poff))
    if v['mode'] == 'tunnel':
        exp_nh = 4 if v['inner_family'] == 4 else 41
        if tr['next_header'] != exp_nh:
            warn(vid, 'tunnel mode next header %d' % tr['next_header'])
    else:
        _, pnh = l3_header_len(plain, v['inner_family'], None)
        if pnh != tr['next_header'] and not plain[poff:] == b'':
            warn(vid, 'transport next header %d but plaintext protocol %d' %
                 (tr['next_header'], pnh))
    if paylen == 0:
        warn(vid, 'empty payload (only the ESP trailer); Linux esp4/esp6 '
             'reject this (padlen + 2 + alen >= elen)')
    res.update(plain=plain, poff=poff, paylen=paylen)
    return res


def analyse_ah(v, negative=False):
    vid = v['id']
    pkt = hexb(v['expected_packet'])
    r = crosscheck_ip_xfrm(v)
    ip_sanity(vid, 'expected_packet', pkt, v['family'])
    off, nh = l3_header_len(pkt, v['family'], IPPROTO_AH)
    if nh != IPPROTO_AH:
        warn(vid, 'expected_packet: protocol %d where 51 expected' % nh)
    spi = int.from_bytes(pkt[off + 4:off + 8], 'big')
    seq = int.from_bytes(pkt[off + 8:off + 12], 'big')
    if spi != v['spi'] or seq != v['seq']:
        warn(vid, 'wire SPI/seq %#x/%d != %#x/%d' %
             (spi, seq, v['spi'], v['seq']))
    res = {'esp_off': off, 'pkt': pkt, 'r': r}
    if negative:
        return res
    plain = hexb(v['plaintext_packet'])
    ip_sanity(vid, 'plaintext_packet', plain, v['inner_family'])
    if v['mode'] == 'tunnel':
        poff = 0
    else:
        poff, _ = l3_header_len(plain, v['inner_family'], None)
    ahlen = (pkt[off + 1] + 2) * 4
    paylen = len(pkt) - off - ahlen
    if len(plain) - poff != paylen:
        warn(vid, 'payload after AH %d != plaintext payload %d' %
             (paylen, len(plain) - poff))
    res.update(plain=plain, poff=poff, paylen=paylen)
    return res


def c_ident(prefix, i, what):
    return '%s_v%03d_%s' % (prefix, i, what)


def c_bytes(name, data, out):
    if not data:
        return
    out.append('static const u8 %s[] = {' % name)
    for i in range(0, len(data), 12):
        out.append('\t' + ' '.join('0x%02x,' % b for b in data[i:i + 12]))
    out.append('};')
    out.append('')


def c_str(s):
    return '"%s"' % s.replace('\\', '\\\\').replace('"', '\\"')


def c_addr(a, family):
    if family == 4:
        return '{ %s }' % ', '.join('%d' % b for b in a[:4])
    h = ['0x%02x' % b for b in a]
    return '{\n\t\t\t%s,\n\t\t\t%s,\n\t\t}' % (', '.join(h[:8]),
                                               ', '.join(h[8:]))


def c_alg(field, name, key, bits=None):
    """A struct espah_kv_alg initializer, one member per line."""
    r = '.%s = {\n\t\t\t.name = %s,\n\t\t\t.key = %s,\n' \
        '\t\t\t.key_len = %d,\n' % (field, c_str(name), key[0], key[1])
    if bits is not None:
        r += '\t\t\t.bits = %d,\n' % bits
    return r + '\t\t},'


def emit_alg_fields(v, prefix, i, arrays, fields):
    if v.get('aead'):
        key = hexb(v['aead']['key'])
        kn = c_ident(prefix, i, 'aead_key')
        c_bytes(kn, key, arrays)
        fields.append(c_alg('aead', v['aead']['name'],
                            (kn if key else 'NULL', len(key)),
                            v['aead']['icv_bits']))
    if v.get('enc'):
        key = hexb(v['enc']['key'])
        kn = c_ident(prefix, i, 'enc_key')
        c_bytes(kn, key, arrays)
        fields.append(c_alg('enc', v['enc']['name'],
                            (kn if key else 'NULL', len(key))))
    if v.get('auth'):
        key = hexb(v['auth']['key'])
        kn = c_ident(prefix, i, 'auth_key')
        c_bytes(kn, key, arrays)
        fields.append(c_alg('auth', v['auth']['name'],
                            (kn if key else 'NULL', len(key)),
                            v['auth']['trunc_bits']))
    elif v['proto'] == 'esp' and v.get('enc'):
        # iproute2: "auth digest_null ''" -- an explicit null auth algorithm
        fields.append(c_alg('auth', 'digest_null', ('NULL', 0), 0))


def emit_vector(v, a, prefix, i, arrays, entries, negative):
    fields = []
    fields.append('.id = %s,' % c_str(v['id']))
    fields.append('.family = %d,' % v['family'])
    fields.append('.inner_family = %d,' % (v['inner_family'] or 0))
    fields.append('.mode = %s,' % ('XFRM_MODE_TUNNEL' if v['mode'] == 'tunnel'
                                   else 'XFRM_MODE_TRANSPORT'))
    fields.append('.spi = 0x%08x,' % v['spi'])
    fields.append('.seq = 0x%08x,' % v['seq'])
    fields.append('.seq_hi = 0x%08x,' % (v['seq_hi'] or 0))
    fields.append('.esn = %s,' % ('true' if v['esn'] else 'false'))
    s, d = outer_addrs(v, a['pkt'], a['r'])
    fields.append('.saddr = %s,' % c_addr(s, v['family']))
    fields.append('.daddr = %s,' % c_addr(d, v['family']))
    emit_alg_fields(v, prefix, i, arrays, fields)
    fields.append('.icv_bits = %d,' % v['icv_bits'])
    fields.append('.iv_len = %d,' % ivlen_of(v))
    if v.get('encap'):
        fields.append('.encap = {\n\t\t\t.type = 2, /* UDP_ENCAP_ESPINUDP */\n'
                      '\t\t\t.sport = %d,\n\t\t\t.dport = %d,\n\t\t},' %
                      (v['encap']['sport'], v['encap']['dport']))
    if v['proto'] == 'ah':
        fields.append('.ah_align = %d,' % (v['ah_align'] or 0))
    if not negative:
        pn = c_ident(prefix, i, 'plain')
        c_bytes(pn, a['plain'], arrays)
        fields.append('.plaintext_packet = %s,' % pn)
        fields.append('.plaintext_len = %d,' % len(a['plain']))
        fields.append('.payload_off = %d,' % a['poff'])
        fields.append('.payload_len = %d,' % a['paylen'])
    en = c_ident(prefix, i, 'wire')
    c_bytes(en, a['pkt'], arrays)
    fields.append('.expected_packet = %s,' % en)
    fields.append('.expected_len = %d,' % len(a['pkt']))
    fields.append('.hdr_off = %d,' % a['esp_off'])
    if v['proto'] == 'esp' and not negative:
        fields.append('.pad_len = %d,' % v['esp_trailer']['pad_len'])
        fields.append('.next_header = %d,' % v['esp_trailer']['next_header'])
    if v['proto'] == 'ah' and not negative:
        nh = (v.get('ah_header') or {}).get('next_header')
        if nh is None:
            nh = a['pkt'][a['esp_off']]
        fields.append('.next_header = %d,' % nh)
    entries.append('\t{')
    for f in fields:
        entries.append('\t\t' + f)
    entries.append('\t},')


HDR = """\
/* SPDX-License-Identifier: GPL-2.0 */
/*
 * GENERATED FILE -- DO NOT EDIT.
 *
 * Generated by scripts/gen-kunit-vectors.py from the project's %(what)s
 * known-answer vectors (vectors.json, vectors_negative.json: %(n)d vectors,
 * %(nn)d negative).  Re-run the script to update.  Byte arrays are whole IP
 * packets exactly as in the JSON; see the struct below for the fields.
 */
"""

# struct espah_kv_alg and struct espah_kv_encap: kunit/espah_kunit_util.h
SHARED_TYPES_INCLUDE = """\
#include "espah_kunit_util.h"
"""

ESP_STRUCT = """\
/*
 * One ESP vector.  Decapsulating expected_packet (the packet on the wire,
 * ESP header at hdr_off, after any UDP encapsulation header) with the SA
 * described here yields next_header and, as the decrypted payload,
 * plaintext_packet[payload_off .. payload_off + payload_len): the inner
 * packet in tunnel mode, the data after the IP header(s) in transport mode.
 * Addresses are the outer ones from the packet (16 bytes, IPv4 in the first
 * 4).  seq and seq_hi are host-order values; seq_hi only with esn.
 */
struct espah_esp_vector {
	const char *id;
	u8 family;			/* 4 or 6: outer (on the wire) */
	u8 inner_family;
	u8 mode;			/* XFRM_MODE_TRANSPORT/TUNNEL */
	bool esn;
	u32 spi;
	u32 seq;
	u32 seq_hi;
	u8 saddr[16];
	u8 daddr[16];
	struct espah_kv_alg aead;
	struct espah_kv_alg enc;
	struct espah_kv_alg auth;
	unsigned int icv_bits;
	unsigned int iv_len;
	struct espah_kv_encap encap;
	const u8 *plaintext_packet;	/* NULL for negative vectors */
	unsigned int plaintext_len;
	unsigned int payload_off;
	unsigned int payload_len;
	const u8 *expected_packet;
	unsigned int expected_len;
	unsigned int hdr_off;		/* offset of the ESP header */
	u8 pad_len;
	u8 next_header;
};
"""

AH_STRUCT = """\
/*
 * One AH vector, same shape as struct espah_esp_vector: expected_packet is
 * the packet on the wire (AH header at hdr_off); verifying it with the SA
 * described here yields next_header and, after the AH header, the payload
 * plaintext_packet[payload_off .. payload_off + payload_len).  ah_align:
 * 4 = the SA has "flag align4" (IPv4 AH padded to 4 octets), 8 = Linux
 * default.  Addresses are the outer ones from the packet.
 */
struct espah_ah_vector {
	const char *id;
	u8 family;
	u8 inner_family;
	u8 mode;
	bool esn;
	u32 spi;
	u32 seq;
	u32 seq_hi;
	u8 saddr[16];
	u8 daddr[16];
	struct espah_kv_alg auth;
	unsigned int icv_bits;
	unsigned int iv_len;		/* always 0 */
	struct espah_kv_encap encap;	/* always none */
	u8 ah_align;
	const u8 *plaintext_packet;	/* NULL for negative vectors */
	unsigned int plaintext_len;
	unsigned int payload_off;
	unsigned int payload_len;
	const u8 *expected_packet;
	unsigned int expected_len;
	unsigned int hdr_off;		/* offset of the AH header */
	u8 next_header;
};
"""


def write_header(path, guard, what, prefix, struct, vecs, negs, analyse):
    arrays, entries, nentries = [], [], []
    for i, v in enumerate(vecs):
        emit_vector(v, analyse(v), prefix, i, arrays, entries, False)
    for i, v in enumerate(negs):
        emit_vector(v, analyse(v, True), prefix + '_neg', i, arrays,
                    nentries, True)
    out = [HDR % {'what': what, 'n': len(vecs), 'nn': len(negs)}]
    out.append('#ifndef %s\n#define %s\n' % (guard, guard))
    out.append('#include <linux/types.h>\n#include <linux/xfrm.h>\n')
    out.append(SHARED_TYPES_INCLUDE)
    out.append(struct)
    out.append('\n'.join(arrays))
    out.append('static const struct %s %s_vectors[] = {' %
               (prefix.replace('espah_', 'espah_') + '_vector', prefix))
    out.append('\n'.join(entries))
    out.append('};\n')
    out.append('/* must fail verification (corrupted ICV) */')
    out.append('static const struct %s %s_negative_vectors[] = {' %
               (prefix + '_vector', prefix))
    out.append('\n'.join(nentries))
    out.append('};\n')
    out.append('#endif /* %s */' % guard)
    text = '\n'.join(out) + '\n'
    with open(path, 'w') as f:
        f.write(text)


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else \
        os.path.join(TOP, '..', 'shared', 'vectors', 'vectors.json')
    outdir = sys.argv[2] if len(sys.argv) > 2 else os.path.join(TOP, 'kunit')
    with open(src) as f:
        vecs = json.load(f)
    negpath = os.path.join(os.path.dirname(src), 'vectors_negative.json')
    negs = []
    if os.path.exists(negpath):
        with open(negpath) as f:
            negs = json.load(f)
    esp = [v for v in vecs if v['proto'] == 'esp']
    ah = [v for v in vecs if v['proto'] == 'ah']
    esp_neg = [v for v in negs if v['proto'] == 'esp']
    ah_neg = [v for v in negs if v['proto'] == 'ah']
    os.makedirs(outdir, exist_ok=True)
    write_header(os.path.join(outdir, 'esp_vectors.h'), 'ESPAH_ESP_VECTORS_H',
                 'ESP', 'espah_esp', ESP_STRUCT, esp, esp_neg, analyse_esp)
    write_header(os.path.join(outdir, 'ah_vectors.h'), 'ESPAH_AH_VECTORS_H',
                 'AH', 'espah_ah', AH_STRUCT, ah, ah_neg, analyse_ah)
    for w in warnings:
        print('warning: ' + w, file=sys.stderr)
    print('%d ESP (+%d negative), %d AH (+%d negative) vectors, %d warnings'
          % (len(esp), len(esp_neg), len(ah), len(ah_neg), len(warnings)),
          file=sys.stderr)


if __name__ == '__main__':
    main()
