// SPDX-License-Identifier: GPL-2.0
/*
 * espcraft: send one hand-made ESP packet over IPv4, to provoke a given
 * drop reason in the receiver. The packet is encrypted with
 * rfc4106(gcm(aes)) through AF_ALG, so "good", "badpad" and "dummy"
 * packets carry a valid ICV and reach the checks behind it.
 *
 *   espcraft DST SPI SEQ KEYHEX KIND
 *
 * KIND: good (ICMP echo request payload), short (shorter than header and
 * IV), badicv (last ICV byte flipped), badpad (pad length beyond the
 * payload), dummy (next header 59), unaligned (random bytes whose length
 * is no multiple of 16 for a CBC SA; not encrypted); and AH (protocol 51,
 * for an SA with a 16-byte ICV, KEYHEX unused): ah-badlen (a length field
 * that fits no ICV length), ah-badicv (right length, wrong ICV).
 */
#include <arpa/inet.h>
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

typedef unsigned char u8;
typedef unsigned int u32;

#define ICV_LEN 16
#define IV_LEN 8
#define AAD_LEN (8 + IV_LEN)	/* rfc4106 authenticates SPI, seq and IV */

static int hexkey(const char *hex, u8 *key, size_t max)
{
	size_t n = 0;

	if (!strncmp(hex, "0x", 2))
		hex += 2;
	while (hex[0] && hex[1] && n < max) {
		if (sscanf(hex, "%2hhx", &key[n]) != 1)
			return -1;
		hex += 2;
		n++;
	}
	return n;
}

static int aead_encrypt(const u8 *key, int keylen, const u8 *aad,
			const u8 *pt, size_t ptlen, u8 *out)
{
	struct sockaddr_alg sa = {
		.salg_family = AF_ALG,
		.salg_type = "aead",
		.salg_name = "rfc4106(gcm(aes))",
	};
	char cbuf[CMSG_SPACE(4) + CMSG_SPACE(sizeof(struct af_alg_iv) + IV_LEN) +
		  CMSG_SPACE(4)] = { 0 };
	u8 in[2048];
	struct iovec iov = { in, AAD_LEN + ptlen };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct af_alg_iv *iv;
	struct cmsghdr *c;
	int tfm, op;
	ssize_t n;

	tfm = socket(AF_ALG, SOCK_SEQPACKET, 0);
	if (tfm < 0 || bind(tfm, (struct sockaddr *)&sa, sizeof(sa)) ||
	    setsockopt(tfm, SOL_ALG, ALG_SET_KEY, key, keylen) ||
	    setsockopt(tfm, SOL_ALG, ALG_SET_AEAD_AUTHSIZE, NULL, ICV_LEN)) {
		perror("AF_ALG rfc4106(gcm(aes))");
		return -1;
	}
	op = accept(tfm, NULL, 0);
	if (op < 0) {
		perror("accept");
		return -1;
	}
	memcpy(in, aad, AAD_LEN);
	memcpy(in + AAD_LEN, pt, ptlen);

	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_ALG;
	c->cmsg_type = ALG_SET_OP;
	c->cmsg_len = CMSG_LEN(4);
	*(u32 *)CMSG_DATA(c) = ALG_OP_ENCRYPT;
	c = CMSG_NXTHDR(&msg, c);
	c->cmsg_level = SOL_ALG;
	c->cmsg_type = ALG_SET_IV;
	c->cmsg_len = CMSG_LEN(sizeof(*iv) + IV_LEN);
	iv = (struct af_alg_iv *)CMSG_DATA(c);
	iv->ivlen = IV_LEN;
	memcpy(iv->iv, aad + 8, IV_LEN);
	c = CMSG_NXTHDR(&msg, c);
	c->cmsg_level = SOL_ALG;
	c->cmsg_type = ALG_SET_AEAD_ASSOCLEN;
	c->cmsg_len = CMSG_LEN(4);
	*(u32 *)CMSG_DATA(c) = AAD_LEN;

	if (sendmsg(op, &msg, 0) < 0) {
		perror("sendmsg AF_ALG");
		return -1;
	}
	n = read(op, out, AAD_LEN + ptlen + ICV_LEN);
	close(op);
	close(tfm);
	if (n != (ssize_t)(AAD_LEN + ptlen + ICV_LEN)) {
		perror("read AF_ALG");
		return -1;
	}
	return 0;
}

/* ICMP echo request, then RFC 4303 padding 1, 2, 3... to a multiple of 4. */
static size_t build_plaintext(u8 *pt, const char *kind)
{
	static const u8 echo[] = { 8, 0, 0xf7, 0xff, 0, 0, 0, 0 };
	size_t len = sizeof(echo), pad = (4 - (len + 2) % 4) % 4, i;

	memcpy(pt, echo, len);
	for (i = 0; i < pad; i++)
		pt[len + i] = i + 1;
	pt[len + pad] = pad;
	pt[len + pad + 1] = IPPROTO_ICMP;
	if (!strcmp(kind, "badpad"))
		pt[len + pad] = 255;
	if (!strcmp(kind, "dummy"))
		pt[len + pad + 1] = 59;
	return len + pad + 2;
}

static size_t build_packet(u8 *pkt, u32 spi, u32 seq,
			   const u8 *key, int keylen, const char *kind)
{
	u8 pt[64], out[2048];
	size_t ptlen, len;
	u32 v;

	v = htonl(spi);
	memcpy(pkt, &v, 4);
	v = htonl(seq);
	memcpy(pkt + 4, &v, 4);
	memset(pkt + 8, 0x5a, IV_LEN);
	if (!strcmp(kind, "short"))
		return 12;
	if (!strcmp(kind, "unaligned")) {
		memset(pkt + 8, 0xa5, 16 + 17 + 16);
		return 8 + 16 + 17 + 16;
	}
	ptlen = build_plaintext(pt, kind);
	if (aead_encrypt(key, keylen, pkt, pt, ptlen, out))
		exit(1);
	memcpy(pkt + AAD_LEN, out + AAD_LEN, ptlen + ICV_LEN);
	len = AAD_LEN + ptlen + ICV_LEN;
	if (!strcmp(kind, "badicv"))
		pkt[len - 1] ^= 1;
	return len;
}

/*
 * AH header with a 16-byte ICV of zeros, padded to 8 octets as Linux pads
 * IPv4 AH by default, then 8 bytes of "payload".
 */
#define AH_LEN 32

static size_t build_ah_packet(u8 *pkt, u32 spi, u32 seq, const char *kind)
{
	u32 v;

	memset(pkt, 0, AH_LEN + 8);
	pkt[0] = 59;				/* next header: none */
	pkt[1] = !strcmp(kind, "ah-badlen") ? 3 : AH_LEN / 4 - 2;
	v = htonl(spi);
	memcpy(pkt + 4, &v, 4);
	v = htonl(seq);
	memcpy(pkt + 8, &v, 4);
	return AH_LEN + 8;
}

int main(int argc, char **argv)
{
	struct sockaddr_in dst = { .sin_family = AF_INET };
	u8 key[64], pkt[2048];
	int keylen, fd;
	size_t len;

	if (argc != 6 || inet_pton(AF_INET, argv[1], &dst.sin_addr) != 1) {
		fprintf(stderr, "usage: %s DST SPI SEQ KEYHEX KIND\n", argv[0]);
		return 2;
	}
	if (!strncmp(argv[5], "ah-", 3)) {
		len = build_ah_packet(pkt, strtoul(argv[2], NULL, 0),
				      strtoul(argv[3], NULL, 0), argv[5]);
		fd = socket(AF_INET, SOCK_RAW, IPPROTO_AH);
		goto send;
	}
	keylen = hexkey(argv[4], key, sizeof(key));
	if (keylen != 20 && keylen != 36) {
		fprintf(stderr, "espcraft: key must be AES-128/256 plus 4-byte salt\n");
		return 2;
	}
	len = build_packet(pkt, strtoul(argv[2], NULL, 0),
			   strtoul(argv[3], NULL, 0), key, keylen, argv[5]);
	fd = socket(AF_INET, SOCK_RAW, IPPROTO_ESP);
send:
	if (fd < 0 || sendto(fd, pkt, len, 0, (struct sockaddr *)&dst,
			     sizeof(dst)) != (ssize_t)len) {
		perror("espcraft: send");
		return 1;
	}
	return 0;
}
