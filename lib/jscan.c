#include "config.h"

#include "jscan.h"
