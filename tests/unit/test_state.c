/* test_state.c
 * CUnit tests of the state carried in JSON documents and of merging them
 * (plugin/core/pm_state.c, the import APIs of pm_table.c and pm_dns.c, and
 * the sketch export/import of pm_sketch.c).
 *
 * The central checks compare documents, not numbers picked by hand: a
 * table written with its state, read back and written again must give the
 * same bytes; and the documents of two "shards" of a hand-built capture,
 * merged with their frame maps, must give the bytes of the whole. Since
 * the JSON with state prints every field the outputs depend on (integers
 * exactly, floats and doubles with round-trip digits, sketches bucket by
 * bucket, names as bytes), equal documents mean equal tables. Where a
 * merge is only approximate (one DNS pair in two shards), the expected
 * top names are worked out by hand in the comments.
 *
 * Copyright (c) 2026 The PacketMancer authors
 * SPDX-License-Identifier: MIT
 */

#include <math.h>
#include <string.h>

#include <glib.h>
#include <CUnit/Basic.h>

#include "pm_core.h"
#include "pm_dns.h"
#include "pm_report.h"
#include "pm_sketch.h"
#include "pm_state.h"

static pm_score_params SP;
static pm_dns_params DP;

/* ============================================================ helpers */

/* window_ms < 0: the document names no capture-duplicate window. */
static char *
render_window(const pm_table *t, const pm_dns_table *d, const pm_score_params *sp,
              const pm_dns_params *dp, bool state, int window_ms)
{
    pm_model *m = pm_model_build(t, sp);
    pm_render_opts o = {
        .file = "hand.pcap", .top = 5, .lang = PM_LANG_EN, .wireshark_version = "4.0.17",
        .plugin_version = "0.1.0", .params = sp, .state = state,
        .has_dup_window = window_ms >= 0, .dup_window_ms = window_ms >= 0 ? (unsigned)window_ms : 0,
    };
    GString *out = g_string_new(NULL);

    if (d)
        pm_model_add_dns(m, d, dp);
    CU_ASSERT_TRUE(pm_render_json(m, &o, out));
    pm_model_free(m);
    return g_string_free(out, FALSE);
}

static char *
render(const pm_table *t, const pm_dns_table *d, const pm_score_params *sp,
       const pm_dns_params *dp, bool state)
{
    return render_window(t, d, sp, dp, state, -1);
}

/* Loads a copy of json (pm_state_load modifies its buffer). */
static bool
load(const char *json, const uint32_t *map, size_t map_len, pm_table *t, pm_dns_table *d,
     uint32_t *next, pm_state_doc *doc, char **err)
{
    char *buf = g_strdup(json);
    bool ok = pm_state_load(buf, strlen(buf), map, map_len, t, d, next, doc, err);

    g_free(buf);
    return ok;
}

/* Render, load, renumber, render again: the same bytes. */
static void
check_round_trip(const pm_table *t, const pm_dns_table *d)
{
    char *a = render(t, d, &SP, &DP, true), *b, *err = NULL;
    pm_table *t2 = pm_table_new();
    pm_dns_table *d2 = pm_dns_table_new();
    pm_state_doc doc;
    uint32_t next = 0;

    CU_ASSERT_TRUE_FATAL(load(a, NULL, 0, t2, d2, &next, &doc, &err));
    CU_ASSERT_PTR_NULL(err);
    CU_ASSERT_EQUAL(pm_table_renumber(t2), 0);
    CU_ASSERT_EQUAL(doc.conversations, pm_table_count(t));
    CU_ASSERT_EQUAL(doc.dns_pairs, d ? pm_dns_count(d) : 0);
    CU_ASSERT_EQUAL(memcmp(&doc.score, &SP, sizeof SP), 0);
    if (d)
        CU_ASSERT_EQUAL(memcmp(&doc.dns, &DP, sizeof DP), 0);
    CU_ASSERT_EQUAL(memcmp(&doc.summary, pm_table_summary(t), sizeof doc.summary), 0);
    b = render(t2, d ? d2 : NULL, &SP, &DP, true);
    CU_ASSERT_STRING_EQUAL(a, b);
    if (strcmp(a, b) != 0)
        g_file_set_contents("/tmp/test_state_a.json", a, -1, NULL),
        g_file_set_contents("/tmp/test_state_b.json", b, -1, NULL);
    pm_state_doc_clear(&doc);
    pm_table_free(t2);
    pm_dns_table_free(d2);
    g_free(a);
    g_free(b);
}

static pm_endpoint
ep4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port)
{
    pm_endpoint e;

    memset(&e, 0, sizeof e);
    e.family = 4;
    e.addr[0] = a;
    e.addr[1] = b;
    e.addr[2] = c;
    e.addr[3] = d;
    e.port = port;
    return e;
}

static pm_endpoint
ep6(uint8_t last, uint16_t port)
{
    pm_endpoint e;

    memset(&e, 0, sizeof e);
    e.family = 6;
    e.addr[0] = 0x20;
    e.addr[1] = 0x01;
    e.addr[2] = 0x0d;
    e.addr[3] = 0xb8;
    e.addr[15] = last;
    e.port = port;
    return e;
}

/* ========================================================= a capture */

/* One packet of the hand-built capture, before it gets frame and stream
 * numbers: which conversation (or DNS pair, or neither) and what it is. */
typedef struct spec {
    int conv;             /* -1: not TCP */
    int dns_pair;         /* -1: no DNS message */
    pm_packet p;          /* frame and stream are filled in per table */
    pm_dns_msg m;
    char name[64];
    size_t name_len;
} spec;

#define NCONV 40
#define NPAIR 6

static pm_endpoint conv_client[NCONV], conv_server[NCONV];

/* A deterministic capture: 40 conversations (IPv4 and IPv6, handshakes,
 * a mid-stream one, a reused port pair), every scored event, RTTs over a
 * range wide enough to collapse a sketch, zero RTTs, copies; 6 DNS pairs
 * with every outcome, more names than a top list holds, names that are
 * not UTF-8, unanswered queries; and frames of neither. */
static GArray *
make_capture(void)
{
    GArray *a = g_array_new(FALSE, TRUE, sizeof(spec));
    GRand *rnd = g_rand_new_with_seed(20261129);
    int started[NCONV] = { 0 };
    int64_t ts = 1704067200000000LL;
    static const char *const names[] = {
        "a.example", "b.example", "c.example", "d.example", "e.example", "f.example",
        "g.example", "xn--bcher-kva.example", "qxvzkwptrmhd.com", "bad\xff\xfe.example",
        "ctl\x01\x1b[31m.example", "h.example",
    };

    for (int c = 0; c < NCONV; c++) {
        if (c % 5 == 3) {
            conv_client[c] = ep6((uint8_t)c, (uint16_t)(50000 + c));
            conv_server[c] = ep6(200, 443);
        } else {
            conv_client[c] = ep4(10, 0, (uint8_t)c, 1, (uint16_t)(40000 + c));
            conv_server[c] = ep4(10, 1, 0, 1, 80);
        }
    }
    /* Port reuse: conversation 39 is conversation 38's port pair again. */
    conv_client[39] = conv_client[38];
    conv_server[39] = conv_server[38];

    for (int i = 0; i < 4000; i++) {
        spec s;
        int c, dir;

        memset(&s, 0, sizeof s);
        s.conv = s.dns_pair = -1;
        ts += g_rand_int_range(rnd, 1, 5000);
        s.p.ts_us = ts;
        s.p.length = (uint32_t)g_rand_int_range(rnd, 60, 1515);
        s.p.ack_rtt_ms = -1;
        s.p.initial_rtt_ms = -1;
        s.p.truncated = g_rand_int_range(rnd, 0, 100) == 0;
        if (g_rand_int_range(rnd, 0, 10) == 0) {
            /* DNS: a query, or an answer to the last query of the pair. */
            int x = g_rand_int_range(rnd, 0, NPAIR);
            const char *n = names[g_rand_int_range(rnd, 0, G_N_ELEMENTS(names))];
            bool resp = g_rand_boolean(rnd);

            s.dns_pair = x;
            s.m.ts_us = ts;
            s.m.src = ep4(10, 2, 0, (uint8_t)(x + 1), 33000);
            s.m.dst = ep4(10, 3, 0, (uint8_t)(x % 3 + 1), 53);
            if (resp) {
                pm_endpoint e = s.m.src;

                s.m.src = s.m.dst;
                s.m.dst = e;
                s.m.response = true;
                s.m.rcode = (uint8_t)(x == 4 ? 2 : g_rand_int_range(rnd, 0, 6));
                s.m.retransmission = g_rand_int_range(rnd, 0, 8) == 0;
                s.m.time_ms = x == 5 ? 0.0f : (float)exp(g_rand_double_range(rnd, -3, 7));
                s.m.response_to = 1;   /* any non-zero: mapped per table below */
            } else {
                s.m.time_ms = -1;
                s.m.tcp = g_rand_int_range(rnd, 0, 5) == 0;
                s.m.retransmission = g_rand_int_range(rnd, 0, 6) == 0;
            }
            g_strlcpy(s.name, n, sizeof s.name);
            s.name_len = strlen(n);
            s.p.stream = PM_STREAM_NONE;
            g_array_append_val(a, s);
            continue;
        }
        if (g_rand_int_range(rnd, 0, 12) == 0) {   /* ARP, ICMP, ... */
            s.p.stream = PM_STREAM_NONE;
            g_array_append_val(a, s);
            continue;
        }
        /* Conversations start one after the other, 39 only after 38. */
        c = g_rand_int_range(rnd, 0, MIN(NCONV, 2 + i / 60));
        if (c == 39 && started[38] < 30)
            c = 38;
        dir = g_rand_boolean(rnd);
        s.conv = c;
        s.p.src = dir ? conv_server[c] : conv_client[c];
        s.p.dst = dir ? conv_client[c] : conv_server[c];
        s.p.tcp_flags = PM_TCP_ACK;
        if (started[c] == 0 && c % 7 != 2) {
            /* The handshake (7n+2: captured mid-stream). 11: refused. */
            s.p.src = conv_client[c];
            s.p.dst = conv_server[c];
            s.p.tcp_flags = PM_TCP_SYN;
        } else if (started[c] == 1 && c % 7 != 2) {
            s.p.src = conv_server[c];
            s.p.dst = conv_client[c];
            s.p.tcp_flags = c == 11 ? PM_TCP_RST | PM_TCP_ACK : PM_TCP_SYN | PM_TCP_ACK;
            s.p.events = c == 11 ? PM_EV_RESET : 0;
        } else if (started[c] == 2) {
            s.p.initial_rtt_ms = (float)g_rand_double_range(rnd, 0.05, 300);
        } else {
            uint32_t r = g_rand_int(rnd);

            /* Rare events, each kind somewhere. */
            if (r % 23 == 0) s.p.events |= PM_EV_RETRANSMISSION;
            if (r % 97 == 1) s.p.events |= PM_EV_SPURIOUS;
            if (r % 41 == 2) s.p.events |= PM_EV_OUT_OF_ORDER;
            if (r % 89 == 3) s.p.events |= PM_EV_ZERO_WINDOW;
            if (r % 53 == 4) s.p.events |= PM_EV_DUP_ACK;
            if (r % 71 == 5) s.p.events |= PM_EV_LOST_SEGMENT;
            if (r % 101 == 6) s.p.events |= PM_EV_ZW_PROBE;
            if (r % 59 == 7) s.p.ack_lost = true;
            if (r % 83 == 8) s.p.copy = true;
            if (r % 3 == 0) {
                /* RTTs: conversation 7 from 0.1 us to 100 s (a collapsed
                 * sketch and zero samples), the others lognormal. */
                s.p.ack_rtt_ms = c == 7 ? (float)exp(g_rand_double_range(rnd, -16, 11.5))
                                        : (float)exp(g_rand_double_range(rnd, -2, 6));
            }
        }
        started[c]++;
        g_array_append_val(a, s);
    }
    g_rand_free(rnd);
    return a;
}

/* Feeds the packets of the capture that `keep` selects into t and d as a
 * capture of their own: frames from 1, tcp.stream in order of first
 * packet, as Wireshark would number them. map (may be NULL) receives the
 * original frame of each. */
static void
feed(GArray *cap, bool (*keep)(const spec *, void *), void *user, pm_table *t, pm_dns_table *d,
     GArray *map)
{
    int stream_of[NCONV];
    uint32_t next_stream = 0, frame = 0;
    uint32_t last_query[NPAIR] = { 0 };

    for (int c = 0; c < NCONV; c++)
        stream_of[c] = -1;
    for (guint i = 0; i < cap->len; i++) {
        spec *s = &g_array_index(cap, spec, i);
        pm_packet p = s->p;
        uint32_t orig = i + 1;

        if (keep && !keep(s, user))
            continue;
        p.frame = ++frame;
        if (map)
            g_array_append_val(map, orig);
        if (s->conv >= 0) {
            if (stream_of[s->conv] < 0)
                stream_of[s->conv] = (int)next_stream++;
            p.stream = (uint32_t)stream_of[s->conv];
        }
        pm_table_add(t, &p, NULL);
        if (s->dns_pair >= 0) {
            pm_dns_msg m = s->m;

            m.frame = p.frame;
            m.name = s->name;
            m.name_len = s->name_len;
            if (m.response && m.response_to)
                m.response_to = last_query[s->dns_pair];
            else if (!m.response)
                last_query[s->dns_pair] = p.frame;
            pm_dns_add(d, &m, NULL, NULL, 0);
        }
    }
}

/* Shard h of 2, as packetmancer-split cuts: a conversation's packets and
 * a DNS pair's messages together, everything else in shard 0. */
static bool
in_half(const spec *s, void *user)
{
    int h = GPOINTER_TO_INT(user);

    if (s->conv >= 0)
        return s->conv % 2 == h;
    if (s->dns_pair >= 0)
        return s->dns_pair % 2 == h;
    return h == 0;
}

/* ============================================================== tests */

static void
test_sketch_export_import(void)
{
    pm_sketch s, r;
    pm_sketch_raw raw;
    int32_t index[PM_SKETCH_BUCKETS];
    uint32_t count[PM_SKETCH_BUCKETS];
    size_t n;
    GRand *rnd = g_rand_new_with_seed(7);

    /* Empty; zeros only; one sample; many; collapsed. */
    for (int kind = 0; kind < 5; kind++) {
        pm_sketch_init(&s);
        if (kind == 1)
            for (int i = 0; i < 10; i++)
                pm_sketch_add(&s, i % 2 ? 0.0 : 0.0004);
        if (kind == 2)
            pm_sketch_add(&s, 12.5);
        if (kind == 3)
            for (int i = 0; i < 100000; i++)
                pm_sketch_add(&s, exp(g_rand_double_range(rnd, -3, 6)));
        if (kind == 4) {
            for (int i = 0; i < 5000; i++)
                pm_sketch_add(&s, exp(g_rand_double_range(rnd, -9, 12)));
            pm_sketch_add(&s, 0.0);
            CU_ASSERT(pm_sketch_collapsed(&s) > 0);
        }
        pm_sketch_export(&s, &raw);
        n = pm_sketch_buckets(&s, index, count);
        CU_ASSERT_TRUE(pm_sketch_import(&r, &raw, index, count, n));
        CU_ASSERT_TRUE(pm_sketch_equal(&s, &r));
        CU_ASSERT_EQUAL(memcmp(&s, &r, sizeof s), 0);   /* bit for bit */
    }

    /* What no sketch can be is refused (s is the collapsed one). */
    pm_sketch_export(&s, &raw);
    n = pm_sketch_buckets(&s, index, count);
    {
        pm_sketch_raw bad = raw;

        bad.count++;                          /* counts do not add up */
        CU_ASSERT_FALSE(pm_sketch_import(&r, &bad, index, count, n));
        bad = raw;
        bad.max *= 1.5;                       /* max outside bucket hi */
        CU_ASSERT_FALSE(pm_sketch_import(&r, &bad, index, count, n));
        bad = raw;
        bad.collapsed = 0;                    /* min below lo, nothing collapsed */
        bad.zero = 0;
        bad.count -= raw.zero;
        bad.min = 0.01;
        CU_ASSERT_FALSE(pm_sketch_import(&r, &bad, index, count, n));
        bad = raw;
        bad.min = -1;
        CU_ASSERT_FALSE(pm_sketch_import(&r, &bad, index, count, n));
        index[0] = raw.hi - PM_SKETCH_BUCKETS;   /* below the window */
        CU_ASSERT_FALSE(pm_sketch_import(&r, &raw, index, count, n));
        index[0] = index[1];                      /* not increasing */
        CU_ASSERT_FALSE(pm_sketch_import(&r, &raw, index, count, n));
        CU_ASSERT_EQUAL(pm_sketch_count(&r), 0);  /* left empty */
    }
    g_rand_free(rnd);
}

static void
test_round_trip_capture(void)
{
    GArray *cap = make_capture();
    pm_table *t = pm_table_new();
    pm_dns_table *d = pm_dns_table_new();
    bool collapsed = false, evicted = false, not_utf8 = false;

    feed(cap, NULL, NULL, t, d, NULL);
    CU_ASSERT_EQUAL(pm_table_count(t), NCONV);
    CU_ASSERT_EQUAL(pm_dns_count(d), NPAIR);
    /* The capture has what it is meant to test. */
    for (size_t i = 0; i < pm_table_count(t); i++) {
        const pm_conv *c = pm_table_convs(t)[i];
        pm_sketch k;

        for (int dir = 0; dir < 2; dir++) {
            const pm_sketch *r = pm_conv_sketch(c, dir, &k);

            collapsed |= r && pm_sketch_collapsed(r) > 0;
        }
    }
    for (size_t i = 0; i < pm_dns_count(d); i++) {
        const pm_dns_pair *p = pm_dns_pairs(d)[i];

        for (int o = 0; o < PM_OUT_COUNT; o++)
            for (int k = 0; k < PM_DNS_TOP_NAMES; k++) {
                evicted |= p->top[o][k].error > 0;
                not_utf8 |= p->top[o][k].name && !g_utf8_validate(p->top[o][k].name, -1, NULL);
            }
    }
    CU_ASSERT_TRUE(collapsed);
    CU_ASSERT_TRUE(evicted);
    CU_ASSERT_TRUE(not_utf8);
    check_round_trip(t, d);
    /* Without state there is nothing to merge. */
    {
        char *doc = render(t, d, &SP, &DP, false), *err = NULL;
        pm_table *t2 = pm_table_new();
        pm_dns_table *d2 = pm_dns_table_new();
        pm_state_doc info;
        uint32_t next = 0;

        CU_ASSERT_FALSE(load(doc, NULL, 0, t2, d2, &next, &info, &err));
        CU_ASSERT_PTR_NOT_NULL_FATAL(err);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "json_state:on"));
        g_free(err);
        pm_state_doc_clear(&info);
        pm_table_free(t2);
        pm_dns_table_free(d2);
        g_free(doc);
    }
    pm_table_free(t);
    pm_dns_table_free(d);
    g_array_free(cap, TRUE);
}

/* 1000 conversations, each with a random float iRTT and duration: every
 * float comes back as the same float. */
static void
test_round_trip_floats(void)
{
    pm_table *t = pm_table_new();
    GRand *rnd = g_rand_new_with_seed(99);

    for (uint32_t i = 0; i < 1000; i++) {
        pm_packet p;

        memset(&p, 0, sizeof p);
        p.frame = i + 1;
        p.stream = i;
        p.src = ep4(192, 168, (uint8_t)(i >> 8), (uint8_t)i, 1024);
        p.dst = ep6(1, 443);
        p.ts_us = -5000000 + (int64_t)i * 7;    /* before 1970 too */
        p.ack_rtt_ms = (float)g_rand_double_range(rnd, 0, 1e6);
        p.initial_rtt_ms = i % 10 ? (float)ldexp(g_rand_double(rnd), g_rand_int_range(rnd, -30, 30))
                                  : -1.0f;
        pm_table_add(t, &p, NULL);
    }
    check_round_trip(t, NULL);
    for (uint32_t i = 0; i < 1000; i += 97)
        CU_ASSERT(pm_table_lookup(t, i)->initial_rtt_ms < 0 || pm_table_lookup(t, i)->initial_rtt_ms > 0);
    g_rand_free(rnd);
    pm_table_free(t);
}

/* Two shards cut as packetmancer-split cuts, each a capture of its own
 * with its frame map: merged, they give the whole document, byte for
 * byte (streams renumbered, frames translated, summary summed). */
static void
test_merge_shards(void)
{
    GArray *cap = make_capture();
    pm_table *whole = pm_table_new(), *half[2], *merged = pm_table_new();
    pm_dns_table *dwhole = pm_dns_table_new(), *dhalf[2], *dmerged = pm_dns_table_new();
    GArray *map[2];
    char *want, *got, *doc[2], *err = NULL;
    uint32_t next = 0;
    pm_state_doc info[2];

    feed(cap, NULL, NULL, whole, dwhole, NULL);
    want = render(whole, dwhole, &SP, &DP, true);
    for (int h = 0; h < 2; h++) {
        half[h] = pm_table_new();
        dhalf[h] = pm_dns_table_new();
        map[h] = g_array_new(FALSE, FALSE, sizeof(uint32_t));
        feed(cap, in_half, GINT_TO_POINTER(h), half[h], dhalf[h], map[h]);
        doc[h] = render(half[h], dhalf[h], &SP, &DP, true);
    }
    /* The shards really are different captures: other frames, streams. */
    CU_ASSERT_STRING_NOT_EQUAL(doc[0], want);
    CU_ASSERT(pm_table_count(half[0]) > 0 && pm_table_count(half[1]) > 0);
    CU_ASSERT_EQUAL(pm_table_count(half[0]) + pm_table_count(half[1]), NCONV);
    /* In the opposite order, to show the order of parts does not matter. */
    for (int h = 1; h >= 0; h--) {
        CU_ASSERT_TRUE_FATAL(load(doc[h], (uint32_t *)map[h]->data, map[h]->len, merged, dmerged,
                                  &next, &info[h], &err));
    }
    CU_ASSERT_PTR_NULL(pm_state_doc_mismatch(&info[0], &info[1]));
    CU_ASSERT_EQUAL(pm_table_renumber(merged), 0);
    got = render(merged, dmerged, &SP, &DP, true);
    CU_ASSERT_STRING_EQUAL(got, want);
    if (strcmp(got, want) != 0)
        g_file_set_contents("/tmp/test_state_want.json", want, -1, NULL),
        g_file_set_contents("/tmp/test_state_got.json", got, -1, NULL);

    /* Frames that are not of one numbering (here one shard twice, no
     * map) collide: renumbering counts each conversation that starts at
     * the frame of the one before. */
    {
        pm_table *t = pm_table_new();
        pm_dns_table *d = pm_dns_table_new();
        pm_state_doc x;

        next = 0;
        for (int h = 0; h < 2; h++) {
            CU_ASSERT_TRUE(load(doc[0], NULL, 0, t, d, &next, &x, &err));
            pm_state_doc_clear(&x);
        }
        CU_ASSERT_EQUAL(pm_table_renumber(t), pm_table_count(half[0]));
        pm_table_free(t);
        pm_dns_table_free(d);
    }
    /* A map one frame short: the last frame of the shard is beyond it. */
    {
        pm_table *t = pm_table_new();
        pm_dns_table *d = pm_dns_table_new();
        pm_state_doc x;

        next = 0;
        CU_ASSERT_FALSE(load(doc[0], (uint32_t *)map[0]->data, map[0]->len - 1, t, d, &next, &x, &err));
        CU_ASSERT_PTR_NOT_NULL_FATAL(err);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "beyond the frame map"));
        g_free(err);
        err = NULL;
        pm_state_doc_clear(&x);
        pm_table_free(t);
        pm_dns_table_free(d);
    }
    /* Merged documents merge again: the merged one with an empty one. */
    {
        pm_table *t = pm_table_new(), *e = pm_table_new();
        pm_dns_table *d = pm_dns_table_new(), *de = pm_dns_table_new();
        char *empty = render(e, de, &SP, &DP, true), *again;
        pm_state_doc x;

        next = 0;
        CU_ASSERT_TRUE(load(empty, NULL, 0, t, d, &next, &x, &err));
        pm_state_doc_clear(&x);
        CU_ASSERT_TRUE(load(got, NULL, 0, t, d, &next, &x, &err));
        pm_state_doc_clear(&x);
        pm_table_renumber(t);
        again = render(t, d, &SP, &DP, true);
        CU_ASSERT_STRING_EQUAL(again, want);
        g_free(again);
        g_free(empty);
        pm_table_free(t);
        pm_table_free(e);
        pm_dns_table_free(d);
        pm_dns_table_free(de);
    }
    for (int h = 0; h < 2; h++) {
        pm_state_doc_clear(&info[h]);
        pm_table_free(half[h]);
        pm_dns_table_free(dhalf[h]);
        g_array_free(map[h], TRUE);
        g_free(doc[h]);
    }
    g_free(want);
    g_free(got);
    pm_table_free(whole);
    pm_table_free(merged);
    pm_dns_table_free(dwhole);
    pm_dns_table_free(dmerged);
    g_array_free(cap, TRUE);
}

/* One DNS pair in two parts: counts add, the latency sketch merges
 * exactly, top names merge as Space-Saving summaries. */
static uint32_t dframe;

static void
dns_msg(pm_dns_table *d, bool response, uint8_t rcode, const char *name, float ms)
{
    pm_dns_msg m;

    memset(&m, 0, sizeof m);
    m.frame = ++dframe;
    m.src = ep4(10, 9, 0, 1, 5353);
    m.dst = ep4(10, 9, 0, 53, 53);
    if (response) {
        m.src = m.dst;
        m.dst = ep4(10, 9, 0, 1, 5353);
    }
    m.response = response;
    m.rcode = rcode;
    m.time_ms = ms;
    m.response_to = response ? m.frame - 1 : 0;
    m.name = name;
    m.name_len = strlen(name);
    pm_dns_add(d, &m, NULL, NULL, 0);
}

static void
nx(pm_dns_table *d, const char *name, int times, float ms)
{
    for (int i = 0; i < times; i++) {
        dns_msg(d, false, 0, name, -1);
        dns_msg(d, true, 3, name, ms);
    }
}

static void
test_merge_split_pair(void)
{
    pm_dns_table *a = pm_dns_table_new(), *b = pm_dns_table_new(), *all = pm_dns_table_new();
    pm_dns_table *m = pm_dns_table_new();
    pm_table *ta = pm_table_new(), *tb = pm_table_new(), *tm = pm_table_new();
    char *da, *db, *err = NULL;
    uint32_t next = 0;
    pm_state_doc x;
    pm_dns_name_count top[PM_DNS_PENDING];
    const pm_dns_pair *p, *w;
    size_t n;

    /* Part a: NXDOMAIN for n1 x3, n2 x2, n3 x2, n4 x2, n5 x2: a full top
     * list (5 names), smallest count 2. Part b: n1 x2, n6 x1, not full. */
    nx(a, "n1.example", 3, 10);
    nx(a, "n2.example", 2, 20);
    nx(a, "n3.example", 2, 30);
    nx(a, "n4.example", 2, 40);
    nx(a, "n5.example", 2, 50);
    dns_msg(a, false, 0, "lost.example", -1);    /* unanswered */
    nx(b, "n1.example", 2, 1000);
    nx(b, "n6.example", 1, 2000);
    da = render(ta, a, &SP, &DP, true);
    db = render(tb, b, &SP, &DP, true);
    CU_ASSERT_TRUE_FATAL(load(da, NULL, 0, tm, m, &next, &x, &err));
    pm_state_doc_clear(&x);
    CU_ASSERT_TRUE_FATAL(load(db, NULL, 0, tm, m, &next, &x, &err));
    pm_state_doc_clear(&x);
    CU_ASSERT_EQUAL_FATAL(pm_dns_count(m), 1);
    p = pm_dns_pairs(m)[0];
    /* Counts: a asked 3+2+2+2+2 = 11 answered and 1 unanswered query,
     * b 2+1 = 3: 15 queries, 14 NXDOMAIN responses, 1 unanswered. */
    CU_ASSERT_EQUAL(p->queries, 15);
    CU_ASSERT_EQUAL(p->responses, 14);
    CU_ASSERT_EQUAL(p->rcode[PM_RC_NXDOMAIN], 14);
    CU_ASSERT_EQUAL(pm_dns_unanswered(p), 1);
    /* The latency sketch is the one of all 15 answers. */
    nx(all, "n1.example", 3, 10);
    nx(all, "n2.example", 2, 20);
    nx(all, "n3.example", 2, 30);
    nx(all, "n4.example", 2, 40);
    nx(all, "n5.example", 2, 50);
    dns_msg(all, false, 0, "lost.example", -1);
    nx(all, "n1.example", 2, 1000);
    nx(all, "n6.example", 1, 2000);
    w = pm_dns_pairs(all)[0];
    CU_ASSERT_TRUE(pm_sketch_equal(p->latency, w->latency));
    /* Top names, worked out: a is full with min 2, b is not (min 0).
     *   n1: 3 + 2 = 5, error 0 + 0 = 0        (in both)
     *   n2..n5: 2 + 0 = 2, error 0            (b not full: never seen there)
     *   n6: 1 + 2 = 3, error 0 + 2 = 2        (a full: may have had 2)
     * Kept: the 5 largest estimates, ties by name: n1 5, n6 3, n2 2,
     * n3 2, n4 2; n5 (2, last by name) drops out. pm_dns_top reports
     * estimate - error: n1 5, n2 2, n3 2, n4 2, n6 1. */
    n = pm_dns_top(p, PM_OUT_NXDOMAIN, top);
    CU_ASSERT_EQUAL_FATAL(n, 5);
    CU_ASSERT_STRING_EQUAL(top[0].name, "n1.example");
    CU_ASSERT_EQUAL(top[0].count, 5);
    CU_ASSERT_STRING_EQUAL(top[1].name, "n2.example");
    CU_ASSERT_EQUAL(top[1].count, 2);
    CU_ASSERT_STRING_EQUAL(top[3].name, "n4.example");
    CU_ASSERT_STRING_EQUAL(top[4].name, "n6.example");
    CU_ASSERT_EQUAL(top[4].count, 1);
    /* Unanswered names: the one pending query. */
    n = pm_dns_top(p, PM_OUT_UNANSWERED, top);
    CU_ASSERT_EQUAL_FATAL(n, 1);
    CU_ASSERT_STRING_EQUAL(top[0].name, "lost.example");
    /* Merging the other way round gives the same top list. */
    {
        pm_dns_table *m2 = pm_dns_table_new();
        pm_table *t2 = pm_table_new();
        pm_dns_name_count top2[PM_DNS_PENDING];

        next = 0;
        CU_ASSERT_TRUE(load(db, NULL, 0, t2, m2, &next, &x, &err));
        pm_state_doc_clear(&x);
        CU_ASSERT_TRUE(load(da, NULL, 0, t2, m2, &next, &x, &err));
        pm_state_doc_clear(&x);
        CU_ASSERT_EQUAL(pm_dns_top(pm_dns_pairs(m2)[0], PM_OUT_NXDOMAIN, top2), 5);
        n = pm_dns_top(p, PM_OUT_NXDOMAIN, top);
        for (size_t i = 0; i < n; i++) {
            CU_ASSERT_STRING_EQUAL(top[i].name, top2[i].name);
            CU_ASSERT_EQUAL(top[i].count, top2[i].count);
        }
        pm_dns_table_free(m2);
        pm_table_free(t2);
    }
    g_free(da);
    g_free(db);
    pm_dns_table_free(a);
    pm_dns_table_free(b);
    pm_dns_table_free(all);
    pm_dns_table_free(m);
    pm_table_free(ta);
    pm_table_free(tb);
    pm_table_free(tm);
}

/* Documents that must be refused, each with a message that says why. */
static void
test_refused(void)
{
    pm_table *t = pm_table_new();
    pm_dns_table *d = pm_dns_table_new();
    pm_packet p;
    char *good, *bad, *err = NULL;
    pm_state_doc x, y;
    uint32_t next = 0;
    pm_score_params other = SP;
    /* Each replaces the first `from` after `anchor` (the conversation's
     * state follows its evidence filter). */
    static const struct { const char *anchor, *from, *to, *why; } edits[] = {
        { "", "\"schema\": \"v1\"", "\"schema\": \"v2\"", "schema" },
        { "", "\"version\": 1", "\"version\": 2", "state version" },
        { "\"events_filter\"", "\"packets\": 3", "\"packets\": -3",
          "\"packets\" is not an unsigned integer" },
        { "", "\"family\": 4", "\"family\": 5", "family" },
        { "", "\"conversations_total\": 1", "\"conversations_total\": 2", "json_top" },
        { "", "\"hi\": ", "\"hi\": 1, \"x\": ", "not a consistent sketch" },
        { "", "\"weight_retransmission\"", "\"w\"", "\"weight_retransmission\" is missing" },
        { "\"events_filter\"", "\"first_frame\": 1", "\"first_frame\": 9", "beyond the frame map" },
    };
    static const uint32_t map3[3] = { 4, 5, 6 };

    memset(&p, 0, sizeof p);
    p.src = ep4(1, 2, 3, 4, 1000);
    p.dst = ep4(5, 6, 7, 8, 80);
    p.initial_rtt_ms = -1;
    for (uint32_t i = 0; i < 3; i++) {
        p.frame = i + 1;
        p.ack_rtt_ms = 5.0f + (float)i;
        pm_table_add(t, &p, NULL);
    }
    good = render(t, NULL, &SP, &DP, true);
    for (size_t i = 0; i < G_N_ELEMENTS(edits); i++) {
        pm_table *t2 = pm_table_new();
        pm_dns_table *d2 = pm_dns_table_new();
        const char *at = strstr(strstr(good, edits[i].anchor), edits[i].from);

        CU_ASSERT_PTR_NOT_NULL_FATAL(at);   /* the text to edit is there */
        bad = g_strdup_printf("%.*s%s%s", (int)(at - good), good, edits[i].to,
                              at + strlen(edits[i].from));
        CU_ASSERT_FALSE(load(bad, map3, 3, t2, d2, &next, &x, &err));
        CU_ASSERT_PTR_NOT_NULL_FATAL(err);
        if (!strstr(err, edits[i].why))
            fprintf(stderr, "\nedit %zu: message \"%s\" lacks \"%s\"\n", i, err, edits[i].why);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, edits[i].why));
        g_free(err);
        err = NULL;
        pm_state_doc_clear(&x);
        g_free(bad);
        pm_table_free(t2);
        pm_dns_table_free(d2);
    }
    /* Not JSON at all, or cut short. */
    CU_ASSERT_FALSE(load("{\"summary\": ", NULL, 0, t, d, &next, &x, &err));
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "not JSON"));
    g_free(err);
    pm_state_doc_clear(&x);
    CU_ASSERT_FALSE(load("[1, 2]", NULL, 0, t, d, &next, &x, &err));
    CU_ASSERT_PTR_NOT_NULL(err);
    g_free(err);
    pm_state_doc_clear(&x);
    /* Different settings are named. */
    other.slow_rtt_ms = 77;
    bad = render(t, NULL, &other, &DP, true);
    {
        pm_table *t2 = pm_table_new();

        CU_ASSERT_TRUE(load(good, map3, 3, t2, d, &next, &x, &err));
        CU_ASSERT_TRUE(load(bad, map3, 3, t2, d, &next, &y, &err));
        pm_table_free(t2);
    }
    CU_ASSERT_STRING_EQUAL(pm_state_doc_mismatch(&x, &y), "slow_rtt_ms");
    CU_ASSERT_PTR_NULL(pm_state_doc_mismatch(&x, &x));
    pm_state_doc_clear(&x);
    pm_state_doc_clear(&y);
    g_free(bad);
    /* The capture-duplicate window is read back and must agree; a
     * document that names none (made before it was written) does not
     * merge with one that does. */
    {
        char *w10 = render_window(t, NULL, &SP, &DP, true, 10);
        char *w25 = render_window(t, NULL, &SP, &DP, true, 25);
        pm_state_doc z;
        pm_table *t2 = pm_table_new();

        CU_ASSERT_PTR_NULL(strstr(good, "dup_window_ms"));
        CU_ASSERT_PTR_NOT_NULL(strstr(w10, "\"dup_window_ms\": 10"));
        CU_ASSERT_TRUE(load(good, map3, 3, t2, d, &next, &x, &err));
        CU_ASSERT_TRUE(load(w10, map3, 3, t2, d, &next, &y, &err));
        CU_ASSERT_TRUE(load(w25, map3, 3, t2, d, &next, &z, &err));
        CU_ASSERT_FALSE(x.has_dup_window);
        CU_ASSERT_TRUE(y.has_dup_window && y.dup_window_ms == 10);
        CU_ASSERT_TRUE(z.has_dup_window && z.dup_window_ms == 25);
        CU_ASSERT_PTR_NULL(pm_state_doc_mismatch(&y, &y));
        CU_ASSERT_STRING_EQUAL(pm_state_doc_mismatch(&y, &z), "dup_window_ms");
        CU_ASSERT_STRING_EQUAL(pm_state_doc_mismatch(&x, &y), "dup_window_ms");
        CU_ASSERT_STRING_EQUAL(pm_state_doc_mismatch(&y, &x), "dup_window_ms");
        pm_state_doc_clear(&x);
        pm_state_doc_clear(&y);
        pm_state_doc_clear(&z);
        pm_table_free(t2);
        g_free(w10);
        g_free(w25);
    }
    g_free(good);
    pm_table_free(t);
    pm_dns_table_free(d);
}

/* An imported conversation is the owner's to mark afresh: neither the
 * dissector's user_* nor a stats tree's tree_* marks come along. */
static void
test_import_clears_owner_marks(void)
{
    pm_table *t = pm_table_new();
    pm_conv src, *c;

    memset(&src, 0, sizeof src);
    src.stream = 4;
    src.client.family = src.server.family = 4;
    src.initial_rtt_ms = -1.0f;
    src.user_node = 5;
    src.user_value = 6;
    src.user_extra = 7;
    src.tree_node = 8;
    src.tree_value = 9;
    src.tree_extra = 10;
    c = pm_table_import(t, &src);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(c->user_node, -1);
    CU_ASSERT_EQUAL(c->user_value, 0);
    CU_ASSERT_EQUAL(c->user_extra, 0);
    CU_ASSERT_EQUAL(c->tree_node, -1);
    CU_ASSERT_EQUAL(c->tree_value, 0);
    CU_ASSERT_EQUAL(c->tree_extra, 0);
    pm_table_free(t);
}

int
main(void)
{
    CU_pSuite s;
    unsigned failures;

    /* Every setting different from the defaults and from every other
     * setting, so that one read back as a default, or into the wrong
     * field, shows. (Both structs are unsigned numbers only.) */
    for (size_t i = 0; i < sizeof SP / sizeof(unsigned); i++)
        ((unsigned *)&SP)[i] = 101 + 2 * (unsigned)i;
    for (size_t i = 0; i < sizeof DP / sizeof(unsigned); i++)
        ((unsigned *)&DP)[i] = 7 + 3 * (unsigned)i;
    if (CU_initialize_registry() != CUE_SUCCESS)
        return CU_get_error();
    s = CU_add_suite("state", NULL, NULL);
    if (!s || !CU_add_test(s, "sketch export and import", test_sketch_export_import) ||
        !CU_add_test(s, "round trip of a capture", test_round_trip_capture) ||
        !CU_add_test(s, "round trip of floats", test_round_trip_floats) ||
        !CU_add_test(s, "two shards merge into the whole", test_merge_shards) ||
        !CU_add_test(s, "one DNS pair in two parts", test_merge_split_pair) ||
        !CU_add_test(s, "bad documents refused", test_refused) ||
        !CU_add_test(s, "import clears the owner's marks", test_import_clears_owner_marks)) {
        CU_cleanup_registry();
        return 1;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failures = CU_get_number_of_failures();
    CU_cleanup_registry();
    return failures != 0;
}
