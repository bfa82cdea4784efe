/* SPDX-License-Identifier: ISC */
/*
 * Known-answer vectors of lib/attest/wrap.c, made by tests/wrap_vectors.py
 * (python3-cryptography): the wrap suite seals and opens them, the release
 * suite opens the last one, which is one record.
 */
#ifndef PROMPTSEAL_WRAP_KAT_H
#define PROMPTSEAL_WRAP_KAT_H

#define WRAP_KAT_RCPT_PRIV \
	"0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20"
#define WRAP_KAT_RCPT_PUB \
	"07a37cbc142093c8b755dc1b10e86cb426374ad16aa853ed0bdfc0b2b86d1c7c"
#define WRAP_KAT_EPH_PRIV \
	"404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"

struct wrap_kat {
	const char *aad, *pt, *blob;
};

static const struct wrap_kat wrap_kat[] = {
	{"", "",
	    "7073773179a631eede1bf9c98f12032cdeadd0e7a079398fc786b88cc846ec89"
	    "af85a51a6ca560fb9276151735103045441d720e"},
	{"6368616c6c656e67652d30313233343536373839616263646566303132333435",
	    "74686520736563726574206b657973",
	    "7073773179a631eede1bf9c98f12032cdeadd0e7a079398fc786b88cc846ec89"
	    "af85a51a14beb1ff85ceafb33bce98cc340764bcf12a78887254e78ec8a3bf7a"
	    "ee9065"},
	/* aad: 32 zero bytes (a challenge); pt: one release record. */
	{"0000000000000000000000000000000000000000000000000000000000000000",
	    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	    "202122232425262728292a2b2c2d2e2f3031323334353637",
	    "7073773179a631eede1bf9c98f12032cdeadd0e7a079398fc786b88cc846ec89"
	    "af85a51a60d7d6dcf2aecac656b3b2ac5d7319a462761befae280a7195f9a04d"
	    "a6524e34a0c0984394559bc70cebc4fb16917804ac25c8cf881256ddcdcaec32"
	    "b33975e2ddedc6cb6437a7bd"},
};

#define WRAP_KAT_N (sizeof(wrap_kat) / sizeof(wrap_kat[0]))
#define WRAP_KAT_RECORD 2

#endif
