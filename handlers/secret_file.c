/*
 * secret_file.c: secrets kept in files (secret_file.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "secret_file.h"
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
        snprintf(err, err_size, "no randomness for a secret");
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
        snprintf(err, err_size, "%s: could not write the secret", path);
        unlink(path);
        return -1;
    }
    return 0;
}

int secret_file_load(const char *path, bool create, char *out, size_t cap, char *err,
                     size_t err_size)
{
    FILE *f = fopen(path, "r");
    if (!f && errno == ENOENT && create) {
        if (create_file(path, err, err_size) != 0)
            return -1;
        f = fopen(path, "r");
    }
    if (!f) {
        snprintf(err, err_size, "%s: %s", path, strerror(errno));
        return -1;
    }
    size_t n = fread(out, 1, cap - 1, f);
    fclose(f);
    out[n] = '\0';
    while (n && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' '))
        out[--n] = '\0';
    if (n == 0) {
        snprintf(err, err_size, "%s: empty", path);
        return -2;
    }
    return 0;
}

void secret_file_beside(const char *db_path, const char *name, char *out, size_t cap)
{
    const char *slash = strrchr(db_path, '/');
    snprintf(out, cap, "%.*s%s", slash ? (int)(slash - db_path + 1) : 0, db_path, name);
}
