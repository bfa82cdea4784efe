#include "config.h"

#include "keycache.h"
