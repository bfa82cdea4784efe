# SPDX-License-Identifier: ISC
# promptseal-client: the user's proxy.
bin_PROGRAMS += fcgi-client/promptseal-client
fcgi_client_promptseal_client_SOURCES = fcgi-client/main.c \
	fcgi-client/client.c fcgi-client/client.h
fcgi_client_promptseal_client_LDADD = $(PS_ASCLIENT_LIBS) $(PS_NET_LIBS) \
	$(PS_KEYS_LIBS)
