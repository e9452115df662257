/* pm_names.c
 * Suspicious DNS query names: punycode labels and DGA-like registered
 * labels. The rules, exactly:
 *
 * Punycode: any non-empty label that starts with "xn--", in any case.
 *
 * DGA-like: only the registered label is judged, the one left of the
 * public suffix. The suffix is approximated: the last label, or the last
 * two when the name has at least three labels, the last is two letters (a
 * country code) and the one before is a generic second level such as co,
 * com, ac, gov, or, ne (co.uk, com.au, ac.jp...). Private suffixes
 * (cloudfront.net, amazonaws.com, herokuapp.com) are deliberately NOT
 * suffixes: the label left of them is a random-by-design customer id, and
 * treating "cloudfront" as the registered label keeps it quiet. For the
 * same reason subdomains are never judged: CDN shards and hashes such as
 * r3---sn-4g5e6nzz.googlevideo.com are chosen by the owner of a real
 * domain, while a DGA has to register (or at least query) the second-level
 * name itself. Nothing is judged, so no DGA flag, when:
 *   - the name has a single label (Chrome's random intranet probes),
 *   - any label contains '_' (SRV, DKIM, DMARC, DNS-SD: _ldap._tcp...),
 *   - the top-level label is a special-use or local one (arpa, so every
 *     in-addr.arpa and ip6.arpa name, local, localhost, internal, lan,
 *     home, corp, test, example, invalid, onion, alt...) or is not letters,
 *     digits and hyphens with at least one letter (an IPv4 literal),
 *   - the registered label is punycode, is longer than 63 bytes, or has a
 *     byte other than a-z, 0-9 and '-' (after folding case).
 *
 * On the registered label L the features are: n bytes, letters, digits,
 * vowels (a e i o u y: y counts as a vowel so "rhythm" or "crypt" do not
 * make consonant runs), the longest run of consonant letters, the number
 * of digit/letter switches between neighbours, the Shannon entropy of its
 * characters in bits, and the bigram score: the sum over each pair of
 * adjacent letters of pm_bigram_llr (log2 P(b|a) under English minus
 * log2 of 1/26, see pm_names_bigrams.h), negative when the letters follow
 * each other less like English than like random letters. L is flagged
 * when one of three profiles holds, each a conjunction of signals
 * (checked in the order C, A, B, the most specific first; the first that
 * holds gives the reason):
 *   A random letters:  letters >= 8, bigram score <= -20 bits,
 *                      (consonant run >= 4 or vowels <= 25% of letters),
 *                      entropy >= 2.8 bits;
 *   B letters+digits:  n >= 10, digits >= 3, letters >= 4,
 *                      digit/letter switches >= 5, entropy >= 3.0 bits,
 *                      bigram score <= 0;
 *   C hex string:      n >= 12, only 0-9 a-f, digits >= 3, letters >= 3,
 *                      digit/letter switches >= 4, entropy >= 2.5 bits.
 * Profile A's -20 bits sits four bits below the lowest score of any real
 * registered label of 8 or more letters in tests/data (hdfcbank, -16 bits);
 * shorter labels (fbcdn, jtvnw) are never judged by A, as abbreviations
 * that short are indistinguishable from random. Every profile needs
 * letters, so numeric names (2345.com, common in China) never match. The
 * bigram score is what spares disemvowelled brands (crwdcntrl, -12 bits):
 * their consonants keep English order. Dictionary words glued
 * together (DGAs that use word lists) are English to every signal here and
 * go unflagged: a known, measured blind spot.
 *
 * Copyright (c) 2026 The PacketMancer authors
 * SPDX-License-Identifier: MIT
 */

#include "pm_names.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "pm_names_bigrams.h"

/* Profile thresholds; scores in hundredths of a bit like the table. */
#define A_MIN_LETTERS       8
#define A_MAX_BIGRAM        (-2000)
#define A_MIN_CONS_RUN      4
#define A_MAX_VOWEL_PCT     25
#define A_MIN_ENTROPY       2.8
#define B_MIN_LEN           10
#define B_MIN_DIGITS        3
#define B_MIN_LETTERS       4
#define B_MIN_SWITCHES      5
#define B_MIN_ENTROPY       3.0
#define B_MAX_BIGRAM        0
#define C_MIN_LEN           12
#define C_MIN_DIGITS        3
#define C_MIN_LETTERS       3
#define C_MIN_SWITCHES      4
#define C_MIN_ENTROPY       2.5

/* Longest label DNS allows; longer ones come from broken or hostile
 * packets and are not judged. */
#define LABEL_MAX 63
/* Labels are cut to this many bytes in reasons. */
#define WHY_LABEL_MAX 40

typedef struct span {
    size_t off;
    size_t len;
} span;

typedef struct label_stats {
    unsigned len;
    unsigned letters;
    unsigned digits;
    unsigned vowels;
    unsigned cons_run;   /* longest run of consonant letters */
    unsigned switches;   /* digit/letter changes between neighbours */
    int bigram;          /* sum of pm_bigram_llr over letter pairs */
    bool hex_only;
    double entropy;      /* bits per character */
} label_stats;

static char
fold(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Case-insensitive comparison of a label with a lower-case word. */
static bool
label_is(const char *s, size_t len, const char *word)
{
    size_t i;

    if (strlen(word) != len)
        return false;
    for (i = 0; i < len; i++)
        if (fold(s[i]) != word[i])
            return false;
    return true;
}

static bool
label_in(const char *s, size_t len, const char *const *words)
{
    for (; *words; words++)
        if (label_is(s, len, *words))
            return true;
    return false;
}

static bool
is_punycode(const char *s, size_t len)
{
    return len >= 4 && fold(s[0]) == 'x' && fold(s[1]) == 'n' && s[2] == '-' && s[3] == '-';
}

/* Top-level labels under which nothing is a registered public name
 * (RFC 6761, 6762, 7686, 8375, 9476 and common private habits). */
static const char *const special_tlds[] = {
    "arpa", "local", "localhost", "localdomain", "internal", "intranet",
    "lan", "home", "corp", "private", "invalid", "test", "example", "onion",
    "alt", NULL
};

/* Second levels that country codes sell under (co.uk, com.au, ac.jp,
 * gov.br, or.kr, ne.jp...): a small list, not the Public Suffix List. */
static const char *const generic_slds[] = {
    "ac", "co", "com", "edu", "gen", "go", "gob", "gouv", "gov", "govt",
    "info", "ltd", "mil", "ne", "net", "nic", "nom", "or", "org", "plc",
    "sch", NULL
};

static bool
is_letter(char c)
{
    return c >= 'a' && c <= 'z';
}

static bool
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool
is_vowel(char c)
{
    return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' || c == 'y';
}

/* A top-level label we can judge names under: LDH with a letter. */
static bool
tld_usable(const char *s, size_t len)
{
    bool letter = false;
    size_t i;

    for (i = 0; i < len; i++) {
        char c = fold(s[i]);
        if (is_letter(c))
            letter = true;
        else if (!is_digit(c) && c != '-')
            return false;
    }
    return letter && !label_in(s, len, special_tlds);
}

/* Features of a registered label; false when it is not a plain LDH
 * label we can judge. */
static bool
label_measure(const char *s, size_t len, label_stats *st)
{
    unsigned counts[37] = { 0 };
    unsigned run = 0;
    size_t i;
    char prev = 0;

    memset(st, 0, sizeof *st);
    if (len == 0 || len > LABEL_MAX)
        return false;
    st->len = (unsigned)len;
    st->hex_only = true;
    for (i = 0; i < len; i++) {
        char c = fold(s[i]);

        if (is_letter(c)) {
            st->letters++;
            counts[c - 'a']++;
            if (is_vowel(c)) {
                st->vowels++;
                run = 0;
            } else if (++run > st->cons_run) {
                st->cons_run = run;
            }
            if (c > 'f')
                st->hex_only = false;
            if (is_letter(prev))
                st->bigram += pm_bigram_llr[prev - 'a'][c - 'a'];
            else if (is_digit(prev))
                st->switches++;
        } else if (is_digit(c)) {
            st->digits++;
            counts[26 + (c - '0')]++;
            run = 0;
            if (is_letter(prev))
                st->switches++;
        } else if (c == '-') {
            counts[36]++;
            run = 0;
            st->hex_only = false;
        } else {
            return false;
        }
        prev = c;
    }
    for (i = 0; i < 37; i++) {
        if (counts[i]) {
            double p = (double)counts[i] / (double)len;
            st->entropy -= p * log2(p);
        }
    }
    return true;
}

/* Appends to why, keeping it NUL-terminated whatever its size. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void
why_add(char *why, size_t why_len, const char *fmt, ...)
{
    size_t used;
    va_list ap;

    if (!why || why_len == 0)
        return;
    used = 0;
    while (used < why_len && why[used] != '\0')
        used++;
    if (used + 1 >= why_len)
        return;
    if (used > 0) {
        /* A separator with nothing after it would read as a cut-off
         * sentence: add it only with room for some text too. */
        if (used + 3 >= why_len)
            return;
        memcpy(why + used, "; ", 3);
        used += 2;
    }
    va_start(ap, fmt);
    vsnprintf(why + used, why_len - used, fmt, ap);
    va_end(ap);
}

/* The label as it can be shown: printable ASCII kept, anything else '?',
 * cut to WHY_LABEL_MAX with "...". */
static void
label_show(const char *s, size_t len, char out[WHY_LABEL_MAX + 4])
{
    size_t i, n = len > WHY_LABEL_MAX ? WHY_LABEL_MAX : len;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        out[i] = (c > 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (n < len) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
}

static bool
dga_verdict(const char *s, size_t len, char *why, size_t why_len)
{
    label_stats st;
    char shown[WHY_LABEL_MAX + 4];
    unsigned vowel_pct;

    if (is_punycode(s, len) || !label_measure(s, len, &st))
        return false;
    vowel_pct = st.letters ? 100u * st.vowels / st.letters : 0;
    label_show(s, len, shown);

    if (st.hex_only && st.len >= C_MIN_LEN && st.digits >= C_MIN_DIGITS &&
        st.letters >= C_MIN_LETTERS && st.switches >= C_MIN_SWITCHES &&
        st.entropy >= C_MIN_ENTROPY) {
        why_add(why, why_len,
                "hex-string label %s (%u characters, %u digit/letter switches, "
                "entropy %.1f bits)",
                shown, st.len, st.switches, st.entropy);
        return true;
    }
    if (st.letters >= A_MIN_LETTERS && st.bigram <= A_MAX_BIGRAM &&
        (st.cons_run >= A_MIN_CONS_RUN || 100u * st.vowels <= A_MAX_VOWEL_PCT * st.letters) &&
        st.entropy >= A_MIN_ENTROPY) {
        why_add(why, why_len,
                "random-looking label %s (bigram score %.1f bits, consonant run %u, "
                "vowels %u%%, entropy %.1f bits)",
                shown, st.bigram / 100.0, st.cons_run, vowel_pct, st.entropy);
        return true;
    }
    if (st.len >= B_MIN_LEN && st.digits >= B_MIN_DIGITS && st.letters >= B_MIN_LETTERS &&
        st.switches >= B_MIN_SWITCHES && st.entropy >= B_MIN_ENTROPY &&
        st.bigram <= B_MAX_BIGRAM) {
        why_add(why, why_len,
                "random-looking label %s (%u digit/letter switches, %u digits, "
                "entropy %.1f bits)",
                shown, st.switches, st.digits, st.entropy);
        return true;
    }
    return false;
}

unsigned
pm_name_check(const char *name, size_t len, char *why, size_t why_len)
{
    span last[3] = { { 0, 0 }, { 0, 0 }, { 0, 0 } }; /* [0] is the rightmost */
    size_t labels = 0, i = 0;
    bool underscore = false, puny = false;
    span puny_at = { 0, 0 };
    unsigned flags = 0;

    if (why && why_len)
        why[0] = '\0';
    if (!name)
        return 0;

    while (i < len) {
        size_t start = i;

        while (i < len && name[i] != '.')
            i++;
        if (i > start) {
            size_t l = i - start;

            last[2] = last[1];
            last[1] = last[0];
            last[0].off = start;
            last[0].len = l;
            labels++;
            if (memchr(name + start, '_', l))
                underscore = true;
            if (!puny && is_punycode(name + start, l)) {
                puny = true;
                puny_at = last[0];
            }
        }
        i++; /* past the dot (or past len, which ends the loop) */
    }

    if (puny) {
        char shown[WHY_LABEL_MAX + 4];

        label_show(name + puny_at.off, puny_at.len, shown);
        why_add(why, why_len, "punycode label %s", shown);
        flags |= PM_NAME_PUNYCODE;
    }

    if (labels >= 2 && !underscore && tld_usable(name + last[0].off, last[0].len)) {
        span reg = last[1];

        if (labels >= 3 && last[0].len == 2 &&
            is_letter(fold(name[last[0].off])) && is_letter(fold(name[last[0].off + 1])) &&
            label_in(name + last[1].off, last[1].len, generic_slds))
            reg = last[2];
        if (dga_verdict(name + reg.off, reg.len, why, why_len))
            flags |= PM_NAME_DGA;
    }
    return flags;
}
