/* SPDX-License-Identifier: MIT */
/*
 * main - the multi-call entry point. "mailinit COMMAND ..." dispatches on COMMAND; the same
 * binary installed as "sendmail" or "mailq" (symlinks, alternatives) dispatches on the name
 * it was invoked as, as Postfix's and OpenSMTPD's compatibility commands do.
 */
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sysexits.h>

#include "firstboot.h"
#include "log.h"
#include "relay_commands.h"
#include "sendmail.h"

struct command {
        const char *name;
        int (*main)(int argc, char **argv);
        const char *usage;
};

static const struct command commands[] = {
        {"firstboot", firstboot_main,
         "firstboot [--root DIR] [--config FILE] [--force] [--dry-run] [--no-restart] [--no-mail]"},
        {"relay", relay_main, "relay [--root DIR] [--config FILE]"},
        {"sendmail", sendmail_main, "sendmail [sendmail options] [recipient...]"},
        {"queue", queue_main, "queue [--root DIR] [--json] [list|flush|show ID|delete ID]"},
        {"status", status_main, "status [--root DIR] [--json]"},
        {"clean", clean_main, "clean [--root DIR]"},
        {"smtp-password", smtp_password_main, "smtp-password --region REGION"},
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void print_help(FILE *out)
{
        fprintf(out,
                "Usage: mailinit COMMAND [OPTIONS]\n"
                "Turn an EC2 instance into a mail relay through Amazon SES on its first boot.\n\n"
                "Commands:\n");
        for (size_t i = 0; i < N_COMMANDS; i++)
                fprintf(out, "  mailinit %s\n", commands[i].usage);
        fprintf(out,
                "  mailinit --version | --help | COMMAND --help\n\n"
                "Invoked as 'sendmail', 'mailq' or 'newaliases', it behaves as those commands;\n"
                "run set-group-id, it is the postdrop helper and nothing else.\n"
                "Environment: MAILINIT_ROOT (as --root), AWS_EC2_METADATA_SERVICE_ENDPOINT,\n"
                "AWS_EC2_METADATA_DISABLED, AWS_REGION, AWS_DEFAULT_REGION, AWS_CA_BUNDLE,\n"
                "AWS_ENDPOINT_URL_SECRETS_MANAGER, AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID,\n"
                "AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, DBUS_SYSTEM_BUS_ADDRESS.\n"
                "Exit status: sysexits(3): 0 done, 64 usage, 65 bad data, 69 unavailable,\n"
                "75 temporary failure, 77 permission denied, 78 configuration error.\n"
                "Documentation: README.md and docs/SPEC.md of the source.\n");
}

#if defined(__has_feature)
#        if __has_feature(address_sanitizer) /* clang */
#                define MAILINIT_ASAN 1
#        endif
#endif
#if defined(__SANITIZE_ADDRESS__) /* gcc */
#        define MAILINIT_ASAN 1
#endif

#if defined(MAILINIT_ASAN)
const char *__asan_default_options(void);

/* __asan_default_options - AddressSanitizer builds: LeakSanitizer stops the world with ptrace,
 * which the kernel refuses to a set-group-id process (the postdrop helper), so it would fail
 * every run of the helper; leaks are checked in the other runs of the same code. */
const char *__asan_default_options(void)
{
        return getauxval(AT_SECURE) != 0 ? "detect_leaks=0" : "";
}
#endif

static const char *base_name(const char *path)
{
        const char *slash = strrchr(path, '/');

        return slash ? slash + 1 : path;
}

int main(int argc, char **argv)
{
        const char *invoked = argc > 0 ? base_name(argv[0]) : "mailinit";

        /* Set-group-id (the postdrop helper's install) or otherwise privileged by the kernel:
         * the postdrop job and nothing else, whatever the name, before reading anything from
         * the environment. */
        if (getauxval(AT_SECURE) != 0)
                return postdrop_main(argc, argv);
        log_setup("mailinit", LOG_TARGET_AUTO);

        if (strcmp(invoked, "sendmail") == 0)
                return sendmail_main(argc, argv);
        if (strcmp(invoked, "mailq") == 0)
                return queue_main(argc, argv);
        if (strcmp(invoked, "newaliases") == 0)
                return newaliases_main(argc, argv);

        if (argc < 2) {
                print_help(stderr);
                return EX_USAGE;
        }
        if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
            strcmp(argv[1], "help") == 0) {
                print_help(stdout);
                return 0;
        }
        if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
                printf("mailinit %s\n", MAILINIT_VERSION);
                return 0;
        }
        for (size_t i = 0; i < N_COMMANDS; i++)
                if (strcmp(argv[1], commands[i].name) == 0)
                        return commands[i].main(argc - 1, argv + 1);

        fprintf(stderr, "mailinit: unknown command '%s'\n", argv[1]);
        print_help(stderr);
        return EX_USAGE;
}
