/*
 * bench/commands — inbound_process() transactions per second on one connection: what
 * `tocsin sms-inject` does for each text, minus process start-up and connecting.
 * A mix of JOIN, RSVP, bare OUI, LEAVE, EVENTS and HELP from 500 numbers (the first
 * JOIN from each creates the person). Needs team paris-10 and event reunion (run-commands
 * creates them). Usage: bench/commands SECONDS
 */
#include "lib/db.h"
#include "lib/util.h"
#include "core/config.h"
#include "decide/process.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *const texts[] = {"JOIN paris-10", "RSVP reunion OUI +1", "OUI",
                                    "EVENTS",        "LEAVE paris-10",      "AIDE"};

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 5.0;
    char *error = NULL;
    if (config_load(NULL, &error) < 0)
        die(78, "config: %s", error);
    char *url = config_database_url();
    struct db *db = db_open(url, &error);
    free(url);
    if (!db)
        die(75, "database: %s", error);
    long n = 0, failed = 0;
    double start = now_s(), elapsed;
    char sender[32], id[48];
    long salt = (long)time(NULL);
    do {
        snprintf(sender, sizeof(sender), "+3361%07ld", n % 500);
        snprintf(id, sizeof(id), "bench-%ld-%ld", salt, n);
        /* Each sender walks the mix in order: JOIN first, then RSVP, ... */
        const char *text = texts[(n / 500) % ARRAY_SIZE(texts)];
        struct inbound_message msg = {.channel = "sms",
                                      .provider = "bench",
                                      .provider_id = id,
                                      .sender = sender,
                                      .recipient = "36173",
                                      .body = text};
        struct inbound_outcome out;
        if (inbound_process(db, &msg, &out, &error) < 0) {
            if (failed++ == 0)
                fprintf(stderr, "first failure: %s\n", error);
            free(error);
            error = NULL;
        } else {
            inbound_outcome_release(&out);
        }
        n++;
    } while ((elapsed = now_s() - start) < seconds);
    printf("%.0f inbound transactions/s (%ld in %.1f s, %ld failed, 1 connection)\n",
           (double)n / elapsed, n, elapsed, failed);
    db_close(&db);
    return failed ? 1 : 0;
}
