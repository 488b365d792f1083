/* Tests of SHA-256 / HMAC-SHA256 (published vectors) and the AUTH_* commands. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jit_auth.h"
#include "test_util.h"

#define SECRET "correct horse battery staple"

static void from_hex(const char *hex, uint8_t *out)
{
    for (size_t i = 0; hex[2 * i]; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
}

static void check_sha(const uint8_t *msg, size_t len, const char *hex)
{
    uint8_t got[32], want[32];
    from_hex(hex, want);
    jit_sha256(msg, len, got);
    CHECK_MEM(got, want, 32);
}

static void test_sha256_vectors(void)
{
    /* FIPS 180-4 examples */
    check_sha((const uint8_t *)"", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    check_sha((const uint8_t *)"abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    check_sha((const uint8_t *)"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    uint8_t *million = malloc(1000000);
    memset(million, 'a', 1000000);
    check_sha(million, 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(million);
    /* lengths around the padding boundary, bytes 0, 1, 2, ...; digests from an independent
     * implementation (Python's hashlib) */
    static const struct {
        size_t len;
        const char *hex;
    } edge[] = {
        {55, "463eb28e72f82e0a96c0a4cc53690c571281131f672aa229e0d45ae59b598b59"},
        {56, "da2ae4d6b36748f2a318f23e7ab1dfdf45acdc9d049bd80e59de82a60895f562"},
        {63, "29af2686fd53374a36b0846694cc342177e428d1647515f078784d69cdb9e488"},
        {64, "fdeab9acf3710362bd2658cdc9a29e8f9c757fcf9811603a8c447cd1d9151108"},
        {65, "4bfd2c8b6f1eec7a2afeb48b934ee4b2694182027e6d0fc075074f2fabb31781"},
        {119, "da18797ed7c3a777f0847f429724a2d8cd5138e6ed2895c3fa1a6d39d18f7ec6"},
        {120, "f52b23db1fbb6ded89ef42a23ce0c8922c45f25c50b568a93bf1c075420bbb7c"},
    };
    uint8_t seq[120];
    for (int i = 0; i < 120; i++) {
        seq[i] = (uint8_t)i;
    }
    for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++) {
        check_sha(seq, edge[i].len, edge[i].hex);
    }
}

static void check_hmac(const uint8_t *key, size_t klen, const char *msg, const char *hex)
{
    uint8_t got[32], want[32];
    from_hex(hex, want);
    jit_hmac_sha256(key, klen, (const uint8_t *)msg, strlen(msg), got);
    CHECK_MEM(got, want, 32);
}

static void test_hmac_sha256_rfc4231(void)
{
    uint8_t key[131];
    memset(key, 0x0b, 20);
    check_hmac(key, 20, "Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    check_hmac((const uint8_t *)"Jefe", 4, "what do ya want for nothing?",
               "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    memset(key, 0xaa, sizeof key); /* test case 6: a key longer than a block is hashed first */
    check_hmac(key, sizeof key, "Test Using Larger Than Block-Size Key - Hash Key First",
               "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

void setup_auth(void)
{
    fx_options_t o = fx_defaults();
    o.secret = SECRET;
    fx_setup(&o);
}

/* AUTH_CHALLENGE; returns false (and checks) when no nonce came. */
static bool challenge(uint8_t nonce[32])
{
    reply_t r = request(JIT_CMD_AUTH_CHALLENGE, NULL, 0);
    if (!is_ok(r, JIT_CMD_AUTH_CHALLENGE, 32)) {
        return false;
    }
    memcpy(nonce, r.payload, 32);
    return true;
}

void mac_of(const uint8_t nonce[32], uint8_t mac[32])
{
    jit_hmac_sha256((const uint8_t *)SECRET, strlen(SECRET), nonce, 32, mac);
}

/* AUTH_RESPONSE: 0 for OK, else the error code. */
static uint32_t respond(const uint8_t mac[32])
{
    return status_of(request(JIT_CMD_AUTH_RESPONSE, mac, 32), JIT_CMD_AUTH_RESPONSE);
}

bool authenticate(uint8_t mac[32])
{
    uint8_t nonce[32];
    if (!challenge(nonce)) {
        return false;
    }
    mac_of(nonce, mac);
    return CHECK_EQ(respond(mac), 0);
}

static uint32_t info_caps(void)
{
    reply_t r = request(JIT_CMD_INFO, NULL, 0);
    return is_ok(r, JIT_CMD_INFO, JIT_INFO_SIZE) ? get32(r.payload + 12) : 0;
}

/* INFO's capabilities as the authenticated session's own request sees them */
static uint32_t session_info_caps(void)
{
    reply_t r = session_request(JIT_CMD_INFO, NULL, 0);
    return is_ok(r, JIT_CMD_INFO, JIT_INFO_SIZE) ? get32(r.payload + 12) : 0;
}

/* One failed attempt (a fresh nonce, a wrong MAC). */
static void fail_once(void)
{
    uint8_t nonce[32], mac[32];
    if (challenge(nonce)) {
        mac_of(nonce, mac);
        mac[31] ^= 1;
        CHECK_EQ(respond(mac), JIT_ERR_AUTH_FAILED);
    }
}

static void test_unauthenticated_refused(void)
{
    setup_auth();
    CHECK(is_ok(request(JIT_CMD_PING, "x", 1), JIT_CMD_PING, 1));
    uint32_t caps = info_caps();
    CHECK(caps & JIT_CAP_AUTH_REQUIRED);
    CHECK(!(caps & JIT_CAP_AUTHENTICATED));
    static const struct {
        uint8_t cmd;
        uint32_t len;
    } cases[] = {
        {JIT_CMD_ALLOC, 12}, {JIT_CMD_FREE, 4},      {JIT_CMD_WRITE_MEM, 8},   {JIT_CMD_READ_MEM, 8}, {JIT_CMD_EXEC, 4},
        {JIT_CMD_CALL, 8},   {JIT_CMD_HEAP_INFO, 0}, {JIT_CMD_LIST_ALLOCS, 0}, {JIT_CMD_ALLOC, 3},    {0x77, 0},
    };
    uint8_t junk[16] = {0};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK_EQ(err_of(request(cases[i].cmd, junk, cases[i].len)), JIT_ERR_NOT_AUTHENTICATED);
    }
}

static void test_hmac_of_nonce_accepted(void)
{
    setup_auth();
    uint8_t nonce[32], mac[32];
    if (!challenge(nonce)) {
        return;
    }
    mac_of(nonce, mac);
    CHECK_EQ(respond(mac), 0);
    CHECK(session_info_caps() & JIT_CAP_AUTHENTICATED);
    CHECK(!(info_caps() & JIT_CAP_AUTHENTICATED)); /* another host is not: it has to authenticate */
    uint8_t a[12] = {16};
    CHECK(is_ok(session_request(JIT_CMD_ALLOC, a, 12), JIT_CMD_ALLOC, 8));
    CHECK(is_ok(session_request(JIT_CMD_LIST_ALLOCS, NULL, 0), JIT_CMD_LIST_ALLOCS, 16));
}

static void test_wrong_mac_refused(void)
{
    setup_auth();
    uint8_t nonce[32], mac[32];
    CHECK_EQ(respond((const uint8_t *)"0123456789abcdef0123456789abcdef"), JIT_ERR_AUTH_FAILED); /* no nonce */
    if (!challenge(nonce)) {
        return;
    }
    jit_hmac_sha256((const uint8_t *)"wrong secret", 12, nonce, 32, mac);
    CHECK_EQ(respond(mac), JIT_ERR_AUTH_FAILED);
    CHECK(!(info_caps() & JIT_CAP_AUTHENTICATED));
    CHECK_EQ(err_of(request(JIT_CMD_HEAP_INFO, NULL, 0)), JIT_ERR_NOT_AUTHENTICATED);
}

static void test_nonce_single_use(void)
{
    setup_auth();
    uint8_t n1[32], n2[32], mac[32];
    if (!challenge(n1) || !challenge(n2)) {
        return;
    }
    CHECK(memcmp(n1, n2, 32) != 0);
    mac_of(n1, mac);
    CHECK_EQ(respond(mac), JIT_ERR_AUTH_FAILED); /* the first nonce was replaced */
    mac_of(n2, mac);
    CHECK_EQ(respond(mac), JIT_ERR_AUTH_FAILED); /* the failure used up n2 as well */
    CHECK(!(info_caps() & JIT_CAP_AUTHENTICATED));
    if (challenge(n1)) {
        mac_of(n1, mac);
        CHECK_EQ(respond(mac), 0);
        CHECK_EQ(respond(mac), JIT_ERR_AUTH_FAILED); /* replaying a good answer */
    }
}

static void test_rate_limited_after_three_failures(void)
{
    setup_auth();
    for (int i = 0; i < 3; i++) {
        fail_once();
    }
    uint8_t nonce[32], mac[32] = {0};
    CHECK_EQ(err_of(request(JIT_CMD_AUTH_CHALLENGE, NULL, 0)), JIT_ERR_RATE_LIMITED);
    CHECK_EQ(respond(mac), JIT_ERR_RATE_LIMITED);
    pc_port_advance(999);
    CHECK_EQ(err_of(request(JIT_CMD_AUTH_CHALLENGE, NULL, 0)), JIT_ERR_RATE_LIMITED);
    pc_port_advance(1);
    /* a fourth failure doubles the wait */
    fail_once();
    pc_port_advance(1999);
    CHECK_EQ(err_of(request(JIT_CMD_AUTH_CHALLENGE, NULL, 0)), JIT_ERR_RATE_LIMITED);
    pc_port_advance(1);
    if (challenge(nonce)) {
        mac_of(nonce, mac);
        CHECK_EQ(respond(mac), 0);
    }
    CHECK(session_info_caps() & JIT_CAP_AUTHENTICATED);
}

static void test_rate_limit_wait_is_capped(void)
{
    setup_auth();
    uint32_t waits[12];
    for (int i = 0; i < 12; i++) {
        fail_once();
        uint32_t waited = 0;
        while (request(JIT_CMD_AUTH_CHALLENGE, NULL, 0).flags == JIT_FLAG_ERROR) {
            pc_port_advance(250);
            waited += 250;
        }
        waits[i] = waited;
    }
    const uint32_t want[12] = {0, 0, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000, 30000};
    for (int i = 0; i < 12; i++) {
        CHECK_EQ(waits[i], want[i]);
    }
}

/* A refusal period is a duration: neither a clock wrap nor a long quiet time brings it back. */
static void test_rate_limit_across_clock_wrap(void)
{
    fx_options_t o = fx_defaults();
    o.secret = SECRET;
    o.port.start_ms = 0xfffffe00u;
    fx_setup(&o);
    for (int i = 0; i < 3; i++) {
        fail_once();
    }
    pc_port_advance(999); /* past the wrap */
    CHECK_EQ(err_of(request(JIT_CMD_AUTH_CHALLENGE, NULL, 0)), JIT_ERR_RATE_LIMITED);
    pc_port_advance(1);
    uint8_t nonce[32];
    CHECK(challenge(nonce));
    fail_once();
    pc_port_advance(0x80000000u + 5000u); /* ~24.9 days without a word */
    CHECK(challenge(nonce));
}

static void test_auth_off(void)
{
    uint8_t nonce[32], mac[32] = {0};
    CHECK(challenge(nonce));
    CHECK_EQ(respond(mac), 0); /* nothing to prove */
    uint32_t caps = info_caps();
    CHECK(!(caps & JIT_CAP_AUTH_REQUIRED));
    CHECK(caps & JIT_CAP_AUTHENTICATED);
}

const test_case_t auth_tests[] = {
    {"sha256_vectors", test_sha256_vectors},
    {"hmac_sha256_rfc4231", test_hmac_sha256_rfc4231},
    {"unauthenticated_refused", test_unauthenticated_refused},
    {"hmac_of_nonce_accepted", test_hmac_of_nonce_accepted},
    {"wrong_mac_refused", test_wrong_mac_refused},
    {"nonce_single_use", test_nonce_single_use},
    {"rate_limited_after_three_failures", test_rate_limited_after_three_failures},
    {"rate_limit_wait_is_capped", test_rate_limit_wait_is_capped},
    {"rate_limit_across_clock_wrap", test_rate_limit_across_clock_wrap},
    {"auth_off", test_auth_off},
};
const size_t auth_test_count = sizeof auth_tests / sizeof auth_tests[0];
