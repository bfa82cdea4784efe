#include "config.h"

#include <stdint.h>
#include <string.h>

#include <json-c/json.h>

#include "seal/stream.h"

/*
 * The programs' stream_plain_error(): the worker's own error event
 * (stream.h) is passed on re-serialized with json-c.  It lives apart from
 * stream.c so that the stream module needs no JSON library of its own and
 * the public library, which answers such events in its own words, links
 * without json-c.
 */

/*
 * A plain {"error": {...}} from the worker: its own error event, which
 * cannot be encrypted (it may have no key to do so).  Only that exact shape
 * is accepted, and it is passed on re-serialized, so nothing else can ride
 * along with it.  Returns 1 and sets *obj when json is one.
 */
static int
plain_error(const char *json, size_t len, struct json_object **obj)
{
	struct json_tokener *tok;
	struct json_object *o = NULL, *e;
	size_t end, i;
	int ok = 0;

	if (len > INT32_MAX || (tok = json_tokener_new()) == NULL)
		return 0;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, json, (int)len);
	if (o == NULL || json_tokener_get_error(tok) != json_tokener_success)
		goto out;
#if defined(JSON_C_VERSION_NUM) && JSON_C_VERSION_NUM >= 0x000f00
	end = json_tokener_get_parse_end(tok);
#else
	end = (size_t)tok->char_offset;
#endif
	for (i = end; i < len; i++)
		if (json[i] != ' ' && json[i] != '\t')
			goto out;
	if (!json_object_is_type(o, json_type_object) ||
	    json_object_object_length(o) != 1 ||
	    !json_object_object_get_ex(o, "error", &e) ||
	    !json_object_is_type(e, json_type_object))
		goto out;
	*obj = o;
	o = NULL;
	ok = 1;
out:
	json_object_put(o);
	json_tokener_free(tok);
	return ok;
}

pserr
stream_plain_error(const char *json, size_t len, struct buf *out,
    pserr *code)
{
	struct json_object *err = NULL;
	const char *j;
	pserr rc;

	if (!plain_error(json, len, &err))
		return PS_ERR_INVALID_JSON;
	j = json_object_to_json_string_ext(err, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	if (j == NULL)
		rc = PS_ERR_NOMEM;
	else
		rc = buf_append(out, j, strlen(j));
	json_object_put(err);
	/* The worker's own code travels in the text, unread: to this side
	 * it is a reply of the next hop that does not authenticate. */
	if (rc == PS_OK)
		*code = PS_ERR_BAD_UPSTREAM;
	return rc;
}
