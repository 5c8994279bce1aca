/* SPDX-License-Identifier: MIT */
/*
 * pending - commands whose issues have not landed yet. Each says so in one line and exits
 * with EX_USAGE, as the foundation issue asks, so scripts can tell "not yet" from success.
 */
#include <stdio.h>
#include <sysexits.h>

#include "relay_commands.h"

static int not_yet(const char *command, const char *what)
{
        fprintf(stderr, "mailinit: '%s' is not available in this version yet (%s).\n", command,
                what);
        return EX_USAGE;
}

int sendmail_main(int argc, char **argv)
{
        (void)argc;
        (void)argv;
        return not_yet("sendmail", "local submission to the built-in relay");
}

int newaliases_main(int argc, char **argv)
{
        (void)argc;
        (void)argv;
        fprintf(stderr, "mailinit: aliases are not used: mail is relayed to the relayhost.\n");
        return 0;
}
