/* pm_json.c
 * See pm_json.h. The layout rules are json_dumper's: an element inside a
 * container is preceded by "," when it is not the first, then a newline
 * and two spaces per open container; a member's value follows its
 * "name": on the same line; a non-empty container closes on a line of its
 * own, an empty one right after its opening bracket.
 *
 * Copyright (c) 2026 The PacketMancer authors
 * SPDX-License-Identifier: MIT
 */

#include "pm_json.h"

#include <stdarg.h>
#include <string.h>

enum { PM_JSON_OBJECT = 1, PM_JSON_ARRAY = 2, PM_JSON_NAMED = 4 };

static const char spaces[] = "                                                                ";

void
pm_json_init(pm_json *j, GString *out)
{
    memset(j, 0, sizeof *j);
    j->out = out;
}

static void
newline_indent(pm_json *j, int depth)
{
    size_t n = 2 * (size_t)depth;

    g_string_append_c(j->out, '\n');
    while (n > 0) {
        size_t k = MIN(n, sizeof spaces - 1);

        g_string_append_len(j->out, spaces, (gssize)k);
        n -= k;
    }
}

/* Comma, newline and indentation before an element, unless it is the
 * value of a member whose name was just written. */
static void
prepare(pm_json *j)
{
    uint8_t *parent;

    if (j->depth == 0)
        return;
    parent = &j->state[j->depth - 1];
    if (*parent & PM_JSON_NAMED) {
        *parent &= (uint8_t)~PM_JSON_NAMED;
        return;
    }
    if (j->state[j->depth])
        g_string_append_c(j->out, ',');
    newline_indent(j, j->depth);
}

static void
begin(pm_json *j, uint8_t kind, char open)
{
    prepare(j);
    if (j->depth >= PM_JSON_MAX_DEPTH) {
        j->error = true;
        return;
    }
    g_string_append_c(j->out, open);
    j->state[j->depth] = kind;
    j->depth++;
    j->state[j->depth] = 0;
}

static void
end(pm_json *j, uint8_t kind, char close)
{
    if (j->depth == 0 || (j->state[j->depth - 1] & 3) != kind ||
        (j->state[j->depth - 1] & PM_JSON_NAMED)) {
        j->error = true;
        return;
    }
    if (j->state[j->depth])
        newline_indent(j, j->depth - 1);
    g_string_append_c(j->out, close);
    j->depth--;
    j->state[j->depth] = kind;   /* the container is now an element */
}

void pm_json_begin_object(pm_json *j) { begin(j, PM_JSON_OBJECT, '{'); }
void pm_json_end_object(pm_json *j) { end(j, PM_JSON_OBJECT, '}'); }
void pm_json_begin_array(pm_json *j) { begin(j, PM_JSON_ARRAY, '['); }
void pm_json_end_array(pm_json *j) { end(j, PM_JSON_ARRAY, ']'); }

static void
put_escaped(GString *out, const char *s)
{
    static const char cntrl[0x20][6] = {
        "u0000", "u0001", "u0002", "u0003", "u0004", "u0005", "u0006", "u0007",
        "b",     "t",     "n",     "u000b", "f",     "r",     "u000e", "u000f",
        "u0010", "u0011", "u0012", "u0013", "u0014", "u0015", "u0016", "u0017",
        "u0018", "u0019", "u001a", "u001b", "u001c", "u001d", "u001e", "u001f",
    };
    const char *run = s;

    g_string_append_c(out, '"');
    for (const char *c = s; *c; c++) {
        unsigned char u = (unsigned char)*c;
        bool slash = u == '/' && c > s && c[-1] == '<';

        if (u >= 0x20 && u != '"' && u != '\\' && !slash)
            continue;
        g_string_append_len(out, run, c - run);
        g_string_append_c(out, '\\');
        if (u < 0x20)
            g_string_append(out, cntrl[u]);
        else
            g_string_append_c(out, (char)u);
        run = c + 1;
    }
    g_string_append(out, run);
    g_string_append_c(out, '"');
}

void
pm_json_member(pm_json *j, const char *name)
{
    if (j->depth == 0 || (j->state[j->depth - 1] & 3) != PM_JSON_OBJECT ||
        (j->state[j->depth - 1] & PM_JSON_NAMED)) {
        j->error = true;
        return;
    }
    prepare(j);
    put_escaped(j->out, name);
    g_string_append_len(j->out, ": ", 2);
    j->state[j->depth - 1] |= PM_JSON_NAMED;
}

static void
value_done(pm_json *j)
{
    j->state[j->depth] = 1;
}

void
pm_json_raw_len(pm_json *j, const char *text, size_t len)
{
    prepare(j);
    g_string_append_len(j->out, text, (gssize)len);
    value_done(j);
}

void
pm_json_raw(pm_json *j, const char *text)
{
    pm_json_raw_len(j, text, strlen(text));
}

void
pm_json_string(pm_json *j, const char *s)
{
    if (!s) {
        pm_json_raw(j, "null");
        return;
    }
    prepare(j);
    put_escaped(j->out, s);
    value_done(j);
}

/* Writes v's decimal digits so that they end just before end; returns
 * where they start. */
static char *
digits(char *end, uint64_t v)
{
    do {
        *--end = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return end;
}

void
pm_json_uint(pm_json *j, uint64_t v)
{
    char buf[24];
    char *p = digits(buf + sizeof buf, v);

    pm_json_raw_len(j, p, (size_t)(buf + sizeof buf - p));
}

void
pm_json_int(pm_json *j, int64_t v)
{
    char buf[24];
    char *p = digits(buf + sizeof buf, v < 0 ? 0 - (uint64_t)v : (uint64_t)v);

    if (v < 0)
        *--p = '-';
    pm_json_raw_len(j, p, (size_t)(buf + sizeof buf - p));
}

void
pm_json_printf(pm_json *j, const char *format, ...)
{
    va_list ap;

    prepare(j);
    va_start(ap, format);
    g_string_append_vprintf(j->out, format, ap);
    va_end(ap);
    value_done(j);
}

bool
pm_json_finish(pm_json *j)
{
    if (j->depth != 0)
        j->error = true;
    g_string_append_c(j->out, '\n');
    return !j->error;
}
