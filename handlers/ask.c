/*
 * An answer tocsin is not sure of — "Oui mais je serai en retard", "Non, à samedi",
 * "Oui ?" — is never applied. Not in handlers[]: inbound_process() sends here a bare answer
 * the grammar matched with `unsure` set (decide/answer.h) when its sender is known and it
 * names no event. The reply asks "Did you mean YES for <event>? Reply YES or NO" and carries
 * the event as its context, so the bare YES that follows answers that event; until then
 * nothing changes, and an existing RSVP stays exactly as it was.
 */
#include "lib/util.h"
#include "handlers/handlers.h"
#include "handlers/rsvp.h"

#include <string.h>

int check_ask(struct handler_ctx *ctx, char **error_r)
{
    ctx->status = "asked";
    /* No event to ask about: the reply lists the upcoming ones to answer by name. */
    return rsvp_resolve_event(ctx, "rsvp_which_event", error_r);
}

int run_ask(struct handler_ctx *ctx, char **error_r)
{
    (void)error_r;
    bool fr = strcmp(ctx->locale, "fr") == 0;
    const char *answer = ctx->match->answer ? ctx->match->answer : "yes";
    const char *yes = fr ? "OUI" : "YES", *no = fr ? "NON" : "NO";
    const char *word = strcmp(answer, "yes") == 0  ? yes
                       : strcmp(answer, "no") == 0 ? no
                                                   : (fr ? "PEUT-ETRE" : "MAYBE");
    /* The words to send back are the answer itself, with its guests: a bare YES would
     * lose the "+2" the person wrote. */
    char *reply =
        ctx->match->guests > 0 ? xasprintf("%s +%d", word, ctx->match->guests) : xstrdup(word);
    char *choices = strcmp(answer, "yes") == 0
                        ? xasprintf("%s %s %s", reply, fr ? "ou" : "or", no)
                        : xasprintf("%s %s %s", reply, fr ? "ou" : "or", yes);
    json_object_set_new(ctx->vars, "answer", json_string(reply));
    json_object_set_new(ctx->vars, "choices", json_string(choices));
    free(reply);
    free(choices);
    handler_reply(ctx, "rsvp_ask", NULL);
    ctx->reply_context = rsvp_context(ctx->event_id);
    return 0;
}
