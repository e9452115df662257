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

#include <math.h>
#include <stdarg.h>
#include <string.h>

enum { PM_JSON_OBJECT = 1, PM_JSON_ARRAY = 2, PM_JSON_NAMED = 4 };

/* A newline and the deepest indentation the writer allows. */
static const char nl_spaces[] =
    "\n                                                                ";
G_STATIC_ASSERT(sizeof nl_spaces - 2 >= 2 * PM_JSON_MAX_DEPTH);

/* The document is made of many short pieces (a member name, a number):
 * g_string_append_len's general insert path cost more per piece than the
 * piece itself, so pieces are written straight into the GString's spare
 * room (GString's len and allocated_len are public). reserve() makes room
 * for n more bytes and returns where they go; done() sets the new end. */
static char *
reserve(GString *out, size_t n)
{
    size_t len = out->len;

    if (len + n >= out->allocated_len) {
        g_string_set_size(out, len + n);
        out->len = len;
    }
    return out->str + len;
}

static void
done(GString *out, char *end)
{
    out->len = (gsize)(end - out->str);
    *end = '\0';
}

static void
put(GString *out, const char *s, size_t n)
{
    char *p = reserve(out, n);

    memcpy(p, s, n);
    done(out, p + n);
}

void
pm_json_init(pm_json *j, GString *out)
{
    memset(j, 0, sizeof *j);
    j->out = out;
}

/* The comma (unless the element is its container's first), newline and
 * indentation before an element, written at p (room: SEPARATOR_MAX);
 * returns the end. */
#define SEPARATOR_MAX(j) (2 + 2 * (size_t)(j)->depth)

static char *
separator(const pm_json *j, char *p)
{
    size_t n = 1 + 2 * (size_t)j->depth;

    if (j->state[j->depth])
        *p++ = ',';
    memcpy(p, nl_spaces, n);
    return p + n;
}

/* Comma, newline and indentation before an element, unless it is the
 * value of a member whose name was just written. */
static void
prepare(pm_json *j)
{
    uint8_t *parent;
    char *p;

    if (j->depth == 0)
        return;
    parent = &j->state[j->depth - 1];
    if (*parent & PM_JSON_NAMED) {
        *parent &= (uint8_t)~PM_JSON_NAMED;
        return;
    }
    p = reserve(j->out, SEPARATOR_MAX(j));
    done(j->out, separator(j, p));
}

static void
begin(pm_json *j, uint8_t kind, char open)
{
    prepare(j);
    if (j->depth >= PM_JSON_MAX_DEPTH) {
        j->error = true;
        return;
    }
    put(j->out, &open, 1);
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
        put(j->out, nl_spaces, 1 + 2 * (size_t)(j->depth - 1));
    put(j->out, &close, 1);
    j->depth--;
    j->state[j->depth] = kind;   /* the container is now an element */
}

void pm_json_begin_object(pm_json *j) { begin(j, PM_JSON_OBJECT, '{'); }
void pm_json_end_object(pm_json *j) { end(j, PM_JSON_OBJECT, '}'); }
void pm_json_begin_array(pm_json *j) { begin(j, PM_JSON_ARRAY, '['); }
void pm_json_end_array(pm_json *j) { end(j, PM_JSON_ARRAY, ']'); }

/* Whether a byte ends a run that can be copied as it is: the C0
 * controls, quote and backslash always, '/' only after '<' (checked by
 * the caller), and the terminating NUL. */
static const uint8_t stop[256] = {
    [0x00] = 1, [0x01] = 1, [0x02] = 1, [0x03] = 1, [0x04] = 1, [0x05] = 1, [0x06] = 1, [0x07] = 1,
    [0x08] = 1, [0x09] = 1, [0x0a] = 1, [0x0b] = 1, [0x0c] = 1, [0x0d] = 1, [0x0e] = 1, [0x0f] = 1,
    [0x10] = 1, [0x11] = 1, [0x12] = 1, [0x13] = 1, [0x14] = 1, [0x15] = 1, [0x16] = 1, [0x17] = 1,
    [0x18] = 1, [0x19] = 1, [0x1a] = 1, [0x1b] = 1, [0x1c] = 1, [0x1d] = 1, [0x1e] = 1, [0x1f] = 1,
    ['"'] = 1, ['\\'] = 1, ['/'] = 1,
};

/* strlen(s) when nothing in s needs escaping, else SIZE_MAX ('/' is
 * treated as needing it: rare in names, and the slow path checks for
 * "</"). */
static size_t
plain_len(const char *s)
{
    size_t n = 0;

    while (!stop[(unsigned char)s[n]])
        n++;
    return s[n] == '\0' ? n : SIZE_MAX;
}

static void
put_escaped(GString *out, const char *s)
{
    static const char cntrl[0x20][6] = {
        "u0000", "u0001", "u0002", "u0003", "u0004", "u0005", "u0006", "u0007",
        "b",     "t",     "n",     "u000b", "f",     "r",     "u000e", "u000f",
        "u0010", "u0011", "u0012", "u0013", "u0014", "u0015", "u0016", "u0017",
        "u0018", "u0019", "u001a", "u001b", "u001c", "u001d", "u001e", "u001f",
    };
    const char *run = s, *c = s;
    size_t n = plain_len(s);
    char *p;

    if (n != SIZE_MAX) {
        /* Nothing to escape, the usual case: one copy. */
        p = reserve(out, n + 2);
        *p++ = '"';
        memcpy(p, s, n);
        p[n] = '"';
        done(out, p + n + 1);
        return;
    }
    put(out, "\"", 1);
    for (;;) {
        unsigned char u;

        while (!stop[(unsigned char)*c])
            c++;
        u = (unsigned char)*c;
        if (u == '\0')
            break;
        if (u == '/' && !(c > s && c[-1] == '<')) {
            c++;
            continue;
        }
        put(out, run, (size_t)(c - run));
        if (u < 0x20) {
            put(out, "\\", 1);
            put(out, cntrl[u], strlen(cntrl[u]));
        } else {
            char e[2] = { '\\', (char)u };

            put(out, e, 2);
        }
        run = ++c;
    }
    put(out, run, (size_t)(c - run));
    put(out, "\"", 1);
}

/* What prepare() and put_escaped() write for a member, in one copy: a
 * document has tens of members per conversation. */
static bool
member_fast(pm_json *j, const char *name)
{
    size_t len = plain_len(name);
    char *p;

    if (len == SIZE_MAX)
        return false;
    p = reserve(j->out, SEPARATOR_MAX(j) + len + 4);
    p = separator(j, p);
    *p++ = '"';
    memcpy(p, name, len);
    p += len;
    memcpy(p, "\": ", 3);
    done(j->out, p + 3);
    j->state[j->depth - 1] |= PM_JSON_NAMED;
    return true;
}

void
pm_json_member(pm_json *j, const char *name)
{
    if (j->depth == 0 || (j->state[j->depth - 1] & 3) != PM_JSON_OBJECT ||
        (j->state[j->depth - 1] & PM_JSON_NAMED)) {
        j->error = true;
        return;
    }
    if (member_fast(j, name))
        return;
    prepare(j);
    put_escaped(j->out, name);
    put(j->out, ": ", 2);
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
    put(j->out, text, len);
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

char *
pm_uint_digits(char *end, uint64_t v)
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
    char *p = pm_uint_digits(buf + sizeof buf, v);

    pm_json_raw_len(j, p, (size_t)(buf + sizeof buf - p));
}

void
pm_json_int(pm_json *j, int64_t v)
{
    char buf[24];
    char *p = pm_uint_digits(buf + sizeof buf, v < 0 ? 0 - (uint64_t)v : (uint64_t)v);

    if (v < 0)
        *--p = '-';
    pm_json_raw_len(j, p, (size_t)(buf + sizeof buf - p));
}

/* "%.3f" through printf cost ~2,400 instructions a number. Away from a
 * tie, the nearest thousandth of v is the nearest integer to v * 1000:
 * below 1e9 the product is within 2^-14 of the exact one, so when its
 * fraction is more than 1/1000 from one half both round the same way.
 * Ties, negative zero, large and non-finite values go to printf. */
void
pm_json_fixed3(pm_json *j, double v)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];

    if (v >= 0.0 && v < 1e9 && !signbit(v)) {
        double x = v * 1000.0, f = floor(x), frac = x - f;

        if (fabs(frac - 0.5) > 1e-3) {
            uint64_t r = (uint64_t)f + (frac > 0.5);
            char *end = buf + sizeof buf, *p = end - 4;

            p[0] = '.';
            p[1] = (char)('0' + r / 100 % 10);
            p[2] = (char)('0' + r / 10 % 10);
            p[3] = (char)('0' + r % 10);
            p = pm_uint_digits(p, r / 1000);
            pm_json_raw_len(j, p, (size_t)(end - p));
            return;
        }
    }
    pm_json_raw(j, g_ascii_formatd(buf, sizeof buf, "%.3f", v));
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
