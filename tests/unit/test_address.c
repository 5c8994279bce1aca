/* SPDX-License-Identifier: MIT */
/*
 * test_address - syntax checks of common/address.c: relayhost (the SPEC and Postfix forms),
 * loopback detection, domain names (RFC 1035 lengths), mail addresses (RFC 5321 local
 * parts), mynetworks entries, listen addresses and systemd unit names. The addresses in the
 * wanted results are spelled as bytes, not produced by inet_pton.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "address.h"

/* repeat - n copies of c (n < size) */
static char *repeat(char *buf, size_t size, char c, size_t n)
{
        assert_true(n < size);
        memset(buf, c, n);
        buf[n] = '\0';
        return buf;
}

struct relayhost_case {
        const char *text;
        const char *host;
        unsigned port;
        bool mx_lookup;
        bool is_ip_literal;
};

static void test_relayhost_valid(void **state)
{
        static const struct relayhost_case cases[] = {
                {"[email-smtp.eu-west-1.amazonaws.com]:587", "email-smtp.eu-west-1.amazonaws.com",
                 587, false, false},
                {"[email-smtp.us-east-1.amazonaws.com]:2587", "email-smtp.us-east-1.amazonaws.com",
                 2587, false, false},
                {"host:25", "host", 25, true, false},
                {"host", "host", 25, true, false},
                {"smtp.example.com:465", "smtp.example.com", 465, true, false},
                {"[smtp.example.com]", "smtp.example.com", 25, false, false},
                {"host:65535", "host", 65535, true, false},
                {"host:1", "host", 1, true, false},
                {"[ipv6:::1]:25", "::1", 25, false, true},
                {"[IPv6:2001:db8::1]:587", "2001:db8::1", 587, false, true},
                {"[ipv6:::1]", "::1", 25, false, true},
                {"[127.0.0.1]:2525", "127.0.0.1", 2525, false, true},
                {"10.0.0.5:25", "10.0.0.5", 25, true, true},
                {"localhost:2525", "localhost", 2525, true, false},
                {"mail_relay.example.com", "mail_relay.example.com", 25, true, false},
        };
        (void)state;

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                const struct relayhost_case *c = &cases[i];
                struct relayhost rh;
                int r;

                memset(&rh, 0xaa, sizeof rh);
                r = relayhost_parse(c->text, &rh);
                if (r != 0)
                        fail_msg("relayhost_parse(\"%s\"): got r=%d, want 0", c->text, r);
                if (strcmp(rh.host, c->host) != 0 || rh.port != c->port ||
                    rh.mx_lookup != c->mx_lookup || rh.is_ip_literal != c->is_ip_literal)
                        fail_msg("relayhost_parse(\"%s\"): got host \"%s\" port %u mx %d ip %d, "
                                 "want \"%s\" %u %d %d",
                                 c->text, rh.host, rh.port, rh.mx_lookup, rh.is_ip_literal, c->host,
                                 c->port, c->mx_lookup, c->is_ip_literal);
        }
}

static void test_relayhost_invalid(void **state)
{
        static const char *const cases[] = {
                "",
                "[x",
                "[]",
                "[]:25",
                "host:0",
                "host:65536",
                "host:99999",
                "host:",
                "host:-1",
                "host:+25",
                "host: 25",
                "host:25 ",
                " host",
                "host:25:26",
                ":25",
                "ho st",
                "[ho st]:25",
                "[bad host]:99999",
                "[host]x",
                "[host]:",
                "[host]:25x",
                "[host]]:25",
                "-host.example.com",
                "host-.example.com",
                "host.example.com.",
                "host..example.com",
                "[::1]:25", /* Postfix wants [ipv6:::1] */
                "::1",
                "[ipv6:]:25",
                "[ipv6:not-an-address]:25",
                "[ipv6:127.0.0.1]:25",
                "[ipv6:::1:25",
                "smtp://host:25",
                "h\xc3\xb6st:25",
        };
        (void)state;

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                struct relayhost rh, untouched;
                int r;

                memset(&rh, 0xaa, sizeof rh);
                memcpy(&untouched, &rh, sizeof rh);
                r = relayhost_parse(cases[i], &rh);
                if (r != -EINVAL)
                        fail_msg("relayhost_parse(\"%s\"): got r=%d, want -EINVAL", cases[i], r);
                if (memcmp(&rh, &untouched, sizeof rh) != 0)
                        fail_msg("relayhost_parse(\"%s\"): failed but wrote *ret", cases[i]);
        }
        assert_int_equal(relayhost_parse(NULL, &(struct relayhost){0}), -EINVAL);
}

static void test_relayhost_length(void **state)
{
        char label[64], text[600];
        struct relayhost rh;

        (void)state;
        repeat(label, sizeof label, 'a', 63);
        /* 63 + 1 + 63 + 1 + 63 + 1 + 61 = 253 */
        (void)snprintf(text, sizeof text, "[%s.%s.%s.%.61s]:587", label, label, label, label);
        assert_int_equal(relayhost_parse(text, &rh), 0);
        assert_int_equal(strlen(rh.host), 253);
        (void)snprintf(text, sizeof text, "[%s.%s.%s.%.62s]:587", label, label, label, label);
        assert_int_equal(relayhost_parse(text, &rh), -EINVAL);
        (void)snprintf(text, sizeof text, "%s.%s.%s.%.62s", label, label, label, label);
        assert_int_equal(relayhost_parse(text, &rh), -EINVAL);
        /* an over-long IPv6 literal is refused, not copied */
        (void)snprintf(text, sizeof text, "[ipv6:%s%s%s%s%s]:25", label, label, label, label,
                       label);
        assert_int_equal(relayhost_parse(text, &rh), -EINVAL);
}

static void test_relayhost_is_loopback(void **state)
{
        static const struct {
                const char *text;
                bool want;
        } cases[] = {
                {"[127.0.0.1]:25", true},
                {"127.0.0.1", true},
                {"[127.1.2.3]:2525", true},
                {"127.255.255.255:25", true},
                {"[ipv6:::1]:25", true},
                {"localhost", true},
                {"LOCALHOST:25", true},
                {"[localhost]:2525", true},
                {"126.255.255.255", false},
                {"128.0.0.1", false},
                {"10.0.0.1", false},
                {"[ipv6:::2]:25", false},
                {"[ipv6:fe80::1]:25", false},
                {"[email-smtp.eu-west-1.amazonaws.com]:587", false},
                {"localhost.example.com", false},
                {"mylocalhost", false},
        };
        (void)state;

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                struct relayhost rh;

                if (relayhost_parse(cases[i].text, &rh) != 0)
                        fail_msg("relayhost_parse(\"%s\") failed", cases[i].text);
                if (relayhost_is_loopback(&rh) != cases[i].want)
                        fail_msg("relayhost_is_loopback(\"%s\"): got %d, want %d", cases[i].text,
                                 !cases[i].want, cases[i].want);
        }
}

static void test_domain_is_valid(void **state)
{
        static const struct {
                const char *text;
                bool want;
        } cases[] = {
                {"example.com", true},
                {"a", true},
                {"a-b.example", true},
                {"a--b.example", true},
                {"xn--bcher-kva.example", true},
                {"_dmarc.example.com", true},
                {"ip-10-0-0-1.eu-west-1.compute.internal", true},
                {"EXAMPLE.COM", true},
                {"1.2.3.4", true},
                {"", false},
                {".", false},
                {"example.com.", false}, /* trailing dot refused */
                {".example.com", false},
                {"example..com", false},
                {"-example.com", false},
                {"example-.com", false},
                {"example.-com", false},
                {"example.com-", false},
                {"exa mple.com", false},
                {"example.com ", false},
                {"example.com\n", false},
                {"exa#mple.com", false},
                {"aws-master.net  # comment", false},
                {"ex\xc3\xa4mple.com", false},
                {"user@example.com", false},
                {"example.com:25", false},
        };
        (void)state;

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
                if (domain_is_valid(cases[i].text) != cases[i].want)
                        fail_msg("domain_is_valid(\"%s\"): got %d, want %d", cases[i].text,
                                 !cases[i].want, cases[i].want);
}

static void test_domain_lengths(void **state)
{
        char l63[64], l64[65], l61[62], l62[63], text[600];

        (void)state;
        repeat(l63, sizeof l63, 'a', 63);
        repeat(l64, sizeof l64, 'b', 64);
        repeat(l61, sizeof l61, 'c', 61);
        repeat(l62, sizeof l62, 'd', 62);
        /* one label of 63 bytes is fine, 64 is not, wherever it is */
        assert_true(domain_is_valid(l63));
        assert_false(domain_is_valid(l64));
        (void)snprintf(text, sizeof text, "x.%s.example", l63);
        assert_true(domain_is_valid(text));
        (void)snprintf(text, sizeof text, "x.%s.example", l64);
        assert_false(domain_is_valid(text));
        (void)snprintf(text, sizeof text, "example.%s", l64);
        assert_false(domain_is_valid(text));
        /* 253 bytes in all is fine, 254 is not */
        (void)snprintf(text, sizeof text, "%s.%s.%s.%s", l63, l63, l63, l61);
        assert_int_equal(strlen(text), 253);
        assert_true(domain_is_valid(text));
        (void)snprintf(text, sizeof text, "%s.%s.%s.%s", l63, l63, l63, l62);
        assert_int_equal(strlen(text), 254);
        assert_false(domain_is_valid(text));
}

static void test_mail_address_is_valid(void **state)
{
        static const struct {
                const char *text;
                bool allow_bare;
                bool want;
        } cases[] = {
                {"user@example.com", false, true},
                {"first.last@example.com", false, true},
                {"a@b", false, true},
                {"user+tag@example.com", false, true},
                {"!#$%&'*+-/=?^_`{|}~@example.com", false, true},
                {"\"john doe\"@example.com", false, true},
                {"\"a@b\"@example.com", false, true},
                {"\"a\\\"b\"@example.com", false, true},
                {"\"a..b\"@example.com", false, true},
                {"postmaster@ip-10-0-0-1.eu-west-1.compute.internal", false, true},
                {"a..b@x", false, false},
                {".a@example.com", false, false},
                {"a.@example.com", false, false},
                {"@example.com", false, false},
                {"a@", false, false},
                {"a@.example.com", false, false},
                {"a@example.com.", false, false},
                {"a@exa mple.com", false, false},
                {"a b@example.com", false, false},
                {"<a@example.com>", false, false},
                {"a@example.com>", false, false},
                {"a@@example.com", false, false},
                {"a@b@example.com", false, false},
                {"\"unterminated@example.com", false, false},
                {"\"a\"b\"@example.com", false, false},
                {"\"a\\\"@example.com", false, false},
                {"\"a\tb\"@example.com", false, false},
                {"us\xc3\xa9r@example.com", false, false},
                {"", false, false},
                /* bare local parts only when allowed */
                {"ec2-user", false, false},
                {"ec2-user", true, true},
                {"first.last", true, true},
                {"\"quoted local\"", true, true},
                {"a..b", true, false},
                {"a b", true, false},
                {"", true, false},
                {"user@example.com", true, true},
        };
        (void)state;

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
                if (mail_address_is_valid(cases[i].text, cases[i].allow_bare) != cases[i].want)
                        fail_msg("mail_address_is_valid(\"%s\", %d): got %d, want %d",
                                 cases[i].text, cases[i].allow_bare, !cases[i].want, cases[i].want);
}

static void test_mail_address_local_length(void **state)
{
        char local[80], text[128];

        (void)state;
        /* RFC 5321 4.5.3.1.1: 64 octets */
        (void)snprintf(text, sizeof text, "%s@example.com", repeat(local, sizeof local, 'u', 64));
        assert_true(mail_address_is_valid(text, false));
        (void)snprintf(text, sizeof text, "%s@example.com", repeat(local, sizeof local, 'u', 65));
        assert_false(mail_address_is_valid(text, false));
}

struct network_case {
        const char *text;
        size_t len; /* 0: strlen */
        int family;
        uint8_t addr[16];
        unsigned prefix_len;
};

static void test_network_parse(void **state)
{
        static const struct network_case cases[] = {
                {"127.0.0.0/8", 0, AF_INET, {127, 0, 0, 0}, 8},
                {"10.1.2.3", 0, AF_INET, {10, 1, 2, 3}, 32},
                {"0.0.0.0/0", 0, AF_INET, {0}, 0},
                {"192.168.0.0/16", 0, AF_INET, {192, 168, 0, 0}, 16},
                {"10.0.0.0/8, junk", 10, AF_INET, {10, 0, 0, 0}, 8},
                {"[::1]/128", 0, AF_INET6, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128},
                {"[::1]", 0, AF_INET6, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128},
                {"[fe80::]/10", 0, AF_INET6, {0xfe, 0x80}, 10},
                {"[2001:db8::]/32", 0, AF_INET6, {0x20, 0x01, 0x0d, 0xb8}, 32},
                {"[::]/0", 0, AF_INET6, {0}, 0},
        };
        (void)state;

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                const struct network_case *c = &cases[i];
                size_t len = c->len ? c->len : strlen(c->text);
                size_t addr_len = c->family == AF_INET ? 4 : 16;
                struct network n;
                int r;

                memset(&n, 0xaa, sizeof n);
                r = network_parse(c->text, len, &n);
                if (r != 0)
                        fail_msg("network_parse(\"%.*s\"): got r=%d, want 0", (int)len, c->text, r);
                if (n.family != c->family || n.prefix_len != c->prefix_len ||
                    memcmp(n.addr, c->addr, addr_len) != 0)
                        fail_msg("network_parse(\"%.*s\"): got family %d /%u, want %d /%u (or "
                                 "the address differs)",
                                 (int)len, c->text, n.family, n.prefix_len, c->family,
                                 c->prefix_len);
        }
}

static void test_network_parse_invalid(void **state)
{
        static const char *const cases[] = {
                "",
                "10.0.0.0/33",
                "[::1]/129",
                "::1/128",
                "::1",
                "10.0.0.0/",
                "10.0.0.0/-1",
                "10.0.0.0/+8",
                "10.0.0.0/8/8",
                "10.0.0.0 /8",
                "10.0.0.0/ 8",
                "10.0.0/8",
                "256.0.0.0/8",
                "10.0.0.0.0/8",
                "[::1",
                "[::1/128]",
                "[]/8",
                "[10.0.0.1]/8",
                "example.com/24",
                "10.0.0.0/99999999999999999999999",
                "[0000:0000:0000:0000:0000:0000:0000:0001]/128xxxxxxxxxx",
        };
        (void)state;

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                struct network n;
                int r = network_parse(cases[i], strlen(cases[i]), &n);

                if (r != -EINVAL)
                        fail_msg("network_parse(\"%s\"): got r=%d, want -EINVAL", cases[i], r);
        }
}

struct listen_case {
        const char *text;
        size_t len;
        int family;
        uint8_t addr[16];
        unsigned port;
};

static void test_listen_address_parse(void **state)
{
        static const struct listen_case cases[] = {
                {"127.0.0.1:25", 0, AF_INET, {127, 0, 0, 1}, 25},
                {"0.0.0.0:2525", 0, AF_INET, {0}, 2525},
                {"10.0.0.5:65535", 0, AF_INET, {10, 0, 0, 5}, 65535},
                {"127.0.0.1:25, [::1]:25", 12, AF_INET, {127, 0, 0, 1}, 25},
                {"[::1]:25", 0, AF_INET6, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 25},
                {"[::]:587", 0, AF_INET6, {0}, 587},
                {"[fe80::1]:2525",
                 0,
                 AF_INET6,
                 {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
                 2525},
        };
        (void)state;

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                const struct listen_case *c = &cases[i];
                size_t len = c->len ? c->len : strlen(c->text);
                struct listen_address la;
                int r;

                memset(&la, 0xaa, sizeof la);
                r = listen_address_parse(c->text, len, &la);
                if (r != 0)
                        fail_msg("listen_address_parse(\"%.*s\"): got r=%d, want 0", (int)len,
                                 c->text, r);
                if (la.sa.ss_family != c->family)
                        fail_msg("listen_address_parse(\"%.*s\"): got family %d, want %d", (int)len,
                                 c->text, la.sa.ss_family, c->family);
                if (c->family == AF_INET) {
                        const struct sockaddr_in *sin = (const struct sockaddr_in *)&la.sa;

                        assert_int_equal(la.sa_len, sizeof(struct sockaddr_in));
                        assert_int_equal(ntohs(sin->sin_port), c->port);
                        assert_memory_equal(&sin->sin_addr, c->addr, 4);
                } else {
                        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&la.sa;

                        assert_int_equal(la.sa_len, sizeof(struct sockaddr_in6));
                        assert_int_equal(ntohs(sin6->sin6_port), c->port);
                        assert_memory_equal(&sin6->sin6_addr, c->addr, 16);
                        assert_int_equal(sin6->sin6_scope_id, 0);
                        assert_int_equal(sin6->sin6_flowinfo, 0);
                }
        }
}

static void test_listen_address_parse_invalid(void **state)
{
        static const char *const cases[] = {
                "",
                "127.0.0.1",
                "127.0.0.1:",
                "127.0.0.1:0",
                "127.0.0.1:65536",
                "127.0.0.1:25x",
                "127.0.0.1: 25",
                "::1:25",
                "[::1]",
                "[::1]:",
                "[::1:25",
                "[127.0.0.1]:25",
                "localhost:25",
                "*:25",
                ":25",
                "10.0.0.0/8:25",
                "[0000:0000:0000:0000:0000:0000:0000:0001]:2525xxxxxxxxxxxxxxxxxxx",
        };
        (void)state;

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                struct listen_address la;
                int r = listen_address_parse(cases[i], strlen(cases[i]), &la);

                if (r != -EINVAL)
                        fail_msg("listen_address_parse(\"%s\"): got r=%d, want -EINVAL", cases[i],
                                 r);
        }
}

static void test_systemd_unit_name(void **state)
{
        static const struct {
                const char *text;
                bool want;
        } cases[] = {
                {"postfix.service", true},
                {"mailinit-relay.service", true},
                {"getty@tty1.service", true},
                {"mailinit-relay.socket", true},
                {"multi-user.target", true},
                {"logrotate.timer", true},
                {"mailinit.path", true},
                {"var-spool.mount", true},
                {"dev-disk-by\\x2dlabel.mount", true},
                {"foo:bar.service", true},
                {"my_unit.service", true},
                {"postfix", false},
                {".service", false},
                {"postfix.serv", false},
                {"postfix.SERVICE", false},
                {"postfix.service.bak", false},
                {"foo bar.service", false},
                {"foo/bar.service", false},
                {"../x.service", false},
                {"foo.service\n", false},
                {"f\xc3\xb6o.service", false},
                {"", false},
        };
        char name[300];
        (void)state;

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
                if (systemd_unit_name_is_valid(cases[i].text, strlen(cases[i].text)) !=
                    cases[i].want)
                        fail_msg("systemd_unit_name_is_valid(\"%s\"): got %d, want %d",
                                 cases[i].text, !cases[i].want, cases[i].want);
        /* only len bytes count */
        assert_true(systemd_unit_name_is_valid("postfix.service, x", 15));
        assert_false(systemd_unit_name_is_valid("postfix.service", 14));
        /* 255 characters at most (systemd UNIT_NAME_MAX 256 with the NUL) */
        repeat(name, sizeof name, 'u', 247);
        memcpy(name + 247, ".service", 9);
        assert_int_equal(strlen(name), 255);
        assert_true(systemd_unit_name_is_valid(name, 255));
        repeat(name, sizeof name, 'u', 248);
        memcpy(name + 248, ".service", 9);
        assert_false(systemd_unit_name_is_valid(name, 256));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_relayhost_valid),
                cmocka_unit_test(test_relayhost_invalid),
                cmocka_unit_test(test_relayhost_length),
                cmocka_unit_test(test_relayhost_is_loopback),
                cmocka_unit_test(test_domain_is_valid),
                cmocka_unit_test(test_domain_lengths),
                cmocka_unit_test(test_mail_address_is_valid),
                cmocka_unit_test(test_mail_address_local_length),
                cmocka_unit_test(test_network_parse),
                cmocka_unit_test(test_network_parse_invalid),
                cmocka_unit_test(test_listen_address_parse),
                cmocka_unit_test(test_listen_address_parse_invalid),
                cmocka_unit_test(test_systemd_unit_name),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
