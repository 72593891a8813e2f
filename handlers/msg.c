/*
 * MSG <team> <text> — an organiser writes to their team by SMS (or by mail: Subject
 * "MSG <team>", the text in the body). Nothing is sent yet: the answer is a 6-digit code
 * and the number of people it would reach; CONFIRM <code> (confirm.c) sends it within 15
 * minutes. Anyone else is politely refused. Every step is in activity (organiser.c).
 */
#include "lib/util.h"
#include "campaigns/organiser.h"
#include "handlers/handlers.h"
#include "handlers/patterns.h"

#include <ctype.h>
#include <string.h>

/* The message as written (case, accents, punctuation kept): the raw body after the words
 * "MSG <team>" when it starts with them, else the whole body (the command was the mail's
 * subject). */
static char *message_text(const struct inbound_message *msg)
{
    const char *p = msg->body ? msg->body : "";
    while (isspace((unsigned char)*p))
        p++;
    if (strncasecmp(p, "msg", 3) == 0 && (isspace((unsigned char)p[3]) || !p[3])) {
        p += 3;
        while (*p == ' ' || *p == '\t')
            p++;
        while (*p && !isspace((unsigned char)*p)) /* the team */
            p++;
    }
    char *copy = xstrdup(p);
    char *text = xstrdup(str_trim(copy));
    free(copy);
    return text;
}

static int check_msg(struct handler_ctx *ctx, char **error_r)
{
    (void)ctx;
    (void)error_r;
    return 0;
}

static int run_msg(struct handler_ctx *ctx, char **error_r)
{
    char *text = message_text(ctx->msg);
    struct organiser_outcome out;
    int rc = organiser_draft(ctx->db, ctx->person_id, ctx->match->target, ctx->msg->channel, NULL,
                             text, &out, error_r);
    free(text);
    if (rc < 0)
        return -1;
    json_object_set_new(ctx->vars, "team",
                        json_pack("{s:s, s:s}", "slug", ctx->match->target, "name",
                                  out.team_name ? out.team_name : ctx->match->target));
    json_object_set_new(ctx->vars, "target", json_string(ctx->match->target));
    switch (out.result) {
    case ORGANISER_OK:
        json_object_set_new(ctx->vars, "code", json_string(out.code));
        json_object_set_new(ctx->vars, "recipients", json_integer(out.recipients));
        handler_reply(ctx, "organiser_code", NULL);
        ctx->reply_context = xstrdup("{\"prompt\": \"organiser_confirm\"}");
        break;
    case ORGANISER_NO_TEAM:
        handler_reply(ctx, "team_unknown", NULL);
        break;
    case ORGANISER_NOT_ORGANISER:
        ctx->status = "refused";
        handler_reply(ctx, "organiser_refused", NULL);
        break;
    case ORGANISER_EMPTY:
        handler_reply(ctx, "organiser_empty", NULL);
        break;
    default:
        ctx->status = "refused";
        handler_reply(ctx, "organiser_bad_text", NULL);
    }
    free(out.team_name);
    return 0;
}

/* The message text is read from the raw body (message_text()), not from the pattern. */
static const struct grammar_pattern patterns[] = {
    {"", "^msg (?<target>" PATTERN_SLUG ")(?: .*)?$", 0},
    {NULL, NULL, 0},
};

static const struct handler_keyword keywords[] = {
    {"msg", "", HANDLER_KEYWORD_LONG},
    {NULL, NULL, 0},
};

const struct handler handler_msg = {
    .name = "msg",
    .patterns = patterns,
    .keywords = keywords,
    .check = check_msg,
    .run = run_msg,
    .en = {"MSG <team> <text>", "organisers: write to your team (a code to CONFIRM follows)", NULL},
    .fr = {"MSG <equipe> <texte>",
           "organisateurs : ecrire a votre equipe (un code a CONFIRMER suit)", NULL},
};
