/* pm_state.c
 * Writes the raw state of conversations, DNS pairs and the summary into
 * the JSON document, and reads whole documents back (pm_state.h).
 *
 * The state holds exactly what the outputs are computed from, in a form
 * that restores it bit for bit: integers as integers, floats with enough
 * digits to round-trip (%.9g for float, %.17g for double), sketches as
 * their buckets, names as their bytes. Nothing else of the document is
 * read back: scores, levels, reasons and percentiles are recomputed from
 * the state, which is what makes a merge exact.
 *
 * Reading uses wsutil's jsmn tokenizer (json_parse), sized to the
 * document, and walks the tokens once: a member is found by skipping
 * sibling subtrees, never by indexing arrays from their start, so a
 * document of a million conversations is read in linear time. Every value
 * is checked (type, range, consistency): a document is outside input.
 *
 * Copyright (c) 2026 The PacketMancer authors
 * SPDX-License-Identifier: MIT
 */

#include "pm_state.h"
#include "pm_report.h"
#include "pm_sketch.h"

#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wsutil/wsjson.h>

/* --------------------------------------------------------------- names */

/* The settings of the document, as json_settings() in pm_report.c names
 * them, and where each lives. */
typedef struct setting {
    const char *name;
    size_t offset;
} setting;

#define SP(f) offsetof(pm_score_params, f)
static const setting score_settings[] = {
    { "weight_retransmission", SP(w_retx) }, { "weight_zero_window", SP(w_zero_window) },
    { "weight_dup_ack", SP(w_dup_ack) }, { "weight_out_of_order", SP(w_out_of_order) },
    { "high_score", SP(high_score) }, { "high_retransmissions", SP(high_retx) },
    { "high_zero_window", SP(high_zero_window) }, { "medium_score", SP(medium_score) },
    { "medium_retransmissions", SP(medium_retx) }, { "medium_zero_window", SP(medium_zero_window) },
    { "medium_dup_ack", SP(medium_dup_ack) }, { "ooo_percent", SP(ooo_percent) },
    { "ooo_min", SP(ooo_min) }, { "reason_dup_ack", SP(reason_dup_ack) },
    { "cap_retransmissions", SP(cap_retx) }, { "cap_score", SP(cap_score) },
    { "weight_refused", SP(w_refused) }, { "weight_no_answer", SP(w_no_answer) },
    { "weight_slow_rtt", SP(w_slow_rtt) }, { "slow_rtt_ms", SP(slow_rtt_ms) },
    { "slow_rtt_min_samples", SP(slow_rtt_min_samples) },
};
G_STATIC_ASSERT(G_N_ELEMENTS(score_settings) * sizeof(unsigned) == sizeof(pm_score_params));

#define DP(f) offsetof(pm_dns_params, f)
static const setting dns_settings[] = {
    { "dns_min_queries", DP(min_queries) }, { "dns_weight_unanswered", DP(w_unanswered) },
    { "dns_weight_servfail", DP(w_servfail) }, { "dns_weight_refused", DP(w_refused) },
    { "dns_weight_nxdomain", DP(w_nxdomain) }, { "dns_latency_threshold_ms", DP(latency_ms) },
    { "dns_latency_min_samples", DP(latency_min_samples) }, { "dns_weight_slow", DP(w_slow) },
    { "dns_weight_dga", DP(w_dga) }, { "dns_weight_punycode", DP(w_punycode) },
    { "dns_high_score", DP(high_score) }, { "dns_medium_score", DP(medium_score) },
    { "dns_high_unanswered_pct", DP(high_unanswered_pct) },
    { "dns_medium_unanswered_pct", DP(medium_unanswered_pct) },
    { "dns_high_servfail_pct", DP(high_servfail_pct) },
    { "dns_medium_servfail_pct", DP(medium_servfail_pct) },
};
G_STATIC_ASSERT(G_N_ELEMENTS(dns_settings) * sizeof(unsigned) == sizeof(pm_dns_params));

static const char *const outcome_keys[PM_OUT_COUNT] = {
    "nxdomain", "servfail", "refused", "unanswered", "suspicious",
};

/* A direction's counters, in the order and with the names of the
 * document's "c2s"/"s2c" objects. */
#define DC(f) offsetof(pm_dir_counters, f)
static const struct { const char *name; size_t offset; bool wide; } dir_fields[] = {
    { "packets", DC(packets), true }, { "bytes", DC(bytes), true },
    { "retransmissions", DC(retransmissions), false },
    { "spurious_retransmissions", DC(spurious_retransmissions), false },
    { "out_of_order", DC(out_of_order), false },
    { "zero_window_events", DC(zero_window_events), false },
    { "duplicate_ack_events", DC(duplicate_ack_events), false },
    { "lost_segments", DC(lost_segments), false }, { "resets", DC(resets), false },
    { "zero_window_probes", DC(zero_window_probes), false },
    { "capture_duplicates", DC(capture_duplicates), false },
    { "acked_unseen", DC(acked_unseen), false },
};

/* --------------------------------------------------------------- write */

static void
put_uint(pm_json *d, const char *name, uint64_t v)
{
    pm_json_member(d, name);
    pm_json_uint(d, v);
}

static void
put_int(pm_json *d, const char *name, int64_t v)
{
    pm_json_member(d, name);
    pm_json_int(d, v);
}

/* A double that reads back as the same double. */
static void
put_double(pm_json *d, const char *name, double v)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];

    pm_json_member(d, name);
    pm_json_raw(d, g_ascii_formatd(buf, sizeof buf, "%.17g", v));
}

static void
put_endpoint(pm_json *d, const char *name, const pm_endpoint *e, bool port)
{
    char hex[33];
    size_t n = e->family == 6 ? 16 : 4;

    for (size_t i = 0; i < n; i++)
        snprintf(hex + 2 * i, 3, "%02x", e->addr[i]);
    pm_json_member(d, name);
    pm_json_begin_object(d);
    put_uint(d, "family", e->family);
    pm_json_member(d, "addr");
    pm_json_string(d, hex);
    if (port)
        put_uint(d, "port", e->port);
    pm_json_end_object(d);
}

/* A name as its bytes: "name" when it is UTF-8 (JSON strings must be),
 * else "name_hex". The document's other lists show names made valid;
 * the state must not, or two names would become one. */
static void
put_name(pm_json *d, const char *name)
{
    if (g_utf8_validate(name, -1, NULL)) {
        pm_json_member(d, "name");
        pm_json_string(d, name);
    } else {
        GString *hex = g_string_new(NULL);

        for (const unsigned char *c = (const unsigned char *)name; *c; c++)
            g_string_append_printf(hex, "%02x", *c);
        pm_json_member(d, "name_hex");
        pm_json_string(d, hex->str);
        g_string_free(hex, TRUE);
    }
}

static void
put_sketch(pm_json *d, const char *name, const struct pm_sketch *k)
{
    pm_sketch_raw raw;
    int32_t index[PM_SKETCH_BUCKETS];
    uint32_t count[PM_SKETCH_BUCKETS];
    size_t n;

    pm_json_member(d, name);
    /* No sample: the same as no sketch for every output. */
    if (!k || pm_sketch_count(k) == 0) {
        pm_json_raw(d, "null");
        return;
    }
    pm_sketch_export(k, &raw);
    n = pm_sketch_buckets(k, index, count);
    pm_json_begin_object(d);
    put_uint(d, "count", raw.count);
    put_uint(d, "zero", raw.zero);
    put_uint(d, "collapsed", raw.collapsed);
    put_double(d, "min", raw.min);
    put_double(d, "max", raw.max);
    pm_json_member(d, "hi");
    if (raw.hi == PM_SKETCH_NO_INDEX)
        pm_json_raw(d, "null");
    else
        pm_json_int(d, raw.hi);
    pm_json_member(d, "buckets");
    pm_json_begin_array(d);
    for (size_t i = 0; i < n; i++) {
        pm_json_begin_array(d);
        pm_json_int(d, index[i]);
        pm_json_uint(d, count[i]);
        pm_json_end_array(d);
    }
    pm_json_end_array(d);
    pm_json_end_object(d);
}

void
pm_state_json_conv(pm_json *d, const pm_conv *c)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];

    pm_json_member(d, "state");
    pm_json_begin_object(d);
    put_endpoint(d, "client", &c->client, true);
    put_endpoint(d, "server", &c->server, true);
    for (int dir = 0; dir < 2; dir++) {
        pm_json_member(d, dir == PM_C2S ? "c2s" : "s2c");
        pm_json_begin_object(d);
        for (size_t i = 0; i < G_N_ELEMENTS(dir_fields); i++) {
            const char *p = (const char *)&c->dir[dir] + dir_fields[i].offset;

            put_uint(d, dir_fields[i].name,
                     dir_fields[i].wide ? *(const uint64_t *)p : *(const uint32_t *)p);
        }
        pm_json_end_object(d);
    }
    put_uint(d, "first_frame", c->first_frame);
    put_uint(d, "last_frame", c->last_frame);
    pm_json_member(d, "client_from_syn");
    pm_json_raw(d, c->client_from_syn ? "true" : "false");
    put_uint(d, "hs_seen", c->hs_seen);
    put_uint(d, "syns", c->syns);
    pm_json_member(d, "initial_rtt_ms");
    if (c->initial_rtt_ms < 0)
        pm_json_raw(d, "null");
    else   /* 9 significant digits bring a float back exactly */
        pm_json_raw(d, g_ascii_formatd(buf, sizeof buf, "%.9g", c->initial_rtt_ms));
    put_int(d, "first_ts_us", c->first_ts_us);
    put_int(d, "last_ts_us", c->last_ts_us);
    pm_json_member(d, "evidence");
    pm_json_begin_object(d);
    for (int i = 0; i < PM_EV_COUNT; i++) {
        pm_json_member(d, pm_event_counter_name(i));
        pm_json_begin_array(d);
        for (int j = 0; j < c->evidence_n[i] && j < PM_EVIDENCE_FRAMES; j++)
            pm_json_uint(d, c->evidence[i][j]);
        pm_json_end_array(d);
    }
    pm_json_end_object(d);
    {
        pm_sketch scratch[2];

        put_sketch(d, "rtt_c2s", pm_conv_sketch(c, PM_C2S, &scratch[0]));
        put_sketch(d, "rtt_s2c", pm_conv_sketch(c, PM_S2C, &scratch[1]));
    }
    pm_json_end_object(d);
}

void
pm_state_json_dns_pair(pm_json *d, const pm_dns_pair *p)
{
    pm_json_member(d, "state");
    pm_json_begin_object(d);
    put_endpoint(d, "client", &p->client, false);
    put_endpoint(d, "server", &p->server, false);
    put_uint(d, "first_frame", p->first_frame);
    put_uint(d, "last_frame", p->last_frame);
    put_uint(d, "queries", p->queries);
    put_uint(d, "queries_udp", p->queries_udp);
    put_uint(d, "queries_tcp", p->queries_tcp);
    put_uint(d, "retransmitted_queries", p->retransmitted_queries);
    put_uint(d, "responses", p->responses);
    put_uint(d, "duplicate_responses", p->duplicate_responses);
    put_uint(d, "answered", p->answered);
    pm_json_member(d, "rcodes");
    pm_json_begin_array(d);
    for (int i = 0; i < PM_RC_COUNT; i++)
        pm_json_uint(d, p->rcode[i]);
    pm_json_end_array(d);
    put_uint(d, "punycode", p->punycode);
    put_uint(d, "dga", p->dga);
    put_sketch(d, "latency", p->latency);
    pm_json_member(d, "top");
    pm_json_begin_object(d);
    for (int o = 0; o < PM_OUT_COUNT; o++) {
        pm_json_member(d, outcome_keys[o]);
        pm_json_begin_array(d);
        /* Slots fill from the first and are never emptied: the used
         * ones are a prefix, kept in slot order. */
        for (int i = 0; i < PM_DNS_TOP_NAMES && p->top[o][i].name; i++) {
            pm_json_begin_object(d);
            put_name(d, p->top[o][i].name);
            put_uint(d, "count", p->top[o][i].count);
            put_uint(d, "error", p->top[o][i].error);
            pm_json_end_object(d);
        }
        pm_json_end_array(d);
    }
    pm_json_end_object(d);
    pm_json_member(d, "pending");
    pm_json_begin_array(d);
    for (int i = 0; i < PM_DNS_PENDING; i++) {
        if (!p->pending[i].frame || !p->pending[i].name)
            continue;
        pm_json_begin_object(d);
        put_uint(d, "slot", (uint64_t)i);
        put_uint(d, "frame", p->pending[i].frame);
        put_name(d, p->pending[i].name);
        pm_json_end_object(d);
    }
    pm_json_end_array(d);
    put_uint(d, "pending_next", p->pending_next);
    pm_json_end_object(d);
}

void
pm_state_json_summary(pm_json *d, const pm_summary *s)
{
    pm_json_member(d, "state");
    pm_json_begin_object(d);
    put_uint(d, "version", PM_STATE_VERSION);
    put_uint(d, "packets_total", s->packets_total);
    put_uint(d, "bytes_total", s->bytes_total);
    put_uint(d, "truncated_frames", s->truncated_frames);
    put_int(d, "first_ts_us", s->first_ts_us);
    put_int(d, "last_ts_us", s->last_ts_us);
    pm_json_end_object(d);
}

/* ---------------------------------------------------------------- read */

typedef struct reader {
    char *buf;
    jsmntok_t *tok;
    int ntok;
    const uint32_t *map;
    size_t map_len;
    char *err;            /* the first error */
    const char *where;    /* "conversation 12" ..., for messages */
    size_t where_n;
} reader;

static bool G_GNUC_PRINTF(2, 3)
fail(reader *r, const char *fmt, ...)
{
    va_list ap;
    char *msg;

    if (r->err)
        return false;
    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (r->where)
        r->err = g_strdup_printf("%s %zu: %s", r->where, r->where_n, msg);
    else
        r->err = g_strdup(msg);
    g_free(msg);
    return false;
}

/* Index just past token i and everything inside it. */
static int
skip(const reader *r, int i)
{
    /* Each token stands for itself and announces `size` direct children
     * (an object's keys, a key's value, an array's elements). */
    for (long pending = 1; pending > 0 && i < r->ntok; pending--)
        pending += r->tok[i++].size;
    return i;
}

static bool
tok_is(const reader *r, int i, const char *text)
{
    const jsmntok_t *t = &r->tok[i];
    size_t n = strlen(text);

    return (size_t)(t->end - t->start) == n && memcmp(r->buf + t->start, text, n) == 0;
}

/* The value of member `name` of object obj, or -1. */
static int
member(const reader *r, int obj, const char *name)
{
    int i = obj + 1;

    if (obj < 0 || r->tok[obj].type != JSMN_OBJECT)
        return -1;
    for (int k = 0; k < r->tok[obj].size && i < r->ntok; k++) {
        if (r->tok[i].type == JSMN_STRING && r->tok[i].size == 1 && tok_is(r, i, name))
            return i + 1;
        i = skip(r, i);
    }
    return -1;
}

static bool
is_null(const reader *r, int i)
{
    return i >= 0 && r->tok[i].type == JSMN_PRIMITIVE && tok_is(r, i, "null");
}

/* Member of a given type; a message naming it otherwise. */
static int
need(reader *r, int obj, const char *name, jsmntype_t type)
{
    static const char *const kinds[] = { "?", "an object", "an array", "a string", "a value" };
    int i = member(r, obj, name);

    if (i < 0) {
        fail(r, "\"%s\" is missing", name);
        return -1;
    }
    if (r->tok[i].type != type) {
        fail(r, "\"%s\" is not %s", name, kinds[type]);
        return -1;
    }
    return i;
}

/* An unsigned integer token: digits only, at most max. */
static bool
tok_uint(reader *r, int i, const char *name, uint64_t max, uint64_t *out)
{
    const jsmntok_t *t;
    char tmp[24];
    size_t n;

    if (i < 0)
        return false;
    t = &r->tok[i];
    n = (size_t)(t->end - t->start);
    if (t->type != JSMN_PRIMITIVE || n == 0 || n >= sizeof tmp)
        return fail(r, "\"%s\" is not an unsigned integer", name);
    memcpy(tmp, r->buf + t->start, n);
    tmp[n] = '\0';
    for (size_t k = 0; k < n; k++)
        if (tmp[k] < '0' || tmp[k] > '9')
            return fail(r, "\"%s\" is not an unsigned integer", name);
    errno = 0;
    *out = g_ascii_strtoull(tmp, NULL, 10);
    if (errno || *out > max)
        return fail(r, "\"%s\" is out of range", name);
    return true;
}

static bool
get_uint(reader *r, int obj, const char *name, uint64_t max, uint64_t *out)
{
    int i = member(r, obj, name);

    if (i < 0)
        return fail(r, "\"%s\" is missing", name);
    return tok_uint(r, i, name, max, out);
}

static bool
get_u32(reader *r, int obj, const char *name, uint32_t *out)
{
    uint64_t v;

    if (!get_uint(r, obj, name, UINT32_MAX, &v))
        return false;
    *out = (uint32_t)v;
    return true;
}

static bool
get_int(reader *r, int obj, const char *name, int64_t *out)
{
    int i = member(r, obj, name);
    const jsmntok_t *t;
    char tmp[24], *end;
    size_t n;

    if (i < 0)
        return fail(r, "\"%s\" is missing", name);
    t = &r->tok[i];
    n = (size_t)(t->end - t->start);
    if (t->type != JSMN_PRIMITIVE || n == 0 || n >= sizeof tmp)
        return fail(r, "\"%s\" is not an integer", name);
    memcpy(tmp, r->buf + t->start, n);
    tmp[n] = '\0';
    if (!(tmp[0] == '-' || (tmp[0] >= '0' && tmp[0] <= '9')))
        return fail(r, "\"%s\" is not an integer", name);
    errno = 0;
    *out = g_ascii_strtoll(tmp, &end, 10);
    if (errno || *end)
        return fail(r, "\"%s\" is not an integer", name);
    return true;
}

/* A finite number token (no nan/inf spellings: JSON has none). */
static bool
tok_double(reader *r, int i, const char *name, double *out)
{
    const jsmntok_t *t = &r->tok[i];
    char tmp[64], *end;
    size_t n = (size_t)(t->end - t->start);

    if (t->type != JSMN_PRIMITIVE || n == 0 || n >= sizeof tmp)
        return fail(r, "\"%s\" is not a number", name);
    memcpy(tmp, r->buf + t->start, n);
    tmp[n] = '\0';
    if (!(tmp[0] == '-' || (tmp[0] >= '0' && tmp[0] <= '9')))
        return fail(r, "\"%s\" is not a number", name);
    errno = 0;
    *out = g_ascii_strtod(tmp, &end);
    if (*end || !isfinite(*out))
        return fail(r, "\"%s\" is not a number", name);
    return true;
}

static bool
get_bool(reader *r, int obj, const char *name, bool *out)
{
    int i = member(r, obj, name);

    if (i >= 0 && r->tok[i].type == JSMN_PRIMITIVE && tok_is(r, i, "true"))
        *out = true;
    else if (i >= 0 && r->tok[i].type == JSMN_PRIMITIVE && tok_is(r, i, "false"))
        *out = false;
    else
        return fail(r, "\"%s\" is not true or false", name);
    return true;
}

/* A string token, unescaped, newly allocated; NULL (and an error) if it is
 * not a string or holds what JSON strings cannot (a NUL escape). */
static char *
tok_string(reader *r, int i, const char *name)
{
    const jsmntok_t *t;
    char *s;

    if (i < 0 || r->tok[i].type != JSMN_STRING) {
        fail(r, "\"%s\" is not a string", name);
        return NULL;
    }
    t = &r->tok[i];
    s = g_strndup(r->buf + t->start, (gsize)(t->end - t->start));
    if (!json_decode_string_inplace(s)) {
        g_free(s);
        fail(r, "\"%s\" is not a valid JSON string", name);
        return NULL;
    }
    return s;
}

/* A member that is a string or null: *out NULL for null. */
static bool
get_string_or_null(reader *r, int obj, const char *name, char **out)
{
    int i = member(r, obj, name);

    *out = NULL;
    if (i < 0)
        return fail(r, "\"%s\" is missing", name);
    if (is_null(r, i))
        return true;
    *out = tok_string(r, i, name);
    return *out != NULL;
}

static int
hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Exactly n bytes from 2n hex digits. */
static bool
unhex(const char *s, uint8_t *out, size_t n)
{
    if (strlen(s) != 2 * n)
        return false;
    for (size_t i = 0; i < n; i++) {
        int a = hexval(s[2 * i]), b = hexval(s[2 * i + 1]);

        if (a < 0 || b < 0)
            return false;
        out[i] = (uint8_t)(a << 4 | b);
    }
    return true;
}

static bool
get_endpoint(reader *r, int obj, const char *name, pm_endpoint *e, bool port)
{
    int i = need(r, obj, name, JSMN_OBJECT);
    uint64_t fam, p = 0;
    char *hex;
    bool ok;

    memset(e, 0, sizeof *e);
    if (i < 0 || !get_uint(r, i, "family", 6, &fam))
        return false;
    if (fam != 4 && fam != 6)
        return fail(r, "\"%s\": family %llu is neither 4 nor 6", name, (unsigned long long)fam);
    if (port && !get_uint(r, i, "port", UINT16_MAX, &p))
        return false;
    hex = tok_string(r, member(r, i, "addr"), "addr");
    if (!hex)
        return false;
    ok = unhex(hex, e->addr, fam == 6 ? 16 : 4);
    g_free(hex);
    if (!ok)
        return fail(r, "\"%s\": addr is not %d hex bytes", name, fam == 6 ? 16 : 4);
    e->family = (uint8_t)fam;
    e->port = (uint16_t)p;
    return true;
}

/* A shard's frame number in the whole capture. */
static bool
map_frame(reader *r, uint32_t f, uint32_t *out)
{
    if (!r->map) {
        *out = f;
        return true;
    }
    if (f == 0 || f > r->map_len)
        return fail(r, "frame %u is beyond the frame map (%zu frames)", f, r->map_len);
    *out = r->map[f - 1];
    return true;
}

static bool
get_frame(reader *r, int obj, const char *name, uint32_t *out)
{
    uint32_t f;

    return get_u32(r, obj, name, &f) && map_frame(r, f, out);
}

/* A name: "name" (UTF-8) or "name_hex" (any bytes but NUL), at most
 * PM_DNS_NAME_MAX bytes, as pm_dns.c keeps them. */
static char *
get_name(reader *r, int obj)
{
    int i = member(r, obj, "name");
    char *s;

    if (i >= 0) {
        s = tok_string(r, i, "name");
    } else {
        char *hex = tok_string(r, member(r, obj, "name_hex"), "name_hex");
        size_t n;

        if (!hex)
            return NULL;
        n = strlen(hex) / 2;
        s = g_malloc0(n + 1);
        if (!unhex(hex, (uint8_t *)s, n) || strlen(s) != n) {
            g_free(s);
            s = NULL;
            fail(r, "\"name_hex\" is not hex bytes without NUL");
        }
        g_free(hex);
    }
    if (s && strlen(s) > PM_DNS_NAME_MAX) {
        g_free(s);
        s = NULL;
        fail(r, "a name is longer than %d bytes", PM_DNS_NAME_MAX);
    }
    return s;
}

/* A sketch object into k; *present false for null. */
static bool
get_sketch(reader *r, int obj, const char *name, pm_sketch *k, bool *present)
{
    int i = member(r, obj, name), b, e;
    pm_sketch_raw raw;
    int32_t index[PM_SKETCH_BUCKETS];
    uint32_t count[PM_SKETCH_BUCKETS];
    size_t n = 0;
    int h;

    *present = false;
    if (i < 0)
        return fail(r, "\"%s\" is missing", name);
    if (is_null(r, i))
        return true;
    if (r->tok[i].type != JSMN_OBJECT)
        return fail(r, "\"%s\" is not a sketch", name);
    if (!get_uint(r, i, "count", UINT64_MAX, &raw.count) ||
        !get_uint(r, i, "zero", UINT64_MAX, &raw.zero) ||
        !get_uint(r, i, "collapsed", UINT64_MAX, &raw.collapsed))
        return false;
    if ((h = member(r, i, "min")) < 0 || !tok_double(r, h, "min", &raw.min) ||
        (h = member(r, i, "max")) < 0 || !tok_double(r, h, "max", &raw.max))
        return r->err ? false : fail(r, "\"%s\": min or max is missing", name);
    h = member(r, i, "hi");
    if (is_null(r, h)) {
        raw.hi = PM_SKETCH_NO_INDEX;
    } else {
        int64_t hi;

        if (!get_int(r, i, "hi", &hi))
            return false;
        if (hi <= INT32_MIN || hi > INT32_MAX)
            return fail(r, "\"%s\": hi is out of range", name);
        raw.hi = (int32_t)hi;
    }
    if ((b = need(r, i, "buckets", JSMN_ARRAY)) < 0)
        return false;
    if (r->tok[b].size > PM_SKETCH_BUCKETS)
        return fail(r, "\"%s\" has more than %d buckets", name, PM_SKETCH_BUCKETS);
    e = b + 1;
    for (int k2 = 0; k2 < r->tok[b].size; k2++, n++) {
        uint64_t c;
        double idx;

        if (r->tok[e].type != JSMN_ARRAY || r->tok[e].size != 2)
            return fail(r, "\"%s\": a bucket is not [index, count]", name);
        if (!tok_double(r, e + 1, "bucket index", &idx) || idx != floor(idx) ||
            idx < INT32_MIN + 1.0 || idx > INT32_MAX)
            return r->err ? false : fail(r, "\"%s\": a bucket index is not an integer", name);
        if (!tok_uint(r, e + 2, "bucket count", UINT32_MAX, &c))
            return false;
        index[n] = (int32_t)idx;
        count[n] = (uint32_t)c;
        e = skip(r, e);
    }
    if (!pm_sketch_import(k, &raw, index, count, n))
        return fail(r, "\"%s\" is not a consistent sketch", name);
    *present = raw.count > 0;
    return true;
}

static bool
read_conv(reader *r, int obj, pm_table *t, uint32_t stream)
{
    int s = need(r, obj, "state", JSMN_OBJECT), ev;
    pm_conv c;
    pm_sketch k[2];
    bool have[2];
    uint64_t v;
    int h;

    if (s < 0)
        return false;
    memset(&c, 0, sizeof c);
    if (!get_endpoint(r, s, "client", &c.client, true) ||
        !get_endpoint(r, s, "server", &c.server, true))
        return false;
    for (int dir = 0; dir < 2; dir++) {
        int o = need(r, s, dir == PM_C2S ? "c2s" : "s2c", JSMN_OBJECT);

        if (o < 0)
            return false;
        for (size_t i = 0; i < G_N_ELEMENTS(dir_fields); i++) {
            char *p = (char *)&c.dir[dir] + dir_fields[i].offset;

            if (!get_uint(r, o, dir_fields[i].name, dir_fields[i].wide ? UINT64_MAX : UINT32_MAX, &v))
                return false;
            if (dir_fields[i].wide)
                *(uint64_t *)p = v;
            else
                *(uint32_t *)p = (uint32_t)v;
        }
    }
    if (!get_frame(r, s, "first_frame", &c.first_frame) ||
        !get_frame(r, s, "last_frame", &c.last_frame) ||
        !get_bool(r, s, "client_from_syn", &c.client_from_syn))
        return false;
    if (!get_uint(r, s, "hs_seen", 7, &v))
        return false;
    c.hs_seen = (uint8_t)v;
    if (!get_uint(r, s, "syns", UINT16_MAX, &v))
        return false;
    c.syns = (uint16_t)v;
    h = member(r, s, "initial_rtt_ms");
    if (h < 0)
        return fail(r, "\"initial_rtt_ms\" is missing");
    if (is_null(r, h)) {
        c.initial_rtt_ms = -1.0f;
    } else {
        double irtt;

        if (!tok_double(r, h, "initial_rtt_ms", &irtt))
            return false;
        if (irtt < 0 || irtt > FLT_MAX)
            return fail(r, "\"initial_rtt_ms\" is out of range");
        c.initial_rtt_ms = (float)irtt;
    }
    if (!get_int(r, s, "first_ts_us", &c.first_ts_us) || !get_int(r, s, "last_ts_us", &c.last_ts_us))
        return false;
    if ((ev = need(r, s, "evidence", JSMN_OBJECT)) < 0)
        return false;
    for (int i = 0; i < PM_EV_COUNT; i++) {
        int a = need(r, ev, pm_event_counter_name(i), JSMN_ARRAY), e;

        if (a < 0)
            return false;
        if (r->tok[a].size > PM_EVIDENCE_FRAMES)
            return fail(r, "more than %d evidence frames of %s", PM_EVIDENCE_FRAMES,
                        pm_event_counter_name(i));
        e = a + 1;
        for (int j = 0; j < r->tok[a].size; j++, e++) {
            if (!tok_uint(r, e, pm_event_counter_name(i), UINT32_MAX, &v) ||
                !map_frame(r, (uint32_t)v, &c.evidence[i][j]))
                return false;
        }
        c.evidence_n[i] = (uint8_t)r->tok[a].size;
    }
    if (!get_sketch(r, s, "rtt_c2s", &k[0], &have[0]) || !get_sketch(r, s, "rtt_s2c", &k[1], &have[1]))
        return false;
    c.rtt[0] = have[0] ? &k[0] : NULL;
    c.rtt[1] = have[1] ? &k[1] : NULL;
    c.stream = stream;
    if (!pm_table_import(t, &c))
        return fail(r, "stream %u is already in the table", stream);
    return true;
}

static bool
read_dns_pair(reader *r, int obj, pm_dns_table *d)
{
    int s = need(r, obj, "state", JSMN_OBJECT), a, top;
    pm_dns_pair p;
    pm_sketch lat;
    bool have, ok = false;
    static const struct { const char *name; size_t offset; } counts[] = {
        { "queries", offsetof(pm_dns_pair, queries) },
        { "queries_udp", offsetof(pm_dns_pair, queries_udp) },
        { "queries_tcp", offsetof(pm_dns_pair, queries_tcp) },
        { "retransmitted_queries", offsetof(pm_dns_pair, retransmitted_queries) },
        { "responses", offsetof(pm_dns_pair, responses) },
        { "duplicate_responses", offsetof(pm_dns_pair, duplicate_responses) },
        { "answered", offsetof(pm_dns_pair, answered) },
        { "punycode", offsetof(pm_dns_pair, punycode) },
        { "dga", offsetof(pm_dns_pair, dga) },
    };

    if (s < 0)
        return false;
    memset(&p, 0, sizeof p);
    if (!get_endpoint(r, s, "client", &p.client, false) ||
        !get_endpoint(r, s, "server", &p.server, false) ||
        !get_frame(r, s, "first_frame", &p.first_frame) ||
        !get_frame(r, s, "last_frame", &p.last_frame))
        return false;
    for (size_t i = 0; i < G_N_ELEMENTS(counts); i++)
        if (!get_uint(r, s, counts[i].name, UINT64_MAX, (uint64_t *)((char *)&p + counts[i].offset)))
            return false;
    if ((a = need(r, s, "rcodes", JSMN_ARRAY)) < 0)
        return false;
    if (r->tok[a].size != PM_RC_COUNT)
        return fail(r, "\"rcodes\" does not have %d counts", PM_RC_COUNT);
    for (int i = 0; i < PM_RC_COUNT; i++)
        if (!tok_uint(r, a + 1 + i, "rcodes", UINT64_MAX, &p.rcode[i]))
            return false;
    if (!get_sketch(r, s, "latency", &lat, &have))
        return false;
    p.latency = have ? &lat : NULL;
    if (!get_u32(r, s, "pending_next", &p.pending_next))
        return false;
    if (p.pending_next >= PM_DNS_PENDING)
        return fail(r, "\"pending_next\" is out of range");
    /* From here on names are allocated: one exit that frees them. */
    if ((top = need(r, s, "top", JSMN_OBJECT)) < 0)
        goto out;
    for (int o = 0; o < PM_OUT_COUNT; o++) {
        int e;

        if ((a = need(r, top, outcome_keys[o], JSMN_ARRAY)) < 0)
            goto out;
        if (r->tok[a].size > PM_DNS_TOP_NAMES) {
            fail(r, "more than %d top names for %s", PM_DNS_TOP_NAMES, outcome_keys[o]);
            goto out;
        }
        e = a + 1;
        for (int i = 0; i < r->tok[a].size; i++, e = skip(r, e)) {
            pm_dns_name_count *n = &p.top[o][i];

            if (r->tok[e].type != JSMN_OBJECT) {
                fail(r, "a top name of %s is not an object", outcome_keys[o]);
                goto out;
            }
            if (!get_uint(r, e, "count", UINT64_MAX, &n->count) ||
                !get_uint(r, e, "error", UINT64_MAX, &n->error) || !(n->name = get_name(r, e)))
                goto out;
            if (n->error >= n->count) {
                fail(r, "a top name's error is not below its count");
                goto out;
            }
        }
    }
    if ((a = need(r, s, "pending", JSMN_ARRAY)) < 0)
        goto out;
    for (int i = 0, e = a + 1; i < r->tok[a].size; i++, e = skip(r, e)) {
        uint32_t slot, frame;

        if (r->tok[e].type != JSMN_OBJECT) {
            fail(r, "a pending query is not an object");
            goto out;
        }
        if (!get_u32(r, e, "slot", &slot) || !get_u32(r, e, "frame", &frame))
            goto out;
        if (slot >= PM_DNS_PENDING || p.pending[slot].frame || frame == 0) {
            fail(r, "a pending query has a bad or repeated slot, or frame 0");
            goto out;
        }
        if (!map_frame(r, frame, &p.pending[slot].frame) || !(p.pending[slot].name = get_name(r, e)))
            goto out;
    }
    p.user_node = -1;
    pm_dns_import(d, &p);
    ok = true;
out:
    for (int o = 0; o < PM_OUT_COUNT; o++)
        for (int i = 0; i < PM_DNS_TOP_NAMES; i++)
            g_free(p.top[o][i].name);
    for (int i = 0; i < PM_DNS_PENDING; i++)
        g_free(p.pending[i].name);
    return ok;
}

static bool
read_settings(reader *r, int set, pm_state_doc *doc)
{
    int a, lang, win;
    uint64_t v;

    lang = member(r, set, "language");
    doc->lang = lang >= 0 && tok_is(r, lang, "es") ? PM_LANG_ES : PM_LANG_EN;
    for (size_t i = 0; i < G_N_ELEMENTS(score_settings); i++) {
        if (!get_uint(r, set, score_settings[i].name, UINT_MAX, &v))
            return false;
        *(unsigned *)((char *)&doc->score + score_settings[i].offset) = (unsigned)v;
    }
    if (!get_uint(r, set, "json_top", UINT_MAX, &v))
        return false;
    doc->json_top = (unsigned)v;
    /* Optional: documents made before it was written have none. */
    win = member(r, set, "dup_window_ms");
    doc->has_dup_window = win >= 0;
    if (doc->has_dup_window) {
        if (!tok_uint(r, win, "dup_window_ms", UINT_MAX, &v))
            return false;
        doc->dup_window_ms = (unsigned)v;
    }
    if ((a = need(r, set, "detectors", JSMN_ARRAY)) < 0)
        return false;
    for (int i = 0, e = a + 1; i < r->tok[a].size; i++, e = skip(r, e)) {
        if (r->tok[e].type == JSMN_STRING && tok_is(r, e, "tcp_health"))
            doc->tcp_health = true;
        else if (r->tok[e].type == JSMN_STRING && tok_is(r, e, "dns_health"))
            doc->dns_health = true;
        else
            return fail(r, "unknown detector in \"detectors\"");
    }
    pm_dns_params_default(&doc->dns);
    if (doc->dns_health) {
        for (size_t i = 0; i < G_N_ELEMENTS(dns_settings); i++) {
            if (!get_uint(r, set, dns_settings[i].name, UINT_MAX, &v))
                return false;
            *(unsigned *)((char *)&doc->dns + dns_settings[i].offset) = (unsigned)v;
        }
    }
    return true;
}

/* ------------------------------------------------------ big documents */

/* jsmn as Wireshark 4.0 builds it (without JSMN_PARENT_LINKS) finds the
 * parent of a closing bracket by walking back over every token before it,
 * so an array of n conversations costs O(n^2): 200,000 conversations did
 * not finish in 5 minutes. So the document is first cut with a linear
 * scan that only follows strings and brackets: each entry of the
 * detectors' lists is tokenized on its own, then what remains without
 * the lists' insides (summary, settings, totals: a few KB) is tokenized
 * once. jsmn still checks every byte; the scan only checks what it takes
 * out: that the lists hold objects separated by single commas. A side
 * effect: jsmn's int positions only limit an entry, not the document,
 * so documents over 2 GiB (a merge of merges) are read too. */

typedef struct span {
    size_t start, end;     /* [start, end) in the document */
} span;

enum { L_TCP, L_DNS, L_COUNT };

typedef struct lists {
    GArray *entries[L_COUNT];   /* spans of top_by_severity's entries */
    bool seen[L_COUNT];         /* the list is there */
    GArray *blank;              /* insides of every detector list */
    bool summary_state;         /* summary has a "state" member */
} lists;

/* What an open bracket is, as far as the cut is concerned. */
enum { R_OTHER, R_ROOT, R_SUMMARY, R_DETECTORS, R_TCP, R_DNS, R_LIST, R_SEVERITY_TCP,
       R_SEVERITY_DNS, R_ENTRY };

#define SCAN_DEPTH 64

typedef struct scan_frame {
    char type;             /* '{' or '[' */
    int role;
    size_t open;           /* offset of the bracket */
    const char *key;       /* the last key read in this object */
    size_t key_len;
    int sep;               /* lists: 0 start, 1 after an entry, 2 after a comma */
} scan_frame;

static bool
key_is(const scan_frame *f, const char *k)
{
    return f->key && f->key_len == strlen(k) && memcmp(f->key, k, f->key_len) == 0;
}

static int
child_role(const scan_frame *parent, char type)
{
    if (!parent)
        return type == '{' ? R_ROOT : R_OTHER;
    switch (parent->role) {
    case R_ROOT:
        if (type == '{' && key_is(parent, "summary"))
            return R_SUMMARY;
        if (type == '{' && key_is(parent, "detectors"))
            return R_DETECTORS;
        break;
    case R_DETECTORS:
        if (type == '{' && key_is(parent, "tcp_health"))
            return R_TCP;
        if (type == '{' && key_is(parent, "dns_health"))
            return R_DNS;
        break;
    case R_TCP:
    case R_DNS:
        if (type == '[' && key_is(parent, "top_by_severity"))
            return parent->role == R_TCP ? R_SEVERITY_TCP : R_SEVERITY_DNS;
        if (type == '[' && (key_is(parent, "top_by_packets") || key_is(parent, "top_by_bytes")))
            return R_LIST;
        break;
    case R_LIST:
    case R_SEVERITY_TCP:
    case R_SEVERITY_DNS:
        return R_ENTRY;
    }
    return R_OTHER;
}

static bool
is_list(int role)
{
    return role == R_LIST || role == R_SEVERITY_TCP || role == R_SEVERITY_DNS;
}

static bool
scan_lists(const char *buf, size_t len, lists *l, char **err)
{
    scan_frame st[SCAN_DEPTH];
    int depth = 0;
    const char *last = NULL;   /* the last string, a key if ':' follows */
    size_t last_len = 0;

    for (size_t i = 0; i < len; i++) {
        char c = buf[i];
        scan_frame *top = depth ? &st[depth - 1] : NULL;

        if (c == ' ' || c == '\n' || c == '\t' || c == '\r')
            continue;
        if (top && is_list(top->role) && c != '{' && c != ',' && c != ']') {
            *err = g_strdup("an entry of a detector's list is not an object");
            return false;
        }
        switch (c) {
        case '"': {
            size_t j = i + 1;

            while (j < len && buf[j] != '"')
                j += buf[j] == '\\' ? 2 : 1;
            if (j >= len) {
                *err = g_strdup("not JSON (incomplete: cut short?)");
                return false;
            }
            last = buf + i + 1;
            last_len = j - i - 1;
            i = j;
            break;
        }
        case ':':
            if (top && top->type == '{') {
                top->key = last;
                top->key_len = last_len;
                if (top->role == R_SUMMARY && key_is(top, "state"))
                    l->summary_state = true;
            }
            break;
        case ',':
            if (top && is_list(top->role)) {
                if (top->sep != 1) {
                    *err = g_strdup("not JSON (a stray comma in a detector's list)");
                    return false;
                }
                top->sep = 2;
            }
            break;
        case '{':
        case '[':
            if (depth == SCAN_DEPTH) {
                *err = g_strdup("not a PacketMancer document (nested too deeply)");
                return false;
            }
            if (top && is_list(top->role)) {
                if (top->sep == 1) {
                    *err = g_strdup("not JSON (entries of a detector's list without a comma)");
                    return false;
                }
                top->sep = 1;
            }
            st[depth] = (scan_frame){ c, child_role(top, c), i, NULL, 0, 0 };
            if (st[depth].role == R_SEVERITY_TCP)
                l->seen[L_TCP] = true;
            if (st[depth].role == R_SEVERITY_DNS)
                l->seen[L_DNS] = true;
            depth++;
            break;
        case '}':
        case ']':
            if (!top || top->type != (c == '}' ? '{' : '[') || (is_list(top->role) && top->sep == 2)) {
                *err = g_strdup("not JSON (unbalanced brackets)");
                return false;
            }
            if (top->role == R_ENTRY && depth >= 2) {
                int list = st[depth - 2].role;
                span e = { top->open, i + 1 };

                if (list == R_SEVERITY_TCP)
                    g_array_append_val(l->entries[L_TCP], e);
                else if (list == R_SEVERITY_DNS)
                    g_array_append_val(l->entries[L_DNS], e);
            } else if (is_list(top->role)) {
                span inside = { top->open + 1, i };

                g_array_append_val(l->blank, inside);
            }
            depth--;
            break;
        default:
            break;             /* numbers, true, false, null: jsmn checks them */
        }
    }
    if (depth) {
        *err = g_strdup("not JSON (incomplete: cut short?)");
        return false;
    }
    return true;
}

/* Tokenizes text (NUL-terminated) into r: a first pass only counts. */
static bool
tokenize(reader *r, char *text)
{
    int n = json_parse(text, NULL, 0);

    g_free(r->tok);
    r->tok = NULL;
    r->ntok = 0;
    r->buf = text;
    if (n <= 0)
        return fail(r, "%s", n == JSMN_ERROR_PART || n == 0 ? "not JSON (incomplete: cut short?)"
                                                            : "not JSON (invalid character)");
    r->tok = g_try_new(jsmntok_t, (gsize)n);
    if (!r->tok)
        return fail(r, "not enough memory for %d JSON tokens", n);
    r->ntok = json_parse(text, r->tok, (unsigned)n);
    if (r->ntok != n || r->tok[0].type != JSMN_OBJECT || skip(r, 0) != r->ntok)
        return fail(r, "not JSON, or not one object");
    return true;
}

/* The entries of one list, each tokenized on its own. */
static bool
read_entries(reader *r, char *buf, GArray *entries, bool tcp, pm_table *t, pm_dns_table *d,
             uint32_t *next_stream)
{
    bool ok = true;

    r->where = tcp ? "conversation" : "DNS pair";
    for (guint i = 0; i < entries->len && ok; i++) {
        span e = g_array_index(entries, span, i);
        char saved = buf[e.end];

        r->where_n = i;
        if (e.end - e.start > INT_MAX)
            return fail(r, "larger than 2 GiB");
        buf[e.end] = '\0';
        ok = tokenize(r, buf + e.start) &&
             (tcp ? read_conv(r, 0, t, (*next_stream)++) : read_dns_pair(r, 0, d));
        buf[e.end] = saved;
    }
    r->where = NULL;
    return ok;
}

/* A detector's totals against the entries read: every one must be listed
 * (json_top 0). */
static bool
check_list(reader *r, int det, const char *name, const char *total_name, const char *what,
           size_t listed, size_t *n)
{
    int o = need(r, det, name, JSMN_OBJECT);
    uint64_t total;

    if (o < 0 || !get_uint(r, o, total_name, UINT64_MAX, &total) ||
        need(r, o, "top_by_severity", JSMN_ARRAY) < 0)
        return false;
    if ((uint64_t)listed != total)
        return fail(r, "%s lists %zu of its %llu %s; merging needs them all "
                    "(-o packetmancer.json_top:0)", name, listed, (unsigned long long)total, what);
    *n = listed;
    return true;
}

static bool
read_doc(reader *r, const lists *l, pm_table *t, pm_state_doc *doc)
{
    int sum, set, st, det;
    uint64_t version;

    if ((sum = need(r, 0, "summary", JSMN_OBJECT)) < 0)
        return false;
    if (!(doc->schema = tok_string(r, member(r, sum, "schema"), "schema")))
        return false;
    if (strcmp(doc->schema, PM_SCHEMA) != 0)
        return fail(r, "schema \"%s\", not \"%s\"", doc->schema, PM_SCHEMA);
    if (!get_string_or_null(r, sum, "file", &doc->file) ||
        !get_string_or_null(r, sum, "wireshark_version", &doc->wireshark_version) ||
        !get_string_or_null(r, sum, "plugin_version", &doc->plugin_version))
        return false;
    if ((set = need(r, sum, "settings", JSMN_OBJECT)) < 0 || !read_settings(r, set, doc))
        return false;
    if ((st = need(r, sum, "state", JSMN_OBJECT)) < 0)
        return false;
    if (!get_uint(r, st, "version", UINT32_MAX, &version))
        return false;
    if (version != PM_STATE_VERSION)
        return fail(r, "state version %llu, this merge reads %d", (unsigned long long)version,
                    PM_STATE_VERSION);
    if (!get_uint(r, st, "packets_total", UINT64_MAX, &doc->summary.packets_total) ||
        !get_uint(r, st, "bytes_total", UINT64_MAX, &doc->summary.bytes_total) ||
        !get_uint(r, st, "truncated_frames", UINT64_MAX, &doc->summary.truncated_frames) ||
        !get_int(r, st, "first_ts_us", &doc->summary.first_ts_us) ||
        !get_int(r, st, "last_ts_us", &doc->summary.last_ts_us))
        return false;
    if ((det = need(r, 0, "detectors", JSMN_OBJECT)) < 0)
        return false;
    if ((l->entries[L_TCP]->len && !doc->tcp_health) || (l->entries[L_DNS]->len && !doc->dns_health))
        return fail(r, "a detector lists entries but \"detectors\" in the settings does not name it");
    if (doc->tcp_health &&
        !check_list(r, det, "tcp_health", "conversations_total", "conversations",
                    l->entries[L_TCP]->len, &doc->conversations))
        return false;
    if (doc->dns_health &&
        !check_list(r, det, "dns_health", "pairs_total", "DNS pairs", l->entries[L_DNS]->len,
                    &doc->dns_pairs))
        return false;
    pm_table_merge_summary(t, &doc->summary);
    return true;
}

bool
pm_state_load(char *buf, size_t len, const uint32_t *map, size_t map_len,
              pm_table *t, pm_dns_table *d, uint32_t *next_stream,
              pm_state_doc *doc, char **err)
{
    reader r = { .buf = buf, .map = map, .map_len = map_len };
    lists l = { { NULL, NULL }, { false, false }, NULL, false };
    bool ok = false;

    memset(doc, 0, sizeof *doc);
    pm_score_params_default(&doc->score);
    pm_dns_params_default(&doc->dns);
    *err = NULL;
    if (strlen(buf) != len) {
        *err = g_strdup("not JSON (a NUL byte inside)");
        return false;
    }
    for (int i = 0; i < L_COUNT; i++)
        l.entries[i] = g_array_new(FALSE, FALSE, sizeof(span));
    l.blank = g_array_new(FALSE, FALSE, sizeof(span));
    if (!scan_lists(buf, len, &l, err))
        goto out;
    /* Before anything else, the one mistake a user is likely to make. */
    if (!l.summary_state) {
        *err = g_strdup("no state: the document was made without -o packetmancer.json_state:on");
        goto out;
    }
    if (!read_entries(&r, buf, l.entries[L_TCP], true, t, d, next_stream) ||
        !read_entries(&r, buf, l.entries[L_DNS], false, t, d, next_stream))
        goto fail;
    {
        /* The document without the lists' insides, in the order of the
         * document: the spans are sorted, being recorded as lists close
         * and lists never nest in lists. */
        GString *rest = g_string_sized_new(4096);
        size_t from = 0;

        for (guint i = 0; i < l.blank->len; i++) {
            span b = g_array_index(l.blank, span, i);

            g_string_append_len(rest, buf + from, (gssize)(b.start - from));
            from = b.end;
        }
        g_string_append_len(rest, buf + from, (gssize)(len - from));
        if (rest->len > INT_MAX)
            fail(&r, "larger than 2 GiB without its lists");
        else
            ok = tokenize(&r, rest->str) && read_doc(&r, &l, t, doc);
        r.buf = NULL;
        g_string_free(rest, TRUE);
    }
fail:
    if (!ok)
        *err = r.err ? r.err : g_strdup("not a PacketMancer document");
    else
        g_free(r.err);
out:
    g_free(r.tok);
    for (int i = 0; i < L_COUNT; i++)
        g_array_free(l.entries[i], TRUE);
    g_array_free(l.blank, TRUE);
    return ok;
}

void
pm_state_doc_clear(pm_state_doc *doc)
{
    g_free(doc->schema);
    g_free(doc->file);
    g_free(doc->wireshark_version);
    g_free(doc->plugin_version);
    doc->schema = doc->file = doc->wireshark_version = doc->plugin_version = NULL;
}

const char *
pm_state_doc_mismatch(const pm_state_doc *a, const pm_state_doc *b)
{
    if (g_strcmp0(a->schema, b->schema) != 0)
        return "schema";
    if (g_strcmp0(a->plugin_version, b->plugin_version) != 0)
        return "plugin_version";
    /* Another Wireshark may analyse TCP differently. */
    if (g_strcmp0(a->wireshark_version, b->wireshark_version) != 0)
        return "wireshark_version";
    if (a->tcp_health != b->tcp_health || a->dns_health != b->dns_health)
        return "detectors";
    for (size_t i = 0; i < G_N_ELEMENTS(score_settings); i++)
        if (*(const unsigned *)((const char *)&a->score + score_settings[i].offset) !=
            *(const unsigned *)((const char *)&b->score + score_settings[i].offset))
            return score_settings[i].name;
    for (size_t i = 0; i < G_N_ELEMENTS(dns_settings); i++)
        if (*(const unsigned *)((const char *)&a->dns + dns_settings[i].offset) !=
            *(const unsigned *)((const char *)&b->dns + dns_settings[i].offset))
            return dns_settings[i].name;
    if (a->has_dup_window != b->has_dup_window ||
        (a->has_dup_window && a->dup_window_ms != b->dup_window_ms))
        return "dup_window_ms";
    return NULL;
}
