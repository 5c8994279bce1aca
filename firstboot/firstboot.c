/* SPDX-License-Identifier: MIT */
#include <sysexits.h>

#include "firstboot.h"

int firstboot_main(int argc, char **argv)
{
        (void)argc;
        (void)argv;
        return EX_USAGE;
}
