#include "config.h"

#include <stdio.h>

int
main(void)
{
	fprintf(stderr, "promptseal-client: not built yet\n");
	return 1;
}
