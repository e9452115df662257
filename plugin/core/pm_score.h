/* pm_score.h
 * Scoring contract v1 (docs/SCORING.md): score, level, cap and reasons of a
 * TCP conversation from its counters.
 *
 * Copyright (c) 2026 The PacketMancer authors
 * SPDX-License-Identifier: MIT
 */

#ifndef PM_SCORE_H
#define PM_SCORE_H

#include "pm_core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pm_level {
    PM_LEVEL_OK = 0,
    PM_LEVEL_LOW = 1,
    PM_LEVEL_MEDIUM = 2,
    PM_LEVEL_HIGH = 3,
} pm_level;

typedef enum pm_lang {
    PM_LANG_EN = 0,
    PM_LANG_ES = 1,
} pm_lang;

/* Every number of SCORING.md, so each can be a Wireshark preference.
 * pm_score_params_default() gives the contract's defaults. */
typedef struct pm_score_params {
    unsigned w_retx;              /* 12 */
    unsigned w_zero_window;       /* 9 */
    unsigned w_dup_ack;           /* 4 */
    unsigned w_out_of_order;      /* 2, per percentage point */
    unsigned high_score;          /* 100 */
    unsigned high_retx;           /* 20 */
    unsigned high_zero_window;    /* 2 */
    unsigned medium_score;        /* 50 */
    unsigned medium_retx;         /* 5 */
    unsigned medium_zero_window;  /* 1 */
    unsigned medium_dup_ack;      /* 5 */
    unsigned ooo_percent;         /* 2: O% must be above this ... */
    unsigned ooo_min;             /* 3: ... with at least this many */
    unsigned reason_dup_ack;      /* 3 */
    unsigned cap_retx;            /* 3: HIGH needs R >= this (or Z > 0) */
    unsigned cap_score;           /* 80 */
    /* Connection signals (SCORING.md v1 extension; none of its worked
     * examples has one, so they keep their values). */
    unsigned w_refused;           /* 20: SYN answered by RST */
    unsigned w_no_answer;         /* 20: SYN never answered */
    unsigned w_slow_rtt;          /* 20: RTT p95 above slow_rtt_ms */
    unsigned slow_rtt_ms;         /* 500 */
    unsigned slow_rtt_min_samples;/* 10 */
} pm_score_params;

void pm_score_params_default(pm_score_params *p);

/* The four numbers the contract scores, over both directions. */
typedef struct pm_totals {
    uint64_t packets;        /* P */
    uint64_t retx;           /* R */
    uint64_t zero_window;    /* Z */
    uint64_t dup_ack;        /* D */
    uint64_t out_of_order;   /* O */
    pm_handshake handshake;
    uint32_t syns;           /* SYNs sent (first and retries) */
    double rtt_p95_ms;       /* worst direction's p95 among those with
                                enough samples whose slowest sample is
                                over slow_rtt_ms (only they can be
                                slow); < 0 when none is */
    uint64_t rtt_samples;    /* samples behind rtt_p95_ms */
} pm_totals;

/* Fills out from c; p decides which RTT samples count (min samples). */
void pm_conv_totals(const pm_conv *c, const pm_score_params *p, pm_totals *out);

enum {
    PM_REASON_HIGH_RETX     = 1u << 0,
    PM_REASON_MODERATE_RETX = 1u << 1,
    PM_REASON_ZERO_WINDOW   = 1u << 2,
    PM_REASON_DUP_ACK_ONLY  = 1u << 3,
    PM_REASON_DUP_ACK       = 1u << 4,
    PM_REASON_OUT_OF_ORDER  = 1u << 5,
    PM_REASON_REFUSED       = 1u << 6,
    PM_REASON_NO_ANSWER     = 1u << 7,
    PM_REASON_SLOW_RTT      = 1u << 8,
};
#define PM_REASON_MAX 9

typedef struct pm_verdict {
    uint32_t score;
    pm_level level;
    unsigned reasons;    /* PM_REASON_* */
} pm_verdict;

pm_verdict pm_score(const pm_score_params *p, const pm_totals *t);

/* 100*x/d to a tenth, half up, locale-free ("12.5"); "0.0" when d = 0.
 * Reasons of every detector print their shares with it. */
void pm_pct_text(uint64_t x, uint64_t d, char *buf, size_t len);

/* "HIGH"/"MEDIUM"/"LOW"/"OK" or "ALTA"/"MEDIA"/"BAJA"/"OK". */
const char *pm_level_name(pm_level level, pm_lang lang);

/* Writes the reasons of a verdict, in SCORING.md's order, as separate
 * NUL-terminated strings: calls emit(text, user) once per reason.
 * Returns how many were emitted. */
typedef void (*pm_reason_cb)(const char *text, void *user);
unsigned pm_reasons(const pm_verdict *v, const pm_totals *t, pm_lang lang,
                    pm_reason_cb emit, void *user);

/* All reasons joined with "; " into buf (empty string for none). */
void pm_reasons_join(const pm_verdict *v, const pm_totals *t, pm_lang lang,
                     char *buf, size_t len);

/* Ordering of SCORING.md: score descending, then flow ascending. */
int pm_compare_severity(uint32_t score_a, const char *flow_a,
                        uint32_t score_b, const char *flow_b);

#ifdef __cplusplus
}
#endif

#endif /* PM_SCORE_H */
