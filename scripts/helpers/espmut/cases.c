// SPDX-License-Identifier: GPL-2.0
/*
 * The case matrix: every transform in every mode over both families,
 * plus tunnel and BEET across families, with ESN, UDP encapsulation,
 * AH's 4-octet alignment, replay windows and GRO spread over the cases
 * so that each transform sees each of them. A case's SA and its inbound
 * policy go into "murx" with one "ip -batch".
 *
 * Addresses: outer 10.77.0.1 -> 10.77.0.2, fd77::1 -> fd77::2; inner
 * (tunnel, BEET) 10.78.0.1 -> 10.78.0.2, fd78::1 -> fd78::2; the marker
 * datagrams go to UDP port 7777, which the policy requires protected.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "espmut.h"

#define SPI_BASE	0x4d000000u

static const char *const o_src[2] = { "10.77.0.1", "fd77::1" };
static const char *const o_dst[2] = { "10.77.0.2", "fd77::2" };
static const char *const i_src[2] = { "10.78.0.1", "fd78::1" };
static const char *const i_dst[2] = { "10.78.0.2", "fd78::2" };

const char *mode_name(u8 mode)
{
	static const char *const n[] = { "transport", "tunnel", "beet" };

	return n[mode];
}

bool mcase_is_ah(const struct mcase *c)
{
	return c->xf->kind == XF_AH;
}

static void mcase_keys(struct mcase *c)
{
	struct rng r;
	unsigned int i;

	rng_seed(&r, 0x6b657973ull * (c->id + 1));
	for (i = 0; i < sizeof(c->enc_key); i++)
		c->enc_key[i] = rng_u32(&r);
	for (i = 0; i < sizeof(c->auth_key); i++)
		c->auth_key[i] = rng_u32(&r);
}

/*
 * ESN cases start their receiver just below 2^32, so the run crosses
 * into the next high half; others somewhere low.
 */
static void mcase_seq(struct mcase *c)
{
	static const u32 windows[] = { 32, 64, 128, 1024, 16 };

	c->replay_window = windows[c->id % ARRAY_SIZE(windows)];
	if (c->esn)
		c->seq_start = 0xffffffffull - 150 - 13 * (c->id % 7);
	else
		c->seq_start = 1000 + 77 * c->id;
}

static void mcase_name(struct mcase *c)
{
	char fam[16];

	if (c->family == c->inner_family)
		snprintf(fam, sizeof(fam), "v%u", c->family);
	else
		snprintf(fam, sizeof(fam), "v%uin%u", c->inner_family,
			 c->family);
	snprintf(c->name, sizeof(c->name), "%s-%s-%s%s%s%s%s", fam,
		 mode_name(c->mode), c->xf->name, c->esn ? "-esn" : "",
		 c->encap ? "-udp" : "", c->align4 ? "-align4" : "",
		 c->gro ? "-gro" : "");
}

static void matrix_add(struct mcase *out, unsigned int *n, unsigned int max,
		       const struct xform *xf, u8 fam, u8 ifam, u8 mode,
		       unsigned int k)
{
	struct mcase *c;

	if (*n >= max)
		return;
	c = &out[*n];
	memset(c, 0, sizeof(*c));
	c->id = *n;
	c->xf = xf;
	c->family = fam;
	c->inner_family = ifam;
	c->mode = mode;
	c->esn = k & 1;
	c->encap = xf->kind != XF_AH && ((k >> 1) & 1);
	c->align4 = xf->kind == XF_AH && fam == 4 && ((k >> 1) & 1);
	c->gro = (k % 3) == 2;
	c->spi = SPI_BASE + c->id;
	mcase_seq(c);
	mcase_keys(c);
	mcase_name(c);
	(*n)++;
}

unsigned int cases_build(struct mcase *out, unsigned int max)
{
	static const char *const cross[] = {
		"gcm128", "cbc-aes256-sha256", "chacha20poly1305", "ah-sha256",
	};
	unsigned int n = 0, x, fm, k, i;
	const struct xform *xf;

	for (x = 0; x < n_xforms; x++)
		for (fm = 0; fm < 6; fm++) {
			k = x + fm + (fm / 2) * 2 + (x / 3);
			matrix_add(out, &n, max, &xforms[x], fm % 2 ? 6 : 4,
				   fm % 2 ? 6 : 4, fm / 2, k);
		}
	for (i = 0; i < ARRAY_SIZE(cross); i++) {
		xf = xform_find(cross[i]);
		matrix_add(out, &n, max, xf, 6, 4, MODE_TUNNEL, i);
		matrix_add(out, &n, max, xf, 4, 6, MODE_TUNNEL, i + 1);
		matrix_add(out, &n, max, xf, 6, 4, MODE_BEET, i + 2);
		matrix_add(out, &n, max, xf, 4, 6, MODE_BEET, i + 3);
	}
	return n;
}

static void hex(char *out, const u8 *k, unsigned int n, bool keys)
{
	unsigned int i;

	if (!n) {
		sprintf(out, "\"\"");
		return;
	}
	if (!keys) {
		sprintf(out, "KEY%u", n * 8);
		return;
	}
	sprintf(out, "0x");
	for (i = 0; i < n; i++)
		sprintf(out + 2 + 2 * i, "%02x", k[i]);
}

static void alg_words(const struct mcase *c, char *buf, size_t n, bool keys)
{
	const struct xform *xf = c->xf;
	char ek[140], ak[140];

	hex(ek, c->enc_key, xf->enc_keylen, keys);
	hex(ak, c->auth_key, xf->auth_keylen, keys);
	if (xf->kind == XF_AEAD)
		snprintf(buf, n, "aead '%s' %s %u", xf->alg, ek, xf->icv_len * 8);
	else if (xf->kind == XF_AUTHENC)
		snprintf(buf, n, "enc '%s' %s auth-trunc '%s' %s %u", xf->alg,
			 ek, xf->auth_alg, ak, xf->icv_len * 8);
	else
		snprintf(buf, n, "auth-trunc '%s' %s %u", xf->auth_alg, ak,
			 xf->icv_len * 8);
}

/*
 * The "ip" commands that make the case's SA and policy (keys elided
 * unless @keys): what xfrmnl.c sends, for a human to reproduce it.
 */
void mcase_print_ip(const struct mcase *c, FILE *f, bool keys)
{
	int o = c->family == 6, in = c->inner_family == 6;
	const char *proto = mcase_is_ah(c) ? "ah" : "esp";
	const char *ssrc = c->mode == MODE_TRANSPORT ? o_src[o] : i_src[in];
	const char *sdst = c->mode == MODE_TRANSPORT ? o_dst[o] : i_dst[in];
	char alg[512];

	alg_words(c, alg, sizeof(alg), keys);
	fprintf(f, "#   ip xfrm state add src %s dst %s proto %s spi 0x%08x",
		o_src[o], o_dst[o], proto, c->spi);
	fprintf(f, " reqid 7 mode %s replay-window %u replay-seq 0x%x",
		mode_name(c->mode), c->replay_window, (u32)c->seq_start);
	if (c->esn)
		fprintf(f, " replay-seq-hi 0x%x flag esn",
			(u32)(c->seq_start >> 32));
	if (c->align4)
		fprintf(f, " flag align4");
	fprintf(f, " %s", alg);
	if (c->encap)
		fprintf(f, " encap espinudp %u %u %s", ENCAP_PORT, ENCAP_PORT,
			o ? "::" : "0.0.0.0");
	if (c->mode != MODE_TRANSPORT)
		fprintf(f, " sel src %s dst %s", ssrc, sdst);
	fprintf(f, "\n#   ip xfrm policy add dir in src %s dst %s", ssrc, sdst);
	if (c->mode == MODE_TRANSPORT)
		fprintf(f, " proto udp dport %u", MARK_PORT);
	fprintf(f, " tmpl src %s dst %s proto %s reqid 7 mode %s\n",
		o_src[o], o_dst[o], proto, mode_name(c->mode));
}

int mcase_install(const struct mcase *c, bool verbose_)
{
	int o = c->family == 6, in = c->inner_family == 6;
	const char *ssrc = c->mode == MODE_TRANSPORT ? o_src[o] : i_src[in];
	const char *sdst = c->mode == MODE_TRANSPORT ? o_dst[o] : i_dst[in];

	if (verbose_)
		mcase_print_ip(c, stdout, false);
	if (xfrmnl_flush() ||
	    xfrmnl_add_sa(c, o_src[o], o_dst[o], ssrc, sdst) ||
	    xfrmnl_add_policy(c, o_src[o], o_dst[o], ssrc, sdst))
		return -1;
	return 0;
}

void mcase_uninstall(void)
{
	xfrmnl_flush();
}
