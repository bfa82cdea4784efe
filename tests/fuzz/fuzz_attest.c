/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: lib/attest/attest.c and attest_sim.c, the AS's check of a
 * worker's evidence.
 *
 * The first byte picks the mode: the rest is evidence for a fixed
 * challenge and key (mode 0), or a measurement and report data to make a
 * report of and then damage (mode 1).  Properties: attest_check accepts
 * exactly what an independent check of the sim layout (attest_sim.h, with
 * its own Ed25519 verification through EVP) accepts, with the measurement
 * it carries; a report made by the platform is accepted, and with any
 * byte changed, cut short or lengthened it is refused; the measurement
 * parser accepts 32 to 48 bytes of hex in either case and nothing else.
 */
#include "config.h"

#include <string.h>

#include <openssl/evp.h>

#include "attest/attest.h"
#include "attest/attest_sim.h"
#include "core/buf.h"
#include "fuzz.h"

static const uint8_t PLATFORM[ATTEST_SIM_KEY_LEN] = { 7, 7, 7, 7 };
static const uint8_t CHALLENGE[32] = { 0xc1, 0xa1 };
static const uint8_t PUBKEY[ATTEST_PUBKEY_LEN] = { 0x9b };

static struct attest_verifier *ver;
static struct attest_allowlist al;
static uint8_t platform_pub[ATTEST_SIM_KEY_LEN];
static uint8_t rd[ATTEST_REPORT_DATA_LEN];

static int
ref_sig(const uint8_t *pub, const uint8_t *msg, size_t n, const uint8_t *sig)
{
	EVP_PKEY *k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub,
	    32);
	EVP_MD_CTX *x = EVP_MD_CTX_new();
	int ok;

	FUZZ_CHECK(k != NULL && x != NULL);
	ok = EVP_DigestVerifyInit(x, NULL, NULL, NULL, k) == 1 &&
	    EVP_DigestVerify(x, sig, 64, msg, n) == 1;
	EVP_MD_CTX_free(x);
	EVP_PKEY_free(k);
	return ok;
}

/* The layout of attest_sim.h, checked from scratch. */
static int
ref_check(const uint8_t *ev, size_t n, struct attest_measurement *m)
{
	size_t mlen;

	if (n < 104 || memcmp(ev, "PSIM", 4) != 0 || ev[4] != 1 ||
	    ev[6] != 0 || ev[7] != 0)
		return 0;
	mlen = ev[5];
	if (mlen < 32 || mlen > 48 || n != 104 + mlen + 64)
		return 0;
	if (memcmp(ev + 8, platform_pub, 32) != 0 ||
	    memcmp(ev + 40, rd, 64) != 0)
		return 0;
	if (!ref_sig(platform_pub, ev, 104 + mlen, ev + 104 + mlen))
		return 0;
	m->len = mlen;
	memcpy(m->b, ev + 104, mlen);
	return attest_allowlist_has(&al, m);
}

static pserr
check(const uint8_t *ev, size_t n, struct attest_measurement *m)
{
	const struct attest_verifier *vs[1] = { ver };
	enum attest_fail why = ATTEST_FAIL_NONE;
	pserr rc;

	memset(m, 0, sizeof(*m));
	rc = attest_check(vs, 1, &al, ATTEST_SIM_FORMAT, ev, n, CHALLENGE, 32,
	    PUBKEY, m, &why);
	FUZZ_CHECK(rc == PS_OK || rc == PS_ERR_AUTH);
	if (rc == PS_ERR_AUTH)
		FUZZ_CHECK(why != ATTEST_FAIL_NONE);
	return rc;
}

static void
setup(void)
{
	struct attest_measurement m;
	struct buf b;
	size_t i;

	FUZZ_CHECK(attest_report_data(CHALLENGE, 32, PUBKEY, rd) == PS_OK);
	m.len = 48;
	memset(m.b, 0x11, 48);
	buf_init(&b, 4096);
	FUZZ_CHECK(attest_sim_report(PLATFORM, &m, rd, &b) == PS_OK);
	memcpy(platform_pub, b.p + 8, 32);
	buf_free(&b);
	FUZZ_CHECK(attest_sim_verifier_new(&platform_pub, 1, &ver) == PS_OK);
	/* Allowed: 48 bytes of 0x11, and 32 bytes of 0..31. */
	FUZZ_CHECK(attest_allowlist_add(&al, &m) == PS_OK);
	m.len = 32;
	for (i = 0; i < 32; i++)
		m.b[i] = (uint8_t)i;
	FUZZ_CHECK(attest_allowlist_add(&al, &m) == PS_OK);
}

static void
hex_case(const char *s, size_t n)
{
	struct attest_measurement m;
	size_t i;
	int ok = n % 2 == 0 && n >= 64 && n <= 96;

	for (i = 0; ok && i < n; i++)
		ok = (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
		    (s[i] >= 'A' && s[i] <= 'F');
	FUZZ_CHECK((attest_measurement_parse(s, n, &m) == PS_OK) == ok);
	if (ok) {
		char back[2 * ATTEST_MEASUREMENT_MAX + 1];

		FUZZ_CHECK(m.len == n / 2);
		attest_measurement_hex(&m, back);
		FUZZ_CHECK(strlen(back) == n);
		for (i = 0; i < n; i++)
			FUZZ_CHECK(back[i] == (s[i] >= 'A' && s[i] <= 'F' ?
			    s[i] + 32 : s[i]));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct attest_measurement m, rm;
	struct buf b;
	size_t i;
	pserr rc;

	if (ver == NULL)
		setup();
	if (size < 1 || size > 4096)
		return 0;
	switch (data[0] % 3) {
	case 0:
		rc = check(data + 1, size - 1, &m);
		FUZZ_CHECK((rc == PS_OK) == ref_check(data + 1, size - 1, &rm));
		if (rc == PS_OK)
			FUZZ_CHECK(m.len == rm.len && memcmp(m.b, rm.b, m.len) ==
			    0);
		break;
	case 1:
		/* A report of an allowed or a random measurement. */
		m.len = 32 + (size > 1 ? data[1] % 17 : 0);
		if (size > 2 && data[2] & 1) {
			for (i = 0; i < m.len; i++)
				m.b[i] = i + 3 < size ? data[i + 3] : 0;
		} else if (m.len == 48) {
			memset(m.b, 0x11, 48);
		} else {
			m.len = 32;
			for (i = 0; i < 32; i++)
				m.b[i] = (uint8_t)i;
		}
		buf_init(&b, 4096);
		FUZZ_CHECK(attest_sim_report(PLATFORM, &m, rd, &b) == PS_OK);
		rc = check((uint8_t *)b.p, b.len, &rm);
		FUZZ_CHECK((rc == PS_OK) == attest_allowlist_has(&al, &m));
		if (rc == PS_OK) {
			for (i = 0; i < 6; i++) {
				size_t at = ((size_t)data[i % size] * 131u +
				    i * 37u) % b.len;

				b.p[at] ^= (char)(1u << (i % 8));
				FUZZ_CHECK(check((uint8_t *)b.p, b.len, &rm) ==
				    PS_ERR_AUTH);
				b.p[at] ^= (char)(1u << (i % 8));
			}
			FUZZ_CHECK(check((uint8_t *)b.p, b.len - 1, &rm) ==
			    PS_ERR_AUTH);
			FUZZ_CHECK(buf_putc(&b, 0) == PS_OK);
			FUZZ_CHECK(check((uint8_t *)b.p, b.len, &rm) ==
			    PS_ERR_AUTH);
		}
		buf_free(&b);
		break;
	default:
		hex_case((const char *)data + 1, size - 1);
		break;
	}
	return 0;
}
