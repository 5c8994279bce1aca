/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "maildrop.h"

/* What sendmail's modes share: who submits, the configuration that matters, and the one way
 * a message reaches the relay (the maildrop). */

struct submitter {
        uid_t uid;
        char *login;          /* from the password database, by the real uid */
        char *fullname;       /* -F, else NAME, else the gecos name; NULL when none */
        bool trusted;         /* root or trusted_users: -f may name anyone */
        char *myorigin;       /* "localhost" when unset, as the relay */
        char *myhostname;     /* for -bs's greeting */
        uint64_t size_limit;  /* message_size_limit; 0: MAILDROP_MESSAGE_MAX */
        char *maildrop_dir;   /* spool_dir/maildrop, under MAILINIT_ROOT */
        char *spool_dir;      /* spool_dir, under MAILINIT_ROOT */
        char *setgid_group;   /* for creating a missing maildrop as root */
        const char *postdrop; /* MAILINIT_POSTDROP or MAILDROP_POSTDROP_PATH */
        unsigned verbose;
};

/* sendmail_drop - store env + msg in the maildrop: directly when the directory is writable by
 * us (root, mail_owner), else through the setgid postdrop helper. ret_name gets the file
 * name. Returns a sysexits code (0 on success) and prints its own error. */
int sendmail_drop(const struct submitter *sub, const struct maildrop_envelope *env, const char *msg,
                  size_t len, char *ret_name, size_t name_size);

/* sendmail_smtp_session - -bs: an SMTP dialogue on stdin/stdout; each accepted message is
 * dropped as if given on the command line. Returns a sysexits code. */
int sendmail_smtp_session(const struct submitter *sub);

/* sendmail_sender_check - the -f / MAIL FROM rule (submit_policy) for sub; NULL: default. */
bool sendmail_sender_check(const struct submitter *sub, const char *sender);

/* postdrop_main - the setgid helper's only job (AT_SECURE): argv = postdrop DIR NAME, the
 * maildrop file on stdin. Returns a sysexits code. */
int postdrop_main(int argc, char **argv);
