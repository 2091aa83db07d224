/* SPDX-License-Identifier: GPL-2.0 */
/* dsmctl commands that work offline, without dsmd. */
#ifndef DSMCTL_H
#define DSMCTL_H

/*
 * dsmctl policy check FILE | compile FILE -o OUT | dump FILE | keygen PRIV
 * PUB | sign FILE ... -o OUT | verify SIGNED ...: argv[0] is "policy".
 * Returns the exit status: 0 ok, 1 the policy has errors, a signed bundle
 * does not verify or a file could not be read or written, 2 usage error.
 */
int dsmctl_policy(int argc, char **argv);

#endif /* DSMCTL_H */
