// SPDX-License-Identifier: GPL-2.0
/*
 * espfile: write a file whose pages are ESP packets for an SA, ready to be
 * spliced or sendfile()d into a UDP socket as ESP in UDP (RFC 3948): the
 * UDP payload is the ESP packet. This is what the Dirty Frag class of bugs
 * needs: page-cache pages that the receiving ESP decrypts.
 *
 *   espfile OUT 4|6 SRC DST DPORT SPI SEQ COUNT gcm|cbc KEYHEX [AUTHKEYHEX]
 *           valid|badicv MARKER
 *
 * Page k of OUT (offset k * 4096) holds the ESP packet with sequence
 * number SEQ + k, encrypted through AF_ALG: rfc4106(gcm(aes)) with a
 * 16-byte ICV (KEYHEX: AES key and 4-byte salt), or
 * authenc(hmac(sha256),cbc(aes)) with the ICV truncated to 16 bytes
 * (KEYHEX: the AES key, AUTHKEYHEX: the HMAC key). Its plaintext is a
 * transport-mode UDP datagram from port 4242 to DPORT on DST, with a valid
 * checksum for SRC and DST, carrying "MARKER seq N" lines. badicv flips
 * the last ICV bit. Prints "pktlen N" (the ESP packet's length).
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_alg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef SOL_ALG
#define SOL_ALG 279
#endif

#define PAGE 4096
#define ICV_LEN 16
#define PAYLOAD_LEN 160		/* inner UDP payload: marker lines */
#define INNER_SPORT 4242
#define RTA_AUTHENC_KEYA_PARAM 1

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;

struct esp_sa {
	int family;
	u8 src[16], dst[16];
	unsigned int dport;
	u32 spi;
	int cbc;
	u8 key[96];
	int keylen;
	int badicv;
	const char *marker;
};

static int hexbytes(const char *hex, u8 *out, size_t max)
{
	size_t n = 0;

	if (!strncmp(hex, "0x", 2))
		hex += 2;
	while (hex[0] && hex[1] && n < max) {
		if (sscanf(hex, "%2hhx", &out[n]) != 1)
			return -1;
		hex += 2;
		n++;
	}
	return hex[0] ? -1 : (int)n;
}

/*
 * authenc takes one key: an rtattr holding the encryption key's length,
 * then the authentication key, then the encryption key.
 */
static int authenc_key(u8 *blob, const u8 *ekey, int elen, const u8 *akey,
		       int alen)
{
	u16 rta_len = 8, rta_type = RTA_AUTHENC_KEYA_PARAM;
	u32 be = htonl(elen);

	memcpy(blob, &rta_len, 2);
	memcpy(blob + 2, &rta_type, 2);
	memcpy(blob + 4, &be, 4);
	memcpy(blob + 8, akey, alen);
	memcpy(blob + 8 + alen, ekey, elen);
	return 8 + alen + elen;
}

static void put_cmsg(struct cmsghdr *c, int type, const void *data, size_t len)
{
	c->cmsg_level = SOL_ALG;
	c->cmsg_type = type;
	c->cmsg_len = CMSG_LEN(len);
	memcpy(CMSG_DATA(c), data, len);
}

/*
 * One AEAD encryption through AF_ALG: @in is the associated data (@aadlen
 * bytes) and then the plaintext; @out gets the same and the ICV.
 */
static int alg_encrypt(const struct esp_sa *sa, const u8 *iv, int ivlen,
		       const u8 *in, size_t aadlen, size_t ptlen, u8 *out)
{
	struct sockaddr_alg alg = { .salg_family = AF_ALG, .salg_type = "aead" };
	u8 cbuf[CMSG_SPACE(4) + CMSG_SPACE(sizeof(struct af_alg_iv) + 16) +
		CMSG_SPACE(4)] = { 0 };
	u8 ivbuf[sizeof(struct af_alg_iv) + 16];
	struct af_alg_iv *aiv = (struct af_alg_iv *)ivbuf;
	struct iovec iov = { (void *)in, aadlen + ptlen };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	u32 op = ALG_OP_ENCRYPT, alen = aadlen;
	struct cmsghdr *c;
	int tfm, fd;
	ssize_t n;

	snprintf((char *)alg.salg_name, sizeof(alg.salg_name), "%s",
		 sa->cbc ? "authenc(hmac(sha256),cbc(aes))" : "rfc4106(gcm(aes))");
	tfm = socket(AF_ALG, SOCK_SEQPACKET, 0);
	if (tfm < 0 || bind(tfm, (struct sockaddr *)&alg, sizeof(alg)) ||
	    setsockopt(tfm, SOL_ALG, ALG_SET_KEY, sa->key, sa->keylen) ||
	    setsockopt(tfm, SOL_ALG, ALG_SET_AEAD_AUTHSIZE, NULL, ICV_LEN)) {
		perror("espfile: AF_ALG");
		return -1;
	}
	fd = accept(tfm, NULL, 0);
	if (fd < 0) {
		perror("espfile: accept");
		return -1;
	}
	aiv->ivlen = ivlen;
	memcpy(aiv->iv, iv, ivlen);
	c = CMSG_FIRSTHDR(&msg);
	put_cmsg(c, ALG_SET_OP, &op, 4);
	c = CMSG_NXTHDR(&msg, c);
	put_cmsg(c, ALG_SET_IV, aiv, sizeof(*aiv) + ivlen);
	c = CMSG_NXTHDR(&msg, c);
	put_cmsg(c, ALG_SET_AEAD_ASSOCLEN, &alen, 4);
	if (sendmsg(fd, &msg, 0) < 0) {
		perror("espfile: sendmsg AF_ALG");
		return -1;
	}
	n = read(fd, out, aadlen + ptlen + ICV_LEN);
	close(fd);
	close(tfm);
	if (n != (ssize_t)(aadlen + ptlen + ICV_LEN)) {
		perror("espfile: read AF_ALG");
		return -1;
	}
	return 0;
}

static u32 csum_add(u32 sum, const u8 *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (p[i] << 8) | p[i + 1];
	if (len & 1)
		sum += p[len - 1] << 8;
	return sum;
}

/* The inner UDP datagram, with its checksum over the outer addresses. */
static size_t build_udp(const struct esp_sa *sa, u32 seq, u8 *udp)
{
	size_t alen = sa->family == 6 ? 16 : 4, len = 8 + PAYLOAD_LEN, off;
	u32 sum = 0;
	u8 proto[2] = { 0, IPPROTO_UDP }, l[2] = { len >> 8, len & 0xff };
	u16 v;
	int i;

	memset(udp, 0, len);
	for (off = 8, i = 0; off + 40 < len; i++)
		off += snprintf((char *)udp + off, len - off, "%s seq %u line %d\n",
				sa->marker, seq, i);
	v = htons(INNER_SPORT);
	memcpy(udp, &v, 2);
	v = htons(sa->dport);
	memcpy(udp + 2, &v, 2);
	v = htons(len);
	memcpy(udp + 4, &v, 2);
	sum = csum_add(sum, sa->src, alen);
	sum = csum_add(sum, sa->dst, alen);
	sum = csum_add(sum, proto, 2);
	sum = csum_add(sum, l, 2);
	sum = csum_add(sum, udp, len);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	v = htons(~sum & 0xffff ? ~sum & 0xffff : 0xffff);
	memcpy(udp + 6, &v, 2);
	return len;
}

/* One ESP packet (header, IV, ciphertext, ICV) into @pkt; its length. */
static size_t build_esp(const struct esp_sa *sa, u32 seq, u8 *pkt)
{
	int ivlen = sa->cbc ? 16 : 8, blk = sa->cbc ? 16 : 4, i;
	u8 in[1024], out[1100], iv[16];
	size_t len, pad, aad = 8 + ivlen;
	u32 v;

	v = htonl(sa->spi);
	memcpy(in, &v, 4);
	v = htonl(seq);
	memcpy(in + 4, &v, 4);
	for (i = 0; i < ivlen; i++)
		iv[i] = (u8)(seq * 31 + i);
	/* the IV travels in the packet and is authenticated with the header */
	memcpy(in + 8, iv, ivlen);
	len = build_udp(sa, seq, in + aad);
	pad = (blk - (len + 2) % blk) % blk;
	for (i = 0; i < (int)pad; i++)
		in[aad + len + i] = i + 1;
	in[aad + len + pad] = pad;
	in[aad + len + pad + 1] = IPPROTO_UDP;
	len += pad + 2;
	if (alg_encrypt(sa, iv, ivlen, in, aad, len, out))
		exit(1);
	memcpy(pkt, out, aad + len + ICV_LEN);
	len += aad + ICV_LEN;
	if (sa->badicv)
		pkt[len - 1] ^= 1;
	return len;
}

static int parse_sa(struct esp_sa *sa, int argc, char **argv)
{
	int af, auth = 0;
	u8 ekey[32], akey[64];
	int elen, alen = 0;

	memset(sa, 0, sizeof(*sa));
	sa->family = atoi(argv[2]);
	af = sa->family == 6 ? AF_INET6 : AF_INET;
	if (inet_pton(af, argv[3], sa->src) != 1 ||
	    inet_pton(af, argv[4], sa->dst) != 1)
		return -1;
	sa->dport = atoi(argv[5]);
	sa->spi = strtoul(argv[6], NULL, 0);
	sa->cbc = !strcmp(argv[9], "cbc");
	elen = hexbytes(argv[10], ekey, sizeof(ekey));
	if (sa->cbc) {
		if (argc != 14)
			return -1;
		auth = 1;
		alen = hexbytes(argv[11], akey, sizeof(akey));
		if (elen != 16 || alen != 32)
			return -1;
		sa->keylen = authenc_key(sa->key, ekey, elen, akey, alen);
	} else {
		if (argc != 13 || elen != 20)
			return -1;
		memcpy(sa->key, ekey, elen);
		sa->keylen = elen;
	}
	sa->badicv = !strcmp(argv[11 + auth], "badicv");
	sa->marker = argv[12 + auth];
	return 0;
}

int main(int argc, char **argv)
{
	static u8 page[PAGE];
	struct esp_sa sa;
	u32 seq, count, k;
	size_t len = 0;
	int fd;

	if (argc < 13 || parse_sa(&sa, argc, argv)) {
		fprintf(stderr, "usage: %s OUT 4|6 SRC DST DPORT SPI SEQ COUNT\n"
			"       gcm|cbc KEYHEX [AUTHKEYHEX] valid|badicv MARKER\n",
			argv[0]);
		return 2;
	}
	seq = strtoul(argv[7], NULL, 0);
	count = strtoul(argv[8], NULL, 0);
	fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0444);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	for (k = 0; k < count; k++) {
		memset(page, 0, sizeof(page));
		len = build_esp(&sa, seq + k, page);
		if (write(fd, page, PAGE) != PAGE) {
			perror("espfile: write");
			return 1;
		}
	}
	close(fd);
	printf("pktlen %zu\n", len);
	return 0;
}
