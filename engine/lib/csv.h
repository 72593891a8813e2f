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
 */
#ifndef TOCSIN_CSV_H
#define TOCSIN_CSV_H

#include <stdio.h>

struct csv;

struct csv *csv_open(FILE *in, char separator);
void csv_close(struct csv **csv);
int csv_next(struct csv *csv, char ***fields_r, int *nfields_r, const char **reason_r);
long csv_line(const struct csv *csv);

#endif
