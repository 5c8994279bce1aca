/* SPDX-License-Identifier: MIT */
/*
 * sendmail - `mailinit sendmail` and the binary invoked as `sendmail`: the local submission
 * path of cron, mailx, PHP's mail() and scripts. Options as Postfix's sendmail(1)
 * (sendmail_options); the message is read and normalized (sendmail_message); the envelope
 * sender is the user's login (the relay completes it to login@myorigin at pickup), or -f when
 * the submit policy allows it (submit_policy: trusted_users); the full name is -F, else $NAME,
 * else the gecos name, for the From: the relay adds when there is none. The result goes into
 * the maildrop (sendmail_drop), where the relay picks it up as soon as it runs: nothing is
 * lost while the relay is stopped. Exit 0 only once the file is durable.
 * -bp is `mailq`, -q is `mailinit queue flush`, -bi/-I/newaliases answer that aliases are not
 * used, -bs is an SMTP session on stdin/stdout (sendmail_smtp).
 * DIAGNOSTICS: "sendmail: fatal: ..." on stderr; sysexits: 64 usage or no recipient, 65 a
 * message over message_size_limit or unparsable headers, 71 no login name, 69 the relay's
 * helper missing, 75 try later, 77 not allowed (sender, authorized_submit_users), 78 config.
 * SECURITY: never privileged itself (Postfix's rule): the setgid postdrop helper does the
 * one privileged step; what this process decides, the relay checks again.
 */
#include "sendmail.h"

#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "addrlist.h"
#include "config.h"
#include "fileio.h"
#include "maildrop_dir.h"
#include "relay_commands.h"
#include "sendmail_message.h"
#include "sendmail_options.h"
#include "settings.h"
#include "submit_policy.h"

#define MAILINIT_CONF "/etc/mailinit/mailinit.conf"
#define RELAY_CONF    "/etc/mailinit/relay.conf"

static int fatal(int code, const char *format, ...) __attribute__((format(printf, 2, 3)));

static int fatal(int code, const char *format, ...)
{
        va_list ap;

        fputs("sendmail: fatal: ", stderr);
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        fputc('\n', stderr);
        return code;
}

/* apply_conf - one configuration file into s; a missing file is fine */
static int apply_conf(struct settings *s, const char *root, const char *path,
                      struct config_error *err)
{
        struct config_file *f = NULL;
        char *io = path_under_root(root, path);
        int r;

        if (!io)
                return -ENOMEM;
        r = config_read_file(io, path, &f, err);
        free(io);
        if (r == -ENOENT && !f)
                return 0;
        if (r >= 0)
                r = settings_apply_file(s, f, err);
        config_file_free(f);
        return r;
}

/* gecos_name - Postfix's fullname(): the gecos field up to the first comma, '&' replaced by
 * the login with its first letter in upper case (caller frees; NULL when empty) */
static char *gecos_name(const struct passwd *pw)
{
        const char *g = pw->pw_gecos ? pw->pw_gecos : "";
        size_t n = strcspn(g, ",");
        struct buf b;

        if (n == 0)
                return NULL;
        buf_init(&b, MAILDROP_FULLNAME_MAX);
        for (size_t i = 0; i < n; i++) {
                if (g[i] == '&' && pw->pw_name[0]) {
                        char first = pw->pw_name[0];

                        if (first >= 'a' && first <= 'z')
                                first = (char)(first - 'a' + 'A');
                        if (buf_append(&b, &first, 1) < 0 ||
                            buf_append_str(&b, pw->pw_name + 1) < 0)
                                break;
                } else if (buf_append(&b, g + i, 1) < 0) {
                        break;
                }
        }
        return buf_take(&b, NULL);
}

/* clean_fullname - a full name as the maildrop format takes it: control characters become
 * spaces, cut at MAILDROP_FULLNAME_MAX bytes (on a UTF-8 boundary); NULL when empty */
static char *clean_fullname(const char *name)
{
        size_t n;
        char *c;

        if (!name)
                return NULL;
        n = strlen(name);
        if (n > MAILDROP_FULLNAME_MAX) {
                n = MAILDROP_FULLNAME_MAX;
                while (n > 0 && ((unsigned char)name[n] & 0xc0) == 0x80)
                        n--;
        }
        c = strndup(name, n);
        if (!c)
                return NULL;
        for (char *p = c; *p; p++)
                if ((unsigned char)*p < ' ' || *p == 0x7f)
                        *p = ' ';
        if (strspn(c, " ") == strlen(c)) {
                free(c);
                return NULL;
        }
        return c;
}

static void submitter_done(struct submitter *sub)
{
        free(sub->login);
        free(sub->fullname);
        free(sub->myorigin);
        free(sub->myhostname);
        free(sub->maildrop_dir);
        free(sub->spool_dir);
        free(sub->setgid_group);
}

/* submitter_init - who we are and the configuration that matters. A sysexits code on error
 * (printed). */
static int submitter_init(struct submitter *sub, const struct sendmail_options *o)
{
        const char *root = getenv("MAILINIT_ROOT"), *env_name = getenv("NAME");
        struct config_error err = {{0}};
        struct settings *s = settings_new();
        const struct passwd *pw;
        const char *v;
        char *spool = NULL;
        int r;

        if (!s)
                return fatal(EX_OSERR, "out of memory");
        sub->uid = getuid();
        sub->verbose = o->verbose;
        pw = getpwuid(sub->uid);
        if (!pw || !pw->pw_name[0]) {
                settings_free(s);
                return fatal(EX_OSERR, "no login name found for user ID %lu",
                             (unsigned long)sub->uid);
        }
        sub->login = strdup(pw->pw_name);
        sub->fullname = clean_fullname(o->fullname ? o->fullname : env_name);
        if (!sub->fullname && !o->fullname && !env_name) {
                char *g = gecos_name(pw);

                sub->fullname = clean_fullname(g);
                free(g);
        }
        settings_allow_missing_region(s);
        r = apply_conf(s, root, MAILINIT_CONF, &err);
        if (r >= 0)
                r = apply_conf(s, root, RELAY_CONF, &err);
        if (r >= 0)
                r = settings_finalize(s, &err);
        if (r < 0) {
                settings_free(s);
                if (r == -ENOMEM)
                        return fatal(EX_OSERR, "out of memory");
                return fatal(EX_CONFIG, "%s", err.message[0] ? err.message : strerror(-r));
        }
        v = settings_get(s, SETTING_MYORIGIN);
        sub->myorigin = strdup(*v ? v : "localhost");
        v = settings_get(s, SETTING_MYHOSTNAME);
        sub->myhostname = strdup(*v ? v : "localhost");
        sub->size_limit = settings_get_u64(s, SETTING_MESSAGE_SIZE_LIMIT);
        if (sub->size_limit == 0 || sub->size_limit > MAILDROP_MESSAGE_MAX)
                sub->size_limit = MAILDROP_MESSAGE_MAX;
        sub->setgid_group = strdup(settings_get(s, SETTING_SETGID_GROUP));
        sub->trusted =
                submit_trusted(settings_get(s, SETTING_TRUSTED_USERS), sub->login, sub->uid == 0);
        if (!submit_authorized(settings_get(s, SETTING_AUTHORIZED_SUBMIT_USERS), sub->login,
                               sub->uid == 0)) {
                settings_free(s);
                return fatal(EX_NOPERM,
                             "User %s(%lu) is not allowed to submit mail (authorized_submit_users)",
                             sub->login, (unsigned long)sub->uid);
        }
        spool = path_under_root(root, settings_get(s, SETTING_SPOOL_DIR));
        settings_free(s);
        sub->spool_dir = spool;
        if (spool && asprintf(&sub->maildrop_dir, "%s/%s", spool, MAILDROP_DIR_NAME) < 0)
                sub->maildrop_dir = NULL;
        v = getenv("MAILINIT_POSTDROP");
        sub->postdrop = v && *v ? v : MAILDROP_POSTDROP_PATH;
        if (!sub->login || !sub->myorigin || !sub->myhostname || !sub->setgid_group ||
            !sub->maildrop_dir)
                return fatal(EX_OSERR, "out of memory");
        return 0;
}

bool sendmail_sender_check(const struct submitter *sub, const char *sender)
{
        return submit_sender_allowed(sender, sub->login, sub->myorigin, sub->trusted);
}

/* parse_sender - -f's value as Postfix takes it: the first address of it as an address list
 * ("<a@b>", "Name <a@b>", "<>" or "" for the null sender). *ret: copy (caller frees). */
static int parse_sender(const char *given, char **ret)
{
        struct addrlist l = {.max = 8};
        int r = addrlist_parse(given, strlen(given), &l);

        if (r < 0) {
                addrlist_done(&l);
                return r;
        }
        *ret = strdup(l.n > 0 ? l.items[0] : "");
        addrlist_done(&l);
        return *ret ? 0 : -ENOMEM;
}

/* read_message - stdin through the reader (stops at the "." line without -i) */
static int read_message(struct sendmail_reader *rd)
{
        char chunk[65536];

        for (;;) {
                ssize_t n = read(STDIN_FILENO, chunk, sizeof chunk);
                int r;

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        return sendmail_reader_finish(rd);
                r = sendmail_reader_feed(rd, chunk, (size_t)n);
                if (r != 0)
                        return r < 0 ? r : 0;
        }
}

/* deliver - the default mode: one message from stdin into the maildrop */
static int deliver(const struct submitter *sub, const struct sendmail_options *o)
{
        struct maildrop_envelope env = {0};
        struct addrlist rcpts = {.max = MAILDROP_RECIPIENTS_MAX};
        struct sendmail_reader rd;
        struct buf msg;
        char name[MAILDROP_NAME_LEN + 1] = "";
        const char *bad_field = NULL;
        char *sender = NULL;
        int r, code = 0;

        buf_init(&msg, (size_t)sub->size_limit);
        sendmail_reader_init(&rd, o->dot_ends, (size_t)sub->size_limit);
        if (o->sender) {
                r = parse_sender(o->sender, &sender);
                if (r < 0) {
                        code = fatal(EX_USAGE, "-f option specified malformed sender: %s",
                                     o->sender);
                        goto out;
                }
                if (!sendmail_sender_check(sub, sender)) {
                        code = fatal(EX_NOPERM,
                                     "User %s(%lu) may not use the sender address <%s>: only "
                                     "<%s> or <%s@%s> (trusted_users may use any)",
                                     sub->login, (unsigned long)sub->uid, sender, sub->login,
                                     sub->login, sub->myorigin);
                        goto out;
                }
        }
        for (size_t i = 0; i < o->n_recipients; i++) {
                r = addrlist_parse(o->recipients[i], strlen(o->recipients[i]), &rcpts);
                if (r < 0) {
                        code = r == -E2BIG ? fatal(EX_USAGE, "too many recipients (at most %d)",
                                                   MAILDROP_RECIPIENTS_MAX)
                                           : fatal(EX_USAGE, "bad recipient address: %s",
                                                   o->recipients[i]);
                        goto out;
                }
        }
        r = read_message(&rd);
        if (r == -EFBIG) {
                code = fatal(EX_DATAERR,
                             "message file too big: more than message_size_limit (%llu bytes); "
                             "nothing was queued",
                             (unsigned long long)sub->size_limit);
                goto out;
        }
        if (r < 0) {
                code = fatal(r == -ENOMEM ? EX_OSERR : EX_IOERR, "error reading input: %s",
                             strerror(-r));
                goto out;
        }
        r = sendmail_prepare_message(rd.out.data ? rd.out.data : "", rd.out.len, o->extract, &rcpts,
                                     &msg, &bad_field);
        if (r < 0) {
                code = r == -EINVAL
                               ? fatal(EX_DATAERR, "unable to extract recipients: bad %s header",
                                       bad_field ? bad_field : "address")
                       : r == -E2BIG ? fatal(EX_DATAERR, "too many recipients (at most %d)",
                                             MAILDROP_RECIPIENTS_MAX)
                                     : fatal(EX_OSERR, "%s", strerror(-r));
                goto out;
        }
        if (rcpts.n == 0) {
                code = o->extract
                               ? fatal(EX_USAGE,
                                       "%s(%lu): No recipient addresses found in message header",
                                       sub->login, (unsigned long)sub->uid)
                               : fatal(EX_USAGE,
                                       "%s(%lu): Recipient addresses must be specified on the command line or via the -t option",
                                       sub->login, (unsigned long)sub->uid);
                goto out;
        }
        for (size_t i = 0; i < rcpts.n; i++) {
                if (!maildrop_address_ok(rcpts.items[i], strlen(rcpts.items[i]))) {
                        code = fatal(EX_DATAERR, "bad recipient address: %s", rcpts.items[i]);
                        goto out;
                }
        }
        env.fullname = sub->fullname;
        env.sender = sender;
        env.recipients = rcpts.items;
        env.n_recipients = rcpts.n;
        code = sendmail_drop(sub, &env, msg.data ? msg.data : "", msg.len, name, sizeof name);
        if (code == 0 && sub->verbose)
                fprintf(stderr, "sendmail: queued as %s in %s (%zu recipient%s)\n", name,
                        sub->maildrop_dir, rcpts.n, rcpts.n == 1 ? "" : "s");
out:
        free(sender);
        addrlist_done(&rcpts);
        buf_done(&msg);
        sendmail_reader_done(&rd);
        return code;
}

int sendmail_main(int argc, char **argv)
{
        struct sendmail_options o;
        struct submitter sub = {0};
        int code;

        (void)signal(SIGPIPE, SIG_IGN);
        if (argc == 2 && strcmp(argv[1], "--help") == 0) {
                printf("Usage: sendmail [-t] [-i] [-f sender] [-F full-name] [-bm|-bs|-bp|-bi|-q] "
                       "[recipient...]\n"
                       "Queue a message from standard input for the built-in relay (Postfix's "
                       "sendmail(1) options; see README.md, \"sendmail and mailq\").\n");
                return 0;
        }
        if (sendmail_parse_options(argc, argv, &o) < 0)
                return fatal(EX_USAGE, "%s", o.error);
        switch (o.mode) {
        case SENDMAIL_MODE_MAILQ: {
                char name[] = "mailq";
                char *qargv[] = {name, NULL};

                return queue_main(1, qargv);
        }
        case SENDMAIL_MODE_FLUSH: {
                char name[] = "queue", flush[] = "flush";
                char *qargv[] = {name, flush, NULL};

                return queue_main(2, qargv);
        }
        case SENDMAIL_MODE_NEWALIASES:
                return newaliases_main(argc, argv);
        case SENDMAIL_MODE_IGNORE:
                return 0;
        case SENDMAIL_MODE_DELIVER:
        case SENDMAIL_MODE_SMTP:
        case SENDMAIL_MODE_MAX:
                break;
        }
        code = submitter_init(&sub, &o);
        if (code == 0)
                code = o.mode == SENDMAIL_MODE_SMTP ? sendmail_smtp_session(&sub)
                                                    : deliver(&sub, &o);
        submitter_done(&sub);
        return code;
}

int newaliases_main(int argc, char **argv)
{
        (void)argc;
        (void)argv;
        fprintf(stderr, "mailinit: aliases are not used: mail is relayed to the relayhost.\n");
        return 0;
}
