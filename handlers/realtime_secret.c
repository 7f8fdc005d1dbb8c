/*
 * realtime_secret.c: the HS256 secret (realtime_secret.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "realtime_secret.h"
#include "token.h"

/* The directory of path, made if missing (one level, like the database's). */
static void make_dir_of(const char *path)
{
    char dir[1300];
    if (strlen(path) >= sizeof dir)
        return;
    memcpy(dir, path, strlen(path) + 1);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return;
    *slash = '\0';
    mkdir(dir, 0700);
}

static int create_file(const char *path, char *err, size_t err_size)
{
    char secret[SB_TOKEN_HEX_LEN + 1];
    if (sb_token_new(secret) != 0) {
        snprintf(err, err_size, "no randomness for a JWT secret");
        return -1;
    }
    make_dir_of(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) {
        snprintf(err, err_size, "%s: %s", path, strerror(errno));
        return -1;
    }
    char line[SB_TOKEN_HEX_LEN + 2];
    snprintf(line, sizeof line, "%s\n", secret);
    ssize_t n = write(fd, line, strlen(line));
    close(fd);
    memset(secret, 0, sizeof secret);
    memset(line, 0, sizeof line);
    if (n != (ssize_t)SB_TOKEN_HEX_LEN + 1) {
        snprintf(err, err_size, "%s: could not write the JWT secret", path);
        unlink(path);
        return -1;
    }
    return 0;
}

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
        const char *slash = strrchr(cfg->db_path, '/');
        snprintf(beside, sizeof beside, "%.*sjwt-secret",
                 slash ? (int)(slash - cfg->db_path + 1) : 0, cfg->db_path);
        path = beside;
    }
    FILE *f = fopen(path, "r");
    if (!f && errno == ENOENT && create) {
        if (create_file(path, err, err_size) != 0)
            return -1;
        f = fopen(path, "r");
    }
    if (!f) {
        snprintf(err, err_size, "%s: %s (set --jwt-secret or --jwt-secret-file)", path,
                 strerror(errno));
        return -1;
    }
    size_t n = fread(out, 1, cap - 1, f);
    fclose(f);
    out[n] = '\0';
    while (n && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' '))
        out[--n] = '\0';
    if (n == 0) {
        snprintf(err, err_size, "%s: empty", path);
        return -1;
    }
    return 0;
}
