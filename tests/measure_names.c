/* measure_names.c
 * Measures pm_name_check()'s DGA heuristic: the false-positive rate on the
 * real domain names in tests/data/ (popular sites, third-party hosts and
 * the hand-written random-by-design names) and the detection rate on
 * generated DGA-like names of five families. Prints the numbers README
 * quotes.
 *
 * Build and run from the repository root:
 *   gcc -std=gnu11 -O2 -Wall -Wextra -Iplugin/core tests/measure_names.c \
 *       plugin/core/pm_names.c -lm -o /tmp/measure_names && /tmp/measure_names
 * An argument replaces the data folder (default tests/data); -v lists
 * every flagged real name and a few missed generated names.
 *
 * The generator is deterministic (splitmix64 from fixed seeds), so every
 * run on every machine prints the same numbers. Families, 1,000 names each:
 *   letters     uniform random a-z, 8 to 20 characters;
 *   alnum       uniform random a-z0-9, 8 to 20 characters;
 *   hex         uniform random 0-9a-f, 12 to 32 characters;
 *   consonants  8 to 20 characters, each a vowel with probability 1/10,
 *               otherwise a uniform consonant;
 *   words       two or three common English words glued together (the
 *               hard family: word-list DGAs look like English by design).
 * Each name gets a top-level suffix from a fixed cycle (com, net, org,
 * info, ru, xyz, top, co.uk, biz, com.au), and every fourth a "www."
 * prefix, so the suffix rules are exercised too.
 *
 * Copyright (c) 2026 The PacketMancer authors
 * SPDX-License-Identifier: MIT
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pm_names.h"

#define FAMILY_SIZE 1000

static uint64_t
splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [lo, hi]; the modulo bias over 2^64 is far below anything
 * these rates can show. */
static unsigned
pick(uint64_t *s, unsigned lo, unsigned hi)
{
    return lo + (unsigned)(splitmix64(s) % (uint64_t)(hi - lo + 1));
}

static const char *const suffixes[] = {
    "com", "net", "org", "info", "ru", "xyz", "top", "co.uk", "biz", "com.au",
};

/* Common English words, for the word-concatenation family. */
static const char *const words[] = {
    "time", "year", "people", "way", "day", "man", "thing", "woman", "life",
    "child", "world", "school", "state", "family", "student", "group",
    "country", "problem", "hand", "part", "place", "case", "week", "company",
    "system", "program", "question", "work", "number", "night", "point",
    "home", "water", "room", "mother", "area", "money", "story", "fact",
    "month", "right", "study", "book", "eye", "job", "word", "business",
    "issue", "side", "kind", "head", "house", "service", "friend", "father",
    "power", "hour", "game", "line", "end", "member", "law", "car", "city",
    "name", "team", "minute", "idea", "body", "back", "parent", "face",
    "level", "office", "door", "health", "person", "art", "war", "history",
    "party", "result", "change", "morning", "reason", "research", "girl",
    "moment", "air", "teacher", "force", "foot", "boy", "age", "policy",
    "music", "market", "sense", "nation", "plan", "college", "interest",
    "death", "effect", "class", "control", "care", "field", "role", "rate",
    "heart", "show", "leader", "light", "voice", "wife", "police", "mind",
    "price", "report", "son", "view", "town", "road", "arm", "value",
    "building", "action", "model", "season", "society", "tax", "director",
    "position", "player", "record", "paper", "space", "ground", "form",
    "event", "matter", "center", "couple", "site", "project", "star",
    "table", "need", "court", "oil", "cost", "industry", "figure", "street",
    "image", "phone", "data", "picture", "piece", "land", "product",
    "doctor", "wall", "worker", "news", "test", "movie", "north", "love",
    "support", "baby", "computer", "type", "film", "tree", "source", "hair",
    "window", "river", "happy", "green", "silver", "cloud", "stone", "quick",
    "brave", "bright", "dark", "summer", "winter", "garden", "ocean",
};

enum { F_LETTERS, F_ALNUM, F_HEX, F_CONSONANTS, F_WORDS, F_COUNT };

static const char *const family_names[F_COUNT] = {
    "letters", "alnum", "hex", "consonants", "words",
};

/* The registered label of name number i of a family. */
static void
gen_label(int family, uint64_t *s, char *out, size_t size)
{
    static const char letters[] = "abcdefghijklmnopqrstuvwxyz";
    static const char alnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    static const char hex[] = "0123456789abcdef";
    static const char consonants[] = "bcdfghjklmnpqrstvwxz";
    static const char vowels[] = "aeiouy";
    unsigned n, i;

    out[0] = '\0';
    switch (family) {
    case F_LETTERS:
        n = pick(s, 8, 20);
        for (i = 0; i < n; i++)
            out[i] = letters[pick(s, 0, 25)];
        out[n] = '\0';
        break;
    case F_ALNUM:
        n = pick(s, 8, 20);
        for (i = 0; i < n; i++)
            out[i] = alnum[pick(s, 0, 35)];
        out[n] = '\0';
        break;
    case F_HEX:
        n = pick(s, 12, 32);
        for (i = 0; i < n; i++)
            out[i] = hex[pick(s, 0, 15)];
        out[n] = '\0';
        break;
    case F_CONSONANTS:
        n = pick(s, 8, 20);
        for (i = 0; i < n; i++)
            out[i] = pick(s, 0, 9) == 0 ? vowels[pick(s, 0, 5)] : consonants[pick(s, 0, 19)];
        out[n] = '\0';
        break;
    case F_WORDS:
        n = pick(s, 2, 3);
        for (i = 0; i < n; i++) {
            const char *w = words[pick(s, 0, (unsigned)(sizeof words / sizeof *words) - 1)];
            if (strlen(out) + strlen(w) < size)
                strcat(out, w);
        }
        break;
    default:
        break;
    }
}

/* Counts the names of one list that pm_name_check() flags as DGA. */
static int
measure_list(const char *dir, const char *file, int verbose, unsigned *total_out)
{
    char path[4096], line[1024], why[PM_NAME_WHY_LEN];
    unsigned total = 0, flagged = 0;
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", dir, file);
    f = fopen(path, "r");
    if (!f) {
        perror(path);
        return -1;
    }
    while (fgets(line, sizeof line, f)) {
        size_t len = strcspn(line, "\r\n");

        if (len == 0 || line[0] == '#')
            continue;
        total++;
        if (pm_name_check(line, len, why, sizeof why) & PM_NAME_DGA) {
            flagged++;
            if (verbose)
                printf("    FP %.*s: %s\n", (int)len, line, why);
        }
    }
    fclose(f);
    *total_out = total;
    return (int)flagged;
}

int
main(int argc, char **argv)
{
    static const char *const lists[] = {
        "popular_sites.txt", "third_party_hosts.txt", "random_by_design.txt",
    };
    const char *dir = "tests/data";
    int verbose = 0, a, fam;
    size_t k;

    for (a = 1; a < argc; a++) {
        if (strcmp(argv[a], "-v") == 0)
            verbose = 1;
        else
            dir = argv[a];
    }

    printf("False positives (DGA flag) on real names:\n");
    for (k = 0; k < sizeof lists / sizeof *lists; k++) {
        unsigned total = 0;
        int fp = measure_list(dir, lists[k], verbose, &total);

        if (fp < 0)
            return 2;
        printf("  %-24s %4d / %u (%.2f%%)\n", lists[k], fp, total,
               total ? 100.0 * fp / total : 0.0);
    }

    printf("Detection on generated DGA-like names (%d per family):\n", FAMILY_SIZE);
    for (fam = 0; fam < F_COUNT; fam++) {
        uint64_t state = 0x5eed0000u + (uint64_t)fam; /* one fixed seed per family */
        unsigned hit = 0, shown = 0, i;

        for (i = 0; i < FAMILY_SIZE; i++) {
            char label[128], name[160], why[PM_NAME_WHY_LEN];

            gen_label(fam, &state, label, sizeof label);
            snprintf(name, sizeof name, "%s%s.%s", i % 4 == 3 ? "www." : "", label,
                     suffixes[i % (sizeof suffixes / sizeof *suffixes)]);
            if (pm_name_check(name, strlen(name), why, sizeof why) & PM_NAME_DGA) {
                hit++;
            } else if (verbose && shown < 5) {
                printf("    missed %s\n", name);
                shown++;
            }
        }
        printf("  %-24s %4u / %d (%.1f%%)\n", family_names[fam], hit, FAMILY_SIZE,
               100.0 * hit / FAMILY_SIZE);
    }
    return 0;
}
