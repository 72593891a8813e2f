/*
 * transport — the registry: one row per transport, chosen by name for a channel.
 */
#include "outbound/transport.h"
#include "lib/util.h"
#include "core/config.h"

#include <string.h>

/* Adding a transport = one file defining `const struct transport_ops NAME_transport`,
 * its extern line in transport.h, and one row here. The name is what [sms] provider
 * (or, for mail, the presence of [smtp] host) selects. */
static const struct transport_ops *const transports[] = {
    &smtp_transport,   &spool_mail_transport, &spool_sms_transport, &twilio_transport,
    &vonage_transport, &kannel_transport,     &generic_transport,   NULL,
};

const struct transport_ops *transport_find(const char *name, const char *channel)
{
    for (size_t i = 0; transports[i]; i++)
        if (strcmp(transports[i]->name, name) == 0 && strcmp(transports[i]->channel, channel) == 0)
            return transports[i];
    return NULL;
}

const struct transport_ops *transport_for(const char *channel, char **error_r)
{
    const char *name;
    if (strcmp(channel, "email") == 0)
        name = config_str("smtp", "host")[0] ? "smtp" : "spool";
    else if (strcmp(channel, "sms") == 0)
        name = config_str("sms", "provider");
    else {
        *error_r = xasprintf("no channel %s", channel);
        return NULL;
    }
    const struct transport_ops *t = transport_find(name, channel);
    if (!t)
        *error_r = xasprintf("no %s transport named %s in this build", channel, name);
    return t;
}

long transport_rate(const struct transport_ops *t)
{
    if (strcmp(t->name, "spool") == 0)
        return 0;
    return config_int(strcmp(t->channel, "email") == 0 ? "smtp" : "sms", "rate");
}
