#include "core/template.h"
#include "lib/embedded.h"
#include "lib/util.h"
#include "core/config.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- message templates: files with a subject line and text/html/sms parts ---- */

struct message_template {
    char *key; /* "locale/name" */
    struct template *subject, *text, *html, *sms;
    struct message_template *next;
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct message_template *cache;

static char *read_override(const char *locale, const char *name)
{
    const char *dir = config_str("engine", "templates_dir");
    if (!*dir)
        return NULL;
    char *path = xasprintf("%s/%s/%s.tmpl", dir, locale, name);
    FILE *f = fopen(path, "r");
    free(path);
    if (!f)
        return NULL;
    struct buf b = BUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && b.len < 1024 * 1024)
        buf_add(&b, chunk, n);
    fclose(f);
    return buf_detach(&b);
}

static char *read_source(const char *locale, const char *name)
{
    char *text = read_override(locale, name);
    if (text)
        return text;
    char *path = xasprintf("templates/%s/%s.tmpl", locale, name);
    const struct embedded_file *f = embedded_find(path);
    free(path);
    return f ? xstrndup(f->data, f->len) : NULL;
}

/* Split a template file into its parts and compile each. */
static struct message_template *compile_file(const char *key, const char *source, char **error_r)
{
    struct message_template *m = xcalloc(1, sizeof(*m));
    m->key = xstrdup(key);
    struct buf parts[4] = {BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT}; /* subject text html sms */
    bool present[4] = {false, false, false, false};
    int current = -1;
    const char *line = source;
    while (*line) {
        size_t len = strcspn(line, "\n");
        const char *next = line + len + (line[len] == '\n');
        if (len >= 4 && strncmp(line, "--- ", 4) == 0) {
            char *part = xstrndup_trim(line + 4, len - 4);
            current = strcmp(part, "text") == 0   ? 1
                      : strcmp(part, "html") == 0 ? 2
                      : strcmp(part, "sms") == 0  ? 3
                                                  : -2;
            if (current == -2) {
                *error_r = xasprintf("%s: unknown part --- %s", key, part);
                free(part);
                goto fail;
            }
            free(part);
            present[current] = true;
        } else if (current == -1) {
            if (len >= 8 && strncasecmp(line, "subject:", 8) == 0) {
                char *subject = xstrndup_trim(line + 8, len - 8);
                buf_adds(&parts[0], subject);
                free(subject);
                present[0] = true;
            } else if (len && line[0] != '#') {
                *error_r = xasprintf("%s: expected `subject:` or `--- text` before the body", key);
                goto fail;
            }
        } else {
            buf_add(&parts[current], line, (size_t)(next - line));
        }
        line = next;
    }
    if (!present[1]) {
        *error_r = xasprintf("%s: no --- text part", key);
        goto fail;
    }
    struct template **slots[4] = {&m->subject, &m->text, &m->html, &m->sms};
    for (int i = 0; i < 4; i++) {
        if (!present[i])
            continue;
        /* Parts end without the newline that precedes the next part marker. */
        while (parts[i].len && parts[i].data[parts[i].len - 1] == '\n')
            parts[i].data[--parts[i].len] = '\0';
        char *error = NULL;
        *slots[i] = template_compile(buf_str(&parts[i]), &error);
        if (!*slots[i]) {
            *error_r = xasprintf("%s: %s", key, error);
            free(error);
            goto fail;
        }
    }
    for (int i = 0; i < 4; i++)
        buf_release(&parts[i]);
    return m;
fail:
    for (int i = 0; i < 4; i++)
        buf_release(&parts[i]);
    template_free(&m->subject);
    template_free(&m->text);
    template_free(&m->html);
    template_free(&m->sms);
    free(m->key);
    free(m);
    return NULL;
}

static const struct message_template *find_message(const char *name, const char *locale,
                                                   char **error_r)
{
    char lang[3] = "";
    if (locale && strlen(locale) >= 2) {
        lang[0] = (char)tolower((unsigned char)locale[0]);
        lang[1] = (char)tolower((unsigned char)locale[1]);
        lang[2] = '\0';
    }
    const char *candidates[] = {lang, config_str("engine", "default_locale"), "en"};
    const struct message_template *found = NULL;
    pthread_mutex_lock(&cache_lock);
    for (size_t i = 0; i < ARRAY_SIZE(candidates) && !found; i++) {
        if (!*candidates[i])
            continue;
        char *key = xasprintf("%s/%s", candidates[i], name);
        for (struct message_template *m = cache; m && !found; m = m->next)
            if (strcmp(m->key, key) == 0)
                found = m;
        if (!found) {
            char *source = read_source(candidates[i], name);
            if (source) {
                struct message_template *m = compile_file(key, source, error_r);
                free(source);
                if (!m) {
                    free(key);
                    break;
                }
                m->next = cache;
                cache = m;
                found = m;
            }
        }
        free(key);
    }
    pthread_mutex_unlock(&cache_lock);
    if (!found && !*error_r)
        *error_r = xasprintf("no template %s for locale %s", name, locale ? locale : "(none)");
    return found;
}

json_t *template_organisation(void)
{
    return json_pack("{s:s, s:s}", "name", config_str("engine", "organisation"), "contact",
                     config_str("engine", "organisation_contact"));
}

/* `vars` with `organisation` added when it lacks one (a new reference either way). */
static json_t *with_organisation(const json_t *vars)
{
    if (json_object_get(vars, "organisation"))
        return json_incref((json_t *)vars);
    json_t *all = vars ? json_copy((json_t *)vars) : json_object();
    json_object_set_new(all, "organisation", template_organisation());
    return all;
}

static char *render_part(const struct template *t, const json_t *vars, bool html)
{
    struct buf out = BUF_INIT;
    if (t)
        template_render(t, vars, html, &out);
    return buf_detach(&out);
}

int template_message(const char *name, const char *locale, const json_t *vars,
                     struct rendered_message *out, char **error_r)
{
    memset(out, 0, sizeof(*out));
    *error_r = NULL;
    const struct message_template *m = find_message(name, locale, error_r);
    if (!m)
        return -1;
    template_message_render(m, vars, out);
    return 0;
}

struct message_template *template_message_compile(const char *source, const char *name,
                                                  char **error_r)
{
    return compile_file(name, source, error_r);
}

void template_message_render(const struct message_template *m, const json_t *vars,
                             struct rendered_message *out)
{
    json_t *all = with_organisation(vars);
    out->subject = render_part(m->subject, all, false);
    out->text = render_part(m->text, all, false);
    out->html = m->html ? render_part(m->html, all, true) : NULL;
    out->sms = render_part(m->sms ? m->sms : m->text, all, false);
    json_decref(all);
}

char *template_message_missing(const struct message_template *m, const json_t *vars)
{
    struct buf all = BUF_INIT;
    const struct template *parts[] = {m->subject, m->text, m->html, m->sms};
    for (size_t i = 0; i < ARRAY_SIZE(parts); i++) {
        if (!parts[i])
            continue;
        char *missing = template_missing(parts[i], vars);
        if (!missing)
            continue;
        /* One name per entry, each once across the parts. */
        for (char *save = NULL, *n = strtok_r(missing, ", ", &save); n;
             n = strtok_r(NULL, ", ", &save)) {
            bool seen = false;
            for (const char *p = buf_str(&all); (p = strstr(p, n)) != NULL; p += strlen(n))
                if ((p == buf_str(&all) || p[-1] == ' ') && (p[strlen(n)] == ',' || !p[strlen(n)]))
                    seen = true;
            if (seen)
                continue;
            if (all.len)
                buf_adds(&all, ", ");
            buf_adds(&all, n);
        }
        free(missing);
    }
    return all.len ? buf_detach(&all) : NULL;
}

void template_message_free(struct message_template **mp)
{
    struct message_template *m = *mp;
    if (!m)
        return;
    template_free(&m->subject);
    template_free(&m->text);
    template_free(&m->html);
    template_free(&m->sms);
    free(m->key);
    free(m);
    *mp = NULL;
}

void template_message_release(struct rendered_message *m)
{
    free(m->subject);
    free(m->text);
    free(m->html);
    free(m->sms);
    memset(m, 0, sizeof(*m));
}

char *template_source_subject(const char *source)
{
    for (const char *line = source; *line;) {
        size_t len = strcspn(line, "\n");
        if (len >= 4 && strncmp(line, "--- ", 4) == 0)
            return NULL;
        if (len >= 8 && strncasecmp(line, "subject:", 8) == 0) {
            char *subject = xstrndup_trim(line + 8, len - 8);
            if (*subject)
                return subject;
            free(subject);
            return NULL;
        }
        line += len + (line[len] == '\n');
    }
    return NULL;
}

char *template_source_first_line(const char *source, size_t max_chars)
{
    const char *line = source;
    bool in_text = false;
    while (*line) {
        size_t len = strcspn(line, "\n");
        char *trimmed = xstrndup_trim(line, len);
        if (in_text && strncmp(trimmed, "--- ", 4) == 0) {
            free(trimmed);
            return NULL;
        }
        if (in_text && *trimmed) {
            /* Cut on a character, never inside one. */
            size_t chars = 0, i = 0;
            while (trimmed[i] && chars < max_chars) {
                i++;
                while ((trimmed[i] & 0xc0) == 0x80)
                    i++;
                chars++;
            }
            if (!trimmed[i])
                return trimmed;
            /* Cut: at the last space when there is one in the second half, and say so. */
            size_t cut = i;
            while (cut > i / 2 && trimmed[cut] != ' ')
                cut--;
            if (trimmed[cut] != ' ')
                cut = i;
            while (cut > 0 && trimmed[cut - 1] == ' ')
                cut--;
            trimmed[cut] = '\0';
            char *shown = xasprintf("%s…", trimmed);
            free(trimmed);
            return shown;
        }
        in_text = in_text || strcmp(trimmed, "--- text") == 0;
        free(trimmed);
        line += len + (line[len] == '\n');
    }
    return NULL;
}
