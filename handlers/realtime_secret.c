/*
 * realtime_secret.c: the HS256 secret (realtime_secret.h).
 */
#include <stdio.h>
#include <string.h>

#include "realtime_secret.h"
#include "secret_file.h"

int realtime_secret_load(const sb_config *cfg, bool create, char *out, size_t cap, char *err,
                         size_t err_size)
{
    if (cfg->jwt_secret[0]) {
        /* trimmed like the file's line: a secret of blanks is no secret */
        const char *v = cfg->jwt_secret;
        while (*v == ' ' || *v == '\t' || *v == '\n' || *v == '\r')
            v++;
        snprintf(out, cap, "%s", v);
        size_t n = strlen(out);
        while (n && (out[n - 1] == ' ' || out[n - 1] == '\t' || out[n - 1] == '\n' ||
                     out[n - 1] == '\r'))
            out[--n] = '\0';
        if (n == 0) {
            snprintf(err, err_size, "--jwt-secret: blank");
            return -1;
        }
        return 0;
    }
    /* the file named, or jwt-secret beside the database */
    char beside[1200];
    const char *path = cfg->jwt_secret_file;
    if (!path[0]) {
        secret_file_beside(cfg->db_path, "jwt-secret", beside, sizeof beside);
        path = beside;
    }
    int rc = secret_file_load(path, create, out, cap, err, err_size);
    if (rc != 0) {
        size_t n = strlen(err);
        if (rc == -1 && n + 1 < err_size)
            snprintf(err + n, err_size - n, " (set --jwt-secret or --jwt-secret-file)");
        return -1;
    }
    return 0;
}
