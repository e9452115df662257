/* fuzz_core.c
 * libFuzzer harness for PacketMancer's epan-free core (plugin/core).
 *
 * The fuzz input is decoded into what the Wireshark glue would hand the
 * core (docs/ROBUSTNESS.md has the byte layout): render options, score and
 * DNS preferences, then a sequence of records (TCP segments as pm_packet,
 * non-TCP frames, DNS messages as pm_dns_msg) fed to pm_table_add and
 * pm_dns_add. The model is then built and both outputs are rendered, and
 * the harness checks what must hold whatever the input:
 *   - pm_render_json returns true and its output is one well-formed JSON
 *     value (checked by a small strict parser below, not by counting
 *     brackets) ending in a newline;
 *   - the human report is non-empty and contains no control character but
 *     newline (names and file names are sanitized for terminals) unless
 *     colours were asked for;
 *   - the model's per-level counts add up to its conversations and pairs.
 * Any violation aborts, which libFuzzer reports as a crash with the input.
 *
 * Values are drawn from the whole range the glue can produce, including
 * the odd ones a crafted capture gives (timestamps far apart, negative
 * times, huge RTTs, zero weights and thresholds in preferences, names
 * with any bytes).
 *
 * Build: tests/fuzz/build.sh OUTDIR (clang, -fsanitize=fuzzer,address,undefined).
 *
 * Copyright (c) 2026 The PacketMancer authors
 * SPDX-License-Identifier: MIT
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "pm_core.h"
#include "pm_dns.h"
#include "pm_report.h"
#include "pm_score.h"

/* ------------------------------------------------------------ input reader */

/* Reads little-endian integers from the input; past its end every read
 * gives 0, so any input decodes to something. */
typedef struct reader {
    const uint8_t *p;
    size_t n;
} reader;

static uint8_t
rd8(reader *r)
{
    if (r->n == 0)
        return 0;
    r->n--;
    return *r->p++;
}

static uint16_t
rd16(reader *r)
{
    uint16_t lo = rd8(r);
    return (uint16_t)(lo | (uint16_t)rd8(r) << 8);
}

static uint32_t
rd32(reader *r)
{
    uint32_t lo = rd16(r);
    return lo | (uint32_t)rd16(r) << 16;
}

static uint64_t
rd64(reader *r)
{
    uint64_t lo = rd32(r);
    return lo | (uint64_t)rd32(r) << 32;
}

/* A preference value: usually small (the interesting thresholds), some-
 * times 0 or the largest a unsigned preference can hold. */
static unsigned
rd_pref(reader *r)
{
    uint8_t b = rd8(r);
    switch (b >> 6) {
    case 0:
        return b & 0x3f;
    case 1:
        return (unsigned)(b & 0x3f) * 100;
    case 2:
        return rd16(r);
    default:
        return (b & 1) ? UINT32_MAX : rd32(r);
    }
}

/* A time in milliseconds as the glue reads one (tcp.analysis.ack_rtt,
 * dns.time): absent (< 0), ordinary, tiny, or enormous when a capture's
 * timestamps jump. Never NaN or infinite: Wireshark's times are finite. */
static float
rd_ms(reader *r)
{
    uint8_t b = rd8(r);
    switch (b & 7) {
    case 0:
        return -1.0f;
    case 1:
        return 0.0f;
    case 2:
        return (float)rd16(r) / 1000.0f;          /* microseconds */
    case 3:
        return (float)rd32(r) * 1000.0f;          /* up to ~136 years */
    case 4:
        return -(float)rd16(r);                   /* negative: time going back */
    default:
        return (float)rd16(r) / 10.0f;
    }
}

/* Endpoints come from a small pool so that records meet in the same
 * conversations and pairs; the pool index picks family and address. */
static void
rd_endpoint(reader *r, pm_endpoint *e)
{
    uint8_t b = rd8(r);
    memset(e, 0, sizeof *e);
    e->family = (b & 0x80) ? 6 : 4;
    if (e->family == 4) {
        e->addr[0] = 10;
        e->addr[3] = (uint8_t)(b & 0x0f);
    } else {
        e->addr[0] = 0x20;
        e->addr[1] = 0x01;
        e->addr[15] = (uint8_t)(b & 0x0f);
        if (b & 0x40)                    /* a fuller address, for formatting */
            for (int i = 2; i < 15; i++)
                e->addr[i] = (uint8_t)(0x11 * i);
    }
    e->port = (b & 0x30) == 0x30 ? rd16(r) : (uint16_t)(b & 0x30 ? 53 : 40000 + (b & 3));
}

/* Timestamps: mostly small steps forward, sometimes backwards, sometimes
 * anywhere. The glue computes them as secs * 1e6 + usecs from the
 * capture's own time stamps; they are kept within +-2^62 us (146,000
 * years either side of 1970), so that any difference of two fits in an
 * int64. Built with -DPM_FUZZ_FULL_TIMES (build.sh: PM_FUZZ_FULL_TIMES=1)
 * they span all of int64, which a crafted pcapng can also give; see
 * docs/ROBUSTNESS.md for what that finds. */
#define TS_LIMIT (INT64_C(1) << 62)

static int64_t
rd_ts(reader *r, int64_t prev)
{
    uint8_t b = rd8(r);
    int64_t ts;

    switch (b >> 5) {
    case 0:
        ts = (int64_t)rd64(r);
        break;
    case 1:
        ts = prev > INT64_MIN + 65535 ? prev - (int64_t)rd16(r) : prev;
        break;
    case 2:
        ts = prev < INT64_MAX - INT64_C(4294967295000) ? prev + (int64_t)rd32(r) * 1000 : prev;
        break;
    default:
        ts = prev < INT64_MAX - 31000 ? prev + (b & 0x1f) * 1000 : prev;
        break;
    }
#ifndef PM_FUZZ_FULL_TIMES
    if (ts >= TS_LIMIT || ts < -TS_LIMIT)
        ts /= 4;                         /* back inside +-2^62 */
#endif
    return ts;
}

/* ------------------------------------------------------------ JSON checker */

/* A strict recursive-descent JSON parser that only answers "is this one
 * well-formed value": objects, arrays, strings with escapes, numbers as in
 * RFC 8259, true/false/null. Depth is bounded (the document is shallow). */
typedef struct jp {
    const char *s, *end;
    int depth;
} jp;

static void
jp_ws(jp *j)
{
    while (j->s < j->end && (*j->s == ' ' || *j->s == '\t' || *j->s == '\n' || *j->s == '\r'))
        j->s++;
}

static bool jp_value(jp *j);

static bool
jp_lit(jp *j, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(j->end - j->s) < n || memcmp(j->s, lit, n) != 0)
        return false;
    j->s += n;
    return true;
}

static bool
jp_string(jp *j)
{
    if (j->s >= j->end || *j->s != '"')
        return false;
    j->s++;
    while (j->s < j->end) {
        unsigned char c = (unsigned char)*j->s++;
        if (c == '"')
            return true;
        if (c < 0x20)
            return false;                   /* raw control characters are not allowed */
        if (c == '\\') {
            if (j->s >= j->end)
                return false;
            c = (unsigned char)*j->s++;
            if (c == 'u') {
                for (int i = 0; i < 4; i++, j->s++)
                    if (j->s >= j->end || !g_ascii_isxdigit(*j->s))
                        return false;
            } else if (!strchr("\"\\/bfnrt", c)) {
                return false;
            }
        }
    }
    return false;
}

static bool
jp_digits(jp *j)
{
    const char *start = j->s;
    while (j->s < j->end && g_ascii_isdigit(*j->s))
        j->s++;
    return j->s > start;
}

static bool
jp_number(jp *j)
{
    if (j->s < j->end && *j->s == '-')
        j->s++;
    if (j->s < j->end && *j->s == '0')
        j->s++;                             /* no leading zeros */
    else if (!jp_digits(j))
        return false;
    if (j->s < j->end && *j->s == '.') {
        j->s++;
        if (!jp_digits(j))
            return false;
    }
    if (j->s < j->end && (*j->s == 'e' || *j->s == 'E')) {
        j->s++;
        if (j->s < j->end && (*j->s == '+' || *j->s == '-'))
            j->s++;
        if (!jp_digits(j))
            return false;
    }
    return true;
}

static bool
jp_container(jp *j, char close)
{
    j->s++;                                 /* '{' or '[' */
    if (++j->depth > 64)
        return false;
    jp_ws(j);
    if (j->s < j->end && *j->s == close) {
        j->s++;
        j->depth--;
        return true;
    }
    for (;;) {
        if (close == '}') {
            jp_ws(j);
            if (!jp_string(j))
                return false;
            jp_ws(j);
            if (j->s >= j->end || *j->s++ != ':')
                return false;
        }
        if (!jp_value(j))
            return false;
        jp_ws(j);
        if (j->s >= j->end)
            return false;
        if (*j->s == ',') {
            j->s++;
            continue;
        }
        if (*j->s++ != close)
            return false;
        j->depth--;
        return true;
    }
}

static bool
jp_value(jp *j)
{
    jp_ws(j);
    if (j->s >= j->end)
        return false;
    switch (*j->s) {
    case '{':
        return jp_container(j, '}');
    case '[':
        return jp_container(j, ']');
    case '"':
        return jp_string(j);
    case 't':
        return jp_lit(j, "true");
    case 'f':
        return jp_lit(j, "false");
    case 'n':
        return jp_lit(j, "null");
    default:
        return jp_number(j);
    }
}

/* One JSON value and nothing but white space after it. */
static bool
json_well_formed(const char *s, size_t len)
{
    jp j = { s, s + len, 0 };
    if (!jp_value(&j))
        return false;
    jp_ws(&j);
    return j.s == j.end;
}

/* ------------------------------------------------------------ the target */

#define CHECK(cond, what)                                                      \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "fuzz_core: invariant violated: %s\n", what);     \
            abort();                                                           \
        }                                                                      \
    } while (0)

/* Records per input, so that one run stays quick whatever its size. */
#define MAX_RECORDS 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    reader r = { data, size };

    /* Header: options, preferences, file name. */
    uint8_t opt = rd8(&r);
    pm_render_opts o;
    memset(&o, 0, sizeof o);
    o.lang = (opt & 1) ? PM_LANG_ES : PM_LANG_EN;
    o.color = (opt & 2) != 0;
    o.no_tcp_health = (opt & 4) != 0;
    bool with_dns = (opt & 8) != 0;
    o.top = rd8(&r);
    o.wireshark_version = "4.0.17";
    o.plugin_version = "fuzz";

    pm_score_params sp;
    pm_score_params_default(&sp);
    pm_dns_params dp;
    pm_dns_params_default(&dp);
    if (opt & 0x10) {
        /* Every preference from the input: weights and thresholds of 0
         * or UINT32_MAX are what a user may type. */
        unsigned *f = &sp.w_retx;
        for (size_t i = 0; i < sizeof sp / sizeof(unsigned); i++)
            f[i] = rd_pref(&r);
        unsigned *g = &dp.min_queries;
        for (size_t i = 0; i < sizeof dp / sizeof(unsigned); i++)
            g[i] = rd_pref(&r);
    }
    o.params = (opt & 0x40) ? NULL : &sp;

    char *file = NULL;
    if (opt & 0x20) {
        /* Any bytes: the JSON must repair invalid UTF-8, the report must
         * not pass control characters to a terminal. */
        size_t len = rd8(&r);
        if (len > r.n)
            len = r.n;
        file = g_strndup((const char *)r.p, len);
        r.p += len;
        r.n -= len;
    }
    o.file = file;

    pm_table *t = pm_table_new();
    pm_dns_table *dt = pm_dns_table_new();
    if (opt & 0x80)
        pm_table_set_dup_window(t, (int64_t)rd16(&r) * 1000);

    uint32_t frame = 0;
    int64_t ts = 1700000000LL * 1000000;
    for (int rec = 0; r.n > 0 && rec < MAX_RECORDS; rec++) {
        uint8_t op = rd8(&r);
        /* Frame numbers: mostly increasing as in a capture, sometimes any. */
        frame = (op & 0x80) ? rd32(&r) : frame + 1;
        ts = rd_ts(&r, ts);
        switch (op & 3) {
        case 0:
        case 1: { /* a TCP segment */
            pm_packet p;
            memset(&p, 0, sizeof p);
            p.frame = frame;
            p.ts_us = ts;
            uint8_t s = rd8(&r);
            p.stream = (s == 0xff) ? rd32(&r) : (uint32_t)(s & 0x1f);
            p.length = (op & 0x40) ? rd32(&r) : rd16(&r);
            p.events = rd16(&r);
            uint8_t fl = rd8(&r);
            p.tcp_flags = fl & 7;
            p.ack_lost = (fl & 0x08) != 0;
            p.copy = (fl & 0x10) != 0;
            p.truncated = (fl & 0x20) != 0;
            p.ack_rtt_ms = (fl & 0x40) ? rd_ms(&r) : -1.0f;
            p.initial_rtt_ms = (fl & 0x80) ? rd_ms(&r) : -1.0f;
            /* A small fingerprint space makes capture duplicates happen. */
            uint8_t fp = rd8(&r);
            p.fingerprint = (fp & 0x80) ? rd64(&r) : fp;
            p.dup_ack_num = (op & 0x20) ? rd32(&r) : rd8(&r) & 7;
            rd_endpoint(&r, &p.src);
            rd_endpoint(&r, &p.dst);
            int dir = -1;
            pm_conv *c = pm_table_add(t, &p, &dir);
            if (c) {
                CHECK(dir == PM_C2S || dir == PM_S2C, "pm_table_add gave no direction");
                CHECK(pm_table_lookup(t, p.stream) == c, "lookup finds the conversation just added");
            }
            break;
        }
        case 2: { /* a frame that is not TCP */
            pm_packet p;
            memset(&p, 0, sizeof p);
            p.frame = frame;
            p.ts_us = ts;
            p.stream = PM_STREAM_NONE;
            p.length = (op & 0x40) ? rd32(&r) : rd16(&r);
            p.truncated = (op & 0x20) != 0;
            CHECK(pm_table_add(t, &p, NULL) == NULL, "a non-TCP frame has no conversation");
            break;
        }
        default: { /* a DNS message */
            pm_dns_msg m;
            memset(&m, 0, sizeof m);
            m.frame = frame;
            m.ts_us = ts;
            rd_endpoint(&r, &m.src);
            rd_endpoint(&r, &m.dst);
            uint8_t fl = rd8(&r);
            m.response = fl & 1;
            m.tcp = (fl & 2) != 0;
            m.retransmission = (fl & 4) != 0;
            m.rcode = (fl & 8) ? rd8(&r) : (uint8_t)((fl >> 4) & 7);
            m.time_ms = m.response ? rd_ms(&r) : -1.0f;
            m.response_to = (op & 0x40) ? rd32(&r) : (frame > (uint32_t)(fl >> 5) ? frame - (fl >> 5) : 0);
            /* The name: any bytes (Wireshark's dns.qry.name is printable,
             * but a crafted packet may carry anything), length up to 300
             * to cross PM_DNS_NAME_MAX. */
            size_t len = rd8(&r);
            if (op & 0x20)
                len += rd8(&r);
            if (len > r.n)
                len = r.n;
            char *name = len ? g_memdup2(r.p, len) : NULL;
            r.p += len;
            r.n -= len;
            m.name = (op & 0x10) ? NULL : name;
            m.name_len = m.name ? len : 0;
            unsigned flags = 0;
            char why[128];
            pm_dns_pair *pair = pm_dns_add(dt, &m, &flags, why, sizeof why);
            CHECK(pair != NULL, "every DNS message has a pair");
            CHECK(memchr(why, '\0', sizeof why) != NULL, "why is NUL-terminated");
            g_free(name);
            break;
        }
        }
    }

    /* The model and both outputs. */
    pm_model *model = pm_model_build(t, &sp);
    CHECK(model != NULL, "pm_model_build");
    CHECK(model->n == pm_table_count(t), "one row per conversation");
    CHECK(model->per_level[0] + model->per_level[1] + model->per_level[2] + model->per_level[3] == model->n,
          "levels add up to the conversations");
    if (with_dns) {
        pm_model_add_dns(model, dt, &dp);
        CHECK(model->dns_n == pm_dns_count(dt), "one row per DNS pair");
        CHECK(model->dns_per_level[0] + model->dns_per_level[1] + model->dns_per_level[2] +
              model->dns_per_level[3] == model->dns_n, "levels add up to the pairs");
    }

    GString *json = g_string_new(NULL);
    CHECK(pm_render_json(model, &o, json), "pm_render_json returns true");
    CHECK(json->len > 0 && json->str[json->len - 1] == '\n', "JSON ends in a newline");
    CHECK(json_well_formed(json->str, json->len), "JSON is one well-formed value");
    g_string_free(json, TRUE);

    GString *rep = g_string_new(NULL);
    pm_render_report(model, &o, rep);
    CHECK(rep->len > 0, "report is not empty");
    CHECK(strlen(rep->str) == rep->len, "report has no NUL byte");
    if (!o.color)
        for (size_t i = 0; i < rep->len; i++) {
            unsigned char c = (unsigned char)rep->str[i];
            CHECK(c >= 0x20 || c == '\n', "report has no control character");
            CHECK(c != 0x7f, "report has no DEL");
        }
    g_string_free(rep, TRUE);

    GString *verdict = g_string_new(NULL);
    pm_capture_verdict(model, o.lang, verdict);
    g_string_free(verdict, TRUE);

    /* The per-conversation helpers the glue and the tree call. */
    pm_conv *const *convs = pm_table_convs(t);
    for (size_t i = 0; i < pm_table_count(t) && i < 64; i++) {
        char buf[PM_FLOW_STRLEN], filt[PM_FILTER_STRLEN];
        pm_conv_flow(convs[i], buf, sizeof buf);
        CHECK(strlen(buf) < sizeof buf, "flow fits");
        pm_conv_filter(convs[i], true, filt, sizeof filt);
        pm_rtt_stats rs;
        for (int d = 0; d < 2; d++)
            if (pm_conv_rtt(convs[i], d, &rs))
                CHECK(rs.samples > 0 && rs.p50_ms <= rs.p95_ms && rs.p95_ms <= rs.p99_ms &&
                      rs.p99_ms <= rs.max_ms, "RTT quantiles are ordered");
        (void)pm_conv_duration_ms(convs[i]);
    }

    pm_model_free(model);
    pm_dns_table_free(dt);
    pm_table_free(t);
    g_free(file);
    return 0;
}
