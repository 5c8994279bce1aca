/* SPDX-License-Identifier: MIT */
/*
 * checks_dns - the sender domain's records, as the operator's manual has them set up for an
 * SES domain identity:
 *   SPF    TXT "v=spf1 include:amazonses.com ~all" at the domain, or at the custom MAIL FROM
 *          domain when the identity uses one (there SES also needs
 *          MX feedback-smtp.REGION.amazonses.com);
 *   DKIM   Easy DKIM: three CNAMEs SEL._domainkey.DOMAIN -> SEL.dkim.amazonses.com, checked
 *          for the selectors given with --dkim-selector (the SES console lists them);
 *   DMARC  TXT at _dmarc.DOMAIN, "v=DMARC1;p=quarantine;rua=mailto:admin@DOMAIN" (the manual
 *          adds it by hand: SES does not).
 * The domain is mydomain, else the domain of notify_from.
 * Results: SPF without amazonses.com or missing is a warning (SES's default MAIL FROM,
 * amazonses.com, passes SPF on its own; alignment then comes from DKIM), except at a custom
 * MAIL FROM domain, where SES needs it; two SPF or two DMARC records fail (receivers ignore
 * both); a DKIM CNAME missing or pointing elsewhere fails (SES does not verify the identity);
 * a missing DMARC record is a warning.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dns.h"
#include "doctor.h"
#include "records.h"

#define SES_SPF_DOMAIN  "amazonses.com"
#define SES_SPF_INCLUDE "include:" SES_SPF_DOMAIN

/* sender_domain - mydomain, else the domain of notify_from; NULL when neither has one */
static const char *sender_domain(const struct doctor *d)
{
        const char *mydomain = settings_get(d->s.settings, SETTING_MYDOMAIN);
        const char *from = settings_get(d->s.settings, SETTING_NOTIFY_FROM);
        const char *at = strrchr(from, '@');

        if (*mydomain)
                return mydomain;
        if (at && at[1])
                return at + 1;
        return NULL;
}

static void check_spf(struct doctor *d, const char *domain)
{
        const char *mail_from = d->o.mail_from_domain;
        const char *name = mail_from ? mail_from : domain;
        const char *region = settings_get(d->s.settings, SETTING_REGION);
        struct dns_txt txt = {0};
        const char *spf = NULL;
        char why[DNS_ERROR_MAX] = "";
        size_t n_spf = 0;
        int r;

        r = dns_query_txt(name, &txt, why, sizeof why);
        if (r == -EAGAIN || r == -EIO || r == -EBADMSG || r == -EINVAL || r == -ENOMEM) {
                check_set(d, CHECK_SPF, CHECK_WARN, "cannot check SPF: %s", why);
                check_fix(d, CHECK_SPF,
                          "check the resolver (/etc/resolv.conf) and run doctor again");
                return;
        }
        for (size_t i = 0; i < txt.n; i++)
                if (spf_is_record(txt.records[i])) {
                        spf = spf ? spf : txt.records[i];
                        n_spf++;
                }
        if (n_spf > 1) {
                check_set(d, CHECK_SPF, CHECK_FAIL,
                          "%s has %zu SPF records: receivers treat that as an error (RFC 7208 4.5)",
                          name, n_spf);
                check_fix(d, CHECK_SPF, "merge them into one: %s TXT \"v=spf1 %s ~all\"", name,
                          SES_SPF_INCLUDE);
        } else if (n_spf == 0) {
                check_set(
                        d, CHECK_SPF, mail_from ? CHECK_FAIL : CHECK_WARN,
                        "%s has no SPF record%s%s", name,
                        r == -ENOENT ? " (the name does not exist)" : "",
                        mail_from
                                ? ": SES's custom MAIL FROM domain needs one"
                                : "; SES's own MAIL FROM domain passes SPF, alignment rests on DKIM");
                check_fix(d, CHECK_SPF, "add %s TXT \"v=spf1 %s ~all\"%s%s%s", name,
                          SES_SPF_INCLUDE, mail_from ? " and MX 10 feedback-smtp." : "",
                          mail_from ? (*region ? region : "REGION") : "",
                          mail_from ? ".amazonses.com" : "");
        } else if (!spf_includes(spf, SES_SPF_DOMAIN)) {
                check_set(d, CHECK_SPF, CHECK_WARN, "the SPF record of %s does not include %s: %s",
                          name, SES_SPF_INCLUDE, spf);
                check_fix(d, CHECK_SPF, "add %s to it, before its 'all' term", SES_SPF_INCLUDE);
        } else {
                check_set(d, CHECK_SPF, CHECK_OK, "%s: %s", name, spf);
        }
        dns_txt_done(&txt);

        /* SES's custom MAIL FROM domain also needs its MX (bounces come back through it). */
        if (mail_from && d->checks[CHECK_SPF].result != CHECK_FAIL) {
                char mx[512];

                r = dns_query_mx(mail_from, mx, sizeof mx, why, sizeof why);
                if (r < 0 || !strstr(mx, ".amazonses.com")) {
                        if (r < 0)
                                check_set(d, CHECK_SPF, CHECK_FAIL,
                                          "custom MAIL FROM domain %s has no MX to SES: %s",
                                          mail_from, why);
                        else
                                check_set(d, CHECK_SPF, CHECK_FAIL,
                                          "custom MAIL FROM domain %s has no MX to SES (MX: %s)",
                                          mail_from, mx);
                        check_fix(d, CHECK_SPF, "add %s MX 10 feedback-smtp.%s.amazonses.com",
                                  mail_from, *region ? region : "REGION");
                }
        }
}

static void check_dmarc(struct doctor *d, const char *domain)
{
        struct dns_txt txt = {0};
        const char *dmarc = NULL;
        char name[DNS_NAME_MAX], why[DNS_ERROR_MAX] = "", policy[32];
        bool has_policy;
        size_t n_dmarc = 0;
        int r;

        (void)snprintf(name, sizeof name, "_dmarc.%s", domain);
        r = dns_query_txt(name, &txt, why, sizeof why);
        if (r < 0 && r != -ENOENT) {
                check_set(d, CHECK_DMARC, CHECK_WARN, "cannot check DMARC: %s", why);
                check_fix(d, CHECK_DMARC,
                          "check the resolver (/etc/resolv.conf) and run doctor again");
                return;
        }
        for (size_t i = 0; i < txt.n; i++)
                if (dmarc_is_record(txt.records[i])) {
                        dmarc = dmarc ? dmarc : txt.records[i];
                        n_dmarc++;
                }
        has_policy = dmarc && dmarc_policy(dmarc, policy, sizeof policy) >= 0;
        if (n_dmarc > 1) {
                check_set(d, CHECK_DMARC, CHECK_FAIL,
                          "%s has %zu DMARC records: receivers ignore them all (RFC 7489 6.6.3)",
                          name, n_dmarc);
                check_fix(d, CHECK_DMARC,
                          "keep one: %s TXT \"v=DMARC1;p=quarantine;rua=mailto:postmaster@%s\"",
                          name, domain);
        } else if (n_dmarc == 0) {
                check_set(d, CHECK_DMARC, CHECK_WARN, "%s has no DMARC record", name);
                check_fix(
                        d, CHECK_DMARC,
                        "add %s TXT \"v=DMARC1;p=quarantine;rua=mailto:postmaster@%s\" (SES does not add it; large mailbox providers expect one)",
                        name, domain);
        } else if (!has_policy) {
                check_set(d, CHECK_DMARC, CHECK_WARN,
                          "the DMARC record of %s has no policy (p=): %s", domain, dmarc);
                check_fix(d, CHECK_DMARC, "add p=none, p=quarantine or p=reject to it");
        } else {
                check_set(d, CHECK_DMARC, CHECK_OK, "%s: %s%s", name, dmarc,
                          strcasecmp(policy, "none") == 0
                                  ? " (p=none: reports only, nothing is quarantined)"
                                  : "");
        }
        dns_txt_done(&txt);
}

static void check_dkim(struct doctor *d, const char *domain)
{
        size_t n = d->o.n_dkim_selectors;
        char good[DOCTOR_REASON_MAX] = "";
        size_t n_good = 0;

        if (n == 0) {
                check_set(
                        d, CHECK_DKIM, CHECK_SKIP,
                        "no DKIM selector given (--dkim-selector SEL, three times: the SES console lists the identity's Easy DKIM records)");
                return;
        }
        for (size_t i = 0; i < n; i++) {
                const char *sel = d->o.dkim_selectors[i];
                char name[DNS_NAME_MAX], want[DNS_NAME_MAX], target[DNS_NAME_MAX],
                        why[DNS_ERROR_MAX] = "";
                int r;

                (void)snprintf(name, sizeof name, "%s._domainkey.%s", sel, domain);
                (void)snprintf(want, sizeof want, "%s.dkim.amazonses.com", sel);
                r = dns_query_cname(name, target, sizeof target, why, sizeof why);
                if (r >= 0)
                        target[strcspn(target, " ")] = '\0'; /* the first of a chain */
                if (r == -EAGAIN || r == -EIO || r == -EBADMSG || r == -EINVAL || r == -ENOMEM) {
                        check_set(d, CHECK_DKIM, CHECK_WARN, "cannot check DKIM: %s", why);
                        check_fix(d, CHECK_DKIM,
                                  "check the resolver (/etc/resolv.conf) and run doctor again");
                        return;
                }
                if (r < 0) {
                        check_set(d, CHECK_DKIM, CHECK_FAIL, "%s has no CNAME%s", name,
                                  r == -ENOENT ? " (the name does not exist)" : "");
                        check_fix(d, CHECK_DKIM,
                                  "add %s CNAME %s (the SES identity's DKIM records)", name, want);
                        return;
                }
                if (strcasecmp(target, want) != 0) {
                        check_set(d, CHECK_DKIM, CHECK_FAIL, "%s points to %s, not to %s", name,
                                  target, want);
                        check_fix(d, CHECK_DKIM,
                                  "make %s a CNAME of %s (the SES identity's DKIM records)", name,
                                  want);
                        return;
                }
                if (strlen(good) + strlen(sel) + 3 < sizeof good)
                        (void)snprintf(good + strlen(good), sizeof good - strlen(good), "%s%s",
                                       n_good ? ", " : "", sel);
                n_good++;
        }
        check_set(d, CHECK_DKIM, CHECK_OK,
                  "%zu selector%s of %s point%s to SES (SEL.dkim.amazonses.com): %s", n_good,
                  n_good == 1 ? "" : "s", domain, n_good == 1 ? "s" : "", good);
}

void check_dns_records(struct doctor *d)
{
        const char *domain = sender_domain(d);

        if (!domain) {
                static const char reason[] =
                        "no sender domain: mydomain is not set and notify_from has no domain";

                check_set(d, CHECK_SPF, CHECK_SKIP, "%s", reason);
                check_set(d, CHECK_DMARC, CHECK_SKIP, "%s", reason);
                check_set(d, CHECK_DKIM, CHECK_SKIP, "%s", reason);
                return;
        }
        check_spf(d, domain);
        check_dmarc(d, domain);
        check_dkim(d, domain);
}
