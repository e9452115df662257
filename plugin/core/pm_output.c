/* pm_output.c
 * See pm_output.h.
 *
 * Copyright (c) 2026 The PacketMancer authors
 * SPDX-License-Identifier: MIT
 */

#include "pm_output.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

bool
pm_output_open(pm_output *o, const char *path)
{
    char *dir;
    int fd;

    memset(o, 0, sizeof *o);
    if (!path) {
        o->f = stdout;
        return true;
    }
    o->path = g_strdup(path);
    dir = g_path_get_dirname(path);
    /* Hidden, and in the same folder: rename() is atomic only within one
     * file system. */
    o->tmp = g_build_filename(dir, ".packetmancer-XXXXXX", NULL);
    g_free(dir);
    fd = g_mkstemp_full(o->tmp, O_WRONLY, 0644);
    if (fd >= 0 && (o->f = fdopen(fd, "w")))
        return true;
    {
        int e = errno;

        if (fd >= 0) {
            close(fd);
            g_unlink(o->tmp);
        }
        g_free(o->tmp);
        g_free(o->path);
        memset(o, 0, sizeof *o);
        errno = e;
    }
    return false;
}

bool
pm_output_close(pm_output *o, bool ok)
{
    int e = 0;

    if (!o->tmp) {
        ok = fflush(stdout) == 0 && !ferror(stdout) && ok;
        memset(o, 0, sizeof *o);
        return ok;
    }
    /* Each step only if the ones before worked, keeping the first errno. */
    if (ok && (fflush(o->f) != 0 || ferror(o->f)))
        ok = false, e = errno;
    if (ok && fsync(fileno(o->f)) != 0)
        ok = false, e = errno;
    if (fclose(o->f) != 0 && ok)
        ok = false, e = errno;
    if (ok && g_rename(o->tmp, o->path) != 0)
        ok = false, e = errno;
    if (!ok)
        g_unlink(o->tmp);
    g_free(o->tmp);
    g_free(o->path);
    memset(o, 0, sizeof *o);
    if (e)
        errno = e;
    return ok;
}
