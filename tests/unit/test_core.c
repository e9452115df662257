/* test_core.c
 * CUnit tests for PacketMancer's epan-free core (plugin/core/).
 *
 * Every expected number here is worked out by hand from docs/SCORING.md
 * (the contract); the arithmetic sits in a comment next to each case.
 * When code and contract disagree the test follows the contract.
 *
 * Build and run:
 *   gcc -std=gnu11 -Wall -Wextra -Iplugin/core \
 *       $(pkg-config --cflags glib-2.0 wireshark cunit) \
 *       tests/unit/test_core.c plugin/core/pm_*.c \
 *       $(pkg-config --libs glib-2.0 cunit) -lwsutil -o /tmp/test_core
 *
 * Copyright (c) 2026 The PacketMancer authors
 * SPDX-License-Identifier: MIT
 */

#include <stdio.h>
#include <math.h>
#include <string.h>
#include <arpa/inet.h>

#include <glib.h>
#include <CUnit/Basic.h>

#include "pm_core.h"
#include "pm_sketch.h"
#include "pm_score.h"
#include "pm_report.h"
#include "pm_json.h"
#include "pm_output.h"
#include <errno.h>
#include <glib/gstdio.h>

#include <wsutil/json_dumper.h>

/* "≥" in UTF-8, as the contract's reason texts use it. */
#define GE "\xe2\x89\xa5"

/* ================================================================ helpers */

static pm_score_params defaults;

static pm_verdict
score_of(uint64_t P, uint64_t R, uint64_t Z, uint64_t D, uint64_t O)
{
    pm_totals t = { .packets = P, .retx = R, .zero_window = Z, .dup_ack = D, .out_of_order = O };
    return pm_score(&defaults, &t);
}

/* Score and level of one set of totals, checked as a pair. */
#define CHECK_SCORE(P, R, Z, D, O, want_score, want_level)              \
    do {                                                                \
        pm_verdict v_ = score_of(P, R, Z, D, O);                        \
        CU_ASSERT_EQUAL(v_.score, (want_score));                        \
        CU_ASSERT_EQUAL(v_.level, (want_level));                        \
    } while (0)

/* Reasons of the totals, joined with "; ", in one language. */
static void
check_reasons(uint64_t P, uint64_t R, uint64_t Z, uint64_t D, uint64_t O,
              pm_lang lang, const char *want)
{
    pm_totals t = { .packets = P, .retx = R, .zero_window = Z, .dup_ack = D, .out_of_order = O };
    pm_verdict v = pm_score(&defaults, &t);
    char buf[512];

    memset(buf, 'X', sizeof buf);
    pm_reasons_join(&v, &t, lang, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, want);
    if (strcmp(buf, want) != 0)
        fprintf(stderr, "\n    reasons: got \"%s\", want \"%s\"\n", buf, want);
}

static pm_endpoint
ep4(unsigned a, unsigned b, unsigned c, unsigned d, uint16_t port)
{
    pm_endpoint e;

    memset(&e, 0, sizeof e);
    e.family = 4;
    e.addr[0] = (uint8_t)a;
    e.addr[1] = (uint8_t)b;
    e.addr[2] = (uint8_t)c;
    e.addr[3] = (uint8_t)d;
    e.port = port;
    return e;
}

static pm_endpoint
ep6(const char *text, uint16_t port)
{
    pm_endpoint e;

    memset(&e, 0, sizeof e);
    e.family = 6;
    CU_ASSERT_FATAL(inet_pton(AF_INET6, text, e.addr) == 1);
    e.port = port;
    return e;
}

static pm_packet
mkpkt(uint32_t frame, uint32_t stream, pm_endpoint src, pm_endpoint dst,
      uint8_t flags, uint16_t events, uint32_t len, int64_t ts_us)
{
    pm_packet p;

    memset(&p, 0, sizeof p);
    p.frame = frame;
    p.stream = stream;
    p.length = len;
    p.ts_us = ts_us;
    p.events = events;
    p.tcp_flags = flags;
    p.ack_rtt_ms = -1.0f;       /* no RTT sample unless a test sets one */
    p.initial_rtt_ms = -1.0f;
    p.src = src;
    p.dst = dst;
    return p;
}

/* Feeds n identical packets src->dst of one stream; frame numbers
 * continue from *frame. */
static void
feed(pm_table *t, uint32_t *frame, uint32_t stream, pm_endpoint src,
     pm_endpoint dst, unsigned n, uint8_t flags, uint16_t events)
{
    for (unsigned i = 0; i < n; i++) {
        uint32_t f = ++*frame;
        pm_packet p = mkpkt(f, stream, src, dst, flags, events, 100, (int64_t)f * 1000);
        pm_table_add(t, &p, NULL);
    }
}

static size_t
count_substr(const char *hay, const char *needle)
{
    size_t n = 0, l = strlen(needle);

    for (const char *p = strstr(hay, needle); p; p = strstr(p + l, needle))
        n++;
    return n;
}

/* Asserts that hay contains needle, and says which one when it does not. */
#define CHECK_HAS(hay, needle)                                                 \
    do {                                                                       \
        bool found_ = strstr((hay), (needle)) != NULL;                         \
        CU_ASSERT(found_);                                                     \
        if (!found_)                                                           \
            fprintf(stderr, "\n    missing: \"%s\"\n", (needle));              \
    } while (0)

/* ======================================================= score: formula */

/* k = max(P/1000, 1) with real division, round half away from zero. */
static void
test_score_k(void)
{
    /* P=500 < 1000: k = max(0.5, 1) = 1 -> 12*5/1 = 60 (not 120). */
    CHECK_SCORE(500, 5, 0, 0, 0, 60, PM_LEVEL_MEDIUM);
    /* P=1000: k = 1 -> 12*5 = 60. */
    CHECK_SCORE(1000, 5, 0, 0, 0, 60, PM_LEVEL_MEDIUM);
    /* P=1500, R=20: k = 1.5 -> 240/1.5 = 160; HIGH (score>=100, R>=20). */
    CHECK_SCORE(1500, 20, 0, 0, 0, 160, PM_LEVEL_HIGH);
    /* P=2000, R=1: k = 2 -> 12/2 = 6 -> LOW. */
    CHECK_SCORE(2000, 1, 0, 0, 0, 6, PM_LEVEL_LOW);
    /* P=3000, R=Z=D=1: k = 3 -> (12+9+4)/3 = 8.33 -> 8 -> MEDIUM (Z>=1). */
    CHECK_SCORE(3000, 1, 1, 1, 0, 8, PM_LEVEL_MEDIUM);
    /* P=2500, R=10, Z=1, D=5, O=50: k = 2.5 ->
     * 120/2.5 + 9/2.5 + 20/2.5 + 2*(100*50/2500) = 48 + 3.6 + 8 + 4 = 63.6
     * -> 64 -> MEDIUM (score>=50). */
    CHECK_SCORE(2500, 10, 1, 5, 50, 64, PM_LEVEL_MEDIUM);
}

static void
test_score_round_half(void)
{
    /* P=1600, R=1: k = 1.6 -> 12/1.6 = 7.5 -> 8 (half up; integer k=1 would give 12). */
    CHECK_SCORE(1600, 1, 0, 0, 0, 8, PM_LEVEL_LOW);
    /* P=80, O=1: O% = 1.25 -> 2*1.25 = 2.5 -> 3 (banker's rounding would give 2). */
    CHECK_SCORE(80, 0, 0, 0, 1, 3, PM_LEVEL_LOW);
    /* P=16, O=1: O% = 6.25 -> 12.5 -> 13 (banker's: 12). */
    CHECK_SCORE(16, 0, 0, 0, 1, 13, PM_LEVEL_LOW);
    /* P=8, O=1: O% = 12.5 -> 25.0 exactly -> 25. */
    CHECK_SCORE(8, 0, 0, 0, 1, 25, PM_LEVEL_LOW);
    /* P=400, O=1: O% = 0.25 -> 0.5 -> 1 (banker's: 0). */
    CHECK_SCORE(400, 0, 0, 0, 1, 1, PM_LEVEL_LOW);
    /* P=3, O=1: O% = 33.33 -> 66.67 -> 67 -> MEDIUM (score>=50; O<3). */
    CHECK_SCORE(3, 0, 0, 0, 1, 67, PM_LEVEL_MEDIUM);
}

static void
test_score_p_zero(void)
{
    /* P=0: k = 1, O% = 0 by definition -> 0 -> OK. */
    CHECK_SCORE(0, 0, 0, 0, 0, 0, PM_LEVEL_OK);
    /* P=0, O=3: O% = 0 -> score 0, and O% > 2 fails -> OK. */
    CHECK_SCORE(0, 0, 0, 0, 3, 0, PM_LEVEL_OK);
    /* P=0, R=1: k = 1 -> 12 -> LOW (no division by zero). */
    CHECK_SCORE(0, 1, 0, 0, 0, 12, PM_LEVEL_LOW);
}

/* ======================================================== score: levels */

static void
test_level_score_thresholds(void)
{
    /* 99 vs 100 (R=3 so the cap never applies):
     * P=1000, R=3, D=15, O=15: 36 + 60 + 2*1.5 = 99 -> MEDIUM 99. */
    CHECK_SCORE(1000, 3, 0, 15, 15, 99, PM_LEVEL_MEDIUM);
    /* P=1000, R=3, D=16: 36 + 64 = 100 -> HIGH 100. */
    CHECK_SCORE(1000, 3, 0, 16, 0, 100, PM_LEVEL_HIGH);

    /* 49 vs 50 (R=4 < 5, Z=D=0, O% <= 2: only the score decides):
     * P=1000, R=4, O=5: 48 + 2*0.5 = 49 -> LOW. */
    CHECK_SCORE(1000, 4, 0, 0, 5, 49, PM_LEVEL_LOW);
    /* P=1000, R=4, O=10: 48 + 2*1 = 50 -> MEDIUM. */
    CHECK_SCORE(1000, 4, 0, 0, 10, 50, PM_LEVEL_MEDIUM);
    /* P=400, R=4, O=3: 48 + 2*0.75 = 49.5 -> 50 -> MEDIUM (half up crosses). */
    CHECK_SCORE(400, 4, 0, 0, 3, 50, PM_LEVEL_MEDIUM);
    /* P=401, R=4, O=3: 48 + 600/401 = 49.496 -> 49 -> LOW. */
    CHECK_SCORE(401, 4, 0, 0, 3, 49, PM_LEVEL_LOW);

    /* 0 vs 1: P=400, O=1: 0.5 -> 1 -> LOW; P=401, O=1: 200/401 = 0.499 -> 0 -> OK. */
    CHECK_SCORE(400, 0, 0, 0, 1, 1, PM_LEVEL_LOW);
    CHECK_SCORE(401, 0, 0, 0, 1, 0, PM_LEVEL_OK);
}

static void
test_level_retx_thresholds(void)
{
    /* P=10000 -> k = 10, so the score stays small and R decides. */
    /* R=19: 228/10 = 22.8 -> 23 -> MEDIUM (R>=5). */
    CHECK_SCORE(10000, 19, 0, 0, 0, 23, PM_LEVEL_MEDIUM);
    /* R=20: 240/10 = 24 -> HIGH (R>=20); R>=3 so no cap. */
    CHECK_SCORE(10000, 20, 0, 0, 0, 24, PM_LEVEL_HIGH);
    /* R=4: 48/10 = 4.8 -> 5 -> LOW. */
    CHECK_SCORE(10000, 4, 0, 0, 0, 5, PM_LEVEL_LOW);
    /* R=5: 60/10 = 6 -> MEDIUM (R>=5). */
    CHECK_SCORE(10000, 5, 0, 0, 0, 6, PM_LEVEL_MEDIUM);
    /* P=100000, R=20: k=100 -> 2.4 -> 2, still HIGH by R>=20. */
    CHECK_SCORE(100000, 20, 0, 0, 0, 2, PM_LEVEL_HIGH);
}

static void
test_level_zero_window_thresholds(void)
{
    /* P=10000, k=10. Z=0: 0 -> OK. */
    CHECK_SCORE(10000, 0, 0, 0, 0, 0, PM_LEVEL_OK);
    /* Z=1: 0.9 -> 1 -> MEDIUM (Z>=1). */
    CHECK_SCORE(10000, 0, 1, 0, 0, 1, PM_LEVEL_MEDIUM);
    /* Z=2: 1.8 -> 2 -> HIGH (Z>=2); Z>0 so no cap. */
    CHECK_SCORE(10000, 0, 2, 0, 0, 2, PM_LEVEL_HIGH);
}

static void
test_level_dup_ack_thresholds(void)
{
    /* P=10000, k=10. D=4: 16/10 = 1.6 -> 2 -> LOW. */
    CHECK_SCORE(10000, 0, 0, 4, 0, 2, PM_LEVEL_LOW);
    /* D=5: 20/10 = 2 -> MEDIUM (D>=5). */
    CHECK_SCORE(10000, 0, 0, 5, 0, 2, PM_LEVEL_MEDIUM);
}

static void
test_level_out_of_order_thresholds(void)
{
    /* O% exactly 2: P=150, O=3: 300/150 = 2.0 -> 4 -> LOW (needs O% > 2). */
    CHECK_SCORE(150, 0, 0, 0, 3, 4, PM_LEVEL_LOW);
    /* O% above 2: P=149, O=3: 2.0134 -> 4.027 -> 4 -> MEDIUM. */
    CHECK_SCORE(149, 0, 0, 0, 3, 4, PM_LEVEL_MEDIUM);
    /* O=2 with O% = 4 (P=50): 8 -> LOW (needs O >= 3). */
    CHECK_SCORE(50, 0, 0, 0, 2, 8, PM_LEVEL_LOW);
    /* O=3 with O% = 4 (P=75): 8 -> MEDIUM. */
    CHECK_SCORE(75, 0, 0, 0, 3, 8, PM_LEVEL_MEDIUM);
}

/* =========================================================== score: cap */

static void
test_cap(void)
{
    /* R=2, D=25, P=1000: 24 + 100 = 124 -> HIGH -> R<3, Z=0 -> MEDIUM 80. */
    CHECK_SCORE(1000, 2, 0, 25, 0, 80, PM_LEVEL_MEDIUM);
    /* R=2, D=19: 24 + 76 = 100 -> HIGH -> capped -> MEDIUM 80. */
    CHECK_SCORE(1000, 2, 0, 19, 0, 80, PM_LEVEL_MEDIUM);
    /* R=3, D=25: 36 + 100 = 136 -> HIGH, R=3 is not < 3 -> stays HIGH 136. */
    CHECK_SCORE(1000, 3, 0, 25, 0, 136, PM_LEVEL_HIGH);
    /* Z=1, D=25: 9 + 100 = 109 -> HIGH, Z=1 -> no cap -> HIGH 109. */
    CHECK_SCORE(1000, 0, 1, 25, 0, 109, PM_LEVEL_HIGH);
    /* Z=2 alone: 18 -> HIGH by Z>=2, cap needs Z=0 -> HIGH 18. */
    CHECK_SCORE(1000, 0, 2, 0, 0, 18, PM_LEVEL_HIGH);
}

static void
test_cap_dup_ack_or_reorder_alone(void)
{
    /* D=30, P=1000: 120 -> HIGH -> capped -> MEDIUM 80. */
    CHECK_SCORE(1000, 0, 0, 30, 0, 80, PM_LEVEL_MEDIUM);
    /* D=1000, P=1000: 4000 -> capped -> MEDIUM 80. */
    CHECK_SCORE(1000, 0, 0, 1000, 0, 80, PM_LEVEL_MEDIUM);
    /* D=30, P=30000: k=30 -> 120/30 = 4 -> MEDIUM by D>=5, score 4. */
    CHECK_SCORE(30000, 0, 0, 30, 0, 4, PM_LEVEL_MEDIUM);
    /* O=60, P=100: O% = 60 -> 120 -> HIGH -> capped -> MEDIUM 80. */
    CHECK_SCORE(100, 0, 0, 0, 60, 80, PM_LEVEL_MEDIUM);
    /* P=3, O=3: O% = 100 -> 200 -> capped -> MEDIUM 80. */
    CHECK_SCORE(3, 0, 0, 0, 3, 80, PM_LEVEL_MEDIUM);
}

/* "lowered to 80 if it was above 80": with the default thresholds a capped
 * conversation always scores >= 100, so the "not above 80" branch needs a
 * lower high_score preference (every number is a preference). */
static void
test_cap_keeps_score_not_above_80(void)
{
    pm_score_params p;
    pm_totals t68 = { .packets = 1000, .retx = 0, .zero_window = 0, .dup_ack = 17, .out_of_order = 0 };   /* 4*17 = 68 */
    pm_totals t80 = { .packets = 1000, .retx = 0, .zero_window = 0, .dup_ack = 20, .out_of_order = 0 };   /* 4*20 = 80 */
    pm_totals t84 = { .packets = 1000, .retx = 0, .zero_window = 0, .dup_ack = 21, .out_of_order = 0 };   /* 4*21 = 84 */
    pm_verdict v;

    pm_score_params_default(&p);
    p.high_score = 60;
    /* 68 >= 60 -> HIGH -> capped -> MEDIUM, 68 not above 80 -> 68. */
    v = pm_score(&p, &t68);
    CU_ASSERT_EQUAL(v.level, PM_LEVEL_MEDIUM);
    CU_ASSERT_EQUAL(v.score, 68);
    /* 80 -> MEDIUM 80 (not above 80, unchanged). */
    v = pm_score(&p, &t80);
    CU_ASSERT_EQUAL(v.level, PM_LEVEL_MEDIUM);
    CU_ASSERT_EQUAL(v.score, 80);
    /* 84 -> MEDIUM 80. */
    v = pm_score(&p, &t84);
    CU_ASSERT_EQUAL(v.level, PM_LEVEL_MEDIUM);
    CU_ASSERT_EQUAL(v.score, 80);
}

static void
test_params_default(void)
{
    pm_score_params p;

    memset(&p, 0xff, sizeof p);
    pm_score_params_default(&p);
    CU_ASSERT_EQUAL(p.w_retx, 12);
    CU_ASSERT_EQUAL(p.w_zero_window, 9);
    CU_ASSERT_EQUAL(p.w_dup_ack, 4);
    CU_ASSERT_EQUAL(p.w_out_of_order, 2);
    CU_ASSERT_EQUAL(p.high_score, 100);
    CU_ASSERT_EQUAL(p.high_retx, 20);
    CU_ASSERT_EQUAL(p.high_zero_window, 2);
    CU_ASSERT_EQUAL(p.medium_score, 50);
    CU_ASSERT_EQUAL(p.medium_retx, 5);
    CU_ASSERT_EQUAL(p.medium_zero_window, 1);
    CU_ASSERT_EQUAL(p.medium_dup_ack, 5);
    CU_ASSERT_EQUAL(p.ooo_percent, 2);
    CU_ASSERT_EQUAL(p.ooo_min, 3);
    CU_ASSERT_EQUAL(p.reason_dup_ack, 3);
    CU_ASSERT_EQUAL(p.cap_retx, 3);
    CU_ASSERT_EQUAL(p.cap_score, 80);
}

/* ============================================== score: worked examples */

static void
test_worked_examples(void)
{
    /* tcp-ecn, original counts: P=479, R=1, D=29: k=1, 12 + 116 = 128
     * -> HIGH -> capped (R<3, Z=0) -> MEDIUM 80. */
    CHECK_SCORE(479, 1, 0, 29, 0, 80, PM_LEVEL_MEDIUM);
    check_reasons(479, 1, 0, 29, 0, PM_LANG_EN, "duplicate ACK events (" GE "3) (29)");
    check_reasons(479, 1, 0, 29, 0, PM_LANG_ES, "eventos de ACK duplicado (" GE "3) (29)");
    /* tcp-ecn as Wireshark sees it: nothing -> OK 0, no reasons. */
    CHECK_SCORE(479, 0, 0, 0, 0, 0, PM_LEVEL_OK);
    check_reasons(479, 0, 0, 0, 0, PM_LANG_EN, "");
    /* P=100, O=3: O% = 3 -> 6 -> MEDIUM (O% > 2, O >= 3). */
    CHECK_SCORE(100, 0, 0, 0, 3, 6, PM_LEVEL_MEDIUM);
    check_reasons(100, 0, 0, 0, 3, PM_LANG_EN, "out of order 3.0% (~3)");
    /* P=100, O=2: O% = 2 -> 4 -> LOW. */
    CHECK_SCORE(100, 0, 0, 0, 2, 4, PM_LEVEL_LOW);
    check_reasons(100, 0, 0, 0, 2, PM_LANG_EN, "");
    /* P=14, O=1: O% = 7.14 -> 14.29 -> 14 -> LOW (O < 3). */
    CHECK_SCORE(14, 0, 0, 0, 1, 14, PM_LEVEL_LOW);
    check_reasons(14, 0, 0, 0, 1, PM_LANG_EN, "");
}

/* =============================================================== reasons */

static void
test_reasons_retx(void)
{
    /* R=4: below 5 -> no retransmission reason (score 48, LOW). */
    check_reasons(1000, 4, 0, 0, 0, PM_LANG_EN, "");
    /* 5 <= R < 20 -> moderate. */
    check_reasons(1000, 5, 0, 0, 0, PM_LANG_EN, "moderate retransmissions (5)");
    check_reasons(1000, 5, 0, 0, 0, PM_LANG_ES, "retransmisiones moderadas (5)");
    check_reasons(1000, 19, 0, 0, 0, PM_LANG_EN, "moderate retransmissions (19)");
    /* R >= 20 -> high (and never also moderate). */
    check_reasons(1000, 20, 0, 0, 0, PM_LANG_EN, "high retransmissions (20)");
    check_reasons(1000, 20, 0, 0, 0, PM_LANG_ES, "retransmisiones altas (20)");
}

static void
test_reasons_zero_window(void)
{
    check_reasons(1000, 0, 1, 0, 0, PM_LANG_EN, "zero window (1)");
    check_reasons(1000, 0, 3, 0, 0, PM_LANG_ES, "ventana cero (3)");
}

static void
test_reasons_dup_ack(void)
{
    /* D=2 is below the reason threshold of 3. */
    check_reasons(1000, 0, 0, 2, 0, PM_LANG_EN, "");
    /* D>=3 with R=0 and Z=0 -> the "without retransmissions" wording. */
    check_reasons(1000, 0, 0, 3, 0, PM_LANG_EN,
                  "many duplicate ACKs without retransmissions (3)");
    check_reasons(1000, 0, 0, 3, 0, PM_LANG_ES,
                  "muchos dupACK sin retransmisiones (3)");
    /* D>=3 with R=1 (no retx reason of its own) -> "otherwise". */
    check_reasons(1000, 1, 0, 3, 0, PM_LANG_EN, "duplicate ACK events (" GE "3) (3)");
    /* D>=3 with Z=1 -> zero window first, then "otherwise". */
    check_reasons(1000, 0, 1, 3, 0, PM_LANG_EN,
                  "zero window (1); duplicate ACK events (" GE "3) (3)");
    check_reasons(1000, 0, 1, 3, 0, PM_LANG_ES,
                  "ventana cero (1); eventos de ACK duplicado (" GE "3) (3)");
}

static void
test_reasons_out_of_order(void)
{
    /* P=100, O=3 -> 3.0%. */
    check_reasons(100, 0, 0, 0, 3, PM_LANG_EN, "out of order 3.0% (~3)");
    check_reasons(100, 0, 0, 0, 3, PM_LANG_ES, "fuera de orden 3.0% (~3)");
    /* P=149, O=3 -> 2.0134% (> 2, so reported) printed with one decimal: 2.0. */
    check_reasons(149, 0, 0, 0, 3, PM_LANG_EN, "out of order 2.0% (~3)");
    /* P=150, O=3 -> exactly 2% -> no reason. */
    check_reasons(150, 0, 0, 0, 3, PM_LANG_EN, "");
    /* P=30, O=10 -> 33.33% -> 33.3. */
    check_reasons(30, 0, 0, 0, 10, PM_LANG_EN, "out of order 33.3% (~10)");
    /* P=3, O=3 -> 100.0%. */
    check_reasons(3, 0, 0, 0, 3, PM_LANG_EN, "out of order 100.0% (~3)");
    /* O=2 with O% = 4 -> no reason (needs O >= 3). */
    check_reasons(50, 0, 0, 0, 2, PM_LANG_EN, "");
    /* P=400, O=9 -> exactly 2.25%: the tenth rounds half up like the
     * score does, 2.3 (printf's %.1f would give 2.2). */
    check_reasons(400, 0, 0, 0, 9, PM_LANG_EN, "out of order 2.3% (~9)");
    /* P=800, O=17 -> 2.125% -> 2.1 (below the half). */
    check_reasons(800, 0, 0, 0, 17, PM_LANG_EN, "out of order 2.1% (~17)");
}

struct collected {
    GPtrArray *texts;
};

static void
collect(const char *text, void *user)
{
    struct collected *c = user;
    g_ptr_array_add(c->texts, g_strdup(text));
}

/* All reasons at once come in the contract's table order. */
static void
test_reasons_order(void)
{
    /* P=1000, R=25, Z=2, D=10, O=50: 300 + 18 + 40 + 2*5 = 368 -> HIGH. */
    pm_totals t = { .packets = 1000, .retx = 25, .zero_window = 2, .dup_ack = 10, .out_of_order = 50 };
    pm_verdict v = pm_score(&defaults, &t);
    struct collected c = { g_ptr_array_new_with_free_func(g_free) };
    unsigned n;

    CU_ASSERT_EQUAL(v.score, 368);
    CU_ASSERT_EQUAL(v.level, PM_LEVEL_HIGH);
    n = pm_reasons(&v, &t, PM_LANG_EN, collect, &c);
    CU_ASSERT_EQUAL(n, 4);
    CU_ASSERT_EQUAL_FATAL(c.texts->len, 4);
    CU_ASSERT_STRING_EQUAL(g_ptr_array_index(c.texts, 0), "high retransmissions (25)");
    CU_ASSERT_STRING_EQUAL(g_ptr_array_index(c.texts, 1), "zero window (2)");
    CU_ASSERT_STRING_EQUAL(g_ptr_array_index(c.texts, 2), "duplicate ACK events (" GE "3) (10)");
    CU_ASSERT_STRING_EQUAL(g_ptr_array_index(c.texts, 3), "out of order 5.0% (~50)");
    g_ptr_array_free(c.texts, TRUE);

    check_reasons(1000, 25, 2, 10, 50, PM_LANG_EN,
                  "high retransmissions (25); zero window (2); "
                  "duplicate ACK events (" GE "3) (10); out of order 5.0% (~50)");
    check_reasons(1000, 25, 2, 10, 50, PM_LANG_ES,
                  "retransmisiones altas (25); ventana cero (2); "
                  "eventos de ACK duplicado (" GE "3) (10); fuera de orden 5.0% (~50)");
    /* Moderate retx with dup ACKs and reordering: P=1000, R=7, D=4, O=30:
     * 84 + 16 + 6 = 106 -> HIGH (R=7 >= 3, no cap). */
    CHECK_SCORE(1000, 7, 0, 4, 30, 106, PM_LEVEL_HIGH);
    check_reasons(1000, 7, 0, 4, 30, PM_LANG_EN,
                  "moderate retransmissions (7); duplicate ACK events (" GE "3) (4); "
                  "out of order 3.0% (~30)");
}

static void
test_reasons_none(void)
{
    pm_totals t = { .packets = 10, .retx = 0, .zero_window = 0, .dup_ack = 0, .out_of_order = 0 };
    pm_verdict v = pm_score(&defaults, &t);
    struct collected c = { g_ptr_array_new_with_free_func(g_free) };

    CU_ASSERT_EQUAL(pm_reasons(&v, &t, PM_LANG_ES, collect, &c), 0);
    CU_ASSERT_EQUAL(c.texts->len, 0);
    g_ptr_array_free(c.texts, TRUE);
    check_reasons(10, 0, 0, 0, 0, PM_LANG_ES, "");
}

static void
test_level_names(void)
{
    CU_ASSERT_STRING_EQUAL(pm_level_name(PM_LEVEL_HIGH, PM_LANG_EN), "HIGH");
    CU_ASSERT_STRING_EQUAL(pm_level_name(PM_LEVEL_MEDIUM, PM_LANG_EN), "MEDIUM");
    CU_ASSERT_STRING_EQUAL(pm_level_name(PM_LEVEL_LOW, PM_LANG_EN), "LOW");
    CU_ASSERT_STRING_EQUAL(pm_level_name(PM_LEVEL_OK, PM_LANG_EN), "OK");
    CU_ASSERT_STRING_EQUAL(pm_level_name(PM_LEVEL_HIGH, PM_LANG_ES), "ALTA");
    CU_ASSERT_STRING_EQUAL(pm_level_name(PM_LEVEL_MEDIUM, PM_LANG_ES), "MEDIA");
    CU_ASSERT_STRING_EQUAL(pm_level_name(PM_LEVEL_LOW, PM_LANG_ES), "BAJA");
    CU_ASSERT_STRING_EQUAL(pm_level_name(PM_LEVEL_OK, PM_LANG_ES), "OK");
}

/* ================================================================ events */

static uint16_t
ev(pm_analysis_flags f)
{
    return pm_events_from_analysis(&f);
}

static void
test_events_retransmission(void)
{
    CU_ASSERT_EQUAL(ev((pm_analysis_flags){ .retransmission = true }), PM_EV_RETRANSMISSION);
    /* Fast retransmission counts as a retransmission. */
    CU_ASSERT_EQUAL(ev((pm_analysis_flags){ .fast_retransmission = true }), PM_EV_RETRANSMISSION);
    CU_ASSERT_EQUAL(ev((pm_analysis_flags){ .retransmission = true, .fast_retransmission = true }),
                    PM_EV_RETRANSMISSION);
    /* Spurious + retransmission (as Wireshark 4.0 flags it) -> only spurious. */
    CU_ASSERT_EQUAL(ev((pm_analysis_flags){ .retransmission = true,
                                            .spurious_retransmission = true }),
                    PM_EV_SPURIOUS);
    CU_ASSERT_EQUAL(ev((pm_analysis_flags){ .fast_retransmission = true,
                                            .spurious_retransmission = true }),
                    PM_EV_SPURIOUS);
    CU_ASSERT_EQUAL(ev((pm_analysis_flags){ .spurious_retransmission = true }), PM_EV_SPURIOUS);
}

static void
test_events_dup_ack(void)
{
    /* Only the 3rd duplicate ACK of a run is an event. */
    CU_ASSERT_EQUAL(ev((pm_analysis_flags){ .duplicate_ack_num = 0 }), 0);
    CU_ASSERT_EQUAL(ev((pm_analysis_flags){ .duplicate_ack_num = 1 }), 0);
    CU_ASSERT_EQUAL(ev((pm_analysis_flags){ .duplicate_ack_num = 2 }), 0);
    CU_ASSERT_EQUAL(ev((pm_analysis_flags){ .duplicate_ack_num = 3 }), PM_EV_DUP_ACK);
    CU_ASSERT_EQUAL(ev((pm_analysis_flags){ .duplicate_ack_num = 4 }), 0);
    CU_ASSERT_EQUAL(ev((pm_analysis_flags){ .duplicate_ack_num = 6 }), 0);
}

static void
test_events_other(void)
{
    CU_ASSERT_EQUAL(ev((pm_analysis_flags){ .tcp_flags = PM_TCP_RST }), PM_EV_RESET);
    CU_ASSERT_EQUAL(ev((pm_analysis_flags){ .tcp_flags = PM_TCP_RST | PM_TCP_ACK }), PM_EV_RESET);
    CU_ASSERT_EQUAL(ev((pm_analysis_flags){ .tcp_flags = PM_TCP_SYN | PM_TCP_ACK }), 0);
    CU_ASSERT_EQUAL(ev((pm_analysis_flags){ .out_of_order = true }), PM_EV_OUT_OF_ORDER);
    CU_ASSERT_EQUAL(ev((pm_analysis_flags){ .zero_window = true }), PM_EV_ZERO_WINDOW);
    CU_ASSERT_EQUAL(ev((pm_analysis_flags){ .lost_segment = true }), PM_EV_LOST_SEGMENT);
    CU_ASSERT_EQUAL(ev((pm_analysis_flags){ 0 }), 0);
    CU_ASSERT_EQUAL(ev((pm_analysis_flags){ .retransmission = true, .out_of_order = true,
                                            .zero_window = true, .lost_segment = true,
                                            .duplicate_ack_num = 3, .tcp_flags = PM_TCP_RST }),
                    PM_EV_RETRANSMISSION | PM_EV_OUT_OF_ORDER | PM_EV_ZERO_WINDOW |
                    PM_EV_LOST_SEGMENT | PM_EV_DUP_ACK | PM_EV_RESET);
}

/* ================================================================= table */

static const pm_endpoint *A_(void) { static pm_endpoint e; e = ep4(10, 0, 0, 1, 40000); return &e; }
static const pm_endpoint *B_(void) { static pm_endpoint e; e = ep4(10, 0, 0, 2, 80); return &e; }
#define EA (*A_())
#define EB (*B_())

static bool
ep_eq(const pm_endpoint *x, const pm_endpoint *y)
{
    return x->family == y->family && x->port == y->port &&
           memcmp(x->addr, y->addr, x->family == 6 ? 16 : 4) == 0;
}

/* Client = sender of the first SYN without ACK. */
static void
test_table_direction_syn_first(void)
{
    pm_table *t = pm_table_new();
    pm_packet p;
    pm_conv *c;
    int dir = -1;

    p = mkpkt(1, 5, EA, EB, PM_TCP_SYN, 0, 74, 0);
    c = pm_table_add(t, &p, &dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(dir, PM_C2S);
    p = mkpkt(2, 5, EB, EA, PM_TCP_SYN | PM_TCP_ACK, 0, 74, 10);
    CU_ASSERT_PTR_EQUAL(pm_table_add(t, &p, &dir), c);
    CU_ASSERT_EQUAL(dir, PM_S2C);
    p = mkpkt(3, 5, EA, EB, PM_TCP_ACK, 0, 66, 20);
    pm_table_add(t, &p, &dir);
    CU_ASSERT_EQUAL(dir, PM_C2S);

    CU_ASSERT(ep_eq(&c->client, &EA));
    CU_ASSERT(ep_eq(&c->server, &EB));
    CU_ASSERT(c->client_from_syn);
    CU_ASSERT_EQUAL(c->stream, 5);
    CU_ASSERT_EQUAL(c->first_frame, 1);
    CU_ASSERT_EQUAL(c->last_frame, 3);
    /* c2s: frames 1 and 3, 74 + 66 = 140 bytes; s2c: frame 2, 74 bytes. */
    CU_ASSERT_EQUAL(c->dir[PM_C2S].packets, 2);
    CU_ASSERT_EQUAL(c->dir[PM_C2S].bytes, 140);
    CU_ASSERT_EQUAL(c->dir[PM_S2C].packets, 1);
    CU_ASSERT_EQUAL(c->dir[PM_S2C].bytes, 74);
    pm_table_free(t);
}

/* No SYN seen: the source of the first packet is the client. A SYN/ACK is
 * not a "SYN without ACK", so it does not pick the client either. */
static void
test_table_direction_midstream(void)
{
    pm_table *t = pm_table_new();
    pm_packet p;
    pm_conv *c;
    int dir = -1;

    p = mkpkt(1, 1, EB, EA, PM_TCP_ACK, 0, 1500, 0);
    c = pm_table_add(t, &p, &dir);
    CU_ASSERT_EQUAL(dir, PM_C2S);
    p = mkpkt(2, 1, EA, EB, PM_TCP_ACK, 0, 66, 0);
    pm_table_add(t, &p, &dir);
    CU_ASSERT_EQUAL(dir, PM_S2C);
    CU_ASSERT(ep_eq(&c->client, &EB));
    CU_ASSERT(ep_eq(&c->server, &EA));
    CU_ASSERT(!c->client_from_syn);

    /* Stream 2 begins with a SYN/ACK from B: B is the first packet's source. */
    p = mkpkt(3, 2, EB, EA, PM_TCP_SYN | PM_TCP_ACK, 0, 74, 0);
    c = pm_table_add(t, &p, &dir);
    CU_ASSERT_EQUAL(dir, PM_C2S);
    CU_ASSERT(ep_eq(&c->client, &EB));
    CU_ASSERT(!c->client_from_syn);
    pm_table_free(t);
}

/* A SYN that arrives after other packets makes its sender the client and
 * swaps the counters already accumulated. */
static void
test_table_direction_late_syn_swaps(void)
{
    pm_table *t = pm_table_new();
    pm_packet p;
    pm_conv *c;
    int dir = -1;

    /* B->A: 1 packet, 1000 bytes, a retransmission. */
    p = mkpkt(1, 3, EB, EA, PM_TCP_ACK, PM_EV_RETRANSMISSION, 1000, 0);
    c = pm_table_add(t, &p, &dir);
    /* A->B: 2 packets, 60 + 60 bytes, one out of order, one RST. */
    p = mkpkt(2, 3, EA, EB, PM_TCP_ACK, PM_EV_OUT_OF_ORDER, 60, 0);
    pm_table_add(t, &p, &dir);
    p = mkpkt(3, 3, EA, EB, PM_TCP_RST, PM_EV_RESET, 60, 0);
    pm_table_add(t, &p, &dir);
    CU_ASSERT(ep_eq(&c->client, &EB));
    CU_ASSERT_EQUAL(c->dir[PM_C2S].retransmissions, 1);

    /* Now A sends a SYN (no ACK): A becomes client, counters swap. */
    p = mkpkt(4, 3, EA, EB, PM_TCP_SYN, 0, 74, 0);
    CU_ASSERT_PTR_EQUAL(pm_table_add(t, &p, &dir), c);
    CU_ASSERT_EQUAL(dir, PM_C2S);
    CU_ASSERT(ep_eq(&c->client, &EA));
    CU_ASSERT(ep_eq(&c->server, &EB));
    CU_ASSERT(c->client_from_syn);
    /* c2s (A): 2 earlier + the SYN = 3 packets, 60+60+74 = 194 bytes. */
    CU_ASSERT_EQUAL(c->dir[PM_C2S].packets, 3);
    CU_ASSERT_EQUAL(c->dir[PM_C2S].bytes, 194);
    CU_ASSERT_EQUAL(c->dir[PM_C2S].out_of_order, 1);
    CU_ASSERT_EQUAL(c->dir[PM_C2S].resets, 1);
    CU_ASSERT_EQUAL(c->dir[PM_C2S].retransmissions, 0);
    /* s2c (B): 1 packet, 1000 bytes, 1 retransmission. */
    CU_ASSERT_EQUAL(c->dir[PM_S2C].packets, 1);
    CU_ASSERT_EQUAL(c->dir[PM_S2C].bytes, 1000);
    CU_ASSERT_EQUAL(c->dir[PM_S2C].retransmissions, 1);
    CU_ASSERT_EQUAL(c->dir[PM_S2C].out_of_order, 0);

    /* A second SYN, from B this time, does not move the client again:
     * the client is the sender of the FIRST SYN without ACK. */
    p = mkpkt(5, 3, EB, EA, PM_TCP_SYN, 0, 74, 0);
    pm_table_add(t, &p, &dir);
    CU_ASSERT_EQUAL(dir, PM_S2C);
    CU_ASSERT(ep_eq(&c->client, &EA));
    CU_ASSERT_EQUAL(c->dir[PM_C2S].packets, 3);
    CU_ASSERT_EQUAL(c->dir[PM_S2C].packets, 2);
    CU_ASSERT_EQUAL(c->first_frame, 1);
    CU_ASSERT_EQUAL(c->last_frame, 5);
    pm_table_free(t);
}

/* A late SYN from the side that already is the client swaps nothing. */
static void
test_table_direction_late_syn_same_side(void)
{
    pm_table *t = pm_table_new();
    pm_packet p;
    pm_conv *c;
    int dir = -1;

    p = mkpkt(1, 4, EA, EB, PM_TCP_ACK, 0, 100, 0);
    c = pm_table_add(t, &p, &dir);
    p = mkpkt(2, 4, EB, EA, PM_TCP_ACK, 0, 200, 0);
    pm_table_add(t, &p, &dir);
    p = mkpkt(3, 4, EA, EB, PM_TCP_SYN, 0, 74, 0);
    pm_table_add(t, &p, &dir);
    CU_ASSERT_EQUAL(dir, PM_C2S);
    CU_ASSERT(ep_eq(&c->client, &EA));
    CU_ASSERT(c->client_from_syn);
    CU_ASSERT_EQUAL(c->dir[PM_C2S].packets, 2);
    CU_ASSERT_EQUAL(c->dir[PM_C2S].bytes, 174);   /* 100 + 74 */
    CU_ASSERT_EQUAL(c->dir[PM_S2C].packets, 1);
    CU_ASSERT_EQUAL(c->dir[PM_S2C].bytes, 200);
    pm_table_free(t);
}

/* A SYN/ACK seen first, then the (retransmitted) SYN: the SYN's sender wins. */
static void
test_table_direction_synack_then_syn(void)
{
    pm_table *t = pm_table_new();
    pm_packet p;
    pm_conv *c;

    p = mkpkt(1, 6, EB, EA, PM_TCP_SYN | PM_TCP_ACK, 0, 74, 0);
    c = pm_table_add(t, &p, NULL);
    p = mkpkt(2, 6, EA, EB, PM_TCP_SYN, 0, 74, 0);
    pm_table_add(t, &p, NULL);
    CU_ASSERT(ep_eq(&c->client, &EA));
    CU_ASSERT_EQUAL(c->dir[PM_C2S].packets, 1);
    CU_ASSERT_EQUAL(c->dir[PM_S2C].packets, 1);
    pm_table_free(t);
}

/* A stats tree reading the dissector's table takes a packet's direction
 * as "its source is the client", looked up right after the packet was
 * added, and keeps its marks in the tree_* fields: both must hold for
 * every packet, the first of a conversation and a late SYN included. */
static void
test_table_direction_after_add(void)
{
    static const struct { int from_a; uint8_t flags; } seq[] = {
        { 0, PM_TCP_ACK }, { 1, PM_TCP_ACK }, { 0, PM_TCP_SYN | PM_TCP_ACK },
        { 1, PM_TCP_SYN }, { 0, PM_TCP_SYN }, { 0, PM_TCP_RST }, { 1, PM_TCP_ACK },
    };
    pm_table *t = pm_table_new();
    pm_conv *c = NULL;

    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < G_N_ELEMENTS(seq); i++) {
            pm_packet p = mkpkt((uint32_t)i + 1, 8, seq[i].from_a ? EA : EB,
                                seq[i].from_a ? EB : EA, seq[i].flags, 0, 60, 0);
            int dir = -1;

            c = pm_table_add(t, &p, &dir);
            CU_ASSERT_PTR_NOT_NULL_FATAL(c);
            CU_ASSERT_EQUAL(dir, ep_eq(&p.src, &c->client) ? PM_C2S : PM_S2C);
            if (i == 0) {
                CU_ASSERT_EQUAL(c->tree_node, -1);
                CU_ASSERT_EQUAL(c->tree_value, 0);
                CU_ASSERT_EQUAL(c->tree_extra, 0);
                c->tree_node = 7;
                c->tree_value = 9;
                c->tree_extra = 3;
            }
        }
        /* The late SYN (from A) made A the client, and nothing touched
         * the owner's marks. */
        CU_ASSERT(ep_eq(&c->client, &EA));
        CU_ASSERT_EQUAL(c->tree_node, 7);
        CU_ASSERT_EQUAL(c->tree_value, 9);
        CU_ASSERT_EQUAL(c->tree_extra, 3);
        CU_ASSERT_EQUAL(c->user_value, 0);
        /* A reset table starts clean again (round 2 checks it). */
        pm_table_reset(t);
    }
    pm_table_free(t);
}

/* Every event lands in its own counter, in the sender's direction. */
static void
test_table_counters(void)
{
    pm_table *t = pm_table_new();
    uint32_t frame = 0;
    pm_conv *c;
    pm_totals tot;

    feed(t, &frame, 9, EA, EB, 1, PM_TCP_SYN, 0);
    feed(t, &frame, 9, EA, EB, 2, PM_TCP_ACK, PM_EV_RETRANSMISSION);
    feed(t, &frame, 9, EA, EB, 1, PM_TCP_ACK, PM_EV_SPURIOUS);
    feed(t, &frame, 9, EA, EB, 3, PM_TCP_ACK, PM_EV_OUT_OF_ORDER);
    feed(t, &frame, 9, EB, EA, 4, PM_TCP_ACK, PM_EV_ZERO_WINDOW);
    feed(t, &frame, 9, EB, EA, 5, PM_TCP_ACK, PM_EV_DUP_ACK);
    feed(t, &frame, 9, EB, EA, 6, PM_TCP_ACK, PM_EV_LOST_SEGMENT);
    feed(t, &frame, 9, EB, EA, 1, PM_TCP_RST, PM_EV_RESET);
    c = pm_table_lookup(t, 9);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    /* c2s: 1 + 2 + 1 + 3 = 7 packets of 100 bytes. */
    CU_ASSERT_EQUAL(c->dir[PM_C2S].packets, 7);
    CU_ASSERT_EQUAL(c->dir[PM_C2S].bytes, 700);
    CU_ASSERT_EQUAL(c->dir[PM_C2S].retransmissions, 2);
    CU_ASSERT_EQUAL(c->dir[PM_C2S].spurious_retransmissions, 1);
    CU_ASSERT_EQUAL(c->dir[PM_C2S].out_of_order, 3);
    CU_ASSERT_EQUAL(c->dir[PM_C2S].zero_window_events, 0);
    /* s2c: 4 + 5 + 6 + 1 = 16 packets. */
    CU_ASSERT_EQUAL(c->dir[PM_S2C].packets, 16);
    CU_ASSERT_EQUAL(c->dir[PM_S2C].bytes, 1600);
    CU_ASSERT_EQUAL(c->dir[PM_S2C].zero_window_events, 4);
    CU_ASSERT_EQUAL(c->dir[PM_S2C].duplicate_ack_events, 5);
    CU_ASSERT_EQUAL(c->dir[PM_S2C].lost_segments, 6);
    CU_ASSERT_EQUAL(c->dir[PM_S2C].resets, 1);
    CU_ASSERT_EQUAL(c->dir[PM_S2C].retransmissions, 0);

    /* Totals over both directions; spurious is not part of R. */
    pm_conv_totals(c, &defaults, &tot);
    CU_ASSERT_EQUAL(tot.packets, 23);
    CU_ASSERT_EQUAL(tot.retx, 2);
    CU_ASSERT_EQUAL(tot.zero_window, 4);
    CU_ASSERT_EQUAL(tot.dup_ack, 5);
    CU_ASSERT_EQUAL(tot.out_of_order, 3);
    pm_table_free(t);
}

/* The same feed as test_table_counters: frames are numbered 1.., so the
 * evidence is the first PM_EVIDENCE_FRAMES (3) frames of each kind, in
 * order, whatever the direction; first/last frame bound the stream. */
static void
test_table_evidence(void)
{
    pm_table *t = pm_table_new();
    uint32_t frame = 0;
    pm_conv *c;
    char buf[PM_FILTER_STRLEN];

    feed(t, &frame, 9, EA, EB, 1, PM_TCP_SYN, 0);                      /* 1 */
    feed(t, &frame, 9, EA, EB, 2, PM_TCP_ACK, PM_EV_RETRANSMISSION);   /* 2-3 */
    feed(t, &frame, 9, EB, EA, 4, PM_TCP_ACK, PM_EV_ZERO_WINDOW);      /* 4-7 */
    feed(t, &frame, 9, EA, EB, 2, PM_TCP_ACK, PM_EV_RETRANSMISSION);   /* 8-9 */
    c = pm_table_lookup(t, 9);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(c->first_frame, 1);
    CU_ASSERT_EQUAL(c->last_frame, 9);
    CU_ASSERT_EQUAL(c->evidence_n[0], 3);     /* retransmissions: 2, 3, 8 */
    CU_ASSERT_EQUAL(c->evidence[0][0], 2);
    CU_ASSERT_EQUAL(c->evidence[0][1], 3);
    CU_ASSERT_EQUAL(c->evidence[0][2], 8);
    CU_ASSERT_EQUAL(c->evidence_n[3], 3);     /* zero window: 4, 5, 6 */
    CU_ASSERT_EQUAL(c->evidence[3][0], 4);
    CU_ASSERT_EQUAL(c->evidence[3][2], 6);
    CU_ASSERT_EQUAL(c->evidence_n[2], 0);     /* no out of order */
    CU_ASSERT_STRING_EQUAL(pm_event_counter_name(0), "retransmissions");
    CU_ASSERT_STRING_EQUAL(pm_event_counter_name(3), "zero_window_events");
    CU_ASSERT_STRING_EQUAL(pm_event_counter_name(6), "resets");
    pm_conv_filter(c, false, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "tcp.stream eq 9");
    pm_conv_filter(c, true, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "tcp.stream eq 9 && (tcp.analysis.flags || tcp.flags.reset == 1)");
    {
        /* Ten digits; and a short buffer is cut and terminated, as
         * snprintf would. */
        uint32_t keep = c->stream;
        char small[8];

        c->stream = 4294967294u;
        pm_conv_filter(c, false, buf, sizeof buf);
        CU_ASSERT_STRING_EQUAL(buf, "tcp.stream eq 4294967294");
        pm_conv_filter(c, true, small, sizeof small);
        CU_ASSERT_STRING_EQUAL(small, "tcp.str");
        c->stream = 0;
        pm_conv_filter(c, false, buf, sizeof buf);
        CU_ASSERT_STRING_EQUAL(buf, "tcp.stream eq 0");
        c->stream = keep;
    }
    {
        pm_model *m = pm_model_build(t, &defaults);
        pm_render_opts o = { .file = "x.pcap", .top = 5, .lang = PM_LANG_EN, .color = false };
        GString *out = g_string_new(NULL);

        pm_render_report(m, &o, out);
        CU_ASSERT_PTR_NOT_NULL(strstr(out->str,
            "    Evidence: tcp.stream 9, frames 1-9; retransmissions at 2, 3, 8; "
            "zero window at 4, 5, 6\n"
            "    Filter: tcp.stream eq 9 && (tcp.analysis.flags || tcp.flags.reset == 1)\n"));
        g_string_truncate(out, 0);
        o.lang = PM_LANG_ES;
        pm_render_report(m, &o, out);
        CU_ASSERT_PTR_NOT_NULL(strstr(out->str,
            "    Evidencia: tcp.stream 9, tramas 1-9; retransmisiones en 2, 3, 8; "
            "ventana cero en 4, 5, 6\n    Filtro: "));
        g_string_truncate(out, 0);
        CU_ASSERT(pm_render_json(m, &o, out));
        CU_ASSERT_PTR_NOT_NULL(strstr(out->str, "\"filter\": \"tcp.stream eq 9\""));
        CU_ASSERT_PTR_NOT_NULL(strstr(out->str, "\"retransmissions\": [\n"));
        CU_ASSERT_PTR_NOT_NULL(strstr(out->str, "\"out_of_order\": []"));
        g_string_free(out, TRUE);
        pm_model_free(m);
    }
    pm_table_free(t);
}

/* packets_total/bytes_total include frames outside any TCP conversation;
 * the duration spans all of them. */
static void
test_table_summary(void)
{
    pm_table *t = pm_table_new();
    const int64_t t0 = INT64_C(1700000000000000);
    const pm_summary *s;
    pm_packet p;

    s = pm_table_summary(t);
    CU_ASSERT_EQUAL(s->packets_total, 0);
    CU_ASSERT_EQUAL(pm_summary_duration_ms(s), 0);

    p = mkpkt(1, 0, EA, EB, PM_TCP_SYN, 0, 74, t0);
    pm_table_add(t, &p, NULL);
    /* One packet: duration 0. */
    CU_ASSERT_EQUAL(pm_summary_duration_ms(pm_table_summary(t)), 0);
    p = mkpkt(2, 0, EB, EA, PM_TCP_SYN | PM_TCP_ACK, 0, 74, t0 + 1500000);
    pm_table_add(t, &p, NULL);
    p = mkpkt(3, PM_STREAM_NONE, EA, EB, 0, 0, 342, t0 + 2000000);
    CU_ASSERT_PTR_NULL(pm_table_add(t, &p, NULL));

    s = pm_table_summary(t);
    /* 3 frames, 74 + 74 + 342 = 490 bytes, t0 .. t0 + 2 s = 2000 ms. */
    CU_ASSERT_EQUAL(s->packets_total, 3);
    CU_ASSERT_EQUAL(s->bytes_total, 490);
    CU_ASSERT_EQUAL(s->first_ts_us, t0);
    CU_ASSERT_EQUAL(s->last_ts_us, t0 + 2000000);
    CU_ASSERT_EQUAL(pm_summary_duration_ms(s), 2000);
    /* The non-TCP frame creates no conversation. */
    CU_ASSERT_EQUAL(pm_table_count(t), 1);
    CU_ASSERT_PTR_NULL(pm_table_lookup(t, PM_STREAM_NONE));
    pm_table_free(t);
}

/* Time stamps are whatever the capture file says: a crafted pcapng can
 * put two frames 2^64 - 1 microseconds apart. Durations are then exact,
 * (2^64 - 1) / 1000 = 18446744073709551 ms, with no signed overflow (the
 * sanitizer build makes that fatal), and two frames that far apart are
 * not capture duplicates of each other (with a wrapped difference of -1
 * they were). */
static void
test_table_extreme_times(void)
{
    pm_table *t = pm_table_new();
    pm_packet p;
    pm_conv *c;

    pm_table_set_dup_window(t, 10000);
    p = mkpkt(1, 0, EA, EB, PM_TCP_ACK, 0, 60, INT64_MIN);
    p.fingerprint = 42;
    pm_table_add(t, &p, NULL);
    p = mkpkt(2, 0, EA, EB, PM_TCP_ACK, 0, 60, INT64_MAX);
    p.fingerprint = 42;
    c = pm_table_add(t, &p, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(c->dir[PM_C2S].packets, 2);
    CU_ASSERT_EQUAL(c->dir[PM_C2S].capture_duplicates, 0);
    CU_ASSERT_EQUAL(pm_conv_duration_ms(c), UINT64_C(18446744073709551));
    CU_ASSERT_EQUAL(pm_summary_duration_ms(pm_table_summary(t)), UINT64_C(18446744073709551));
    /* Within the window still counts as a copy, either way round. */
    p = mkpkt(3, 0, EA, EB, PM_TCP_ACK, 0, 60, INT64_MAX - 10000);
    p.fingerprint = 42;
    pm_table_add(t, &p, NULL);
    CU_ASSERT_EQUAL(c->dir[PM_C2S].capture_duplicates, 1);
    pm_table_free(t);
}

static void
test_table_reset(void)
{
    pm_table *t = pm_table_new();
    uint32_t frame = 0;
    pm_conv *c;

    feed(t, &frame, 1, EA, EB, 300, PM_TCP_ACK, PM_EV_RETRANSMISSION);
    for (uint32_t s = 2; s < 600; s++)
        feed(t, &frame, s, EA, EB, 1, PM_TCP_ACK, 0);
    CU_ASSERT_EQUAL(pm_table_count(t), 599);

    pm_table_reset(t);
    CU_ASSERT_EQUAL(pm_table_count(t), 0);
    CU_ASSERT_PTR_NULL(pm_table_lookup(t, 1));
    CU_ASSERT_PTR_NULL(pm_table_lookup(t, 2));
    CU_ASSERT_EQUAL(pm_table_summary(t)->packets_total, 0);
    CU_ASSERT_EQUAL(pm_table_summary(t)->bytes_total, 0);
    CU_ASSERT_EQUAL(pm_summary_duration_ms(pm_table_summary(t)), 0);

    /* The table is usable again, and stream 1 starts from zero, with the
     * client picked afresh (B speaks first now). */
    feed(t, &frame, 1, EB, EA, 2, PM_TCP_ACK, 0);
    c = pm_table_lookup(t, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT(ep_eq(&c->client, &EB));
    CU_ASSERT_EQUAL(c->dir[PM_C2S].packets, 2);
    CU_ASSERT_EQUAL(c->dir[PM_C2S].retransmissions, 0);
    CU_ASSERT_EQUAL(c->dir[PM_S2C].packets, 0);
    CU_ASSERT_EQUAL(pm_table_count(t), 1);
    CU_ASSERT_EQUAL(pm_table_summary(t)->packets_total, 2);
    pm_table_free(t);
}

/* Stream numbers that share their low bits (merged shards keep their
 * original numbers, any 32-bit value but PM_STREAM_NONE): 3,000 multiples
 * of 65,536 and the 100 largest numbers, added in two rounds with lookups
 * in between, so the stream index grows while full of collisions. */
static void
test_table_colliding_streams(void)
{
    pm_table *t = pm_table_new();
    uint32_t frame = 0, streams[3100];
    bool ok = true;
    size_t n = 0;

    for (uint32_t i = 0; i < 3000; i++)
        streams[n++] = i << 16;
    for (uint32_t i = 1; i <= 100; i++)
        streams[n++] = PM_STREAM_NONE - i;
    for (size_t i = 0; i < n; i++) {
        pm_endpoint a = ep4(10, 2, (uint8_t)(i >> 8), (uint8_t)i, (uint16_t)(2000 + i));

        feed(t, &frame, streams[i], a, EB, 1, PM_TCP_SYN, 0);
        /* Every stream added so far is still found, the next one not yet. */
        if (i % 500 == 0) {
            for (size_t j = 0; j <= i; j++)
                ok = ok && pm_table_lookup(t, streams[j]) && pm_table_lookup(t, streams[j])->stream == streams[j];
            ok = ok && (i + 1 == n || !pm_table_lookup(t, streams[i + 1]));
        }
    }
    for (size_t i = 0; i < n; i++) {
        pm_endpoint a = ep4(10, 2, (uint8_t)(i >> 8), (uint8_t)i, (uint16_t)(2000 + i));

        feed(t, &frame, streams[i], EB, a, 2, PM_TCP_ACK, 0);
    }
    CU_ASSERT(ok);
    CU_ASSERT_EQUAL(pm_table_count(t), n);
    for (size_t i = 0; i < n; i++) {
        const pm_conv *c = pm_table_lookup(t, streams[i]);

        if (!c || c->stream != streams[i] || c->dir[PM_C2S].packets != 1 ||
            c->dir[PM_S2C].packets != 2 || c->client.port != 2000 + i)
            ok = false;
    }
    CU_ASSERT(ok);
    CU_ASSERT_PTR_NULL(pm_table_lookup(t, 1u << 16 | 1));
    CU_ASSERT_PTR_NULL(pm_table_lookup(t, PM_STREAM_NONE));
    pm_table_free(t);
}

/* 10,000 conversations (more than one allocation block), stream numbers
 * scattered and including 0: every one is found and keeps its counters.
 * The early numbers are far past the count, the later ones not, so the
 * stream index moves numbers from its hashed part to its array as it
 * grows; every 1,000 conversations all those added so far are found and
 * the next one is not. */
static void
test_table_many_streams(void)
{
    enum { N = 10000, MOD = 10007 };   /* 10007 is prime: i*7919 % MOD is a permutation */
    pm_table *t = pm_table_new();
    uint32_t frame = 0;
    bool ok_lookup = true, ok_order = true, ok_counts = true, ok_growing = true, ok_lines = true;

    for (uint32_t i = 0; i < N; i++) {
        uint32_t s = (uint32_t)(((uint64_t)i * 7919) % MOD);
        pm_endpoint a = ep4(10, 1, i >> 8, i & 0xff, (uint16_t)(1024 + i));
        feed(t, &frame, s, a, EB, 1, PM_TCP_SYN, 0);
        /* Small blocks, then huge-page ones: every record on a line. */
        ok_lines = ok_lines && (uintptr_t)pm_table_lookup(t, s) % 64 == 0;
        if (i % 1000 == 999) {
            for (uint32_t j = 0; j <= i; j++) {
                uint32_t sj = (uint32_t)(((uint64_t)j * 7919) % MOD);
                pm_conv *c = pm_table_lookup(t, sj);

                ok_growing = ok_growing && c && c->stream == sj;
            }
            ok_growing = ok_growing && !pm_table_lookup(t, (uint32_t)(((uint64_t)(i + 1) * 7919) % MOD));
        }
    }
    CU_ASSERT(ok_growing);
    CU_ASSERT(ok_lines);
    /* A second round, server to client, after all blocks exist. */
    for (uint32_t i = 0; i < N; i++) {
        uint32_t s = (uint32_t)(((uint64_t)i * 7919) % MOD);
        pm_endpoint a = ep4(10, 1, i >> 8, i & 0xff, (uint16_t)(1024 + i));
        feed(t, &frame, s, EB, a, 1, PM_TCP_SYN | PM_TCP_ACK, 0);
    }
    CU_ASSERT_EQUAL(pm_table_count(t), N);
    for (uint32_t i = 0; i < N; i++) {
        uint32_t s = (uint32_t)(((uint64_t)i * 7919) % MOD);
        pm_conv *c = pm_table_lookup(t, s);

        if (!c || c->stream != s) {
            ok_lookup = false;
            continue;
        }
        if (c->dir[PM_C2S].packets != 1 || c->dir[PM_S2C].packets != 1 ||
            c->client.port != 1024 + i)
            ok_counts = false;
        /* pm_table_convs: first-seen order. */
        if (pm_table_convs(t)[i]->stream != s)
            ok_order = false;
    }
    CU_ASSERT(ok_lookup);
    CU_ASSERT(ok_counts);
    CU_ASSERT(ok_order);
    /* i = 0 gives stream 0. */
    CU_ASSERT_PTR_NOT_NULL(pm_table_lookup(t, 0));
    /* Not every number below MOD was used (N < MOD): s = 7919*10000 % 10007
     * is the first unused one in the sequence. */
    CU_ASSERT_PTR_NULL(pm_table_lookup(t, (uint32_t)(((uint64_t)N * 7919) % MOD)));
    CU_ASSERT_PTR_NULL(pm_table_lookup(t, MOD + 1));
    CU_ASSERT_EQUAL(pm_table_summary(t)->packets_total, 2 * N);
    pm_table_free(t);
}

/* Stream number 0 is a normal stream (not confused with "absent"). */
static void
test_table_stream_zero(void)
{
    pm_table *t = pm_table_new();
    uint32_t frame = 0;
    pm_conv *c0, *c1;

    CU_ASSERT_PTR_NULL(pm_table_lookup(t, 0));
    feed(t, &frame, 0, EA, EB, 3, PM_TCP_ACK, 0);
    feed(t, &frame, 1, EB, EA, 1, PM_TCP_ACK, 0);
    c0 = pm_table_lookup(t, 0);
    c1 = pm_table_lookup(t, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c1);
    CU_ASSERT_PTR_NOT_EQUAL(c0, c1);
    CU_ASSERT_EQUAL(c0->stream, 0);
    CU_ASSERT_EQUAL(c0->dir[PM_C2S].packets, 3);
    CU_ASSERT_EQUAL(c1->dir[PM_C2S].packets, 1);
    CU_ASSERT_EQUAL(pm_table_count(t), 2);
    CU_ASSERT_PTR_EQUAL(pm_table_convs(t)[0], c0);
    pm_table_free(t);
}

/* ================================================================== flow */

static void
test_flow_ipv4(void)
{
    pm_table *t = pm_table_new();
    pm_packet p = mkpkt(1, 0, EA, EB, PM_TCP_SYN, 0, 74, 0);
    char buf[PM_FLOW_STRLEN];
    char eb[PM_ENDPOINT_STRLEN];

    pm_conv_flow(pm_table_add(t, &p, NULL), buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "10.0.0.1:40000 <-> 10.0.0.2:80/TCP");
    pm_endpoint e = ep4(255, 255, 255, 255, 65535);
    pm_endpoint_format(&e, eb, sizeof eb);
    CU_ASSERT_STRING_EQUAL(eb, "255.255.255.255:65535");
    e = ep4(0, 0, 0, 0, 0);
    pm_endpoint_format(&e, eb, sizeof eb);
    CU_ASSERT_STRING_EQUAL(eb, "0.0.0.0:0");
    pm_table_free(t);
}

static void
test_flow_ipv6(void)
{
    pm_table *t = pm_table_new();
    pm_packet p = mkpkt(1, 0, ep6("2001:db8::1", 443), ep6("2001:db8::2", 50000),
                        PM_TCP_ACK, 0, 74, 0);
    char buf[PM_FLOW_STRLEN];
    char eb[PM_ENDPOINT_STRLEN];
    pm_endpoint e;

    pm_conv_flow(pm_table_add(t, &p, NULL), buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "[2001:db8::1]:443 <-> [2001:db8::2]:50000/TCP");
    /* The longest IPv6 text form fits PM_ENDPOINT_STRLEN untruncated. */
    e = ep6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", 65535);
    pm_endpoint_format(&e, eb, sizeof eb);
    CU_ASSERT_STRING_EQUAL(eb, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe]:65535");
    e = ep6("::1", 22);
    pm_endpoint_format(&e, eb, sizeof eb);
    CU_ASSERT_STRING_EQUAL(eb, "[::1]:22");
    pm_table_free(t);
}

/* =============================================================== sorting */

static void
test_compare_severity(void)
{
    /* Higher score first. */
    CU_ASSERT(pm_compare_severity(80, "b", 6, "a") < 0);
    CU_ASSERT(pm_compare_severity(6, "a", 80, "b") > 0);
    /* Equal score: flow ascending, byte order ("10.0.0.10" < "10.0.0.9"). */
    CU_ASSERT(pm_compare_severity(6, "10.0.0.10:1", 6, "10.0.0.9:1") < 0);
    CU_ASSERT(pm_compare_severity(6, "10.0.0.9:1", 6, "10.0.0.10:1") > 0);
    /* Byte order is unsigned: "[..." (0x5b) > "1" and 0xc3 > 'z'. */
    CU_ASSERT(pm_compare_severity(1, "1.1.1.1:1", 1, "[::1]:1") < 0);
    CU_ASSERT(pm_compare_severity(1, "z", 1, "\xc3\xa9") < 0);
    CU_ASSERT_EQUAL(pm_compare_severity(5, "x", 5, "x"), 0);
    /* Scores near the top of the range do not overflow a subtraction. */
    CU_ASSERT(pm_compare_severity(UINT32_MAX, "a", 0, "a") < 0);
    CU_ASSERT(pm_compare_severity(0, "a", UINT32_MAX, "a") > 0);
}

/* Seven conversations with hand-computed scores:
 *   S1 10.0.0.9:1000  P=100 O=3       -> O%=3  -> 6  MEDIUM
 *   S2 10.0.0.10:1000 P=100 O=3       -> 6  MEDIUM
 *   S3 10.0.0.3:1000  P=30 R=1 D=29   -> 12+116=128 -> capped MEDIUM 80
 *   S4 10.0.0.4:1000  P=5             -> 0  OK
 *   S5 10.0.0.5:1000  P=3 Z=3         -> 27 HIGH (Z>=2)
 *   S6 10.0.0.7:1000  P=50 O=3        -> O%=6 -> 12 MEDIUM
 *   S7 10.0.0.6:1000  P=50            -> 0  OK
 * Severity: S3(80) S5(27) S6(12) S2(6) S1(6) S4(0) S7(0)
 *           (ties by flow: "10.0.0.10" < "10.0.0.9", "10.0.0.4" < "10.0.0.6")
 * Packets:  S2(100) S1(100) S7(50) S6(50) S3(30) S4(5) S5(3)
 * S6/S7 tie on packets in the opposite order to severity, so a by-packets
 * sort that forgets the flow tie-break cannot pass by luck. */
static pm_endpoint srv(void) { return ep4(10, 0, 0, 1, 80); }

static void
feed_s1(pm_table *t, uint32_t *f)
{
    feed(t, f, 11, ep4(10, 0, 0, 9, 1000), srv(), 97, PM_TCP_ACK, 0);
    feed(t, f, 11, ep4(10, 0, 0, 9, 1000), srv(), 3, PM_TCP_ACK, PM_EV_OUT_OF_ORDER);
}
static void
feed_s2(pm_table *t, uint32_t *f)
{
    feed(t, f, 12, ep4(10, 0, 0, 10, 1000), srv(), 3, PM_TCP_ACK, PM_EV_OUT_OF_ORDER);
    feed(t, f, 12, srv(), ep4(10, 0, 0, 10, 1000), 97, PM_TCP_ACK, 0);
}
static void
feed_s3(pm_table *t, uint32_t *f)
{
    feed(t, f, 13, ep4(10, 0, 0, 3, 1000), srv(), 1, PM_TCP_ACK, PM_EV_RETRANSMISSION);
    feed(t, f, 13, ep4(10, 0, 0, 3, 1000), srv(), 29, PM_TCP_ACK, PM_EV_DUP_ACK);
}
static void
feed_s4(pm_table *t, uint32_t *f)
{
    feed(t, f, 14, ep4(10, 0, 0, 4, 1000), srv(), 5, PM_TCP_ACK, 0);
}
static void
feed_s5(pm_table *t, uint32_t *f)
{
    feed(t, f, 15, ep4(10, 0, 0, 5, 1000), srv(), 3, PM_TCP_ACK, PM_EV_ZERO_WINDOW);
}

static void
feed_s6(pm_table *t, uint32_t *f)
{
    feed(t, f, 16, ep4(10, 0, 0, 7, 1000), srv(), 47, PM_TCP_ACK, 0);
    feed(t, f, 16, ep4(10, 0, 0, 7, 1000), srv(), 3, PM_TCP_ACK, PM_EV_OUT_OF_ORDER);
}
static void
feed_s7(pm_table *t, uint32_t *f)
{
    feed(t, f, 17, ep4(10, 0, 0, 6, 1000), srv(), 50, PM_TCP_ACK, 0);
}

static pm_table *
seven_convs(bool reversed)
{
    pm_table *t = pm_table_new();
    uint32_t f = 0;

    if (!reversed) {
        feed_s1(t, &f); feed_s2(t, &f); feed_s3(t, &f); feed_s4(t, &f);
        feed_s5(t, &f); feed_s6(t, &f); feed_s7(t, &f);
    } else {
        feed_s7(t, &f); feed_s6(t, &f); feed_s5(t, &f); feed_s4(t, &f);
        feed_s3(t, &f); feed_s2(t, &f); feed_s1(t, &f);
    }
    return t;
}

#define NCONV 7
static const char *const sev_flows[NCONV] = {
    "10.0.0.3:1000 <-> 10.0.0.1:80/TCP",
    "10.0.0.5:1000 <-> 10.0.0.1:80/TCP",
    "10.0.0.7:1000 <-> 10.0.0.1:80/TCP",
    "10.0.0.10:1000 <-> 10.0.0.1:80/TCP",
    "10.0.0.9:1000 <-> 10.0.0.1:80/TCP",
    "10.0.0.4:1000 <-> 10.0.0.1:80/TCP",
    "10.0.0.6:1000 <-> 10.0.0.1:80/TCP",
};
static const uint32_t sev_scores[NCONV] = { 80, 27, 12, 6, 6, 0, 0 };
static const pm_level sev_levels[NCONV] = {
    PM_LEVEL_MEDIUM, PM_LEVEL_HIGH, PM_LEVEL_MEDIUM, PM_LEVEL_MEDIUM, PM_LEVEL_MEDIUM,
    PM_LEVEL_OK, PM_LEVEL_OK,
};
static const char *const pkt_flows[NCONV] = {
    "10.0.0.10:1000 <-> 10.0.0.1:80/TCP",
    "10.0.0.9:1000 <-> 10.0.0.1:80/TCP",
    "10.0.0.6:1000 <-> 10.0.0.1:80/TCP",
    "10.0.0.7:1000 <-> 10.0.0.1:80/TCP",
    "10.0.0.3:1000 <-> 10.0.0.1:80/TCP",
    "10.0.0.4:1000 <-> 10.0.0.1:80/TCP",
    "10.0.0.5:1000 <-> 10.0.0.1:80/TCP",
};

static void
check_seven(const pm_model *m)
{
    CU_ASSERT_EQUAL_FATAL(m->n, NCONV);
    for (int i = 0; i < NCONV; i++) {
        CU_ASSERT_STRING_EQUAL(m->rows[i].flow, sev_flows[i]);
        CU_ASSERT_EQUAL(m->rows[i].verdict.score, sev_scores[i]);
        CU_ASSERT_EQUAL(m->rows[i].verdict.level, sev_levels[i]);
        CU_ASSERT_STRING_EQUAL(m->by_packets[i]->flow, pkt_flows[i]);
    }
    /* HIGH: S5; MEDIUM: S1 S2 S3 S6; LOW: none; OK: S4 S7. */
    CU_ASSERT_EQUAL(m->per_level[PM_LEVEL_HIGH], 1);
    CU_ASSERT_EQUAL(m->per_level[PM_LEVEL_MEDIUM], 4);
    CU_ASSERT_EQUAL(m->per_level[PM_LEVEL_LOW], 0);
    CU_ASSERT_EQUAL(m->per_level[PM_LEVEL_OK], 2);
    /* The row's totals are those of its conversation. */
    CU_ASSERT_EQUAL(m->rows[0].totals.packets, 30);
    CU_ASSERT_EQUAL(m->rows[0].totals.retx, 1);
    CU_ASSERT_EQUAL(m->rows[0].totals.dup_ack, 29);
    CU_ASSERT_EQUAL(m->rows[0].conv->stream, 13);
}

static void
test_model_order(void)
{
    pm_table *t = seven_convs(false);
    pm_model *m = pm_model_build(t, &defaults);

    check_seven(m);
    /* 100 + 100 + 30 + 5 + 3 + 50 + 50 = 338 packets. */
    CU_ASSERT_EQUAL(m->summary.packets_total, 338);
    pm_model_free(m);
    pm_table_free(t);
}

/* The same conversations fed in the opposite order give the same rows. */
static void
test_model_deterministic(void)
{
    pm_table *t = seven_convs(true);
    pm_model *m = pm_model_build(t, &defaults);

    check_seven(m);
    pm_model_free(m);
    pm_table_free(t);
}

/* Two streams with the same flow text (a reused port pair) and the same
 * score keep a fixed order: by stream number. */
static void
test_model_same_flow_two_streams(void)
{
    pm_table *t = pm_table_new();
    pm_endpoint a = ep4(10, 0, 0, 1, 40000), b = ep4(10, 0, 0, 2, 80);
    uint32_t frame = 0;
    pm_model *m;

    /* stream 9 first, then stream 4: same packets (2 each), same flow. */
    feed(t, &frame, 9, a, b, 2, PM_TCP_ACK, 0);
    feed(t, &frame, 4, a, b, 2, PM_TCP_ACK, 0);
    m = pm_model_build(t, &defaults);
    CU_ASSERT_EQUAL(m->n, 2);
    CU_ASSERT_EQUAL(m->rows[0].conv->stream, 4);
    CU_ASSERT_EQUAL(m->rows[1].conv->stream, 9);
    CU_ASSERT_EQUAL(m->by_packets[0]->conv->stream, 4);
    CU_ASSERT_EQUAL(m->by_packets[1]->conv->stream, 9);
    pm_model_free(m);
    pm_table_free(t);
}

/* Listing only the first k rows (partial selection) lists exactly the
 * first k rows of the full sort, in every order, for every k. */
static void
test_model_top_k_seven(void)
{
    pm_table *t = seven_convs(false);

    for (size_t k = 1; k <= NCONV + 2; k++) {
        pm_model *m = pm_model_build_top(t, &defaults, k);
        size_t want = k < NCONV ? k : NCONV;

        CU_ASSERT_EQUAL(m->n, NCONV);
        CU_ASSERT_EQUAL(m->listed, want);
        for (size_t i = 0; i < want; i++) {
            CU_ASSERT_STRING_EQUAL(m->rows[i].flow, sev_flows[i]);
            CU_ASSERT_STRING_EQUAL(m->by_packets[i]->flow, pkt_flows[i]);
        }
        /* Counts per level still cover every conversation. */
        CU_ASSERT_EQUAL(m->per_level[PM_LEVEL_HIGH], 1);
        CU_ASSERT_EQUAL(m->per_level[PM_LEVEL_MEDIUM], 4);
        CU_ASSERT_EQUAL(m->per_level[PM_LEVEL_OK], 2);
        pm_model_free(m);
    }
    pm_table_free(t);
}

/* The same on 3,000 conversations built to tie a lot: scores, packet and
 * byte counts drawn from small ranges, several streams per flow text. */
static void
test_model_top_k_ties(void)
{
    pm_table *t = pm_table_new();
    uint32_t frame = 0;
    GRand *rnd = g_rand_new_with_seed(7);
    pm_model *full;
    const size_t ks[] = { 1, 2, 3, 10, 64, 999, 2999, 3000, 3001 };

    for (uint32_t st = 0; st < 3000; st++) {
        /* 40 distinct client addresses x 5 ports: each flow text is
         * shared by about 15 streams (reused port pairs). */
        pm_endpoint a = ep4(10, 1, 0, (uint8_t)g_rand_int_range(rnd, 1, 41),
                            (uint16_t)(40000 + g_rand_int_range(rnd, 0, 5)));
        pm_endpoint b = ep4(10, 2, 0, 1, 80);
        unsigned n = (unsigned)g_rand_int_range(rnd, 1, 6);
        uint16_t ev = g_rand_int_range(rnd, 0, 4) == 0 ? PM_EV_RETRANSMISSION : 0;

        feed(t, &frame, st, a, b, n, PM_TCP_ACK, 0);
        if (ev)
            feed(t, &frame, st, a, b, 1, PM_TCP_ACK, ev);
        if (g_rand_boolean(rnd))
            feed(t, &frame, st, b, a, (unsigned)g_rand_int_range(rnd, 1, 3), PM_TCP_ACK, 0);
    }
    full = pm_model_build(t, &defaults);
    CU_ASSERT_EQUAL_FATAL(full->listed, 3000);
    /* Written to a file in blocks, the document (several MB here, so many
     * blocks) is byte for byte the one made in memory. */
    {
        pm_render_opts o = { .file = "ties.pcap", .top = 5 };
        GString *mem = g_string_new(NULL);
        FILE *f = tmpfile();
        char *disk;
        long len;

        CU_ASSERT_FATAL(f != NULL);
        CU_ASSERT(pm_render_json(full, &o, mem));
        CU_ASSERT(mem->len > 4 * 256 * 1024);
        CU_ASSERT(pm_render_json_file(full, &o, f));
        len = ftell(f);
        CU_ASSERT_EQUAL((size_t)len, mem->len);
        rewind(f);
        disk = g_malloc((size_t)len + 1);
        CU_ASSERT_EQUAL(fread(disk, 1, (size_t)len, f), (size_t)len);
        CU_ASSERT(len >= 0 && (size_t)len == mem->len && memcmp(disk, mem->str, mem->len) == 0);
        g_free(disk);
        fclose(f);
        g_string_free(mem, TRUE);
    }
    for (size_t j = 0; j < G_N_ELEMENTS(ks); j++) {
        pm_model *m = pm_model_build_top(t, &defaults, ks[j]);
        size_t want = ks[j] < 3000 ? ks[j] : 3000;
        size_t bad = 0;

        CU_ASSERT_EQUAL(m->listed, want);
        for (size_t i = 0; i < want; i++) {
            bad += m->rows[i].conv != full->rows[i].conv;
            bad += m->by_packets[i]->conv != full->by_packets[i]->conv;
            bad += m->by_bytes[i]->conv != full->by_bytes[i]->conv;
        }
        CU_ASSERT_EQUAL(bad, 0);
        for (int l = 0; l < 4; l++)
            CU_ASSERT_EQUAL(m->per_level[l], full->per_level[l]);
        pm_model_free(m);
    }
    pm_model_free(full);
    pm_table_free(t);
    g_rand_free(rnd);
}

static void
test_model_empty(void)
{
    pm_table *t = pm_table_new();
    pm_model *m = pm_model_build(t, &defaults);

    CU_ASSERT_EQUAL(m->n, 0);
    CU_ASSERT_EQUAL(m->summary.packets_total, 0);
    for (int l = 0; l < 4; l++)
        CU_ASSERT_EQUAL(m->per_level[l], 0);
    pm_model_free(m);
    pm_table_free(t);
}

/* Capture duplicates: same fingerprint, stream and direction within the
 * window (10 ms by default) is a copy: counted apart, nothing else. */
static void
test_capture_duplicates(void)
{
    pm_table *t = pm_table_new();
    pm_endpoint c = ep4(10, 0, 0, 1, 1234), s = ep4(10, 0, 0, 2, 80);
    pm_packet p;
    pm_conv *v;

    /* A data segment, its copy at the same time, the same bytes 20 ms
     * later (outside the window: a real retransmission would look so). */
    p = mkpkt(1, 1, c, s, PM_TCP_ACK, 0, 100, 0);
    p.fingerprint = 111;
    pm_table_add(t, &p, NULL);
    p = mkpkt(2, 1, c, s, PM_TCP_ACK, PM_EV_RETRANSMISSION, 100, 0);
    p.fingerprint = 111;
    v = pm_table_add(t, &p, NULL);
    CU_ASSERT_TRUE(v->last_was_copy);
    CU_ASSERT_EQUAL(v->last_events, 0);
    CU_ASSERT_EQUAL(v->dir[PM_C2S].capture_duplicates, 1);
    CU_ASSERT_EQUAL(v->dir[PM_C2S].packets, 1);
    CU_ASSERT_EQUAL(v->dir[PM_C2S].bytes, 100);
    CU_ASSERT_EQUAL(v->dir[PM_C2S].retransmissions, 0);
    CU_ASSERT_EQUAL(v->last_frame, 1);
    p = mkpkt(3, 1, c, s, PM_TCP_ACK, PM_EV_RETRANSMISSION, 100, 20000);
    p.fingerprint = 111;
    v = pm_table_add(t, &p, NULL);
    CU_ASSERT_FALSE(v->last_was_copy);
    CU_ASSERT_EQUAL(v->dir[PM_C2S].retransmissions, 1);
    CU_ASSERT_EQUAL(v->dir[PM_C2S].packets, 2);
    /* The same fingerprint in the other direction is not a copy. */
    p = mkpkt(4, 1, s, c, PM_TCP_ACK, 0, 60, 20000);
    p.fingerprint = 111;
    v = pm_table_add(t, &p, NULL);
    CU_ASSERT_FALSE(v->last_was_copy);
    /* A record already marked as a copy (later passes) is one. */
    p = mkpkt(5, 1, s, c, PM_TCP_ACK, PM_EV_ZERO_WINDOW, 60, 30000);
    p.copy = true;
    v = pm_table_add(t, &p, NULL);
    CU_ASSERT_EQUAL(v->dir[PM_S2C].capture_duplicates, 1);
    CU_ASSERT_EQUAL(v->dir[PM_S2C].zero_window_events, 0);
    pm_table_free(t);

    /* Window 0: no check at all. */
    t = pm_table_new();
    pm_table_set_dup_window(t, 0);
    for (uint32_t f = 1; f <= 2; f++) {
        p = mkpkt(f, 1, c, s, PM_TCP_ACK, 0, 100, 0);
        p.fingerprint = 222;
        v = pm_table_add(t, &p, NULL);
    }
    CU_ASSERT_EQUAL(v->dir[PM_C2S].capture_duplicates, 0);
    CU_ASSERT_EQUAL(v->dir[PM_C2S].packets, 2);
    pm_table_free(t);
}

/* last_may_raise tells the dissector which packets can raise a
 * conversation's score or level, so that it scores only those. Its
 * promise, checked on a deterministic random mix of events, handshake
 * flags, RTT samples, copies and directions over a few conversations
 * (scores computed with slow_rtt_min_samples 2 so the RTT signal plays
 * too): after a packet without it, neither score nor level went up. The
 * counts at the end show the mix exercised both sides of the promise. */
static void
test_may_raise(void)
{
    pm_table *t = pm_table_new();
    pm_score_params sp = defaults;
    pm_endpoint c[3], s = ep4(10, 0, 0, 2, 80);
    pm_verdict before[3];
    uint32_t x = 12345, quiet = 0, rises = 0, rises_flagged = 0;

    sp.slow_rtt_min_samples = 2;
    sp.slow_rtt_ms = 100;
    for (int i = 0; i < 3; i++) {
        c[i] = ep4(10, 0, 0, (unsigned)(10 + i), (uint16_t)(1000 + i));
        before[i].score = 0;
        before[i].level = PM_LEVEL_OK;
    }
    for (uint32_t f = 1; f <= 20000; f++) {
        uint32_t r, k;
        uint8_t flags = PM_TCP_ACK;
        uint16_t ev = 0;
        pm_packet p;
        pm_conv *v;
        pm_totals tot;
        pm_verdict now;

        x = x * 1103515245u + 12345u;
        r = x >> 8;
        k = r % 3;
        if (r % 97 == 0) ev |= PM_EV_RETRANSMISSION;
        if (r % 211 == 0) ev |= PM_EV_OUT_OF_ORDER;
        if (r % 401 == 0) ev |= PM_EV_ZERO_WINDOW;
        if (r % 151 == 0) ev |= PM_EV_DUP_ACK;
        if (r % 503 == 0) { flags |= PM_TCP_RST; ev |= PM_EV_RESET; }
        if (r % 307 == 0) flags = PM_TCP_SYN;
        if (r % 613 == 0) flags = PM_TCP_SYN | PM_TCP_ACK;
        p = (r & 1) ? mkpkt(f, k, c[k], s, flags, ev, 100, (int64_t)f * 1000)
                    : mkpkt(f, k, s, c[k], flags, ev, 100, (int64_t)f * 1000);
        if (r % 13 == 0)
            p.ack_rtt_ms = (float)((r >> 4) % 300);
        if (r % 89 == 0)
            p.copy = true;
        v = pm_table_add(t, &p, NULL);
        pm_conv_totals(v, &sp, &tot);
        now = pm_score(&sp, &tot);
        if (!v->last_may_raise) {
            quiet++;
            CU_ASSERT_TRUE(now.score <= before[k].score);
            CU_ASSERT_TRUE(now.level <= before[k].level);
        } else if (now.score > before[k].score || now.level > before[k].level) {
            rises_flagged++;
        }
        if (now.score > before[k].score || now.level > before[k].level)
            rises++;
        before[k] = now;
    }
    CU_ASSERT_TRUE(quiet > 10000);            /* most packets are clean */
    CU_ASSERT_TRUE(rises > 100);
    CU_ASSERT_EQUAL(rises, rises_flagged);     /* every rise was flagged */
    pm_table_free(t);
}

/* The duplicate check remembers the last PM_DUP_RECENT frames in a ring
 * with an index of one-line buckets. Checked against a plain model of the
 * rule (a GHashTable over the same ring, as the first version did) on
 * 300,000 packets: fingerprints from a small space so that many repeat,
 * some within the 10 ms window and some not, over 50 streams and both
 * directions, so that the ring wraps several times and entries are
 * dropped both by the ring and by a later frame with their key. Run
 * twice: as built, and with every key homed on one bucket in eight, so
 * that full buckets, spills into the next ones and stale spill marks are
 * the common case rather than one lookup in a thousand. */
typedef struct { uint64_t fp; int64_t ts; uint32_t stream; uint8_t dir; bool used; } ref_dup;

static guint ref_hash(gconstpointer k) { const ref_dup *e = k; return (guint)(e->fp ^ (e->fp >> 32) ^ e->stream * 2654435761u ^ e->dir); }
static gboolean ref_eq(gconstpointer a, gconstpointer b) { const ref_dup *x = a, *y = b; return x->fp == y->fp && x->stream == y->stream && x->dir == y->dir; }

static void
dup_ring_model(bool crowd)
{
    pm_table *t = pm_table_new();
    GHashTable *h = g_hash_table_new(ref_hash, ref_eq);
    ref_dup *ring = g_new0(ref_dup, PM_DUP_RECENT);
    size_t next = 0;
    uint32_t x = 4242, copies = 0, agree = 0, n = 300000;
    int64_t ts = 0;
    pm_packet last[8];

    if (crowd)
        pm_table_test_crowd_dup_index(t);
    for (uint32_t f = 1; f <= n; f++) {
        uint32_t r, stream;
        bool c2s, want = false;
        pm_packet p;
        pm_conv *v;
        ref_dup key, *hit;

        x = x * 1103515245u + 12345u;
        r = x >> 8;
        stream = r % 50;
        c2s = (r >> 7) & 1;
        ts += (r >> 9) % 3000;              /* 0-3 ms apart: window 10 ms */
        p = c2s ? mkpkt(f, stream, ep4(10, 0, 0, 1, 1000), ep4(10, 0, 0, 2, 80), PM_TCP_ACK, 0, 60, ts)
                : mkpkt(f, stream, ep4(10, 0, 0, 2, 80), ep4(10, 0, 0, 1, 1000), PM_TCP_ACK, 0, 60, ts);
        p.fingerprint = 1 + (r >> 12) % 2000;
        if (r % 5 == 0 && f > 60) {
            /* A copy of one of the last 8 packets (maybe outside the
             * window by now). */
            const pm_packet *o = &last[(r >> 3) % 8];

            stream = o->stream;
            c2s = o->src.addr[3] == 1;
            p.stream = o->stream;
            p.src = o->src;
            p.dst = o->dst;
            p.fingerprint = o->fingerprint;
        }
        last[f % 8] = p;
        if (f <= 50) {
            /* The first packet of each stream sets its client: 10.0.0.1. */
            p.src = ep4(10, 0, 0, 1, 1000);
            p.dst = ep4(10, 0, 0, 2, 80);
            p.fingerprint = 1000000 + f;
            c2s = true;
        }
        key = (ref_dup){ p.fingerprint, ts, stream, c2s ? PM_C2S : PM_S2C, true };
        hit = g_hash_table_lookup(h, &key);
        if (hit && (uint64_t)(ts - hit->ts) <= 10000) {
            want = true;
        } else {
            if (hit) {
                g_hash_table_remove(h, hit);
                hit->used = false;
            }
            if (ring[next].used)
                g_hash_table_remove(h, &ring[next]);
            ring[next] = key;
            g_hash_table_insert(h, &ring[next], &ring[next]);
            next = (next + 1) % PM_DUP_RECENT;
        }
        v = pm_table_add(t, &p, NULL);
        copies += want;
        agree += v->last_was_copy == want;
    }
    CU_ASSERT_EQUAL(agree, n);
    CU_ASSERT_TRUE(copies > 10000 && copies < n / 2);
    if (copies <= 10000 || copies >= n / 2)
        fprintf(stderr, "\n    %u copies\n", copies);
    g_hash_table_destroy(h);
    g_free(ring);
    pm_table_free(t);
}

/* How far back a copy is recognised: its original among the last
 * PM_DUP_RECENT frames remembered (65,535 others after it), not one more.
 * Then, past five times the ring, what the ring has forgotten must leave
 * the index too (else it fills up): the last hundred frames' copies are
 * all still recognised. Both as built and with a crowded index. */
static void
dup_reach(bool crowd)
{
    pm_endpoint c = ep4(10, 0, 0, 1, 1234), s = ep4(10, 0, 0, 2, 80);
    uint32_t f = 0;
    pm_packet p;
    pm_conv *v;

    for (uint32_t others = PM_DUP_RECENT - 1; others <= PM_DUP_RECENT; others++) {
        pm_table *t = pm_table_new();

        if (crowd)
            pm_table_test_crowd_dup_index(t);
        p = mkpkt(++f, 1, c, s, PM_TCP_ACK, 0, 100, 0);
        p.fingerprint = 7;
        pm_table_add(t, &p, NULL);
        for (uint32_t i = 0; i < others; i++) {
            p = mkpkt(++f, 1, c, s, PM_TCP_ACK, 0, 100, 0);
            p.fingerprint = 1000 + i;
            pm_table_add(t, &p, NULL);
        }
        p = mkpkt(++f, 1, c, s, PM_TCP_ACK, 0, 100, 0);
        p.fingerprint = 7;
        v = pm_table_add(t, &p, NULL);
        CU_ASSERT_EQUAL(v->last_was_copy, others < PM_DUP_RECENT);
        pm_table_free(t);
    }

    pm_table *t = pm_table_new();
    uint32_t n = 5 * PM_DUP_RECENT, recognised = 0;

    if (crowd)
        pm_table_test_crowd_dup_index(t);
    for (uint32_t i = 1; i <= n; i++) {
        p = mkpkt(i, i % 100, c, s, PM_TCP_ACK, 0, 100, 0);
        p.fingerprint = i;
        v = pm_table_add(t, &p, NULL);
        CU_ASSERT_FALSE(v->last_was_copy);
    }
    for (uint32_t i = n - 99; i <= n; i++) {
        p = mkpkt(n + i, i % 100, c, s, PM_TCP_ACK, 0, 100, 0);
        p.fingerprint = i;
        recognised += pm_table_add(t, &p, NULL)->last_was_copy;
    }
    CU_ASSERT_EQUAL(recognised, 100);
    pm_table_free(t);
}

static void test_dup_reach(void) { dup_reach(false); }
static void test_dup_reach_crowded(void) { dup_reach(true); }
static void test_dup_ring_model(void) { dup_ring_model(false); }
static void test_dup_ring_model_crowded(void) { dup_ring_model(true); }

/* Duplicate ACKs with their copies: Wireshark numbers the copies too
 * (#1 real, #2 copy, #3 real, #4 copy, #5 real); the event is the third
 * real one, at #5, not at #3. Without copies it is #3, as the contract
 * says. */
static void
test_dup_ack_runs(void)
{
    pm_table *t = pm_table_new();
    pm_endpoint c = ep4(10, 0, 0, 1, 1234), s = ep4(10, 0, 0, 2, 80);
    pm_packet p;
    pm_conv *v = NULL;

    for (uint32_t n = 1; n <= 5; n++) {
        bool copy = n % 2 == 0;

        /* a copy at the time of its original: 0, 0, 100, 100, 200 ms */
        p = mkpkt(n, 1, c, s, PM_TCP_ACK, n == 3 ? PM_EV_DUP_ACK : 0, 60,
                  (int64_t)((n + 1) / 2 - 1) * 100 * 1000);
        p.fingerprint = copy ? 1000 + n - 1 : 1000 + n; /* a copy repeats the frame before */
        p.dup_ack_num = n;
        v = pm_table_add(t, &p, NULL);
        if (n == 3)
            CU_ASSERT_EQUAL(v->last_events & PM_EV_DUP_ACK, 0);
    }
    CU_ASSERT_EQUAL(v->last_events & PM_EV_DUP_ACK, PM_EV_DUP_ACK);
    CU_ASSERT_EQUAL(v->dir[PM_C2S].duplicate_ack_events, 1);
    CU_ASSERT_EQUAL(v->dir[PM_C2S].capture_duplicates, 2);
    CU_ASSERT_EQUAL(v->evidence[4][0], 5);
    pm_table_free(t);

    /* No copies: #1, #2, #3 (event), #4, #5; a new run #1..#3 -> 2 events. */
    t = pm_table_new();
    for (uint32_t n = 1; n <= 8; n++) {
        uint32_t num = n <= 5 ? n : n - 5;

        p = mkpkt(n, 1, c, s, PM_TCP_ACK, 0, 60, (int64_t)n * 100 * 1000);
        p.fingerprint = 2000 + n;
        p.dup_ack_num = num;
        v = pm_table_add(t, &p, NULL);
        CU_ASSERT_EQUAL(!!(v->last_events & PM_EV_DUP_ACK), num == 3);
    }
    CU_ASSERT_EQUAL(v->dir[PM_C2S].duplicate_ack_events, 2);
    pm_table_free(t);
}

/* ============================================ connection signals (RTT) */

/* Feeds one packet with explicit flags, RTT values and time. */
static pm_conv *
feed1(pm_table *t, uint32_t frame, uint32_t stream, pm_endpoint src, pm_endpoint dst,
      uint8_t flags, float ack_rtt_ms, float irtt_ms, int64_t ts_us)
{
    pm_packet p = mkpkt(frame, stream, src, dst, flags, 0, 60, ts_us);

    p.ack_rtt_ms = ack_rtt_ms;
    p.initial_rtt_ms = irtt_ms;
    return pm_table_add(t, &p, NULL);
}

/* Whatever form holds a direction's RTT samples (inline, small bucket
 * list, sketch), pm_conv_sketch() gives exactly the sketch the same
 * samples make when added one by one, after every sample. Five mixes:
 * a steady path (few buckets), a jittery one (the list overflows), values
 * under a microsecond and -0.0 (the zero counter), a few buckets more than
 * the sketch's 512-bucket window apart (collapsed when rebuilt from the
 * list), and a mix of all. */
static bool
same_double(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

static void
test_rtt_small_list_exact(void)
{
    for (int mix = 0; mix < 5; mix++) {
        pm_table *t = pm_table_new();
        pm_endpoint c = ep4(10, 0, 0, 1, 1234), s = ep4(10, 0, 0, 2, 80);
        pm_sketch want, scratch;
        uint32_t x = 777u + (uint32_t)mix;
        pm_conv *v = NULL;
        int checked_small = 0;

        pm_sketch_init(&want);
        feed1(t, 1, 1, c, s, PM_TCP_SYN, -1, -1, 0);   /* c is the client */
        for (uint32_t f = 2; f <= 401; f++) {
            float ms;

            x = x * 1103515245u + 12345u;
            switch (mix) {
            case 0: ms = 20.0f + (float)((x >> 16) % 100) / 100.0f; break;          /* 20-21 ms */
            case 1: ms = 0.1f + (float)((x >> 12) % 100000) / 100.0f; break;        /* 0.1-1000 ms */
            case 2: ms = ((x >> 16) % 3 == 0) ? -0.0f : ((x >> 16) % 3 == 1) ? 0.0004f : 5.0f; break;
            case 3: ms = ((x >> 16) % 2) ? 0.002f : 900000.0f; break;               /* 1.02^512 apart x ~18 */
            default: ms = ((x >> 16) % 4 == 0) ? 0.0f : ((x >> 16) % 4 == 1) ? 0.003f
                        : ((x >> 16) % 4 == 2) ? 50000.0f : 7.0f; break;
            }
            v = feed1(t, f, 1, s, c, PM_TCP_ACK, ms, -1, (int64_t)f * 1000);
            pm_sketch_add(&want, ms);
            if (v->rtt_small[PM_C2S])
                checked_small++;
            CU_ASSERT(pm_sketch_equal(pm_conv_sketch(v, PM_C2S, &scratch), &want));
            CU_ASSERT_EQUAL(pm_conv_rtt_count(v, PM_C2S), f - 1);
            /* The list's own quantiles are the sketch's, bit for bit. */
            {
                pm_rtt_stats r;

                CU_ASSERT_FATAL(pm_conv_rtt(v, PM_C2S, &r));
                CU_ASSERT_EQUAL(r.samples, pm_sketch_count(&want));
                CU_ASSERT(same_double(r.p50_ms, pm_sketch_quantile(&want, 0.50)));
                CU_ASSERT(same_double(r.p95_ms, pm_sketch_quantile(&want, 0.95)));
                CU_ASSERT(same_double(r.p99_ms, pm_sketch_quantile(&want, 0.99)));
                CU_ASSERT(same_double(r.max_ms, pm_sketch_max(&want)));
            }
        }
        /* Mixes 0, 2, 3 and 4 stay in the list; 1 leaves it early. */
        CU_ASSERT(mix == 1 ? v->rtt[PM_C2S] != NULL : v->rtt_small[PM_C2S] != NULL);
        CU_ASSERT(checked_small > 0);
        if (mix == 3)
            CU_ASSERT(pm_sketch_collapsed(pm_conv_sketch(v, PM_C2S, &scratch)) > 0);
        pm_table_free(t);
    }
}

/* A direction's first RTT sample waits in the conversation; the 2 KiB
 * sketch comes with the second. Either way every output sees the sketch
 * of all the samples. Then the client turns out to be the other side
 * (its SYN arrives late): the waiting sample follows its direction. */
static void
test_rtt_first_sample_inline(void)
{
    pm_table *t = pm_table_new();
    pm_endpoint c = ep4(10, 0, 0, 1, 1234), s = ep4(10, 0, 0, 2, 80);
    pm_sketch want, scratch;
    pm_rtt_stats r;
    pm_conv *v;

    /* The SYN-ACK acknowledges the client's SYN: C->S data, 12.5 ms. */
    feed1(t, 1, 1, c, s, PM_TCP_SYN, -1, -1, 0);
    v = feed1(t, 2, 1, s, c, PM_TCP_SYN | PM_TCP_ACK, 12.5f, -1, 12500);
    CU_ASSERT_PTR_NULL(v->rtt[PM_C2S]);
    CU_ASSERT_PTR_NULL(v->rtt[PM_S2C]);
    CU_ASSERT_FATAL(pm_conv_rtt(v, PM_C2S, &r));
    CU_ASSERT_EQUAL(r.samples, 1);
    CU_ASSERT_EQUAL(r.p50_ms, 12.5);
    CU_ASSERT_EQUAL(r.p95_ms, 12.5);
    CU_ASSERT_EQUAL(r.max_ms, 12.5);
    CU_ASSERT_FALSE(pm_conv_rtt(v, PM_S2C, &r));
    pm_sketch_init(&want);
    pm_sketch_add(&want, 12.5);
    CU_ASSERT(pm_sketch_equal(pm_conv_sketch(v, PM_C2S, &scratch), &want));
    CU_ASSERT_PTR_NULL(pm_conv_sketch(v, PM_S2C, &scratch));
    /* Rejected values are not kept, as the sketch would not count them. */
    feed1(t, 3, 1, s, c, PM_TCP_ACK, NAN, -1, 13000);
    feed1(t, 4, 1, s, c, PM_TCP_ACK, -3.0f, -1, 13000);
    CU_ASSERT_PTR_NULL(v->rtt[PM_C2S]);
    /* The second sample: the small bucket list, holding both. */
    feed1(t, 5, 1, s, c, PM_TCP_ACK, 40.0f, -1, 60000);
    CU_ASSERT_PTR_NULL(v->rtt[PM_C2S]);
    CU_ASSERT_PTR_NOT_NULL(v->rtt_small[PM_C2S]);
    pm_sketch_add(&want, 40.0);
    CU_ASSERT(pm_sketch_equal(pm_conv_sketch(v, PM_C2S, &scratch), &want));
    CU_ASSERT_EQUAL(pm_conv_rtt_count(v, PM_C2S), 2);
    /* 1 ms, 2 ms, 4 ms ...: each a bucket of its own (35 apart). The
     * list holds PM_RTT_SMALL buckets; the next one brings the sketch. */
    for (int i = 2; i < PM_RTT_SMALL; i++) {
        feed1(t, (uint32_t)(4 + i), 1, s, c, PM_TCP_ACK, (float)(1 << i), -1, 61000);
        pm_sketch_add(&want, (double)(1 << i));
    }
    CU_ASSERT_PTR_NULL(v->rtt[PM_C2S]);
    CU_ASSERT(pm_sketch_equal(pm_conv_sketch(v, PM_C2S, &scratch), &want));
    feed1(t, 40, 1, s, c, PM_TCP_ACK, 3.0f, -1, 62000);
    pm_sketch_add(&want, 3.0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(v->rtt[PM_C2S]);
    CU_ASSERT_PTR_NULL(v->rtt_small[PM_C2S]);
    CU_ASSERT(pm_sketch_equal(v->rtt[PM_C2S], &want));
    CU_ASSERT(pm_conv_sketch(v, PM_C2S, &scratch) == v->rtt[PM_C2S]);
    CU_ASSERT_EQUAL(pm_conv_rtt_count(v, PM_C2S), PM_RTT_SMALL + 1);
    pm_table_free(t);

    /* Mid-stream first: 10.0.0.2 speaks, then 10.0.0.1's SYN makes it
     * the client. The waiting sample (10.0.0.1's data, acked by .2) moves
     * with its direction. */
    t = pm_table_new();
    feed1(t, 1, 7, s, c, PM_TCP_ACK, 8.0f, -1, 0);
    v = pm_table_lookup(t, 7);
    CU_ASSERT_FATAL(v != NULL);
    CU_ASSERT_TRUE(pm_conv_rtt(v, PM_S2C, &r));   /* .2 is the client so far */
    feed1(t, 2, 7, c, s, PM_TCP_SYN, -1, -1, 1000);
    CU_ASSERT_EQUAL(memcmp(v->client.addr, c.addr, 4), 0);
    CU_ASSERT_TRUE(pm_conv_rtt(v, PM_C2S, &r));
    CU_ASSERT_EQUAL(r.p50_ms, 8.0);
    CU_ASSERT_FALSE(pm_conv_rtt(v, PM_S2C, &r));
    pm_table_free(t);
}

/* The four outcomes, each from the packets that decide it. */
static void
test_handshake_outcomes(void)
{
    pm_table *t = pm_table_new();
    pm_endpoint c = ep4(10, 0, 0, 1, 1234), s = ep4(10, 0, 0, 2, 80);
    pm_conv *v;

    /* SYN, SYN-ACK: complete (first word of the server is an answer). */
    feed1(t, 1, 1, c, s, PM_TCP_SYN, -1, -1, 0);
    CU_ASSERT_EQUAL(pm_conv_handshake(pm_table_lookup(t, 1)), PM_HS_NO_ANSWER);
    v = feed1(t, 2, 1, s, c, PM_TCP_SYN | PM_TCP_ACK, 0.5f, -1, 500);
    CU_ASSERT_EQUAL(pm_conv_handshake(v), PM_HS_COMPLETE);
    /* A RST later does not turn a complete handshake into a refusal. */
    v = feed1(t, 3, 1, s, c, PM_TCP_RST, -1, -1, 900);
    CU_ASSERT_EQUAL(pm_conv_handshake(v), PM_HS_COMPLETE);
    /* SYN, RST/ACK: refused. */
    feed1(t, 4, 2, c, s, PM_TCP_SYN, -1, -1, 0);
    v = feed1(t, 5, 2, s, c, PM_TCP_RST | PM_TCP_ACK, -1, -1, 100);
    CU_ASSERT_EQUAL(pm_conv_handshake(v), PM_HS_REFUSED);
    CU_ASSERT_STRING_EQUAL(pm_handshake_name(PM_HS_REFUSED), "refused");
    /* Three SYNs, nothing back: no_answer with 3 SYNs. */
    feed1(t, 6, 3, c, s, PM_TCP_SYN, -1, -1, 0);
    feed1(t, 7, 3, c, s, PM_TCP_SYN, -1, -1, 1000000);
    v = feed1(t, 8, 3, c, s, PM_TCP_SYN, -1, -1, 3000000);
    CU_ASSERT_EQUAL(pm_conv_handshake(v), PM_HS_NO_ANSWER);
    CU_ASSERT_EQUAL(v->syns, 3);
    CU_ASSERT_EQUAL(pm_conv_duration_ms(v), 3000);
    CU_ASSERT_STRING_EQUAL(pm_handshake_name(PM_HS_NO_ANSWER), "no_answer");
    /* No SYN: mid-stream, even with a RST from the "server". */
    feed1(t, 9, 4, c, s, PM_TCP_ACK, -1, -1, 0);
    v = feed1(t, 10, 4, s, c, PM_TCP_RST, -1, -1, 10);
    CU_ASSERT_EQUAL(pm_conv_handshake(v), PM_HS_MID_STREAM);
    CU_ASSERT_STRING_EQUAL(pm_handshake_name(PM_HS_MID_STREAM), "mid_stream");
    /* A SYN-ACK the capture missed: the server's data still answers. */
    feed1(t, 11, 5, c, s, PM_TCP_SYN, -1, -1, 0);
    v = feed1(t, 12, 5, s, c, PM_TCP_ACK, -1, -1, 10);
    CU_ASSERT_EQUAL(pm_conv_handshake(v), PM_HS_COMPLETE);
    pm_table_free(t);
}

/* An ACK's RTT is filed under the other direction's data; the first iRTT
 * sticks; quantiles come back within 1%. */
static void
test_rtt_routing(void)
{
    pm_table *t = pm_table_new();
    pm_endpoint c = ep4(10, 0, 0, 1, 1234), s = ep4(10, 0, 0, 2, 80);
    pm_rtt_stats r;
    pm_conv *v = NULL;

    feed1(t, 1, 7, c, s, PM_TCP_SYN, -1, -1, 0);
    /* The server's SYN-ACK times the client's SYN: C->S data, 0.1 ms. */
    feed1(t, 2, 7, s, c, PM_TCP_SYN | PM_TCP_ACK, 0.1f, -1, 100);
    /* Client ACKs time the server's data: 10, 20, ..., 100 ms. */
    for (int i = 1; i <= 10; i++)
        v = feed1(t, 2 + i, 7, c, s, PM_TCP_ACK, 10.0f * i, i == 1 ? 20.1f : 33.0f, 1000 * i);
    CU_ASSERT_TRUE(pm_conv_rtt(v, PM_C2S, &r));
    CU_ASSERT_EQUAL(r.samples, 1);
    CU_ASSERT_DOUBLE_EQUAL(r.max_ms, 0.1, 1e-6);
    CU_ASSERT_TRUE(pm_conv_rtt(v, PM_S2C, &r));
    CU_ASSERT_EQUAL(r.samples, 10);
    /* Lower nearest rank of 10..100: p50 = #4 = 50, p95 = #8 = 90. */
    CU_ASSERT_DOUBLE_EQUAL(r.p50_ms, 50.0, 0.5);
    CU_ASSERT_DOUBLE_EQUAL(r.p95_ms, 90.0, 0.9);
    CU_ASSERT_DOUBLE_EQUAL(r.max_ms, 100.0, 1e-4);
    CU_ASSERT_DOUBLE_EQUAL(v->initial_rtt_ms, 20.1, 1e-4);
    pm_table_free(t);

    t = pm_table_new();
    v = feed1(t, 1, 1, c, s, PM_TCP_ACK, -1, -1, 0);
    CU_ASSERT_FALSE(pm_conv_rtt(v, PM_C2S, &r));
    CU_ASSERT_FALSE(pm_conv_rtt(v, PM_S2C, &r));
    CU_ASSERT_TRUE(v->initial_rtt_ms < 0);
    pm_table_free(t);
}

/* The signal scores and reasons, with the defaults (20 each, slow = p95 >
 * 500 ms with >= 10 samples), added to the contract's score. */
static void
test_signal_scores(void)
{
    pm_totals refused = { .packets = 2, .handshake = PM_HS_REFUSED };
    pm_totals unanswered = { .packets = 3, .retx = 2, .handshake = PM_HS_NO_ANSWER, .syns = 3 };
    pm_totals slow = { .packets = 28, .handshake = PM_HS_COMPLETE, .rtt_p95_ms = 600.0, .rtt_samples = 13 };
    pm_totals few = { .packets = 28, .handshake = PM_HS_COMPLETE, .rtt_p95_ms = 600.0, .rtt_samples = 9 };
    pm_totals edge = { .packets = 28, .handshake = PM_HS_COMPLETE, .rtt_p95_ms = 500.0, .rtt_samples = 13 };
    pm_verdict v;
    char buf[256];

    v = pm_score(&defaults, &refused);            /* 0 + 20 */
    CU_ASSERT_EQUAL(v.score, 20);
    CU_ASSERT_EQUAL(v.level, PM_LEVEL_LOW);
    pm_reasons_join(&v, &refused, PM_LANG_EN, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "connection refused (RST to SYN)");
    pm_reasons_join(&v, &refused, PM_LANG_ES, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "conexi\xc3\xb3n rechazada (RST al SYN)");
    v = pm_score(&defaults, &unanswered);         /* 12*2 = 24, + 20 = 44 */
    CU_ASSERT_EQUAL(v.score, 44);
    CU_ASSERT_EQUAL(v.level, PM_LEVEL_LOW);
    pm_reasons_join(&v, &unanswered, PM_LANG_EN, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "no answer to SYN (3 SYN)");
    v = pm_score(&defaults, &slow);               /* 0 + 20 */
    CU_ASSERT_EQUAL(v.score, 20);
    pm_reasons_join(&v, &slow, PM_LANG_EN, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "slow RTT p95 600.0 ms (13 samples)");
    pm_reasons_join(&v, &slow, PM_LANG_ES, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "RTT lento p95 600.0 ms (13 muestras)");
    CU_ASSERT_EQUAL(pm_score(&defaults, &few).score, 0);   /* 9 samples: not enough */
    CU_ASSERT_EQUAL(pm_score(&defaults, &edge).score, 0);  /* 500 is not above 500 */
    /* Mid-stream and complete handshakes add nothing: the contract's
     * examples keep their values. */
    {
        pm_totals ecn = { .packets = 479, .retx = 1, .dup_ack = 29, .handshake = PM_HS_COMPLETE };

        v = pm_score(&defaults, &ecn);
        CU_ASSERT_EQUAL(v.score, 80);
        CU_ASSERT_EQUAL(v.level, PM_LEVEL_MEDIUM);
    }
}

/* ============================================================== sanitize */

static void
check_sanitized(const char *in, const char *want)
{
    char *got = pm_sanitize_terminal(in);

    CU_ASSERT_STRING_EQUAL(got, want);
    CU_ASSERT(g_utf8_validate(got, -1, NULL));
    g_free(got);
}

static bool
has_control(const char *s)
{
    for (const char *c = s; *c; c = g_utf8_next_char(c)) {
        gunichar u = g_utf8_get_char(c);
        if (u < 0x20 || (u >= 0x7f && u <= 0x9f))
            return true;
    }
    return false;
}

static void
test_sanitize_controls(void)
{
    /* C0: ESC (CSI colour and OSC title sequences lose their ESC/BEL). */
    check_sanitized("\x1b[31mred\x1b[0m", "?[31mred?[0m");
    check_sanitized("a\x1b]0;title\x07z", "a?]0;title?z");
    /* C1 CSI U+009B, encoded in UTF-8 as C2 9B, and NEL U+0085. */
    check_sanitized("a\xc2\x9b" "31mb", "a?31mb");
    check_sanitized("a\xc2\x85" "b", "a?b");
    /* Newline, carriage return, tab, DEL. */
    check_sanitized("line1\nline2", "line1?line2");
    check_sanitized("a\rb", "a?b");
    check_sanitized("a\tb", "a?b");
    check_sanitized("a\x7f" "b", "a?b");
}

static void
test_sanitize_keeps_text(void)
{
    check_sanitized("", "");
    check_sanitized("captures/tcp-ecn-sample.pcap", "captures/tcp-ecn-sample.pcap");
    check_sanitized("m\xc3\xbcnich", "m\xc3\xbcnich");                 /* münich */
    check_sanitized("\xe6\x97\xa5\xe6\x9c\xac", "\xe6\x97\xa5\xe6\x9c\xac"); /* 日本 */
    check_sanitized("a\xc2\xa0" "b", "a\xc2\xa0" "b");                 /* NBSP is no control */
}

/* The header promises valid UTF-8; it does not say whether an invalid
 * byte becomes '?' or U+FFFD, so both are accepted, but exactly one
 * replacement, with the text around it intact. */
static void
check_invalid(const char *in, const char *pre, const char *post)
{
    char *got = pm_sanitize_terminal(in);
    char *q = g_strconcat(pre, "?", post, NULL);
    char *r = g_strconcat(pre, "\xef\xbf\xbd", post, NULL);

    CU_ASSERT(g_utf8_validate(got, -1, NULL));
    CU_ASSERT(!has_control(got));
    CU_ASSERT(strcmp(got, q) == 0 || strcmp(got, r) == 0);
    g_free(got);
    g_free(q);
    g_free(r);
}

static void
test_sanitize_invalid_utf8(void)
{
    check_invalid("ab\xff" "cd", "ab", "cd");
    check_invalid("ab\xc3", "ab", "");                /* truncated sequence */
    /* A UTF-16 surrogate (ED A0 80) is invalid in UTF-8; how many
     * replacements it gets (one per byte is fine) is not promised. */
    {
        char *got = pm_sanitize_terminal("ab\xed\xa0\x80" "cd");
        CU_ASSERT(g_utf8_validate(got, -1, NULL));
        CU_ASSERT(!has_control(got));
        CU_ASSERT(g_str_has_prefix(got, "ab") && g_str_has_suffix(got, "cd"));
        CU_ASSERT_PTR_NULL(strstr(got, "\xed\xa0\x80"));
        CU_ASSERT(strlen(got) > 4);
        g_free(got);
    }
    /* An overlong encoding of ESC (C0 9B would be CSI's lookalike) must not
     * decode to a control character. */
    {
        char *got = pm_sanitize_terminal("x\xc0\x9b[2Jy");
        CU_ASSERT(g_utf8_validate(got, -1, NULL));
        CU_ASSERT(!has_control(got));
        CU_ASSERT_PTR_NULL(strchr(got, '\x1b'));
        CU_ASSERT_PTR_NOT_NULL(strstr(got, "[2Jy"));
        g_free(got);
    }
}

/* ================================================================== JSON */

/* A small strict JSON (RFC 8259) syntax checker: enough to tell that the
 * document parses, without a JSON library. */
typedef struct jcur {
    const char *s;
    size_t i, n;
} jcur;

static bool jvalue(jcur *c, int depth);

static void
jws(jcur *c)
{
    while (c->i < c->n && (c->s[c->i] == ' ' || c->s[c->i] == '\t' ||
                           c->s[c->i] == '\n' || c->s[c->i] == '\r'))
        c->i++;
}

static bool
jstring(jcur *c)
{
    if (c->i >= c->n || c->s[c->i] != '"')
        return false;
    c->i++;
    while (c->i < c->n) {
        unsigned char ch = (unsigned char)c->s[c->i++];

        if (ch == '"')
            return true;
        if (ch < 0x20)
            return false;
        if (ch == '\\') {
            if (c->i >= c->n)
                return false;
            ch = (unsigned char)c->s[c->i++];
            if (ch == 'u') {
                for (int k = 0; k < 4; k++, c->i++)
                    if (c->i >= c->n || !g_ascii_isxdigit(c->s[c->i]))
                        return false;
            } else if (ch == 0 || !strchr("\"\\/bfnrt", ch)) {
                return false;
            }
        }
    }
    return false;
}

static bool
jdigits(jcur *c)
{
    size_t start = c->i;
    while (c->i < c->n && g_ascii_isdigit(c->s[c->i]))
        c->i++;
    return c->i > start;
}

static bool
jnumber(jcur *c)
{
    if (c->i < c->n && c->s[c->i] == '-')
        c->i++;
    if (c->i < c->n && c->s[c->i] == '0')
        c->i++;
    else if (!jdigits(c))
        return false;
    if (c->i < c->n && c->s[c->i] == '.') {
        c->i++;
        if (!jdigits(c))
            return false;
    }
    if (c->i < c->n && (c->s[c->i] == 'e' || c->s[c->i] == 'E')) {
        c->i++;
        if (c->i < c->n && (c->s[c->i] == '+' || c->s[c->i] == '-'))
            c->i++;
        if (!jdigits(c))
            return false;
    }
    return true;
}

static bool
jliteral(jcur *c, const char *lit)
{
    size_t l = strlen(lit);
    if (c->n - c->i < l || strncmp(c->s + c->i, lit, l) != 0)
        return false;
    c->i += l;
    return true;
}

static bool
jcontainer(jcur *c, int depth, char close, bool object)
{
    c->i++;
    jws(c);
    if (c->i < c->n && c->s[c->i] == close) {
        c->i++;
        return true;
    }
    for (;;) {
        if (object) {
            if (!jstring(c))
                return false;
            jws(c);
            if (c->i >= c->n || c->s[c->i] != ':')
                return false;
            c->i++;
            jws(c);
        }
        if (!jvalue(c, depth + 1))
            return false;
        jws(c);
        if (c->i >= c->n)
            return false;
        if (c->s[c->i] == close) {
            c->i++;
            return true;
        }
        if (c->s[c->i] != ',')
            return false;
        c->i++;
        jws(c);
    }
}

static bool
jvalue(jcur *c, int depth)
{
    if (depth > 64 || c->i >= c->n)
        return false;
    switch (c->s[c->i]) {
    case '{': return jcontainer(c, depth, '}', true);
    case '[': return jcontainer(c, depth, ']', false);
    case '"': return jstring(c);
    case 't': return jliteral(c, "true");
    case 'f': return jliteral(c, "false");
    case 'n': return jliteral(c, "null");
    default:  return jnumber(c);
    }
}

static bool
json_valid(const char *text)
{
    jcur c = { text, 0, strlen(text) };

    if (!g_utf8_validate(text, -1, NULL))
        return false;
    jws(&c);
    if (!jvalue(&c, 0))
        return false;
    jws(&c);
    return c.i == c.n;
}

/* The checker itself must reject what it is there to catch. */
/* pm_json must write byte for byte what Wireshark's json_dumper writes
 * in pretty-print mode (documents users already parse were made by it).
 * The oracle is json_dumper itself, driven by the same random sequence of
 * operations: nested objects and arrays (empty ones too), member names and
 * string values with every kind of escape (quote, backslash, C0 controls,
 * "</", UTF-8), numbers and literals. */
typedef struct {
    json_dumper d;
    pm_json j;
} json_pair;

static void pair_begin_object(json_pair *p) { json_dumper_begin_object(&p->d); pm_json_begin_object(&p->j); }
static void pair_end_object(json_pair *p) { json_dumper_end_object(&p->d); pm_json_end_object(&p->j); }
static void pair_begin_array(json_pair *p) { json_dumper_begin_array(&p->d); pm_json_begin_array(&p->j); }
static void pair_end_array(json_pair *p) { json_dumper_end_array(&p->d); pm_json_end_array(&p->j); }
static void pair_member(json_pair *p, const char *n) { json_dumper_set_member_name(&p->d, n); pm_json_member(&p->j, n); }
static void pair_string(json_pair *p, const char *v) { json_dumper_value_string(&p->d, v); pm_json_string(&p->j, v); }

static void
pair_value(json_pair *p, uint32_t r)
{
    static const char *const texts[] = {
        "plain", "", "quote \" inside", "back\\slash", "tab\tnew\nline\r\b\f", "\x01\x1f\x7f",
        "</script> and </b>", "a/b </", "caf\xc3\xa9 \xe2\x89\xa5 5", "10.0.0.1:80 <-> 10.0.0.2:443/TCP",
    };
    char buf[32];

    switch (r % 6) {
    case 0: case 1:
        pair_string(p, texts[(r >> 3) % G_N_ELEMENTS(texts)]);
        break;
    case 2: {
        uint64_t v = (uint64_t)r * 2654435761u;

        snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
        json_dumper_value_anyf(&p->d, "%s", buf);
        pm_json_uint(&p->j, v);
        break;
    }
    case 3: {
        int64_t v = -(int64_t)(r % 100000) - 1;

        json_dumper_value_anyf(&p->d, "%lld", (long long)v);
        pm_json_int(&p->j, v);
        break;
    }
    case 4:
        json_dumper_value_anyf(&p->d, "null");
        pm_json_raw(&p->j, "null");
        break;
    default:
        if (r & 64) {
            json_dumper_value_anyf(&p->d, "%.3f", (r % 1000) / 7.0);
            pm_json_printf(&p->j, "%.3f", (r % 1000) / 7.0);
        } else {
            json_dumper_value_anyf(&p->d, "%.3f", (r % 100000) / 64.0);
            pm_json_fixed3(&p->j, (r % 100000) / 64.0);
        }
        break;
    }
}

static void
pair_element(json_pair *p, uint32_t *x, int depth)
{
    uint32_t r;
    int n;

    *x = *x * 1103515245u + 12345u;
    r = *x >> 8;
    if (depth >= 5 || r % 3 == 0) {
        pair_value(p, r >> 2);
        return;
    }
    n = (int)((r >> 4) % 5);   /* 0..4 elements: empty containers too */
    if (r % 3 == 1) {
        pair_begin_object(p);
        for (int i = 0; i < n; i++) {
            static const char *const names[] = { "flow", "a.b", "", "quo\"te", "x</y", "\t" };

            pair_member(p, names[(r >> (i + 7)) % G_N_ELEMENTS(names)]);
            pair_element(p, x, depth + 1);
        }
        pair_end_object(p);
    } else {
        pair_begin_array(p);
        for (int i = 0; i < n; i++)
            pair_element(p, x, depth + 1);
        pair_end_array(p);
    }
}

static void
test_json_writer_matches_json_dumper(void)
{
    for (uint32_t seed = 1; seed <= 300; seed++) {
        json_pair p;
        uint32_t x = seed;

        memset(&p, 0, sizeof p);
        p.d.output_string = g_string_new(NULL);
        p.d.flags = JSON_DUMPER_FLAGS_PRETTY_PRINT;
        pm_json_init(&p.j, g_string_new(NULL));
        pair_begin_object(&p);
        for (int i = 0; i < 4; i++) {
            pair_member(&p, "k");
            pair_element(&p, &x, 1);
        }
        pair_end_object(&p);
        CU_ASSERT_TRUE(json_dumper_finish(&p.d));
        CU_ASSERT_TRUE(pm_json_finish(&p.j));
        CU_ASSERT_STRING_EQUAL(p.j.out->str, p.d.output_string->str);
        if (strcmp(p.j.out->str, p.d.output_string->str) != 0) {
            fprintf(stderr, "\nseed %u:\n--- json_dumper\n%s--- pm_json\n%s", seed,
                    p.d.output_string->str, p.j.out->str);
            seed = 301;
        }
        g_string_free(p.d.output_string, TRUE);
        g_string_free(p.j.out, TRUE);
    }
}

/* pm_json_fixed3 must write what printf's "%.3f" writes for every
 * double: its fast path rounds v * 1000, which is wrong exactly where the
 * product's own rounding error crosses a half (ties such as 0.0625 or
 * 1.0005-ish values), so those, and the edges of the fast range, are
 * tried on purpose next to random values of every magnitude. */
static void
check_fixed3(double v, int *bad)
{
    char want[G_ASCII_DTOSTR_BUF_SIZE];
    pm_json j;

    pm_json_init(&j, g_string_new(NULL));
    pm_json_fixed3(&j, v);
    g_ascii_formatd(want, sizeof want, "%.3f", v);
    if (strcmp(j.out->str, want) != 0 && (*bad)++ < 5)
        fprintf(stderr, "\nfixed3(%.17g): \"%s\", printf \"%s\"", v, j.out->str, want);
    g_string_free(j.out, TRUE);
}

static void
test_json_fixed3_matches_printf(void)
{
    static const double edges[] = {
        0.0, -0.0, 0.0005, 0.0015, 0.0625, 0.1875, 1.0625, 2.5e-4, 1e-300, 4.9e-324,
        0.9995, 0.99949999999999994, 999999999.99949, 999999999.9995, 1e9, 1e9 - 1e-6,
        123456789.0625, 1e15, 1.7976931348623157e308, -1.0, 1e-3, 2e-3, 0.001499999999,
    };
    int bad = 0;
    uint64_t x = 88172645463325252ull;

    for (size_t i = 0; i < G_N_ELEMENTS(edges); i++)
        check_fixed3(edges[i], &bad);
    check_fixed3(INFINITY, &bad);
    check_fixed3(NAN, &bad);
    /* Exact ties: k/2000 is a tie at the third decimal when k is odd;
     * only those that are binary fractions are real ties (k/16 etc.). */
    for (int k = 0; k < 200000; k++) {
        check_fixed3(k / 2000.0, &bad);
        check_fixed3(k / 16.0 + k / 1024.0, &bad);
    }
    for (int i = 0; i < 1000000; i++) {
        double v;

        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        /* 0 to 10^12 on a log scale, then microsecond-like values. */
        v = pow(10.0, (double)(x % 1000000) / 1000000.0 * 15.0 - 3.0);
        check_fixed3(v, &bad);
        check_fixed3((double)(x % 100000000) / 1000.0, &bad);
        check_fixed3((double)(float)((double)(x % 10000000) / 1000.0), &bad);
    }
    CU_ASSERT_EQUAL(bad, 0);
}

/* Unbalanced or misplaced calls are reported by pm_json_finish. */
static void
test_json_writer_misuse(void)
{
    pm_json j;

    pm_json_init(&j, g_string_new(NULL));
    pm_json_begin_object(&j);
    CU_ASSERT_FALSE(pm_json_finish(&j));          /* left open */
    g_string_free(j.out, TRUE);

    pm_json_init(&j, g_string_new(NULL));
    pm_json_begin_array(&j);
    pm_json_member(&j, "x");                      /* a name in an array */
    pm_json_end_array(&j);
    CU_ASSERT_FALSE(pm_json_finish(&j));
    g_string_free(j.out, TRUE);

    pm_json_init(&j, g_string_new(NULL));
    pm_json_begin_object(&j);
    pm_json_end_array(&j);                        /* wrong closer */
    CU_ASSERT_FALSE(pm_json_finish(&j));
    g_string_free(j.out, TRUE);

    pm_json_init(&j, g_string_new(NULL));
    for (int i = 0; i < PM_JSON_MAX_DEPTH + 2; i++)
        pm_json_begin_array(&j);                  /* too deep */
    for (int i = 0; i < PM_JSON_MAX_DEPTH + 2; i++)
        pm_json_end_array(&j);
    CU_ASSERT_FALSE(pm_json_finish(&j));
    g_string_free(j.out, TRUE);

    pm_json_init(&j, g_string_new(NULL));
    pm_json_begin_object(&j);
    pm_json_member(&j, "a");
    pm_json_uint(&j, 18446744073709551615ull);
    pm_json_member(&j, "b");
    pm_json_int(&j, INT64_MIN);
    pm_json_end_object(&j);
    CU_ASSERT_TRUE(pm_json_finish(&j));
    CU_ASSERT_STRING_EQUAL(j.out->str,
        "{\n  \"a\": 18446744073709551615,\n  \"b\": -9223372036854775808\n}\n");
    g_string_free(j.out, TRUE);
}

static void
test_json_checker(void)
{
    CU_ASSERT(json_valid("{\"a\": [1, -2.5e3, true, null, \"x\\n\\u001b\"], \"b\": {}}\n"));
    CU_ASSERT(!json_valid("{\"a\": 1,}"));
    CU_ASSERT(!json_valid("{\"a\": \"x\ny\"}"));      /* raw newline in a string */
    CU_ASSERT(!json_valid("{\"a\": \"x\\qy\"}"));     /* bad escape */
    CU_ASSERT(!json_valid("{\"a\": \"\xff\"}"));      /* invalid UTF-8 */
    CU_ASSERT(!json_valid("{\"a\": 1} x"));
    CU_ASSERT(!json_valid("{\"a\" 1}"));
    CU_ASSERT(!json_valid("[01]"));
}

/* Text between the first occurrence of `start` and the next '}'. */
static char *
section(const char *text, const char *start)
{
    const char *p = strstr(text, start), *e;

    if (!p)
        return g_strdup("");
    p += strlen(start);
    e = strchr(p, '}');
    return e ? g_strndup(p, (gsize)(e - p)) : g_strdup(p);
}

/* The tcp-ecn conversation with the original tool's counts (SCORING.md's
 * first worked example) and the seed README's numbers: 309 packets c2s
 * with 1 retransmission and 29 duplicate-ACK events, 170 s2c, 59 ms,
 * 118,959 bytes (so 118959*8 bits / 59000 us = 16.13 Mbps). */
static pm_table *
ecn_table(void)
{
    pm_table *t = pm_table_new();
    pm_endpoint cli = ep4(1, 1, 23, 3, 46557), svr = ep4(1, 1, 12, 1, 80);
    uint32_t f = 0;
    pm_packet p;

    /* Frame 1: SYN, 415 bytes; every other frame 248 bytes:
     * 415 + 478*248 = 118959. Last frame at +59000 us. */
    p = mkpkt(++f, 0, cli, svr, PM_TCP_SYN, 0, 415, 0);
    pm_table_add(t, &p, NULL);
    for (int i = 0; i < 478; i++) {
        bool c2s = i < 308;
        uint16_t e = 0;

        if (i == 0)
            e = PM_EV_RETRANSMISSION;
        else if (i >= 1 && i <= 29)
            e = PM_EV_DUP_ACK;
        p = mkpkt(++f, 0, c2s ? cli : svr, c2s ? svr : cli, PM_TCP_ACK,
                  c2s ? e : 0, 248, i == 477 ? 59000 : 1000 + i);
        pm_table_add(t, &p, NULL);
    }
    return t;
}

static void
test_json_ecn(void)
{
    pm_table *t = ecn_table();
    pm_model *m = pm_model_build(t, &defaults);
    pm_render_opts o = { .file = "captures/tcp-ecn-sample.pcap", .top = 5, .lang = PM_LANG_EN, .color = false };
    GString *out = g_string_new(NULL);
    char *c2s, *s2c;

    CU_ASSERT(pm_render_json(m, &o, out));
    CU_ASSERT(json_valid(out->str));
    CU_ASSERT(g_str_has_prefix(out->str, "{"));
    CU_ASSERT(g_str_has_suffix(out->str, "}\n"));
    CHECK_HAS(out->str, "\"schema\": \"v1\"");
    CHECK_HAS(out->str, "\"file\": \"captures/tcp-ecn-sample.pcap\"");
    CHECK_HAS(out->str, "\"packets_total\": 479");
    CHECK_HAS(out->str, "\"duration_ms\": 59");
    CHECK_HAS(out->str, "\"conversations_total\": 1");
    CHECK_HAS(out->str, "\"flow\": \"1.1.23.3:46557 <-> 1.1.12.1:80/TCP\"");
    CHECK_HAS(out->str, "\"value\": 80");
    CHECK_HAS(out->str, "\"level\": \"MEDIUM\"");
    CHECK_HAS(out->str, "\"duplicate ACK events (" GE "3) (29)\"");
    /* Summary comes before detectors; severity list before packets list. */
    CU_ASSERT(strstr(out->str, "\"summary\"") < strstr(out->str, "\"detectors\""));
    CU_ASSERT(strstr(out->str, "\"tcp_health\"") != NULL);
    CU_ASSERT(strstr(out->str, "\"top_by_severity\"") < strstr(out->str, "\"top_by_packets\""));

    c2s = section(out->str, "\"c2s\": {");
    s2c = section(out->str, "\"s2c\": {");
    /* c2s: the SYN + 308 = 309 packets, 415 + 308*248 = 76799 bytes. */
    CHECK_HAS(c2s, "\"packets\": 309,");
    CHECK_HAS(c2s, "\"bytes\": 76799,");
    CHECK_HAS(c2s, "\"retransmissions\": 1,");
    CHECK_HAS(c2s, "\"out_of_order\": 0,");
    CHECK_HAS(c2s, "\"zero_window_events\": 0,");
    CHECK_HAS(c2s, "\"duplicate_ack_events\": 29,");
    /* s2c: 170 packets, 170*248 = 42160 bytes. */
    CHECK_HAS(s2c, "\"packets\": 170,");
    CHECK_HAS(s2c, "\"bytes\": 42160,");
    CHECK_HAS(s2c, "\"retransmissions\": 0,");
    CHECK_HAS(s2c, "\"duplicate_ack_events\": 0,");
    g_free(c2s);
    g_free(s2c);
    /* The one conversation appears once in each list: by severity, by
     * packets, by bytes. */
    CU_ASSERT_EQUAL(count_substr(out->str, "\"flow\": "), 3);
    g_string_free(out, TRUE);
    pm_model_free(m);
    pm_table_free(t);
}

/* The seed README's JSON (the original tool in Spanish) shows the level
 * and reasons in the chosen language. */
static void
test_json_spanish(void)
{
    pm_table *t = ecn_table();
    pm_model *m = pm_model_build(t, &defaults);
    pm_render_opts o = { .file = "captures/tcp-ecn-sample.pcap", .top = 5, .lang = PM_LANG_ES, .color = false };
    GString *out = g_string_new(NULL);

    CU_ASSERT(pm_render_json(m, &o, out));
    CU_ASSERT(json_valid(out->str));
    CHECK_HAS(out->str, "\"level\": \"MEDIA\"");
    CHECK_HAS(out->str, "\"eventos de ACK duplicado (" GE "3) (29)\"");
    g_string_free(out, TRUE);
    pm_model_free(m);
    pm_table_free(t);
}

static void
test_json_escaping(void)
{
    pm_table *t = ecn_table();
    pm_model *m = pm_model_build(t, &defaults);
    pm_render_opts o = { .file = "we\"ird\\dir\nname\tx\x1b[1m\xff.pcap", .top = 5, .lang = PM_LANG_EN, .color = false };
    GString *out = g_string_new(NULL);
    bool raw_ctl = false;

    CU_ASSERT(pm_render_json(m, &o, out));
    CU_ASSERT(json_valid(out->str));
    CU_ASSERT(g_utf8_validate(out->str, -1, NULL));
    /* Quote, backslash, newline, tab and ESC escaped. */
    CHECK_HAS(out->str, "\"file\": \"we\\\"ird\\\\dir\\nname\\tx\\u001b[1m");
    CHECK_HAS(out->str, ".pcap\"");
    /* No raw control byte except the pretty-printer's newlines. */
    for (const char *c = out->str; *c; c++)
        if ((unsigned char)*c < 0x20 && *c != '\n')
            raw_ctl = true;
    CU_ASSERT(!raw_ctl);
    CU_ASSERT_PTR_NULL(strchr(out->str, '\xff'));
    g_string_free(out, TRUE);
    pm_model_free(m);
    pm_table_free(t);
}

static void
test_json_empty_and_null_file(void)
{
    pm_table *t = pm_table_new();
    pm_model *m = pm_model_build(t, &defaults);
    pm_render_opts o = { .file = NULL, .top = 5, .lang = PM_LANG_EN, .color = false };
    GString *out = g_string_new(NULL);

    CU_ASSERT(pm_render_json(m, &o, out));
    CU_ASSERT(json_valid(out->str));
    CHECK_HAS(out->str, "\"schema\": \"v1\"");
    CHECK_HAS(out->str, "\"file\": null");
    CHECK_HAS(out->str, "\"packets_total\": 0");
    CHECK_HAS(out->str, "\"duration_ms\": 0");
    CHECK_HAS(out->str, "\"conversations_total\": 0");
    CHECK_HAS(out->str, "\"top_by_severity\": []");
    CHECK_HAS(out->str, "\"top_by_packets\": []");
    g_string_free(out, TRUE);
    pm_model_free(m);
    pm_table_free(t);
}

/* Several conversations: the severity list follows the model's order. */
/* The summary says how the document was made. Frames from feed() are
 * 100 bytes at ts = frame * 1 ms: 3 frames -> 1970-01-01T00:00:00.001000Z
 * to ...003000Z, 300 bytes. */
static void
test_json_summary_how_made(void)
{
    pm_table *t = pm_table_new();
    uint32_t f = 0;
    pm_score_params p;
    pm_model *m;
    GString *out = g_string_new(NULL);

    feed(t, &f, 1, ep4(10, 0, 0, 1, 1), ep4(10, 0, 0, 2, 2), 3, PM_TCP_ACK, 0);
    pm_score_params_default(&p);
    p.w_retx = 7;
    m = pm_model_build(t, &p);
    {
        pm_render_opts o = { .file = "f.pcap", .top = 5, .lang = PM_LANG_ES,
                             .wireshark_version = "4.0.17", .plugin_version = "9.9.9",
                             .params = &p };

        CU_ASSERT(pm_render_json(m, &o, out));
    }
    CU_ASSERT(json_valid(out->str));
    CHECK_HAS(out->str, "\"bytes_total\": 300,");
    CHECK_HAS(out->str, "\"capture_start\": \"1970-01-01T00:00:00.001000Z\",");
    CHECK_HAS(out->str, "\"capture_end\": \"1970-01-01T00:00:00.003000Z\",");
    CHECK_HAS(out->str, "\"wireshark_version\": \"4.0.17\",");
    CHECK_HAS(out->str, "\"plugin_version\": \"9.9.9\",");
    CHECK_HAS(out->str, "\"language\": \"es\",");
    CHECK_HAS(out->str, "\"weight_retransmission\": 7,");
    CHECK_HAS(out->str, "\"cap_score\": 80,");
    CHECK_HAS(out->str, "\"top_by_bytes\": [");
    CHECK_HAS(out->str, "\"detectors\": [\n        \"tcp_health\"\n      ]");

    /* The TCP detector off: no tcp_health section, no versions given -> null. */
    g_string_truncate(out, 0);
    {
        pm_render_opts o = { .file = "f.pcap", .top = 5, .no_tcp_health = true };

        CU_ASSERT(pm_render_json(m, &o, out));
    }
    CU_ASSERT(json_valid(out->str));
    CU_ASSERT_PTR_NULL(strstr(out->str, "\"tcp_health\":"));
    CHECK_HAS(out->str, "\"wireshark_version\": null,");
    CHECK_HAS(out->str, "\"detectors\": []");
    CHECK_HAS(out->str, "\"weight_retransmission\": 12,");
    g_string_free(out, TRUE);
    pm_model_free(m);

    /* No packets: no capture times. */
    pm_table_reset(t);
    m = pm_model_build(t, &p);
    out = g_string_new(NULL);
    {
        pm_render_opts o = { .file = NULL, .top = 5 };

        CU_ASSERT(pm_render_json(m, &o, out));
    }
    CHECK_HAS(out->str, "\"capture_start\": null,");
    CHECK_HAS(out->str, "\"capture_end\": null,");
    g_string_free(out, TRUE);
    pm_model_free(m);
    pm_table_free(t);
}

static void
test_json_order(void)
{
    pm_table *t = seven_convs(true);
    pm_model *m = pm_model_build(t, &defaults);
    pm_render_opts o = { .file = "x.pcap", .top = 2, .lang = PM_LANG_EN, .color = false };
    GString *out = g_string_new(NULL);
    const char *sev, *pk, *prev;

    CU_ASSERT(pm_render_json(m, &o, out));
    CU_ASSERT(json_valid(out->str));
    CHECK_HAS(out->str, "\"conversations_total\": 7");
    sev = strstr(out->str, "\"top_by_severity\"");
    pk = strstr(out->str, "\"top_by_packets\"");
    CU_ASSERT_PTR_NOT_NULL_FATAL(sev);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pk);
    prev = sev;
    for (int i = 0; i < NCONV; i++) {
        char *needle = g_strdup_printf("\"flow\": \"%s\"", sev_flows[i]);
        const char *at = strstr(prev, needle);
        CU_ASSERT(at != NULL && at < pk);
        if (at)
            prev = at + 1;
        g_free(needle);
    }
    prev = pk;
    for (int i = 0; i < NCONV; i++) {
        char *needle = g_strdup_printf("\"flow\": \"%s\"", pkt_flows[i]);
        const char *at = strstr(prev, needle);
        CU_ASSERT(at != NULL);
        if (at)
            prev = at + 1;
        g_free(needle);
    }
    /* S5, HIGH 27 with Z=3 -> reason "zero window (3)". */
    CHECK_HAS(out->str, "\"zero window (3)\"");
    g_string_free(out, TRUE);
    pm_model_free(m);
    pm_table_free(t);
}

/* ================================================================ report */

static char *
render(const pm_model *m, const char *file, unsigned top, pm_lang lang, bool color)
{
    pm_render_opts o = { .file = file, .top = top, .lang = lang, .color = color };
    GString *out = g_string_new(NULL);

    pm_render_report(m, &o, out);
    return g_string_free(out, FALSE);
}

/* The seed README's Spanish report, line by line, for its counts. */
static void
test_report_spanish_seed(void)
{
    pm_table *t = ecn_table();
    pm_model *m = pm_model_build(t, &defaults);
    char *r = render(m, "captures/tcp-ecn-sample.pcap", 5, PM_LANG_ES, false);

    CU_ASSERT(g_str_has_prefix(r,
        "Iniciando an\xc3\xa1lisis del archivo: captures/tcp-ecn-sample.pcap\n\n"
        "--- Reporte del Detector de Salud TCP ---\n"
        "Archivo: captures/tcp-ecn-sample.pcap | Paquetes: 479 | "
        "Duraci\xc3\xb3n: 59 ms | Tasa: 16.13 Mbps | Schema: v1\n"
        "Se encontraron 1 conversaciones TCP distintas.\n"));
    CHECK_HAS(r, "conversaciones por SEVERIDAD:\n");
    CHECK_HAS(r, "\n  - [MEDIA | score=80] 1.1.23.3:46557 <-> 1.1.12.1:80/TCP\n"
                 "    -> C->S: Pkts: 309, Retrans.: 1, Fuera de Orden: 0, Ventana0: 0, "
                 "DupACK(ev" GE "3): 29\n"
                 "    <- S->C: Pkts: 170, Retrans.: 0, Fuera de Orden: 0, Ventana0: 0, "
                 "DupACK(ev" GE "3): 0\n"
                 "    Razones: eventos de ACK duplicado (" GE "3) (29)\n");
    CU_ASSERT(g_str_has_suffix(r, "\n--- AN\xc3\x81LISIS COMPLETADO ---\n"));
    CU_ASSERT_PTR_NULL(strchr(r, '\x1b'));
    CU_ASSERT(g_utf8_validate(r, -1, NULL));
    g_free(r);
    pm_model_free(m);
    pm_table_free(t);
}

static void
test_report_english(void)
{
    pm_table *t = ecn_table();
    pm_model *m = pm_model_build(t, &defaults);
    char *r = render(m, "captures/tcp-ecn-sample.pcap", 5, PM_LANG_EN, false);

    CU_ASSERT(g_str_has_prefix(r,
        "Starting analysis of file: captures/tcp-ecn-sample.pcap\n\n"
        "--- TCP Health Detector Report ---\n"
        "File: captures/tcp-ecn-sample.pcap | Packets: 479 | "
        "Duration: 59 ms | Rate: 16.13 Mbps | Schema: v1\n"
        "Found 1 distinct TCP conversations.\n"));
    CHECK_HAS(r, "conversations by SEVERITY:\n");
    CHECK_HAS(r, "\n  - [MEDIUM | score=80] 1.1.23.3:46557 <-> 1.1.12.1:80/TCP\n");
    CHECK_HAS(r, "    Reasons: duplicate ACK events (" GE "3) (29)\n");
    CU_ASSERT(g_str_has_suffix(r, "\n--- ANALYSIS COMPLETE ---\n"));
    CU_ASSERT_PTR_NULL(strchr(r, '\x1b'));
    g_free(r);
    pm_model_free(m);
    pm_table_free(t);
}

static void
test_report_colour(void)
{
    pm_table *t = seven_convs(false);
    pm_model *m = pm_model_build(t, &defaults);
    char *plain = render(m, "x.pcap", NCONV, PM_LANG_EN, false);
    char *col = render(m, "x.pcap", NCONV, PM_LANG_EN, true);

    CU_ASSERT_PTR_NULL(strchr(plain, '\x1b'));
    CHECK_HAS(plain, "  - [HIGH | score=27] 10.0.0.5:1000 <-> 10.0.0.1:80/TCP\n");
    /* Coloured: each of the 7 level tags is wrapped in an SGR sequence and
     * a reset; the text itself is unchanged. */
    CU_ASSERT_PTR_NOT_NULL(strstr(col, "\x1b["));
    CU_ASSERT_EQUAL(count_substr(col, "\x1b[0m"), NCONV);
    CU_ASSERT_EQUAL(count_substr(col, "\x1b["), 2 * NCONV);
    CHECK_HAS(col, "mHIGH\x1b[0m | score=27] 10.0.0.5:1000 <-> 10.0.0.1:80/TCP\n");
    g_free(plain);
    g_free(col);
    pm_model_free(m);
    pm_table_free(t);
}

static void
test_report_top(void)
{
    pm_table *t = seven_convs(false);
    pm_model *m = pm_model_build(t, &defaults);
    char *r2 = render(m, "x.pcap", 2, PM_LANG_EN, false);
    char *r0 = render(m, "x.pcap", 0, PM_LANG_EN, false);
    char *r9 = render(m, "x.pcap", 9, PM_LANG_EN, false);

    /* top=2: the two most severe (S3 80, S5 27), nothing else. */
    CU_ASSERT_EQUAL(count_substr(r2, "\n  - ["), 2);
    CHECK_HAS(r2, "Top 2 conversations by SEVERITY:\n");
    CHECK_HAS(r2, "  - [MEDIUM | score=80] 10.0.0.3:1000 <-> 10.0.0.1:80/TCP\n");
    CHECK_HAS(r2, "  - [HIGH | score=27] 10.0.0.5:1000 <-> 10.0.0.1:80/TCP\n");
    /* ... and 10.0.0.10 shows up only in the conversations view below. */
    CU_ASSERT(strstr(r2, "10.0.0.10:1000") > strstr(r2, "Top 2 conversations by PACKETS:\n"));
    CU_ASSERT(strstr(r2, "10.0.0.3:1000") < strstr(r2, "10.0.0.5:1000"));
    /* Conversations view: S2 (3 c2s + 97 s2c) and S1 (100 c2s), 100 bytes
     * a packet; both 100 packets / 10000 bytes, so the flow orders them
     * ("10.0.0.10" < "10.0.0.9"). */
    CHECK_HAS(r2, "\nTop 2 conversations by PACKETS:\n"
                  "  - 10.0.0.10:1000 <-> 10.0.0.1:80/TCP: 100 packets (C->S 3 / S->C 97), "
                  "10000 bytes (C->S 300 / S->C 9700)\n"
                  "  - 10.0.0.9:1000 <-> 10.0.0.1:80/TCP: 100 packets (C->S 100 / S->C 0), "
                  "10000 bytes (C->S 10000 / S->C 0)\n\n"
                  "Top 2 conversations by BYTES:\n"
                  "  - 10.0.0.10:1000 <-> 10.0.0.1:80/TCP: 100 packets");
    CHECK_HAS(r2, "Found 7 distinct TCP conversations.\n");
    /* top=0: no conversation listed. */
    CU_ASSERT_EQUAL(count_substr(r0, "\n  - ["), 0);
    /* top larger than the table: all 7, in severity order. */
    CU_ASSERT_EQUAL(count_substr(r9, "\n  - ["), NCONV);
    /* The header names the N asked for, as the original tool did ("Top 5"
     * above a single conversation). */
    CHECK_HAS(r9, "Top 9 conversations by SEVERITY:\n");
    {
        const char *prev = r9;
        for (int i = 0; i < NCONV; i++) {
            const char *at = strstr(prev, sev_flows[i]);
            CU_ASSERT(at != NULL);
            if (at)
                prev = at + 1;
        }
    }
    g_free(r2);
    g_free(r0);
    g_free(r9);
    pm_model_free(m);
    pm_table_free(t);
}

/* A hostile file name cannot reach the terminal as control bytes. */
static void
test_report_file_sanitised(void)
{
    pm_table *t = ecn_table();
    pm_model *m = pm_model_build(t, &defaults);
    const char *evil = "x\x1b[2J\x1b]0;pwn\x07\xc2\x9b" "1m\ny.pcap";
    char *r = render(m, evil, 5, PM_LANG_EN, false);
    char *rc = render(m, evil, 5, PM_LANG_EN, true);
    bool raw_ctl = false;

    CU_ASSERT_PTR_NULL(strchr(r, '\x1b'));
    CU_ASSERT_PTR_NULL(strchr(r, '\x07'));
    CU_ASSERT_PTR_NULL(strstr(r, "\xc2\x9b"));
    for (const char *c = r; *c; c++)
        if ((unsigned char)*c < 0x20 && *c != '\n')
            raw_ctl = true;
    CU_ASSERT(!raw_ctl);
    CHECK_HAS(r, "Starting analysis of file: x?[2J?]0;pwn??1m?y.pcap\n");
    CHECK_HAS(r, "File: x?[2J?]0;pwn??1m?y.pcap | ");
    /* With colour on, the only ESCs are the colour codes of the one row. */
    CU_ASSERT_EQUAL(count_substr(rc, "\x1b"), 2);
    CU_ASSERT_PTR_NULL(strchr(rc, '\x07'));
    g_free(r);
    g_free(rc);
    pm_model_free(m);
    pm_table_free(t);
}

static void
test_report_empty(void)
{
    pm_table *t = pm_table_new();
    pm_model *m = pm_model_build(t, &defaults);
    char *en = render(m, "e.pcap", 5, PM_LANG_EN, true);
    char *es = render(m, "e.pcap", 5, PM_LANG_ES, false);

    CHECK_HAS(en, "File: e.pcap | Packets: 0 | Duration: 0 ms | ");
    CU_ASSERT_EQUAL(count_substr(en, "\n  - ["), 0);
    CU_ASSERT_PTR_NULL(strchr(en, '\x1b'));
    CHECK_HAS(es, "Archivo: e.pcap | Paquetes: 0 | Duraci\xc3\xb3n: 0 ms | ");
    g_free(en);
    g_free(es);
    pm_model_free(m);
    pm_table_free(t);
}

/* ============================================================ output */

/* Files in dir other than the given one (the temporary files left). */
static unsigned
other_files(const char *dir, const char *keep)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *n;
    unsigned k = 0;

    while (d && (n = g_dir_read_name(d)))
        k += strcmp(n, keep) != 0;
    if (d)
        g_dir_close(d);
    return k;
}

/* dir/name holds want, and dir nothing else (no temporary file left). */
static void
check_only_file(const char *dir, const char *name, const char *want)
{
    char *path = g_build_filename(dir, name, NULL), *text = NULL;

    CU_ASSERT_TRUE(g_file_get_contents(path, &text, NULL, NULL));
    CU_ASSERT_STRING_EQUAL(text ? text : "", want);
    CU_ASSERT_EQUAL(other_files(dir, name), 0);
    g_free(text);
    g_free(path);
}

/* A complete output replaces the file; an incomplete one (the caller says
 * not ok) leaves the old file as it was; neither leaves a temporary file
 * behind; a folder that does not exist fails at open with errno. */
static void
test_output_atomic(void)
{
    char *dir = g_dir_make_tmp("pm-output-XXXXXX", NULL);
    char *path, *missing;
    pm_output o;

    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    path = g_build_filename(dir, "out.json", NULL);
    CU_ASSERT_TRUE_FATAL(pm_output_open(&o, path));
    CU_ASSERT_PTR_NOT_NULL(o.f);
    CU_ASSERT_EQUAL(other_files(dir, "out.json"), 1);     /* the temporary file */
    CU_ASSERT_FALSE(g_file_test(path, G_FILE_TEST_EXISTS));
    fputs("first", o.f);
    CU_ASSERT_TRUE(pm_output_close(&o, true));
    check_only_file(dir, "out.json", "first");

    CU_ASSERT_TRUE_FATAL(pm_output_open(&o, path));
    fputs("second, cut short", o.f);
    CU_ASSERT_FALSE(pm_output_close(&o, false));
    check_only_file(dir, "out.json", "first");

    missing = g_build_filename(dir, "no-such-folder", "out.json", NULL);
    errno = 0;
    CU_ASSERT_FALSE(pm_output_open(&o, missing));
    CU_ASSERT_EQUAL(errno, ENOENT);
    CU_ASSERT_PTR_NULL(o.f);

    g_unlink(path);
    g_rmdir(dir);
    g_free(missing);
    g_free(path);
    g_free(dir);
}

/* ================================================================== main */

typedef struct {
    const char *name;
    CU_TestFunc fn;
} test_def;

static int
add_suite(const char *name, const test_def *tests, size_t n)
{
    CU_pSuite s = CU_add_suite(name, NULL, NULL);

    if (!s)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!CU_add_test(s, tests[i].name, tests[i].fn))
            return -1;
    return 0;
}

#define SUITE(name, arr) add_suite(name, arr, G_N_ELEMENTS(arr))

int
main(void)
{
    static const test_def formula[] = {
        { "k = max(P/1000, 1)", test_score_k },
        { "round half away from zero", test_score_round_half },
        { "P = 0", test_score_p_zero },
        { "default params", test_params_default },
    };
    static const test_def levels[] = {
        { "score 99/100, 49/50, 0/1", test_level_score_thresholds },
        { "R 19/20, 4/5", test_level_retx_thresholds },
        { "Z 0/1/2", test_level_zero_window_thresholds },
        { "D 4/5", test_level_dup_ack_thresholds },
        { "O% = 2 vs > 2, O 2 vs 3", test_level_out_of_order_thresholds },
    };
    static const test_def cap[] = {
        { "cap R<3 and Z=0", test_cap },
        { "dup ACKs or reordering alone never HIGH", test_cap_dup_ack_or_reorder_alone },
        { "score not above 80 is kept", test_cap_keeps_score_not_above_80 },
    };
    static const test_def examples[] = {
        { "SCORING.md worked examples", test_worked_examples },
    };
    static const test_def reasons[] = {
        { "retransmissions", test_reasons_retx },
        { "zero window", test_reasons_zero_window },
        { "duplicate ACKs only vs otherwise", test_reasons_dup_ack },
        { "out of order formatting", test_reasons_out_of_order },
        { "order of several reasons", test_reasons_order },
        { "no reasons", test_reasons_none },
        { "level names", test_level_names },
    };
    static const test_def events[] = {
        { "retransmission / fast / spurious", test_events_retransmission },
        { "duplicate_ack_num", test_events_dup_ack },
        { "RST and the rest", test_events_other },
    };
    static const test_def table[] = {
        { "client from first SYN", test_table_direction_syn_first },
        { "client from first packet", test_table_direction_midstream },
        { "late SYN swaps sides and counters", test_table_direction_late_syn_swaps },
        { "late SYN from the client swaps nothing", test_table_direction_late_syn_same_side },
        { "SYN/ACK then SYN", test_table_direction_synack_then_syn },
        { "direction = source is the client after the add; tree marks", test_table_direction_after_add },
        { "per-direction counters", test_table_counters },
        { "evidence frames and filters", test_table_evidence },
        { "summary", test_table_summary },
        { "extreme time stamps", test_table_extreme_times },
        { "reset", test_table_reset },
        { "10,000 streams", test_table_many_streams },
        { "streams sharing their low bits", test_table_colliding_streams },
        { "stream 0", test_table_stream_zero },
        { "capture duplicates", test_capture_duplicates },
        { "duplicate ring against a model", test_dup_ring_model },
        { "duplicate ring against a model, crowded index", test_dup_ring_model_crowded },
        { "duplicate ring's reach", test_dup_reach },
        { "duplicate ring's reach, crowded index", test_dup_reach_crowded },
        { "only flagged packets raise the score", test_may_raise },
        { "duplicate-ACK runs with copies", test_dup_ack_runs },
        { "handshake outcomes", test_handshake_outcomes },
        { "RTT routing and iRTT", test_rtt_routing },
        { "connection signal scores", test_signal_scores },
    };
    static const test_def flow[] = {
        { "IPv4", test_flow_ipv4 },
        { "IPv6", test_flow_ipv6 },
    };
    static const test_def sorting[] = {
        { "pm_compare_severity", test_compare_severity },
        { "model order", test_model_order },
        { "model deterministic", test_model_deterministic },
        { "same flow, two streams", test_model_same_flow_two_streams },
        { "empty model", test_model_empty },
        { "model: top k of seven", test_model_top_k_seven },
        { "RTT: first sample kept inline", test_rtt_first_sample_inline },
        { "RTT: small bucket list is exact", test_rtt_small_list_exact },
        { "model: top k with ties", test_model_top_k_ties },
    };
    static const test_def sanitize[] = {
        { "control characters", test_sanitize_controls },
        { "ordinary text kept", test_sanitize_keeps_text },
        { "invalid UTF-8", test_sanitize_invalid_utf8 },
    };
    static const test_def json[] = {
        { "checker sanity", test_json_checker },
        { "writer matches json_dumper", test_json_writer_matches_json_dumper },
        { "fixed3 writes what printf %.3f writes", test_json_fixed3_matches_printf },
        { "writer misuse", test_json_writer_misuse },
        { "tcp-ecn document", test_json_ecn },
        { "Spanish", test_json_spanish },
        { "escaping of the file name", test_json_escaping },
        { "empty table, file null", test_json_empty_and_null_file },
        { "order of both lists", test_json_order },
        { "summary: how it was made", test_json_summary_how_made },
    };
    static const test_def report[] = {
        { "Spanish (seed README)", test_report_spanish_seed },
        { "English", test_report_english },
        { "colour only when asked", test_report_colour },
        { "top N", test_report_top },
        { "file name sanitised", test_report_file_sanitised },
        { "empty table", test_report_empty },
    };
    static const test_def output[] = {
        { "complete or not at all", test_output_atomic },
    };
    unsigned failures;

    pm_score_params_default(&defaults);
    if (CU_initialize_registry() != CUE_SUCCESS)
        return CU_get_error();
    if (SUITE("output file", output) ||
        SUITE("score: formula", formula) || SUITE("score: levels", levels) ||
        SUITE("score: cap", cap) || SUITE("score: worked examples", examples) ||
        SUITE("reasons", reasons) || SUITE("events", events) ||
        SUITE("table", table) || SUITE("flow", flow) || SUITE("sorting", sorting) ||
        SUITE("sanitize", sanitize) || SUITE("json", json) || SUITE("report", report)) {
        CU_cleanup_registry();
        return CU_get_error() ? (int)CU_get_error() : 1;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failures = CU_get_number_of_failures();
    CU_cleanup_registry();
    return failures != 0;
}
