/* SPDX-License-Identifier: ISC */
/*
 * A libcurl transfer that died on a kept connection before any reply:
 * the server closed the connection just as it was reused.  Over HTTP/1.1
 * curl tries again by itself; over HTTP/2 it gives up with "Error in the
 * HTTP2 framing layer" (the GOAWAY or the close it met with the new
 * stream), and the caller may send the request again on a fresh
 * connection (CURLOPT_FRESH_CONNECT), if sending it twice does no harm.
 */
#ifndef PS_NET_KEPT_H
#define PS_NET_KEPT_H

#include <curl/curl.h>

/* 1 when the transfer of h that ended with cc is such a one. */
static inline int
kept_connection_died(CURL *h, CURLcode cc)
{
	long fresh = -1, status = -1;

	if (cc != CURLE_HTTP2 && cc != CURLE_HTTP2_STREAM &&
	    cc != CURLE_SEND_ERROR && cc != CURLE_RECV_ERROR &&
	    cc != CURLE_GOT_NOTHING)
		return 0;
	return curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &fresh) ==
	    CURLE_OK && fresh == 0 && curl_easy_getinfo(h,
	    CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status == 0;
}

#endif
