/* test_hostile.c
 * CUnit tests: strings from a capture that try to break an output.
 *
 * A DNS query name (and the capture's file name) is text an attacker
 * chooses. Fed straight into the core (pm_dns_add with name + name_len,
 * so NUL bytes too), it must come out of the JSON document escaped, so that
 * a strict parser decodes exactly the name that went in (made valid
 * UTF-8), and out of the human report with nothing a terminal would
 * execute: no C0 control but the report's own newlines, no DEL, no C1, no
 * bidirectional override, valid UTF-8.
 *
 * The expected texts are written out by hand below; the rules they follow
 * are those of pm_dns.c (name_store) and pm_report.c (json_text,
 * pm_sanitize_terminal):
 *   - a NUL inside a name is kept as the four characters \000;
 *   - a name is cut to PM_DNS_NAME_MAX (255) bytes, never inside \000;
 *   - bytes that are not UTF-8 become U+FFFD (one per byte here);
 *   - JSON: quote and backslash escaped, every control character
 *     (C0, DEL, C1) and the hidden ones (bidi controls, U+2028/U+2029)
 *     written \uXXXX, or \b \t \n \f \r where JSON has those, "</"
 *     written "<\/";
 *   - report: each of those control characters becomes '?'.
 *
 * Copyright (c) 2026 The PacketMancer authors
 * SPDX-License-Identifier: MIT
 */

#include <stdio.h>
#include <string.h>

#include <glib.h>
#include <CUnit/Basic.h>

#include "pm_dns.h"
#include "pm_names.h"
#include "pm_report.h"

#define FFFD "\xef\xbf\xbd"        /* U+FFFD REPLACEMENT CHARACTER in UTF-8 */

/* ------------------------------------------------------------ checkers */

/* A strict RFC 8259 reader, small on purpose: it accepts a document only
 * if it is valid UTF-8, every string is closed and carries no raw control
 * character, every escape is one of JSON's, and nothing follows the
 * value. It decodes each string (escapes and surrogate pairs) into
 * `strings`, so a test can ask for the exact text a JSON reader gets. */
typedef struct jcur {
    const char *s;
    size_t i, n;
    GPtrArray *strings;   /* decoded strings, member names included */
} jcur;

static bool jvalue(jcur *c, int depth);

static void
jws(jcur *c)
{
    while (c->i < c->n && strchr(" \t\r\n", c->s[c->i]))
        c->i++;
}

static bool
jlit(jcur *c, const char *word)
{
    size_t l = strlen(word);

    if (c->n - c->i < l || strncmp(c->s + c->i, word, l) != 0)
        return false;
    c->i += l;
    return true;
}

static int
jhex4(jcur *c)
{
    int v = 0;

    if (c->n - c->i < 4)
        return -1;
    for (int k = 0; k < 4; k++) {
        int d = g_ascii_xdigit_value(c->s[c->i++]);

        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

static bool
jstring(jcur *c)
{
    GString *out = g_string_new(NULL);

    if (c->i >= c->n || c->s[c->i] != '"')
        goto bad;
    c->i++;
    while (c->i < c->n && c->s[c->i] != '"') {
        unsigned char ch = (unsigned char)c->s[c->i];

        if (ch < 0x20)
            goto bad;                       /* must have been escaped */
        if (ch != '\\') {
            g_string_append_c(out, (char)ch);
            c->i++;
            continue;
        }
        if (++c->i >= c->n)
            goto bad;
        switch (c->s[c->i++]) {
        case '"': g_string_append_c(out, '"'); break;
        case '\\': g_string_append_c(out, '\\'); break;
        case '/': g_string_append_c(out, '/'); break;
        case 'b': g_string_append_c(out, '\b'); break;
        case 'f': g_string_append_c(out, '\f'); break;
        case 'n': g_string_append_c(out, '\n'); break;
        case 'r': g_string_append_c(out, '\r'); break;
        case 't': g_string_append_c(out, '\t'); break;
        case 'u': {
            int u = jhex4(c);

            if (u < 0 || (u >= 0xdc00 && u <= 0xdfff))
                goto bad;
            if (u >= 0xd800 && u <= 0xdbff) {   /* a surrogate pair */
                int lo;

                if (!jlit(c, "\\u") || (lo = jhex4(c)) < 0xdc00 || lo > 0xdfff)
                    goto bad;
                u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
            }
            if (u == 0)
                goto bad;   /* a decoded NUL cannot be compared as a C string */
            g_string_append_unichar(out, (gunichar)u);
            break;
        }
        default:
            goto bad;
        }
    }
    if (c->i >= c->n)
        goto bad;
    c->i++;
    g_ptr_array_add(c->strings, g_string_free(out, FALSE));
    return true;
bad:
    g_string_free(out, TRUE);
    return false;
}

static bool
jnumber(jcur *c)
{
    size_t start = c->i;

    if (c->i < c->n && c->s[c->i] == '-')
        c->i++;
    if (c->i < c->n && c->s[c->i] == '0')
        c->i++;
    else if (c->i < c->n && c->s[c->i] >= '1' && c->s[c->i] <= '9')
        while (c->i < c->n && g_ascii_isdigit(c->s[c->i]))
            c->i++;
    else
        return false;
    if (c->i < c->n && c->s[c->i] == '.') {
        c->i++;
        if (c->i >= c->n || !g_ascii_isdigit(c->s[c->i]))
            return false;
        while (c->i < c->n && g_ascii_isdigit(c->s[c->i]))
            c->i++;
    }
    if (c->i < c->n && (c->s[c->i] == 'e' || c->s[c->i] == 'E')) {
        c->i++;
        if (c->i < c->n && (c->s[c->i] == '+' || c->s[c->i] == '-'))
            c->i++;
        if (c->i >= c->n || !g_ascii_isdigit(c->s[c->i]))
            return false;
        while (c->i < c->n && g_ascii_isdigit(c->s[c->i]))
            c->i++;
    }
    return c->i > start;
}

static bool
jcontainer(jcur *c, int depth, char close)
{
    c->i++;
    jws(c);
    if (c->i < c->n && c->s[c->i] == close) {
        c->i++;
        return true;
    }
    for (;;) {
        if (close == '}') {
            if (!jstring(c))
                return false;
            jws(c);
            if (c->i >= c->n || c->s[c->i++] != ':')
                return false;
            jws(c);
        }
        if (!jvalue(c, depth + 1))
            return false;
        jws(c);
        if (c->i < c->n && c->s[c->i] == ',') {
            c->i++;
            jws(c);
            continue;
        }
        if (c->i < c->n && c->s[c->i] == close) {
            c->i++;
            return true;
        }
        return false;
    }
}

static bool
jvalue(jcur *c, int depth)
{
    if (depth > 64 || c->i >= c->n)
        return false;
    switch (c->s[c->i]) {
    case '{': return jcontainer(c, depth, '}');
    case '[': return jcontainer(c, depth, ']');
    case '"': return jstring(c);
    case 't': return jlit(c, "true");
    case 'f': return jlit(c, "false");
    case 'n': return jlit(c, "null");
    default: return jnumber(c);
    }
}

/* Parses text; on success returns its decoded strings (free with
 * g_ptr_array_unref), on any error NULL. */
static GPtrArray *
json_strings(const char *text)
{
    jcur c = { text, 0, strlen(text), g_ptr_array_new_with_free_func(g_free) };

    if (!g_utf8_validate(text, -1, NULL))
        goto bad;
    jws(&c);
    if (!jvalue(&c, 0))
        goto bad;
    jws(&c);
    if (c.i != c.n)
        goto bad;
    return c.strings;
bad:
    g_ptr_array_unref(c.strings);
    return NULL;
}

static bool
has_string(const GPtrArray *a, const char *s)
{
    for (guint i = 0; a && i < a->len; i++)
        if (strcmp(g_ptr_array_index(a, i), s) == 0)
            return true;
    return false;
}

/* The characters no output may carry raw: C0 (but the caller's allowed
 * ones), DEL, C1, bidirectional controls, line/paragraph separators. */
static bool
hidden(gunichar u, const char *allowed)
{
    if (u < 0x20)
        return !strchr(allowed, (int)u);
    return (u >= 0x7f && u <= 0x9f) || u == 0x061c || u == 0x200e || u == 0x200f ||
           (u >= 0x202a && u <= 0x202e) || (u >= 0x2066 && u <= 0x2069) ||
           u == 0x2028 || u == 0x2029;
}

/* Valid UTF-8 and nothing hidden but the characters in allowed. */
static bool
text_safe(const char *s, const char *allowed)
{
    if (!g_utf8_validate(s, -1, NULL))
        return false;
    for (const char *c = s; *c; c = g_utf8_next_char(c))
        if (hidden(g_utf8_get_char(c), allowed))
            return false;
    return true;
}

/* The checkers must reject what they are there to catch, or every test
 * below could pass for nothing. */
static void
test_checkers(void)
{
    GPtrArray *a = json_strings("{\"k\\u00e9\": [\"a\\u001b[31m\\\\\", 1.5e-3, true, null,"
                                " \"\\ud83d\\ude00<\\/\"]}\n");

    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT(has_string(a, "k\xc3\xa9"));
    CU_ASSERT(has_string(a, "a\x1b[31m\\"));
    CU_ASSERT(has_string(a, "\xf0\x9f\x98\x80</"));     /* U+1F600 from a pair */
    g_ptr_array_unref(a);
    CU_ASSERT_PTR_NULL(json_strings("{\"a\": \"x\ny\"}"));      /* raw newline */
    CU_ASSERT_PTR_NULL(json_strings("{\"a\": \"x\x1by\"}"));    /* raw ESC */
    CU_ASSERT_PTR_NULL(json_strings("{\"a\": \"\\x1b\"}"));     /* not a JSON escape */
    CU_ASSERT_PTR_NULL(json_strings("{\"a\": \"\xff\"}"));      /* not UTF-8 */
    CU_ASSERT_PTR_NULL(json_strings("{\"a\": \"\\ud800\"}"));   /* lone surrogate */
    CU_ASSERT_PTR_NULL(json_strings("{\"a\": \"x}"));           /* unclosed */
    CU_ASSERT_PTR_NULL(json_strings("{\"a\": 1,}"));
    CU_ASSERT_PTR_NULL(json_strings("{\"a\": 1} x"));
    CU_ASSERT_PTR_NULL(json_strings("[01]"));

    CU_ASSERT(text_safe("ok\nline\n", "\n"));
    CU_ASSERT(text_safe("m\xc3\xbcnchen " FFFD, "\n"));
    CU_ASSERT(!text_safe("a\tb", "\n"));
    CU_ASSERT(!text_safe("a\rb", "\n"));
    CU_ASSERT(!text_safe("\x1b[31m", "\n"));
    CU_ASSERT(!text_safe("del\x7f", "\n"));
    CU_ASSERT(!text_safe("c1\xc2\x9b", "\n"));             /* U+009B */
    CU_ASSERT(!text_safe("c1\x9b", "\n"));                 /* not UTF-8 */
    CU_ASSERT(!text_safe("rlo\xe2\x80\xae", "\n"));        /* U+202E */
    CU_ASSERT(!text_safe("ls\xe2\x80\xa8", "\n"));         /* U+2028 */
}

/* ------------------------------------------------------- the terminal */

static void
check_sanitized(const char *in, const char *expected)
{
    char *got = pm_sanitize_terminal(in);

    CU_ASSERT_STRING_EQUAL(got, expected);
    CU_ASSERT(text_safe(got, ""));
    g_free(got);
}

static void
test_sanitize(void)
{
    check_sanitized(NULL, "");
    check_sanitized("www.example.com", "www.example.com");
    check_sanitized("say\"hi\" back\\slash </script>", "say\"hi\" back\\slash </script>");
    /* ESC loses its power: the rest of the sequence is plain text. */
    check_sanitized("\x1b[31mred\x1b[0m", "?[31mred?[0m");
    check_sanitized("\x1b]0;pwned\x07", "?]0;pwned?");           /* OSC title, BEL */
    check_sanitized("a\nb\rc\td\be", "a?b?c?d?e");
    check_sanitized("del\x7f", "del?");
    check_sanitized("c1\xc2\x9b" "31m", "c1?31m");              /* U+009B CSI */
    check_sanitized("c1\xc2\x80\xc2\x9f", "c1??");              /* C1 ends */
    /* A lone 0x9b byte is not UTF-8: it becomes U+FFFD, never a CSI. */
    check_sanitized("c1\x9b" "31m", "c1" FFFD "31m");
    check_sanitized("bad\xff\xfe\xc3(", "bad" FFFD FFFD FFFD "(");
    /* Bidi controls and separators would rearrange or break the line. */
    check_sanitized("bidi\xe2\x80\xae" "exe.txt", "bidi?exe.txt");
    check_sanitized("\xe2\x81\xa6x\xe2\x81\xa9\xe2\x80\x8e\xe2\x80\x8f\xd8\x9c", "?x????");
    check_sanitized("a\xe2\x80\xa8" "b\xe2\x80\xa9", "a?b?");
    /* Letters of any script stay, right-to-left ones included. */
    check_sanitized("m\xc3\xbcnchen \xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d", "m\xc3\xbcnchen \xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d");
}

/* ------------------------------------------------------------ the core */

static pm_endpoint
host(unsigned last)
{
    pm_endpoint e;

    memset(&e, 0, sizeof e);
    e.family = 4;
    e.addr[0] = 10;
    e.addr[1] = 2;
    e.addr[3] = (uint8_t)last;
    e.port = 53;
    return e;
}

static uint32_t frame_no;

/* One query (or response) with a name of exactly len bytes, which may hold
 * NUL bytes. Returns the frame number. */
static uint32_t
dns_msg(pm_dns_table *t, unsigned client, bool response, uint8_t rcode, uint32_t to,
        const char *name, size_t len)
{
    pm_dns_msg m;

    memset(&m, 0, sizeof m);
    m.frame = ++frame_no;
    m.src = host(response ? 53 : client);
    m.dst = host(response ? client : 53);
    m.response = response;
    m.rcode = rcode;
    m.response_to = to;
    m.time_ms = response ? 5.0f : -1.0f;
    m.name = name;
    m.name_len = len;
    pm_dns_add(t, &m, NULL, NULL, 0);
    return m.frame;
}

#define NAME(s) (s), sizeof(s) - 1      /* a literal with its NUL bytes */

static const pm_dns_pair *
pair_of(const pm_dns_table *t, unsigned client)
{
    pm_endpoint c = host(client), s = host(53);

    return pm_dns_lookup(t, &c, &s);
}

/* A NUL inside a name: kept as \000, the name still matches itself, and
 * two names that differ after the NUL stay two names. */
static void
test_nul_names(void)
{
    pm_dns_table *t = pm_dns_table_new();
    pm_dns_name_count names[PM_DNS_PENDING];
    const pm_dns_pair *p;
    uint32_t q;
    size_t n;

    frame_no = 0;
    for (int i = 0; i < 3; i++) {
        q = dns_msg(t, 1, false, 0, 0, NAME("ab\0cd.example"));
        dns_msg(t, 1, true, 3, q, NAME("ab\0cd.example"));
    }
    q = dns_msg(t, 1, false, 0, 0, NAME("ab\0ce.example"));
    dns_msg(t, 1, true, 3, q, NAME("ab\0ce.example"));
    p = pair_of(t, 1);
    n = pm_dns_top(p, PM_OUT_NXDOMAIN, names);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    CU_ASSERT_STRING_EQUAL(names[0].name, "ab\\000cd.example");
    CU_ASSERT_EQUAL(names[0].count, 3);
    CU_ASSERT_STRING_EQUAL(names[1].name, "ab\\000ce.example");
    CU_ASSERT_EQUAL(names[1].count, 1);
    CU_ASSERT_EQUAL(pm_dns_top(p, PM_OUT_UNANSWERED, names), 0);

    /* A response that names its query but not its frame settles it by
     * name, NUL and all. */
    dns_msg(t, 2, false, 0, 0, NAME("nul\0byte.example"));
    p = pair_of(t, 2);
    CU_ASSERT_EQUAL_FATAL(pm_dns_top(p, PM_OUT_UNANSWERED, names), 1);
    CU_ASSERT_STRING_EQUAL(names[0].name, "nul\\000byte.example");
    dns_msg(t, 2, true, 2, 0, NAME("nul\0byte.example"));
    CU_ASSERT_EQUAL(pm_dns_top(p, PM_OUT_UNANSWERED, names), 0);
    CU_ASSERT_EQUAL(pm_dns_top(p, PM_OUT_SERVFAIL, names), 1);
    pm_dns_table_free(t);
}

/* The 255-byte cut never splits \000: 251 letters + \000 fill 255 bytes
 * exactly; with 252 letters it no longer fits and the name ends there. */
static void
test_cut(void)
{
    pm_dns_table *t = pm_dns_table_new();
    pm_dns_name_count names[PM_DNS_PENDING];
    char name[300];

    frame_no = 0;
    memset(name, 'a', sizeof name);
    name[251] = '\0';
    dns_msg(t, 1, false, 0, 0, name, 260);
    CU_ASSERT_EQUAL_FATAL(pm_dns_top(pair_of(t, 1), PM_OUT_UNANSWERED, names), 1);
    CU_ASSERT_EQUAL(strlen(names[0].name), 255);
    CU_ASSERT_STRING_EQUAL(names[0].name + 251, "\\000");

    name[251] = 'a';
    name[252] = '\0';
    dns_msg(t, 2, false, 0, 0, name, 260);
    CU_ASSERT_EQUAL_FATAL(pm_dns_top(pair_of(t, 2), PM_OUT_UNANSWERED, names), 1);
    CU_ASSERT_EQUAL(strlen(names[0].name), 252);
    CU_ASSERT(strspn(names[0].name, "a") == 252);

    memset(name, 'b', sizeof name);
    dns_msg(t, 3, false, 0, 0, name, sizeof name);
    CU_ASSERT_EQUAL_FATAL(pm_dns_top(pair_of(t, 3), PM_OUT_UNANSWERED, names), 1);
    CU_ASSERT_EQUAL(strlen(names[0].name), PM_DNS_NAME_MAX);
    pm_dns_table_free(t);
}

/* Wireshark gives no dns.qry.name when the question is malformed (an
 * "extended" label length such as 0x46); the query counts, but there is
 * no name to list, and its response cannot settle it by name or frame.
 * The unanswered names must not show a blank for it forever. */
static void
test_nameless(void)
{
    pm_dns_table *t = pm_dns_table_new();
    pm_dns_name_count names[PM_DNS_PENDING];
    const pm_dns_pair *p;

    frame_no = 0;
    dns_msg(t, 4, false, 0, 0, NULL, 0);
    dns_msg(t, 4, true, 5, 0, NULL, 0);
    dns_msg(t, 4, false, 0, 0, "", 0);
    p = pair_of(t, 4);
    CU_ASSERT_EQUAL(p->queries, 2);
    CU_ASSERT_EQUAL(p->responses, 1);
    CU_ASSERT_EQUAL(p->rcode[PM_RC_REFUSED], 1);
    CU_ASSERT_EQUAL(pm_dns_unanswered(p), 1);
    CU_ASSERT_EQUAL(pm_dns_top(p, PM_OUT_UNANSWERED, names), 0);
    CU_ASSERT_EQUAL(pm_dns_top(p, PM_OUT_REFUSED, names), 0);
    pm_dns_table_free(t);
}

/* The suspicious-name reason (packetmancer.dns.suspicious) quotes a label:
 * only printable ASCII of it. */
static void
test_why(void)
{
    char why[PM_NAME_WHY_LEN];
    unsigned flags = pm_name_check(NAME("xn--\x1b[2J\x08\xc2\x9b.example"), why, sizeof why);

    CU_ASSERT(flags & PM_NAME_PUNYCODE);
    CU_ASSERT_STRING_EQUAL(why, "punycode label xn--?[2J???");
    CU_ASSERT(text_safe(why, ""));
}

/* ------------------------------------------------- report and JSON */

/* Every hostile name, with what the JSON must decode to and how the
 * report must show it. */
static const struct hostile {
    unsigned client;        /* 1: NXDOMAIN, 2: SERVFAIL, 3: unanswered */
    const char *raw;
    size_t len;
    const char *json;       /* as written in the document */
    const char *decoded;    /* as a JSON reader gets it back */
    const char *report;
} H[] = {
    { 1, NAME("say\"hi\".example"),
      "\"say\\\"hi\\\".example\"", "say\"hi\".example", "say\"hi\".example" },
    { 1, NAME("back\\slash.example"),
      "\"back\\\\slash.example\"", "back\\slash.example", "back\\slash.example" },
    { 1, NAME("nul\0byte.example"),
      "\"nul\\\\000byte.example\"", "nul\\000byte.example", "nul\\000byte.example" },
    { 1, NAME("line\nbreak\r\ttab.example"),
      "\"line\\nbreak\\r\\ttab.example\"", "line\nbreak\r\ttab.example",
      "line?break??tab.example" },
    { 1, NAME("\x1b[31mred\x1b[0m.example"),
      "\"\\u001b[31mred\\u001b[0m.example\"", "\x1b[31mred\x1b[0m.example", "?[31mred?[0m.example" },
    { 2, NAME("\x1b]0;pwned\x07.example"),
      "\"\\u001b]0;pwned\\u0007.example\"", "\x1b]0;pwned\x07.example", "?]0;pwned?.example" },
    { 2, NAME("c1\x9b" "31m.example"),
      "\"c1" FFFD "31m.example\"", "c1" FFFD "31m.example", "c1" FFFD "31m.example" },
    { 2, NAME("c1utf8\xc2\x9b" "31m.example"),
      "\"c1utf8\\u009b31m.example\"", "c1utf8\xc2\x9b" "31m.example", "c1utf8?31m.example" },
    { 2, NAME("bad\xff\xfe\xc3(.example"),
      "\"bad" FFFD FFFD FFFD "(.example\"", "bad" FFFD FFFD FFFD "(.example",
      "bad" FFFD FFFD FFFD "(.example" },
    { 2, NAME("del\x7f</script>.example"),
      "\"del\\u007f<\\/script>.example\"", "del\x7f</script>.example", "del?</script>.example" },
    { 3, NAME("bidi\xe2\x80\xae" "exe.txt.example"),
      "\"bidi\\u202eexe.txt.example\"", "bidi\xe2\x80\xae" "exe.txt.example", "bidi?exe.txt.example" },
    { 3, NAME("lrm\xe2\x80\x8e.example"),
      "\"lrm\\u200e.example\"", "lrm\xe2\x80\x8e.example", "lrm?.example" },
    { 3, NAME("ls\xe2\x80\xa8.example"),
      "\"ls\\u2028.example\"", "ls\xe2\x80\xa8.example", "ls?.example" },
    { 3, NAME("m\xc3\xbcnchen.example"),
      "\"m\xc3\xbcnchen.example\"", "m\xc3\xbcnchen.example", "m\xc3\xbcnchen.example" },
};

/* The capture's file name reaches both outputs too. */
#define EVIL_FILE "cap\x1b]0;t\x07\n\xc2\x9b\xff\xe2\x80\xae\"q\\.pcap"
#define EVIL_FILE_JSON "\"file\": \"cap\\u001b]0;t\\u0007\\n\\u009b" FFFD "\\u202e\\\"q\\\\.pcap\""
#define EVIL_FILE_DECODED "cap\x1b]0;t\x07\n\xc2\x9b" FFFD "\xe2\x80\xae\"q\\.pcap"
#define EVIL_FILE_REPORT "cap?]0;t???" FFFD "?\"q\\.pcap"

static pm_dns_table *
hostile_table(void)
{
    pm_dns_table *t = pm_dns_table_new();

    frame_no = 0;
    for (size_t i = 0; i < G_N_ELEMENTS(H); i++) {
        uint32_t q = dns_msg(t, H[i].client, false, 0, 0, H[i].raw, H[i].len);

        if (H[i].client == 1)
            dns_msg(t, 1, true, 3, q, H[i].raw, H[i].len);
        else if (H[i].client == 2)
            dns_msg(t, 2, true, 2, q, H[i].raw, H[i].len);
    }
    return t;
}

static pm_model *
hostile_model(pm_table *tcp, const pm_dns_table *dns)
{
    pm_score_params sp;
    pm_dns_params dp;
    pm_model *m;

    pm_score_params_default(&sp);
    pm_dns_params_default(&dp);
    m = pm_model_build(tcp, &sp);
    pm_model_add_dns(m, dns, &dp);
    return m;
}

static void
test_json(void)
{
    pm_table *tcp = pm_table_new();
    pm_dns_table *dns = hostile_table();
    pm_model *m = hostile_model(tcp, dns);
    pm_render_opts o = { .file = EVIL_FILE, .top = 5, .lang = PM_LANG_EN,
                         .wireshark_version = "4.0\x1b[1m", .plugin_version = "0.1" };
    GString *out = g_string_new(NULL);
    GPtrArray *strings;
    FILE *f;

    CU_ASSERT_FATAL(pm_render_json(m, &o, out));
    strings = json_strings(out->str);
    CU_ASSERT_PTR_NOT_NULL_FATAL(strings);
    /* The document itself: only the pretty-printer's newlines, nothing a
     * terminal would act on, even where JSON would allow it raw. */
    CU_ASSERT(text_safe(out->str, "\n"));
    for (size_t i = 0; i < G_N_ELEMENTS(H); i++) {
        char *member = g_strdup_printf("\"name\": %s", H[i].json);

        if (!strstr(out->str, member))
            fprintf(stderr, "\nmissing in the JSON: %s\n", member);
        CU_ASSERT_PTR_NOT_NULL(strstr(out->str, member));
        CU_ASSERT(has_string(strings, H[i].decoded));
        g_free(member);
    }
    CU_ASSERT_PTR_NOT_NULL(strstr(out->str, EVIL_FILE_JSON));
    CU_ASSERT(has_string(strings, EVIL_FILE_DECODED));
    CU_ASSERT(has_string(strings, "4.0\x1b[1m"));

    /* The same document written straight to a file (the json_output
     * preference) is byte for byte the same. */
    f = tmpfile();
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT(pm_render_json_file(m, &o, f));
    {
        long size = ftell(f);
        char *buf = g_malloc((gsize)size + 1);

        rewind(f);
        CU_ASSERT_EQUAL(fread(buf, 1, (size_t)size, f), (size_t)size);
        buf[size] = '\0';
        CU_ASSERT_STRING_EQUAL(buf, out->str);
        g_free(buf);
    }
    fclose(f);

    g_ptr_array_unref(strings);
    g_string_free(out, TRUE);
    pm_model_free(m);
    pm_dns_table_free(dns);
    pm_table_free(tcp);
}

static void
test_report(void)
{
    pm_table *tcp = pm_table_new();
    pm_dns_table *dns = hostile_table();
    pm_model *m = hostile_model(tcp, dns);
    pm_render_opts o = { .file = EVIL_FILE, .top = 5, .lang = PM_LANG_EN };
    GString *out = g_string_new(NULL);
    /* Each outcome's names, most first and then by the bytes of the
     * stored name (strcmp: ESC 0x1b sorts first, 0x9b after 'u'). */
    const char *lines[] = {
        "Names: NXDOMAIN ?[31mred?[0m.example (1), back\\slash.example (1), "
        "line?break??tab.example (1), nul\\000byte.example (1), say\"hi\".example (1)\n",
        "Names: SERVFAIL ?]0;pwned?.example (1), bad" FFFD FFFD FFFD "(.example (1), "
        "c1utf8?31m.example (1), c1" FFFD "31m.example (1), del?</script>.example (1)\n",
        "Names: unanswered bidi?exe.txt.example (1), lrm?.example (1), ls?.example (1), "
        "m\xc3\xbcnchen.example (1)\n",
    };

    pm_render_report(m, &o, out);
    CU_ASSERT(text_safe(out->str, "\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out->str, "Starting analysis of file: " EVIL_FILE_REPORT "\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out->str, "File: " EVIL_FILE_REPORT " | Packets:"));
    for (size_t i = 0; i < G_N_ELEMENTS(lines); i++) {
        if (!strstr(out->str, lines[i]))
            fprintf(stderr, "\nmissing in the report: %s", lines[i]);
        CU_ASSERT_PTR_NOT_NULL(strstr(out->str, lines[i]));
    }
    /* Every name is listed where the table says it is. */
    for (size_t i = 0; i < G_N_ELEMENTS(H); i++)
        CU_ASSERT_PTR_NOT_NULL(strstr(out->str, H[i].report));

    /* In Spanish, and with colours (the only ESC bytes then are the
     * report's own SGR sequences around the level names). */
    g_string_truncate(out, 0);
    o.lang = PM_LANG_ES;
    o.color = true;
    pm_render_report(m, &o, out);
    CU_ASSERT(g_utf8_validate(out->str, -1, NULL));
    for (const char *c = out->str; *c; c++) {
        unsigned char b = (unsigned char)*c;

        if (b == 0x1b) {
            /* ESC [ digits/; m and nothing else. */
            size_t k = 1;

            CU_ASSERT_EQUAL(c[1], '[');
            while (g_ascii_isdigit(c[++k]) || c[k] == ';')
                ;
            CU_ASSERT_EQUAL(c[k], 'm');
        } else if (b < 0x20 || b == 0x7f) {
            CU_ASSERT_EQUAL(b, '\n');
        }
    }
    CU_ASSERT_PTR_NOT_NULL(strstr(out->str, "?[31mred?[0m.example (1)"));

    g_string_free(out, TRUE);
    pm_model_free(m);
    pm_dns_table_free(dns);
    pm_table_free(tcp);
}

int
main(void)
{
    CU_pSuite s;
    unsigned failures;

    if (CU_initialize_registry() != CUE_SUCCESS)
        return CU_get_error();
    s = CU_add_suite("hostile", NULL, NULL);
    if (!s || !CU_add_test(s, "the checkers catch what they must", test_checkers) ||
        !CU_add_test(s, "pm_sanitize_terminal", test_sanitize) ||
        !CU_add_test(s, "NUL inside DNS names", test_nul_names) ||
        !CU_add_test(s, "255-byte cut", test_cut) ||
        !CU_add_test(s, "queries without a name", test_nameless) ||
        !CU_add_test(s, "suspicious-name reason", test_why) ||
        !CU_add_test(s, "JSON document", test_json) ||
        !CU_add_test(s, "human report", test_report)) {
        CU_cleanup_registry();
        return 1;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failures = CU_get_number_of_failures();
    CU_cleanup_registry();
    return failures != 0;
}
