/* SPDX-License-Identifier: MIT */
#pragma once

/* Entry points of the relay side: each takes argv with argv[0] = the command name and
 * returns a sysexits(3) code. */
int relay_main(int argc, char **argv);
int sendmail_main(int argc, char **argv);
int queue_main(int argc, char **argv);
int newaliases_main(int argc, char **argv);
