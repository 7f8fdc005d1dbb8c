/*
 * therapy_sms.c: SMS senders (therapy_sms.h). This version writes the
 * development file only; webhook and twilio arrive with the HTTPS client.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "log.h"
#include "therapy.h"
#include "therapy_sms.h"

struct therapy_sms_sender {
    char kind[16];
    char path[1024];
};

therapy_sms_sender *therapy_sms_sender_new(struct event_base *base, const sb_config *cfg,
                                           const char *spec, const therapy_sms_opts *opts,
                                           char *err, size_t err_size)
{
    (void)base, (void)cfg, (void)opts;
    therapy_sms_sender *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    if (!spec || !*spec) {
        strcpy(s->kind, "none");
        return s;
    }
    if (strncmp(spec, "file:", 5) == 0 && spec[5]) {
        strcpy(s->kind, "file");
        snprintf(s->path, sizeof s->path, "%s", spec + 5);
        return s;
    }
    snprintf(err, err_size, "--sms: unknown sender '%s' (file:PATH)", spec);
    free(s);
    return NULL;
}

int therapy_sms_sender_send(therapy_sms_sender *s, const char *to, const char *body)
{
    if (strcmp(s->kind, "file") != 0)
        return -1;
    therapy_sms_file_line line = {.to = {to, strlen(to)}, .body = {body, strlen(body)}};
    sb_buf b;
    sb_buf_init(&b);
    therapy_sms_file_line_write(&b, &line);
    sb_buf_put(&b, "\n", 1);
    int fd = open(s->path, O_WRONLY | O_APPEND | O_CREAT, 0600);
    ssize_t n = fd >= 0 && !b.oom ? write(fd, b.data, b.len) : -1;
    if (fd >= 0)
        close(fd);
    int rc = n == (ssize_t)b.len ? 0 : -1;
    sb_buf_free(&b);
    return rc;
}

const char *therapy_sms_sender_kind(const therapy_sms_sender *s)
{
    return s->kind;
}

size_t therapy_sms_sender_pending(const therapy_sms_sender *s)
{
    (void)s;
    return 0;
}

void therapy_sms_sender_free(therapy_sms_sender *s)
{
    free(s);
}
