/* pm_json.h
 * A small pretty-printing JSON writer into a GString.
 *
 * It writes exactly what Wireshark's json_dumper writes with
 * JSON_DUMPER_FLAGS_PRETTY_PRINT (same commas, newlines, two-space
 * indentation and string escaping), so documents are unchanged, but without
 * json_dumper's per-character calls and a printf per number: on a
 * 1,500-conversation report json_dumper took ~185,000 instructions per
 * conversation object (callgrind), more than the whole analysis of its
 * packets. Misuse (a value without a member name, unbalanced ends) is
 * caught by tests, not at run time; the writer only refuses to go deeper
 * than PM_JSON_MAX_DEPTH and then reports failure at the end.
 *
 * Copyright (c) 2026 The PacketMancer authors
 * SPDX-License-Identifier: MIT
 */

#ifndef PM_JSON_H
#define PM_JSON_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#define PM_JSON_MAX_DEPTH 32

typedef struct pm_json {
    GString *out;
    int depth;
    /* Per open container (index depth - 1): PM_JSON_OBJECT/ARRAY, plus
     * PM_JSON_NAMED while a member name waits for its value. state[depth]
     * is nonzero once the innermost container has an element. */
    uint8_t state[PM_JSON_MAX_DEPTH + 1];
    bool error;
} pm_json;

void pm_json_init(pm_json *j, GString *out);
void pm_json_begin_object(pm_json *j);
void pm_json_end_object(pm_json *j);
void pm_json_begin_array(pm_json *j);
void pm_json_end_array(pm_json *j);
/* A member name (escaped like a string value). */
void pm_json_member(pm_json *j, const char *name);
/* A string value, escaped as json_dumper does: quote and backslash, C0
 * controls (\b \t \n \f \r or \u00xx), and "</" as "<\/". NULL is null. */
void pm_json_string(pm_json *j, const char *s);
/* Values written as given: numbers, null, or text already escaped. */
void pm_json_raw(pm_json *j, const char *text);
void pm_json_raw_len(pm_json *j, const char *text, size_t len);
void pm_json_uint(pm_json *j, uint64_t v);
void pm_json_int(pm_json *j, int64_t v);
/* v as printf's "%.3f" writes it (C locale), for any double. */
void pm_json_fixed3(pm_json *j, double v);
void pm_json_printf(pm_json *j, const char *format, ...) G_GNUC_PRINTF(2, 3);
/* Writes v's decimal digits so that they end just before end (room for
 * 20); returns where they start. For numbers written without printf. */
char *pm_uint_digits(char *end, uint64_t v);
/* Ends the document with a newline; false if it was not well formed. */
bool pm_json_finish(pm_json *j);

#endif
