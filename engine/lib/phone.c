#include "lib/phone.h"
#include "lib/buf.h"
#include "lib/util.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

struct country {
    const char *iso;
    const char *code;    /* calling code without + */
    char trunk;          /* national trunk prefix digit, or 0 */
    int national_digits; /* significant digits after the trunk prefix (0: 4..14) */
};

static const struct country countries[] = {
    {"FR", "33", '0', 9},  {"BE", "32", '0', 0},  {"CH", "41", '0', 9},  {"LU", "352", 0, 0},
    {"DE", "49", '0', 0},  {"ES", "34", 0, 9},    {"IT", "39", 0, 0},    {"PT", "351", 0, 9},
    {"NL", "31", '0', 9},  {"GB", "44", '0', 0},  {"IE", "353", '0', 0}, {"US", "1", '1', 10},
    {"CA", "1", '1', 10},  {"MA", "212", '0', 9}, {"DZ", "213", '0', 0}, {"TN", "216", 0, 8},
    {"SN", "221", 0, 9},   {"CI", "225", 0, 10},  {"RE", "262", '0', 9}, {"GP", "590", '0', 9},
    {"MQ", "596", '0', 9}, {"GF", "594", '0', 9}, {"YT", "262", '0', 9}, {"PM", "508", '0', 6},
    {"BL", "590", '0', 9}, {"MF", "590", '0', 9}, {"WF", "681", 0, 6},   {"NC", "687", 0, 6},
    {"PF", "689", 0, 8},
};

/* Territories whose numbers count as their country's for "texts from this country". */
static const struct {
    const char *country, *territory;
} overseas[] = {
    {"FR", "RE"}, {"FR", "YT"}, {"FR", "GP"}, {"FR", "MQ"}, {"FR", "GF"}, {"FR", "PM"},
    {"FR", "BL"}, {"FR", "MF"}, {"FR", "WF"}, {"FR", "NC"}, {"FR", "PF"},
};

/* French numbers whose national form hides an overseas country code. */
static const struct {
    const char *prefix; /* national digits after the 0 */
    const char *code;
} fr_overseas[] = {
    {"262", "262"}, {"263", "262"}, {"692", "262"}, {"693", "262"}, {"269", "262"},
    {"639", "262"}, {"590", "590"}, {"690", "590"}, {"691", "590"}, {"596", "596"},
    {"696", "596"}, {"697", "596"}, {"594", "594"}, {"694", "594"},
};

static const struct country *find_country(const char *iso)
{
    for (size_t i = 0; i < ARRAY_SIZE(countries); i++)
        if (strcasecmp(countries[i].iso, iso) == 0)
            return &countries[i];
    return NULL;
}

char *phone_normalise(const char *input, const char *default_country, const char **reason_r)
{
    struct buf digits = BUF_INIT;
    bool plus = false;
    const char *p = input;
    while (isspace((unsigned char)*p))
        p++;
    if (*p == '+') {
        plus = true;
        p++;
    }
    for (; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (isdigit(c))
            buf_addch(&digits, (char)c);
        else if (c == ' ' || c == '.' || c == '-' || c == '(' || c == ')' || c == '/' || c == '\t')
            continue;
        else {
            *reason_r = "phone number has characters other than digits";
            goto fail;
        }
        if (digits.len > 20) {
            *reason_r = "phone number too long";
            goto fail;
        }
    }
    if (!plus && str_starts_with(buf_str(&digits), "00")) {
        plus = true;
        memmove(digits.data, digits.data + 2, digits.len - 1);
        digits.len -= 2;
    }
    char *out = NULL;
    if (plus) {
        out = xasprintf("+%s", buf_str(&digits));
    } else {
        const struct country *c = find_country(default_country ? default_country : "FR");
        if (!c) {
            *reason_r = "unknown default country";
            goto fail;
        }
        const char *national = buf_str(&digits);
        if (c->trunk && national[0] == c->trunk)
            national++;
        else if (c->trunk == '0') {
            *reason_r = "national number should start with 0";
            goto fail;
        }
        if (c->national_digits && (int)strlen(national) != c->national_digits) {
            *reason_r = "wrong number of digits for the country";
            goto fail;
        }
        const char *code = c->code;
        if (strcmp(c->iso, "FR") == 0)
            for (size_t i = 0; i < ARRAY_SIZE(fr_overseas); i++)
                if (str_starts_with(national, fr_overseas[i].prefix))
                    code = fr_overseas[i].code;
        out = xasprintf("+%s%s", code, national);
    }
    size_t n = strlen(out) - 1;
    if (n < 7 || n > 15 || out[1] == '0') {
        *reason_r = "not a valid international number";
        free(out);
        goto fail;
    }
    buf_release(&digits);
    return out;
fail:
    buf_release(&digits);
    return NULL;
}

/* Whether `number` starts with the calling code of ISO country `iso`. */
static bool number_of(const char *number, const char *iso)
{
    const struct country *c = find_country(iso);
    return c && number[0] == '+' && str_starts_with(number + 1, c->code);
}

bool phone_in_countries(const char *number, const char *countries)
{
    if (!number || !countries)
        return false;
    char *list = xstrdup(countries);
    bool found = false;
    char *save = NULL;
    for (char *iso = strtok_r(list, ", ", &save); iso && !found;
         iso = strtok_r(NULL, ", ", &save)) {
        if (strcmp(iso, "*") == 0) {
            found = true;
            break;
        }
        found = number_of(number, iso);
        for (size_t i = 0; i < ARRAY_SIZE(overseas) && !found; i++)
            if (strcasecmp(overseas[i].country, iso) == 0)
                found = number_of(number, overseas[i].territory);
    }
    free(list);
    return found;
}

int email_valid(const char *a)
{
    const char *at = strchr(a, '@');
    if (!at || at == a || strchr(at + 1, '@'))
        return 0;
    const char *domain = at + 1;
    const char *dot = strrchr(domain, '.');
    if (!dot || dot == domain || dot[1] == '\0' || strstr(domain, ".."))
        return 0;
    if (strlen(a) > 254 || (size_t)(at - a) > 64)
        return 0;
    for (const char *p = a; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= ' ' || c == 0x7f || c == '<' || c == '>' || c == '(' || c == ')' || c == ',' ||
            c == ';' || c == ':' || c == '\\' || c == '"' || c == '[' || c == ']')
            return 0;
    }
    return 1;
}

char *email_normalise(const char *input, const char **reason_r)
{
    char *copy = xstrdup(input);
    char *trimmed = str_trim(copy);
    char *out = xstrdup(trimmed);
    free(copy);
    str_lower(out);
    if (!email_valid(out)) {
        *reason_r = "not a valid email address";
        free(out);
        return NULL;
    }
    return out;
}
