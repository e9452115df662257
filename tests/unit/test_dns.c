/* test_dns.c
 * CUnit tests of the DNS health detector's core (plugin/core/pm_dns.c).
 *
 * Expected values are worked out by hand from docs/SCORING-DNS.md; the
 * arithmetic is in the comments.
 *
 * Copyright (c) 2026 The PacketMancer authors
 * SPDX-License-Identifier: MIT
 */

#include <string.h>

#include <glib.h>
#include <CUnit/Basic.h>

#include "pm_dns.h"

static pm_dns_params P;

static pm_endpoint
host(unsigned last)
{
    pm_endpoint e;

    memset(&e, 0, sizeof e);
    e.family = 4;
    e.addr[0] = 10;
    e.addr[3] = (uint8_t)last;
    e.port = (uint16_t)(40000 + last);
    return e;
}

static uint32_t frame;

/* A query from client to server; returns its frame number. */
static uint32_t
query(pm_dns_table *t, unsigned c, unsigned s, const char *name, bool retx)
{
    pm_dns_msg m;

    memset(&m, 0, sizeof m);
    m.frame = ++frame;
    m.src = host(c);
    m.dst = host(s);
    m.retransmission = retx;
    m.time_ms = -1;
    m.name = name;
    m.name_len = name ? strlen(name) : 0;
    pm_dns_add(t, &m, NULL, NULL, 0);
    return m.frame;
}

static void
answer(pm_dns_table *t, unsigned c, unsigned s, uint32_t to, const char *name, uint8_t rcode,
       float ms, bool dup)
{
    pm_dns_msg m;

    memset(&m, 0, sizeof m);
    m.frame = ++frame;
    m.src = host(s);
    m.dst = host(c);
    m.response = true;
    m.retransmission = dup;
    m.rcode = rcode;
    m.time_ms = dup ? -1 : ms;
    m.response_to = dup ? 0 : to;
    m.name = name;
    m.name_len = strlen(name);
    pm_dns_add(t, &m, NULL, NULL, 0);
}

static void
join(const char *text, void *user)
{
    GString *s = user;

    if (s->len)
        g_string_append(s, "; ");
    g_string_append(s, text);
}

static char *
reasons(const pm_dns_pair *p, pm_lang lang)
{
    pm_dns_verdict v = pm_dns_score(&P, p);
    GString *s = g_string_new(NULL);

    pm_dns_reasons(&v, p, lang, join, s);
    return g_string_free(s, FALSE);
}

#define CHECK_REASONS(p, lang, want)                                   \
    do {                                                               \
        char *r_ = reasons((p), (lang));                               \
        CU_ASSERT_STRING_EQUAL(r_, (want));                            \
        if (strcmp(r_, (want)) != 0)                                   \
            fprintf(stderr, "\n    got \"%s\"\n    want \"%s\"\n", r_, (want)); \
        g_free(r_);                                                    \
    } while (0)

/* Counting: queries (retransmissions included), first responses,
 * duplicates, unanswered = queries - responses, rcodes, pair identity
 * (the client is the asker, whatever the direction of the message). */
static void
test_counting(void)
{
    pm_dns_table *t = pm_dns_table_new();
    pm_dns_pair *p;
    pm_endpoint c = host(1), s = host(53);
    uint32_t q1, q2;

    frame = 0;
    q1 = query(t, 1, 53, "a.example.com", false);
    q2 = query(t, 1, 53, "b.example.com", false);
    query(t, 1, 53, "b.example.com", true);            /* retransmitted */
    query(t, 1, 53, "c.example.com", false);            /* never answered */
    answer(t, 1, 53, q1, "a.example.com", 0, 12.5f, false);
    answer(t, 1, 53, q1, "a.example.com", 0, 0, true);  /* duplicate */
    answer(t, 1, 53, q2, "b.example.com", 3, 20.0f, false);
    CU_ASSERT_EQUAL(pm_dns_count(t), 1);
    p = pm_dns_lookup(t, &c, &s);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(p->queries, 4);
    CU_ASSERT_EQUAL(p->queries_udp, 4);
    CU_ASSERT_EQUAL(p->retransmitted_queries, 1);
    CU_ASSERT_EQUAL(p->responses, 2);
    CU_ASSERT_EQUAL(p->duplicate_responses, 1);
    CU_ASSERT_EQUAL(pm_dns_unanswered(p), 2);           /* 4 - 2 */
    CU_ASSERT_EQUAL(p->rcode[PM_RC_NOERROR], 1);
    CU_ASSERT_EQUAL(p->rcode[PM_RC_NXDOMAIN], 1);
    CU_ASSERT_EQUAL(p->first_frame, 1);
    CU_ASSERT_EQUAL(p->last_frame, 7);
    /* The reverse pair does not exist: the asker is the client. */
    CU_ASSERT_PTR_NULL(pm_dns_lookup(t, &s, &c));
    {
        char name[128];

        pm_dns_pair_name(p, name, sizeof name);
        CU_ASSERT_STRING_EQUAL(name, "10.0.0.1 <-> 10.0.0.53/DNS");
    }
    /* Responses with no query seen never make unanswered negative. */
    answer(t, 2, 53, 0, "x.example.com", 0, 1.0f, false);
    p = pm_dns_lookup(t, &(pm_endpoint){ 0 }, &s);
    CU_ASSERT_PTR_NULL(p);
    {
        pm_endpoint c2 = host(2);

        p = pm_dns_lookup(t, &c2, &s);
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        CU_ASSERT_EQUAL(pm_dns_unanswered(p), 0);
    }
    pm_dns_table_free(t);
}

/* Names: unanswered ones from the pending ring (an answer settles its
 * query and the query's retransmissions), NXDOMAIN names, suspicious
 * names; counts are certain counts, sorted, ties by name. */
static void
test_top_names(void)
{
    pm_dns_table *t = pm_dns_table_new();
    pm_dns_name_count names[PM_DNS_PENDING];
    pm_endpoint c = host(1), s = host(53);
    const pm_dns_pair *p;
    uint32_t q;
    size_t n;

    frame = 0;
    q = query(t, 1, 53, "ok.example.com", false);
    query(t, 1, 53, "ok.example.com", true);
    answer(t, 1, 53, q, "ok.example.com", 0, 1.0f, false);
    query(t, 1, 53, "lost.example.com", false);
    query(t, 1, 53, "lost.example.com", true);
    query(t, 1, 53, "gone.example.com", false);
    for (int i = 0; i < 7; i++) {
        char nx[32];

        g_snprintf(nx, sizeof nx, "nx%d.example.com", i < 3 ? 0 : i);
        q = query(t, 1, 53, nx, false);
        answer(t, 1, 53, q, nx, 3, 1.0f, false);
    }
    p = pm_dns_lookup(t, &c, &s);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    n = pm_dns_top(p, PM_OUT_UNANSWERED, names);
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT_STRING_EQUAL(names[0].name, "lost.example.com");
    CU_ASSERT_EQUAL(names[0].count, 2);
    CU_ASSERT_STRING_EQUAL(names[1].name, "gone.example.com");
    CU_ASSERT_EQUAL(names[1].count, 1);
    /* NXDOMAIN: nx0 three times, then nx3..nx6 once each: 5 names fit. */
    n = pm_dns_top(p, PM_OUT_NXDOMAIN, names);
    CU_ASSERT_EQUAL(n, 5);
    CU_ASSERT_STRING_EQUAL(names[0].name, "nx0.example.com");
    CU_ASSERT_EQUAL(names[0].count, 3);
    CU_ASSERT_STRING_EQUAL(names[1].name, "nx3.example.com");
    CU_ASSERT_EQUAL(names[4].count, 1);
    CU_ASSERT_EQUAL(pm_dns_top(p, PM_OUT_SERVFAIL, names), 0);
    pm_dns_table_free(t);

    /* A sixth name evicts the least counted one; the newcomer's certain
     * count is 1, not the inherited estimate. */
    t = pm_dns_table_new();
    frame = 0;
    for (int i = 0; i < 6; i++) {
        char nx[32];

        g_snprintf(nx, sizeof nx, "n%d.example.com", i);
        q = query(t, 1, 53, nx, false);
        answer(t, 1, 53, q, nx, 3, 1.0f, false);
    }
    p = pm_dns_lookup(t, &c, &s);
    n = pm_dns_top(p, PM_OUT_NXDOMAIN, names);
    CU_ASSERT_EQUAL(n, 5);
    for (size_t i = 0; i < n; i++)
        CU_ASSERT_EQUAL(names[i].count, 1);
    pm_dns_table_free(t);
}

/* Builds a pair with the given counts: q queries, r answered with rcodes
 * (s SERVFAIL, nx NXDOMAIN, f REFUSED, rest NOERROR), all after ms. */
static pm_dns_pair *
make(pm_dns_table *t, unsigned c, int q, int r, int s, int nx, int f, float ms)
{
    pm_endpoint cl = host(c), sv = host(53);

    for (int i = 0; i < q; i++) {
        char name[32];
        uint32_t fr;
        uint8_t rc = 0;

        g_snprintf(name, sizeof name, "h%d.example.com", i);
        fr = query(t, c, 53, name, false);
        if (i >= r)
            continue;
        if (i < s) rc = 2;
        else if (i < s + nx) rc = 3;
        else if (i < s + nx + f) rc = 5;
        answer(t, c, 53, fr, name, rc, ms, false);
    }
    return pm_dns_lookup(t, &cl, &sv);
}

/* Score and level boundaries of SCORING-DNS.md, default parameters. */
static void
test_scoring(void)
{
    pm_dns_table *t = pm_dns_table_new();
    pm_dns_pair *p;
    pm_dns_verdict v;

    frame = 0;
    /* 10 queries, 10 answers: 2 SERVFAIL, 6 NXDOMAIN.
     * 100*2/10 + 25*6/10 = 20 + 15 = 35; SERVFAIL 20% >= 10% -> MEDIUM. */
    p = make(t, 1, 10, 10, 2, 6, 0, 5.0f);
    v = pm_dns_score(&P, p);
    CU_ASSERT_EQUAL(v.score, 35);
    CU_ASSERT_EQUAL(v.level, PM_LEVEL_MEDIUM);
    CHECK_REASONS(p, PM_LANG_EN, "SERVFAIL 20.0% (2 of 10); NXDOMAIN 60.0% (6 of 10)");
    CHECK_REASONS(p, PM_LANG_ES, "SERVFAIL 20.0% (2 de 10); NXDOMAIN 60.0% (6 de 10)");

    /* 9 queries, 2 answers: 7 unanswered, 100*7/9 = 77.8 -> 78;
     * 77.8% >= 50% -> HIGH. */
    p = make(t, 2, 9, 2, 0, 0, 0, 30.0f);
    v = pm_dns_score(&P, p);
    CU_ASSERT_EQUAL(v.score, 78);
    CU_ASSERT_EQUAL(v.level, PM_LEVEL_HIGH);
    CHECK_REASONS(p, PM_LANG_EN, "unanswered queries 77.8% (7 of 9)");
    CHECK_REASONS(p, PM_LANG_ES, "consultas sin respuesta 77.8% (7 de 9)");

    /* 4 queries, none answered: below the 5-query minimum, nothing. */
    p = make(t, 3, 4, 0, 0, 0, 0, 0);
    v = pm_dns_score(&P, p);
    CU_ASSERT_EQUAL(v.score, 0);
    CU_ASSERT_EQUAL(v.level, PM_LEVEL_OK);
    CHECK_REASONS(p, PM_LANG_EN, "");

    /* 5 queries, 4 answered: 1 unanswered = 20% -> 20 points, and 20%
     * reaches the MEDIUM share. */
    p = make(t, 4, 5, 4, 0, 0, 0, 1.0f);
    v = pm_dns_score(&P, p);
    CU_ASSERT_EQUAL(v.score, 20);
    CU_ASSERT_EQUAL(v.level, PM_LEVEL_MEDIUM);
    /* 10 queries, 9 answered: 10% -> 10 points, below 20%: LOW. */
    p = make(t, 5, 10, 9, 0, 0, 0, 1.0f);
    v = pm_dns_score(&P, p);
    CU_ASSERT_EQUAL(v.score, 10);
    CU_ASSERT_EQUAL(v.level, PM_LEVEL_LOW);

    /* 12 answers after 400 ms: p95 400 > 250 with 12 >= 10 -> +30, MEDIUM.
     * 9 answers after 400 ms: too few samples -> OK. 12 after 250 ms: not
     * above the threshold -> OK. */
    p = make(t, 6, 12, 12, 0, 0, 0, 400.0f);
    v = pm_dns_score(&P, p);
    CU_ASSERT_EQUAL(v.score, 30);
    CU_ASSERT_EQUAL(v.level, PM_LEVEL_MEDIUM);
    CU_ASSERT_DOUBLE_EQUAL(v.p95_ms, 400.0, 4.0);
    p = make(t, 7, 9, 9, 0, 0, 0, 400.0f);
    CU_ASSERT_EQUAL(pm_dns_score(&P, p).score, 0);
    p = make(t, 8, 12, 12, 0, 0, 0, 245.0f);
    CU_ASSERT_EQUAL(pm_dns_score(&P, p).level, PM_LEVEL_OK);

    /* 10 answers, 1 NXDOMAIN: 25*1/10 = 2.5 -> 3 (half up), LOW, named. */
    p = make(t, 9, 10, 10, 0, 1, 0, 1.0f);
    v = pm_dns_score(&P, p);
    CU_ASSERT_EQUAL(v.score, 3);
    CU_ASSERT_EQUAL(v.level, PM_LEVEL_LOW);
    CHECK_REASONS(p, PM_LANG_EN, "NXDOMAIN 10.0% (1 of 10)");
    /* 50 answers, 1 NXDOMAIN: 25/50 = 0.5 point: not worth naming (< 1),
     * nothing counted. */
    p = make(t, 10, 50, 50, 0, 1, 0, 1.0f);
    v = pm_dns_score(&P, p);
    CU_ASSERT_EQUAL(v.score, 0);
    CHECK_REASONS(p, PM_LANG_EN, "");

    /* SERVFAIL 5 of 10 = 50% -> HIGH; 100*5/10 = 50. */
    p = make(t, 11, 10, 10, 5, 0, 0, 1.0f);
    v = pm_dns_score(&P, p);
    CU_ASSERT_EQUAL(v.score, 50);
    CU_ASSERT_EQUAL(v.level, PM_LEVEL_HIGH);
    pm_dns_table_free(t);
}

/* Suspicious names: 25 per DGA-like name (at most 4), 5 per punycode
 * name (at most 2); any DGA-like name makes the pair MEDIUM. */
static void
test_suspicious(void)
{
    pm_dns_table *t = pm_dns_table_new();
    pm_endpoint c = host(1), s = host(53);
    const char *names[] = { "www.xn--mnich-kva.com", "xn--bcher-kva.example", "xn--a.com",
                            "qxvzkwptrmhd.com", "www.example.com" };
    pm_dns_pair *p;
    pm_dns_verdict v;

    frame = 0;
    for (size_t i = 0; i < G_N_ELEMENTS(names); i++)
        query(t, 1, 53, names[i], false);
    p = pm_dns_lookup(t, &c, &s);
    CU_ASSERT_EQUAL(p->punycode, 3);
    CU_ASSERT_EQUAL(p->dga, 1);
    /* 5 queries, 0 answers: 100% unanswered (100) + 25*1 + 5*min(3,2) = 135. */
    v = pm_dns_score(&P, p);
    CU_ASSERT_EQUAL(v.score, 135);
    CU_ASSERT_EQUAL(v.level, PM_LEVEL_HIGH);
    CHECK_REASONS(p, PM_LANG_EN, "unanswered queries 100.0% (5 of 5); DGA-like names (1); punycode names (3)");
    CHECK_REASONS(p, PM_LANG_ES,
                  "consultas sin respuesta 100.0% (5 de 5); nombres tipo DGA (1); nombres punycode (3)");
    pm_dns_table_free(t);

    /* DGA alone, below the query minimum: 25 -> MEDIUM anyway. */
    t = pm_dns_table_new();
    query(t, 1, 53, "qxvzkwptrmhd.com", false);
    p = pm_dns_lookup(t, &c, &s);
    v = pm_dns_score(&P, p);
    CU_ASSERT_EQUAL(v.score, 25);
    CU_ASSERT_EQUAL(v.level, PM_LEVEL_MEDIUM);
    pm_dns_table_free(t);
}

/* Hostile names: a NUL inside, control bytes, a 300-byte name. They are
 * kept (cut to 255 bytes) and never read past their length. */
static void
test_hostile_names(void)
{
    pm_dns_table *t = pm_dns_table_new();
    pm_dns_name_count names[PM_DNS_PENDING];
    pm_endpoint c = host(1), s = host(53);
    char longname[301];
    pm_dns_msg m;
    const pm_dns_pair *p;

    memset(longname, 'a', 300);
    longname[300] = '\0';
    memset(&m, 0, sizeof m);
    m.frame = 1;
    m.src = c;
    m.dst = s;
    m.time_ms = -1;
    m.name = "ab\0cd";
    m.name_len = 5;
    pm_dns_add(t, &m, NULL, NULL, 0);
    m.frame = 2;
    m.name = longname;
    m.name_len = 300;
    pm_dns_add(t, &m, NULL, NULL, 0);
    m.frame = 3;
    m.name = "\x1b[31mevil\x1b[0m.com";
    m.name_len = strlen(m.name);
    pm_dns_add(t, &m, NULL, NULL, 0);
    p = pm_dns_lookup(t, &c, &s);
    CU_ASSERT_EQUAL(pm_dns_top(p, PM_OUT_UNANSWERED, names), 3);
    for (int i = 0; i < 3; i++)
        CU_ASSERT(strlen(names[i].name) <= PM_DNS_NAME_MAX);
    pm_dns_table_free(t);
}

int
main(void)
{
    CU_pSuite s;
    unsigned failures;

    pm_dns_params_default(&P);
    if (CU_initialize_registry() != CUE_SUCCESS)
        return CU_get_error();
    s = CU_add_suite("dns", NULL, NULL);
    if (!s || !CU_add_test(s, "counting", test_counting) ||
        !CU_add_test(s, "top names", test_top_names) ||
        !CU_add_test(s, "scoring boundaries", test_scoring) ||
        !CU_add_test(s, "suspicious names", test_suspicious) ||
        !CU_add_test(s, "hostile names", test_hostile_names)) {
        CU_cleanup_registry();
        return 1;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failures = CU_get_number_of_failures();
    CU_cleanup_registry();
    return failures != 0;
}
