/* pm-merge.c
 * packetmancer-merge: combines the JSON documents of shards of one capture
 * (tshark -z packetmancer,json -o packetmancer.json_state:on, one per
 * shard made by packetmancer-split) into the document, or the human
 * report, that one run on the whole capture gives.
 *
 *   packetmancer-merge [--format json|report] [--top N] [--json-top N]
 *                      [--lang en|es] [--color] [--file NAME] [-o FILE]
 *                      [--map MAPFILE] PART.json [[--map MAPFILE] PART.json ...]
 *
 * Each document carries the raw state of its conversations and DNS pairs
 * (pm_state.h); the merge loads them all into one table, translates frame
 * numbers through each shard's map, numbers the conversations as
 * Wireshark numbers tcp.stream, and draws the outputs with the same core
 * code the plugin uses, so scores, levels, reasons and orders are
 * recomputed, not pasted. docs/MERGE.md has the details.
 *
 * Exit status: 0 done; 1 usage; 2 bad input (a part unreadable, not JSON,
 * without state, made with other settings, or a bad map); 3 the output
 * cannot be written.
 *
 * Copyright (c) 2026 The PacketMancer authors
 * SPDX-License-Identifier: MIT
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "pm_core.h"
#include "pm_dns.h"
#include "pm_output.h"
#include "pm_report.h"
#include "pm_state.h"
#include "pm_version.h"

#define ME "packetmancer-merge"

enum { EXIT_OK = 0, EXIT_USAGE = 1, EXIT_INPUT = 2, EXIT_OUTPUT = 3 };

static const char usage_text[] =
    "Usage: " ME " [OPTIONS] [--map MAPFILE] PART.json [[--map MAPFILE] PART.json ...]\n"
    "\n"
    "Merges PacketMancer JSON documents made with -o packetmancer.json_state:on from\n"
    "shards of one capture (packetmancer-split) into the document, or the report, that\n"
    "one run on the whole capture gives.\n"
    "\n"
    "  --format json|report  output a JSON document (default) or the human report\n"
    "  --top N               conversations and DNS pairs in the report (default 5)\n"
    "  --json-top N          conversations and pairs listed in the JSON (default 0: all;\n"
    "                        a document listing fewer cannot be merged again)\n"
    "  --lang en|es          language of levels and reasons (default: the first part's)\n"
    "  --color               colour the report's levels (ANSI)\n"
    "  --file NAME           capture file name to show (default: the first part's)\n"
    "  -o FILE               write to FILE (atomically) instead of standard output\n"
    "  --no-state            leave the state out of the JSON (as the plugin does by\n"
    "                        default; such a document cannot be merged again)\n"
    "  --report FILE         with --format json, also write the report to FILE (- for\n"
    "                        standard output): one merge for both outputs\n"
    "  --map MAPFILE         frame map of the next PART (shard-NNN.frames: the original\n"
    "                        frame number of each packet, little-endian uint32)\n"
    "  --help, --version\n"
    "\n"
    "Exit status: 0 done, 1 usage, 2 bad input, 3 output not written.\n";

static int
usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, ME ": ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n\n%s", usage_text);
    return EXIT_USAGE;
}

static bool
parse_unsigned(const char *s, unsigned *out)
{
    guint64 v;

    if (!g_ascii_string_to_unsigned(s, 10, 0, G_MAXUINT, &v, NULL))
        return false;
    *out = (unsigned)v;
    return true;
}

typedef struct part {
    const char *path;
    const char *map_path;   /* NULL: frame numbers as they are */
} part;

/* Reads a frame map: little-endian uint32, one per packet of the shard,
 * each an original frame number (from 1), increasing as the shard keeps
 * the capture's order. NULL with a message on anything else. */
static uint32_t *
read_map(const char *path, size_t *n, char **err)
{
    gchar *data;
    gsize len;
    GError *e = NULL;
    uint32_t *map;

    if (!g_file_get_contents(path, &data, &len, &e)) {
        *err = g_strdup(e->message);
        g_error_free(e);
        return NULL;
    }
    if (len % 4) {
        *err = g_strdup_printf("%zu bytes, not a whole number of 4-byte frame numbers", (size_t)len);
        g_free(data);
        return NULL;
    }
    *n = len / 4;
    map = g_new(uint32_t, *n ? *n : 1);
    for (size_t i = 0; i < *n; i++) {
        const guint8 *b = (const guint8 *)data + 4 * i;

        map[i] = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
        if (map[i] == 0 || (i > 0 && map[i] <= map[i - 1])) {
            *err = g_strdup_printf("entry %zu (frame %u) is %s", i + 1, map[i],
                                   map[i] == 0 ? "0, not a frame number"
                                               : "not above the one before: not a shard's map");
            g_free(map);
            g_free(data);
            return NULL;
        }
    }
    g_free(data);
    return map;
}

/* Draws one output of the merged tables into path (NULL: standard
 * output): the JSON document, or the report, listing the first `keep` of
 * each order. */
static int
write_output(const pm_table *t, const pm_dns_table *d, const pm_state_doc *first,
             const pm_render_opts *o, bool json, size_t keep, const char *path)
{
    pm_model *m = pm_model_build_top(t, &first->score, keep);
    int status = EXIT_OK;
    pm_output out;
    bool ok;

    if (first->dns_health)
        pm_model_add_dns_top(m, d, &first->dns, keep);
    /* Through a temporary file renamed over path once complete, so a
     * failed merge never leaves a half document where a good one was. */
    if (!pm_output_open(&out, path)) {
        fprintf(stderr, ME ": cannot write %s: %s\n", path, g_strerror(errno));
        status = EXIT_OUTPUT;
    } else {
        if (json) {
            ok = pm_render_json_file(m, o, out.f);
        } else {
            GString *text = g_string_new(NULL);

            pm_render_report(m, o, text);
            ok = fwrite(text->str, 1, text->len, out.f) == text->len;
            g_string_free(text, TRUE);
        }
        if (!pm_output_close(&out, ok)) {
            fprintf(stderr, ME ": cannot write %s: %s\n", path ? path : "standard output",
                    errno ? g_strerror(errno) : "write error");
            status = EXIT_OUTPUT;
        }
    }
    pm_model_free(m);
    return status;
}

int
main(int argc, char **argv)
{
    const char *format = "json", *lang = NULL, *file = NULL, *out_path = NULL, *map = NULL;
    const char *report_path = NULL;
    unsigned top = 5, json_top = 0;
    bool color = false, state = true, report_wanted = false;
    GArray *parts = g_array_new(FALSE, FALSE, sizeof(part));
    pm_table *t;
    pm_dns_table *d;
    pm_state_doc first = { 0 };
    uint32_t next_stream = 0;
    int status = EXIT_OK;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_value = i + 1 < argc;

        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage_text, stdout);
            return EXIT_OK;
        } else if (strcmp(a, "--version") == 0) {
            printf(ME " %s\n", PM_VERSION);
            return EXIT_OK;
        } else if (strcmp(a, "--color") == 0) {
            color = true;
        } else if (strcmp(a, "--no-state") == 0) {
            state = false;
        } else if (strcmp(a, "--format") == 0 || strcmp(a, "--top") == 0 ||
                   strcmp(a, "--json-top") == 0 || strcmp(a, "--lang") == 0 ||
                   strcmp(a, "--file") == 0 || strcmp(a, "-o") == 0 || strcmp(a, "--map") == 0 ||
                   strcmp(a, "--report") == 0) {
            const char *v;

            if (!has_value)
                return usage_error("%s needs a value", a);
            v = argv[++i];
            if (strcmp(a, "--format") == 0) {
                if (strcmp(v, "json") != 0 && strcmp(v, "report") != 0)
                    return usage_error("--format is json or report, not \"%s\"", v);
                format = v;
            } else if (strcmp(a, "--top") == 0) {
                if (!parse_unsigned(v, &top))
                    return usage_error("--top needs a number, not \"%s\"", v);
            } else if (strcmp(a, "--json-top") == 0) {
                if (!parse_unsigned(v, &json_top))
                    return usage_error("--json-top needs a number, not \"%s\"", v);
            } else if (strcmp(a, "--lang") == 0) {
                if (strcmp(v, "en") != 0 && strcmp(v, "es") != 0)
                    return usage_error("--lang is en or es, not \"%s\"", v);
                lang = v;
            } else if (strcmp(a, "--file") == 0) {
                file = v;
            } else if (strcmp(a, "-o") == 0) {
                out_path = v;
            } else if (strcmp(a, "--report") == 0) {
                report_path = strcmp(v, "-") == 0 ? NULL : v;
                report_wanted = true;
            } else {
                if (map)
                    return usage_error("two --map options before one part (%s)", v);
                map = v;
            }
        } else if (a[0] == '-' && a[1] != '\0') {
            return usage_error("unknown option %s", a);
        } else {
            part p = { a, map };

            g_array_append_val(parts, p);
            map = NULL;
        }
    }
    if (map)
        return usage_error("--map %s is not followed by a part", map);
    if (parts->len == 0)
        return usage_error("%s", "no part to merge");
    if (report_wanted && strcmp(format, "json") != 0)
        return usage_error("%s", "--report goes with --format json");
    if (report_wanted && !report_path && !out_path)
        return usage_error("%s", "--report - and the JSON cannot both go to standard output (use -o)");

    t = pm_table_new();
    d = pm_dns_table_new();
    for (guint i = 0; i < parts->len && status == EXIT_OK; i++) {
        const part *p = &g_array_index(parts, part, i);
        pm_state_doc doc;
        uint32_t *frames = NULL;
        size_t nframes = 0;
        gchar *buf;
        gsize len;
        GError *e = NULL;
        char *err = NULL;
        const char *diff;

        if (p->map_path && !(frames = read_map(p->map_path, &nframes, &err))) {
            fprintf(stderr, ME ": %s: bad frame map: %s\n", p->map_path, err);
            g_free(err);
            status = EXIT_INPUT;
            break;
        }
        if (!g_file_get_contents(p->path, &buf, &len, &e)) {
            fprintf(stderr, ME ": %s\n", e->message);
            g_error_free(e);
            g_free(frames);
            status = EXIT_INPUT;
            break;
        }
        if (!pm_state_load(buf, len, frames, nframes, t, d, &next_stream, &doc, &err)) {
            fprintf(stderr, ME ": %s: %s\n", p->path, err);
            g_free(err);
            status = EXIT_INPUT;
        } else if (i == 0) {
            first = doc;
            memset(&doc, 0, sizeof doc);
        } else if ((diff = pm_state_doc_mismatch(&first, &doc))) {
            fprintf(stderr, ME ": %s: made with another %s than %s; parts of one merge must "
                    "come from the same plugin, Wireshark and settings\n",
                    p->path, diff, g_array_index(parts, part, 0).path);
            status = EXIT_INPUT;
        }
        pm_state_doc_clear(&doc);
        g_free(buf);
        g_free(frames);
    }

    if (status == EXIT_OK) {
        bool json = strcmp(format, "json") == 0;
        /* As the plugin does: only what an output lists is selected. */
        size_t keep = json ? json_top : MAX(top, 1);
        size_t ties = pm_table_renumber(t);
        pm_render_opts o = {
            .file = file ? file : first.file,
            .top = top,
            .lang = lang ? (strcmp(lang, "es") == 0 ? PM_LANG_ES : PM_LANG_EN) : first.lang,
            .color = color,
            .wireshark_version = first.wireshark_version,
            .plugin_version = first.plugin_version,
            .params = &first.score,
            .no_tcp_health = !first.tcp_health,
            .json_top = json_top,
            .state = state,    /* by default, so that merged documents merge again */
            .has_dup_window = first.has_dup_window,
            .dup_window_ms = first.dup_window_ms,
        };
        if (ties)
            fprintf(stderr, ME ": warning: %zu conversations start at the same frame as another: "
                    "were the parts' --map files given?\n", ties);
        status = write_output(t, d, &first, &o, json, keep, out_path);
        /* The report lists its own top: a model of its own, cheap next to
         * reading the parts. */
        if (status == EXIT_OK && report_wanted) {
            o.state = false;
            status = write_output(t, d, &first, &o, false, MAX(top, 1), report_path);
        }
    }
    pm_state_doc_clear(&first);
    pm_table_free(t);
    pm_dns_table_free(d);
    g_array_free(parts, TRUE);
    return status;
}
