/* SPDX-License-Identifier: MIT */
/*
 * test_records - doctor/records.c on SPF and DMARC records as operators write them: the
 * manual's own ("v=spf1 include:amazonses.com ~all", "v=DMARC1;p=quarantine;rua=..."),
 * qualifiers, case, spaces, trailing dots, look-alikes that must not count
 * (include:amazonses.com.evil.example, sp= without p=, v=spf10).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "records.h"

struct spf_case {
        const char *txt;
        bool is_spf;
        bool includes_ses;
};

static void test_spf(void **state)
{
        static const struct spf_case cases[] = {
                {"v=spf1 include:amazonses.com ~all", true, true},
                {"V=SPF1 INCLUDE:AMAZONSES.COM -all", true, true},
                {"v=spf1 +include:amazonses.com ~all", true, true},
                {"v=spf1 include:amazonses.com. ~all", true, true},
                {"  v=spf1   mx  include:_spf.google.com include:amazonses.com  ~all", true, true},
                {"v=spf1\tinclude:amazonses.com", true, true},
                {"v=spf1 -include:amazonses.com ~all", true, false},
                {"v=spf1 ~include:amazonses.com ~all", true, false},
                {"v=spf1 include:amazonses.com.evil.example ~all", true, false},
                {"v=spf1 include:mail.amazonses.com ~all", true, false},
                {"v=spf1 redirect=amazonses.com", true, false},
                {"v=spf1 mx -all", true, false},
                {"v=spf1", true, false},
                {"v=spf10 include:amazonses.com", false, true},
                {"google-site-verification=abc", false, false},
                {"", false, false},
        };

        (void)state;
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                bool is = spf_is_record(cases[i].txt);
                bool inc = spf_includes(cases[i].txt, "amazonses.com");

                if (is != cases[i].is_spf || inc != cases[i].includes_ses)
                        fail_msg("'%s': got is_spf=%d includes=%d, want %d %d", cases[i].txt, is,
                                 inc, cases[i].is_spf, cases[i].includes_ses);
        }
}

struct dmarc_case {
        const char *txt;
        bool is_dmarc;
        const char *policy; /* NULL: no p= tag */
};

static void test_dmarc(void **state)
{
        static const struct dmarc_case cases[] = {
                {"v=DMARC1;p=quarantine;rua=mailto:admin@aws-master.net", true, "quarantine"},
                {"v=DMARC1; p=none; rua=mailto:d@example.com", true, "none"},
                {" v = DMARC1 ; p = reject ", true, "reject"},
                {"v=dmarc1;P=Reject", true, "Reject"},
                {"v=DMARC1; sp=reject; rua=mailto:x@example.com", true, NULL},
                {"v=DMARC1; rua=mailto:p=x@example.com", true, NULL},
                {"v=DMARC1", true, NULL},
                {"v=DMARC1; p=", true, NULL},
                {"p=reject; v=DMARC1", false, "reject"},
                {"v=DMARC10; p=reject", false, "reject"},
                {"v=spf1 include:amazonses.com ~all", false, NULL},
                {"", false, NULL},
        };

        (void)state;
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                char policy[32] = "";
                bool is = dmarc_is_record(cases[i].txt);
                int r = dmarc_policy(cases[i].txt, policy, sizeof policy);

                if (is != cases[i].is_dmarc)
                        fail_msg("'%s': got is_dmarc=%d, want %d", cases[i].txt, is,
                                 cases[i].is_dmarc);
                if (!cases[i].policy && r != -ENOENT)
                        fail_msg("'%s': got policy '%s' (%d), want none", cases[i].txt, policy, r);
                if (cases[i].policy && (r != 0 || strcmp(policy, cases[i].policy) != 0))
                        fail_msg("'%s': got policy '%s' (%d), want '%s'", cases[i].txt, policy, r,
                                 cases[i].policy);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_spf),
                cmocka_unit_test(test_dmarc),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
