/* SPDX-License-Identifier: MIT */
/*
 * checks_smtp - the relayhost, step by step as the relay meets it: the name resolves, the
 * port accepts a connection (a timeout on it while another SES port of the same host
 * answers is EC2's outbound port 25 throttle, named as such), STARTTLS (or implicit TLS) with
 * the certificate verified against tls_ca_file and the relayhost's name, then AUTH with the
 * secret's credentials and QUIT: no MAIL FROM, no mail. The relay's own SMTP client does the
 * talking (relay/smtp_client.c), so what passes here passes there.
 * SECURITY: the password goes only into the SASL exchange; reasons quote the server's reply.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "address.h"
#include "config.h"
#include "doctor.h"
#include "fileio.h"
#include "probe.h"
#include "secret_mask.h"
#include "smtp_client.h"

#define SES_SUBMISSION_PORT     587
#define SES_SUBMISSION_PORT_ALT 2587

struct relay_target {
        struct relayhost rh;
        enum relay_tls_mode tls;
        const char *ca_file;
        const char *helo;
};

/* skip_relay_checks - the four relayhost checks, skipped with the same reason */
static void skip_relay_checks(struct doctor *d, enum check_id from, const char *reason)
{
        for (int i = from; i <= CHECK_RELAYHOST_AUTH; i++)
                check_set(d, (enum check_id)i, CHECK_SKIP, "%s", reason);
}

static void check_dns(struct doctor *d, const struct relay_target *t)
{
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
        struct addrinfo *list = NULL, *ai;
        char addresses[256] = "";
        size_t len = 0;
        int r;

        if (t->rh.is_ip_literal) {
                check_set(d, CHECK_RELAYHOST_DNS, CHECK_OK, "%s is an IP address (no lookup)",
                          t->rh.host);
                return;
        }
        r = getaddrinfo(t->rh.host, NULL, &hints, &list);
        if (r != 0) {
                check_set(d, CHECK_RELAYHOST_DNS, CHECK_FAIL, "cannot resolve %s: %s", t->rh.host,
                          r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
                check_fix(
                        d, CHECK_RELAYHOST_DNS,
                        "check the name in relayhost (SES: [email-smtp.REGION.amazonaws.com]:587) and the resolver (/etc/resolv.conf; the VPC's DNS resolution)");
                return;
        }
        for (ai = list; ai && len + 2 < sizeof addresses; ai = ai->ai_next) {
                char ip[NI_MAXHOST];

                if (getnameinfo(ai->ai_addr, ai->ai_addrlen, ip, sizeof ip, NULL, 0,
                                NI_NUMERICHOST) != 0 ||
                    strstr(addresses, ip))
                        continue;
                r = snprintf(addresses + len, sizeof addresses - len, "%s%s", len ? ", " : "", ip);
                if (r < 0)
                        break;
                len += (size_t)r;
        }
        if (len >= sizeof addresses)
                addresses[sizeof addresses - 1] = '\0';
        freeaddrinfo(list);
        check_set(d, CHECK_RELAYHOST_DNS, CHECK_OK, "%s resolves to %s", t->rh.host, addresses);
}

static void check_port(struct doctor *d, const struct relay_target *t)
{
        unsigned port = t->rh.port, probe = d->o.probe_port;
        char ip[PROBE_IP_MAX], why[512] = "", probe_why[512] = "";
        int r;

        r = tcp_probe(t->rh.host, port, DOCTOR_CONNECT_MS, ip, sizeof ip, why, sizeof why);
        if (r >= 0) {
                d->relayhost_reachable = true;
                check_set(d, CHECK_RELAYHOST_PORT, CHECK_OK, "%s[%s]:%u accepts connections",
                          t->rh.host, ip, port);
                return;
        }
        if (r == -ECONNREFUSED) {
                check_set(d, CHECK_RELAYHOST_PORT, CHECK_FAIL, "%s: nothing listens there", why);
                check_fix(
                        d, CHECK_RELAYHOST_PORT,
                        "SES accepts STARTTLS on ports 25, 587 and 2587 and TLS on 465 and 2465: relayhost = [%s]:587",
                        t->rh.host);
                return;
        }
        if (r != -ETIMEDOUT) {
                check_set(d, CHECK_RELAYHOST_PORT, CHECK_FAIL, "%s", why);
                check_fix(
                        d, CHECK_RELAYHOST_PORT,
                        "check the route to %s (security group outbound rules, network ACL, NAT gateway or an SES VPC endpoint)",
                        t->rh.host);
                return;
        }
        /* Timed out: is it the port or the host? Try the other submission port. */
        if (!probe)
                probe = port == SES_SUBMISSION_PORT ? SES_SUBMISSION_PORT_ALT : SES_SUBMISSION_PORT;
        if (probe != port && tcp_probe(t->rh.host, probe, DOCTOR_CONNECT_MS, ip, sizeof ip,
                                       probe_why, sizeof probe_why) >= 0) {
                check_set(
                        d, CHECK_RELAYHOST_PORT, CHECK_FAIL,
                        "%s, while port %u of the same host answers: port %u is blocked on the way (EC2 throttles outbound port 25 by default)",
                        why, probe, port);
                check_fix(
                        d, CHECK_RELAYHOST_PORT,
                        "relay through port %u: relayhost = [%s]:%u (or ask AWS to remove the port 25 limit: 'Request to remove email sending limitations')",
                        probe, t->rh.host, probe);
                return;
        }
        check_set(d, CHECK_RELAYHOST_PORT, CHECK_FAIL, "%s (port %u does not answer either)", why,
                  probe);
        check_fix(
                d, CHECK_RELAYHOST_PORT,
                "check the route to %s: security group outbound rules, network ACL, a NAT gateway or an SES VPC endpoint",
                t->rh.host);
}

/* tls_fix - plain words and a fix for a TLS failure text ("TLS: certificate verify failed
 * (certificate has expired)") */
static void tls_fix(struct doctor *d, const struct relay_target *t, const char *text)
{
        if (strstr(text, "expired") || strstr(text, "not yet valid"))
                check_fix(
                        d, CHECK_RELAYHOST_TLS,
                        "the certificate is outside its validity period: check this machine's clock (timedatectl; chrony) and the relayhost");
        else if (strstr(text, "mismatch"))
                check_fix(
                        d, CHECK_RELAYHOST_TLS,
                        "the certificate is not issued for '%s': relayhost must name the server as its certificate does (SES: [email-smtp.REGION.amazonaws.com]:587, not an IP address or an alias)",
                        t->rh.host);
        else if (strstr(text, "issuer") || strstr(text, "self-signed") ||
                 strstr(text, "self signed") || strstr(text, "unable to verify"))
                check_fix(
                        d, CHECK_RELAYHOST_TLS,
                        "the certificate's CA is not in tls_ca_file (%s): point tls_ca_file at a bundle holding it (default: the system bundle from ca-certificates)",
                        t->ca_file);
        else if (strstr(text, "CA file"))
                check_fix(d, CHECK_RELAYHOST_TLS,
                          "tls_ca_file (%s) must name a readable PEM bundle", t->ca_file);
        else if (strstr(text, "STARTTLS not offered"))
                check_fix(
                        d, CHECK_RELAYHOST_TLS,
                        "use relay_tls = starttls on ports 25, 587, 2587 and relay_tls = smtps on 465, 2465");
        else
                check_fix(d, CHECK_RELAYHOST_TLS,
                          "check relay_tls (starttls or smtps) against the relayhost's port");
}

/* tls_words - the verification error in plain words, "" when there is none to add */
static const char *tls_words(const char *text)
{
        if (strstr(text, "expired"))
                return "the relayhost's certificate has expired: ";
        if (strstr(text, "not yet valid"))
                return "the relayhost's certificate is not valid yet: ";
        if (strstr(text, "mismatch"))
                return "the certificate does not name the relayhost: ";
        if (strstr(text, "issuer") || strstr(text, "self-signed") || strstr(text, "self signed") ||
            strstr(text, "unable to verify"))
                return "the certificate is signed by an unknown CA: ";
        return "";
}

static void check_tls(struct doctor *d, const struct relay_target *t, bool *ret_ok)
{
        struct smtp_client_options o = {
                .host = t->rh.host,
                .port = t->rh.port,
                .tls = t->tls,
                .ca_file = t->ca_file,
                .helo = t->helo,
                .connect_timeout_ms = DOCTOR_CONNECT_MS,
                .command_timeout_ms = DOCTOR_COMMAND_MS,
        };
        struct smtp_client_error err = {0};
        struct smtp_client *c = NULL;
        int r;

        *ret_ok = false;
        if (t->tls == RELAY_TLS_NONE) {
                check_set(d, CHECK_RELAYHOST_TLS, CHECK_SKIP,
                          "relay_tls = none: plain SMTP to a loopback relayhost");
                *ret_ok = true;
                return;
        }
        r = smtp_client_connect(&o, &c, &err);
        if (r < 0) {
                check_set(d, CHECK_RELAYHOST_TLS, CHECK_FAIL, "%s%s", tls_words(err.text),
                          err.text);
                tls_fix(d, t, err.text);
                return;
        }
        check_set(d, CHECK_RELAYHOST_TLS, CHECK_OK,
                  "%s with %s; the certificate is valid for %s (CA file %s)",
                  t->tls == RELAY_TLS_SMTPS ? "TLS" : "STARTTLS",
                  smtp_client_tls_version(c) ? smtp_client_tls_version(c) : "?", t->rh.host,
                  t->ca_file);
        (void)smtp_client_quit(c);
        *ret_ok = true;
}

static void check_auth(struct doctor *d, const struct relay_target *t)
{
        const char *region = settings_get(d->s.settings, SETTING_REGION);
        struct smtp_client_options o = {
                .host = t->rh.host,
                .port = t->rh.port,
                .tls = t->tls,
                .ca_file = t->ca_file,
                .helo = t->helo,
                .username = d->secret.smtp.username,
                .password = d->secret.smtp.password,
                .connect_timeout_ms = DOCTOR_CONNECT_MS,
                .command_timeout_ms = DOCTOR_COMMAND_MS,
        };
        struct smtp_client_error err = {0};
        struct smtp_client *c = NULL;
        int r;

        r = smtp_client_connect(&o, &c, &err);
        if (r == -EACCES && err.cls == DELIVERY_AUTHFAIL && err.code / 100 == 4) {
                check_set(d, CHECK_RELAYHOST_AUTH, CHECK_WARN,
                          "the relayhost could not check the credentials now: %s", err.text);
                check_fix(d, CHECK_RELAYHOST_AUTH, "run doctor again in a few minutes");
                return;
        }
        if (r == -EACCES) {
                check_set(d, CHECK_RELAYHOST_AUTH, CHECK_FAIL, "credentials rejected: %s",
                          err.text);
                check_fix(
                        d, CHECK_RELAYHOST_AUTH,
                        "SES SMTP passwords are per region: derive the one for %s from the IAM user's secret access key (mailinit smtp-password --region %s), or store the user's access_key_id/secret_access_key in the secret; the IAM user needs ses:SendRawEmail (role credentials cannot be used)",
                        *region ? region : "the relayhost's region", *region ? region : "REGION");
                return;
        }
        if (r < 0) {
                check_set(d, CHECK_RELAYHOST_AUTH, CHECK_FAIL, "%s", err.text);
                check_fix(d, CHECK_RELAYHOST_AUTH,
                          "see the relayhost-tls check; run doctor again if this was transient");
                return;
        }
        if (!smtp_client_authenticated(c))
                check_set(d, CHECK_RELAYHOST_AUTH, CHECK_WARN,
                          "the relayhost offers no AUTH: the credentials were not checked");
        else
                check_set(d, CHECK_RELAYHOST_AUTH, CHECK_OK,
                          "AUTH accepted for the SMTP credentials of %s (QUIT, no mail sent)",
                          d->creds_from_file ? settings_get(d->s.settings, SETTING_CREDENTIALS_FILE)
                                             : "the secret");
        if (!smtp_client_authenticated(c))
                check_fix(d, CHECK_RELAYHOST_AUTH,
                          "SES always offers AUTH after STARTTLS: check that relayhost names SES");
        (void)smtp_client_quit(c);
}

/* credentials_from_file - the built-in relay's own copy of the credentials (credentials_file,
 * written by firstboot), for the AUTH check when the secret could not be read. true when
 * both keys were there. */
static bool credentials_from_file(struct doctor *d)
{
        const char *path = settings_get(d->s.settings, SETTING_CREDENTIALS_FILE);
        struct config_file *f = NULL;
        struct config_error err;
        char *io;
        const char *user, *pass;
        bool ok = false;

        if (strcmp(settings_get(d->s.settings, SETTING_MODE), "builtin") != 0)
                return false;
        io = path_under_root(d->o.root, path);
        if (!io || config_read_file(io, path, &f, &err) < 0) {
                free(io);
                return false;
        }
        free(io);
        user = config_file_get(f, "smtp_username");
        pass = config_file_get(f, "smtp_password");
        if (user && pass && *user && *pass) {
                d->secret.smtp.username = strdup(user);
                d->secret.smtp.password = strdup(pass);
                if (d->secret.smtp.password)
                        (void)secret_mask_add(d->secret.smtp.password);
                ok = d->secret.smtp.username && d->secret.smtp.password;
        }
        config_file_free(f);
        if (ok) {
                d->have_smtp_creds = true;
                d->creds_from_file = true;
        }
        return ok;
}

void check_relayhost(struct doctor *d)
{
        const struct settings *st = d->s.settings;
        const char *relayhost = settings_get(st, SETTING_RELAYHOST);
        const char *tls = settings_get(st, SETTING_RELAY_TLS);
        struct relay_target t = {
                .tls = RELAY_TLS_STARTTLS,
                .ca_file = settings_get(st, SETTING_TLS_CA_FILE),
                .helo = *settings_get(st, SETTING_MYHOSTNAME) ? settings_get(st, SETTING_MYHOSTNAME)
                                                              : "localhost",
        };
        bool tls_ok;

        if (d->relay_over_api) {
                skip_relay_checks(
                        d, CHECK_RELAYHOST_DNS,
                        "relay_transport = ses-api: mail goes to the SES API over HTTPS, not to an SMTP relayhost");
                return;
        }
        if (relayhost_parse(relayhost, &t.rh) < 0) {
                check_set(d, CHECK_RELAYHOST_DNS, CHECK_FAIL, "relayhost '%s' is not usable%s",
                          relayhost,
                          !*settings_get(st, SETTING_REGION) ? ": the region is unknown" : "");
                check_fix(d, CHECK_RELAYHOST_DNS,
                          "set relayhost = [email-smtp.REGION.amazonaws.com]:587 (or region)");
                skip_relay_checks(d, CHECK_RELAYHOST_PORT, "no usable relayhost");
                return;
        }
        if (strcmp(tls, "smtps") == 0)
                t.tls = RELAY_TLS_SMTPS;
        else if (strcmp(tls, "none") == 0)
                t.tls = RELAY_TLS_NONE;

        check_dns(d, &t);
        if (d->checks[CHECK_RELAYHOST_DNS].result == CHECK_FAIL) {
                skip_relay_checks(d, CHECK_RELAYHOST_PORT, "the relayhost's name does not resolve");
                return;
        }
        check_port(d, &t);
        if (!d->relayhost_reachable) {
                skip_relay_checks(d, CHECK_RELAYHOST_TLS, "the relayhost's port does not answer");
                return;
        }
        check_tls(d, &t, &tls_ok);
        if (!tls_ok) {
                check_set(d, CHECK_RELAYHOST_AUTH, CHECK_SKIP,
                          "credentials are sent only over TLS (see relayhost-tls)");
                return;
        }
        if (!d->have_smtp_creds && !credentials_from_file(d)) {
                check_set(d, CHECK_RELAYHOST_AUTH, CHECK_SKIP,
                          "no SMTP credentials (see secret; credentials_file neither)");
                return;
        }
        check_auth(d, &t);
}
