/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The relay started as root gives up root for good before it talks SMTP: it binds its
 * sockets, reads what only root may read, prepares the spool for mail_owner, then becomes
 * mail_owner with setgid_group as its only supplementary group, with no capability left
 * (effective, permitted, inheritable, ambient and bounding sets empty) and no_new_privs set.
 * Started as another user it changes nothing. */

#define PRIVILEGE_WHY_MAX 512

struct relay_identity {
        uid_t uid;
        gid_t gid;      /* mail_owner's primary group */
        gid_t drop_gid; /* setgid_group's, when have_drop_group */
        bool have_drop_group;
        char user[64];
        char group[64];
};

/* privilege_lookup - mail_owner (user, with its primary group) and setgid_group. Returns 0;
 * -ENOENT when the user does not exist, -EPERM when it is root (uid 0 or gid 0): why names
 * the key. A missing setgid_group is not an error (have_drop_group false). */
int privilege_lookup(const char *mail_owner, const char *setgid_group, struct relay_identity *ret,
                     char *why, size_t why_size);

/* privilege_prepare_spool - as root, before spool_open(): spool_dir (created when missing)
 * owned by the user, mode 0710 group setgid_group (0700 and the user's group without it); its
 * subdirectories and their files given to the user (never following symbolic links; maildrop's
 * files keep their owners, who submitted them), and maildrop (created when missing) owned by the
 * user and setgid_group, mode 1730. Returns 0 or -errno with why filled. */
int privilege_prepare_spool(const char *spool_dir, const struct relay_identity *id, char *why,
                            size_t why_size);

/* privilege_drop - become the user for good: setgroups([setgid_group]), setgid, setuid, then
 * PR_SET_NO_NEW_PRIVS, every capability dropped from the bounding and ambient sets, and a
 * check with capget() that none is left and that root cannot be regained. The process stays
 * non-dumpable. Must run before any thread is started (no_new_privs and the bounding set are
 * per thread). Returns 0 or -errno with why filled. */
int privilege_drop(const struct relay_identity *id, char *why, size_t why_size);
