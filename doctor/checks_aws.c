/* SPDX-License-Identifier: MIT */
/*
 * checks_aws - the AWS side of the mail path: the instance metadata service (a TCP connect,
 * then the IMDSv2 token and the instance's metadata, so a dropped token answer, the hop-limit
 * symptom, is told apart from an unreachable service), the instance role and its
 * credentials, and the secret, fetched with firstboot's own code (fetch_secret).
 * SECURITY: the secret's content is only described ("an SMTP user name and password");
 * neither the user name nor the password reaches a reason.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "creds.h"
#include "doctor.h"
#include "http.h"
#include "probe.h"
#include "state.h"

#define IMDS_CONNECT_MS 2000ULL

/* endpoint_host_port - host and port of an http(s):// URL ("http://[fd00:ec2::254]/") */
static int endpoint_host_port(const char *url, char *host, size_t size, unsigned *port)
{
        const char *p = url, *end;
        bool https = strncmp(p, "https://", 8) == 0;
        size_t len;

        if (https)
                p += 8;
        else if (strncmp(p, "http://", 7) == 0)
                p += 7;
        else
                return -EINVAL;
        if (*p == '[') {
                end = strchr(++p, ']');
                if (!end)
                        return -EINVAL;
                len = (size_t)(end - p);
                end++;
        } else {
                len = strcspn(p, ":/");
                end = p + len;
        }
        if (len == 0 || len >= size)
                return -EINVAL;
        memcpy(host, p, len);
        host[len] = '\0';
        *port = https ? 443 : 80;
        if (*end == ':') {
                unsigned long v = strtoul(end + 1, NULL, 10);

                if (v == 0 || v > 65535)
                        return -EINVAL;
                *port = (unsigned)v;
        }
        return 0;
}

void check_imds(struct doctor *d, struct instance_metadata *ret_md)
{
        struct imds_options options = doctor_imds_options(d);
        char host[256], why[512] = "";
        const char *url;
        unsigned port;
        int r;

        if (d->s.metadata_disabled) {
                check_set(d, CHECK_IMDS, CHECK_SKIP,
                          "instance metadata disabled by AWS_EC2_METADATA_DISABLED");
                check_set(d, CHECK_IMDS_TOKEN, CHECK_SKIP,
                          "instance metadata disabled by AWS_EC2_METADATA_DISABLED");
                return;
        }
        d->imds = imds_client_new(&options);
        if (!d->imds) {
                check_set(d, CHECK_IMDS, CHECK_FAIL, "%s",
                          errno == ENOMEM ? "out of memory" : http_global_error());
                return;
        }
        url = imds_endpoint(d->imds);
        if (endpoint_host_port(url, host, sizeof host, &port) < 0) {
                check_set(d, CHECK_IMDS, CHECK_FAIL, "'%s' is not a usable endpoint URL", url);
                check_fix(
                        d, CHECK_IMDS,
                        "set AWS_EC2_METADATA_SERVICE_ENDPOINT to http://HOST[:PORT] or unset it");
                check_set(d, CHECK_IMDS_TOKEN, CHECK_SKIP, "IMDS endpoint unusable");
                d->imds = imds_client_free(d->imds);
                return;
        }
        r = tcp_probe(host, port, IMDS_CONNECT_MS, NULL, 0, why, sizeof why);
        if (r < 0) {
                check_set(d, CHECK_IMDS, CHECK_FAIL,
                          "cannot reach the instance metadata service at %s: %s", url, why);
                check_fix(
                        d, CHECK_IMDS,
                        "IMDS answers on every EC2 instance at 169.254.169.254:80: check that this is an EC2 instance and that no firewall rule (iptables/nftables, a container network) blocks it");
                check_set(d, CHECK_IMDS_TOKEN, CHECK_SKIP, "IMDS unreachable");
                d->imds = imds_client_free(d->imds);
                return;
        }

        r = imds_read_instance(d->imds, ret_md);
        if (r >= 0) {
                d->imds_ok = true;
                check_set(d, CHECK_IMDS, CHECK_OK, "instance %s in %s (metadata at %s)",
                          ret_md->instance_id, ret_md->region, url);
                if (imds_using_v1(d->imds)) {
                        check_set(
                                d, CHECK_IMDS_TOKEN, CHECK_WARN,
                                "IMDSv2 tokens are not offered: IMDSv1 is in use (imds_v1_fallback = yes)");
                        check_fix(
                                d, CHECK_IMDS_TOKEN,
                                "require IMDSv2: aws ec2 modify-instance-metadata-options --instance-id %s --http-tokens required",
                                ret_md->instance_id);
                } else {
                        check_set(d, CHECK_IMDS_TOKEN, CHECK_OK,
                                  "IMDSv2 token issued (PUT /latest/api/token)");
                }
                return;
        }
        if (r == -EACCES && !imds_has_token(d->imds)) {
                check_set(d, CHECK_IMDS, CHECK_FAIL, "%s", imds_error(d->imds));
                check_fix(
                        d, CHECK_IMDS,
                        "enable the metadata service: aws ec2 modify-instance-metadata-options --instance-id <instance-id> --http-endpoint enabled");
                check_set(d, CHECK_IMDS_TOKEN, CHECK_SKIP, "IMDS disabled");
        } else if (!imds_has_token(d->imds)) {
                check_set(d, CHECK_IMDS, CHECK_OK, "the metadata service at %s accepts connections",
                          url);
                check_set(d, CHECK_IMDS_TOKEN, CHECK_FAIL, "%s", imds_error(d->imds));
                if (r == -ETIMEDOUT)
                        check_fix(
                                d, CHECK_IMDS_TOKEN,
                                "raise the hop limit of the token answer: aws ec2 modify-instance-metadata-options --instance-id <instance-id> --http-put-response-hop-limit 2 (containers need 2 or more)");
                else
                        check_fix(
                                d, CHECK_IMDS_TOKEN,
                                "check the instance's metadata options: aws ec2 describe-instances --query 'Reservations[].Instances[].MetadataOptions'");
        } else {
                check_set(d, CHECK_IMDS, CHECK_FAIL, "%s", imds_error(d->imds));
                check_fix(
                        d, CHECK_IMDS,
                        "the metadata service answers but not as EC2 does: check AWS_EC2_METADATA_SERVICE_ENDPOINT and any proxy in front of 169.254.169.254");
                check_set(d, CHECK_IMDS_TOKEN, CHECK_OK,
                          "IMDSv2 token issued (PUT /latest/api/token)");
        }
        d->imds = imds_client_free(d->imds);
}

void check_iam_role(struct doctor *d)
{
        struct aws_credentials env = {0};
        const char *role = d->s.md.role_name;
        char expires[32];
        int r;

        r = creds_from_environment(&env);
        aws_credentials_done(&env);
        if (r > 0) {
                d->have_aws_creds = true;
                (void)snprintf(d->principal, sizeof d->principal, "environment credentials");
                check_set(
                        d, CHECK_IAM_ROLE, CHECK_OK,
                        "the environment's credentials (AWS_ACCESS_KEY_ID) are used before the instance role");
                return;
        }
        if (!d->imds_ok) {
                check_set(d, CHECK_IAM_ROLE, CHECK_SKIP,
                          "needs the instance metadata (see imds), or AWS_ACCESS_KEY_ID");
                return;
        }
        if (!role) {
                check_set(d, CHECK_IAM_ROLE, CHECK_FAIL,
                          "no IAM role: no instance profile is attached to instance %s",
                          d->s.md.instance_id);
                check_fix(
                        d, CHECK_IAM_ROLE,
                        "attach an instance profile whose role may call secretsmanager:GetSecretValue on the secret: aws ec2 associate-iam-instance-profile --instance-id %s --iam-instance-profile Name=PROFILE",
                        d->s.md.instance_id);
                return;
        }
        r = imds_get_role_credentials(d->imds, role, &d->role_credentials);
        if (r < 0) {
                check_set(d, CHECK_IAM_ROLE, CHECK_FAIL, "%s", imds_error(d->imds));
                check_fix(
                        d, CHECK_IAM_ROLE,
                        "check that role %s trusts ec2.amazonaws.com (its trust policy) and belongs to the instance profile: aws iam list-instance-profiles-for-role --role-name %s",
                        role, role);
                return;
        }
        d->have_aws_creds = true;
        (void)snprintf(d->principal, sizeof d->principal, "role %s", role);
        format_rfc3339_utc(d->role_credentials.expiration, expires, sizeof expires);
        check_set(d, CHECK_IAM_ROLE, CHECK_OK, "role %s, temporary credentials valid until %s",
                  role, expires);
}

/* secret_fix - what to do about a failed fetch_secret() */
static void secret_fix(struct doctor *d, int r, const char *secret_id, const char *region)
{
        switch (r) {
        case -EACCES:
                check_fix(
                        d, CHECK_SECRET,
                        "allow secretsmanager:GetSecretValue on secret '%s' to %s (and kms:Decrypt on its key when it uses a customer managed KMS key)",
                        secret_id, d->principal);
                break;
        case -ENOENT:
        case -EINVAL:
                check_fix(
                        d, CHECK_SECRET,
                        "check secret_id and region: aws secretsmanager describe-secret --secret-id '%s' --region %s",
                        secret_id, region);
                break;
        case -EBADMSG:
        case -EFBIG:
                check_fix(
                        d, CHECK_SECRET,
                        "store a JSON object {\"smtp_username\": ..., \"smtp_password\": ...} or an IAM user's {\"access_key_id\": ..., \"secret_access_key\": ...} as the SecretString");
                break;
        case -EAGAIN:
        case -ETIMEDOUT:
                check_fix(
                        d, CHECK_SECRET,
                        "Secrets Manager was slow or throttled: run doctor again; check the route to secretsmanager.%s.amazonaws.com",
                        region);
                break;
        default:
                check_fix(
                        d, CHECK_SECRET,
                        "check outbound HTTPS to secretsmanager.%s.amazonaws.com (security group, NAT gateway or a VPC endpoint) and AWS_CA_BUNDLE",
                        region);
                break;
        }
}

void check_secret(struct doctor *d)
{
        const char *secret_id = settings_get(d->s.settings, SETTING_SECRET_ID);
        const char *region = settings_get(d->s.settings, SETTING_REGION);
        struct imds_options options = doctor_imds_options(d);
        struct creds_provider *p;
        char why[FETCH_SECRET_ERROR_MAX] = "";
        int r;

        if (!*secret_id) {
                check_set(d, CHECK_SECRET, CHECK_FAIL, "secret_id is not set");
                check_fix(
                        d, CHECK_SECRET,
                        "name the Secrets Manager secret holding the SES SMTP credentials: secret_id in mailinit.conf, the tag mailinit:secret_id or user-data");
                return;
        }
        if (!d->have_aws_creds) {
                check_set(d, CHECK_SECRET, CHECK_SKIP, "no AWS credentials (see iam-role)");
                return;
        }
        if (!*region) {
                check_set(d, CHECK_SECRET, CHECK_FAIL,
                          "the region is unknown: cannot find Secrets Manager");
                check_fix(d, CHECK_SECRET, "set region (or AWS_REGION), or fix the imds check");
                return;
        }
        p = creds_provider_new(&options);
        if (!p) {
                check_set(d, CHECK_SECRET, CHECK_FAIL, "out of memory");
                return;
        }
        if (d->role_credentials.access_key_id)
                creds_provider_seed(p, d->s.md.role_name, &d->role_credentials);
        r = fetch_secret(d->s.settings, p, &d->secret, why, sizeof why);
        creds_provider_free(p);
        if (r < 0) {
                check_set(d, CHECK_SECRET, CHECK_FAIL, "%s", why[0] ? why : strerror(-r));
                secret_fix(d, r, secret_id, region);
                return;
        }
        d->have_smtp_creds = true;
        check_set(d, CHECK_SECRET, CHECK_OK, "secret '%s' read with %s: %s", secret_id,
                  d->principal,
                  d->secret.smtp.derived
                          ? "an IAM user's access key (SMTP password derived for the region)"
                          : "an SMTP user name and password");
}
