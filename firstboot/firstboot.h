/* SPDX-License-Identifier: MIT */
#pragma once

/* firstboot_main - `mailinit firstboot`; argv[0] is "firstboot". Returns a sysexits code. */
int firstboot_main(int argc, char **argv);

/* smtp_password_main - `mailinit smtp-password --region R`: an IAM secret access key on
 * stdin, the SES SMTP password on stdout. Returns a sysexits code. */
int smtp_password_main(int argc, char **argv);
