/*
 * csv — read RFC 4180 records from a stream.
 *
 * Quoted fields may hold the separator, doubled quotes and newlines. The separator is
 * ',' or ';' (spreadsheets in French locales write ';'): csv_open() guesses it from the
 * first line unless given. A UTF-8 byte-order mark is skipped. csv_next() fills `fields`
 * (owned by the reader, valid until the next call) and returns 1 for a record, 0 at the
 * end, -1 on a malformed record (*reason_r static text; reading may go on with the next
 * line). csv_line() is the line number where the last record began. Fields over 64 KiB
 * are refused rather than buffered without bound.
 *
 * Encodings: what a French spreadsheet writes is often Windows-1252, not UTF-8. csv_open()
 * reads the whole stream once first (a pipe is copied to a temporary file) and decides: a
 * UTF-8 byte-order mark, or no byte that is not UTF-8, means UTF-8; bytes that are not UTF-8
 * and more often so than multi-byte UTF-8 sequences mean Windows-1252 (of which Latin-1 is a
 * subset), whose fields are transcoded. Otherwise the file is UTF-8 with some broken rows:
 * each such row alone is refused (-1, "not UTF-8 …") and reading goes on. A UTF-16 file is
 * refused at open. csv_open_encoded() takes the encoding instead (an iconv name; "latin-1"
 * and its aliases mean Windows-1252): NULL or "" detects as csv_open() does.
 * csv_encoding() names the encoding read ("UTF-8", "WINDOWS-1252", …).
 */
#ifndef TOCSIN_CSV_H
#define TOCSIN_CSV_H

#include <stdio.h>

struct csv;

struct csv *csv_open(FILE *in, char separator);
/* NULL with *error_r (caller frees) when the encoding is unknown or the stream is UTF-16. */
struct csv *csv_open_encoded(FILE *in, char separator, const char *encoding, char **error_r);
const char *csv_encoding(const struct csv *csv);
void csv_close(struct csv **csv);
int csv_next(struct csv *csv, char ***fields_r, int *nfields_r, const char **reason_r);
long csv_line(const struct csv *csv);

#endif
