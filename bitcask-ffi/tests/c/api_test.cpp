// C++17 test of the bitcask C API through small RAII wrappers: every function, its error
// paths, and NULL in every pointer slot. Built with -Wall -Wextra -Werror -pedantic and
// ASan/UBSan by tests/c_programs.rs. Usage: api_test_cpp <empty scratch directory>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "bitcask.h"

namespace {

int failures = 0;

void expect(bool ok, const char *what, int line) {
    if (!ok) {
        std::fprintf(stderr, "api_test.cpp:%d: %s (last error: %s)\n", line, what, bc_last_error());
        ++failures;
    }
}
#define EXPECT(c) expect((c), #c, __LINE__)
#define EXPECT_STATUS(call, want) expect((call) == (want), #call " == " #want, __LINE__)

struct DbCloser {
    void operator()(bc_db *db) const { bc_close(db); }
};
struct BatchFree {
    void operator()(bc_batch *b) const { bc_batch_free(b); }
};
struct IterFree {
    void operator()(bc_iter *i) const { bc_iter_free(i); }
};
struct ValueFree {
    void operator()(uint8_t *v) const { bc_free_value(v); }
};
using Db = std::unique_ptr<bc_db, DbCloser>;
using Batch = std::unique_ptr<bc_batch, BatchFree>;
using Iter = std::unique_ptr<bc_iter, IterFree>;
using Value = std::unique_ptr<uint8_t, ValueFree>;

const uint8_t *bytes(const std::string &s) { return reinterpret_cast<const uint8_t *>(s.data()); }

Db open(const std::string &dir, const bc_options *o, bool read_only = false) {
    bc_db *raw = nullptr;
    bc_status s = read_only ? bc_open_read_only(dir.c_str(), o, &raw) : bc_open(dir.c_str(), o, &raw);
    if (s != BC_OK) throw std::runtime_error(std::string("open: ") + bc_last_error());
    return Db(raw);
}

void put(bc_db *db, const std::string &k, const std::string &v) {
    EXPECT_STATUS(bc_put(db, bytes(k), k.size(), bytes(v), v.size()), BC_OK);
}

std::string get(bc_db *db, const std::string &k) {
    uint8_t *raw = nullptr;
    size_t len = 0;
    if (bc_get(db, bytes(k), k.size(), &raw, &len) != BC_OK) return "<missing>";
    Value v(raw);
    return std::string(reinterpret_cast<const char *>(v.get()), len);
}

void run(const std::string &dir) {
    EXPECT(std::strlen(bc_version()) > 0);
    EXPECT(std::string(bc_status_str(BC_LOCKED)).find("locked") != std::string::npos);
    bc_options o;
    EXPECT_STATUS(bc_options_default(nullptr), BC_NULL_POINTER);
    EXPECT_STATUS(bc_options_default(&o), BC_OK);
    o.sync_policy = BC_SYNC_EVERY_MS;
    o.sync_interval_ms = 5;
    o.max_file_size = 4096;

    bc_db *raw = nullptr;
    EXPECT_STATUS(bc_open(nullptr, &o, &raw), BC_NULL_POINTER);
    EXPECT_STATUS(bc_open(dir.c_str(), &o, nullptr), BC_NULL_POINTER);
    EXPECT_STATUS(bc_open_read_only(nullptr, &o, &raw), BC_NULL_POINTER);
    EXPECT_STATUS(bc_open_read_only(dir.c_str(), &o, nullptr), BC_NULL_POINTER);
    EXPECT_STATUS(bc_open_read_only((dir + "/nope").c_str(), &o, &raw), BC_IO);

    Db db = open(dir, &o);
    EXPECT_STATUS(bc_open(dir.c_str(), &o, &raw), BC_LOCKED);
    for (int i = 0; i < 200; ++i) put(db.get(), "key" + std::to_string(i), std::string(i % 50, 'v'));
    EXPECT(get(db.get(), "key7") == std::string(7, 'v'));
    EXPECT(get(db.get(), "absent") == "<missing>");

    std::string k = "ttl";
    EXPECT_STATUS(bc_put_ttl(db.get(), bytes(k), k.size(), bytes(k), k.size(), 0), BC_INVALID_ARGUMENT);
    EXPECT_STATUS(bc_put_ttl(nullptr, bytes(k), k.size(), bytes(k), k.size(), 0), BC_NULL_POINTER);
    EXPECT_STATUS(bc_put_ttl(db.get(), nullptr, 1, bytes(k), k.size(), 0), BC_NULL_POINTER);
    EXPECT_STATUS(bc_put_ttl(db.get(), bytes(k), k.size(), nullptr, 2, 0), BC_NULL_POINTER);
    EXPECT(get(db.get(), "ttl") == "<missing>");
    EXPECT_STATUS(bc_put(nullptr, bytes(k), k.size(), nullptr, 0), BC_NULL_POINTER);
    EXPECT_STATUS(bc_put(db.get(), nullptr, 3, nullptr, 0), BC_NULL_POINTER);
    EXPECT_STATUS(bc_put(db.get(), bytes(k), k.size(), nullptr, 3), BC_NULL_POINTER);
    std::string huge(70000, 'k');
    EXPECT_STATUS(bc_put(db.get(), bytes(huge), huge.size(), nullptr, 0), BC_KEY_TOO_LARGE);

    uint8_t *val = nullptr;
    size_t len = 0;
    EXPECT_STATUS(bc_get(nullptr, bytes(k), k.size(), &val, &len), BC_NULL_POINTER);
    EXPECT_STATUS(bc_get(db.get(), nullptr, 1, &val, &len), BC_NULL_POINTER);
    EXPECT_STATUS(bc_get(db.get(), bytes(k), k.size(), nullptr, &len), BC_NULL_POINTER);
    EXPECT_STATUS(bc_get(db.get(), bytes(k), k.size(), &val, nullptr), BC_NULL_POINTER);

    std::vector<uint8_t> buf(10);
    std::string k49 = "key49";
    EXPECT_STATUS(bc_get_into(db.get(), bytes(k49), k49.size(), buf.data(), buf.size(), &len), BC_BUFFER_TOO_SMALL);
    EXPECT(len == 49);
    buf.resize(len);
    EXPECT_STATUS(bc_get_into(db.get(), bytes(k49), k49.size(), buf.data(), buf.size(), &len), BC_OK);
    EXPECT_STATUS(bc_get_into(nullptr, bytes(k49), k49.size(), buf.data(), buf.size(), &len), BC_NULL_POINTER);
    EXPECT_STATUS(bc_get_into(db.get(), nullptr, 1, buf.data(), buf.size(), &len), BC_NULL_POINTER);
    EXPECT_STATUS(bc_get_into(db.get(), bytes(k49), k49.size(), nullptr, 4, &len), BC_NULL_POINTER);
    EXPECT_STATUS(bc_get_into(db.get(), bytes(k49), k49.size(), buf.data(), buf.size(), nullptr), BC_NULL_POINTER);

    bool flag = false;
    EXPECT_STATUS(bc_contains(db.get(), bytes(k49), k49.size(), &flag), BC_OK);
    EXPECT(flag);
    EXPECT_STATUS(bc_contains(nullptr, bytes(k49), k49.size(), &flag), BC_NULL_POINTER);
    EXPECT_STATUS(bc_contains(db.get(), nullptr, 1, &flag), BC_NULL_POINTER);
    EXPECT_STATUS(bc_contains(db.get(), bytes(k49), k49.size(), nullptr), BC_NULL_POINTER);
    EXPECT_STATUS(bc_delete(db.get(), bytes(k49), k49.size(), &flag), BC_OK);
    EXPECT(flag);
    EXPECT_STATUS(bc_delete(nullptr, bytes(k49), k49.size(), &flag), BC_NULL_POINTER);
    EXPECT_STATUS(bc_delete(db.get(), nullptr, 1, &flag), BC_NULL_POINTER);

    bc_batch *braw = nullptr;
    EXPECT_STATUS(bc_batch_new(nullptr), BC_NULL_POINTER);
    EXPECT_STATUS(bc_batch_new(&braw), BC_OK);
    Batch batch(braw);
    for (int i = 0; i < 10; ++i) {
        std::string bk = "key" + std::to_string(i);
        EXPECT_STATUS(bc_batch_delete(batch.get(), bytes(bk), bk.size()), BC_OK);
    }
    EXPECT_STATUS(bc_batch_put(batch.get(), bytes(k), k.size(), bytes(k), k.size()), BC_OK);
    EXPECT_STATUS(bc_batch_put(nullptr, bytes(k), k.size(), bytes(k), k.size()), BC_NULL_POINTER);
    EXPECT_STATUS(bc_batch_put(batch.get(), nullptr, 1, bytes(k), k.size()), BC_NULL_POINTER);
    EXPECT_STATUS(bc_batch_put(batch.get(), bytes(k), k.size(), nullptr, 1), BC_NULL_POINTER);
    EXPECT_STATUS(bc_batch_delete(nullptr, bytes(k), k.size()), BC_NULL_POINTER);
    EXPECT_STATUS(bc_batch_delete(batch.get(), nullptr, 1), BC_NULL_POINTER);
    EXPECT_STATUS(bc_write(nullptr, batch.get()), BC_NULL_POINTER);
    EXPECT_STATUS(bc_write(db.get(), nullptr), BC_NULL_POINTER);
    EXPECT_STATUS(bc_write(db.get(), batch.get()), BC_OK);
    EXPECT(get(db.get(), "ttl") == "ttl");
    EXPECT(get(db.get(), "key3") == "<missing>");

    bc_iter *iraw = nullptr;
    EXPECT_STATUS(bc_iter_new(nullptr, &iraw), BC_NULL_POINTER);
    EXPECT_STATUS(bc_iter_new(db.get(), nullptr), BC_NULL_POINTER);
    EXPECT_STATUS(bc_iter_new(db.get(), &iraw), BC_OK);
    Iter it(iraw);
    const uint8_t *ik = nullptr, *iv = nullptr;
    size_t ikl = 0, ivl = 0;
    EXPECT_STATUS(bc_iter_next(nullptr, &ik, &ikl, &iv, &ivl), BC_NULL_POINTER);
    EXPECT_STATUS(bc_iter_next(it.get(), nullptr, &ikl, &iv, &ivl), BC_NULL_POINTER);
    EXPECT_STATUS(bc_iter_next(it.get(), &ik, nullptr, &iv, &ivl), BC_NULL_POINTER);
    EXPECT_STATUS(bc_iter_next(it.get(), &ik, &ikl, nullptr, &ivl), BC_NULL_POINTER);
    EXPECT_STATUS(bc_iter_next(it.get(), &ik, &ikl, &iv, nullptr), BC_NULL_POINTER);
    std::vector<std::string> keys;
    while (bc_iter_next(it.get(), &ik, &ikl, &iv, &ivl) == BC_OK)
        keys.emplace_back(reinterpret_cast<const char *>(ik), ikl);
    EXPECT(keys.size() == 190 + 1 - 1);  // 200 - 10 deleted - key49 + ttl
    for (size_t i = 1; i < keys.size(); ++i) EXPECT(keys[i - 1] < keys[i]);

    bc_store_stats st;
    EXPECT_STATUS(bc_stats(db.get(), &st), BC_OK);
    EXPECT(st.keys == keys.size() && st.files > 1);
    EXPECT_STATUS(bc_stats(nullptr, &st), BC_NULL_POINTER);
    EXPECT_STATUS(bc_stats(db.get(), nullptr), BC_NULL_POINTER);
    bc_merge_report r;
    EXPECT_STATUS(bc_merge(nullptr, &r), BC_NULL_POINTER);
    EXPECT_STATUS(bc_merge(db.get(), &r), BC_OK);
    EXPECT(r.keys_moved == keys.size() && r.bytes_reclaimed > 0);
    EXPECT_STATUS(bc_sync(db.get()), BC_OK);
    EXPECT_STATUS(bc_sync(nullptr), BC_NULL_POINTER);

    Db ro = open(dir, nullptr, true);
    EXPECT(get(ro.get(), "key100") == std::string(0, 'v'));
    EXPECT_STATUS(bc_put(ro.get(), bytes(k), k.size(), nullptr, 0), BC_READ_ONLY);

    bc_db *closing = db.release();
    EXPECT_STATUS(bc_close(closing), BC_OK);
    EXPECT_STATUS(bc_close(nullptr), BC_OK);
    Db again = open(dir, &o);
    EXPECT(get(again.get(), "key199") == std::string(199 % 50, 'v'));
}

}  // namespace

int main(int argc, char **argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s <scratch dir>\n", argv[0]);
        return 2;
    }
    try {
        run(std::string(argv[1]) + "/store");
    } catch (const std::exception &e) {
        std::fprintf(stderr, "exception: %s\n", e.what());
        return 1;
    }
    if (failures) {
        std::fprintf(stderr, "%d failures\n", failures);
        return 1;
    }
    std::printf("c++ api test: ok\n");
    return 0;
}
