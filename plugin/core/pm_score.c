/* pm_score.c
 * Scoring contract v1: the one place where a conversation's counters
 * become a score, a level and its reasons.
 *
 * The score is computed with integers only. With E = 12R + 9Z + 4D:
 *   P <= 1000 (k = 1):  score = (E*P + 200*O) / P
 *   P  > 1000:          score = (1000*E + 200*O) / P
 * so "round half away from zero" is exact at every .5 boundary instead of
 * depending on how 2*100*O/P happens to round in binary floating point.
 *
 * Copyright (c) 2026 The PacketMancer authors
 * SPDX-License-Identifier: MIT
 */

#include "pm_score.h"
#include "pm_sketch.h"

#include <stdio.h>
#include <string.h>

typedef unsigned __int128 u128;

void
pm_score_params_default(pm_score_params *p)
{
    p->w_retx = 12;
    p->w_zero_window = 9;
    p->w_dup_ack = 4;
    p->w_out_of_order = 2;
    p->high_score = 100;
    p->high_retx = 20;
    p->high_zero_window = 2;
    p->medium_score = 50;
    p->medium_retx = 5;
    p->medium_zero_window = 1;
    p->medium_dup_ack = 5;
    p->ooo_percent = 2;
    p->ooo_min = 3;
    p->reason_dup_ack = 3;
    p->cap_retx = 3;
    p->cap_score = 80;
    p->w_refused = 20;
    p->w_no_answer = 20;
    p->w_slow_rtt = 20;
    p->slow_rtt_ms = 500;
    p->slow_rtt_min_samples = 10;
}

void
pm_conv_totals(const pm_conv *c, const pm_score_params *p, pm_totals *out)
{
    const pm_dir_counters *a = &c->dir[PM_C2S], *b = &c->dir[PM_S2C];

    out->handshake = pm_conv_handshake(c);
    out->syns = c->syns;
    out->rtt_p95_ms = -1.0;
    out->rtt_samples = 0;
    for (int d = 0; d < 2; d++) {
        uint64_t n = pm_conv_rtt_count(c, d);
        pm_sketch scratch;
        double p95;

        if (n == 0 || n < (p ? p->slow_rtt_min_samples : 1))
            continue;
        /* A p95 never exceeds the max: a direction whose slowest sample
         * is within the limit cannot be slow, and its percentile (a
         * sketch rebuilt and searched, scored on every packet by the
         * stats tree) is not needed. */
        if (p && !(pm_conv_rtt_max(c, d) > (double)p->slow_rtt_ms))
            continue;
        p95 = pm_sketch_quantile(pm_conv_sketch(c, d, &scratch), 0.95);
        if (p95 > out->rtt_p95_ms) {
            out->rtt_p95_ms = p95;
            out->rtt_samples = n;
        }
    }

    out->packets = a->packets + b->packets;
    out->retx = (uint64_t)a->retransmissions + b->retransmissions;
    out->zero_window = (uint64_t)a->zero_window_events + b->zero_window_events;
    out->dup_ack = (uint64_t)a->duplicate_ack_events + b->duplicate_ack_events;
    out->out_of_order = (uint64_t)a->out_of_order + b->out_of_order;
}

static uint32_t
raw_score(const pm_score_params *p, const pm_totals *t)
{
    u128 e = (u128)p->w_retx * t->retx + (u128)p->w_zero_window * t->zero_window +
             (u128)p->w_dup_ack * t->dup_ack;
    u128 num, den, q;

    if (t->packets == 0) {
        q = e; /* O% is 0 by definition and k is 1 */
    } else {
        den = t->packets;
        num = (t->packets <= 1000 ? e * t->packets : e * 1000) +
              (u128)100 * p->w_out_of_order * t->out_of_order;
        q = (2 * num + den) / (2 * den); /* half away from zero; all >= 0 */
    }
    return q > UINT32_MAX ? UINT32_MAX : (uint32_t)q;
}

/* O% > threshold and O >= minimum, in integers: 100*O > pct*P. */
static bool
ooo_alarm(const pm_score_params *p, const pm_totals *t)
{
    return t->packets > 0 && t->out_of_order >= p->ooo_min &&
           (u128)100 * t->out_of_order > (u128)p->ooo_percent * t->packets;
}

static bool
slow_rtt(const pm_score_params *p, const pm_totals *t)
{
    return t->rtt_samples >= p->slow_rtt_min_samples && t->rtt_samples > 0 &&
           t->rtt_p95_ms > (double)p->slow_rtt_ms;
}

/* Connection signals add a fixed amount: they are facts about the
 * connection, not rates, so they do not scale with its packets. */
static uint32_t
signal_score(const pm_score_params *p, const pm_totals *t)
{
    uint64_t s = 0;

    if (t->handshake == PM_HS_REFUSED)
        s += p->w_refused;
    else if (t->handshake == PM_HS_NO_ANSWER)
        s += p->w_no_answer;
    if (slow_rtt(p, t))
        s += p->w_slow_rtt;
    return s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
}

pm_verdict
pm_score(const pm_score_params *p, const pm_totals *t)
{
    pm_verdict v = { 0, PM_LEVEL_OK, 0 };
    uint32_t sig = signal_score(p, t);

    v.score = raw_score(p, t);
    v.score = v.score > UINT32_MAX - sig ? UINT32_MAX : v.score + sig;

    if (v.score >= p->high_score || t->retx >= p->high_retx ||
        t->zero_window >= p->high_zero_window)
        v.level = PM_LEVEL_HIGH;
    else if (v.score >= p->medium_score || t->retx >= p->medium_retx ||
             t->zero_window >= p->medium_zero_window ||
             t->dup_ack >= p->medium_dup_ack || ooo_alarm(p, t))
        v.level = PM_LEVEL_MEDIUM;
    else if (v.score >= 1)
        v.level = PM_LEVEL_LOW;

    /* Few false alarms: without real loss or a stalled receiver, duplicate
     * ACKs and reordering alone never make a conversation HIGH. */
    if (v.level == PM_LEVEL_HIGH && t->retx < p->cap_retx && t->zero_window == 0) {
        v.level = PM_LEVEL_MEDIUM;
        if (v.score > p->cap_score)
            v.score = p->cap_score;
    }

    if (t->retx >= p->high_retx)
        v.reasons |= PM_REASON_HIGH_RETX;
    else if (t->retx >= p->medium_retx)
        v.reasons |= PM_REASON_MODERATE_RETX;
    if (t->zero_window >= 1)
        v.reasons |= PM_REASON_ZERO_WINDOW;
    if (t->dup_ack >= p->reason_dup_ack)
        v.reasons |= (t->retx == 0 && t->zero_window == 0) ? PM_REASON_DUP_ACK_ONLY
                                                            : PM_REASON_DUP_ACK;
    if (ooo_alarm(p, t))
        v.reasons |= PM_REASON_OUT_OF_ORDER;
    if (t->handshake == PM_HS_REFUSED && p->w_refused)
        v.reasons |= PM_REASON_REFUSED;
    if (t->handshake == PM_HS_NO_ANSWER && p->w_no_answer)
        v.reasons |= PM_REASON_NO_ANSWER;
    if (slow_rtt(p, t) && p->w_slow_rtt)
        v.reasons |= PM_REASON_SLOW_RTT;
    return v;
}

const char *
pm_level_name(pm_level level, pm_lang lang)
{
    static const char *const en[] = { "OK", "LOW", "MEDIUM", "HIGH" };
    static const char *const es[] = { "OK", "BAJA", "MEDIA", "ALTA" };

    if ((unsigned)level > PM_LEVEL_HIGH)
        return "?";
    return lang == PM_LANG_ES ? es[level] : en[level];
}

void
pm_pct_text(uint64_t x, uint64_t d, char *buf, size_t len)
{
    /* Tenths of a percent, rounded half up like the score, and printed
     * without printf's locale: the wording is a contract, "3,0%" under a
     * German locale would break it. */
    u128 tenths = d ? ((u128)2000 * x + d) / (2 * (u128)d) : 0;

    snprintf(buf, len, "%llu.%llu", (unsigned long long)(tenths / 10),
             (unsigned long long)(tenths % 10));
}

unsigned
pm_reasons(const pm_verdict *v, const pm_totals *t, pm_lang lang,
           pm_reason_cb emit, void *user)
{
    /* Wording is part of the contract: scripts grep for it. The Spanish
     * column is the original tool's. */
    static const char *const fmt[PM_REASON_MAX][2] = {
        { "high retransmissions (%llu)", "retransmisiones altas (%llu)" },
        { "moderate retransmissions (%llu)", "retransmisiones moderadas (%llu)" },
        { "zero window (%llu)", "ventana cero (%llu)" },
        { "many duplicate ACKs without retransmissions (%llu)",
          "muchos dupACK sin retransmisiones (%llu)" },
        { "duplicate ACK events (\xe2\x89\xa5" "3) (%llu)",
          "eventos de ACK duplicado (\xe2\x89\xa5" "3) (%llu)" },
        { "out of order %s%% (~%llu)", "fuera de orden %s%% (~%llu)" },
        { "connection refused (RST to SYN)", "conexi\xc3\xb3n rechazada (RST al SYN)" },
        { "no answer to SYN (%llu SYN)", "SYN sin respuesta (%llu SYN)" },
        { "slow RTT p95 %s ms (%llu samples)", "RTT lento p95 %s ms (%llu muestras)" },
    };
    const unsigned long long arg[PM_REASON_MAX] = {
        t->retx, t->retx, t->zero_window, t->dup_ack, t->dup_ack, t->out_of_order,
        0, t->syns, t->rtt_samples,
    };
    char buf[128];
    unsigned n = 0;
    int l = lang == PM_LANG_ES ? 1 : 0;

    for (int i = 0; i < PM_REASON_MAX; i++) {
        if (!(v->reasons & (1u << i)))
            continue;
        if (i == 5) {
            char pct[32];

            pm_pct_text(t->out_of_order, t->packets, pct, sizeof pct);
            snprintf(buf, sizeof buf, fmt[i][l], pct, arg[i]);
        } else if (i == 8) {
            char ms[G_ASCII_DTOSTR_BUF_SIZE];

            g_ascii_formatd(ms, sizeof ms, "%.1f", t->rtt_p95_ms);
            snprintf(buf, sizeof buf, fmt[i][l], ms, arg[i]);
        } else if (i == 6) {
            snprintf(buf, sizeof buf, "%s", fmt[i][l]);
        } else {
            snprintf(buf, sizeof buf, fmt[i][l], arg[i]);
        }
        emit(buf, user);
        n++;
    }
    return n;
}

struct join_ctx {
    char *buf;
    size_t len;
    bool first;
};

static void
join_one(const char *text, void *user)
{
    struct join_ctx *j = user;

    if (!j->first)
        g_strlcat(j->buf, "; ", j->len);
    g_strlcat(j->buf, text, j->len);
    j->first = false;
}

void
pm_reasons_join(const pm_verdict *v, const pm_totals *t, pm_lang lang,
                char *buf, size_t len)
{
    struct join_ctx j = { buf, len, true };

    if (len == 0)
        return;
    buf[0] = '\0';
    pm_reasons(v, t, lang, join_one, &j);
}

int
pm_compare_severity(uint32_t score_a, const char *flow_a,
                    uint32_t score_b, const char *flow_b)
{
    if (score_a != score_b)
        return score_a > score_b ? -1 : 1;
    return strcmp(flow_a, flow_b);
}
