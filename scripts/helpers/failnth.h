/* SPDX-License-Identifier: GPL-2.0 */
/*
 * failnth.h: make the Nth fault injection point (slab or page allocation,
 * with the debug kernel's failslab / fail_page_alloc) that this thread
 * passes fail, around one system call (Documentation/fault-injection/
 * fault-injection.rst, "Systematic faults using fail-nth").
 */
#ifndef ESPAH_FAILNTH_H
#define ESPAH_FAILNTH_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Arms fail-nth with @n; returns the file to disarm it with. Exits on error. */
static int failnth_arm(const char *n)
{
	int fd = open("/proc/thread-self/fail-nth", O_RDWR);

	if (fd < 0 || write(fd, n, strlen(n)) != (ssize_t)strlen(n)) {
		perror("fail-nth (CONFIG_FAULT_INJECTION?)");
		exit(2);
	}
	return fd;
}

/* Disarms it; whether the armed failure happened (1), or not (0). */
static int failnth_disarm(int fd)
{
	char buf[16] = "";

	if (pread(fd, buf, sizeof(buf) - 1, 0) < 0 || pwrite(fd, "0", 1, 0) != 1)
		return -1;
	close(fd);
	return atoi(buf) == 0;
}

#endif /* ESPAH_FAILNTH_H */
