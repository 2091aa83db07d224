// SPDX-License-Identifier: GPL-2.0
/*
 * floor: load bench/floor.bpf.c, attach its empty LSM programs, and stay
 * until SIGTERM or SIGINT (which detach them).
 *
 *   floor [--pin-tc PATH]
 *
 * --pin-tc pins the empty tc program at PATH (on a bpf file system), for
 * tc(8) to attach with "bpf da object-pinned PATH"; floor unpins it on exit.
 * Prints "ready" once attached. Exit 2 for usage, 1 for other errors.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "floor.skel.h"
#include "until_signal.h"

int main(int argc, char **argv)
{
	const char *pin = NULL;
	struct floor_bpf *skel;
	sigset_t old;
	int err, ret = 1;

	if (argc == 3 && !strcmp(argv[1], "--pin-tc")) {
		pin = argv[2];
	} else if (argc != 1) {
		fprintf(stderr, "floor: usage: floor [--pin-tc PATH]\n");
		return 2;
	}
	until_signal_prepare(&old);

	skel = floor_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "floor: load: %s\n", strerror(errno));
		return 1;
	}
	err = floor_bpf__attach(skel);
	if (err) {
		fprintf(stderr, "floor: attach: %s\n", strerror(-err));
		goto out;
	}
	if (pin) {
		err = bpf_program__pin(skel->progs.floor_tc, pin);
		if (err) {
			fprintf(stderr, "floor: pin %s: %s\n", pin, strerror(-err));
			pin = NULL;
			goto out;
		}
	}
	printf("ready\n");
	fflush(stdout);
	until_signal(&old);
	ret = 0;
out:
	if (pin)
		bpf_program__unpin(skel->progs.floor_tc, pin);
	floor_bpf__destroy(skel);
	return ret;
}
