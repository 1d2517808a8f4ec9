/* Several threads putting and getting on one handle. Usage: threads_test <scratch dir> */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "bitcask.h"

#define THREADS 8
#define PER_THREAD 2000

static bc_db *db;
static int errors;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void *worker(void *arg) {
    int t = (int)(size_t)arg;
    char key[32], value[64];
    for (int i = 0; i < PER_THREAD; i++) {
        int kl = snprintf(key, sizeof key, "t%d-k%d", t, i % 100);
        int vl = snprintf(value, sizeof value, "t%d-k%d-v%d", t, i % 100, i);
        bc_status s = bc_put(db, (const uint8_t *)key, (size_t)kl, (const uint8_t *)value, (size_t)vl);
        uint8_t buf[64];
        size_t len = 0;
        bc_status g = bc_get_into(db, (const uint8_t *)key, (size_t)kl, buf, sizeof buf, &len);
        /* The value read is the one this thread just wrote: keys are per thread. */
        if (s != BC_OK || g != BC_OK || len != (size_t)vl || memcmp(buf, value, len) != 0) {
            pthread_mutex_lock(&lock);
            errors++;
            pthread_mutex_unlock(&lock);
        }
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    bc_options o;
    bc_options_default(&o);
    o.max_file_size = 64 * 1024;
    o.sync_policy = BC_SYNC_ALWAYS;
    if (bc_open(argv[1], &o, &db) != BC_OK) {
        fprintf(stderr, "open: %s\n", bc_last_error());
        return 1;
    }
    pthread_t th[THREADS];
    for (int t = 0; t < THREADS; t++) pthread_create(&th[t], NULL, worker, (void *)(size_t)t);
    bc_merge_report r;
    bc_status m = bc_merge(db, &r); /* concurrently with the writers */
    for (int t = 0; t < THREADS; t++) pthread_join(th[t], NULL);
    bc_store_stats st;
    bc_stats(db, &st);
    if (m != BC_OK || errors || st.keys != THREADS * 100) {
        fprintf(stderr, "merge %d, %d errors, %llu keys\n", (int)m, errors, (unsigned long long)st.keys);
        return 1;
    }
    if (bc_close(db) != BC_OK) return 1;
    printf("threads test: ok\n");
    return 0;
}
