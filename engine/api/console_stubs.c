#include "api/console_pages.h"
/* TEMPORARY stubs */

void page_inbox(struct api_call *c)
{
    console_page(c, 501, "error", NULL, "todo", json_pack("{s:s}", "headline", "page_inbox"));
}

void page_inbox_message(struct api_call *c)
{
    console_page(c, 501, "error", NULL, "todo", json_pack("{s:s}", "headline", "page_inbox_message"));
}

void page_inbox_reply(struct api_call *c)
{
    console_page(c, 501, "error", NULL, "todo", json_pack("{s:s}", "headline", "page_inbox_reply"));
}

void page_inbox_done(struct api_call *c)
{
    console_page(c, 501, "error", NULL, "todo", json_pack("{s:s}", "headline", "page_inbox_done"));
}

void page_import(struct api_call *c)
{
    console_page(c, 501, "error", NULL, "todo", json_pack("{s:s}", "headline", "page_import"));
}

void page_import_upload(struct api_call *c)
{
    console_page(c, 501, "error", NULL, "todo", json_pack("{s:s}", "headline", "page_import_upload"));
}

void page_import_mapping(struct api_call *c)
{
    console_page(c, 501, "error", NULL, "todo", json_pack("{s:s}", "headline", "page_import_mapping"));
}

void page_import_run(struct api_call *c)
{
    console_page(c, 501, "error", NULL, "todo", json_pack("{s:s}", "headline", "page_import_run"));
}
