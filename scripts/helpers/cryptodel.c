// SPDX-License-Identifier: GPL-2.0
/*
 * cryptodel: unregister crypto template instances by driver name, over
 * NETLINK_CRYPTO (CRYPTO_MSG_DELALG, CONFIG_CRYPTO_USER). The e2e async
 * suite registers cryptd(...) instances (algbind) so that its SAs get
 * asynchronous crypto; it removes them again with this, so that the suites
 * after it get the synchronous transforms. The kernel refuses (-EBUSY) an
 * instance that is still in use and (-EINVAL) one that is no instance.
 *
 *   cryptodel 'cryptd(seqiv(rfc4106(gcm_base(ctr(aes-generic),ghash-generic))))'
 */
#include <errno.h>
#include <linux/cryptouser.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct del_req {
	struct nlmsghdr n;
	struct crypto_user_alg a;
};

/* 0, or the kernel's -errno for the request */
static int del_alg(int fd, const char *driver, unsigned int seq)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	struct del_req req;
	char buf[4096];
	struct nlmsghdr *h;
	ssize_t len;

	memset(&req, 0, sizeof(req));
	req.n.nlmsg_len = NLMSG_LENGTH(sizeof(req.a));
	req.n.nlmsg_type = CRYPTO_MSG_DELALG;
	req.n.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	req.n.nlmsg_seq = seq;
	if (snprintf(req.a.cru_driver_name, sizeof(req.a.cru_driver_name),
		     "%s", driver) >= (int)sizeof(req.a.cru_driver_name))
		return -ENAMETOOLONG;
	if (sendto(fd, &req, req.n.nlmsg_len, 0, (struct sockaddr *)&kernel,
		   sizeof(kernel)) < 0)
		return -errno;
	len = recv(fd, buf, sizeof(buf), 0);
	if (len < 0)
		return -errno;
	for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
		if (h->nlmsg_type == NLMSG_ERROR)
			return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
	}
	return -EPROTO;
}

int main(int argc, char **argv)
{
	int fd, i, err, rc = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s DRIVER...\n", argv[0]);
		return 2;
	}
	fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_CRYPTO);
	if (fd < 0) {
		perror("socket(NETLINK_CRYPTO) (CONFIG_CRYPTO_USER, modprobe crypto_user)");
		return 1;
	}
	for (i = 1; i < argc; i++) {
		err = del_alg(fd, argv[i], i);
		if (err) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(-err));
			rc = 1;
		}
	}
	close(fd);
	return rc;
}
