/*
 * therapy_login.c: who the user is (seed 001, "Authentication"): login
 * (a one-time code by SMS), verifyCode (the code makes a server-side
 * session), the session's own view and logout.
 *
 * The rules, all checked inside the turn's transaction, so that parallel
 * requests cannot slip between a count and its update:
 * - login answers the same, in about the same time, whether or not phone
 *   and last name match a user: the same hashes and rows are written either
 *   way, and the SMS goes out after the commit, off the request's path;
 * - per phone (known or not, so that a 429 reveals nothing): one code a
 *   minute (CODE_RESEND_TOO_SOON), three an hour (TOO_MANY_CODES), only the
 *   latest code valid; per client address and server-wide: caps on codes
 *   sent (RATE_LIMITED, logged as therapy_otp_abuse: SMS pumping);
 * - a code is bound to the browser's pre-login cookie, has one try, expires
 *   after --otp-ttl; three failed codes within an hour lock the phone
 *   (TOO_MANY_ATTEMPTS, even for the right code); codes checked per client
 *   address are capped too (spraying many phones);
 * - success issues a new cookie value (the pre-login one is dropped: no
 *   fixation) naming a server-side session.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "clock.h"
#include "ctx.h"
#include "log.h"
#include "therapy_app.h"
#include "therapy_handlers.h"
#include "therapy_sms.h"

/* Phone numbers and names --------------------------------------------------- */

int therapy_phone_normalize(const char *p, size_t n, char out[THERAPY_PHONE_MAX + 1])
{
    size_t digits = 0;
    bool plus = false;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c >= '0' && c <= '9') {
            if (digits == 15)
                return -1;
            out[1 + digits++] = c;
        } else if (c == '+' && digits == 0 && !plus) {
            plus = true;
        } else if (c != ' ' && c != '-' && c != '.' && c != '(' && c != ')') {
            return -1; /* letters, other scripts' digits, anything else */
        }
    }
    if (!plus && digits == 10) { /* a North American number written locally */
        memmove(out + 2, out + 1, digits);
        out[1] = '1';
        digits++;
    } else if (!plus) {
        return -1;
    }
    if (digits < 8)
        return -1;
    out[0] = '+';
    out[1 + digits] = '\0';
    return 0;
}

int therapy_name_key(const char *p, size_t n, char *out, size_t cap)
{
    while (n && (*p == ' ' || *p == '\t'))
        p++, n--;
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    if (n == 0 || n >= cap)
        return -1;
    for (size_t i = 0; i < n; i++)
        out[i] = (p[i] >= 'A' && p[i] <= 'Z') ? (char)(p[i] - 'A' + 'a') : p[i];
    out[n] = '\0';
    return 0;
}

/* Six decimal digits, uniformly: rejection sampling, no modulo bias. */
static int new_code(char out[7])
{
    uint32_t v;
    do {
        if (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v)
            return -1;
    } while (v >= 4294000000u); /* 4294 * 10^6: the largest multiple of 10^6 */
    snprintf(out, 7, "%06u", (unsigned)(v % 1000000u));
    return 0;
}

static int retry_after(int64_t until_ms, int64_t now)
{
    int64_t s = (until_ms - now + 999) / 1000;
    return s < 1 ? 1 : (int)s;
}

/* 429 with retry_after in the body and Retry-After in the headers. */
static int too_many(struct sb_ctx *ctx, therapy_therapy_error_response *err, int code, int secs)
{
    char v[16];
    snprintf(v, sizeof v, "%d", secs);
    sb_http_add_header(ctx->http_resp, "Retry-After", v);
    err->retry_after = secs;
    err->has.retry_after = SB_SET;
    return -code;
}

/* The SMS leaves after the commit that stored its code. */
typedef struct pending_sms {
    therapy_app *app;
    char to[THERAPY_PHONE_MAX + 1];
    char body[160];
} pending_sms;

static void send_after_commit(void *arg, int rc)
{
    pending_sms *p = arg;
    char m[16];
    if (rc != 0) {
        sb_log(SB_LOG_WARN, "therapy_sms_dropped", "to=%s reason=\"the code was not stored\"",
               therapy_sms_mask(m, p->to));
    } else if (therapy_sms_sender_send(p->app->sms, p->to, p->body) == 0) {
        sb_counter_add(p->app->m_codes_sent, 1); /* a refusal: the sender logs why */
    }
    memset(p->body, 0, sizeof p->body);
    free(p);
}

/* The current cookie's value when it has a token's shape. */
static bool cookie_token(const sb_http_request *req, char token[SB_TOKEN_HEX_LEN + 2])
{
    return sb_http_cookie(req, THERAPY_COOKIE, token, SB_TOKEN_HEX_LEN + 2) &&
           strlen(token) == SB_TOKEN_HEX_LEN;
}

/* login --------------------------------------------------------------------- */

/* The limits below are counts in the rate-limit log (therapy_events),
 * shared by every node on the database: nothing is counted in this
 * process. A count and the event it lets through run under the key's row
 * lock (therapy_limit_lock), taken first, server, address, phone, so that
 * two nodes cannot both count 2 of 3 and both send the third. */
static int lock_key(therapy_app *app, const char *kind, const char *key, int64_t now)
{
    char k[160];
    snprintf(k, sizeof k, "%s:%s", kind, key);
    return therapy_limit_lock(app->store, k, now) > 0 ? 0 : -THERAPY_ERROR_UNAVAILABLE;
}

/* The phone's limits: 0 or the refusal. */
static int phone_limits(struct sb_ctx *ctx, therapy_app *app, const char *phone_key, int64_t now,
                        therapy_therapy_error_response *err)
{
    int64_t oldest = 0, newest = 0;
    int64_t sent = therapy_event_count(app->store, "send", phone_key, NULL, now - app->window_ms,
                                       &oldest, &newest);
    int64_t fails_oldest = 0;
    int64_t failed = therapy_event_count(app->store, "fail", phone_key, NULL, now - app->window_ms,
                                         &fails_oldest, NULL);
    if (sent < 0 || failed < 0)
        return -THERAPY_ERROR_UNAVAILABLE;
    if (failed >= app->max_codes)
        return too_many(ctx, err, THERAPY_ERROR_TOO_MANY_CODES,
                        retry_after(fails_oldest + app->window_ms, now));
    if (sent > 0 && now - newest < app->resend_ms)
        return too_many(ctx, err, THERAPY_ERROR_CODE_RESEND_TOO_SOON,
                        retry_after(newest + app->resend_ms, now));
    if (sent >= app->max_codes)
        return too_many(ctx, err, THERAPY_ERROR_TOO_MANY_CODES,
                        retry_after(oldest + app->window_ms, now));
    return 0;
}

/* The per-address and server-wide caps on codes sent: 0 or RATE_LIMITED. */
static int send_caps(struct sb_ctx *ctx, therapy_app *app, const char *ip, int64_t now,
                     therapy_therapy_error_response *err)
{
    int64_t oldest = 0;
    if (app->otp_ip_limit) {
        int64_t n =
            therapy_event_count(app->store, "send", NULL, ip, now - app->window_ms, &oldest, NULL);
        if (n < 0)
            return -THERAPY_ERROR_UNAVAILABLE;
        if (n >= app->otp_ip_limit) {
            sb_log(SB_LOG_WARN, "therapy_otp_abuse", "limit=address ip=%s codes=%lld", ip,
                   (long long)n);
            return too_many(ctx, err, THERAPY_ERROR_RATE_LIMITED,
                            retry_after(oldest + app->window_ms, now));
        }
    }
    if (app->otp_global_limit) {
        int64_t n = therapy_event_count(app->store, "send", NULL, NULL, now - app->window_ms,
                                        &oldest, NULL);
        if (n < 0)
            return -THERAPY_ERROR_UNAVAILABLE;
        if (n >= app->otp_global_limit) {
            sb_log(SB_LOG_ERROR, "therapy_otp_abuse", "limit=global codes=%lld", (long long)n);
            return too_many(ctx, err, THERAPY_ERROR_RATE_LIMITED,
                            retry_after(oldest + app->window_ms, now));
        }
    }
    return 0;
}

static int login(struct sb_ctx *ctx, const therapy_login_request *req, therapy_login_response *resp,
                 therapy_therapy_error_response *err)
{
    therapy_app *app = ctx->app;
    int rc = therapy_check_origin(ctx, app);
    if (rc != 0)
        return rc;
    char phone[THERAPY_PHONE_MAX + 1], name_key[257];
    if (therapy_phone_normalize(req->phone.ptr, req->phone.len, phone) != 0) {
        ctx->http_detail = "phone: not a phone number (+ and 8 to 15 digits; spaces, dashes, "
                           "dots and parentheses are allowed)";
        return -THERAPY_ERROR_INVALID_REQUEST;
    }
    if (therapy_name_key(req->last_name.ptr, req->last_name.len, name_key, sizeof name_key) != 0) {
        ctx->http_detail = "last_name: blank";
        return -THERAPY_ERROR_INVALID_REQUEST;
    }
    sb_counter_add(app->m_logins, 1);
    int64_t now = sb_wall_ms();
    const char *ip = ctx->http->peer ? ctx->http->peer : "";
    char phone_key[SB_TOKEN_HEX_LEN + 1];
    therapy_mac_hex(app, "phone", phone, NULL, phone_key);
    if (sb_store_begin(app->store) != SB_STORE_OK)
        return -THERAPY_ERROR_UNAVAILABLE;
    if ((app->otp_global_limit && (rc = lock_key(app, "send", "*", now)) != 0) ||
        (app->otp_ip_limit && (rc = lock_key(app, "send-ip", ip, now)) != 0) ||
        (rc = lock_key(app, "phone", phone_key, now)) != 0)
        return rc;
    if ((rc = send_caps(ctx, app, ip, now, err)) != 0 ||
        (rc = phone_limits(ctx, app, phone_key, now, err)) != 0) {
        sb_counter_add(app->m_codes_refused, 1);
        return rc;
    }

    /* a login ends whatever session this browser had, and gets a fresh
     * pre-login cookie the code is bound to */
    char old[SB_TOKEN_HEX_LEN + 2], old_hash[SB_TOKEN_HEX_LEN + 1];
    if (cookie_token(ctx->http, old)) {
        sb_token_hash(old, SB_TOKEN_HEX_LEN, old_hash);
        therapy_auth_delete(app->store, old_hash);
        therapy_login_delete(app->store, old_hash);
    }
    char token[SB_TOKEN_HEX_LEN + 1], token_hash[SB_TOKEN_HEX_LEN + 1];
    char code[7], code_hash[SB_TOKEN_HEX_LEN + 1];
    if (sb_token_new(token) != 0 || new_code(code) != 0)
        return -THERAPY_ERROR_UNAVAILABLE;
    sb_token_hash(token, SB_TOKEN_HEX_LEN, token_hash);
    therapy_mac_hex(app, "code", token_hash, code, code_hash);

    therapy_user u;
    int found = therapy_user_find(app->store, phone, name_key, &u, NULL);
    if (found < 0 || therapy_login_drop_phone(app->store, phone_key) != 0 ||
        therapy_login_put(app->store, token_hash, found == 0 ? u.id : NULL, phone_key, code_hash,
                          now, now + app->otp_ttl_ms) != 0 ||
        therapy_event_add(app->store, "send", phone_key, ip, now) != 0) {
        sb_counter_add(app->m_storage_errors, 1);
        return -THERAPY_ERROR_UNAVAILABLE;
    }
    if (found == 0) {
        pending_sms *p = calloc(1, sizeof *p);
        if (p) {
            p->app = app;
            snprintf(p->to, sizeof p->to, "%s", phone);
            snprintf(p->body, sizeof p->body,
                     "Your Switchboard code is %s. It expires in %lld minutes.", code,
                     (long long)(app->otp_ttl_ms / 60000));
            sb_store_after_commit(app->store, send_after_commit, p);
        }
    }
    char m[16];
    sb_log(SB_LOG_INFO, "therapy_login", "to=%s known=%d ip=%s", therapy_sms_mask(m, phone),
           found == 0, ip);
    memset(code, 0, sizeof code);
    therapy_set_cookie(ctx, app, token);
    resp->result = SB_STR_LIT("If the details match, a code has been sent by SMS");
    resp->resend_after = app->resend_ms / 1000;
    return 200;
}

/* verifyCode ---------------------------------------------------------------- */

static int verify_code(struct sb_ctx *ctx, const therapy_verify_code_request *req,
                       therapy_verify_code_response *resp, therapy_therapy_error_response *err)
{
    therapy_app *app = ctx->app;
    int rc = therapy_check_origin(ctx, app);
    if (rc != 0)
        return rc;
    int64_t now = sb_wall_ms();
    const char *ip = ctx->http->peer ? ctx->http->peer : "";
    if (sb_store_begin(app->store) != SB_STORE_OK)
        return -THERAPY_ERROR_UNAVAILABLE;
    if (app->verify_ip_limit) {
        if ((rc = lock_key(app, "verify-ip", ip, now)) != 0)
            return rc;
        int64_t oldest = 0;
        int64_t n = therapy_event_count(app->store, "verify", NULL, ip, now - app->window_ms,
                                        &oldest, NULL);
        if (n < 0)
            return -THERAPY_ERROR_UNAVAILABLE;
        if (n >= app->verify_ip_limit) {
            sb_log(SB_LOG_WARN, "therapy_otp_abuse", "limit=verify ip=%s checks=%lld", ip,
                   (long long)n);
            return too_many(ctx, err, THERAPY_ERROR_RATE_LIMITED,
                            retry_after(oldest + app->window_ms, now));
        }
    }
    if (therapy_event_add(app->store, "verify", NULL, ip, now) != 0)
        return -THERAPY_ERROR_UNAVAILABLE;

    char token[SB_TOKEN_HEX_LEN + 2], token_hash[SB_TOKEN_HEX_LEN + 1];
    therapy_login_row login;
    if (!cookie_token(ctx->http, token)) {
        sb_counter_add(app->m_verify_failed, 1);
        return -THERAPY_ERROR_INVALID_CODE;
    }
    sb_token_hash(token, SB_TOKEN_HEX_LEN, token_hash);
    rc = therapy_login_get(app->store, token_hash, &login);
    if (rc < 0)
        return -THERAPY_ERROR_UNAVAILABLE;
    if (rc > 0) {
        sb_counter_add(app->m_verify_failed, 1);
        return -THERAPY_ERROR_INVALID_CODE; /* no login pending in this browser */
    }
    /* the phone's failed codes are counted under its lock (a login of the
     * same phone on another node logs and drops codes under it too) */
    if ((rc = lock_key(app, "phone", login.phone_key, now)) != 0)
        return rc;
    int64_t fails_oldest = 0;
    int64_t failed = therapy_event_count(app->store, "fail", login.phone_key, NULL,
                                         now - app->window_ms, &fails_oldest, NULL);
    if (failed < 0)
        return -THERAPY_ERROR_UNAVAILABLE;
    /* the code's one try, taken in one conditional update: of parallel or
     * repeated checks, on this node or another, one gets it; the others (a
     * try used, or the login gone with its success) are not evaluated, nor
     * is any when the phone has failed three times this hour (its try is
     * used up all the same) */
    rc = therapy_login_claim(app->store, token_hash, &login);
    if (rc < 0)
        return -THERAPY_ERROR_UNAVAILABLE;
    if (rc > 0 || failed >= app->max_codes) {
        sb_counter_add(app->m_verify_failed, 1);
        int64_t until =
            failed >= app->max_codes ? fails_oldest + app->window_ms : now + app->resend_ms;
        return too_many(ctx, err, THERAPY_ERROR_TOO_MANY_ATTEMPTS, retry_after(until, now));
    }
    char code[7], want[SB_TOKEN_HEX_LEN + 1];
    snprintf(code, sizeof code, "%.*s", (int)req->code.len, req->code.ptr);
    therapy_mac_hex(app, "code", token_hash, code, want);
    memset(code, 0, sizeof code);
    bool right = sb_token_equal(want, login.code_hash, SB_TOKEN_HEX_LEN);
    if (!right || !login.user[0] || now > login.expires_ms) {
        /* one try per code: this login is over (claimed above) */
        if (now <= login.expires_ms &&
            therapy_event_add(app->store, "fail", login.phone_key, ip, now) != 0)
            return -THERAPY_ERROR_UNAVAILABLE;
        sb_counter_add(app->m_verify_failed, 1);
        sb_log(SB_LOG_INFO, "therapy_code_refused", "ip=%s reason=%s", ip,
               now > login.expires_ms ? "expired" : "wrong");
        return -THERAPY_ERROR_INVALID_CODE;
    }

    /* a new session under a new cookie value */
    char session[SB_TOKEN_HEX_LEN + 1], session_hash[SB_TOKEN_HEX_LEN + 1];
    if (sb_token_new(session) != 0)
        return -THERAPY_ERROR_UNAVAILABLE;
    sb_token_hash(session, SB_TOKEN_HEX_LEN, session_hash);
    if (therapy_login_delete(app->store, token_hash) != 0 ||
        therapy_auth_put(app->store, session_hash, login.user, now) != 0)
        return -THERAPY_ERROR_UNAVAILABLE;
    therapy_set_cookie(ctx, app, session);
    char *csrf = sb_arena_alloc(ctx->arena, SB_TOKEN_HEX_LEN + 1);
    char *user = sb_arena_strndup(ctx->arena, login.user, strlen(login.user));
    if (!csrf || !user)
        return -THERAPY_ERROR_UNAVAILABLE;
    therapy_mac_hex(app, "csrf", session_hash, NULL, csrf);
    sb_counter_add(app->m_verified, 1);
    sb_log(SB_LOG_INFO, "therapy_logged_in", "user=%s ip=%s", user, ip);
    resp->result = SB_STR_LIT("Logged in");
    resp->user = (sb_str){user, strlen(user)};
    resp->csrf_token = (sb_str){csrf, SB_TOKEN_HEX_LEN};
    return 200;
}

/* login and verifyCode each run in a unit of the turn's transaction: a
 * statement failing in one (on PostgreSQL, a wait for a limit row that
 * another node's turn holds, broken as a deadlock or by lock_timeout) rolls
 * back that request's writes alone; outside a unit it would lose the whole
 * turn's (store.h). A refusal keeps what it wrote (the used try, the failed
 * code, the event counted). */
int therapy_on_login(struct sb_ctx *ctx, const therapy_login_request *req,
                     therapy_login_response *resp, therapy_therapy_error_response *err)
{
    therapy_app *app = ctx->app;
    if (sb_store_begin(app->store) != SB_STORE_OK || sb_store_unit_begin(app->store) != SB_STORE_OK)
        return -THERAPY_ERROR_UNAVAILABLE;
    int rc = login(ctx, req, resp, err);
    sb_store_unit_end(app->store, rc != -THERAPY_ERROR_UNAVAILABLE);
    return rc;
}

int therapy_on_verify_code(struct sb_ctx *ctx, const therapy_verify_code_request *req,
                           therapy_verify_code_response *resp, therapy_therapy_error_response *err)
{
    therapy_app *app = ctx->app;
    if (sb_store_begin(app->store) != SB_STORE_OK || sb_store_unit_begin(app->store) != SB_STORE_OK)
        return -THERAPY_ERROR_UNAVAILABLE;
    int rc = verify_code(ctx, req, resp, err);
    sb_store_unit_end(app->store, rc != -THERAPY_ERROR_UNAVAILABLE);
    return rc;
}

/* The session's own view, and logout ------------------------------------------ */

int therapy_on_get_session(struct sb_ctx *ctx, therapy_session_response *resp,
                           therapy_therapy_error_response *err)
{
    (void)err;
    therapy_app *app = ctx->app;
    therapy_auth *a = ctx->session;
    therapy_user *u = sb_arena_alloc(ctx->arena, sizeof *u);
    if (!u)
        return -THERAPY_ERROR_UNAVAILABLE;
    int rc = therapy_user_get(app->store, a->row.user, u, NULL);
    if (rc < 0)
        return -THERAPY_ERROR_UNAVAILABLE;
    if (rc > 0)
        return -THERAPY_ERROR_AUTH_REQUIRED; /* the user was removed */
    resp->result = SB_STR_LIT("ok");
    resp->user = (sb_str){u->id, strlen(u->id)};
    resp->name = (sb_str){u->name, strlen(u->name)};
    resp->role = therapy_participant_role_from(u->role, strlen(u->role));
    resp->csrf_token = (sb_str){a->csrf, SB_TOKEN_HEX_LEN};
    if (a->row.ts_id) {
        resp->ts_id = a->row.ts_id;
        resp->has.ts_id = SB_SET;
    }
    return 200;
}

int therapy_on_logout(struct sb_ctx *ctx, therapy_logout_response *resp,
                      therapy_therapy_error_response *err)
{
    (void)err;
    therapy_app *app = ctx->app;
    therapy_auth *a = ctx->session;
    /* the notice and the session's end together, in a unit (as login) */
    if (sb_store_begin(app->store) != SB_STORE_OK || sb_store_unit_begin(app->store) != SB_STORE_OK)
        return -THERAPY_ERROR_UNAVAILABLE;
    int64_t before = -1;
    bool ok = true;
    if (a->row.ts_id) { /* the document's "Foo has left the session" */
        therapy_user u;
        if (therapy_user_get(app->store, a->row.user, &u, NULL) == 0) {
            char *text = sb_arena_alloc(ctx->arena, 300);
            if (text) {
                snprintf(text, 300, "%s has left the session", u.name);
                therapy_out out = {.kind = THERAPY_OUT_NOTICE_ACTION};
                out.as.notice_action.body = (sb_str){text, strlen(text)};
                out.as.notice_action.sender = THERAPY_NOTICE_SENDER_SYSTEM;
                before = therapy_actions_lock(app->store, a->row.ts_id);
                ok = before >= 0 &&
                     therapy_post_action(ctx, app, a->row.ts_id, &out, NULL, 0, NULL, NULL) > 0;
            }
        }
    }
    ok = ok && therapy_auth_delete(app->store, a->token_hash) == 0;
    sb_store_unit_end(app->store, ok);
    if (!ok)
        return -THERAPY_ERROR_UNAVAILABLE;
    if (before >= 0)
        therapy_wake(ctx, app, a->row.ts_id, before);
    therapy_stream_logout(ctx, app, a->token_hash);
    therapy_set_cookie(ctx, app, NULL);
    sb_log(SB_LOG_INFO, "therapy_logged_out", "user=%s", a->row.user);
    resp->result = SB_STR_LIT("Logged out");
    return 200;
}
