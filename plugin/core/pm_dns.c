/* pm_dns.c
 * DNS health per (client, server) pair: counting, top names, scoring.
 *
 * What counts as what (docs/SCORING-DNS.md has the rules users rely on):
 *   - a query is any DNS query message, Wireshark's retransmissions
 *     included (a resolver that has to ask seven times was asked seven
 *     times);
 *   - a response is a first response: one Wireshark flags as a
 *     retransmission is a duplicate, counted apart and not scored;
 *   - unanswered = queries - responses, never below 0. No per-query state
 *     is needed for the count; a ring of the latest PM_DNS_PENDING
 *     unanswered queries keeps their names for the report.
 *   - latency is dns.time of first responses, in a pm_sketch.
 * Top names use the Space-Saving rule (a new name replaces the least
 * counted one, inheriting its count + 1), so memory stays fixed and the
 * names that matter most are the ones kept.
 *
 * Copyright (c) 2026 The PacketMancer authors
 * SPDX-License-Identifier: MIT
 */

#include "pm_dns.h"
#include "pm_names.h"
#include "pm_sketch.h"
#include "pm_state.h"

#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>

struct pm_dns_table {
    GHashTable *by_key;     /* 34-byte host pair key -> pm_dns_pair* (owned) */
    GPtrArray *order;       /* first-seen order (borrowed) */
};

typedef struct pair_key {
    uint8_t client_family, server_family;
    uint8_t client[16], server[16];
} pair_key;

static guint
key_hash(gconstpointer k)
{
    const uint8_t *b = k;
    guint h = 2166136261u;

    for (size_t i = 0; i < sizeof(pair_key); i++)
        h = (h ^ b[i]) * 16777619u;
    return h;
}

static gboolean
key_equal(gconstpointer a, gconstpointer b)
{
    return memcmp(a, b, sizeof(pair_key)) == 0;
}

static void
make_key(pair_key *k, const pm_endpoint *client, const pm_endpoint *server)
{
    memset(k, 0, sizeof *k);
    k->client_family = client->family;
    k->server_family = server->family;
    memcpy(k->client, client->addr, 16);
    memcpy(k->server, server->addr, 16);
}

static void
pair_free(gpointer data)
{
    pm_dns_pair *p = data;

    for (int o = 0; o < PM_OUT_COUNT; o++)
        for (int i = 0; i < PM_DNS_TOP_NAMES; i++)
            g_free(p->top[o][i].name);
    for (int i = 0; i < PM_DNS_PENDING; i++)
        g_free(p->pending[i].name);
    g_free(p->latency);
    g_free(p);
}

pm_dns_table *
pm_dns_table_new(void)
{
    pm_dns_table *t = g_new0(pm_dns_table, 1);

    t->by_key = g_hash_table_new_full(key_hash, key_equal, g_free, pair_free);
    t->order = g_ptr_array_new();
    return t;
}

void
pm_dns_table_reset(pm_dns_table *t)
{
    g_ptr_array_set_size(t->order, 0);
    g_hash_table_remove_all(t->by_key);
}

void
pm_dns_table_free(pm_dns_table *t)
{
    if (!t)
        return;
    g_ptr_array_free(t->order, TRUE);
    g_hash_table_destroy(t->by_key);
    g_free(t);
}

size_t
pm_dns_count(const pm_dns_table *t)
{
    return t->order->len;
}

pm_dns_pair *const *
pm_dns_pairs(const pm_dns_table *t)
{
    return (pm_dns_pair *const *)t->order->pdata;
}

pm_dns_pair *
pm_dns_lookup(const pm_dns_table *t, const pm_endpoint *client, const pm_endpoint *server)
{
    pair_key k;

    make_key(&k, client, server);
    return g_hash_table_lookup(t->by_key, &k);
}

/* The form in which a name from a packet is kept, compared and shown:
 * at most PM_DNS_NAME_MAX bytes, NUL-terminated. Control bytes and
 * non-ASCII bytes are kept as they are (every output escapes or sanitises
 * strings from the capture when it writes them), except NUL: a C string
 * cannot hold it, and cutting the name there would show "ab" for
 * "ab\0cd" and make two different names one. It becomes the four
 * characters \000, as Wireshark's DNS dissector writes a NUL inside a
 * label. Returns the length written to out. */
static size_t
name_store(const char *name, size_t len, char out[PM_DNS_NAME_MAX + 1])
{
    size_t o = 0;

    for (size_t i = 0; i < len && o < PM_DNS_NAME_MAX; i++) {
        if (name[i] != '\0') {
            out[o++] = name[i];
        } else if (o + 4 <= PM_DNS_NAME_MAX) {
            memcpy(out + o, "\\000", 4);
            o += 4;
        } else {
            break;          /* an escape is never cut in half */
        }
    }
    out[o] = '\0';
    return o;
}

static void
top_count(pm_dns_name_count *slots, const char *name, size_t len)
{
    char key[PM_DNS_NAME_MAX + 1];
    int empty = -1, least = 0;

    name_store(name, len, key);
    for (int i = 0; i < PM_DNS_TOP_NAMES; i++) {
        if (!slots[i].name) {
            if (empty < 0)
                empty = i;
            continue;
        }
        if (strcmp(slots[i].name, key) == 0) {
            slots[i].count++;
            return;
        }
        if (slots[i].count < slots[least].count || !slots[least].name)
            least = i;
    }
    if (empty >= 0) {
        slots[empty].name = g_strdup(key);
        slots[empty].count = 1;
        slots[empty].error = 0;
    } else {
        /* The newcomer inherits the evicted count, which it may never have
         * had: remember by how much it can be overcounted. */
        g_free(slots[least].name);
        slots[least].name = g_strdup(key);
        slots[least].error = slots[least].count;
        slots[least].count++;
    }
}

static void
pending_add(pm_dns_pair *p, uint32_t frame, const char *name, size_t len)
{
    pm_dns_pending *slot = &p->pending[p->pending_next];
    char key[PM_DNS_NAME_MAX + 1];

    name_store(name, len, key);
    g_free(slot->name);
    slot->frame = frame;
    slot->name = g_strdup(key);
    p->pending_next = (p->pending_next + 1) % PM_DNS_PENDING;
}

/* A response settles the query it answers and its retransmissions (same
 * name): they are not pending any more. */
static void
pending_settle(pm_dns_pair *p, uint32_t frame, const char *name, size_t len)
{
    char key[PM_DNS_NAME_MAX + 1];

    if (name)
        name_store(name, len, key);
    for (int i = 0; i < PM_DNS_PENDING; i++) {
        pm_dns_pending *s = &p->pending[i];

        if (!s->frame)
            continue;
        if (s->frame == frame || (name && strcmp(s->name, key) == 0)) {
            g_free(s->name);
            s->name = NULL;
            s->frame = 0;
        }
    }
}

static int
rcode_slot(uint8_t rcode)
{
    switch (rcode) {
    case 0: return PM_RC_NOERROR;
    case 3: return PM_RC_NXDOMAIN;
    case 2: return PM_RC_SERVFAIL;
    case 5: return PM_RC_REFUSED;
    default: return PM_RC_OTHER;
    }
}

pm_dns_pair *
pm_dns_add(pm_dns_table *t, const pm_dns_msg *m, unsigned *name_flags, char *why, size_t why_len)
{
    /* The client asks; a response travels from the server to it. */
    const pm_endpoint *client = m->response ? &m->dst : &m->src;
    const pm_endpoint *server = m->response ? &m->src : &m->dst;
    /* An empty name is no name: nothing to show or to tell apart. */
    const char *name = m->name && m->name_len ? m->name : NULL;
    size_t name_len = name ? m->name_len : 0;
    pair_key k;
    pm_dns_pair *p;
    unsigned flags = 0;

    if (why && why_len)
        why[0] = '\0';
    make_key(&k, client, server);
    p = g_hash_table_lookup(t->by_key, &k);
    if (!p) {
        p = g_new0(pm_dns_pair, 1);
        p->client = *client;
        p->server = *server;
        p->client.port = p->server.port = 0;
        p->first_frame = m->frame;
        p->user_node = -1;
        g_hash_table_insert(t->by_key, g_memdup2(&k, sizeof k), p);
        g_ptr_array_add(t->order, p);
    }
    p->last_frame = m->frame;

    if (!m->response) {
        p->queries++;
        if (m->tcp)
            p->queries_tcp++;
        else
            p->queries_udp++;
        if (m->retransmission)
            p->retransmitted_queries++;
        if (name) {
            flags = pm_name_check(name, name_len, why, why_len);
            if (flags & PM_NAME_PUNYCODE)
                p->punycode++;
            if (flags & PM_NAME_DGA)
                p->dga++;
            if (flags)
                top_count(p->top[PM_OUT_SUSPICIOUS], name, name_len);
            /* The ring is there for names: a query without one (Wireshark
             * gives none when the question is malformed) would be listed
             * blank, and stay listed, since its response cannot name it
             * either. It still counts as a query. */
            pending_add(p, m->frame, name, name_len);
        }
    } else if (m->retransmission) {
        p->duplicate_responses++;
    } else {
        int rc = rcode_slot(m->rcode);

        p->responses++;
        if (m->response_to)
            p->answered++;
        p->rcode[rc]++;
        if (m->time_ms >= 0) {
            if (!p->latency) {
                p->latency = g_new(struct pm_sketch, 1);
                pm_sketch_init(p->latency);
            }
            pm_sketch_add(p->latency, m->time_ms);
        }
        if (name && rc == PM_RC_NXDOMAIN)
            top_count(p->top[PM_OUT_NXDOMAIN], name, name_len);
        else if (name && rc == PM_RC_SERVFAIL)
            top_count(p->top[PM_OUT_SERVFAIL], name, name_len);
        else if (name && rc == PM_RC_REFUSED)
            top_count(p->top[PM_OUT_REFUSED], name, name_len);
        pending_settle(p, m->response_to, name, name_len);
    }
    if (name_flags)
        *name_flags = flags;
    return p;
}

uint64_t
pm_dns_unanswered(const pm_dns_pair *p)
{
    return p->queries > p->responses ? p->queries - p->responses : 0;
}

static int
cmp_name_count(const void *a, const void *b)
{
    const pm_dns_name_count *x = a, *y = b;

    if (!x->name || !y->name)
        return x->name ? -1 : (y->name ? 1 : 0);
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return strcmp(x->name, y->name);
}

size_t
pm_dns_top(const pm_dns_pair *p, int outcome, pm_dns_name_count sorted[PM_DNS_PENDING])
{
    size_t n = 0;

    if (outcome == PM_OUT_UNANSWERED) {
        /* Names still pending, grouped: at most PM_DNS_PENDING. */
        for (int i = 0; i < PM_DNS_PENDING; i++) {
            const pm_dns_pending *s = &p->pending[i];
            size_t j;

            if (!s->frame || !s->name)
                continue;
            for (j = 0; j < n && strcmp(sorted[j].name, s->name) != 0; j++)
                ;
            if (j == n) {
                sorted[n].name = s->name;
                sorted[n++].count = 0;
            }
            sorted[j].count++;
        }
    } else {
        for (int i = 0; i < PM_DNS_TOP_NAMES; i++) {
            if (p->top[outcome][i].name) {
                sorted[n] = p->top[outcome][i];
                sorted[n].count -= sorted[n].error;   /* certainly seen */
                sorted[n++].error = 0;
            }
        }
    }
    qsort(sorted, n, sizeof *sorted, cmp_name_count);
    return MIN(n, (size_t)PM_DNS_TOP_NAMES);
}

void
pm_dns_pair_name(const pm_dns_pair *p, char *buf, size_t len)
{
    char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];

    inet_ntop(p->client.family == 6 ? AF_INET6 : AF_INET, p->client.addr, a, sizeof a);
    inet_ntop(p->server.family == 6 ? AF_INET6 : AF_INET, p->server.addr, b, sizeof b);
    g_snprintf(buf, (gulong)len, p->client.family == 6 ? "[%s] <-> [%s]/DNS" : "%s <-> %s/DNS", a, b);
}

/* ------------------------------------------------- import (pm_state.h) */

/* Space-Saving summaries merge (Agarwal et al., "Mergeable summaries"):
 * a name missing from a full summary may still have been seen up to that
 * summary's smallest count, so it is credited with that count both as
 * estimate and as possible error; then the PM_DNS_TOP_NAMES largest
 * estimates are kept. Estimates stay upper bounds and estimate - error
 * lower bounds, as for a single summary; which names survive, though, can
 * differ from one summary fed every query. */
static void
top_merge(pm_dns_name_count *dst, const pm_dns_name_count *src)
{
    pm_dns_name_count all[2 * PM_DNS_TOP_NAMES];
    uint64_t dmin = 0, smin = 0;
    size_t n = 0, dn = 0, sn = 0;

    for (int i = 0; i < PM_DNS_TOP_NAMES; i++) {
        if (dst[i].name && (dn++ == 0 || dst[i].count < dmin))
            dmin = dst[i].count;
        if (src[i].name && (sn++ == 0 || src[i].count < smin))
            smin = src[i].count;
    }
    if (dn < PM_DNS_TOP_NAMES)
        dmin = 0;       /* not full: what it never kept, it never saw */
    if (sn < PM_DNS_TOP_NAMES)
        smin = 0;
    for (int i = 0; i < PM_DNS_TOP_NAMES; i++) {
        int j;

        if (!dst[i].name)
            continue;
        all[n] = dst[i];
        for (j = 0; j < PM_DNS_TOP_NAMES; j++)
            if (src[j].name && strcmp(src[j].name, dst[i].name) == 0)
                break;
        all[n].count += j < PM_DNS_TOP_NAMES ? src[j].count : smin;
        all[n].error += j < PM_DNS_TOP_NAMES ? src[j].error : smin;
        n++;
    }
    for (int j = 0; j < PM_DNS_TOP_NAMES; j++) {
        int i;

        if (!src[j].name)
            continue;
        for (i = 0; i < PM_DNS_TOP_NAMES; i++)
            if (dst[i].name && strcmp(src[j].name, dst[i].name) == 0)
                break;
        if (i < PM_DNS_TOP_NAMES)
            continue;
        all[n].name = g_strdup(src[j].name);
        all[n].count = src[j].count + dmin;
        all[n].error = src[j].error + dmin;
        n++;
    }
    /* Most counted first, ties by name: the same result in any order. */
    qsort(all, n, sizeof *all, cmp_name_count);
    for (size_t i = 0; i < PM_DNS_TOP_NAMES; i++) {
        if (i < n) {
            dst[i] = all[i];
        } else {
            dst[i].name = NULL;
            dst[i].count = dst[i].error = 0;
        }
    }
    for (size_t i = PM_DNS_TOP_NAMES; i < n; i++)
        g_free(all[i].name);
}

static int
cmp_pending(const void *a, const void *b)
{
    const pm_dns_pending *x = a, *y = b;

    return x->frame < y->frame ? -1 : x->frame > y->frame;
}

/* The latest PM_DNS_PENDING unanswered queries of both, by frame. A
 * response in one part cannot settle a query of the other here, as it
 * would have in one run: with one pair in two parts this is approximate. */
static void
pending_merge(pm_dns_pair *dst, const pm_dns_pair *src)
{
    pm_dns_pending all[2 * PM_DNS_PENDING];
    size_t n = 0, keep;

    for (int i = 0; i < PM_DNS_PENDING; i++) {
        if (dst->pending[i].frame)
            all[n++] = dst->pending[i];
        if (src->pending[i].frame) {
            all[n] = src->pending[i];
            all[n++].name = g_strdup(src->pending[i].name);
        }
    }
    qsort(all, n, sizeof *all, cmp_pending);
    keep = MIN(n, (size_t)PM_DNS_PENDING);
    for (size_t i = 0; i < n - keep; i++)
        g_free(all[i].name);
    memset(dst->pending, 0, sizeof dst->pending);
    memcpy(dst->pending, all + (n - keep), keep * sizeof *all);
    dst->pending_next = (uint32_t)(keep % PM_DNS_PENDING);
}

static pm_dns_pair *
pair_copy(const pm_dns_pair *src)
{
    pm_dns_pair *p = g_memdup2(src, sizeof *src);

    for (int o = 0; o < PM_OUT_COUNT; o++)
        for (int i = 0; i < PM_DNS_TOP_NAMES; i++)
            p->top[o][i].name = g_strdup(src->top[o][i].name);
    for (int i = 0; i < PM_DNS_PENDING; i++)
        p->pending[i].name = g_strdup(src->pending[i].name);
    p->latency = src->latency ? g_memdup2(src->latency, sizeof(struct pm_sketch)) : NULL;
    p->user_node = -1;
    p->user_value = 0;
    return p;
}

pm_dns_pair *
pm_dns_import(pm_dns_table *t, const pm_dns_pair *src)
{
    pair_key k;
    pm_dns_pair *p;

    make_key(&k, &src->client, &src->server);
    p = g_hash_table_lookup(t->by_key, &k);
    if (!p) {
        p = pair_copy(src);
        p->client.port = p->server.port = 0;
        g_hash_table_insert(t->by_key, g_memdup2(&k, sizeof k), p);
        g_ptr_array_add(t->order, p);
        return p;
    }
    p->first_frame = MIN(p->first_frame, src->first_frame);
    p->last_frame = MAX(p->last_frame, src->last_frame);
    p->queries += src->queries;
    p->queries_udp += src->queries_udp;
    p->queries_tcp += src->queries_tcp;
    p->retransmitted_queries += src->retransmitted_queries;
    p->responses += src->responses;
    p->duplicate_responses += src->duplicate_responses;
    p->answered += src->answered;
    for (int i = 0; i < PM_RC_COUNT; i++)
        p->rcode[i] += src->rcode[i];
    p->punycode += src->punycode;
    p->dga += src->dga;
    if (src->latency) {
        if (!p->latency) {
            p->latency = g_new(struct pm_sketch, 1);
            pm_sketch_init(p->latency);
        }
        pm_sketch_merge(p->latency, src->latency);   /* exact */
    }
    for (int o = 0; o < PM_OUT_COUNT; o++)
        top_merge(p->top[o], src->top[o]);
    pending_merge(p, src);
    return p;
}

/* ---------------------------------------------------------------- scoring */

void
pm_dns_params_default(pm_dns_params *p)
{
    p->min_queries = 5;
    p->w_unanswered = 100;
    p->w_servfail = 100;
    p->w_refused = 50;
    p->w_nxdomain = 25;
    p->latency_ms = 250;
    p->latency_min_samples = 10;
    p->w_slow = 30;
    p->w_dga = 25;
    p->w_punycode = 5;
    p->high_score = 100;
    p->medium_score = 50;
    p->high_unanswered_pct = 50;
    p->medium_unanswered_pct = 20;
    p->high_servfail_pct = 50;
    p->medium_servfail_pct = 10;
}

typedef unsigned __int128 u128;

/* pct% <= 100*x/d, in integers. */
static bool
share_at_least(uint64_t x, uint64_t d, unsigned pct)
{
    return d > 0 && (u128)100 * x >= (u128)pct * d;
}

/* A share term counts, and is named as a reason, when its denominator is
 * big enough and it is worth at least one point. */
static bool
share_matters(uint64_t x, uint64_t d, unsigned w, unsigned min)
{
    return d >= min && d > 0 && x > 0 && (u128)w * x >= d;
}

pm_dns_verdict
pm_dns_score(const pm_dns_params *p, const pm_dns_pair *pair)
{
    pm_dns_verdict v = { 0, PM_LEVEL_OK, 0, -1.0, 0 };
    uint64_t q = pair->queries, r = pair->responses, u = pm_dns_unanswered(pair);
    uint64_t s = pair->rcode[PM_RC_SERVFAIL], f = pair->rcode[PM_RC_REFUSED];
    uint64_t n = pair->rcode[PM_RC_NXDOMAIN];
    /* Two fractions over different denominators, summed exactly:
     * (wu*u/q + (ws*s + wf*f + wn*n)/r), rounded half up. */
    u128 num = 0, den = 1, extra = 0;
    bool slow;

    if (pair->latency && pm_sketch_count(pair->latency)) {
        v.samples = pm_sketch_count(pair->latency);
        v.p95_ms = pm_sketch_quantile(pair->latency, 0.95);
    }
    slow = v.samples >= p->latency_min_samples && v.samples > 0 && v.p95_ms > (double)p->latency_ms;

    if (share_matters(u, q, p->w_unanswered, p->min_queries)) {
        v.reasons |= PM_DNS_REASON_UNANSWERED;
    }
    if (share_matters(s, r, p->w_servfail, p->min_queries))
        v.reasons |= PM_DNS_REASON_SERVFAIL;
    if (share_matters(f, r, p->w_refused, p->min_queries))
        v.reasons |= PM_DNS_REASON_REFUSED;
    if (share_matters(n, r, p->w_nxdomain, p->min_queries))
        v.reasons |= PM_DNS_REASON_NXDOMAIN;
    {
        u128 a = (v.reasons & PM_DNS_REASON_UNANSWERED) ? (u128)p->w_unanswered * u : 0;
        u128 b = (u128)((v.reasons & PM_DNS_REASON_SERVFAIL) ? (u128)p->w_servfail * s : 0) +
                 ((v.reasons & PM_DNS_REASON_REFUSED) ? (u128)p->w_refused * f : 0) +
                 ((v.reasons & PM_DNS_REASON_NXDOMAIN) ? (u128)p->w_nxdomain * n : 0);
        u128 qd = q ? q : 1, rd = r ? r : 1;

        num = a * rd + b * qd;
        den = qd * rd;
    }
    if (slow) {
        v.reasons |= PM_DNS_REASON_SLOW;
        extra += p->w_slow;
    }
    if (pair->dga && p->w_dga) {
        v.reasons |= PM_DNS_REASON_DGA;
        extra += (u128)p->w_dga * MIN(pair->dga, 4);
    }
    if (pair->punycode && p->w_punycode) {
        v.reasons |= PM_DNS_REASON_PUNYCODE;
        extra += (u128)p->w_punycode * MIN(pair->punycode, 2);
    }
    {
        u128 sc = (2 * num + den) / (2 * den) + extra;

        v.score = sc > UINT32_MAX ? UINT32_MAX : (uint32_t)sc;
    }

    if (v.score >= p->high_score ||
        (q >= p->min_queries && share_at_least(u, q, p->high_unanswered_pct)) ||
        (r >= p->min_queries && share_at_least(s, r, p->high_servfail_pct)))
        v.level = PM_LEVEL_HIGH;
    else if (v.score >= p->medium_score ||
             (q >= p->min_queries && u > 0 && share_at_least(u, q, p->medium_unanswered_pct)) ||
             (r >= p->min_queries && s > 0 && share_at_least(s, r, p->medium_servfail_pct)) ||
             slow || pair->dga > 0)
        v.level = PM_LEVEL_MEDIUM;
    else if (v.score >= 1)
        v.level = PM_LEVEL_LOW;
    return v;
}

unsigned
pm_dns_reasons(const pm_dns_verdict *v, const pm_dns_pair *pair, pm_lang lang,
               pm_reason_cb emit, void *user)
{
    bool es = lang == PM_LANG_ES;
    char buf[160], pct[32], ms[G_ASCII_DTOSTR_BUF_SIZE];
    unsigned n = 0;
    const char *of = es ? "de" : "of";
    struct { unsigned bit; const char *en, *es; uint64_t x, d; } shares[] = {
        { PM_DNS_REASON_UNANSWERED, "unanswered queries", "consultas sin respuesta",
          pm_dns_unanswered(pair), pair->queries },
        { PM_DNS_REASON_SERVFAIL, "SERVFAIL", "SERVFAIL", pair->rcode[PM_RC_SERVFAIL], pair->responses },
        { PM_DNS_REASON_REFUSED, "REFUSED", "REFUSED", pair->rcode[PM_RC_REFUSED], pair->responses },
        { PM_DNS_REASON_NXDOMAIN, "NXDOMAIN", "NXDOMAIN", pair->rcode[PM_RC_NXDOMAIN], pair->responses },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(shares); i++) {
        if (!(v->reasons & shares[i].bit))
            continue;
        pm_pct_text(shares[i].x, shares[i].d, pct, sizeof pct);
        snprintf(buf, sizeof buf, "%s %s%% (%llu %s %llu)", es ? shares[i].es : shares[i].en, pct,
                 (unsigned long long)shares[i].x, of, (unsigned long long)shares[i].d);
        emit(buf, user);
        n++;
    }
    if (v->reasons & PM_DNS_REASON_SLOW) {
        g_ascii_formatd(ms, sizeof ms, "%.1f", v->p95_ms);
        snprintf(buf, sizeof buf, es ? "respuestas lentas p95 %s ms (%llu respuestas)"
                                     : "slow answers p95 %s ms (%llu answers)",
                 ms, (unsigned long long)v->samples);
        emit(buf, user);
        n++;
    }
    if (v->reasons & PM_DNS_REASON_DGA) {
        snprintf(buf, sizeof buf, es ? "nombres tipo DGA (%llu)" : "DGA-like names (%llu)",
                 (unsigned long long)pair->dga);
        emit(buf, user);
        n++;
    }
    if (v->reasons & PM_DNS_REASON_PUNYCODE) {
        snprintf(buf, sizeof buf, es ? "nombres punycode (%llu)" : "punycode names (%llu)",
                 (unsigned long long)pair->punycode);
        emit(buf, user);
        n++;
    }
    return n;
}
