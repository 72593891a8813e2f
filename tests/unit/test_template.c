/* The mustache subset: variables, escaping, sections, errors, message files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/util.h"
#include "core/config.h"
#include "core/template.h"

static void expect_render(const char *source, const char *vars_json, bool html, const char *want)
{
    char *error = NULL;
    struct template *t = template_compile(source, &error);
    if (!t)
        fail_msg("%s: %s", source, error);
    json_t *vars = json_loads(vars_json, 0, NULL);
    assert_non_null(vars);
    struct buf out = BUF_INIT;
    template_render(t, vars, html, &out);
    assert_string_equal(buf_str(&out), want);
    buf_release(&out);
    json_decref(vars);
    template_free(&t);
    assert_null(t);
}

static void test_variables_and_escaping(void **state)
{
    (void)state;
    expect_render("Bonjour {{first_name}} !", "{\"first_name\":\"Zoé\"}", false, "Bonjour Zoé !");
    expect_render("{{x}}|{{{x}}}|{{& x}}", "{\"x\":\"<b>&'\\\"\"}", true,
                  "&lt;b&gt;&amp;&#39;&quot;|<b>&'\"|<b>&'\"");
    expect_render("{{x}}", "{\"x\":\"<b>\"}", false, "<b>");
    expect_render("[{{missing}}]", "{}", false, "[]");
    expect_render("{{n}} {{r}} {{t}}", "{\"n\":12,\"r\":1.5,\"t\":true}", false, "12 1.5 true");
    expect_render("{{event.title}} {{ event.where.city }}",
                  "{\"event\":{\"title\":\"Porte\",\"where\":{\"city\":\"Paris\"}}}", false,
                  "Porte Paris");
    expect_render("a {{! a comment }}b", "{}", false, "a b");
}

static void test_sections(void **state)
{
    (void)state;
    const char *items =
        "{\"team\":\"P10\",\"items\":[{\"n\":1,\"title\":\"A\"},{\"n\":2,\"title\":\"B\"}]}";
    expect_render("{{#items}}\n{{n}}. {{title}} ({{team}})\n{{/items}}\n", items, false,
                  "1. A (P10)\n2. B (P10)\n");
    expect_render("{{^items}}none{{/items}}", "{\"items\":[]}", false, "none");
    expect_render("{{^items}}none{{/items}}", items, false, "");
    expect_render("{{#flag}}yes{{/flag}}{{^flag}}no{{/flag}}", "{\"flag\":false}", false, "no");
    expect_render("{{#e}}{{title}}{{/e}}", "{\"e\":{\"title\":\"T\"}}", false, "T");
    expect_render("{{#list}}{{.}},{{/list}}", "{\"list\":[\"a\",\"b\"]}", false, "a,b,");
    expect_render("  {{#x}}  \nin\n  {{/x}}  \nout", "{\"x\":true}", false, "in\nout");
}

static void expect_error(const char *source, const char *fragment)
{
    char *error = NULL;
    struct template *t = template_compile(source, &error);
    assert_null(t);
    assert_non_null(error);
    if (!strstr(error, fragment))
        fail_msg("%s: error %s lacks %s", source, error, fragment);
    free(error);
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("{{#a}}open", "section a is not closed");
    expect_error("{{/a}}", "closes no open section");
    expect_error("{{#a}}{{/b}}", "closes no open section");
    expect_error("line one\n{{name", "line 2: tag not closed");
    expect_error("{{}}", "empty tag");
    expect_error("{{#}}", "empty tag");
}

static void test_missing(void **state)
{
    (void)state;
    char *error = NULL;
    struct template *t =
        template_compile("{{name}} {{team}} {{#items}}{{title}}{{/items}}", &error);
    json_t *vars = json_pack("{s:s}", "name", "x");
    char *missing = template_missing(t, vars);
    assert_string_equal(missing, "team, items");
    free(missing);
    json_decref(vars);
    template_free(&t);
}

static void test_message_files(void **state)
{
    (void)state;
    char *error = NULL;
    assert_int_equal(config_load("/dev/null", &error), 0);
    json_t *vars = json_pack("{s:s}", "name", "Zoé");
    struct rendered_message m;
    int rc = template_message("no-such-template", "fr", vars, &m, &error);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(error, "no template no-such-template"));
    free(error);
    error = NULL;

    char dir[] = "/tmp/tocsin-tmpl-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *sub = xasprintf("%s/fr", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    char *path = xasprintf("%s/welcome.tmpl", sub);
    FILE *f = fopen(path, "w");
    fputs("# a comment line\nsubject: Bienvenue {{name}}\n--- text\nBonjour {{name}}.\n\n"
          "--- html\n<p>Bonjour {{name}} &amp; merci</p>\n--- sms\nBjr {{name}}\n",
          f);
    fclose(f);
    assert_int_equal(config_set("engine", "templates_dir", dir, &error), 0);
    json_object_set_new(vars, "name", json_string("<Zoé>"));
    assert_int_equal(template_message("welcome", "fr-FR", vars, &m, &error), 0);
    assert_string_equal(m.subject, "Bienvenue <Zoé>");
    assert_string_equal(m.text, "Bonjour <Zoé>.");
    assert_string_equal(m.html, "<p>Bonjour &lt;Zoé&gt; &amp; merci</p>");
    assert_string_equal(m.sms, "Bjr <Zoé>");
    template_message_release(&m);
    /* An English speaker falls back to the default locale (fr) when no en file exists. */
    assert_int_equal(template_message("welcome", "en", vars, &m, &error), 0);
    assert_string_equal(m.sms, "Bjr <Zoé>");
    template_message_release(&m);

    char *broken = xasprintf("%s/broken.tmpl", sub);
    f = fopen(broken, "w");
    fputs("--- texte\nbad\n", f);
    fclose(f);
    assert_int_equal(template_message("broken", "fr", vars, &m, &error), -1);
    assert_non_null(strstr(error, "unknown part --- texte"));
    free(error);
    unlink(broken);
    free(broken);
    unlink(path);
    free(path);
    rmdir(sub);
    free(sub);
    rmdir(dir);
    json_decref(vars);
}

/* A campaign's default title: the text's first line, cut at a word and marked as cut. */
static void test_first_line(void **state)
{
    (void)state;
    char *t = template_source_first_line("--- text\n\nSamedi 10h au marché, venez nombreux !\n", 60);
    assert_string_equal(t, "Samedi 10h au marché, venez nombreux !");
    free(t);
    t = template_source_first_line("--- text\nSamedi 10h au marché de la Villette, venez nombreux ! "
                                   "Répondez OUI\n",
                                   60);
    assert_string_equal(t, "Samedi 10h au marché de la Villette, venez nombreux !…");
    free(t);
    t = template_source_first_line("--- text\nabcdefghijklmnopqrstuvwxyzéé\n", 10);
    assert_string_equal(t, "abcdefghij…");
    free(t);
    assert_null(template_source_first_line("subject: x\n--- text\n\n--- html\n<p>x</p>\n", 60));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_variables_and_escaping),
        cmocka_unit_test(test_sections),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_missing),
        cmocka_unit_test(test_message_files),
        cmocka_unit_test(test_first_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
