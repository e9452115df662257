/* test_sketch.c
 * CUnit tests for the RTT quantile sketch (plugin/core/pm_sketch.c).
 *
 * Every quantile is checked against the exact one, computed here from the
 * sorted samples with the definition of pm_sketch.h: q names the sample of
 * 0-based rank floor(q * (n - 1)). The bucket state is also checked
 * against a reference built straight from that header's definition (F in
 * pm_sketch.c), so "merge equals the sketch of the union" is tested both
 * as sketch against sketch and against first principles. The hand-worked
 * numbers sit in comments next to their asserts. Random sets come from a
 * fixed-seed generator written here, so every run sees the same numbers.
 *
 * Build and run:
 *   gcc -std=gnu11 -O2 -Wall -Wextra -Iplugin/core \
 *       $(pkg-config --cflags glib-2.0 cunit) \
 *       tests/unit/test_sketch.c plugin/core/pm_sketch.c \
 *       $(pkg-config --libs glib-2.0 cunit) -lm -o /tmp/test_sketch
 *
 * Copyright (c) 2026 The PacketMancer authors
 * SPDX-License-Identifier: MIT
 */

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <CUnit/Basic.h>

#include "pm_sketch.h"

#define N PM_SKETCH_BUCKETS

/* What the header promises for a sample that keeps the guarantee. */
#define REL_BOUND 0.01

/* The percentiles the issue names, plus the exact ends. */
static const double LEVELS[] = { 0.0, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0 };

/* ============================================================ generator */

/* A 64-bit counter pushed through an avalanche mix (the SplitMix scheme):
 * tiny, fixed-seed, and independent of glib's or libc's generators. */
typedef struct {
    uint64_t state;
} rng;

static uint64_t
rng_next(rng *r)
{
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in (0, 1): never 0, so log() of it is finite. */
static double
rng_unit(rng *r)
{
    return ((double)(rng_next(r) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

static double
rng_normal(rng *r)
{
    /* Box-Muller; one of the pair is enough here. */
    return sqrt(-2.0 * log(rng_unit(r))) * cos(2.0 * G_PI * rng_unit(r));
}

typedef enum { D_UNIFORM, D_LOGNORMAL, D_EXPONENTIAL, D_BIMODAL, D_LOGUNIFORM } dist;

/* n samples in milliseconds:
 *   uniform      0.1 .. 100 ms
 *   log-normal   median 20 ms, sigma 1 (a WAN path with queueing)
 *   exponential  mean 30 ms (reaches the zero counter at 10^6 samples)
 *   bimodal      70% around 0.3 ms, 30% around 40 ms (LAN + delayed ACKs)
 *   log-uniform  lo .. hi, evenly spread over the buckets */
static double *
gen(dist d, size_t n, uint64_t seed, double lo, double hi)
{
    double *v = g_new(double, n);
    rng r = { seed };

    for (size_t i = 0; i < n; i++) {
        switch (d) {
        case D_UNIFORM:
            v[i] = 0.1 + 99.9 * rng_unit(&r);
            break;
        case D_LOGNORMAL:
            v[i] = 20.0 * exp(rng_normal(&r));
            break;
        case D_EXPONENTIAL:
            v[i] = -30.0 * log(rng_unit(&r));
            break;
        case D_BIMODAL:
            if (rng_unit(&r) < 0.7)
                v[i] = 0.3 * exp(0.2 * rng_normal(&r));
            else
                v[i] = 40.0 * exp(0.3 * rng_normal(&r));
            break;
        case D_LOGUNIFORM:
            v[i] = lo * exp(log(hi / lo) * rng_unit(&r));
            break;
        }
    }
    return v;
}

/* ============================================================== helpers */

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* The header's rank of q among n samples, computed the same way. */
static uint64_t
rank_of(double q, uint64_t n)
{
    double r = floor(q * (double)(n - 1));

    return r >= (double)(n - 1) ? n - 1 : (uint64_t)r;
}

static void
build(pm_sketch *s, const double *v, size_t from, size_t to)
{
    pm_sketch_init(s);
    for (size_t i = from; i < to; i++)
        CU_ASSERT_FATAL(pm_sketch_add(s, v[i]));
}

/* The reference state F(M) of pm_sketch.c, from the samples alone:
 * hi = highest index, eff(x) = max(idx, hi - 511), collapsed = how many
 * have idx below hi - 511. Compared field by field with s. */
static void
check_reference(const pm_sketch *s, const double *v, size_t n)
{
    int32_t hi = PM_SKETCH_NO_INDEX, lo;
    uint64_t zero = 0, collapsed = 0;
    uint32_t *want = g_new0(uint32_t, N);
    double mn = INFINITY, mx = -INFINITY;
    bool ok;

    for (size_t i = 0; i < n; i++) {
        int32_t k = pm_sketch_index(v[i]);

        if (k == PM_SKETCH_NO_INDEX)
            zero++;
        else if (k > hi)
            hi = k;
        mn = fmin(mn, fabs(v[i]));
        mx = fmax(mx, fabs(v[i]));
    }
    lo = hi == PM_SKETCH_NO_INDEX ? hi : hi - (N - 1);
    for (size_t i = 0; i < n; i++) {
        int32_t k = pm_sketch_index(v[i]);

        if (k == PM_SKETCH_NO_INDEX)
            continue;
        if (k < lo) {
            collapsed++;
            k = lo;
        }
        want[(uint32_t)k % N]++;
    }
    ok = s->count == n && s->zero == zero && s->collapsed == collapsed &&
         s->hi == hi && memcmp(s->bucket, want, N * sizeof *want) == 0 &&
         (n == 0 || (s->min == mn && s->max == mx));
    CU_ASSERT(ok);
    if (!ok)
        fprintf(stderr, "\n    state differs from F(M): hi %d/%d collapsed %llu/%llu zero %llu/%llu\n",
                s->hi, hi, (unsigned long long)s->collapsed, (unsigned long long)collapsed,
                (unsigned long long)s->zero, (unsigned long long)zero);
    g_free(want);
}

/* Largest relative error measured, per data set, for the summary. */
typedef struct {
    char name[64];
    size_t n;
    double max_rel;
    unsigned checked;     /* quantiles checked against the 1% guarantee */
    unsigned degraded;    /* quantiles among the collapsed samples */
    unsigned underflow;   /* quantiles in the zero/underflow counter */
} measure;

static measure measures[64];
static size_t n_measures;

/* One quantile against the exact one; returns its relative error when the
 * guarantee applies to it, -1 otherwise. */
static double
check_one(const pm_sketch *s, const double *sorted, size_t n, double q, measure *m)
{
    uint64_t r = rank_of(q, n);
    double x = sorted[r], v = pm_sketch_quantile(s, q), rel;
    uint64_t zero = s->zero, collapsed = pm_sketch_collapsed(s);

    if (r == 0 || r == n - 1) {
        CU_ASSERT_EQUAL(v, x); /* the exact min and max */
        return 0.0;
    }
    if (r < zero) {
        /* Zero/underflow counter: reported as the exact min. */
        m->underflow++;
        CU_ASSERT_EQUAL(v, pm_sketch_min(s));
        CU_ASSERT(fabs(v - x) < PM_SKETCH_MIN_MS);
        return -1;
    }
    if (r < zero + collapsed) {
        /* Collapsed: v is the lowest kept bucket's value, an upper bound
         * with x <= v * 1.01/1.02. */
        double floor_v = pm_sketch_bucket_value(s->hi - (N - 1));

        m->degraded++;
        CU_ASSERT_EQUAL(v, floor_v);
        CU_ASSERT(x <= v * (1.01 / 1.02) * (1 + 1e-12));
        CU_ASSERT(x >= pm_sketch_min(s));
        return -1;
    }
    rel = fabs(v - x) / x;
    m->checked++;
    CU_ASSERT(rel <= REL_BOUND);
    /* The tighter exact-arithmetic bound, 1/101, plus rounding. */
    CU_ASSERT(rel <= 1.0 / 101 + 1e-12);
    if (rel > REL_BOUND)
        fprintf(stderr, "\n    q=%.4f rank %llu: exact %.17g, sketch %.17g, rel %.3g\n", q,
                (unsigned long long)r, x, v, rel);
    return rel;
}

/* Adds v[0..n) to a sketch, checks its state against the reference, every
 * LEVELS quantile and 1001 more (q = k/1000) against exact ones, and
 * records the largest relative error under name. Returns the sketch. */
static void
check_set(const char *name, const double *v, size_t n, pm_sketch *out)
{
    pm_sketch s;
    double *sorted = g_memdup2(v, n * sizeof *v);
    measure *m = &measures[n_measures < G_N_ELEMENTS(measures) ? n_measures++ : n_measures - 1];

    memset(m, 0, sizeof *m);
    g_strlcpy(m->name, name, sizeof m->name);
    m->n = n;
    build(&s, v, 0, n);
    check_reference(&s, v, n);
    for (size_t i = 0; i < n; i++)
        sorted[i] = fabs(sorted[i]); /* -0.0 is counted as 0 */
    qsort(sorted, n, sizeof *sorted, cmp_double);
    CU_ASSERT_EQUAL(pm_sketch_count(&s), n);
    CU_ASSERT_EQUAL(pm_sketch_min(&s), sorted[0]);
    CU_ASSERT_EQUAL(pm_sketch_max(&s), sorted[n - 1]);
    for (size_t i = 0; i < G_N_ELEMENTS(LEVELS); i++)
        m->max_rel = fmax(m->max_rel, check_one(&s, sorted, n, LEVELS[i], m));
    for (int k = 0; k <= 1000; k++)
        m->max_rel = fmax(m->max_rel, check_one(&s, sorted, n, k / 1000.0, m));
    /* Quantiles never decrease with q. */
    for (int k = 1; k <= 1000; k++)
        CU_ASSERT(pm_sketch_quantile(&s, k / 1000.0) >= pm_sketch_quantile(&s, (k - 1) / 1000.0));
    if (out)
        *out = s;
    g_free(sorted);
}

static void
check_dist(const char *label, dist d, uint64_t seed)
{
    static const size_t sizes[] = { 10, 1000, 1000000 };

    for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++) {
        char name[64];
        double *v = gen(d, sizes[i], seed + i, 0, 0);

        g_snprintf(name, sizeof name, "%s", label);
        check_set(name, v, sizes[i], NULL);
        g_free(v);
    }
}

/* ====================================================== hand-worked values */

static void
test_pinned_buckets(void)
{
    /* ln 1.0 = 0 -> ceil(0) = 0; reported 1.02^0 / 1.01 = 0.990099...:
     * 1/101 below 1 ms, under 1%. */
    CU_ASSERT_EQUAL(pm_sketch_index(1.0), 0);
    CU_ASSERT_DOUBLE_EQUAL(pm_sketch_bucket_value(0), 0.9900990099, 1e-10);
    /* Edges are inclusive at the top: the next double above 1 is bucket 1,
     * the one below stays in 0; 1.02 itself is the top of bucket 1. */
    CU_ASSERT_EQUAL(pm_sketch_index(nextafter(1.0, 2.0)), 1);
    CU_ASSERT_EQUAL(pm_sketch_index(nextafter(1.0, 0.0)), 0);
    CU_ASSERT_EQUAL(pm_sketch_index(1.02), 1);
    CU_ASSERT_DOUBLE_EQUAL(pm_sketch_bucket_value(1), 1.02 / 1.01, 1e-12);
    /* ln 100 / ln 1.02 = 4.6051702 / 0.0198026 = 232.553 -> 233.
     * 1.02^233 = e^(233 * 0.0198026273) = e^4.6140122
     *          = 100 * e^0.0088420 = 100.88812; / 1.01 = 99.88923. */
    CU_ASSERT_EQUAL(pm_sketch_index(100.0), 233);
    CU_ASSERT_DOUBLE_EQUAL(pm_sketch_bucket_value(233), 99.88923, 1e-5);
    /* ln 10 / ln 1.02 = 116.277 -> 117; 1.02^117 / 1.01 = 10.0438. */
    CU_ASSERT_EQUAL(pm_sketch_index(10.0), 117);
    CU_ASSERT_DOUBLE_EQUAL(pm_sketch_bucket_value(117), 10.0438, 1e-4);
    /* The ends: 1 us is -6.9077553 / 0.0198026 = -348.83 -> -348;
     * 10^7 ms is 16.118096 / 0.0198026 = 813.94 -> 814 (so 0.001 to 10^7
     * needs 1,163 buckets and must collapse); DBL_MAX: 709.78271 / 0.0198026
     * = 35842.86 -> 35843. Below 1 us, no bucket. */
    CU_ASSERT_EQUAL(pm_sketch_index(0.001), -348);
    CU_ASSERT_EQUAL(pm_sketch_index(1e7), 814);
    CU_ASSERT_EQUAL(pm_sketch_index(DBL_MAX), 35843);
    CU_ASSERT_EQUAL(pm_sketch_index(nextafter(0.001, 0.0)), PM_SKETCH_NO_INDEX);
    CU_ASSERT_EQUAL(pm_sketch_index(0.0), PM_SKETCH_NO_INDEX);
    CU_ASSERT_EQUAL(pm_sketch_index(NAN), PM_SKETCH_NO_INDEX);
    CU_ASSERT_EQUAL(pm_sketch_index(INFINITY), PM_SKETCH_NO_INDEX);
    /* 1.02^35843 / 1.01 is past DBL_MAX. */
    CU_ASSERT(isinf(pm_sketch_bucket_value(35843)));
    /* The header states the size. */
    CU_ASSERT_EQUAL(sizeof(pm_sketch), 2096);
}

static void
test_rank_definition(void)
{
    static const double v[] = { 40, 10, 30, 20 };
    pm_sketch s;

    build(&s, v, 0, 4);
    /* n = 4: rank = floor(q * 3). */
    CU_ASSERT_EQUAL(pm_sketch_quantile(&s, 0.0), 10.0);  /* rank 0: exact min */
    CU_ASSERT_EQUAL(pm_sketch_quantile(&s, 1.0), 40.0);  /* rank 3: exact max */
    /* q = 0.5 -> floor(1.5) = 1 -> 20: bucket ceil(ln 20 / ln 1.02) =
     * ceil(2.9957323 / 0.0198026) = ceil(151.28) = 152, reported
     * 1.02^152 / 1.01 = e^3.0099994 / 1.01 = 20 * e^0.0142671 / 1.01
     * = 20.28739 / 1.01 = 20.08652 (0.43% above 20). */
    CU_ASSERT_DOUBLE_EQUAL(pm_sketch_quantile(&s, 0.5), 20.08652, 1e-5);
    /* q = 0.75 -> floor(2.25) = 2 -> 30; q = 0.99 -> floor(2.97) = 2, the
     * lower nearest rank, still 30 and not the max. 30: ceil(3.4011974 /
     * 0.0198026) = ceil(171.75) = 172, 1.02^172 / 1.01 = e^3.4060519 / 1.01
     * = 30 * e^0.0048545 / 1.01 = 30.14599 / 1.01 = 29.84751. */
    CU_ASSERT_DOUBLE_EQUAL(pm_sketch_quantile(&s, 0.75), 29.84751, 1e-5);
    CU_ASSERT_DOUBLE_EQUAL(pm_sketch_quantile(&s, 0.99), 29.84751, 1e-5);
    /* q = 0.34 -> floor(1.02) = 1 -> 20 again. */
    CU_ASSERT_DOUBLE_EQUAL(pm_sketch_quantile(&s, 0.34), 20.08652, 1e-5);
    /* Outside [0, 1]: no answer. */
    CU_ASSERT(isnan(pm_sketch_quantile(&s, -0.01)));
    CU_ASSERT(isnan(pm_sketch_quantile(&s, 1.01)));
    CU_ASSERT(isnan(pm_sketch_quantile(&s, NAN)));
}

static void
test_empty(void)
{
    pm_sketch s, t;

    pm_sketch_init(&s);
    pm_sketch_init(&t);
    CU_ASSERT_EQUAL(pm_sketch_count(&s), 0);
    CU_ASSERT(isnan(pm_sketch_quantile(&s, 0.5)));
    CU_ASSERT(isnan(pm_sketch_quantile(&s, 0.0)));
    CU_ASSERT(isnan(pm_sketch_quantile(&s, 1.0)));
    CU_ASSERT(isnan(pm_sketch_min(&s)));
    CU_ASSERT(isnan(pm_sketch_max(&s)));
    CU_ASSERT_EQUAL(pm_sketch_collapsed(&s), 0);
    CU_ASSERT(pm_sketch_equal(&s, &t));
    CU_ASSERT(memcmp(&s, &t, sizeof s) == 0);
    /* A single sample is every quantile, exactly. */
    CU_ASSERT(pm_sketch_add(&s, 12.345));
    CU_ASSERT_EQUAL(pm_sketch_quantile(&s, 0.5), 12.345);
    CU_ASSERT(!pm_sketch_equal(&s, &t));
}

/* ======================================================== random sets */

static void
test_uniform(void)
{
    check_dist("uniform 0.1-100 ms", D_UNIFORM, 1001);
}

static void
test_lognormal(void)
{
    check_dist("log-normal 20 ms, sigma 1", D_LOGNORMAL, 2002);
}

static void
test_exponential(void)
{
    check_dist("exponential mean 30 ms", D_EXPONENTIAL, 3003);
}

static void
test_bimodal(void)
{
    check_dist("bimodal 0.3 ms / 40 ms", D_BIMODAL, 4004);
}

/* ==================================================== adversarial sets */

static void
test_all_equal(void)
{
    static const double values[] = { 7.3, 1.0, 0.0, 0.001, 1e7 };
    size_t n = 100000;
    double *v = g_new(double, n);

    for (size_t k = 0; k < G_N_ELEMENTS(values); k++) {
        pm_sketch s;
        char name[64];

        for (size_t i = 0; i < n; i++)
            v[i] = values[k];
        g_snprintf(name, sizeof name, "all equal %g", values[k]);
        check_set(name, v, n, &s);
        /* Clamped to [min, max] = [x, x]: every quantile is x exactly. */
        for (size_t i = 0; i < G_N_ELEMENTS(LEVELS); i++)
            CU_ASSERT_EQUAL(pm_sketch_quantile(&s, LEVELS[i]), values[k]);
    }
    g_free(v);
}

/* 1.02^i for every bucket from 1 us to 10^4 ms, and both neighbouring
 * doubles: the values where rounding could pick the wrong bucket. */
static void
test_bucket_edges(void)
{
    GArray *a = g_array_new(FALSE, FALSE, sizeof(double));
    double worst = 0;

    for (int32_t i = -348; i <= 466; i++) {
        double e = pow(1.02, i), around[3] = { nextafter(e, 0), e, nextafter(e, INFINITY) };
        int32_t k = pm_sketch_index(e);

        /* pow() rounds, so the computed edge may sit just above the true
         * one; it never lands further than the next bucket. */
        CU_ASSERT(k == i || k == i + 1);
        for (int j = 0; j < 3; j++) {
            double x = around[j], v;

            if (x < PM_SKETCH_MIN_MS)
                continue;
            v = pm_sketch_bucket_value(pm_sketch_index(x));
            worst = fmax(worst, fabs(v - x) / x);
            g_array_append_val(a, x);
        }
    }
    /* Every value's own bucket is within 1/101 (0.990%) of it. */
    CU_ASSERT(worst <= 1.0 / 101 + 1e-12);
    CU_ASSERT(worst < REL_BOUND);
    /* 815 buckets: more than the window, so this also collapses. */
    check_set("bucket edges 1 us-10^4 ms", (double *)a->data, a->len, NULL);
    /* Within one window: no collapse, every rank under the guarantee. */
    {
        pm_sketch s;
        GArray *b = g_array_new(FALSE, FALSE, sizeof(double));

        for (int32_t i = 0; i < N; i++) {
            double e = pow(1.02, i);

            g_array_append_val(b, e);
        }
        check_set("bucket edges, 1 window", (double *)b->data, b->len, &s);
        CU_ASSERT_EQUAL(pm_sketch_collapsed(&s), 0);
        g_array_free(b, TRUE);
    }
    g_array_free(a, TRUE);
}

/* 0.001 ms to 10^7 ms spread evenly over the buckets: 1,163 buckets, more
 * than twice the window. The window keeps buckets 814-511 = 303 .. 814,
 * whose lowest edge is 1.02^302 = e^5.9804 = 395.7 ms. The fraction of the
 * samples below it is ln(395.7/0.001) / ln(10^10) = 12.888 / 23.026 = 56%,
 * so p50 is among the collapsed samples and is reported as an upper bound
 * (1.02^303 / 1.01 = 399.6 ms, while the true p50 is near 100 ms); p90,
 * p95, p99, p99.9, min and max keep the guarantee. */
static void
test_huge_range(void)
{
    size_t n = 100000;
    double *v = gen(D_LOGUNIFORM, n, 5005, 0.001, 1e7);
    pm_sketch s;
    double frac;

    v[0] = 0.001;
    v[1] = 1e7;
    check_set("log-uniform 0.001-10^7 ms", v, n, &s);
    CU_ASSERT_EQUAL(s.hi, 814);
    frac = (double)pm_sketch_collapsed(&s) / (double)n;
    CU_ASSERT(frac > 0.55 && frac < 0.57);
    CU_ASSERT_DOUBLE_EQUAL(pm_sketch_quantile(&s, 0.5), 399.6, 0.1);
    for (size_t i = 2; i < G_N_ELEMENTS(LEVELS); i++) {
        /* p90 and above: ranks above the collapsed ones. */
        CU_ASSERT(rank_of(LEVELS[i], n) >= pm_sketch_collapsed(&s));
    }
    g_free(v);
}

/* The worst an RTT sketch may see: a LAN path at 10-40 us, the bimodal
 * set's 0.3 ms and 40 ms delayed ACKs, and 200 samples of 1 to 5 minutes.
 * Nothing breaks and p95 and above stay within 1%, but 5 minutes is bucket
 * ceil(12.6115 / 0.0198026) = 637, so the window starts at 126, whose
 * lower edge is 1.02^125 = 11.9 ms: everything faster is collapsed, and p50
 * (about 0.3 ms) is reported as 1.02^126 / 1.01 = 12.0 ms, an upper bound
 * that pm_sketch_collapsed() lets a report flag. */
static void
test_rtt_extremes(void)
{
    size_t n = 200000;
    double *v = gen(D_BIMODAL, n, 6006, 0, 0);
    pm_sketch s;

    for (size_t i = 0; i < n; i += 10)
        v[i] = 0.01 + 0.005 * (double)(i % 7);    /* 10-40 us */
    for (size_t i = 5; i < n; i += 1000)
        v[i] = 60000.0 * (double)(1 + (i / 1000) % 5);  /* 1-5 minutes */
    check_set("10 us to 5 min", v, n, &s);
    CU_ASSERT_EQUAL(s.hi, 637);
    CU_ASSERT(rank_of(0.5, n) < pm_sketch_collapsed(&s));
    CU_ASSERT_DOUBLE_EQUAL(pm_sketch_quantile(&s, 0.5), 12.0033, 1e-4);
    CU_ASSERT(rank_of(0.95, n) >= s.zero + pm_sketch_collapsed(&s));
    g_free(v);
}

/* Zero and values under 1 us go to the zero counter and are reported as
 * the exact min; -0.0 is 0. */
static void
test_tiny_and_zero(void)
{
    static const double v[] = {
        0.0, -0.0, 0.0, 1e-9, 5e-4, 0.000999, DBL_TRUE_MIN, DBL_MIN,
        0.001, 0.0010001, 0.002, 1.0, 2.0, 0.0, 0.0,
    };
    pm_sketch s, t;

    check_set("tiny and zero", v, G_N_ELEMENTS(v), &s);
    /* 0.0 x4, -0.0, 1e-9, 5e-4, 0.000999, DBL_TRUE_MIN, DBL_MIN: 10 of 15,
     * ranks 0..9. */
    CU_ASSERT_EQUAL(s.zero, 10);
    CU_ASSERT_EQUAL(pm_sketch_min(&s), 0.0);
    CU_ASSERT(!signbit(pm_sketch_min(&s)));
    /* rank floor(0.5 * 14) = 7 is in the zero counter: reported as 0. */
    CU_ASSERT_EQUAL(pm_sketch_quantile(&s, 0.5), 0.0);
    /* rank floor(0.8 * 14) = 11: 0.0010001, bucket -348 like 0.001
     * (-348.825 -> -348), reported 1.02^-348 / 1.01 = 0.0010065. */
    CU_ASSERT_DOUBLE_EQUAL(pm_sketch_quantile(&s, 0.8), 0.0010065, 1e-7);
    /* Only values under 1 us: every quantile is the exact min. */
    pm_sketch_init(&t);
    CU_ASSERT(pm_sketch_add(&t, 0.0005));
    CU_ASSERT(pm_sketch_add(&t, 0.0002));
    CU_ASSERT(pm_sketch_add(&t, 0.0009));
    CU_ASSERT_EQUAL(pm_sketch_quantile(&t, 0.5), 0.0002);
    CU_ASSERT_EQUAL(t.hi, PM_SKETCH_NO_INDEX);
}

static void
test_rejected(void)
{
    static const double bad[] = {
        NAN, -NAN, INFINITY, -INFINITY, -1.0, -1e-300, -DBL_TRUE_MIN, -DBL_MAX,
    };
    static const double good[] = { 3.0, 0.5, 250.0 };
    pm_sketch s, empty, want;

    pm_sketch_init(&s);
    pm_sketch_init(&empty);
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
        CU_ASSERT(!pm_sketch_add(&s, bad[i]));
    CU_ASSERT(pm_sketch_equal(&s, &empty));
    CU_ASSERT(memcmp(&s, &empty, sizeof s) == 0);
    CU_ASSERT_EQUAL(pm_sketch_count(&s), 0);
    CU_ASSERT(isnan(pm_sketch_quantile(&s, 0.5)));
    /* Interleaved with good ones: as if only the good ones came. */
    for (size_t i = 0; i < G_N_ELEMENTS(good); i++) {
        CU_ASSERT(pm_sketch_add(&s, good[i]));
        CU_ASSERT(!pm_sketch_add(&s, bad[i]));
    }
    build(&want, good, 0, G_N_ELEMENTS(good));
    CU_ASSERT(pm_sketch_equal(&s, &want));
    CU_ASSERT_EQUAL(pm_sketch_count(&s), 3);
}

/* Huge finite values are accepted; a bucket value past DBL_MAX is
 * clamped to the exact max. */
static void
test_huge_values(void)
{
    static const double v[] = { 1e300, 1e305, DBL_MAX, 1.0, DBL_MAX };
    pm_sketch s;

    check_set("up to DBL_MAX", v, G_N_ELEMENTS(v), &s);
    /* n = 5: q = 0.75 -> rank 3 = DBL_MAX, not the last rank; its bucket
     * value is +inf, clamped to the max. */
    CU_ASSERT_EQUAL(pm_sketch_quantile(&s, 0.75), DBL_MAX);
    CU_ASSERT_EQUAL(pm_sketch_max(&s), DBL_MAX);
    /* The window is 35843-511 = 35332 .. 35843. 1e305 is bucket
     * ceil(702.2884 / 0.0198026) = 35465, inside; 1e300 is
     * ceil(690.7755 / 0.0198026) = 34884 and 1.0 is 0: both collapsed. */
    CU_ASSERT_EQUAL(pm_sketch_index(1e300), 34884);
    CU_ASSERT_EQUAL(pm_sketch_index(1e305), 35465);
    CU_ASSERT_EQUAL(pm_sketch_collapsed(&s), 2);
}

/* =============================================================== merge */

static bool
merged_equals(const double *v, size_t n, size_t k, const pm_sketch *whole)
{
    pm_sketch a, b, ab, ba;

    build(&a, v, 0, k);
    build(&b, v, k, n);
    ab = a;
    pm_sketch_merge(&ab, &b);
    ba = b;
    pm_sketch_merge(&ba, &a);
    return pm_sketch_equal(&ab, whole) && pm_sketch_equal(&ba, whole) &&
           memcmp(&ab, whole, sizeof ab) == 0;
}

static void
reverse(double *v, size_t n)
{
    for (size_t i = 0; i < n / 2; i++) {
        double t = v[i];

        v[i] = v[n - 1 - i];
        v[n - 1 - i] = t;
    }
}

/* merge(first k, rest) equals the sketch of all, for several k, with the
 * samples in random, ascending and descending order; the whole sketch
 * itself must not depend on the order either. */
static void
test_merge_splits(void)
{
    size_t n = 20000;
    double *v = gen(D_LOGUNIFORM, n, 7007, 0.0002, 1e7);
    const size_t splits[] = { 0, 1, n / 3, n / 2, n - 1, n };
    pm_sketch whole, again;

    for (size_t i = 0; i < n; i += 97)
        v[i] = 0.0;
    build(&whole, v, 0, n);
    check_reference(&whole, v, n);
    CU_ASSERT(pm_sketch_collapsed(&whole) > 0);
    for (int order = 0; order < 3; order++) {
        if (order == 1)
            qsort(v, n, sizeof *v, cmp_double);
        if (order == 2)
            reverse(v, n);
        build(&again, v, 0, n);
        CU_ASSERT(pm_sketch_equal(&again, &whole));
        for (size_t i = 0; i < G_N_ELEMENTS(splits); i++) {
            bool ok = merged_equals(v, n, splits[i], &whole);

            CU_ASSERT(ok);
            if (!ok)
                fprintf(stderr, "\n    order %d, split %zu: merge differs\n", order, splits[i]);
        }
    }
    g_free(v);
}

/* Which side collapsed matters for the proof; try each case against both
 * the one-sketch build and the reference F(a u b). */
static void
check_pair(const double *a, size_t na, const double *b, size_t nb,
           bool a_collapses, bool b_collapses, bool union_collapses)
{
    double *all = g_new(double, na + nb);
    pm_sketch sa, sb, m1, m2, whole;

    memcpy(all, a, na * sizeof *a);
    memcpy(all + na, b, nb * sizeof *b);
    build(&sa, a, 0, na);
    build(&sb, b, 0, nb);
    build(&whole, all, 0, na + nb);
    CU_ASSERT_EQUAL(pm_sketch_collapsed(&sa) > 0, a_collapses);
    CU_ASSERT_EQUAL(pm_sketch_collapsed(&sb) > 0, b_collapses);
    CU_ASSERT_EQUAL(pm_sketch_collapsed(&whole) > 0, union_collapses);
    m1 = sa;
    pm_sketch_merge(&m1, &sb);
    m2 = sb;
    pm_sketch_merge(&m2, &sa);
    CU_ASSERT(pm_sketch_equal(&m1, &whole));
    CU_ASSERT(pm_sketch_equal(&m2, &whole));
    check_reference(&m1, all, na + nb);
    g_free(all);
}

static void
test_merge_collapse_cases(void)
{
    /* Bucket spans: [1, 100] ms is 0..233 (no collapse); [10^6, 10^7] is
     * 698..814; [0.01, 10^5] is -232..582, 815 buckets (collapses);
     * [0.5, 50] is -35..198; [10, 10^5] is 117..582. */
    double *low = gen(D_LOGUNIFORM, 3000, 11, 1.0, 100.0);
    double *high = gen(D_LOGUNIFORM, 3000, 12, 1e6, 1e7);
    double *wide = gen(D_LOGUNIFORM, 3000, 13, 0.01, 1e5);
    double *mid = gen(D_LOGUNIFORM, 3000, 14, 0.5, 50.0);
    double *wide2 = gen(D_LOGUNIFORM, 3000, 15, 0.002, 2e4);
    double *top = gen(D_LOGUNIFORM, 3000, 16, 10.0, 1e5);

    /* The ends of wide in both halves, so each half spans -232..582. */
    wide[0] = wide[1500] = 0.01;
    wide[1] = wide[1501] = 1e5;
    wide2[0] = 0.002;
    wide2[1] = 2e4;
    /* Neither collapsed; the union does (low falls below 1e7's window). */
    check_pair(low, 3000, high, 3000, false, false, true);
    /* a collapsed; b higher and not: a's floor rises to b's window. */
    check_pair(wide, 3000, high, 3000, true, false, true);
    /* a collapsed; b lower and not: some of b collapse into a's floor. */
    check_pair(wide, 3000, mid, 3000, true, false, true);
    /* Both collapsed, different hi. */
    check_pair(wide, 3000, wide2, 3000, true, true, true);
    /* Both collapsed, same hi (same window: collapsed counts just add). */
    check_pair(wide, 1500, wide + 1500, 1500, true, true, true);
    check_pair(wide, 2, wide + 2, 2998, true, true, true);
    /* Same hi, only one collapsed: top spans 117..582, 466 buckets. */
    top[0] = 1e5;
    check_pair(wide, 3000, top, 3000, true, false, true);
    check_pair(top, 3000, wide, 3000, false, true, true);
    /* Neither collapsed, union neither. */
    check_pair(low, 3000, mid, 3000, false, false, false);
    g_free(low);
    g_free(high);
    g_free(wide);
    g_free(mid);
    g_free(wide2);
    g_free(top);
}

static void
test_merge_laws(void)
{
    double *x = gen(D_LOGUNIFORM, 2000, 21, 0.0005, 50.0);
    double *y = gen(D_LOGUNIFORM, 2000, 22, 0.1, 1e6);
    double *z = gen(D_EXPONENTIAL, 2000, 23, 0, 0);
    double *xx = g_new(double, 4000);
    pm_sketch a, b, c, e, ab, ba, ab_c, bc, a_bc, t, twice;

    build(&a, x, 0, 2000);
    build(&b, y, 0, 2000);
    build(&c, z, 0, 2000);
    pm_sketch_init(&e);
    /* Commutative. */
    ab = a;
    pm_sketch_merge(&ab, &b);
    ba = b;
    pm_sketch_merge(&ba, &a);
    CU_ASSERT(pm_sketch_equal(&ab, &ba));
    /* Associative. */
    ab_c = ab;
    pm_sketch_merge(&ab_c, &c);
    bc = b;
    pm_sketch_merge(&bc, &c);
    a_bc = a;
    pm_sketch_merge(&a_bc, &bc);
    CU_ASSERT(pm_sketch_equal(&ab_c, &a_bc));
    CU_ASSERT(memcmp(&ab_c, &a_bc, sizeof ab_c) == 0);
    /* The empty sketch is neutral on both sides. */
    t = a;
    pm_sketch_merge(&t, &e);
    CU_ASSERT(pm_sketch_equal(&t, &a));
    t = e;
    pm_sketch_merge(&t, &a);
    CU_ASSERT(pm_sketch_equal(&t, &a));
    /* Merging a sketch into itself is adding every sample twice. */
    memcpy(xx, x, 2000 * sizeof *x);
    memcpy(xx + 2000, x, 2000 * sizeof *x);
    build(&twice, xx, 0, 4000);
    t = a;
    pm_sketch_merge(&t, &t);
    CU_ASSERT(pm_sketch_equal(&t, &twice));
    g_free(x);
    g_free(y);
    g_free(z);
    g_free(xx);
}

/* 1,000 conversations of 100 samples each, merged one by one and as a
 * balanced tree: both equal the sketch of all 100,000. */
static void
test_merge_many(void)
{
    size_t parts = 1000, per = 100, n = parts * per;
    double *v = gen(D_LOGUNIFORM, n, 31, 0.0001, 3e6);
    pm_sketch *s = g_new(pm_sketch, parts);
    pm_sketch linear, whole;

    build(&whole, v, 0, n);
    pm_sketch_init(&linear);
    for (size_t i = 0; i < parts; i++) {
        build(&s[i], v, i * per, (i + 1) * per);
        pm_sketch_merge(&linear, &s[i]);
    }
    CU_ASSERT(pm_sketch_equal(&linear, &whole));
    for (size_t step = 1; step < parts; step *= 2)
        for (size_t i = 0; i + step < parts; i += 2 * step)
            pm_sketch_merge(&s[i], &s[i + step]);
    CU_ASSERT(pm_sketch_equal(&s[0], &whole));
    check_reference(&whole, v, n);
    g_free(s);
    g_free(v);
}

/* ================================================== search direction */

/* The quantile as the header defines it, found the plain way: cumulative
 * counts from the lowest bucket up. pm_sketch_quantile() searches high
 * ranks from the top instead; both must name the same bucket. */
static double
bottom_scan_quantile(const pm_sketch *s, double q)
{
    uint64_t n = s->count, rank = rank_of(q, n), seen = s->zero;

    if (rank == 0)
        return s->min;
    if (rank == n - 1)
        return s->max;
    if (rank < s->zero)
        return s->min;
    for (int32_t i = s->hi - (N - 1); i <= s->hi; i++) {
        seen += s->bucket[(uint32_t)i & (N - 1)];
        if (seen > rank) {
            double v = pm_sketch_bucket_value(i);

            return v < s->min ? s->min : v > s->max ? s->max : v;
        }
    }
    return s->max;
}

/* A sketch of 1 to 399 samples whose spread runs from one bucket to
 * beyond the window (collapsing), with some zeros. */
static void
random_set(GRand *rnd, pm_sketch *s)
{
    int n = g_rand_int_range(rnd, 1, 400);
    double spread = g_rand_double_range(rnd, 0.0, 14.0);

    pm_sketch_init(s);
    for (int i = 0; i < n; i++) {
        double v = g_rand_int_range(rnd, 0, 20) == 0 ? 0.0
                 : 0.5 * exp(g_rand_double_range(rnd, 0.0, spread));
        pm_sketch_add(s, v);
    }
}

static void
test_search_direction(void)
{
    GRand *rnd = g_rand_new_with_seed(11);
    unsigned compared = 0, differ = 0;

    for (int set = 0; set < 300; set++) {
        pm_sketch s;

        random_set(rnd, &s);
        for (int k = 0; k <= 1000; k++) {
            double a = pm_sketch_quantile(&s, k / 1000.0);
            double b = bottom_scan_quantile(&s, k / 1000.0);

            compared++;
            differ += memcmp(&a, &b, sizeof a) != 0;
        }
    }
    CU_ASSERT_EQUAL(differ, 0);
    CU_ASSERT_EQUAL(compared, 300 * 1001);
    g_rand_free(rnd);
}

/* pm_sketch_quantile_sparse() answers from a sketch's exported
 * description exactly what pm_sketch_quantile() answers from the sketch:
 * same sets as above (one bucket to beyond the window, with zeros), every
 * thousandth quantile, compared bit for bit. */
static void
test_sparse_quantile(void)
{
    GRand *rnd = g_rand_new_with_seed(12);
    int32_t *index = g_new(int32_t, N);
    uint32_t *count = g_new(uint32_t, N);
    unsigned differ = 0, collapsed_sets = 0;

    for (int set = 0; set < 300; set++) {
        pm_sketch s;
        pm_sketch_raw raw;
        size_t nb;

        random_set(rnd, &s);
        pm_sketch_export(&s, &raw);
        nb = pm_sketch_buckets(&s, index, count);
        collapsed_sets += raw.collapsed > 0;
        for (int k = -1; k <= 1001; k++) {
            double a = pm_sketch_quantile(&s, k / 1000.0);
            double b = pm_sketch_quantile_sparse(&raw, index, count, nb, k / 1000.0);

            differ += memcmp(&a, &b, sizeof a) != 0;
        }
    }
    CU_ASSERT_EQUAL(differ, 0);
    CU_ASSERT(collapsed_sets > 0);
    g_free(index);
    g_free(count);
    g_rand_free(rnd);
}

/* ========================================================== saturation */

/* A bucket at UINT32_MAX stays there instead of wrapping to 0. Built by
 * hand (4 billion adds would take a while): two sketches whose bucket 0
 * holds 3 * 2^30 samples each. */
static void
test_saturation(void)
{
    pm_sketch a;

    pm_sketch_init(&a);
    CU_ASSERT(pm_sketch_add(&a, 1.0));
    a.bucket[0] = 3u << 30;
    a.count = 3u << 30;
    pm_sketch_merge(&a, &a);
    CU_ASSERT_EQUAL(a.bucket[0], UINT32_MAX);
    CU_ASSERT_EQUAL(pm_sketch_count(&a), 3ull << 31);
    CU_ASSERT(pm_sketch_add(&a, 1.0));
    CU_ASSERT_EQUAL(a.bucket[0], UINT32_MAX);
    CU_ASSERT_EQUAL(pm_sketch_quantile(&a, 0.5), 1.0); /* clamped to [1, 1] */
}

/* ================================================================ speed */

/* Not a pass/fail test: prints the cost of an add for the summary. */
static double add_ns;

static void
test_add_speed(void)
{
    size_t n = 1 << 16, rounds = 64;
    double *v = gen(D_BIMODAL, n, 41, 0, 0);
    pm_sketch s;
    gint64 t0, t1;

    pm_sketch_init(&s);
    t0 = g_get_monotonic_time();
    for (size_t r = 0; r < rounds; r++)
        for (size_t i = 0; i < n; i++)
            pm_sketch_add(&s, v[i]);
    t1 = g_get_monotonic_time();
    CU_ASSERT_EQUAL(pm_sketch_count(&s), (uint64_t)n * rounds);
    add_ns = (double)(t1 - t0) * 1000.0 / (double)(n * rounds);
    g_free(v);
}

/* ================================================================== main */

typedef struct {
    const char *name;
    CU_TestFunc fn;
} test_def;

static int
add_suite(const char *name, const test_def *tests, size_t n)
{
    CU_pSuite s = CU_add_suite(name, NULL, NULL);

    if (!s)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!CU_add_test(s, tests[i].name, tests[i].fn))
            return -1;
    return 0;
}

#define SUITE(name, arr) add_suite(name, arr, G_N_ELEMENTS(arr))

int
main(void)
{
    static const test_def basics[] = {
        { "bucket index and value by hand", test_pinned_buckets },
        { "rank definition", test_rank_definition },
        { "empty and single", test_empty },
    };
    static const test_def random[] = {
        { "uniform", test_uniform },
        { "log-normal", test_lognormal },
        { "exponential", test_exponential },
        { "bimodal", test_bimodal },
    };
    static const test_def adversarial[] = {
        { "all equal", test_all_equal },
        { "bucket edges", test_bucket_edges },
        { "0.001 to 10^7 ms, collapsing", test_huge_range },
        { "10 us to minutes", test_rtt_extremes },
        { "tiny and zero", test_tiny_and_zero },
        { "rejected values", test_rejected },
        { "up to DBL_MAX", test_huge_values },
        { "saturation", test_saturation },
        { "high quantiles searched from the top", test_search_direction },
        { "sparse description, same quantiles", test_sparse_quantile },
    };
    static const test_def merge[] = {
        { "split points, three orders", test_merge_splits },
        { "who collapsed", test_merge_collapse_cases },
        { "commutative, associative, neutral, self", test_merge_laws },
        { "1,000 parts", test_merge_many },
    };
    static const test_def speed[] = {
        { "add", test_add_speed },
    };
    unsigned failures;

    if (CU_initialize_registry() != CUE_SUCCESS)
        return CU_get_error();
    if (SUITE("sketch: basics", basics) || SUITE("sketch: random sets", random) ||
        SUITE("sketch: adversarial sets", adversarial) || SUITE("sketch: merge", merge) ||
        SUITE("sketch: speed", speed)) {
        CU_cleanup_registry();
        return CU_get_error() ? (int)CU_get_error() : 1;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failures = CU_get_number_of_failures();
    CU_cleanup_registry();

    printf("\nLargest relative error against exact quantiles (bound 1%%):\n");
    for (size_t i = 0; i < n_measures; i++)
        printf("  %-30s n=%-8zu %.6f%%  (%u quantiles under the bound, %u collapsed, %u in zero counter)\n",
               measures[i].name, measures[i].n, 100.0 * measures[i].max_rel, measures[i].checked,
               measures[i].degraded, measures[i].underflow);
    printf("sizeof(pm_sketch) = %zu bytes; add: %.1f ns\n", sizeof(pm_sketch), add_ns);
    return failures != 0;
}
