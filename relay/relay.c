/* SPDX-License-Identifier: MIT */
/*
 * relay - `mailinit relay`, the built-in relay daemon, in the foreground.
 *
 * Reads /etc/mailinit/mailinit.conf, then /etc/mailinit/relay.conf (written by firstboot,
 * later wins), then credentials_file; opens the spool; listens on the sockets systemd passes
 * (socket activation) or on `listen`; runs the SMTP server on sd-event and the delivery
 * threads; picks up every queued message at start. Signals: SIGTERM/SIGINT stop accepting,
 * let running commits finish (nothing acknowledged is lost; nothing unacknowledged was
 * promised) and exit 0; SIGHUP re-reads configuration and credentials; SIGUSR1 makes every
 * queued message due now (`mailinit queue flush`). Under systemd: Type=notify, READY=1,
 * STATUS= with the queue size. This file is the one layer of the relay that logs decisions.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "address.h"
#include "config.h"
#include "creds.h"
#include "delivery.h"
#include "fetch_secret.h"
#include "fileio.h"
#include "log.h"
#include "parse.h"
#include "pickup.h"
#include "privilege.h"
#include "relay_commands.h"
#include "secret_mask.h"
#include "settings.h"
#include "smtp_server.h"
#include "smtpd_sasl.h"
#include "smtpd_tls.h"
#include "spool.h"
#include "transport_sesapi.h"

#define MAILINIT_CONF      "/etc/mailinit/mailinit.conf"
#define RELAY_CONF         "/etc/mailinit/relay.conf"
#define PID_FILE_NAME      "relay.pid"
#define STATUS_INTERVAL_US (10ULL * 1000000ULL)
#define STOP_WAIT_US       (30ULL * 1000000ULL)
#define NETWORKS_MAX       64
#define LISTENERS_MAX      16
#define RELAY_FD_RESERVE   64 /* descriptors kept for everything but connections */

struct relay {
        const char *root;
        const char *config_path;
        sd_event *event;
        struct settings *settings;
        struct spool *spool;
        struct smtp_server *server;
        struct delivery *delivery;
        struct transport_sesapi *sesapi; /* relay_transport = ses-api */
        struct pickup *pickup;
        struct network networks[NETWORKS_MAX];
        size_t n_networks;
        char *pid_path;
        int listen_fds[LISTENERS_MAX]; /* bound before the privileges are dropped */
        size_t n_listen_fds;
        bool socket_activated;
        bool have_initial_credentials; /* read as root, before the switch */
        char *initial_user, *initial_pass, *initial_secret_id;
        bool stopping;
        uint64_t stop_deadline;
};

static void usage(FILE *out)
{
        fprintf(out, "Usage: mailinit relay [--root DIR] [--config FILE] [-v]\n"
                     "Run the built-in SMTP relay in the foreground: accept mail from local\n"
                     "programs and relay it to the relayhost (Amazon SES).\n");
}

/* load_settings - mailinit.conf, then relay.conf (later wins); both optional */
static int load_settings(struct relay *rl, struct settings **ret)
{
        const char *const files[] = {rl->config_path ? rl->config_path : MAILINIT_CONF, RELAY_CONF};
        struct settings *s = settings_new();
        struct config_error err = {.message = ""};
        int r = 0;

        if (!s)
                return log_error_errno(-ENOMEM, "Out of memory");
        settings_allow_missing_region(s);
        for (size_t i = 0; i < 2 && r >= 0; i++) {
                struct config_file *f = NULL;
                char *io = i == 0 && rl->config_path ? strdup(rl->config_path)
                                                     : path_under_root(rl->root, files[i]);

                if (!io) {
                        r = -ENOMEM;
                        break;
                }
                r = config_read_file(io, files[i], &f, &err);
                free(io);
                if (r == -ENOENT && !(i == 0 && rl->config_path)) {
                        r = 0;
                        continue;
                }
                if (r >= 0) {
                        /* relay.conf is a later, more specific source than mailinit.conf */
                        for (size_t j = 0; r >= 0 && j < f->n_entries; j++) {
                                char origin[600];

                                (void)snprintf(origin, sizeof origin, "%s:%u", f->label,
                                               f->entries[j].line);
                                r = settings_set(s, f->entries[j].key, f->entries[j].value,
                                                 i == 0 ? SETTING_SOURCE_FILE : SETTING_SOURCE_TAG,
                                                 origin, &err);
                        }
                }
                config_file_free(f);
        }
        if (r >= 0)
                r = settings_finalize(s, &err);
        if (r < 0) {
                settings_free(s);
                if (r == -ENOMEM)
                        return log_error_errno(r, "Out of memory");
                log_error("%s", err.message);
                return -EINVAL;
        }
        *ret = s;
        return 0;
}

/* credentials_error_place - "line N" from a config_parse message "PATH:N: ...", without the
 * rest (which may quote a secret); "cannot be parsed" when there is no line number */
static const char *credentials_error_place(const char *path, const char *message)
{
        static __thread char place[32];
        size_t n = strlen(path), digits;

        if (strncmp(message, path, n) != 0 || message[n] != ':')
                return "cannot be read or parsed";
        digits = strspn(message + n + 1, "0123456789");
        if (digits == 0 || digits > 9 || message[n + 1 + digits] != ':')
                return "cannot be read or parsed";
        (void)snprintf(place, sizeof place, "line %.*s is malformed", (int)digits, message + n + 1);
        return place;
}

/* read_credentials - credentials_file: smtp_username, smtp_password, secret_id. A missing file
 * means no AUTH (a loopback sink); bad content is an error. */
static int read_credentials(struct relay *rl, char **ret_user, char **ret_pass,
                            char **ret_secret_id)
{
        const char *path = settings_get(rl->settings, SETTING_CREDENTIALS_FILE);
        struct config_file *f = NULL;
        struct config_error err;
        char *io = path_under_root(rl->root, path);
        int r;

        *ret_user = *ret_pass = *ret_secret_id = NULL;
        if (!io)
                return -ENOMEM;
        r = config_read_file(io, path, &f, &err);
        free(io);
        if (r == -ENOENT) {
                log_warning("%s does not exist: relaying without SMTP authentication", path);
                return 0;
        }
        if (r < 0 && r != -EINVAL) {
                log_error("%s", err.message); /* cannot read, too large: nothing quoted */
                return r;
        }
        if (r < 0) {
                /* SECURITY: the parser's message quotes the line, which may be the password */
                log_error(
                        "%s: %s (the line is not quoted: it may hold the password); expected smtp_username = NAME, smtp_password = PASSWORD, secret_id = ID",
                        path, credentials_error_place(path, err.message));
                return r;
        }
        for (size_t i = 0; i < f->n_entries; i++) {
                const char *k = f->entries[i].key;

                if (strcmp(k, "smtp_username") != 0 && strcmp(k, "smtp_password") != 0 &&
                    strcmp(k, "secret_id") != 0) {
                        log_error(
                                "%s:%u: unknown parameter (not quoted: it may hold the password); expected smtp_username, smtp_password, secret_id",
                                path, f->entries[i].line);
                        config_file_free(f);
                        return -EINVAL;
                }
        }
        {
                const char *u = config_file_get(f, "smtp_username"),
                           *p = config_file_get(f, "smtp_password");
                const char *sid = config_file_get(f, "secret_id");

                if (!u != !p) {
                        log_error("%s: smtp_username and smtp_password go together", path);
                        config_file_free(f);
                        return -EINVAL;
                }
                *ret_user = u ? strdup(u) : NULL;
                *ret_pass = p ? strdup(p) : NULL;
                *ret_secret_id = sid ? strdup(sid) : NULL;
        }
        config_file_free(f);
        (void)secret_mask_add(*ret_pass);
        return 0;
}

/* reload_credentials - after a 535: the file again, and the secret when secret_id is set
 * (SES credential rotation needs no restart). Called from a delivery thread. */
static int reload_credentials(void *userdata)
{
        struct relay *rl = userdata;
        char *user = NULL, *pass = NULL, *secret_id = NULL;
        int r;

        r = read_credentials(rl, &user, &pass, &secret_id);
        if (r >= 0 && secret_id && *settings_get(rl->settings, SETTING_REGION)) {
                struct creds_provider *p = creds_provider_new(NULL);
                struct fetched_secret fetched = {0};
                char why[FETCH_SECRET_ERROR_MAX];
                struct settings *s = NULL;

                r = load_settings(rl, &s);
                if (r >= 0 && p) {
                        struct config_error err;

                        (void)settings_set(s, "secret_id", secret_id, SETTING_SOURCE_USERDATA,
                                           "credentials file", &err);
                        (void)settings_finalize(s, &err);
                        r = fetch_secret(s, p, &fetched, why, sizeof why);
                        if (r < 0) {
                                log_warning("Cannot fetch the SMTP credentials again: %s", why);
                        } else {
                                log_info("Fetched the SMTP credentials again from secret '%s'",
                                         secret_id);
                                free(user);
                                secret_free(pass);
                                user = strdup(fetched.smtp.username);
                                pass = strdup(fetched.smtp.password);
                        }
                        fetched_secret_done(&fetched);
                }
                settings_free(s);
                creds_provider_free(p);
                r = 0;
        }
        if (r >= 0)
                r = delivery_set_credentials(rl->delivery, user, pass);
        free(user);
        secret_free(pass);
        free(secret_id);
        return r;
}

static int parse_networks(struct relay *rl)
{
        const char *state = settings_get(rl->settings, SETTING_MYNETWORKS), *item;
        size_t len;

        rl->n_networks = 0;
        while ((item = list_next(&state, &len))) {
                if (rl->n_networks >= NETWORKS_MAX)
                        return log_error_errno(-E2BIG, "mynetworks: more than %d networks",
                                               NETWORKS_MAX);
                if (network_parse(item, len, &rl->networks[rl->n_networks]) < 0)
                        return log_error_errno(-EINVAL, "mynetworks: bad network '%.*s'", (int)len,
                                               item);
                rl->n_networks++;
        }
        return 0;
}

/* bind_listeners - systemd's sockets, else every `listen` address that can be bound, into
 * rl->listen_fds (done as root, before the switch: port 25 needs it) */
static int bind_listeners(struct relay *rl)
{
        const char *state = settings_get(rl->settings, SETTING_LISTEN), *item;
        int n = sd_listen_fds(1);
        size_t len;

        if (n > 0) {
                if ((size_t)n > LISTENERS_MAX)
                        return log_error_errno(-E2BIG, "systemd passed %d sockets, at most %d", n,
                                               LISTENERS_MAX);
                for (int fd = SD_LISTEN_FDS_START; fd < SD_LISTEN_FDS_START + n; fd++)
                        rl->listen_fds[rl->n_listen_fds++] = fd;
                rl->socket_activated = true;
                log_info("Listening on %d socket(s) from systemd", n);
                return 0;
        }
        while ((item = list_next(&state, &len))) {
                struct listen_address la;
                int fd, one = 1, r;

                if (listen_address_parse(item, len, &la) < 0)
                        return log_error_errno(-EINVAL, "listen: bad address '%.*s'", (int)len,
                                               item);
                if (rl->n_listen_fds >= LISTENERS_MAX)
                        return log_error_errno(-E2BIG, "listen: more than %d addresses",
                                               LISTENERS_MAX);
                fd = socket(la.sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
                if (fd < 0) {
                        log_warning_errno(errno, "listen %.*s: %m, skipping", (int)len, item);
                        continue;
                }
                (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
                if (la.sa.ss_family == AF_INET6)
                        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
                if (bind(fd, (struct sockaddr *)&la.sa, la.sa_len) < 0 || listen(fd, 512) < 0) {
                        r = -errno;
                        close(fd);
                        if (r == -EADDRNOTAVAIL || r == -EAFNOSUPPORT) {
                                log_warning_errno(r, "listen %.*s: %m, skipping", (int)len, item);
                                continue;
                        }
                        return log_error_errno(r, "Cannot listen on %.*s: %m", (int)len, item);
                }
                rl->listen_fds[rl->n_listen_fds++] = fd;
                log_info("Listening on %.*s", (int)len, item);
        }
        if (rl->n_listen_fds == 0)
                return log_error_errno(-EADDRNOTAVAIL, "No listen address could be bound");
        return 0;
}

/* attach_listeners - hand the bound sockets to the SMTP server (which owns them then) */
static int attach_listeners(struct relay *rl)
{
        while (rl->n_listen_fds > 0) {
                int fd = rl->listen_fds[--rl->n_listen_fds];
                int r = smtp_server_add_listener(rl->server, fd);

                if (r < 0)
                        return log_error_errno(r, "Cannot accept on a listening socket: %m");
        }
        return 0;
}

static void close_listeners(struct relay *rl)
{
        while (rl->n_listen_fds > 0)
                close(rl->listen_fds[--rl->n_listen_fds]);
}

/* smtpd_security - STARTTLS and AUTH for the relay's own clients, when configured (read once:
 * a change needs a restart). *ret_ctx: NULL when STARTTLS is off. Logs and returns -errno. */
static int smtpd_security(struct relay *rl, const char *hostname, SSL_CTX **ret_ctx, bool *ret_sasl)
{
        const char *cert = settings_get(rl->settings, SETTING_SMTPD_TLS_CERT_FILE),
                   *key = settings_get(rl->settings, SETTING_SMTPD_TLS_KEY_FILE);
        char why[512];
        char *cert_io = NULL, *key_io = NULL;
        SSL_CTX *ctx = NULL;
        int r;

        *ret_ctx = NULL;
        *ret_sasl = false;
        if (!*cert)
                return 0; /* settings_finalize() saw to it that key and AUTH are off too */
        cert_io = path_under_root(rl->root, cert);
        key_io = path_under_root(rl->root, key);
        if (!cert_io || !key_io) {
                r = log_error_errno(-ENOMEM, "Out of memory");
                goto out;
        }
        r = smtpd_tls_context_new(cert_io, key_io, &ctx, why, sizeof why);
        if (r < 0) {
                log_error_errno(r, "smtpd_tls_cert_file/smtpd_tls_key_file: %s", why);
                goto out;
        }
        if (settings_get_bool(rl->settings, SETTING_SMTPD_SASL_AUTH_ENABLE)) {
                char *dir_io = path_under_root(
                        rl->root, settings_get(rl->settings, SETTING_SMTPD_SASL_CONFIG_DIR));

                r = dir_io ? smtpd_sasl_init(settings_get(rl->settings, SETTING_SMTPD_SASL_PATH),
                                             dir_io, hostname, why, sizeof why)
                           : -ENOMEM;
                if (r < 0)
                        log_error_errno(r, "smtpd_sasl_auth_enable: %s",
                                        r == -ENOMEM ? "out of memory" : why);
                else
                        log_info("Offering STARTTLS, then AUTH %s (Cyrus SASL, %s/%s.conf)",
                                 smtpd_sasl_mechanisms(), dir_io,
                                 settings_get(rl->settings, SETTING_SMTPD_SASL_PATH));
                free(dir_io);
                if (r < 0) {
                        SSL_CTX_free(ctx);
                        goto out;
                }
                *ret_sasl = true;
        } else {
                log_info("Offering STARTTLS (%s)", cert);
        }
        *ret_ctx = ctx;
        r = 0;
out:
        free(cert_io);
        free(key_io);
        return r;
}

static void on_queued(void *userdata, const char *queue_id)
{
        struct relay *rl = userdata;

        (void)delivery_enqueue(rl->delivery, queue_id, 0);
}

static void notify_status(struct relay *rl)
{
        size_t queued = 0, deferred = 0;

        if (rl->delivery)
                delivery_counts(rl->delivery, &queued, &deferred);
        (void)sd_notifyf(0, "STATUS=%zu message(s) queued, %zu deferred, %zu connection(s)", queued,
                         deferred, rl->server ? smtp_server_connections(rl->server) : 0);
}

static int on_status_timer(sd_event_source *source, uint64_t usec, void *userdata)
{
        struct relay *rl = userdata;

        notify_status(rl);
        if (rl->stopping) {
                if (smtp_server_busy(rl->server) == 0 || usec >= rl->stop_deadline)
                        return sd_event_exit(rl->event, 0);
                return sd_event_source_set_time(source, usec + 100000);
        }
        return sd_event_source_set_time(source, usec + STATUS_INTERVAL_US);
}

static int on_stop(sd_event_source *source, const struct signalfd_siginfo *si, void *userdata)
{
        struct relay *rl = userdata;
        uint64_t now;

        (void)source;
        log_info("Stopping on signal %u: no new connections; commits in progress finish",
                 si->ssi_signo);
        (void)sd_notify(0, "STOPPING=1");
        rl->stopping = true;
        smtp_server_stop_accepting(rl->server);
        if (smtp_server_busy(rl->server) == 0)
                return sd_event_exit(rl->event, 0);
        (void)sd_event_now(rl->event, CLOCK_MONOTONIC, &now);
        rl->stop_deadline = now + STOP_WAIT_US;
        return 0;
}

static int on_flush(sd_event_source *source, const struct signalfd_siginfo *si, void *userdata)
{
        struct relay *rl = userdata;

        (void)source;
        (void)si;
        log_info("Flushing the queue: every message is due now");
        delivery_flush(rl->delivery);
        (void)delivery_scan(rl->delivery);
        return 0;
}

static int start_delivery(struct relay *rl);
static int start_pickup(struct relay *rl);

static int on_reload(sd_event_source *source, const struct signalfd_siginfo *si, void *userdata)
{
        struct relay *rl = userdata;
        struct settings *s = NULL;

        (void)source;
        (void)si;
        (void)sd_notify(0, "RELOADING=1");
        if (load_settings(rl, &s) < 0) {
                log_warning("Keeping the previous configuration");
                (void)sd_notify(0, "READY=1");
                return 0;
        }
        settings_free(rl->settings);
        rl->settings = s;
        /* Delivery takes the new relayhost and credentials; queued mail is scanned again. */
        rl->pickup = pickup_free(rl->pickup);
        rl->delivery = delivery_free(rl->delivery);
        if (start_delivery(rl) < 0)
                return sd_event_exit(rl->event, EX_CONFIG);
        if (start_pickup(rl) < 0)
                return sd_event_exit(rl->event, EX_CANTCREAT);
        log_info("Configuration and credentials read again");
        (void)sd_notify(0, "READY=1");
        return 0;
}

/* on_scan_done - the end of the queue scan (on the scan's thread) */
static void on_scan_done(void *userdata, int result)
{
        struct relay *rl = userdata;

        if (result == -ECANCELED)
                return; /* stopping or reloading: the next delivery scans again */
        if (result < 0)
                log_error_errno(result,
                                "Cannot read the queue in %s: %m; queued mail waits for "
                                "`mailinit queue flush` or a reload",
                                spool_dir(rl->spool));
        else if (result > 0)
                log_info("Picked up %d queued message(s)", result);
}

/* scan_queue - every queued message into the new delivery's schedule, on a thread of the
 * delivery's: the SMTP server greets clients at once, however long the queue (100 000
 * messages took seconds to read, and clients waited for the 220 meanwhile) */
static int scan_queue(struct relay *rl)
{
        int r = delivery_scan_start(rl->delivery, on_scan_done, rl);

        if (r < 0)
                return log_error_errno(r, "Cannot start reading the queue: %m");
        return 0;
}

/* start_delivery_sesapi - relay_transport = ses-api: SendEmail signed with the credential
 * chain's credentials; no credentials file, no relayhost */
static int start_delivery_sesapi(struct relay *rl, struct delivery_config *dc)
{
        const char *region = settings_get(rl->settings, SETTING_REGION);
        char why[512] = "";
        int r;

        if (!*region)
                return log_error_errno(
                        -EINVAL,
                        "relay_transport = ses-api needs region (mailinit firstboot writes it to relay.conf)");
        r = transport_sesapi_new(region, settings_get_bool(rl->settings, SETTING_IMDS_V1_FALLBACK),
                                 &rl->sesapi, why, sizeof why);
        if (r < 0)
                return log_error_errno(r, "Cannot use the SES API: %s",
                                       why[0] ? why : strerror(-r));
        dc->transport = transport_sesapi_ops(rl->sesapi);
        (void)snprintf(dc->relayhost.host, sizeof dc->relayhost.host, "%s",
                       transport_sesapi_host(rl->sesapi));
        dc->relayhost.port = 443;
        r = delivery_new(dc, rl->spool, NULL, rl, &rl->delivery);
        if (r < 0)
                return log_error_errno(r, "Cannot start delivery: %m");
        r = scan_queue(rl);
        if (r < 0)
                return r;
        log_info("Relaying with the SES API at %s (SendEmail, raw content, region %s)",
                 transport_sesapi_endpoint(rl->sesapi), region);
        return 0;
}

static int start_delivery(struct relay *rl)
{
        struct delivery_config dc = {
                .tls = RELAY_TLS_STARTTLS,
                .ca_file = settings_get(rl->settings, SETTING_TLS_CA_FILE),
                .myhostname = settings_get(rl->settings, SETTING_MYHOSTNAME),
                .retry =
                        {
                                .minimal_backoff_sec = settings_get_u64(
                                        rl->settings, SETTING_MINIMAL_BACKOFF_TIME),
                                .maximal_backoff_sec = settings_get_u64(
                                        rl->settings, SETTING_MAXIMAL_BACKOFF_TIME),
                                .maximal_queue_lifetime_sec = settings_get_u64(
                                        rl->settings, SETTING_MAXIMAL_QUEUE_LIFETIME),
                        },
                .max_send_rate = settings_get_rate(rl->settings, SETTING_MAX_SEND_RATE),
        };
        const char *tls = settings_get(rl->settings, SETTING_RELAY_TLS);
        char *user = NULL, *pass = NULL, *secret_id = NULL;
        int r;

        if (!*dc.myhostname)
                dc.myhostname = "localhost";
        rl->sesapi = transport_sesapi_free(rl->sesapi); /* delivery is stopped: unused */
        if (strcmp(settings_get(rl->settings, SETTING_RELAY_TRANSPORT), "ses-api") == 0)
                return start_delivery_sesapi(rl, &dc);
        if (relayhost_parse(settings_get(rl->settings, SETTING_RELAYHOST), &dc.relayhost) < 0)
                return log_error_errno(
                        -EINVAL,
                        "relayhost '%s' is not usable: is region set? (mailinit firstboot writes relay.conf)",
                        settings_get(rl->settings, SETTING_RELAYHOST));
        if (strcmp(tls, "smtps") == 0)
                dc.tls = RELAY_TLS_SMTPS;
        else if (strcmp(tls, "none") == 0)
                dc.tls = RELAY_TLS_NONE;
        if (rl->have_initial_credentials) {
                /* read as root before the switch; later reads are the user's */
                user = rl->initial_user;
                pass = rl->initial_pass;
                secret_id = rl->initial_secret_id;
                rl->initial_user = rl->initial_pass = rl->initial_secret_id = NULL;
                rl->have_initial_credentials = false;
        } else {
                r = read_credentials(rl, &user, &pass, &secret_id);
                if (r < 0)
                        return r;
        }
        r = delivery_new(&dc, rl->spool, reload_credentials, rl, &rl->delivery);
        if (r >= 0)
                r = delivery_set_credentials(rl->delivery, user, pass);
        free(user);
        secret_free(pass);
        free(secret_id);
        if (r < 0)
                return log_error_errno(r, "Cannot start delivery: %m");
        r = scan_queue(rl);
        if (r < 0)
                return r;
        log_info("Relaying to %s (%s)", settings_get(rl->settings, SETTING_RELAYHOST), tls);
        return 0;
}

/* start_pickup - locally submitted mail: the maildrop, picked up on a thread of its own */
static int start_pickup(struct relay *rl)
{
        struct pickup_config pc = {
                .myhostname = *settings_get(rl->settings, SETTING_MYHOSTNAME)
                                      ? settings_get(rl->settings, SETTING_MYHOSTNAME)
                                      : "localhost",
                .myorigin = *settings_get(rl->settings, SETTING_MYORIGIN)
                                    ? settings_get(rl->settings, SETTING_MYORIGIN)
                                    : "localhost",
                .message_size_limit = settings_get_u64(rl->settings, SETTING_MESSAGE_SIZE_LIMIT),
                .trusted_users = settings_get(rl->settings, SETTING_TRUSTED_USERS),
                .authorized_submit_users =
                        settings_get(rl->settings, SETTING_AUTHORIZED_SUBMIT_USERS),
                .setgid_group = settings_get(rl->settings, SETTING_SETGID_GROUP),
        };
        int r = pickup_new(rl->event, rl->spool, &pc, on_queued, rl, &rl->pickup);

        if (r < 0)
                return log_error_errno(r, "Cannot watch the maildrop in %s: %m",
                                       spool_dir(rl->spool));
        return 0;
}

static int write_pid_file(struct relay *rl)
{
        char text[32];

        if (asprintf(&rl->pid_path, "%s/%s", spool_dir(rl->spool), PID_FILE_NAME) < 0) {
                rl->pid_path = NULL;
                return -ENOMEM;
        }
        (void)snprintf(text, sizeof text, "%ld\n", (long)getpid());
        return write_file_atomic(rl->pid_path, text, strlen(text), 0644);
}

/* raise_file_limit - descriptors: the soft limit up to the hard one (systemd leaves the soft
 * limit at 1024 for compatibility with select()); the connection limit is lowered to fit */
static void raise_file_limit(struct smtp_server_config *sc)
{
        struct rlimit rl;
        rlim_t fit;

        if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
                return;
        if (rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
                        (void)getrlimit(RLIMIT_NOFILE, &rl);
        }
        /* each connection holds one descriptor; keep room for the spool, delivery, logging */
        fit = rl.rlim_cur > 2 * RELAY_FD_RESERVE ? rl.rlim_cur - RELAY_FD_RESERVE : rl.rlim_cur / 2;
        if (rl.rlim_cur != RLIM_INFINITY && sc->max_connections > fit) {
                log_warning(
                        "default_process_limit %u does not fit in the descriptor limit %llu: serving at most %llu connections",
                        sc->max_connections, (unsigned long long)rl.rlim_cur,
                        (unsigned long long)fit);
                sc->max_connections = (unsigned)fit;
        }
}

/* check_credentials_owner - warn when the credentials file cannot be read again after the
 * switch (SIGHUP, a 535): firstboot writes it owned by mail_owner */
static void check_credentials_owner(struct relay *rl, const struct relay_identity *id)
{
        const char *path = settings_get(rl->settings, SETTING_CREDENTIALS_FILE);
        char *io = path_under_root(rl->root, path);
        struct stat st;

        if (io && stat(io, &st) == 0 && st.st_uid != id->uid)
                log_warning(
                        "%s is owned by uid %u, not by mail_owner '%s': reading it again on SIGHUP or after a 535 will fail (chown it to %s; mailinit firstboot does)",
                        path, (unsigned)st.st_uid, id->user, id->user);
        free(io);
}

/* become_mail_owner - started as root: prepare the spool, bind, read the credentials, then
 * switch to mail_owner for good. Logs; returns a sysexits code or 0. */
static int become_mail_owner(struct relay *rl, const char *spool_io)
{
        struct relay_identity id;
        char why[PRIVILEGE_WHY_MAX];
        int r;

        r = privilege_lookup(settings_get(rl->settings, SETTING_MAIL_OWNER),
                             settings_get(rl->settings, SETTING_SETGID_GROUP), &id, why,
                             sizeof why);
        if (r < 0) {
                log_error("Refusing to run as root: %s", why);
                return EX_CONFIG;
        }
        r = privilege_prepare_spool(spool_io, &id, why, sizeof why);
        if (r < 0) {
                log_error("Cannot prepare the spool for user %s: %s", id.user, why);
                return EX_CANTCREAT;
        }
        if (bind_listeners(rl) < 0)
                return EX_UNAVAILABLE;
        /* the SES API transport signs with the role's credentials: no credentials file */
        if (strcmp(settings_get(rl->settings, SETTING_RELAY_TRANSPORT), "ses-api") != 0) {
                r = read_credentials(rl, &rl->initial_user, &rl->initial_pass,
                                     &rl->initial_secret_id);
                if (r < 0)
                        return EX_CONFIG;
                rl->have_initial_credentials = true;
                check_credentials_owner(rl, &id);
        }
        r = privilege_drop(&id, why, sizeof why);
        if (r < 0) {
                log_error("Cannot switch to user %s: %s", id.user, why);
                return EX_OSERR;
        }
        log_info("Running as user %s (uid %u, gid %u%s%s), without capabilities", id.user,
                 (unsigned)id.uid, (unsigned)id.gid, id.have_drop_group ? ", group " : "",
                 id.have_drop_group ? id.group : "");
        return 0;
}

static int parse_options(int argc, char **argv, struct relay *rl)
{
        static const struct option long_options[] = {
                {"root", required_argument, NULL, 'r'},
                {"config", required_argument, NULL, 'c'},
                {"verbose", no_argument, NULL, 'v'},
                {"help", no_argument, NULL, 'h'},
                {NULL, 0, NULL, 0},
        };
        int c;

        rl->root = getenv("MAILINIT_ROOT");
        optind = 1;
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":hv", long_options, NULL)) != -1) {
                switch (c) {
                case 'r':
                        rl->root = optarg;
                        break;
                case 'c':
                        rl->config_path = optarg;
                        break;
                case 'v':
                        log_set_max_level(LOG_DEBUG);
                        break;
                case 'h':
                        usage(stdout);
                        return 256 + EX_OK;
                default:
                        log_error("relay: unknown option or missing value '%s'", argv[optind - 1]);
                        fprintf(stderr, "Try 'mailinit relay --help'.\n");
                        return 256 + EX_USAGE;
                }
        }
        if (optind < argc) {
                log_error("relay: unexpected argument '%s'", argv[optind]);
                return 256 + EX_USAGE;
        }
        return 0;
}

int relay_main(int argc, char **argv)
{
        struct relay rl = {0};
        sd_event_source *status_timer = NULL;
        sigset_t mask;
        struct smtp_server_config sc = {0};
        uint64_t now;
        char *spool_io = NULL;
        int r, code = EX_OK;

        r = parse_options(argc, argv, &rl);
        if (r > 0)
                return r - 256;
        r = secret_hygiene_enable();
        if (r < 0)
                log_warning_errno(r, "Cannot make the process non-dumpable: %m, ignoring");

        /* Signals are handled by sd-event: block them before any thread exists. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGUSR1);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        (void)signal(SIGPIPE, SIG_IGN);

        if (load_settings(&rl, &rl.settings) < 0)
                return EX_CONFIG;
        if (parse_networks(&rl) < 0) {
                code = EX_CONFIG;
                goto out;
        }
        sc = (struct smtp_server_config){
                .hostname = *settings_get(rl.settings, SETTING_MYHOSTNAME)
                                    ? settings_get(rl.settings, SETTING_MYHOSTNAME)
                                    : "localhost",
                .myorigin = *settings_get(rl.settings, SETTING_MYORIGIN)
                                    ? settings_get(rl.settings, SETTING_MYORIGIN)
                                    : "localhost",
                .message_size_limit = settings_get_u64(rl.settings, SETTING_MESSAGE_SIZE_LIMIT),
                .mynetworks = rl.networks,
                .n_mynetworks = rl.n_networks,
                .max_recipients =
                        (unsigned)settings_get_u64(rl.settings, SETTING_SMTPD_RECIPIENT_LIMIT),
                .max_errors =
                        (unsigned)settings_get_u64(rl.settings, SETTING_SMTPD_HARD_ERROR_LIMIT),
                .idle_timeout_usec =
                        settings_get_u64(rl.settings, SETTING_SMTPD_TIMEOUT) * 1000000ULL,
                .max_connections =
                        (unsigned)settings_get_u64(rl.settings, SETTING_DEFAULT_PROCESS_LIMIT),
                .max_connections_per_client = (unsigned)settings_get_u64(
                        rl.settings, SETTING_SMTPD_CLIENT_CONNECTION_COUNT_LIMIT),
        };
        raise_file_limit(&sc);
        /* Cyrus starts here, before any thread; the TLS key is read while still root */
        if (smtpd_security(&rl, sc.hostname, &sc.tls_ctx, &sc.sasl_enable) < 0) {
                code = EX_CONFIG;
                goto out;
        }
        spool_io = path_under_root(rl.root, settings_get(rl.settings, SETTING_SPOOL_DIR));
        if (!spool_io) {
                code = EX_OSERR;
                goto out;
        }
        if (geteuid() == 0) {
                /* before any thread: the switch applies to this thread and those it starts */
                code = become_mail_owner(&rl, spool_io);
                if (code != 0)
                        goto out;
        } else if (bind_listeners(&rl) < 0) {
                code = EX_UNAVAILABLE;
                goto out;
        }
        r = spool_open(spool_io, &rl.spool);
        if (r < 0) {
                log_error_errno(r, "Cannot open the spool %s: %m", spool_io);
                code = EX_CANTCREAT;
                goto out;
        }
        r = sd_event_default(&rl.event);
        if (r < 0) {
                code = EX_OSERR;
                goto out;
        }
        r = smtp_server_new(rl.event, &sc, rl.spool, on_queued, &rl, &rl.server);
        if (r < 0) {
                log_error_errno(r, "Cannot start the SMTP server: %m");
                code = EX_OSERR;
                goto out;
        }
        if (start_delivery(&rl) < 0) {
                code = EX_CONFIG;
                goto out;
        }
        if (start_pickup(&rl) < 0) {
                code = EX_CANTCREAT;
                goto out;
        }
        if (attach_listeners(&rl) < 0) {
                code = EX_UNAVAILABLE;
                goto out;
        }
        (void)sd_event_add_signal(rl.event, NULL, SIGTERM, on_stop, &rl);
        (void)sd_event_add_signal(rl.event, NULL, SIGINT, on_stop, &rl);
        (void)sd_event_add_signal(rl.event, NULL, SIGHUP, on_reload, &rl);
        (void)sd_event_add_signal(rl.event, NULL, SIGUSR1, on_flush, &rl);
        (void)sd_event_now(rl.event, CLOCK_MONOTONIC, &now);
        (void)sd_event_add_time(rl.event, &status_timer, CLOCK_MONOTONIC, now + STATUS_INTERVAL_US,
                                100000, on_status_timer, &rl);
        r = write_pid_file(&rl);
        if (r < 0)
                log_warning_errno(r, "Cannot write the pid file: %m");
        (void)sd_notify(0, "READY=1");
        notify_status(&rl);
        log_info("mailinit relay %s started", MAILINIT_VERSION);
        r = sd_event_loop(rl.event);
        if (r < 0) {
                log_error_errno(r, "Event loop failed: %m");
                code = EX_SOFTWARE;
        } else {
                code = r;
        }
out:
        sd_event_source_disable_unref(status_timer);
        rl.pickup = pickup_free(rl.pickup);
        SSL_CTX_free(sc.tls_ctx); /* the server holds its own reference */
        close_listeners(&rl);
        free(rl.initial_user);
        secret_free(rl.initial_pass);
        free(rl.initial_secret_id);
        rl.server = smtp_server_free(rl.server);
        rl.delivery = delivery_free(rl.delivery);
        rl.sesapi = transport_sesapi_free(rl.sesapi);
        if (rl.pid_path) {
                (void)unlink(rl.pid_path);
                free(rl.pid_path);
        }
        spool_close(rl.spool);
        sd_event_unref(rl.event);
        settings_free(rl.settings);
        free(spool_io);
        log_info("mailinit relay stopped");
        return code;
}
