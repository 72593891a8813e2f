/* libFuzzer target: one mail through MIME parsing, charset conversion, HTML to text,
 * auto-reply and bounce detection and reply extraction (mail_parse), as from IMAP. */
#include "inbound/mail_inbound.h"
#include "inbound/mime.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mail_parsed p;
    char *error = NULL;
    if (mail_parse((const char *)data, size, NULL, &p, &error) == 0) {
        /* What comes out must be valid UTF-8 whatever came in. */
        if (!mime_valid_utf8(p.mime->text, strlen(p.mime->text)) ||
            !mime_valid_utf8(p.new_text, strlen(p.new_text)) ||
            !mime_valid_utf8(p.subject, strlen(p.subject)))
            abort();
        mail_parsed_release(&p);
    }
    free(error);
    /* The HTML converter on its own, on raw bytes. */
    free(mime_html_to_text((const char *)data, size));
    return 0;
}
