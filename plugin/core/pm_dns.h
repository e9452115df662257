/* pm_dns.h
 * The DNS health detector: one entry per (client, server) pair, fed one DNS
 * message at a time from Wireshark's DNS fields, and its scoring
 * (docs/SCORING-DNS.md).
 *
 * Like the TCP table, it never parses packets: the glue hands over what
 * Wireshark's DNS dissector said (query or response, rcode, dns.time, which
 * query a response answers, whether Wireshark saw it as a retransmission,
 * the query name). Memory per pair is bounded: counters, one latency
 * sketch, and a few top names per outcome.
 *
 * Copyright (c) 2026 The PacketMancer authors
 * SPDX-License-Identifier: MIT
 */

#ifndef PM_DNS_H
#define PM_DNS_H

#include "pm_core.h"
#include "pm_score.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One DNS message as the glue reads it. */
typedef struct pm_dns_msg {
    uint32_t frame;
    int64_t ts_us;
    pm_endpoint src, dst;      /* of the packet; ports are ignored */
    bool response;             /* dns.flags.response */
    bool tcp;                  /* carried over TCP (else UDP) */
    bool retransmission;       /* dns.retransmission: a repeated query or response */
    uint8_t rcode;             /* dns.flags.rcode, responses only */
    float time_ms;             /* dns.time (responses), < 0 when absent */
    uint32_t response_to;      /* dns.response_to (frame of the query), 0 when absent */
    const char *name;          /* dns.qry.name (not NUL-terminated), may be NULL */
    size_t name_len;
} pm_dns_msg;

enum { PM_RC_NOERROR, PM_RC_NXDOMAIN, PM_RC_SERVFAIL, PM_RC_REFUSED, PM_RC_OTHER, PM_RC_COUNT };

/* Outcomes whose most frequent names each pair keeps. */
enum { PM_OUT_NXDOMAIN, PM_OUT_SERVFAIL, PM_OUT_REFUSED, PM_OUT_UNANSWERED,
       PM_OUT_SUSPICIOUS, PM_OUT_COUNT };

#define PM_DNS_TOP_NAMES 5        /* names kept per outcome */
#define PM_DNS_NAME_MAX 255       /* longer names are cut */
#define PM_DNS_PENDING 32         /* unanswered queries whose names are kept */

typedef struct pm_dns_name_count {
    char *name;                   /* NULL: empty slot */
    uint64_t count;               /* Space-Saving estimate (an upper bound) */
    uint64_t error;               /* what the estimate may overcount by */
} pm_dns_name_count;

typedef struct pm_dns_pending {
    uint32_t frame;               /* 0: empty slot */
    char *name;
} pm_dns_pending;

typedef struct pm_dns_pair {
    pm_endpoint client, server;   /* ports zero: a pair is two hosts */
    uint32_t first_frame, last_frame;
    uint64_t queries;             /* query messages, retransmissions included */
    uint64_t queries_udp, queries_tcp;
    uint64_t retransmitted_queries;
    uint64_t responses;           /* first responses (Wireshark's dns.retransmission off) */
    uint64_t duplicate_responses;
    uint64_t answered;            /* responses that name the query they answer */
    uint64_t rcode[PM_RC_COUNT];
    uint64_t punycode, dga;       /* query messages with such names */
    struct pm_sketch *latency;    /* dns.time of first responses, allocated at the first */
    pm_dns_name_count top[PM_OUT_COUNT][PM_DNS_TOP_NAMES];
    pm_dns_pending pending[PM_DNS_PENDING]; /* ring of the latest queries not answered yet */
    uint32_t pending_next;
    int32_t user_node;            /* for the owner of the table (stats tree) */
    uint32_t user_value;
} pm_dns_pair;

typedef struct pm_dns_table pm_dns_table;

pm_dns_table *pm_dns_table_new(void);
void pm_dns_table_free(pm_dns_table *t);
void pm_dns_table_reset(pm_dns_table *t);
/* Account one message; returns its pair. Constant time; allocates for a
 * new pair, a latency sketch, or a new name in a top list. why (may be
 * NULL) receives the suspicious-name reason of a query, "" if none. */
pm_dns_pair *pm_dns_add(pm_dns_table *t, const pm_dns_msg *m, unsigned *name_flags,
                        char *why, size_t why_len);
size_t pm_dns_count(const pm_dns_table *t);
pm_dns_pair *const *pm_dns_pairs(const pm_dns_table *t);
pm_dns_pair *pm_dns_lookup(const pm_dns_table *t, const pm_endpoint *client, const pm_endpoint *server);

/* "10.0.0.1 <-> 10.0.0.53/DNS" (IPv6 in brackets). */
void pm_dns_pair_name(const pm_dns_pair *p, char *buf, size_t len);
uint64_t pm_dns_unanswered(const pm_dns_pair *p);
/* Names of an outcome into out (names borrowed from the pair), each with
 * count = the number of times it was certainly seen (estimate - error),
 * most first, ties by name; returns how many (at most PM_DNS_TOP_NAMES). */
size_t pm_dns_top(const pm_dns_pair *p, int outcome, pm_dns_name_count out[PM_DNS_PENDING]);

/* Scoring (docs/SCORING-DNS.md); every number is a preference. */
typedef struct pm_dns_params {
    unsigned min_queries;          /* 5: shares count from this many queries */
    unsigned w_unanswered;         /* 100 points per 100% unanswered */
    unsigned w_servfail;           /* 100 */
    unsigned w_refused;            /* 50 */
    unsigned w_nxdomain;           /* 25 */
    unsigned latency_ms;           /* 250: p95 above this is slow ... */
    unsigned latency_min_samples;  /* 10: ... with this many answers */
    unsigned w_slow;               /* 30 */
    unsigned w_dga;                /* 25 per DGA-like query name, at most 4 */
    unsigned w_punycode;           /* 5 per punycode name, at most 2 */
    unsigned high_score;           /* 100 */
    unsigned medium_score;         /* 50 */
    unsigned high_unanswered_pct;  /* 50 */
    unsigned medium_unanswered_pct;/* 20 */
    unsigned high_servfail_pct;    /* 50 */
    unsigned medium_servfail_pct;  /* 10 */
} pm_dns_params;

void pm_dns_params_default(pm_dns_params *p);

enum {
    PM_DNS_REASON_UNANSWERED = 1u << 0,
    PM_DNS_REASON_SERVFAIL   = 1u << 1,
    PM_DNS_REASON_REFUSED    = 1u << 2,
    PM_DNS_REASON_NXDOMAIN   = 1u << 3,
    PM_DNS_REASON_SLOW       = 1u << 4,
    PM_DNS_REASON_DGA        = 1u << 5,
    PM_DNS_REASON_PUNYCODE   = 1u << 6,
};

typedef struct pm_dns_verdict {
    uint32_t score;
    pm_level level;
    unsigned reasons;
    double p95_ms;                 /* < 0 without answers */
    uint64_t samples;
} pm_dns_verdict;

pm_dns_verdict pm_dns_score(const pm_dns_params *p, const pm_dns_pair *pair);
unsigned pm_dns_reasons(const pm_dns_verdict *v, const pm_dns_pair *pair, pm_lang lang,
                        pm_reason_cb emit, void *user);

#ifdef __cplusplus
}
#endif

#endif /* PM_DNS_H */
