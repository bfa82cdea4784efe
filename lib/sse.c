#include "config.h"

#include "sse.h"
