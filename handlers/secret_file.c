/*
 * secret_file.c: secrets kept in files (secret_file.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
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

int secret_file_write(const char *path, const char *data, size_t len, bool replace, char *err,
                      size_t err_size)
{
    make_dir_of(path);
    /* a name of this process's own beside the target: written whole, then
     * linked (or renamed) into place, so no reader ever sees it half-done */
    char tmp[1400];
    char rnd[SB_TOKEN_HEX_LEN + 1];
    if (sb_token_new(rnd) != 0) {
        snprintf(err, err_size, "no randomness for a temporary name");
        return -1;
    }
    rnd[12] = '\0';
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.%ld.%s.tmp", path, (long)getpid(), rnd) >=
        sizeof tmp) {
        snprintf(err, err_size, "%s: path too long", path);
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, err_size, "%s: %s", tmp, strerror(errno));
        return -1;
    }
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, data + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    int ok = off == len && fsync(fd) == 0;
    if (close(fd) != 0)
        ok = 0;
    if (!ok) {
        snprintf(err, err_size, "%s: could not write it", path);
        unlink(tmp);
        return -1;
    }
    int rc = 0;
    if (replace) {
        if (rename(tmp, path) != 0) {
            snprintf(err, err_size, "%s: %s", path, strerror(errno));
            unlink(tmp);
            return -1;
        }
        return 0;
    }
    if (link(tmp, path) != 0) {
        if (errno == EEXIST) {
            rc = 1; /* another process made it first: theirs stands */
        } else {
            snprintf(err, err_size, "%s: %s", path, strerror(errno));
            rc = -1;
        }
    }
    unlink(tmp);
    return rc;
}

static int create_file(const char *path, char *err, size_t err_size)
{
    char secret[SB_TOKEN_HEX_LEN + 1];
    if (sb_token_new(secret) != 0) {
        snprintf(err, err_size, "no randomness for a secret");
        return -1;
    }
    char line[SB_TOKEN_HEX_LEN + 2];
    snprintf(line, sizeof line, "%s\n", secret);
    int rc = secret_file_write(path, line, strlen(line), false, err, err_size);
    memset(secret, 0, sizeof secret);
    memset(line, 0, sizeof line);
    return rc < 0 ? -1 : 0; /* 1: another process's, read below */
}

static int read_line(const char *path, char *out, size_t cap, char *err, size_t err_size)
{
    FILE *f = fopen(path, "r");
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

int secret_file_load(const char *path, bool create, char *out, size_t cap, char *err,
                     size_t err_size)
{
    if (create && access(path, F_OK) != 0 && errno == ENOENT &&
        create_file(path, err, err_size) != 0)
        return -1;
    int rc = read_line(path, out, cap, err, err_size);
    /* files made by this code appear whole (secret_file_write); one written
     * in place by hand, or by an older binary, may be caught half-way: a
     * few short retries before calling it empty */
    for (int i = 0; rc == -2 && create && i < 20; i++) {
        struct timespec pause = {0, 50 * 1000 * 1000};
        nanosleep(&pause, NULL);
        rc = read_line(path, out, cap, err, err_size);
    }
    return rc;
}

void secret_file_beside(const char *db_path, const char *name, char *out, size_t cap)
{
    const char *slash = strrchr(db_path, '/');
    snprintf(out, cap, "%.*s%s", slash ? (int)(slash - db_path + 1) : 0, db_path, name);
}
