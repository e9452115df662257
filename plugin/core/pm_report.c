/* pm_report.c
 * Builds the finished model of an analysis and draws the human report and
 * the JSON document from it.
 *
 * Both outputs may carry text that came from outside the analysis (today
 * the capture's file name, later host and DNS names), so every such string
 * passes through pm_sanitize_terminal() for the report and is made valid
 * UTF-8 before json_dumper escapes it for the JSON.
 *
 * Copyright (c) 2026 The PacketMancer authors
 * SPDX-License-Identifier: MIT
 */

#include "pm_report.h"

#include <stdlib.h>
#include <string.h>

#include <wsutil/json_dumper.h>

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

static int
cmp_packets(const void *a, const void *b)
{
    const pm_row *x = *(const pm_row *const *)a, *y = *(const pm_row *const *)b;

    int c;

    if (x->totals.packets != y->totals.packets)
        return x->totals.packets > y->totals.packets ? -1 : 1;
    c = strcmp(x->flow, y->flow);
    if (c == 0 && x->conv->stream != y->conv->stream)
        c = x->conv->stream < y->conv->stream ? -1 : 1;
    return c;
}

pm_model *
pm_model_build(const pm_table *t, const pm_score_params *p)
{
    pm_model *m = g_new0(pm_model, 1);
    pm_conv *const *convs = pm_table_convs(t);

    m->summary = *pm_table_summary(t);
    m->n = pm_table_count(t);
    m->rows = g_new0(pm_row, m->n ? m->n : 1);
    m->by_packets = g_new0(pm_row *, m->n ? m->n : 1);

    for (size_t i = 0; i < m->n; i++) {
        pm_row *r = &m->rows[i];

        r->conv = convs[i];
        pm_conv_totals(r->conv, &r->totals);
        r->verdict = pm_score(p, &r->totals);
        pm_conv_flow(r->conv, r->flow, sizeof r->flow);
        m->per_level[r->verdict.level]++;
    }
    qsort(m->rows, m->n, sizeof *m->rows, cmp_severity);
    for (size_t i = 0; i < m->n; i++)
        m->by_packets[i] = &m->rows[i];
    qsort(m->by_packets, m->n, sizeof *m->by_packets, cmp_packets);
    return m;
}

void
pm_model_free(pm_model *m)
{
    if (!m)
        return;
    g_free(m->rows);
    g_free(m->by_packets);
    g_free(m);
}

char *
pm_sanitize_terminal(const char *s)
{
    char *valid = g_utf8_make_valid(s ? s : "", -1);
    GString *out = g_string_sized_new(strlen(valid));

    for (const char *c = valid; *c; c = g_utf8_next_char(c)) {
        gunichar u = g_utf8_get_char(c);

        /* g_unichar_iscntrl covers C0, DEL and C1 (0x80-0x9f, where a
         * single-byte CSI hides); an escape sequence loses its ESC. */
        if (g_unichar_iscntrl(u))
            g_string_append_c(out, '?');
        else
            g_string_append_unichar(out, u);
    }
    g_free(valid);
    return g_string_free(out, FALSE);
}

void
pm_conv_filter(const pm_conv *c, bool events, char *buf, size_t len)
{
    /* RST is not a tcp.analysis flag, so it is named on its own. */
    g_snprintf(buf, (gulong)len, events ? "tcp.stream eq %u && (tcp.analysis.flags || tcp.flags.reset == 1)"
                                        : "tcp.stream eq %u", c->stream);
}

/* ---------------------------------------------------------------- report */

enum { T_START, T_HEADER, T_FILE, T_PACKETS, T_DURATION, T_RATE, T_FOUND,
       T_NONE_FOUND, T_TOP, T_COUNTERS, T_REASONS, T_NO_REASONS, T_UNKNOWN,
       T_LEVELS, T_DONE, T_EVIDENCE, T_FRAMES, T_AT, T_FILTER, T_COUNT };

static const char *const text_en[T_COUNT] = {
    "Starting analysis of file: %s\n",
    "--- TCP Health Detector Report ---\n",
    "File", "Packets", "Duration", "Rate",
    "Found %zu distinct TCP conversations.\n",
    "No TCP conversations found.\n",
    "Top %u conversations by SEVERITY:\n",
    "Pkts: %llu, Retrans.: %u, Out of order: %u, ZeroWin: %u, DupACK(ev\xe2\x89\xa5" "3): %u",
    "Reasons", "none", "(unknown)", "Levels",
    "--- ANALYSIS COMPLETE ---\n",
    "Evidence", "frames", "at", "Filter",
};

static const char *const events_en[PM_EV_COUNT] = {
    "retransmissions", "spurious retransmissions", "out of order", "zero window",
    "duplicate ACK events", "lost segments", "resets",
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
    "Razones", "ninguna", "(desconocido)", "Niveles",
    "--- AN\xc3\x81LISIS COMPLETADO ---\n",
    "Evidencia", "tramas", "en", "Filtro",
};

static const char *const events_es[PM_EV_COUNT] = {
    "retransmisiones", "retransmisiones espurias", "fuera de orden", "ventana cero",
    "eventos de ACK duplicado", "segmentos perdidos", "resets",
};

static const char *const level_color[4] = {
    "\x1b[32m", "\x1b[36m", "\x1b[33m", "\x1b[1;31m",
};

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

void
pm_render_report(const pm_model *m, const pm_render_opts *o, GString *out)
{
    const char *const *tx = o->lang == PM_LANG_ES ? text_es : text_en;
    const char *const *evn = o->lang == PM_LANG_ES ? events_es : events_en;
    char *file = o->file ? pm_sanitize_terminal(o->file) : g_strdup(tx[T_UNKNOWN]);
    uint64_t dur_ms = pm_summary_duration_ms(&m->summary);
    int64_t dur_us = m->summary.last_ts_us - m->summary.first_ts_us;
    size_t top = o->top < m->n ? o->top : m->n;

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

    if (m->n == 0) {
        g_string_append(out, tx[T_NONE_FOUND]);
    } else {
        g_string_append_printf(out, tx[T_FOUND], m->n);
        g_string_append_printf(out, "%s:", tx[T_LEVELS]);
        for (int l = PM_LEVEL_HIGH; l >= PM_LEVEL_OK; l--)
            g_string_append_printf(out, " %s %llu%s", pm_level_name((pm_level)l, o->lang),
                                   (unsigned long long)m->per_level[l], l ? " |" : "");
        g_string_append_c(out, '\n');
    }

    if (top > 0) {
        g_string_append_c(out, '\n');
        /* The requested N, as the original tool printed it. */
        g_string_append_printf(out, tx[T_TOP], o->top);
    }
    for (size_t i = 0; i < top; i++) {
        const pm_row *r = &m->rows[i];
        struct reason_line rl = { out, true };

        g_string_append(out, "  - [");
        if (o->color)
            g_string_append(out, level_color[r->verdict.level]);
        g_string_append(out, pm_level_name(r->verdict.level, o->lang));
        if (o->color)
            g_string_append(out, "\x1b[0m");
        g_string_append_printf(out, " | score=%u] %s\n", r->verdict.score, r->flow);
        append_dir(out, tx, "->", "C->S", &r->conv->dir[PM_C2S]);
        append_dir(out, tx, "<-", "S->C", &r->conv->dir[PM_S2C]);
        g_string_append_printf(out, "    %s:", tx[T_REASONS]);
        if (pm_reasons(&r->verdict, &r->totals, o->lang, append_reason, &rl) == 0)
            g_string_append_printf(out, " %s", tx[T_NO_REASONS]);
        g_string_append_c(out, '\n');
        append_evidence(out, tx, evn, r->conv);
    }
    g_string_append_c(out, '\n');
    g_string_append(out, tx[T_DONE]);
    g_free(file);
}

/* ------------------------------------------------------------------ JSON */

static void
json_uint(json_dumper *d, const char *name, uint64_t v)
{
    json_dumper_set_member_name(d, name);
    json_dumper_value_anyf(d, "%llu", (unsigned long long)v);
}

static void
json_dir(json_dumper *d, const char *name, const pm_dir_counters *c)
{
    json_dumper_set_member_name(d, name);
    json_dumper_begin_object(d);
    json_uint(d, "packets", c->packets);
    json_uint(d, "bytes", c->bytes);
    json_uint(d, "retransmissions", c->retransmissions);
    json_uint(d, "spurious_retransmissions", c->spurious_retransmissions);
    json_uint(d, "out_of_order", c->out_of_order);
    json_uint(d, "zero_window_events", c->zero_window_events);
    json_uint(d, "duplicate_ack_events", c->duplicate_ack_events);
    json_uint(d, "lost_segments", c->lost_segments);
    json_uint(d, "resets", c->resets);
    json_dumper_end_object(d);
}

static void
json_reason(const char *text, void *user)
{
    json_dumper_value_string(user, text);
}

/* Where to look: ready filters and the first frames of each event kind. */
static void
json_evidence(json_dumper *d, const pm_conv *c)
{
    char filter[PM_FILTER_STRLEN];

    json_dumper_set_member_name(d, "evidence");
    json_dumper_begin_object(d);
    pm_conv_filter(c, false, filter, sizeof filter);
    json_dumper_set_member_name(d, "filter");
    json_dumper_value_string(d, filter);
    pm_conv_filter(c, true, filter, sizeof filter);
    json_dumper_set_member_name(d, "events_filter");
    json_dumper_value_string(d, filter);
    json_dumper_set_member_name(d, "event_frames");
    json_dumper_begin_object(d);
    for (int i = 0; i < PM_EV_COUNT; i++) {
        json_dumper_set_member_name(d, pm_event_counter_name(i));
        json_dumper_begin_array(d);
        for (int j = 0; j < c->evidence_n[i]; j++)
            json_dumper_value_anyf(d, "%u", c->evidence[i][j]);
        json_dumper_end_array(d);
    }
    json_dumper_end_object(d);
    json_dumper_end_object(d);
}

static void
json_conv(json_dumper *d, const pm_row *r, pm_lang lang)
{
    json_dumper_begin_object(d);
    json_dumper_set_member_name(d, "flow");
    json_dumper_value_string(d, r->flow);
    json_uint(d, "stream", r->conv->stream);
    json_dumper_set_member_name(d, "score");
    json_dumper_begin_object(d);
    json_uint(d, "value", r->verdict.score);
    json_dumper_set_member_name(d, "level");
    json_dumper_value_string(d, pm_level_name(r->verdict.level, lang));
    json_dumper_end_object(d);
    json_dumper_set_member_name(d, "reasons");
    json_dumper_begin_array(d);
    pm_reasons(&r->verdict, &r->totals, lang, json_reason, d);
    json_dumper_end_array(d);
    json_dir(d, "c2s", &r->conv->dir[PM_C2S]);
    json_dir(d, "s2c", &r->conv->dir[PM_S2C]);
    json_uint(d, "first_frame", r->conv->first_frame);
    json_uint(d, "last_frame", r->conv->last_frame);
    json_evidence(d, r->conv);
    json_dumper_end_object(d);
}

bool
pm_render_json(const pm_model *m, const pm_render_opts *o, GString *out)
{
    json_dumper d = { 0 };

    d.output_string = out;
    /* Never abort the host program over a writer inconsistency: report
     * it through the return value instead. */
    d.flags = JSON_DUMPER_FLAGS_PRETTY_PRINT | JSON_DUMPER_FLAGS_NO_DEBUG;

    json_dumper_begin_object(&d);
    json_dumper_set_member_name(&d, "summary");
    json_dumper_begin_object(&d);
    json_dumper_set_member_name(&d, "schema");
    json_dumper_value_string(&d, PM_SCHEMA);
    json_dumper_set_member_name(&d, "file");
    if (o->file) {
        char *valid = g_utf8_make_valid(o->file, -1);

        json_dumper_value_string(&d, valid);
        g_free(valid);
    } else {
        json_dumper_value_anyf(&d, "null");
    }
    json_uint(&d, "packets_total", m->summary.packets_total);
    json_uint(&d, "duration_ms", pm_summary_duration_ms(&m->summary));
    json_dumper_end_object(&d);

    json_dumper_set_member_name(&d, "detectors");
    json_dumper_begin_object(&d);
    json_dumper_set_member_name(&d, "tcp_health");
    json_dumper_begin_object(&d);
    json_uint(&d, "conversations_total", m->n);
    json_dumper_set_member_name(&d, "conversations_by_level");
    json_dumper_begin_object(&d);
    for (int l = PM_LEVEL_HIGH; l >= PM_LEVEL_OK; l--)
        json_uint(&d, pm_level_name((pm_level)l, PM_LANG_EN), m->per_level[l]);
    json_dumper_end_object(&d);
    json_dumper_set_member_name(&d, "top_by_severity");
    json_dumper_begin_array(&d);
    for (size_t i = 0; i < m->n; i++)
        json_conv(&d, &m->rows[i], o->lang);
    json_dumper_end_array(&d);
    json_dumper_set_member_name(&d, "top_by_packets");
    json_dumper_begin_array(&d);
    for (size_t i = 0; i < m->n; i++)
        json_conv(&d, m->by_packets[i], o->lang);
    json_dumper_end_array(&d);
    json_dumper_end_object(&d);
    json_dumper_end_object(&d);
    json_dumper_end_object(&d);
    return json_dumper_finish(&d);
}
