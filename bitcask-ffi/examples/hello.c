/* A minimal bitcask program in C.
 *   cc hello.c $(pkg-config --cflags --libs bitcask) -o hello && ./hello /tmp/hello-store */
#include <stdio.h>
#include <string.h>

#include <bitcask.h>

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "hello-store";
    bc_db *db = NULL;
    if (bc_open(dir, NULL, &db) != BC_OK) {
        fprintf(stderr, "open %s: %s\n", dir, bc_last_error());
        return 1;
    }
    const char *key = "greeting", *value = "hello, bitcask";
    if (bc_put(db, (const uint8_t *)key, strlen(key), (const uint8_t *)value, strlen(value)) != BC_OK) {
        fprintf(stderr, "put: %s\n", bc_last_error());
        bc_close(db);
        return 1;
    }
    uint8_t *out = NULL;
    size_t len = 0;
    bc_status s = bc_get(db, (const uint8_t *)key, strlen(key), &out, &len);
    if (s != BC_OK) {
        fprintf(stderr, "get: %s\n", bc_status_str(s));
        bc_close(db);
        return 1;
    }
    printf("%.*s (bitcask %s)\n", (int)len, (const char *)out, bc_version());
    bc_free_value(out);
    return bc_close(db) == BC_OK ? 0 : 1;
}
