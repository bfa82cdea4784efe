/*
 * TEST STAND-IN for lib/message.c -- not part of the library.
 *
 * A minimal message_seal()/message_open() that follows lib/message.h well
 * enough for tests/test_stream.c, built on json-c (parse the object, seal
 * or open each member that is not on the allowlist, serialize again).  It
 * is linked only into tests/test_stream and goes away when lib/message.c
 * implements the contract; test_stream.c uses nothing but message.h.
 */
#include "config.h"

#include <string.h>

#include <json-c/json.h>

#include "envelope.h"
#include "message.h"
#include "secret.h"

#define SER (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

static int
name_in(const char *name, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strcmp(name, *list) == 0)
			return 1;
	return 0;
}

static int
stub_is_plain(enum message_endpoint ep, enum envelope_dir dir,
    const char *name)
{
	static const char *const req_chat[] = { "model", "stream",
	    "stream_options", "max_tokens", "max_completion_tokens", "n", NULL };
	static const char *const req_compl[] = { "model", "stream",
	    "stream_options", "max_tokens", "n", NULL };
	static const char *const req_emb[] = { "model", NULL };
	static const char *const resp[] = { "id", "usage", NULL };
	static const char *const resp_emb[] = { "usage", NULL };

	if (ep == MESSAGE_MODELS)
		return 1;
	if (dir == ENVELOPE_REQUEST)
		return name_in(name, ep == MESSAGE_CHAT ? req_chat :
		    ep == MESSAGE_COMPLETIONS ? req_compl : req_emb);
	return name_in(name, ep == MESSAGE_EMBEDDINGS ? resp_emb : resp);
}

/* Parse exactly one JSON value from p (n bytes); NULL-valued JSON null is
 * returned through *ok. */
static struct json_object *
parse_exact(const char *p, size_t n, int *ok)
{
	struct json_tokener *tok;
	struct json_object *o;
	size_t end;

	*ok = 0;
	if (n > INT32_MAX || (tok = json_tokener_new()) == NULL)
		return NULL;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, p, (int)n);
	if (json_tokener_get_error(tok) == json_tokener_success) {
		end = json_tokener_get_parse_end(tok);
		while (end < n && (p[end] == ' ' || p[end] == '\t' ||
		    p[end] == '\n' || p[end] == '\r'))
			end++;
		*ok = end == n;
	}
	json_tokener_free(tok);
	if (!*ok) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* One JSON value of any type, numbers included: parse it inside an array,
 * whose closing bracket ends a trailing number. */
static int
parse_value(const char *p, size_t n, struct json_object **v)
{
	struct buf b;
	struct json_object *a;
	int ok = 0;

	buf_init(&b, n + 2);
	if (buf_putc(&b, '[') != PS_OK || buf_append(&b, p, n) != PS_OK ||
	    buf_putc(&b, ']') != PS_OK)
		goto out;
	a = parse_exact(b.p, b.len, &ok);
	if (ok && json_object_array_length(a) == 1) {
		*v = json_object_get(json_object_array_get_idx(a, 0));
		ok = 1;
	} else {
		ok = 0;
	}
	json_object_put(a);
out:
	buf_free(&b);
	return ok;
}

static pserr
append_obj(struct json_object *o, struct buf *out)
{
	const char *t = json_object_to_json_string_ext(o, SER);

	return t == NULL ? PS_ERR_NOMEM : buf_puts(out, t);
}

pserr
message_seal(enum message_endpoint ep, const struct envelope_ctx *c,
    const char *json, size_t len, struct buf *out)
{
	struct json_object *in, *res = NULL;
	struct buf env;
	size_t start = out->len;
	const char *t;
	int ok;
	pserr rc = PS_ERR_INVALID_JSON;

	buf_init(&env, (size_t)1 << 30);
	in = parse_exact(json, len, &ok);
	if (!ok || !json_object_is_type(in, json_type_object))
		goto out;
	rc = PS_ERR_NOMEM;
	if ((res = json_object_new_object()) == NULL)
		goto out;
	json_object_object_foreach(in, k, v) {
		if (stub_is_plain(ep, c->dir, k)) {
			json_object_object_add(res, k, json_object_get(v));
			continue;
		}
		t = json_object_to_json_string_ext(v, SER);
		buf_reset(&env);
		if ((rc = envelope_seal(c, k, strlen(k), t, strlen(t), &env)) !=
		    PS_OK)
			goto out;
		json_object_object_add(res, k,
		    json_object_new_string_len(env.p, (int)env.len));
	}
	rc = append_obj(res, out);
out:
	if (rc != PS_OK)
		out->len = start;
	json_object_put(in);
	json_object_put(res);
	buf_free(&env);
	return rc;
}

pserr
message_open(enum message_endpoint ep, struct envelope_ctx *c,
    message_lookup_fn lookup, void *arg, const char *json, size_t len,
    struct buf *out)
{
	struct json_object *in, *res = NULL, *pv;
	struct envelope_ctx x = *c;
	uint8_t kid[ENVELOPE_KID_LEN], nonce[ENVELOPE_NONCE_LEN];
	uint8_t key[ENVELOPE_KEY_LEN];
	struct buf pt;
	size_t start = out->len, n;
	const char *s;
	int ok, seen = 0;
	pserr rc = PS_ERR_INVALID_JSON;

	buf_init(&pt, len);
	in = parse_exact(json, len, &ok);
	if (!ok || !json_object_is_type(in, json_type_object))
		goto out;
	rc = PS_ERR_NOMEM;
	if ((res = json_object_new_object()) == NULL)
		goto out;
	json_object_object_foreach(in, k, v) {
		if (stub_is_plain(ep, c->dir, k)) {
			json_object_object_add(res, k, json_object_get(v));
			continue;
		}
		rc = PS_ERR_PLAINTEXT_MEMBER;
		if (!json_object_is_type(v, json_type_string))
			goto out;
		s = json_object_get_string(v);
		n = (size_t)json_object_get_string_len(v);
		if (n < ENVELOPE_PREFIX_LEN ||
		    memcmp(s, ENVELOPE_PREFIX, ENVELOPE_PREFIX_LEN) != 0)
			goto out;
		if ((rc = envelope_peek(s, n, kid, nonce)) != PS_OK)
			goto out;
		if (!seen && lookup != NULL) {
			if ((rc = lookup(arg, kid, key)) != PS_OK)
				goto out;
			x.key = key;
			memcpy(x.kid, kid, sizeof(kid));
			memcpy(x.nonce, nonce, sizeof(nonce));
		}
		rc = PS_ERR_INVALID_ENVELOPE;
		if (memcmp(kid, x.kid, sizeof(kid)) != 0 ||
		    memcmp(nonce, x.nonce, sizeof(nonce)) != 0)
			goto out;
		seen = 1;
		buf_reset(&pt);
		if ((rc = envelope_open(&x, k, strlen(k), s, n, &pt)) != PS_OK)
			goto out;
		rc = PS_ERR_INVALID_ENVELOPE;
		if (!parse_value(pt.p, pt.len, &pv))
			goto out;
		json_object_object_add(res, k, pv);
	}
	rc = PS_ERR_INVALID_ENVELOPE;
	if (!seen)
		goto out;
	if ((rc = append_obj(res, out)) != PS_OK)
		goto out;
	if (lookup != NULL) {
		memcpy(c->kid, x.kid, sizeof(x.kid));
		memcpy(c->nonce, x.nonce, sizeof(x.nonce));
	}
out:
	if (rc != PS_OK) {
		secret_wipe(out->p + start, out->len - start);
		out->len = start;
	}
	json_object_put(in);
	json_object_put(res);
	buf_free(&pt);
	secret_wipe(key, sizeof(key));
	secret_wipe(&x, sizeof(x));
	return rc;
}
