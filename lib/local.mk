# SPDX-License-Identifier: ISC
# The library, one static archive per folder.  Archives list their
# dependencies after them, so a program names only what it uses directly.
include lib/core/local.mk
include lib/seal/local.mk
include lib/keys/local.mk
include lib/net/local.mk
include lib/attest/local.mk
include lib/as/local.mk
include lib/asclient/local.mk
# ...and the installed library built from seal and core.
include lib/promptseal/local.mk

# Everything, for the unit tests.
PS_ALL_LIBS = $(PS_AS_LIBS) $(PS_ASCLIENT_LIBS) $(PS_NET_LIBS) $(PS_KEYS_LIBS)
