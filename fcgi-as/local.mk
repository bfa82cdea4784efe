# SPDX-License-Identifier: ISC
# promptseal-as: the attestation service.
bin_PROGRAMS += fcgi-as/promptseal-as
fcgi_as_promptseal_as_SOURCES = fcgi-as/main.c
fcgi_as_promptseal_as_LDADD = $(PS_AS_LIBS) $(PS_ASCLIENT_LIBS) $(PS_NET_LIBS)
