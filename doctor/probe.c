/* SPDX-License-Identifier: MIT */
/*
 * probe - the TCP connect test behind the imds and relayhost-port checks (tcp_connect_host:
 * non-blocking connect, poll() with a deadline per address). A timeout (no SYN-ACK, no RST) is kept
 * apart from a refusal: on EC2 a timed-out port 25 is the outbound throttle, a refusal is not.
 */
#include "probe.h"

#include <unistd.h>

#include "tcp_connect.h"

int tcp_probe(const char *host, unsigned port, uint64_t timeout_ms, char *ip, size_t ip_size,
              char *why, size_t why_size)
{
        int fd = tcp_connect_host(host, port, timeout_ms, ip, ip_size, why, why_size);

        if (fd < 0)
                return fd;
        (void)close(fd);
        return 0;
}
