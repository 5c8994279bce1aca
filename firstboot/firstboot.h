/* SPDX-License-Identifier: MIT */
#pragma once

/* firstboot_main - `mailinit firstboot`; argv[0] is "firstboot". Returns a sysexits code. */
int firstboot_main(int argc, char **argv);

/* status_main - `mailinit status [--root DIR] [--json]`: the last first boot's record.
 * Exit 0 when it succeeded, 1 when it failed, 3 when no first boot was recorded. */
int status_main(int argc, char **argv);

/* clean_main - `mailinit clean [--root DIR]`: forget the per-instance state before an image
 * is baked, so every instance started from it configures itself. */
int clean_main(int argc, char **argv);

/* smtp_password_main - `mailinit smtp-password --region R`: an IAM secret access key on
 * stdin, the SES SMTP password on stdout. Returns a sysexits code. */
int smtp_password_main(int argc, char **argv);

/* Journal MESSAGE_IDs of a first boot (journalctl MESSAGE_ID=...). */
#define MAILINIT_MESSAGE_ID_STARTED "2fa5d0e9f2ca4352a423df8c88656c0e"
#define MAILINIT_MESSAGE_ID_DONE    "d5aecbc46e5b4a52a98c427a802ee218"
#define MAILINIT_MESSAGE_ID_FAILED  "3776399ac4f042edb42393400a013d71"
