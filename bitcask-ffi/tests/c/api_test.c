/* C11 test of every bitcask C API function, its error paths, and a NULL in every pointer
 * slot. Built with -Wall -Wextra -Werror -pedantic and ASan/UBSan by tests/c_programs.rs.
 * Usage: api_test <empty scratch directory> */
#define _POSIX_C_SOURCE 200809L /* truncate(2) under -std=c11 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bitcask.h"

static int failures = 0;

#define EXPECT(cond)                                                                  \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "%s:%d: expected %s (last error: %s)\n", __FILE__, __LINE__, \
                    #cond, bc_last_error());                                          \
            failures++;                                                               \
        }                                                                             \
    } while (0)

#define EXPECT_STATUS(call, want)                                                     \
    do {                                                                              \
        bc_status got_ = (call);                                                      \
        if (got_ != (want)) {                                                         \
            fprintf(stderr, "%s:%d: %s returned %d (%s), expected %s (last error: %s)\n", \
                    __FILE__, __LINE__, #call, (int)got_, bc_status_str((int)got_), #want, \
                    bc_last_error());                                                 \
            failures++;                                                               \
        }                                                                             \
    } while (0)

#define K(s) (const uint8_t *)(s), strlen(s)

static char *join(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static uint32_t crc32(const uint8_t *p, size_t n) {
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return ~c;
}

static void test_statics(void) {
    EXPECT(bc_version() != NULL && strlen(bc_version()) > 0);
    for (int s = 0; s <= 15; s++) EXPECT(strcmp(bc_status_str(s), "unknown status") != 0);
    EXPECT(strcmp(bc_status_str(999), "unknown status") == 0);
    EXPECT(strcmp(bc_status_str(-1), "unknown status") == 0);
    EXPECT(bc_last_error() != NULL);
    EXPECT_STATUS(bc_options_default(NULL), BC_NULL_POINTER);
    bc_options o;
    EXPECT_STATUS(bc_options_default(&o), BC_OK);
    EXPECT(o.sync_policy == BC_SYNC_NEVER && o.max_key_size == 65536);
    EXPECT(o.mmap_reads);
    EXPECT(o.mmap_writes);
}

static void test_open_errors(const char *dir) {
    bc_db *db = (bc_db *)0x1;
    EXPECT_STATUS(bc_open(NULL, NULL, &db), BC_NULL_POINTER);
    EXPECT(db == (bc_db *)0x1); /* untouched on failure */
    EXPECT_STATUS(bc_open(dir, NULL, NULL), BC_NULL_POINTER);
    EXPECT_STATUS(bc_open_read_only(NULL, NULL, &db), BC_NULL_POINTER);
    EXPECT_STATUS(bc_open_read_only(dir, NULL, NULL), BC_NULL_POINTER);
    bc_options o;
    bc_options_default(&o);
    o.sync_policy = 77;
    EXPECT_STATUS(bc_open(dir, &o, &db), BC_INVALID_ARGUMENT);
    EXPECT(strstr(bc_last_error(), "sync_policy") != NULL);
    char *missing = join(dir, "missing");
    EXPECT_STATUS(bc_open_read_only(missing, NULL, &db), BC_IO);
    EXPECT(strstr(bc_last_error(), "missing") != NULL);
    free(missing);
    EXPECT(db == (bc_db *)0x1);
    EXPECT_STATUS(bc_close(NULL), BC_OK);
}

static void test_reads_and_writes(const char *dir) {
    bc_options o;
    bc_options_default(&o);
    o.max_key_size = 16;
    o.max_value_size = 64;
    o.sync_policy = BC_SYNC_ALWAYS;
    bc_db *db = NULL;
    EXPECT_STATUS(bc_open(dir, &o, &db), BC_OK);
    EXPECT(db != NULL);
    bc_db *second = NULL;
    EXPECT_STATUS(bc_open(dir, &o, &second), BC_LOCKED);
    EXPECT(second == NULL);
    EXPECT(strstr(bc_last_error(), "locked") != NULL);

    /* put */
    EXPECT_STATUS(bc_put(db, K("alpha"), K("one")), BC_OK);
    EXPECT_STATUS(bc_put(NULL, K("alpha"), K("one")), BC_NULL_POINTER);
    EXPECT_STATUS(bc_put(db, NULL, 5, K("one")), BC_NULL_POINTER);
    EXPECT_STATUS(bc_put(db, K("alpha"), NULL, 3), BC_NULL_POINTER);
    EXPECT_STATUS(bc_put(db, K("empty"), NULL, 0), BC_OK);
    EXPECT_STATUS(bc_put(db, K(""), K("v")), BC_INVALID_ARGUMENT);
    EXPECT_STATUS(bc_put(db, K("a key longer than sixteen"), K("v")), BC_KEY_TOO_LARGE);
    EXPECT(strstr(bc_last_error(), "16") != NULL);
    char big[65];
    memset(big, 'x', sizeof big);
    EXPECT_STATUS(bc_put(db, K("big"), (const uint8_t *)big, sizeof big), BC_VALUE_TOO_LARGE);
    EXPECT_STATUS(bc_put(db, K("big"), (const uint8_t *)big, 64), BC_OK);

    /* put_ttl */
    EXPECT_STATUS(bc_put_ttl(db, K("brief"), K("v"), 0), BC_INVALID_ARGUMENT); /* as Redis */
    EXPECT_STATUS(bc_put_ttl(db, K("lasting"), K("v"), 3600 * 1000), BC_OK);
    EXPECT_STATUS(bc_put_ttl(NULL, K("x"), K("v"), 1), BC_NULL_POINTER);
    EXPECT_STATUS(bc_put_ttl(db, NULL, 1, K("v"), 1), BC_NULL_POINTER);
    EXPECT_STATUS(bc_put_ttl(db, K("x"), NULL, 1, 1), BC_NULL_POINTER);

    /* get */
    uint8_t *val = NULL;
    size_t len = 0;
    EXPECT_STATUS(bc_get(db, K("alpha"), &val, &len), BC_OK);
    EXPECT(len == 3 && memcmp(val, "one", 3) == 0);
    bc_free_value(val);
    val = (uint8_t *)0x1;
    len = 42;
    EXPECT_STATUS(bc_get(db, K("nothing"), &val, &len), BC_NOT_FOUND);
    EXPECT(val == (uint8_t *)0x1 && len == 42);
    EXPECT_STATUS(bc_get(db, K("brief"), &val, &len), BC_NOT_FOUND);
    EXPECT_STATUS(bc_get(db, K("empty"), &val, &len), BC_OK);
    EXPECT(len == 0 && val != NULL);
    bc_free_value(val);
    bc_free_value(NULL);
    EXPECT_STATUS(bc_get(NULL, K("alpha"), &val, &len), BC_NULL_POINTER);
    EXPECT_STATUS(bc_get(db, NULL, 5, &val, &len), BC_NULL_POINTER);
    EXPECT_STATUS(bc_get(db, K("alpha"), NULL, &len), BC_NULL_POINTER);
    EXPECT_STATUS(bc_get(db, K("alpha"), &val, NULL), BC_NULL_POINTER);

    /* get_into */
    uint8_t buf[8];
    size_t need = 0;
    EXPECT_STATUS(bc_get_into(db, K("alpha"), buf, sizeof buf, &need), BC_OK);
    EXPECT(need == 3 && memcmp(buf, "one", 3) == 0);
    EXPECT_STATUS(bc_get_into(db, K("big"), buf, sizeof buf, &need), BC_BUFFER_TOO_SMALL);
    EXPECT(need == 64);
    EXPECT_STATUS(bc_get_into(db, K("big"), NULL, 0, &need), BC_BUFFER_TOO_SMALL);
    EXPECT_STATUS(bc_get_into(db, K("empty"), NULL, 0, &need), BC_OK);
    EXPECT(need == 0);
    EXPECT_STATUS(bc_get_into(db, K("nothing"), buf, sizeof buf, &need), BC_NOT_FOUND);
    EXPECT_STATUS(bc_get_into(NULL, K("alpha"), buf, sizeof buf, &need), BC_NULL_POINTER);
    EXPECT_STATUS(bc_get_into(db, NULL, 5, buf, sizeof buf, &need), BC_NULL_POINTER);
    EXPECT_STATUS(bc_get_into(db, K("alpha"), NULL, 8, &need), BC_NULL_POINTER);
    EXPECT_STATUS(bc_get_into(db, K("alpha"), buf, sizeof buf, NULL), BC_NULL_POINTER);

    /* contains */
    bool present = false;
    EXPECT_STATUS(bc_contains(db, K("alpha"), &present), BC_OK);
    EXPECT(present);
    EXPECT_STATUS(bc_contains(db, K("brief"), &present), BC_OK);
    EXPECT(!present);
    EXPECT_STATUS(bc_contains(NULL, K("alpha"), &present), BC_NULL_POINTER);
    EXPECT_STATUS(bc_contains(db, NULL, 1, &present), BC_NULL_POINTER);
    EXPECT_STATUS(bc_contains(db, K("alpha"), NULL), BC_NULL_POINTER);

    /* delete */
    bool existed = false;
    EXPECT_STATUS(bc_delete(db, K("empty"), &existed), BC_OK);
    EXPECT(existed);
    EXPECT_STATUS(bc_delete(db, K("empty"), &existed), BC_OK);
    EXPECT(!existed);
    EXPECT_STATUS(bc_delete(db, K("nothing"), NULL), BC_OK);
    EXPECT_STATUS(bc_delete(NULL, K("alpha"), &existed), BC_NULL_POINTER);
    EXPECT_STATUS(bc_delete(db, NULL, 1, &existed), BC_NULL_POINTER);
    EXPECT_STATUS(bc_delete(db, K(""), &existed), BC_INVALID_ARGUMENT);

    /* sync and stats */
    EXPECT_STATUS(bc_sync(db), BC_OK);
    EXPECT_STATUS(bc_sync(NULL), BC_NULL_POINTER);
    bc_store_stats st;
    EXPECT_STATUS(bc_stats(db, &st), BC_OK);
    EXPECT(st.keys == 3 && st.files == 1 && st.live_bytes > 0 && st.dead_bytes > 0);
    EXPECT_STATUS(bc_stats(NULL, &st), BC_NULL_POINTER);
    EXPECT_STATUS(bc_stats(db, NULL), BC_NULL_POINTER);

    /* batches */
    bc_batch *b = NULL;
    EXPECT_STATUS(bc_batch_new(NULL), BC_NULL_POINTER);
    EXPECT_STATUS(bc_batch_new(&b), BC_OK);
    EXPECT_STATUS(bc_batch_put(b, K("b1"), K("x")), BC_OK);
    EXPECT_STATUS(bc_batch_put(b, K("b2"), NULL, 0), BC_OK);
    EXPECT_STATUS(bc_batch_delete(b, K("alpha")), BC_OK);
    EXPECT_STATUS(bc_batch_put(NULL, K("b1"), K("x")), BC_NULL_POINTER);
    EXPECT_STATUS(bc_batch_put(b, NULL, 2, K("x")), BC_NULL_POINTER);
    EXPECT_STATUS(bc_batch_put(b, K("b1"), NULL, 1), BC_NULL_POINTER);
    EXPECT_STATUS(bc_batch_delete(NULL, K("b1")), BC_NULL_POINTER);
    EXPECT_STATUS(bc_batch_delete(b, NULL, 1), BC_NULL_POINTER);
    EXPECT_STATUS(bc_write(NULL, b), BC_NULL_POINTER);
    EXPECT_STATUS(bc_write(db, NULL), BC_NULL_POINTER);
    EXPECT_STATUS(bc_write(db, b), BC_OK);
    EXPECT_STATUS(bc_contains(db, K("alpha"), &present), BC_OK);
    EXPECT(!present);
    EXPECT_STATUS(bc_write(db, b), BC_OK); /* emptied: a no-op */
    bc_batch *bad = NULL;
    EXPECT_STATUS(bc_batch_new(&bad), BC_OK);
    EXPECT_STATUS(bc_batch_put(bad, K("ok"), K("v")), BC_OK);
    EXPECT_STATUS(bc_batch_put(bad, K(""), K("v")), BC_INVALID_ARGUMENT); /* refused at once */
    EXPECT_STATUS(bc_batch_put(bad, K("big"), (const uint8_t *)big, sizeof big), BC_OK);
    EXPECT_STATUS(bc_write(db, bad), BC_VALUE_TOO_LARGE); /* sizes are checked when written */
    EXPECT_STATUS(bc_contains(db, K("ok"), &present), BC_OK);
    EXPECT(!present); /* all or nothing */
    bc_batch_free(bad);
    bc_batch_free(b);
    bc_batch_free(NULL);

    /* iteration: keys in order */
    bc_iter *it = NULL;
    EXPECT_STATUS(bc_iter_new(NULL, &it), BC_NULL_POINTER);
    EXPECT_STATUS(bc_iter_new(db, NULL), BC_NULL_POINTER);
    EXPECT_STATUS(bc_iter_new(db, &it), BC_OK);
    const uint8_t *k, *v;
    size_t kl, vl;
    EXPECT_STATUS(bc_iter_next(NULL, &k, &kl, &v, &vl), BC_NULL_POINTER);
    EXPECT_STATUS(bc_iter_next(it, NULL, &kl, &v, &vl), BC_NULL_POINTER);
    EXPECT_STATUS(bc_iter_next(it, &k, NULL, &v, &vl), BC_NULL_POINTER);
    EXPECT_STATUS(bc_iter_next(it, &k, &kl, NULL, &vl), BC_NULL_POINTER);
    EXPECT_STATUS(bc_iter_next(it, &k, &kl, &v, NULL), BC_NULL_POINTER);
    const char *expect[] = {"b1", "b2", "big", "lasting"};
    for (int i = 0; i < 4; i++) {
        EXPECT_STATUS(bc_iter_next(it, &k, &kl, &v, &vl), BC_OK);
        EXPECT(kl == strlen(expect[i]) && memcmp(k, expect[i], kl) == 0);
    }
    EXPECT_STATUS(bc_iter_next(it, &k, &kl, &v, &vl), BC_ITER_END);
    EXPECT_STATUS(bc_iter_next(it, &k, &kl, &v, &vl), BC_ITER_END);
    bc_iter_free(it);
    bc_iter_free(NULL);

    /* merge */
    bc_merge_report r;
    EXPECT_STATUS(bc_merge(NULL, &r), BC_NULL_POINTER);
    EXPECT_STATUS(bc_merge(db, &r), BC_OK);
    EXPECT(r.files_in >= 1 && r.keys_moved == 4);
    EXPECT_STATUS(bc_merge(db, NULL), BC_OK);

    /* a read-only handle beside the writer */
    bc_db *ro = NULL;
    EXPECT_STATUS(bc_open_read_only(dir, NULL, &ro), BC_OK);
    EXPECT_STATUS(bc_get(ro, K("lasting"), &val, &len), BC_OK);
    bc_free_value(val);
    EXPECT_STATUS(bc_put(ro, K("x"), K("y")), BC_READ_ONLY);
    EXPECT_STATUS(bc_delete(ro, K("lasting"), NULL), BC_READ_ONLY);
    EXPECT_STATUS(bc_merge(ro, NULL), BC_READ_ONLY);
    EXPECT_STATUS(bc_close(ro), BC_OK);

    EXPECT_STATUS(bc_close(db), BC_OK);
    /* the lock is released */
    EXPECT_STATUS(bc_open(dir, &o, &db), BC_OK);
    EXPECT_STATUS(bc_contains(db, K("lasting"), &present), BC_OK);
    EXPECT(present);
    EXPECT_STATUS(bc_close(db), BC_OK);
}

/* key00..key19, 26-byte values: several datafiles at max_file_size 256. */
static void put_twenty_keys(bc_db *db) {
    for (int i = 0; i < 20; i++) {
        char key[16];
        snprintf(key, sizeof key, "key%02d", i);
        EXPECT_STATUS(bc_put(db, K(key), K("0123456789abcdef0123456789")), BC_OK);
    }
}

static void test_corruption(const char *base) {
    char *dir = join(base, "corrupt");
    bc_options o;
    bc_options_default(&o);
    o.max_file_size = 256;
    bc_db *db = NULL;
    EXPECT_STATUS(bc_open(dir, &o, &db), BC_OK);
    bc_recovery_info rep;
    EXPECT_STATUS(bc_recovery_report(db, &rep), BC_OK);
    EXPECT(rep.clean == 1 && rep.damaged_regions == 0 && rep.quarantined == 0);
    EXPECT_STATUS(bc_recovery_report(NULL, &rep), BC_NULL_POINTER);
    EXPECT_STATUS(bc_recovery_report(db, NULL), BC_NULL_POINTER);
    put_twenty_keys(db);
    EXPECT_STATUS(bc_close(db), BC_OK);
    char *data = join(dir, "0000000001000000.data");
    char *hint = join(dir, "0000000001000000.hint");
    FILE *f = fopen(data, "r+b");
    EXPECT(f != NULL);
    if (f) {
        fseek(f, 30, SEEK_SET);
        fputc(0x5a, f);
        fclose(f);
    }
    unlink(hint);
    db = NULL;
    EXPECT_STATUS(bc_open(dir, &o, &db), BC_CORRUPTION);
    EXPECT(strstr(bc_last_error(), "0000000001000000.data") != NULL);
    EXPECT(db == NULL);
    o.skip_corrupt = true;
    EXPECT_STATUS(bc_open(dir, &o, &db), BC_OK);
    /* the damaged record was skipped, its bytes set aside in a quarantine file */
    EXPECT_STATUS(bc_recovery_report(db, &rep), BC_OK);
    EXPECT(rep.clean == 0 && rep.damaged_regions == 1 && rep.quarantined == 1);
    EXPECT(rep.bytes_skipped > 0 && rep.bytes_truncated == 0);
    EXPECT_STATUS(bc_close(db), BC_OK);

    /* a file from a newer format version */
    char *newer = join(base, "newer");
    db = NULL;
    EXPECT_STATUS(bc_open(newer, NULL, &db), BC_OK);
    EXPECT_STATUS(bc_close(db), BC_OK);
    char *nd = join(newer, "0000000001000000.data");
    uint8_t head[20] = {'B', 'C', 'S', 'K', 3, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0};
    uint32_t c = crc32(head, 16);
    for (int i = 0; i < 4; i++) head[16 + i] = (uint8_t)(c >> (8 * i));
    f = fopen(nd, "wb");
    EXPECT(f != NULL);
    if (f) {
        fwrite(head, 1, sizeof head, f);
        fclose(f);
    }
    EXPECT_STATUS(bc_open(newer, NULL, &db), BC_UNSUPPORTED_VERSION);
    free(nd);
    free(newer);
    free(data);
    free(hint);
    free(dir);
}

/* Without maps, a datafile truncated behind the store's back is BC_IO, not SIGBUS. */
static void test_reads_without_maps(const char *base) {
    char *dir = join(base, "nomap");
    bc_options o;
    bc_options_default(&o);
    o.max_file_size = 256;
    o.mmap_reads = false;
    bc_db *db = NULL;
    EXPECT_STATUS(bc_open(dir, &o, &db), BC_OK);
    put_twenty_keys(db);
    char *data = join(dir, "0000000001000000.data");
    EXPECT(truncate(data, 20) == 0);
    uint8_t *value = NULL;
    size_t len = 0;
    EXPECT_STATUS(bc_get(db, K("key00"), &value, &len), BC_IO);
    EXPECT(value == NULL);
    EXPECT_STATUS(bc_put(db, K("still"), K("works")), BC_OK);
    EXPECT_STATUS(bc_close(db), BC_OK);
    free(data);
    free(dir);
}

static long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* Mapped appends preallocate the active file while it is open and cut the unused tail at
 * close; with mmap_writes off the file holds exactly its records and the sync point close
 * appends. Both reopen intact. */
static void test_mapped_appends(const char *base) {
    for (int mapped = 0; mapped < 2; mapped++) {
        char *dir = join(base, mapped ? "mapped" : "pwrite");
        bc_options o;
        bc_options_default(&o);
        o.mmap_writes = mapped;
        bc_db *db = NULL;
        EXPECT_STATUS(bc_open(dir, &o, &db), BC_OK);
        put_twenty_keys(db);
        char *data = join(dir, "0000000001000000.data");
        long open_size = file_size(data);
        EXPECT_STATUS(bc_close(db), BC_OK);
        long closed_size = file_size(data);
        EXPECT(closed_size > 20 && closed_size < 4096);
        /* close ends the file with a 13-byte sync point */
        EXPECT(mapped ? open_size > closed_size : open_size + 13 == closed_size);
        EXPECT_STATUS(bc_open(dir, &o, &db), BC_OK);
        uint64_t n = 0;
        EXPECT_STATUS(bc_len(db, &n), BC_OK);
        EXPECT(n == 20);
        EXPECT_STATUS(bc_close(db), BC_OK);
        free(data);
        free(dir);
    }
}

/* What Rust has, C has: prefix iteration with expiry, TTLs, len, batch TTLs, get_many,
 * check and backup; empty batch keys and a TTL of 0 are refused at once. */
static void test_fuller_api(const char *base) {
    char *dir = join(base, "fuller");
    bc_db *db = NULL;
    EXPECT_STATUS(bc_open(dir, NULL, &db), BC_OK);
    EXPECT_STATUS(bc_put(db, K("user:1"), K("alice")), BC_OK);
    EXPECT_STATUS(bc_put(db, K("user:2"), K("bob")), BC_OK);
    EXPECT_STATUS(bc_put(db, K("other"), K("x")), BC_OK);
    EXPECT_STATUS(bc_put_ttl(db, K("session"), K("t"), 0), BC_INVALID_ARGUMENT);
    EXPECT(strstr(bc_last_error(), "ttl_ms") != NULL);
    EXPECT_STATUS(bc_put_ttl(db, K("session"), K("t"), 60000), BC_OK);

    /* bc_ttl and bc_len */
    int64_t ttl = 0;
    EXPECT_STATUS(bc_ttl(db, K("session"), &ttl), BC_OK);
    EXPECT(ttl > 50000 && ttl <= 60000);
    EXPECT_STATUS(bc_ttl(db, K("user:1"), &ttl), BC_OK);
    EXPECT(ttl == -1);
    EXPECT_STATUS(bc_ttl(db, K("missing"), &ttl), BC_NOT_FOUND);
    EXPECT_STATUS(bc_ttl(db, K("user:1"), NULL), BC_NULL_POINTER);
    uint64_t n = 0;
    EXPECT_STATUS(bc_len(db, &n), BC_OK);
    EXPECT(n == 4);
    EXPECT_STATUS(bc_len(NULL, &n), BC_NULL_POINTER);

    /* batches: empty keys refused when added; puts with a TTL */
    bc_batch *b = NULL;
    EXPECT_STATUS(bc_batch_new(&b), BC_OK);
    EXPECT_STATUS(bc_batch_put(b, (const uint8_t *)"", 0, K("v")), BC_INVALID_ARGUMENT);
    EXPECT(strstr(bc_last_error(), "empty") != NULL);
    EXPECT_STATUS(bc_batch_delete(b, (const uint8_t *)"", 0), BC_INVALID_ARGUMENT);
    EXPECT_STATUS(bc_batch_put_ttl(b, K("user:3"), K("carol"), 0), BC_INVALID_ARGUMENT);
    EXPECT_STATUS(bc_batch_put_ttl(b, K("user:3"), K("carol"), 60000), BC_OK);
    EXPECT_STATUS(bc_write(db, b), BC_OK);
    bc_batch_free(b);

    /* prefix iteration, with expiry */
    bc_iter *it = NULL;
    EXPECT_STATUS(bc_iter_new_prefix(db, K("user:"), &it), BC_OK);
    const uint8_t *k, *v;
    size_t kl, vl;
    uint64_t exp = 1;
    EXPECT_STATUS(bc_iter_expiry(it, &exp), BC_ITER_END);
    int seen = 0;
    while (bc_iter_next(it, &k, &kl, &v, &vl) == BC_OK) {
        EXPECT(kl >= 5 && memcmp(k, "user:", 5) == 0);
        EXPECT_STATUS(bc_iter_expiry(it, &exp), BC_OK);
        EXPECT((kl == 6 && k[5] == '3') ? exp > 0 : exp == 0);
        seen++;
    }
    EXPECT(seen == 3);
    bc_iter_free(it);
    EXPECT_STATUS(bc_iter_new_prefix(db, NULL, 1, &it), BC_NULL_POINTER);

    /* bc_get_many */
    const uint8_t *keys[3] = {(const uint8_t *)"user:2", (const uint8_t *)"nope", (const uint8_t *)"other"};
    size_t lens[3] = {6, 4, 5};
    uint8_t *vals[3];
    size_t vlens[3];
    EXPECT_STATUS(bc_get_many(db, keys, lens, 3, vals, vlens), BC_OK);
    EXPECT(vlens[0] == 3 && memcmp(vals[0], "bob", 3) == 0);
    EXPECT(vals[1] == NULL && vlens[1] == 0);
    EXPECT(vlens[2] == 1 && vals[2][0] == 'x');
    bc_free_value(vals[0]);
    bc_free_value(vals[2]);
    EXPECT_STATUS(bc_get_many(db, NULL, lens, 3, vals, vlens), BC_NULL_POINTER);

    /* bc_backup, then bc_check of the copy */
    char *copy = join(base, "fuller-copy");
    EXPECT_STATUS(bc_backup(db, copy), BC_OK);
    EXPECT_STATUS(bc_backup(db, copy), BC_IO); /* it exists now */
    EXPECT_STATUS(bc_close(db), BC_OK);
    bc_check_report r;
    EXPECT_STATUS(bc_check(copy, &r), BC_OK);
    EXPECT(r.problems == 0 && r.records >= 5 && r.files >= 1);
    EXPECT_STATUS(bc_check(NULL, &r), BC_NULL_POINTER);
    db = NULL;
    EXPECT_STATUS(bc_open_read_only(copy, NULL, &db), BC_OK);
    EXPECT_STATUS(bc_len(db, &n), BC_OK);
    EXPECT(n == 5);
    EXPECT_STATUS(bc_close(db), BC_OK);
    free(copy);
    free(dir);
}

/* A sharded store (as bitcask-server writes one): created with bc_options.shards, then
 * opened with default options, which find the layout; backed up whole. */
static void test_sharded(const char *base) {
    char *dir = join(base, "sharded");
    bc_options o;
    bc_options_default(&o);
    o.shards = 4;
    bc_db *db = NULL;
    EXPECT_STATUS(bc_open(dir, &o, &db), BC_OK);
    char key[32];
    for (int i = 0; i < 200; i++) {
        snprintf(key, sizeof key, "key:%d", i);
        EXPECT_STATUS(bc_put(db, K(key), K("value")), BC_OK);
    }
    EXPECT_STATUS(bc_close(db), BC_OK);
    char *layout = join(dir, "SHARDS");
    FILE *f = fopen(layout, "r");
    EXPECT(f != NULL);
    if (f) fclose(f);
    db = NULL;
    EXPECT_STATUS(bc_open(dir, NULL, &db), BC_OK);
    uint64_t n = 0;
    EXPECT_STATUS(bc_len(db, &n), BC_OK);
    EXPECT(n == 200);
    uint8_t *val = NULL;
    size_t len = 0;
    EXPECT_STATUS(bc_get(db, K("key:77"), &val, &len), BC_OK);
    EXPECT(len == 5 && memcmp(val, "value", 5) == 0);
    bc_free_value(val);
    bc_store_stats st;
    EXPECT_STATUS(bc_stats(db, &st), BC_OK);
    EXPECT(st.keys == 200 && st.files >= 4);
    char *copy = join(base, "sharded-copy");
    EXPECT_STATUS(bc_backup(db, copy), BC_OK);
    EXPECT_STATUS(bc_close(db), BC_OK);
    db = NULL;
    EXPECT_STATUS(bc_open_read_only(copy, NULL, &db), BC_OK);
    EXPECT_STATUS(bc_len(db, &n), BC_OK);
    EXPECT(n == 200);
    EXPECT_STATUS(bc_close(db), BC_OK);
    /* Another shard count than the store's is refused. */
    o.shards = 8;
    db = NULL;
    EXPECT(bc_open(dir, &o, &db) != BC_OK && db == NULL);
    free(copy);
    free(layout);
    free(dir);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s <scratch dir>\n", argv[0]);
        return 2;
    }
    char *store = join(argv[1], "store");
    test_statics();
    test_open_errors(store);
    test_reads_and_writes(store);
    test_corruption(argv[1]);
    test_reads_without_maps(argv[1]);
    test_mapped_appends(argv[1]);
    test_fuller_api(argv[1]);
    test_sharded(argv[1]);
    free(store);
    if (failures) {
        fprintf(stderr, "%d failures\n", failures);
        return 1;
    }
    printf("c api test: ok\n");
    return 0;
}
