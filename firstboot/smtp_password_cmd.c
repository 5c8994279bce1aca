/* SPDX-License-Identifier: MIT */
/* smtp_password_cmd - placeholder until the SES SMTP password derivation lands. */
#include <stdio.h>
#include <sysexits.h>

#include "firstboot.h"

int smtp_password_main(int argc, char **argv)
{
        (void)argc;
        (void)argv;
        fprintf(stderr, "mailinit: 'smtp-password' is not available in this version yet.\n");
        return EX_USAGE;
}
