/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>

/* Who may submit local mail and with which envelope sender: checked by sendmail (for a clear
 * error before anything is queued) and again by the relay's pickup against the dropped
 * file's owner (the enforcement: the postdrop helper reads no configuration). Pure. */

/* submit_user_listed - login is one of the names in list (Postfix list syntax: commas and/or
 * white space). */
bool submit_user_listed(const char *list, const char *login);

/* submit_authorized - authorized_submit_users: empty means anyone; root always may. */
bool submit_authorized(const char *authorized_submit_users, const char *login, bool is_root);

/* submit_trusted - root, or a user in trusted_users ("root, $mail_owner" by default). */
bool submit_trusted(const char *trusted_users, const char *login, bool is_root);

/* submit_sender_allowed - the envelope sender requested with -f (or MAIL FROM in -bs) for
 * login: the default (NULL), the null sender (""), the login itself, or login@myorigin (the
 * domain compared without case) always; any other only when trusted. */
bool submit_sender_allowed(const char *requested, const char *login, const char *myorigin,
                           bool trusted);
