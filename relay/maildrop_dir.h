/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The maildrop directory, $spool_dir/maildrop (spool_dir itself: mode 0710, group setgid_group,
 * so the postdrop helper may pass through it without listing it): owner mail_owner, group
 * setgid_group, mode 1730 (sticky; the group may create files but not list them; only a file's
 * owner or the directory's owner may rename or remove one), as Postfix's maildrop. Files in it:
 *   NAME        a message: 32 lower-case hex digits, random (unguessable, never reused)
 *   tmp.NAME    being written: the relay ignores it and removes it after a day
 * Files are mode 0640, owned by the submitter, group setgid_group (the postdrop helper's
 * effective group), so the relay reads them through its supplementary group. */

#define MAILDROP_DIR_NAME      "maildrop"
#define MAILDROP_DIR_MODE      01730
#define MAILDROP_FILE_MODE     0640
#define MAILDROP_NAME_LEN      32
#define MAILDROP_TEMP_PREFIX   "tmp."
#define MAILDROP_TEMP_MAX_SEC  (24 * 3600)
#define MAILDROP_POSTDROP_PATH "/usr/libexec/mailinit/postdrop"

/* maildrop_new_name - a fresh random file name (getrandom). 0 or -errno. */
int maildrop_new_name(char name[static MAILDROP_NAME_LEN + 1]);

/* maildrop_name_is_message / _is_temp - what a directory entry is, by its name alone. */
bool maildrop_name_is_message(const char *name);
bool maildrop_name_is_temp(const char *name);

/* maildrop_store - make dir_fd/name hold data: "tmp.NAME" created with O_EXCL|O_NOFOLLOW and
 * MAILDROP_FILE_MODE, in the directory's group when allowed, written, fsynced, renamed to NAME
 * (never over an existing file), then the rename is made durable: fsync of the directory when it
 * can be opened for reading (root, the owner), else syncfs(2) (the postdrop helper may not read the
 * directory). On failure the temporary file is removed. Returns 0 or -errno (-EEXIST when NAME
 * exists). */
int maildrop_store(int dir_fd, const char *name, const void *data, size_t len);

/* maildrop_dir_check - for the postdrop helper, running with the effective group gid on behalf
 * of the real user uid: dir_fd must be a directory of group gid with the sticky bit, writable
 * and searchable by the group, nothing for others, and not owned by uid (unless uid is 0).
 * Any other directory is refused with -EPERM: the helper writes into real maildrops only. */
int maildrop_dir_check(int dir_fd, uid_t uid, gid_t gid);

/* maildrop_dir_prepare - the relay's side: let group pass through the spool directory
 * (group `group`, g+x: 0710 for a 0700 spool, as far as we may change it), create
 * spool_fd/maildrop (MAILDROP_DIR_MODE) when missing; as root give it to owner:group (group
 * (gid_t)-1: the spool's group) and repair its mode. *ret_fd: an O_RDONLY descriptor of it
 * (caller closes). 0 or -errno. */
int maildrop_dir_prepare(int spool_fd, uid_t owner, gid_t group, int *ret_fd);
