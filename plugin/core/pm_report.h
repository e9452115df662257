/* pm_report.h
 * The finished analysis (pm_model) and the two text outputs drawn from it:
 * the human report and the schema "v1" JSON document.
 *
 * A model is built once from a table when a report is drawn; the report
 * and the JSON read the same rows, so they cannot disagree.
 *
 * Copyright (c) 2026 The PacketMancer authors
 * SPDX-License-Identifier: MIT
 */

#ifndef PM_REPORT_H
#define PM_REPORT_H

#include "pm_core.h"
#include "pm_dns.h"
#include "pm_score.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PM_SCHEMA "v1"

typedef struct pm_row {
    const pm_conv *conv;
    pm_totals totals;
    pm_verdict verdict;
    char flow[PM_FLOW_STRLEN];
} pm_row;

#define PM_DNS_PAIR_STRLEN 104

typedef struct pm_dns_row {
    const pm_dns_pair *pair;
    pm_dns_verdict verdict;
    char name[PM_DNS_PAIR_STRLEN];
} pm_dns_row;

typedef struct pm_model {
    pm_summary summary;
    size_t n;
    pm_row *rows;             /* sorted by severity (SCORING.md order) */
    pm_row **by_packets;      /* same rows, most packets first */
    pm_row **by_bytes;        /* same rows, most bytes first */
    uint64_t per_level[4];    /* conversations per pm_level */
    /* Capture quality, over every conversation. */
    uint64_t capture_duplicates, tcp_frames, capture_gaps;
    /* DNS health, when the detector ran (pm_model_add_dns). */
    bool has_dns;
    size_t dns_n;
    pm_dns_row *dns_rows;     /* sorted by severity: score down, then name */
    uint64_t dns_per_level[4];
    pm_dns_params dns_params;
} pm_model;

pm_model *pm_model_build(const pm_table *t, const pm_score_params *p);
void pm_model_free(pm_model *m);
/* Scores and sorts the DNS pairs of d into m (the DNS section appears in
 * the outputs from then on). */
void pm_model_add_dns(pm_model *m, const pm_dns_table *d, const pm_dns_params *p);

typedef struct pm_render_opts {
    const char *file;   /* capture file name as given, or NULL if unknown */
    unsigned top;       /* conversations listed in each part of the report */
    pm_lang lang;
    bool color;         /* ANSI colours (only for a terminal) */
    /* How the report was made, for the JSON summary (NULL: unknown). */
    const char *wireshark_version;
    const char *plugin_version;
    const pm_score_params *params;  /* NULL: the contract's defaults */
    bool no_tcp_health;             /* the TCP detector was turned off */
} pm_render_opts;

void pm_render_report(const pm_model *m, const pm_render_opts *o, GString *out);

/* Appends the JSON document (pretty-printed, newline-terminated). Returns
 * false if the writer reported an internal inconsistency. */
bool pm_render_json(const pm_model *m, const pm_render_opts *o, GString *out);

/* One line on the capture itself ("capture duplicated every packet:
 * counts corrected; ..."), in the report's language. */
void pm_capture_verdict(const pm_model *m, pm_lang lang, GString *out);

/* The display filter that shows a conversation in Wireshark, or with
 * events=true only its packets that carry a counted event. */
#define PM_FILTER_STRLEN 96
void pm_conv_filter(const pm_conv *c, bool events, char *buf, size_t len);

/* A copy of s that is safe to print on a terminal: each control character
 * (C0, DEL, C1: what escape sequences are made of) becomes '?', and each
 * byte that is not valid UTF-8 becomes U+FFFD. Free with g_free. */
char *pm_sanitize_terminal(const char *s);

#ifdef __cplusplus
}
#endif

#endif /* PM_REPORT_H */
