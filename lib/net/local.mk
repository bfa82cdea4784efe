# SPDX-License-Identifier: ISC
# net: the FastCGI server, libcurl to the next hop, what both proxies share
# (their health and metrics among it).
noinst_LTLIBRARIES += lib/net/libnet.la
lib_net_libnet_la_SOURCES = \
	lib/net/server.c lib/net/server.h \
	lib/net/upstream.c lib/net/upstream.h lib/net/kept.h \
	lib/net/proxy.c lib/net/proxy.h \
	lib/net/metrics.c lib/net/metrics.h
PS_NET_LIBS = lib/net/libnet.la $(PS_SEAL_LIBS) $(FCGI_LIBS) $(CURL_LIBS)
