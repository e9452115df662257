/* pm_report.c
 * Builds the finished model of an analysis and draws the human report and
 * the JSON document from it.
 *
 * Both outputs may carry text that came from outside the analysis (today
 * the capture's file name, later host and DNS names), so every such string
 * passes through pm_sanitize_terminal() for the report and json_text()
 * for the JSON.
 *
 * Copyright (c) 2026 The PacketMancer authors
 * SPDX-License-Identifier: MIT
 */

#include "pm_report.h"

#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "pm_json.h"

#include "pm_sketch.h"
#include "pm_state.h"

typedef unsigned __int128 u128_t;

static int
cmp_severity(const void *a, const void *b)
{
    const pm_row *x = a, *y = b;
    int c = pm_compare_severity(x->verdict.score, x->flow, y->verdict.score, y->flow);

    /* The same flow twice (a reused port pair) still sorts the same way. */
    if (c == 0 && x->conv->stream != y->conv->stream)
        c = x->conv->stream < y->conv->stream ? -1 : 1;
    return c;
}

/* Volume orders compare rows by value (the selection below keeps copies);
 * ties fall back to the flow, then the stream, so every order is total and
 * a partial selection lists exactly what a full sort would. */
static int
cmp_volume(const pm_row *x, const pm_row *y, uint64_t vx, uint64_t vy)
{
    int c;

    if (vx != vy)
        return vx > vy ? -1 : 1;
    c = strcmp(x->flow, y->flow);
    if (c == 0 && x->conv->stream != y->conv->stream)
        c = x->conv->stream < y->conv->stream ? -1 : 1;
    return c;
}

static int
cmp_packets(const void *a, const void *b)
{
    const pm_row *x = a, *y = b;

    return cmp_volume(x, y, x->totals.packets, y->totals.packets);
}

static uint64_t
conv_bytes(const pm_conv *c)
{
    return c->dir[PM_C2S].bytes + c->dir[PM_S2C].bytes;
}

static int
cmp_bytes(const void *a, const void *b)
{
    const pm_row *x = a, *y = b;

    return cmp_volume(x, y, conv_bytes(x->conv), conv_bytes(y->conv));
}

static int
cmp_packets_ptr(const void *a, const void *b)
{
    return cmp_packets(*(const pm_row *const *)a, *(const pm_row *const *)b);
}

static int
cmp_bytes_ptr(const void *a, const void *b)
{
    return cmp_bytes(*(const pm_row *const *)a, *(const pm_row *const *)b);
}

/* Partial selection: the first k elements under cmp among all those
 * offered, without sorting the rest. A huge capture (a million
 * conversations of a SYN flood) then costs O(n log k) and k rows of
 * memory for a top-k report, not a sort and a row per conversation.
 * The elements live in a max-heap whose root is the last one kept, so a
 * candidate is compared with the root only, and most are turned away at
 * once. */
typedef struct pm_topk {
    char *base;
    size_t size, k, n;
    int (*cmp)(const void *, const void *);
    char *tmp;
} pm_topk;

static void
topk_init(pm_topk *h, size_t k, size_t size, int (*cmp)(const void *, const void *))
{
    h->base = g_malloc((k ? k : 1) * size);
    h->tmp = g_malloc(size);
    h->size = size;
    h->k = k;
    h->n = 0;
    h->cmp = cmp;
}

#define TOPK_AT(h, i) ((h)->base + (i) * (h)->size)

static void
topk_swap(pm_topk *h, size_t i, size_t j)
{
    memcpy(h->tmp, TOPK_AT(h, i), h->size);
    memcpy(TOPK_AT(h, i), TOPK_AT(h, j), h->size);
    memcpy(TOPK_AT(h, j), h->tmp, h->size);
}

static void
topk_offer(pm_topk *h, const void *x)
{
    size_t i;

    if (h->n < h->k) {
        i = h->n++;
        memcpy(TOPK_AT(h, i), x, h->size);
        while (i > 0 && h->cmp(TOPK_AT(h, i), TOPK_AT(h, (i - 1) / 2)) > 0) {
            topk_swap(h, i, (i - 1) / 2);
            i = (i - 1) / 2;
        }
        return;
    }
    if (h->k == 0 || h->cmp(x, TOPK_AT(h, 0)) >= 0)
        return;
    memcpy(TOPK_AT(h, 0), x, h->size);
    for (i = 0;;) {
        size_t l = 2 * i + 1, r = l + 1, big = i;

        if (l < h->n && h->cmp(TOPK_AT(h, l), TOPK_AT(h, big)) > 0)
            big = l;
        if (r < h->n && h->cmp(TOPK_AT(h, r), TOPK_AT(h, big)) > 0)
            big = r;
        if (big == i)
            break;
        topk_swap(h, i, big);
        i = big;
    }
}

/* Sorts what was kept and hands its storage over. */
static void *
topk_finish(pm_topk *h, size_t *n)
{
    qsort(h->base, h->n, h->size, h->cmp);
    g_free(h->tmp);
    *n = h->n;
    return h->base;
}

pm_model *
pm_model_build(const pm_table *t, const pm_score_params *p)
{
    return pm_model_build_top(t, p, 0);
}

pm_model *
pm_model_build_top(const pm_table *t, const pm_score_params *p, size_t keep)
{
    pm_model *m = g_new0(pm_model, 1);
    pm_conv *const *convs = pm_table_convs(t);
    pm_topk sev, pk, by;
    size_t k;

    m->summary = *pm_table_summary(t);
    m->n = pm_table_count(t);
    k = keep && keep < m->n ? keep : m->n;
    /* Listing everything: one row per conversation, sorted in place. */
    if (k == m->n) {
        m->rows = g_new0(pm_row, m->n ? m->n : 1);
    } else {
        topk_init(&sev, k, sizeof(pm_row), cmp_severity);
        topk_init(&pk, k, sizeof(pm_row), cmp_packets);
        topk_init(&by, k, sizeof(pm_row), cmp_bytes);
    }

    for (size_t i = 0; i < m->n; i++) {
        pm_row row, *r = k == m->n ? &m->rows[i] : &row;

        r->conv = convs[i];
        pm_conv_totals(r->conv, p, &r->totals);
        r->verdict = pm_score(p, &r->totals);
        pm_conv_flow(r->conv, r->flow, sizeof r->flow);
        m->per_level[r->verdict.level]++;
        for (int d = 0; d < 2; d++) {
            const pm_dir_counters *c = &r->conv->dir[d];

            m->capture_duplicates += c->capture_duplicates;
            m->tcp_frames += c->packets + c->capture_duplicates;
            m->capture_gaps += (uint64_t)c->lost_segments + c->acked_unseen;
        }
        if (k != m->n) {
            topk_offer(&sev, r);
            topk_offer(&pk, r);
            topk_offer(&by, r);
        }
    }
    m->by_packets = g_new0(pm_row *, k ? k : 1);
    m->by_bytes = g_new0(pm_row *, k ? k : 1);
    m->listed = k;
    if (k == m->n) {
        qsort(m->rows, m->n, sizeof *m->rows, cmp_severity);
        for (size_t i = 0; i < m->n; i++)
            m->by_packets[i] = m->by_bytes[i] = &m->rows[i];
        qsort(m->by_packets, m->n, sizeof *m->by_packets, cmp_packets_ptr);
        qsort(m->by_bytes, m->n, sizeof *m->by_bytes, cmp_bytes_ptr);
    } else {
        size_t n;

        m->rows = topk_finish(&sev, &n);
        m->volume_rows[0] = topk_finish(&pk, &n);
        m->volume_rows[1] = topk_finish(&by, &n);
        for (size_t i = 0; i < k; i++) {
            m->by_packets[i] = &m->volume_rows[0][i];
            m->by_bytes[i] = &m->volume_rows[1][i];
        }
    }
    return m;
}

static int
cmp_dns(const void *a, const void *b)
{
    const pm_dns_row *x = a, *y = b;

    return pm_compare_severity(x->verdict.score, x->name, y->verdict.score, y->name);
}

void
pm_model_add_dns(pm_model *m, const pm_dns_table *d, const pm_dns_params *p)
{
    pm_model_add_dns_top(m, d, p, 0);
}

void
pm_model_add_dns_top(pm_model *m, const pm_dns_table *d, const pm_dns_params *p, size_t keep)
{
    pm_dns_pair *const *pairs = pm_dns_pairs(d);
    size_t n = pm_dns_count(d);
    size_t k = keep && keep < n ? keep : n;
    pm_topk sel;

    m->has_dns = true;
    m->dns_params = *p;
    m->dns_n = n;
    g_free(m->dns_rows);
    memset(m->dns_per_level, 0, sizeof m->dns_per_level);
    topk_init(&sel, k, sizeof(pm_dns_row), cmp_dns);
    for (size_t i = 0; i < n; i++) {
        pm_dns_row r;

        r.pair = pairs[i];
        r.verdict = pm_dns_score(p, r.pair);
        pm_dns_pair_name(r.pair, r.name, sizeof r.name);
        m->dns_per_level[r.verdict.level]++;
        topk_offer(&sel, &r);
    }
    m->dns_rows = topk_finish(&sel, &m->dns_listed);
}

void
pm_model_free(pm_model *m)
{
    if (!m)
        return;
    g_free(m->dns_rows);
    g_free(m->rows);
    g_free(m->by_packets);
    g_free(m->by_bytes);
    g_free(m->volume_rows[0]);
    g_free(m->volume_rows[1]);
    g_free(m);
}

/* Characters that must not reach a reader unescaped: g_unichar_iscntrl
 * covers C0, DEL and C1 (0x80-0x9f, where a single-byte CSI hides), what
 * terminal escape sequences are made of. The others do not drive a
 * terminal but change what a line appears to say: bidirectional
 * embeddings, overrides, isolates and marks reorder the text around them
 * ("Trojan Source"), and U+2028/U+2029 are line breaks to some viewers. */
static bool
is_hidden_control(gunichar u)
{
    return g_unichar_iscntrl(u) || u == 0x061c || u == 0x200e || u == 0x200f ||
           (u >= 0x202a && u <= 0x202e) || (u >= 0x2066 && u <= 0x2069) ||
           u == 0x2028 || u == 0x2029;
}

char *
pm_sanitize_terminal(const char *s)
{
    char *valid = g_utf8_make_valid(s ? s : "", -1);
    GString *out = g_string_sized_new(strlen(valid));

    for (const char *c = valid; *c; c = g_utf8_next_char(c)) {
        gunichar u = g_utf8_get_char(c);

        /* An escape sequence loses its ESC (or C1 CSI) and is shown as
         * harmless text. */
        if (is_hidden_control(u))
            g_string_append_c(out, '?');
        else
            g_string_append_unichar(out, u);
    }
    g_free(valid);
    return g_string_free(out, FALSE);
}

void
pm_capture_verdict(const pm_model *m, pm_lang lang, GString *out)
{
    bool es = lang == PM_LANG_ES;
    size_t start = out->len;
    unsigned long long dups = m->capture_duplicates, gaps = m->capture_gaps;
    unsigned long long cut = m->summary.truncated_frames;

    /* 45%: every frame copied once gives 50%; allow for what the copy
     * missed. */
    if (dups && (u128_t)dups * 100 >= (u128_t)m->tcp_frames * 45)
        g_string_append(out, es ? "la captura duplic\xc3\xb3 (casi) todos los paquetes: conteos corregidos"
                                : "capture duplicated (almost) every packet: counts corrected");
    else if (dups)
        g_string_append_printf(out, es ? "%llu duplicados de captura ignorados"
                                       : "%llu capture duplicates ignored", dups);
    if (gaps)
        g_string_append_printf(out, es ? "%sla captura no vio %llu segmentos: no cuentan contra la red"
                                       : "%sthe capture missed %llu segments: not counted against the network",
                               out->len > start ? "; " : "", gaps);
    if (cut)
        g_string_append_printf(out, es ? "%s%llu tramas recortadas por el snaplen"
                                       : "%s%llu frames cut by the snapshot length",
                               out->len > start ? "; " : "", cut);
    if (out->len == start)
        g_string_append(out, es ? "sin artefactos de captura" : "no capture artefacts seen");
}

void
pm_conv_filter(const pm_conv *c, bool events, char *buf, size_t len)
{
    /* RST is not a tcp.analysis flag, so it is named on its own. Made
     * without printf: every JSON conversation object asks for two. */
    char num[24], *d;

    num[sizeof num - 1] = '\0';
    d = pm_uint_digits(num + sizeof num - 1, c->stream);
    if (len == 0)
        return;
    buf[0] = '\0';
    g_strlcat(buf, "tcp.stream eq ", len);
    g_strlcat(buf, d, len);
    if (events)
        g_strlcat(buf, " && (tcp.analysis.flags || tcp.flags.reset == 1)", len);
}

/* ---------------------------------------------------------------- report */

enum { T_START, T_HEADER, T_FILE, T_PACKETS, T_DURATION, T_RATE, T_FOUND,
       T_NONE_FOUND, T_TOP, T_COUNTERS, T_REASONS, T_NO_REASONS, T_UNKNOWN,
       T_DONE, T_EVIDENCE, T_FRAMES, T_AT, T_FILTER, T_TOP_PACKETS,
       T_TOP_BYTES, T_VOLUME, T_DISABLED, T_CONNECTION, T_HS_MID, T_HS_COMPLETE,
       T_HS_REFUSED, T_HS_NO_ANSWER, T_RTT_LINE, T_SIG_RST, T_SIG_LOST, T_SIG_SPURIOUS,
       T_SIG_PROBES, T_SIG_COPIES, T_COUNT };

static const char *const text_en[T_COUNT] = {
    "Starting analysis of file: %s\n",
    "--- TCP Health Detector Report ---\n",
    "File", "Packets", "Duration", "Rate",
    "Found %zu distinct TCP conversations.\n",
    "No TCP conversations found.\n",
    "Top %u conversations by SEVERITY:\n",
    "Pkts: %llu, Retrans.: %u, Out of order: %u, ZeroWin: %u, DupACK(ev\xe2\x89\xa5" "3): %u",
    "Reasons", "none", "(unknown)",
    "--- ANALYSIS COMPLETE ---\n",
    "Evidence", "frames", "at", "Filter",
    "Top %u conversations by PACKETS:\n",
    "Top %u conversations by BYTES:\n",
    "%llu packets (C->S %llu / S->C %llu), %llu bytes (C->S %llu / S->C %llu)",
    "TCP health detector turned off.\n",
    "Connection", "no handshake seen (capture started mid-stream)", "handshake complete",
    "refused (RST to SYN)", "SYN not answered",
    "; RTT of %s data p50/p95/p99/max %s/%s/%s/%s ms (%llu samples)",
    "RST", "capture gaps", "spurious retransmissions", "zero-window probes", "capture duplicates",
};

static const char *const events_en[PM_EV_COUNT] = {
    "retransmissions", "spurious retransmissions", "out of order", "zero window",
    "duplicate ACK events", "lost segments", "resets", "zero-window probes",
};

/* The original tool's wording. */
static const char *const text_es[T_COUNT] = {
    "Iniciando an\xc3\xa1lisis del archivo: %s\n",
    "--- Reporte del Detector de Salud TCP ---\n",
    "Archivo", "Paquetes", "Duraci\xc3\xb3n", "Tasa",
    "Se encontraron %zu conversaciones TCP distintas.\n",
    "No se encontraron conversaciones TCP.\n",
    "Top %u conversaciones por SEVERIDAD:\n",
    "Pkts: %llu, Retrans.: %u, Fuera de Orden: %u, Ventana0: %u, DupACK(ev\xe2\x89\xa5" "3): %u",
    "Razones", "ninguna", "(desconocido)",
    "--- AN\xc3\x81LISIS COMPLETADO ---\n",
    "Evidencia", "tramas", "en", "Filtro",
    "Top %u conversaciones por PAQUETES:\n",
    "Top %u conversaciones por BYTES:\n",
    "%llu paquetes (C->S %llu / S->C %llu), %llu bytes (C->S %llu / S->C %llu)",
    "Detector de salud TCP desactivado.\n",
    "Conexi\xc3\xb3n", "sin handshake (captura iniciada a mitad)", "handshake completo",
    "rechazada (RST al SYN)", "SYN sin respuesta",
    "; RTT de los datos %s p50/p95/p99/max %s/%s/%s/%s ms (%llu muestras)",
    "RST", "huecos de captura", "retransmisiones espurias", "sondas de ventana cero",
    "duplicados de captura",
};

static const char *const events_es[PM_EV_COUNT] = {
    "retransmisiones", "retransmisiones espurias", "fuera de orden", "ventana cero",
    "eventos de ACK duplicado", "segmentos perdidos", "resets", "sondas de ventana cero",
};

static const char *const level_color[4] = {
    "\x1b[32m", "\x1b[36m", "\x1b[33m", "\x1b[1;31m",
};

/* "Levels: HIGH 2 | MEDIUM 2 | LOW 6 | OK 3", one for each detector. */
static void
append_levels(GString *out, pm_lang lang, const uint64_t per_level[4])
{
    g_string_append(out, lang == PM_LANG_ES ? "Niveles:" : "Levels:");
    for (int l = PM_LEVEL_HIGH; l >= PM_LEVEL_OK; l--)
        g_string_append_printf(out, " %s %llu%s", pm_level_name((pm_level)l, lang),
                               (unsigned long long)per_level[l], l ? " |" : "");
    g_string_append_c(out, '\n');
}

/* "  - [MEDIUM | score=72] name", the level coloured on a terminal. */
static void
append_entry_head(GString *out, const pm_render_opts *o, pm_level level, uint32_t score,
                  const char *name)
{
    g_string_append(out, "  - [");
    if (o->color)
        g_string_append(out, level_color[level]);
    g_string_append(out, pm_level_name(level, o->lang));
    if (o->color)
        g_string_append(out, "\x1b[0m");
    g_string_append_printf(out, " | score=%u] %s\n", score, name);
}

static void
append_dir(GString *out, const char *const *tx, const char *arrow, const char *label,
           const pm_dir_counters *d)
{
    g_string_append_printf(out, "    %s %s: ", arrow, label);
    g_string_append_printf(out, tx[T_COUNTERS], (unsigned long long)d->packets,
                           d->retransmissions, d->out_of_order,
                           d->zero_window_events, d->duplicate_ack_events);
    g_string_append_c(out, '\n');
}

/* "Evidence: tcp.stream 3, frames 10-52; retransmissions at 20, 24, 31"
 * and the filter to paste into Wireshark. */
static void
append_evidence(GString *out, const char *const *tx, const char *const *evn, const pm_conv *c)
{
    char filter[PM_FILTER_STRLEN];
    bool any = false;

    g_string_append_printf(out, "    %s: tcp.stream %u, %s %u-%u", tx[T_EVIDENCE], c->stream,
                           tx[T_FRAMES], c->first_frame, c->last_frame);
    for (int i = 0; i < PM_EV_COUNT; i++) {
        if (!c->evidence_n[i])
            continue;
        g_string_append_printf(out, "; %s %s ", evn[i], tx[T_AT]);
        for (int j = 0; j < c->evidence_n[i]; j++)
            g_string_append_printf(out, "%s%u", j ? ", " : "", c->evidence[i][j]);
        any = true;
    }
    pm_conv_filter(c, any, filter, sizeof filter);
    g_string_append_printf(out, "\n    %s: %s\n", tx[T_FILTER], filter);
}

/* The conversations view: one line per conversation, both directions. */
static void
append_volume_list(GString *out, const char *const *tx, int title, pm_row *const *rows,
                   size_t n, unsigned top)
{
    g_string_append_c(out, '\n');
    g_string_append_printf(out, tx[title], top);
    for (size_t i = 0; i < n && i < top; i++) {
        const pm_conv *c = rows[i]->conv;
        const pm_dir_counters *a = &c->dir[PM_C2S], *b = &c->dir[PM_S2C];

        g_string_append_printf(out, "  - %s: ", rows[i]->flow);
        g_string_append_printf(out, tx[T_VOLUME],
                               (unsigned long long)(a->packets + b->packets),
                               (unsigned long long)a->packets, (unsigned long long)b->packets,
                               (unsigned long long)(a->bytes + b->bytes),
                               (unsigned long long)a->bytes, (unsigned long long)b->bytes);
        g_string_append_c(out, '\n');
    }
}

/* "Connection: complete, iRTT 20.1 ms, 6234 ms; RTT of C->S data
 * p50/p95/p99/max 20.0/20.3/20.3/20.3 ms (12 samples), ..." */
static void
append_connection(GString *out, const char *const *tx, const pm_row *r)
{
    static const char *const dirs[2] = { "C->S", "S->C" };
    char a[G_ASCII_DTOSTR_BUF_SIZE];

    g_string_append_printf(out, "    %s: %s", tx[T_CONNECTION], tx[T_HS_MID + r->totals.handshake]);
    if (r->conv->initial_rtt_ms >= 0)
        g_string_append_printf(out, ", iRTT %s ms",
                               g_ascii_formatd(a, sizeof a, "%.1f", r->conv->initial_rtt_ms));
    g_string_append_printf(out, ", %llu ms", (unsigned long long)pm_conv_duration_ms(r->conv));
    {
        /* Signals that are counted but not scored, when there are any:
         * "RST 1/0" reads C->S/S->C. */
        const pm_dir_counters *a = &r->conv->dir[PM_C2S], *b = &r->conv->dir[PM_S2C];
        const struct { int t; uint32_t x, y; } sig[] = {
            { T_SIG_RST, a->resets, b->resets },
            { T_SIG_LOST, a->lost_segments + a->acked_unseen, b->lost_segments + b->acked_unseen },
            { T_SIG_SPURIOUS, a->spurious_retransmissions, b->spurious_retransmissions },
            { T_SIG_PROBES, a->zero_window_probes, b->zero_window_probes },
            { T_SIG_COPIES, a->capture_duplicates, b->capture_duplicates },
        };

        for (size_t i = 0; i < G_N_ELEMENTS(sig); i++)
            if (sig[i].x || sig[i].y)
                g_string_append_printf(out, ", %s %u/%u", tx[sig[i].t], sig[i].x, sig[i].y);
    }
    for (int d = 0; d < 2; d++) {
        pm_rtt_stats s;
        char b[G_ASCII_DTOSTR_BUF_SIZE], c[G_ASCII_DTOSTR_BUF_SIZE], e[G_ASCII_DTOSTR_BUF_SIZE];

        if (!pm_conv_rtt(r->conv, d, &s))
            continue;
        g_string_append_printf(out, tx[T_RTT_LINE], dirs[d],
                               g_ascii_formatd(a, sizeof a, "%.1f", s.p50_ms),
                               g_ascii_formatd(b, sizeof b, "%.1f", s.p95_ms),
                               g_ascii_formatd(c, sizeof c, "%.1f", s.p99_ms),
                               g_ascii_formatd(e, sizeof e, "%.1f", s.max_ms),
                               (unsigned long long)s.samples);
    }
    g_string_append_c(out, '\n');
}

struct reason_line {
    GString *out;
    bool first;
};

static void
append_reason(const char *text, void *user)
{
    struct reason_line *r = user;

    g_string_append(r->out, r->first ? " " : "; ");
    g_string_append(r->out, text);
    r->first = false;
}

static void dns_filter(const pm_dns_pair *p, char *buf, size_t len);

/* ------------------------------------------------------------ DNS report */

static const char *const dns_en[] = {
    "--- DNS Health Detector Report ---\n",
    "Found %zu DNS client/server pairs.\n",
    "No DNS traffic found.\n",
    "Top %u DNS pairs by SEVERITY:\n",
    "    Queries: %llu (UDP %llu, TCP %llu, retransmitted %llu); answers: %llu (+%llu duplicates); unanswered: %llu\n",
    "    Rcodes: NOERROR %llu, NXDOMAIN %llu, SERVFAIL %llu, REFUSED %llu, other %llu\n",
    "    Latency p50/p95/p99/max: %s/%s/%s/%s ms (%llu answers)\n",
    "    Reasons", "none", "    Names", "    Filter",
};
static const char *const dns_es[] = {
    "--- Reporte del Detector de Salud DNS ---\n",
    "Se encontraron %zu pares cliente/servidor DNS.\n",
    "No se encontr\xc3\xb3 tr\xc3\xa1" "fico DNS.\n",
    "Top %u pares DNS por SEVERIDAD:\n",
    "    Consultas: %llu (UDP %llu, TCP %llu, retransmitidas %llu); respuestas: %llu (+%llu duplicadas); sin respuesta: %llu\n",
    "    Rcodes: NOERROR %llu, NXDOMAIN %llu, SERVFAIL %llu, REFUSED %llu, otros %llu\n",
    "    Latencia p50/p95/p99/max: %s/%s/%s/%s ms (%llu respuestas)\n",
    "    Razones", "ninguna", "    Nombres", "    Filtro",
};
enum { D_HEADER, D_FOUND, D_NONE, D_TOP, D_QUERIES, D_RCODES, D_LATENCY, D_REASONS,
       D_NO_REASONS, D_NAMES, D_FILTER };

static void
append_dns_names(GString *out, const char *const *dx, const pm_dns_pair *p)
{
    static const char *const label[PM_OUT_COUNT] = {
        "NXDOMAIN", "SERVFAIL", "REFUSED", "unanswered", "suspicious",
    };
    pm_dns_name_count names[PM_DNS_PENDING];
    bool any = false;

    for (int o = 0; o < PM_OUT_COUNT; o++) {
        size_t n = pm_dns_top(p, o, names);

        for (size_t i = 0; i < n; i++) {
            /* Names come from the capture: never print them raw. */
            char *safe = pm_sanitize_terminal(names[i].name);

            if (!any)
                g_string_append_printf(out, "%s:", dx[D_NAMES]);
            if (i == 0)
                g_string_append_printf(out, "%s%s ", any ? "; " : " ", label[o]);
            else
                g_string_append(out, ", ");
            g_string_append_printf(out, "%s (%llu)", safe, (unsigned long long)names[i].count);
            any = true;
            g_free(safe);
        }
    }
    if (any)
        g_string_append_c(out, '\n');
}

static void
append_dns(GString *out, const pm_model *m, const pm_render_opts *o)
{
    const char *const *dx = o->lang == PM_LANG_ES ? dns_es : dns_en;
    size_t top = o->top < m->dns_listed ? o->top : m->dns_listed;

    g_string_append_c(out, '\n');
    g_string_append(out, dx[D_HEADER]);
    if (m->dns_n == 0) {
        g_string_append(out, dx[D_NONE]);
        return;
    }
    g_string_append_printf(out, dx[D_FOUND], m->dns_n);
    append_levels(out, o->lang, m->dns_per_level);
    if (top == 0)
        return;
    g_string_append_c(out, '\n');
    g_string_append_printf(out, dx[D_TOP], o->top);
    for (size_t i = 0; i < top; i++) {
        const pm_dns_row *r = &m->dns_rows[i];
        const pm_dns_pair *p = r->pair;
        struct reason_line rl = { out, true };
        char filter[160];

        append_entry_head(out, o, r->verdict.level, r->verdict.score, r->name);
        g_string_append_printf(out, dx[D_QUERIES], (unsigned long long)p->queries,
                               (unsigned long long)p->queries_udp, (unsigned long long)p->queries_tcp,
                               (unsigned long long)p->retransmitted_queries,
                               (unsigned long long)p->responses,
                               (unsigned long long)p->duplicate_responses,
                               (unsigned long long)pm_dns_unanswered(p));
        g_string_append_printf(out, dx[D_RCODES], (unsigned long long)p->rcode[PM_RC_NOERROR],
                               (unsigned long long)p->rcode[PM_RC_NXDOMAIN],
                               (unsigned long long)p->rcode[PM_RC_SERVFAIL],
                               (unsigned long long)p->rcode[PM_RC_REFUSED],
                               (unsigned long long)p->rcode[PM_RC_OTHER]);
        if (p->latency && pm_sketch_count(p->latency)) {
            char a[G_ASCII_DTOSTR_BUF_SIZE], b[G_ASCII_DTOSTR_BUF_SIZE];
            char c[G_ASCII_DTOSTR_BUF_SIZE], e[G_ASCII_DTOSTR_BUF_SIZE];

            g_string_append_printf(out, dx[D_LATENCY],
                g_ascii_formatd(a, sizeof a, "%.1f", pm_sketch_quantile(p->latency, 0.50)),
                g_ascii_formatd(b, sizeof b, "%.1f", pm_sketch_quantile(p->latency, 0.95)),
                g_ascii_formatd(c, sizeof c, "%.1f", pm_sketch_quantile(p->latency, 0.99)),
                g_ascii_formatd(e, sizeof e, "%.1f", pm_sketch_max(p->latency)),
                (unsigned long long)pm_sketch_count(p->latency));
        }
        g_string_append_printf(out, "%s:", dx[D_REASONS]);
        if (pm_dns_reasons(&r->verdict, p, o->lang, append_reason, &rl) == 0)
            g_string_append_printf(out, " %s", dx[D_NO_REASONS]);
        g_string_append_c(out, '\n');
        append_dns_names(out, dx, p);
        dns_filter(p, filter, sizeof filter);
        g_string_append_printf(out, "%s: %s\n", dx[D_FILTER], filter);
    }
}

void
pm_render_report(const pm_model *m, const pm_render_opts *o, GString *out)
{
    const char *const *tx = o->lang == PM_LANG_ES ? text_es : text_en;
    const char *const *evn = o->lang == PM_LANG_ES ? events_es : events_en;
    char *file = o->file ? pm_sanitize_terminal(o->file) : g_strdup(tx[T_UNKNOWN]);
    uint64_t dur_ms = pm_summary_duration_ms(&m->summary);
    /* Unsigned: time stamps of a crafted file can be 2^63 apart. */
    uint64_t dur_us = m->summary.last_ts_us > m->summary.first_ts_us
                    ? (uint64_t)m->summary.last_ts_us - (uint64_t)m->summary.first_ts_us : 0;
    size_t top = o->top < m->listed ? o->top : m->listed;

    g_string_append_printf(out, tx[T_START], file);
    g_string_append_c(out, '\n');
    g_string_append(out, tx[T_HEADER]);
    g_string_append_printf(out, "%s: %s | %s: %llu | %s: %llu ms | %s: ",
                           tx[T_FILE], file, tx[T_PACKETS],
                           (unsigned long long)m->summary.packets_total,
                           tx[T_DURATION], (unsigned long long)dur_ms, tx[T_RATE]);
    if (m->summary.packets_total >= 2 && dur_us > 0) {
        char rate[G_ASCII_DTOSTR_BUF_SIZE];

        /* g_ascii_formatd: a decimal point whatever the host's locale. */
        g_string_append_printf(out, "%s Mbps",
            g_ascii_formatd(rate, sizeof rate, "%.2f",
                            (double)m->summary.bytes_total * 8.0 / (double)dur_us));
    } else
        g_string_append(out, "n/a");
    g_string_append(out, " | Schema: " PM_SCHEMA "\n");
    /* Only when the capture itself has something to confess: a clean one
     * keeps the original tool's layout. */
    if (m->capture_duplicates || m->capture_gaps || m->summary.truncated_frames) {
        g_string_append(out, o->lang == PM_LANG_ES ? "Captura: " : "Capture: ");
        pm_capture_verdict(m, o->lang, out);
        g_string_append_c(out, '\n');
    }

    if (o->no_tcp_health) {
        g_string_append(out, tx[T_DISABLED]);
        top = 0;
    } else if (m->n == 0) {
        g_string_append(out, tx[T_NONE_FOUND]);
    } else {
        g_string_append_printf(out, tx[T_FOUND], m->n);
        append_levels(out, o->lang, m->per_level);
    }

    if (top > 0) {
        g_string_append_c(out, '\n');
        /* The requested N, as the original tool printed it. */
        g_string_append_printf(out, tx[T_TOP], o->top);
    }
    for (size_t i = 0; i < top; i++) {
        const pm_row *r = &m->rows[i];
        struct reason_line rl = { out, true };

        append_entry_head(out, o, r->verdict.level, r->verdict.score, r->flow);
        append_dir(out, tx, "->", "C->S", &r->conv->dir[PM_C2S]);
        append_dir(out, tx, "<-", "S->C", &r->conv->dir[PM_S2C]);
        g_string_append_printf(out, "    %s:", tx[T_REASONS]);
        if (pm_reasons(&r->verdict, &r->totals, o->lang, append_reason, &rl) == 0)
            g_string_append_printf(out, " %s", tx[T_NO_REASONS]);
        g_string_append_c(out, '\n');
        append_connection(out, tx, r);
        append_evidence(out, tx, evn, r->conv);
    }
    if (top > 0) {
        append_volume_list(out, tx, T_TOP_PACKETS, m->by_packets, m->listed, o->top);
        append_volume_list(out, tx, T_TOP_BYTES, m->by_bytes, m->listed, o->top);
    }
    if (m->has_dns)
        append_dns(out, m, o);
    g_string_append_c(out, '\n');
    g_string_append(out, tx[T_DONE]);
    g_free(file);
}

/* ------------------------------------------------------------------ JSON */

static void
json_uint(pm_json *d, const char *name, uint64_t v)
{
    pm_json_member(d, name);
    pm_json_uint(d, v);
}

/* A millisecond value with microsecond resolution, locale-free. */
static void
json_ms(pm_json *d, const char *name, double ms)
{
    pm_json_member(d, name);
    if (ms < 0 || ms != ms)
        pm_json_raw(d, "null");
    else
        pm_json_fixed3(d, ms);
}

static void
json_rtt(pm_json *d, const pm_conv *c, int dir)
{
    pm_rtt_stats r;

    pm_json_member(d, "rtt_ms");
    if (!pm_conv_rtt(c, dir, &r)) {
        pm_json_raw(d, "null");
        return;
    }
    pm_json_begin_object(d);
    json_ms(d, "p50", r.p50_ms);
    json_ms(d, "p95", r.p95_ms);
    json_ms(d, "p99", r.p99_ms);
    json_ms(d, "max", r.max_ms);
    json_uint(d, "samples", r.samples);
    pm_json_end_object(d);
}

static void
json_dir(pm_json *d, const char *name, const pm_conv *conv, int dir)
{
    const pm_dir_counters *c = &conv->dir[dir];

    pm_json_member(d, name);
    pm_json_begin_object(d);
    json_uint(d, "packets", c->packets);
    json_uint(d, "bytes", c->bytes);
    json_uint(d, "retransmissions", c->retransmissions);
    json_uint(d, "spurious_retransmissions", c->spurious_retransmissions);
    json_uint(d, "out_of_order", c->out_of_order);
    json_uint(d, "zero_window_events", c->zero_window_events);
    json_uint(d, "duplicate_ack_events", c->duplicate_ack_events);
    json_uint(d, "lost_segments", c->lost_segments);
    json_uint(d, "resets", c->resets);
    json_uint(d, "zero_window_probes", c->zero_window_probes);
    json_uint(d, "capture_duplicates", c->capture_duplicates);
    json_uint(d, "acked_unseen", c->acked_unseen);
    json_uint(d, "capture_gaps", (uint64_t)c->lost_segments + c->acked_unseen);
    json_rtt(d, conv, dir);
    pm_json_end_object(d);
}

static void
json_reason(const char *text, void *user)
{
    pm_json_string(user, text);
}

/* Where to look: ready filters and the first frames of each event kind. */
static void
json_evidence(pm_json *d, const pm_conv *c)
{
    char filter[PM_FILTER_STRLEN];

    pm_json_member(d, "evidence");
    pm_json_begin_object(d);
    pm_conv_filter(c, false, filter, sizeof filter);
    pm_json_member(d, "filter");
    pm_json_string(d, filter);
    pm_conv_filter(c, true, filter, sizeof filter);
    pm_json_member(d, "events_filter");
    pm_json_string(d, filter);
    pm_json_member(d, "event_frames");
    pm_json_begin_object(d);
    for (int i = 0; i < PM_EV_COUNT; i++) {
        pm_json_member(d, pm_event_counter_name(i));
        pm_json_begin_array(d);
        for (int j = 0; j < c->evidence_n[i]; j++)
            pm_json_uint(d, c->evidence[i][j]);
        pm_json_end_array(d);
    }
    pm_json_end_object(d);
    pm_json_end_object(d);
}

/* state: add the conversation's raw state (pm_state.h). Only the
 * severity list carries it: the volume lists repeat the same rows. */
static void
json_conv(pm_json *d, const pm_row *r, pm_lang lang, bool state)
{
    pm_json_begin_object(d);
    pm_json_member(d, "flow");
    pm_json_string(d, r->flow);
    json_uint(d, "stream", r->conv->stream);
    pm_json_member(d, "score");
    pm_json_begin_object(d);
    json_uint(d, "value", r->verdict.score);
    pm_json_member(d, "level");
    pm_json_string(d, pm_level_name(r->verdict.level, lang));
    pm_json_end_object(d);
    pm_json_member(d, "reasons");
    pm_json_begin_array(d);
    pm_reasons(&r->verdict, &r->totals, lang, json_reason, d);
    pm_json_end_array(d);
    json_dir(d, "c2s", r->conv, PM_C2S);
    json_dir(d, "s2c", r->conv, PM_S2C);
    pm_json_member(d, "handshake");
    pm_json_string(d, pm_handshake_name(r->totals.handshake));
    json_ms(d, "initial_rtt_ms", r->conv->initial_rtt_ms);
    json_uint(d, "duration_ms", pm_conv_duration_ms(r->conv));
    json_uint(d, "first_frame", r->conv->first_frame);
    json_uint(d, "last_frame", r->conv->last_frame);
    json_evidence(d, r->conv);
    if (state)
        pm_state_json_conv(d, r->conv);
    pm_json_end_object(d);
}

/* Writes a string that came from outside (the capture's file name, a DNS
 * name) as a JSON string value. JSON must be UTF-8, so bytes that are not
 * become U+FFFD first. pm_json_string escapes what JSON requires
 * (quote, backslash, C0) but writes DEL, C1 and the other hidden controls
 * as they are: valid JSON, yet tshark prints the document on standard
 * output, often a terminal. Here each of them is written \uXXXX (or \b,
 * \t, \n, \f, \r, as json_dumper writes those), which any JSON reader
 * decodes back to the same string. "</" is written "<\/", as
 * json_dumper does, so the document can sit inside an HTML script. */
static void
json_text(pm_json *d, const char *s)
{
    /* The short forms JSON has, as json_dumper writes them. */
    static const char short_escapes[] = "\b\t\n\f\r";
    char *valid = g_utf8_make_valid(s, -1);
    GString *esc = g_string_sized_new(strlen(valid) + 2);

    g_string_append_c(esc, '"');
    for (const char *c = valid; *c; c = g_utf8_next_char(c)) {
        gunichar u = g_utf8_get_char(c);

        const char *brief = u > 0 && u < 0x20 ? strchr(short_escapes, (int)u) : NULL;

        if (u == '"' || u == '\\')
            g_string_append_printf(esc, "\\%c", (char)u);
        else if (u == '/' && c > valid && c[-1] == '<')
            g_string_append(esc, "\\/");
        else if (brief)
            g_string_append_printf(esc, "\\%c", "btnfr"[brief - short_escapes]);
        else if (is_hidden_control(u))
            g_string_append_printf(esc, "\\u%04x", (unsigned)u);
        else
            g_string_append_len(esc, c, g_utf8_next_char(c) - c);
    }
    g_string_append_c(esc, '"');
    pm_json_raw(d, esc->str);
    g_string_free(esc, TRUE);
    g_free(valid);
}

static void
json_string_or_null(pm_json *d, const char *name, const char *value)
{
    pm_json_member(d, name);
    if (value) {
        json_text(d, value);
    } else {
        pm_json_raw(d, "null");
    }
}

/* ISO 8601 in UTC with microseconds: "2024-01-01T00:00:20.222250Z". */
static void
json_time(pm_json *d, const char *name, const int64_t *us)
{
    GDateTime *t;
    char *text;

    pm_json_member(d, name);
    t = us ? g_date_time_new_from_unix_utc(*us / 1000000) : NULL;
    if (!t) {
        pm_json_raw(d, "null");
        return;
    }
    text = g_date_time_format(t, "%Y-%m-%dT%H:%M:%S");
    pm_json_printf(d, "\"%s.%06lldZ\"", text, (long long)(*us % 1000000));
    g_free(text);
    g_date_time_unref(t);
}

/* The preferences that change scores, named as the preferences are, so a
 * document says how it was made. */
static void
json_settings(pm_json *d, const pm_model *m, const pm_render_opts *o)
{
    pm_score_params def;
    const pm_score_params *p = o->params;
    const struct { const char *name; unsigned value; } v[] = {
        { "weight_retransmission", 0 }, { "weight_zero_window", 0 }, { "weight_dup_ack", 0 },
        { "weight_out_of_order", 0 }, { "high_score", 0 }, { "high_retransmissions", 0 },
        { "high_zero_window", 0 }, { "medium_score", 0 }, { "medium_retransmissions", 0 },
        { "medium_zero_window", 0 }, { "medium_dup_ack", 0 }, { "ooo_percent", 0 },
        { "ooo_min", 0 }, { "reason_dup_ack", 0 }, { "cap_retransmissions", 0 },
        { "cap_score", 0 }, { "weight_refused", 0 }, { "weight_no_answer", 0 },
        { "weight_slow_rtt", 0 }, { "slow_rtt_ms", 0 }, { "slow_rtt_min_samples", 0 },
    };
    unsigned values[G_N_ELEMENTS(v)];

    if (!p) {
        pm_score_params_default(&def);
        p = &def;
    }
    {
        const unsigned in_order[] = {
            p->w_retx, p->w_zero_window, p->w_dup_ack, p->w_out_of_order, p->high_score,
            p->high_retx, p->high_zero_window, p->medium_score, p->medium_retx,
            p->medium_zero_window, p->medium_dup_ack, p->ooo_percent, p->ooo_min,
            p->reason_dup_ack, p->cap_retx, p->cap_score, p->w_refused, p->w_no_answer,
            p->w_slow_rtt, p->slow_rtt_ms, p->slow_rtt_min_samples,
        };
        G_STATIC_ASSERT(G_N_ELEMENTS(in_order) == G_N_ELEMENTS(values));
        memcpy(values, in_order, sizeof values);
    }
    pm_json_member(d, "settings");
    pm_json_begin_object(d);
    pm_json_member(d, "language");
    pm_json_string(d, o->lang == PM_LANG_ES ? "es" : "en");
    for (size_t i = 0; i < G_N_ELEMENTS(v); i++)
        json_uint(d, v[i].name, values[i]);
    /* 0: every conversation is listed, as the document always did. */
    json_uint(d, "json_top", o->json_top);
    if (o->has_dup_window)
        json_uint(d, "dup_window_ms", o->dup_window_ms);
    if (m->has_dns) {
        const pm_dns_params *q = &m->dns_params;
        const struct { const char *name; unsigned value; } dv[] = {
            { "dns_min_queries", q->min_queries }, { "dns_weight_unanswered", q->w_unanswered },
            { "dns_weight_servfail", q->w_servfail }, { "dns_weight_refused", q->w_refused },
            { "dns_weight_nxdomain", q->w_nxdomain }, { "dns_latency_threshold_ms", q->latency_ms },
            { "dns_latency_min_samples", q->latency_min_samples }, { "dns_weight_slow", q->w_slow },
            { "dns_weight_dga", q->w_dga }, { "dns_weight_punycode", q->w_punycode },
            { "dns_high_score", q->high_score }, { "dns_medium_score", q->medium_score },
            { "dns_high_unanswered_pct", q->high_unanswered_pct },
            { "dns_medium_unanswered_pct", q->medium_unanswered_pct },
            { "dns_high_servfail_pct", q->high_servfail_pct },
            { "dns_medium_servfail_pct", q->medium_servfail_pct },
        };

        for (size_t i = 0; i < G_N_ELEMENTS(dv); i++)
            json_uint(d, dv[i].name, dv[i].value);
    }
    pm_json_member(d, "detectors");
    pm_json_begin_array(d);
    if (!o->no_tcp_health)
        pm_json_string(d, "tcp_health");
    if (m->has_dns)
        pm_json_string(d, "dns_health");
    pm_json_end_array(d);
    pm_json_end_object(d);
}

static void
json_capture_quality(pm_json *d, const pm_model *m, const pm_render_opts *o)
{
    GString *v = g_string_new(NULL);
    char share[G_ASCII_DTOSTR_BUF_SIZE];

    pm_json_member(d, "capture_quality");
    pm_json_begin_object(d);
    json_uint(d, "duplicates", m->capture_duplicates);
    pm_json_member(d, "duplicate_share");
    pm_json_raw(d, g_ascii_formatd(share, sizeof share, "%.4f",
                           m->tcp_frames ? (double)m->capture_duplicates / (double)m->tcp_frames : 0.0));
    json_uint(d, "gaps", m->capture_gaps);
    json_uint(d, "truncated_frames", m->summary.truncated_frames);
    pm_capture_verdict(m, o->lang, v);
    pm_json_member(d, "verdict");
    pm_json_string(d, v->str);
    pm_json_end_object(d);
    g_string_free(v, TRUE);
}

/* {"HIGH": n, "MEDIUM": n, "LOW": n, "OK": n}: English keys always, so
 * scripts (and --fail-on) read them whatever the language. */
static void
json_levels(pm_json *d, const char *name, const uint64_t per_level[4])
{
    pm_json_member(d, name);
    pm_json_begin_object(d);
    for (int l = PM_LEVEL_HIGH; l >= PM_LEVEL_OK; l--)
        json_uint(d, pm_level_name((pm_level)l, PM_LANG_EN), per_level[l]);
    pm_json_end_object(d);
}

/* The JSON writer of pm_render_json_file(): the document is made in a
 * buffer and written out in large blocks between conversations. It stays
 * bounded: a million conversations never have to fit in memory. The
 * writer comes first so that the list writers, which get a pm_json *, can
 * reach the sink. */
typedef struct pm_json_out {
    pm_json d;
    FILE *sink;          /* NULL: the caller's GString is the output */
} pm_json_out;

#define PM_JSON_SPILL (256 * 1024)

static void
json_spill(pm_json *d, bool all)
{
    pm_json_out *w = (pm_json_out *)d;
    GString *buf = d->out;

    if (!w->sink || (!all && buf->len < PM_JSON_SPILL))
        return;
    if (buf->len)
        fwrite(buf->str, 1, buf->len, w->sink);
    g_string_truncate(buf, 0);
}

static void
json_conv_list(pm_json *d, const char *name, pm_row *const *rows, size_t n, pm_lang lang)
{
    pm_json_member(d, name);
    pm_json_begin_array(d);
    for (size_t i = 0; i < n; i++) {
        json_conv(d, rows[i], lang, false);
        json_spill(d, false);
    }
    pm_json_end_array(d);
}

static void
json_tcp_health(pm_json *d, const pm_model *m, const pm_render_opts *o)
{
    pm_json_member(d, "tcp_health");
    pm_json_begin_object(d);
    json_uint(d, "conversations_total", m->n);
    json_levels(d, "conversations_by_level", m->per_level);
    pm_json_member(d, "top_by_severity");
    pm_json_begin_array(d);
    for (size_t i = 0; i < m->listed; i++) {
        json_conv(d, &m->rows[i], o->lang, o->state);
        json_spill(d, false);
    }
    pm_json_end_array(d);
    json_conv_list(d, "top_by_packets", m->by_packets, m->listed, o->lang);
    json_conv_list(d, "top_by_bytes", m->by_bytes, m->listed, o->lang);
    pm_json_end_object(d);
}

static const char *const rcode_names[PM_RC_COUNT] = {
    "NOERROR", "NXDOMAIN", "SERVFAIL", "REFUSED", "other",
};
static const char *const outcome_keys[PM_OUT_COUNT] = {
    "nxdomain", "servfail", "refused", "unanswered", "suspicious",
};

/* A display filter that shows a DNS pair's messages. */
static void
dns_filter(const pm_dns_pair *p, char *buf, size_t len)
{
    char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
    const char *f = p->client.family == 6 ? "ipv6.addr" : "ip.addr";

    inet_ntop(p->client.family == 6 ? AF_INET6 : AF_INET, p->client.addr, a, sizeof a);
    inet_ntop(p->server.family == 6 ? AF_INET6 : AF_INET, p->server.addr, b, sizeof b);
    g_snprintf(buf, (gulong)len, "dns && %s eq %s && %s eq %s", f, a, f, b);
}

static void
json_dns_pair(pm_json *d, const pm_dns_row *r, pm_lang lang, bool state)
{
    const pm_dns_pair *p = r->pair;
    char filter[160];
    pm_dns_name_count names[PM_DNS_PENDING];

    pm_json_begin_object(d);
    pm_json_member(d, "pair");
    pm_json_string(d, r->name);
    pm_json_member(d, "score");
    pm_json_begin_object(d);
    json_uint(d, "value", r->verdict.score);
    pm_json_member(d, "level");
    pm_json_string(d, pm_level_name(r->verdict.level, lang));
    pm_json_end_object(d);
    pm_json_member(d, "reasons");
    pm_json_begin_array(d);
    pm_dns_reasons(&r->verdict, p, lang, json_reason, d);
    pm_json_end_array(d);
    json_uint(d, "queries", p->queries);
    json_uint(d, "queries_udp", p->queries_udp);
    json_uint(d, "queries_tcp", p->queries_tcp);
    json_uint(d, "retransmitted_queries", p->retransmitted_queries);
    json_uint(d, "responses", p->responses);
    json_uint(d, "duplicate_responses", p->duplicate_responses);
    json_uint(d, "unanswered", pm_dns_unanswered(p));
    pm_json_member(d, "rcodes");
    pm_json_begin_object(d);
    for (int i = 0; i < PM_RC_COUNT; i++)
        json_uint(d, rcode_names[i], p->rcode[i]);
    pm_json_end_object(d);
    pm_json_member(d, "latency_ms");
    if (!p->latency || !pm_sketch_count(p->latency)) {
        pm_json_raw(d, "null");
    } else {
        pm_json_begin_object(d);
        json_ms(d, "p50", pm_sketch_quantile(p->latency, 0.50));
        json_ms(d, "p95", pm_sketch_quantile(p->latency, 0.95));
        json_ms(d, "p99", pm_sketch_quantile(p->latency, 0.99));
        json_ms(d, "max", pm_sketch_max(p->latency));
        json_uint(d, "samples", pm_sketch_count(p->latency));
        pm_json_end_object(d);
    }
    pm_json_member(d, "suspicious_names");
    pm_json_begin_object(d);
    json_uint(d, "punycode", p->punycode);
    json_uint(d, "dga", p->dga);
    pm_json_end_object(d);
    pm_json_member(d, "top_names");
    pm_json_begin_object(d);
    for (int o = 0; o < PM_OUT_COUNT; o++) {
        size_t n = pm_dns_top(p, o, names);

        pm_json_member(d, outcome_keys[o]);
        pm_json_begin_array(d);
        for (size_t i = 0; i < n; i++) {
            pm_json_begin_object(d);
            pm_json_member(d, "name");
            json_text(d, names[i].name);     /* from the capture */
            json_uint(d, "count", names[i].count);
            pm_json_end_object(d);
        }
        pm_json_end_array(d);
    }
    pm_json_end_object(d);
    json_uint(d, "first_frame", p->first_frame);
    json_uint(d, "last_frame", p->last_frame);
    dns_filter(p, filter, sizeof filter);
    pm_json_member(d, "filter");
    pm_json_string(d, filter);
    if (state)
        pm_state_json_dns_pair(d, p);
    pm_json_end_object(d);
}

static void
json_dns_health(pm_json *d, const pm_model *m, const pm_render_opts *o)
{
    pm_json_member(d, "dns_health");
    pm_json_begin_object(d);
    json_uint(d, "pairs_total", m->dns_n);
    json_levels(d, "pairs_by_level", m->dns_per_level);
    pm_json_member(d, "top_by_severity");
    pm_json_begin_array(d);
    for (size_t i = 0; i < m->dns_listed; i++) {
        json_dns_pair(d, &m->dns_rows[i], o->lang, o->state);
        json_spill(d, false);
    }
    pm_json_end_array(d);
    pm_json_end_object(d);
}

static bool
render_json(pm_json *d, const pm_model *m, const pm_render_opts *o)
{
    pm_json_begin_object(d);
    pm_json_member(d, "summary");
    pm_json_begin_object(d);
    pm_json_member(d, "schema");
    pm_json_string(d, PM_SCHEMA);
    json_string_or_null(d, "file", o->file);
    json_uint(d, "packets_total", m->summary.packets_total);
    json_uint(d, "duration_ms", pm_summary_duration_ms(&m->summary));
    json_uint(d, "bytes_total", m->summary.bytes_total);
    json_time(d, "capture_start", m->summary.packets_total ? &m->summary.first_ts_us : NULL);
    json_time(d, "capture_end", m->summary.packets_total ? &m->summary.last_ts_us : NULL);
    json_string_or_null(d, "wireshark_version", o->wireshark_version);
    json_string_or_null(d, "plugin_version", o->plugin_version);
    json_settings(d, m, o);
    json_capture_quality(d, m, o);
    if (o->state)
        pm_state_json_summary(d, &m->summary);
    pm_json_end_object(d);

    pm_json_member(d, "detectors");
    pm_json_begin_object(d);
    if (!o->no_tcp_health)
        json_tcp_health(d, m, o);
    if (m->has_dns)
        json_dns_health(d, m, o);
    pm_json_end_object(d);
    pm_json_end_object(d);
    return pm_json_finish(d);
}

bool
pm_render_json(const pm_model *m, const pm_render_opts *o, GString *out)
{
    pm_json_out w = { .sink = NULL };

    pm_json_init(&w.d, out);
    return render_json(&w.d, m, o);
}

bool
pm_render_json_file(const pm_model *m, const pm_render_opts *o, FILE *f)
{
    pm_json_out w = { .sink = f };
    bool ok;

    pm_json_init(&w.d, g_string_sized_new(PM_JSON_SPILL + 64 * 1024));
    ok = render_json(&w.d, m, o);
    json_spill(&w.d, true);
    g_string_free(w.d.out, TRUE);
    return !ferror(f) && ok;
}
