/* SPDX-License-Identifier: MIT */
/*
 * submit_policy - the rules for local submission (see submit_policy.h), in one place for
 * sendmail and the relay's pickup, as Postfix's authorized_submit_users and the trusted users
 * of Sendmail: an untrusted user may not send mail in another user's name.
 */
#include "submit_policy.h"

#include <string.h>
#include <strings.h>

#include "parse.h"

bool submit_user_listed(const char *list, const char *login)
{
        const char *state = list ? list : "", *item;
        size_t len, n = strlen(login);

        while ((item = list_next(&state, &len)))
                if (len == n && memcmp(item, login, n) == 0)
                        return true;
        return false;
}

bool submit_authorized(const char *authorized_submit_users, const char *login, bool is_root)
{
        const char *state = authorized_submit_users ? authorized_submit_users : "";
        size_t len;

        if (is_root || !list_next(&state, &len))
                return true;
        return submit_user_listed(authorized_submit_users, login);
}

bool submit_trusted(const char *trusted_users, const char *login, bool is_root)
{
        return is_root || submit_user_listed(trusted_users, login);
}

bool submit_sender_allowed(const char *requested, const char *login, const char *myorigin,
                           bool trusted)
{
        size_t n = strlen(login);

        if (!requested || !*requested || trusted)
                return true;
        if (strcmp(requested, login) == 0)
                return true;
        return strncmp(requested, login, n) == 0 && requested[n] == '@' && myorigin && *myorigin &&
               strcasecmp(requested + n + 1, myorigin) == 0;
}
